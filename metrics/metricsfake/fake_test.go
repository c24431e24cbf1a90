package metricsfake_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/metricsfake"
	"github.com/continuum-xr/continuum/topology"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sample(p50 float64, at time.Time) metrics.LatencySample {
	d := topology.Millis(p50)
	return metrics.LatencySample{Pair: metrics.MakePair("a", "b"), P50: d, P90: d, P99: d, Count: 1, Loss: -1, ObservedAt: at}
}

func scripted(t *testing.T) (*metricsfake.Source, *metricsfake.Clock) {
	t.Helper()
	clock := metricsfake.NewClock(t0)
	f, err := metricsfake.New(metricsfake.Options{Now: clock.Now, MaxAge: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{t0, t0.Add(30 * time.Second), t0.Add(2 * time.Minute)} {
		if err := f.AddLatency(sample(float64(i+1), at)); err != nil {
			t.Fatal(err)
		}
	}
	return f, clock
}

func TestSourceFollowsTheClock(t *testing.T) {
	f, clock := scripted(t)
	want := []struct {
		advance time.Duration
		p50     float64 // 0: ErrStale
	}{{0, 1}, {29 * time.Second, 1}, {time.Second, 2}, {60 * time.Second, 2}, {time.Second, 0}, {29 * time.Second, 3}}
	for i, w := range want {
		clock.Advance(w.advance)
		s, err := f.Latency(t.Context(), "b", "a")
		if w.p50 == 0 {
			if !errors.Is(err, metrics.ErrStale) {
				t.Errorf("step %d at %v: %v, want ErrStale", i, clock.Now(), err)
			}
			continue
		}
		if err != nil || s.P50 != topology.Millis(w.p50) || s.Provenance != metrics.Measured {
			t.Errorf("step %d at %v: %+v, %v; want p50 %vms, measured", i, clock.Now(), s, err, w.p50)
		}
	}
	clock.Set(t0.Add(-time.Second))
	if _, err := f.Latency(t.Context(), "a", "b"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("before the first sample: %v, want ErrNoData", err)
	}
	calls := f.Calls()
	if len(calls) != len(want)+1 || calls[0].Method != "Latency" || calls[0].A != "b" || calls[0].B != "a" {
		t.Errorf("call log = %+v", calls)
	}
	if calls[4].Err == nil || calls[0].Err != nil {
		t.Errorf("call log errors = %v, %v", calls[0].Err, calls[4].Err)
	}
	f.ResetCalls()
	if len(f.Calls()) != 0 {
		t.Errorf("ResetCalls left %d", len(f.Calls()))
	}
}

func TestSourceRejectsInvalidScripts(t *testing.T) {
	f, _ := scripted(t)
	bad := sample(1, t0)
	bad.P90 = 0
	if err := f.AddLatency(bad); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("p90 < p50: %v, want ErrInvalid", err)
	}
	if err := f.AddResources(metrics.ResourceSample{ObservedAt: t0}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("no cluster: %v, want ErrInvalid", err)
	}
	if _, err := metricsfake.New(metricsfake.Options{MaxAge: -1}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("negative MaxAge: %v", err)
	}
}

func TestWrapFailEvery(t *testing.T) {
	f, _ := scripted(t)
	w, err := metricsfake.Wrap(f, f, metricsfake.Faults{FailEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	var failed []int
	for i := 1; i <= 7; i++ {
		if _, err := w.Latency(t.Context(), "a", "b"); err != nil {
			if !errors.Is(err, metricsfake.ErrInjected) {
				t.Errorf("call %d: %v, want ErrInjected", i, err)
			}
			failed = append(failed, i)
		}
	}
	if len(failed) != 2 || failed[0] != 3 || failed[1] != 6 {
		t.Errorf("failed calls = %v, want [3 6]", failed)
	}
	if len(w.Calls()) != 7 || len(f.Calls()) != 5 {
		t.Errorf("wrapper logged %d calls, inner %d; want 7 and 5", len(w.Calls()), len(f.Calls()))
	}
	// Recovery.
	if err := w.SetFaults(metricsfake.Faults{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := w.Latency(t.Context(), "a", "b"); err != nil {
			t.Errorf("after recovery, call %d: %v", i, err)
		}
	}
}

func TestWrapFailRateIsSeeded(t *testing.T) {
	f, _ := scripted(t)
	run := func() []bool {
		w, err := metricsfake.Wrap(f, nil, metricsfake.Faults{FailRate: 0.5, Rand: rand.New(rand.NewPCG(1, 2))})
		if err != nil {
			t.Fatal(err)
		}
		var out []bool
		for range 40 {
			_, err := w.Latency(t.Context(), "a", "b")
			out = append(out, err != nil)
		}
		return out
	}
	a, b := run(), run()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different outcome at call %d", i)
		}
		if a[i] {
			fails++
		}
	}
	if fails < 10 || fails > 30 {
		t.Errorf("%d of 40 failed at rate 0.5", fails)
	}
}

func TestWrapAgeMakesStale(t *testing.T) {
	f, clock := scripted(t)
	w, err := metricsfake.Wrap(f, nil, metricsfake.Faults{Age: 30 * time.Second, MaxAge: time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.Latency(t.Context(), "a", "b")
	if err != nil || !s.ObservedAt.Equal(t0.Add(-30*time.Second)) {
		t.Errorf("aged 30s: %v, %v", s.ObservedAt, err)
	}
	if err := w.SetFaults(metricsfake.Faults{Age: 2 * time.Minute, MaxAge: time.Minute, Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Latency(t.Context(), "a", "b"); !errors.Is(err, metrics.ErrStale) {
		t.Errorf("aged 2m: %v, want ErrStale", err)
	}
}

func TestWrapErrFuncAndHang(t *testing.T) {
	f, _ := scripted(t)
	boom := errors.New("boom")
	w, err := metricsfake.Wrap(f, f, metricsfake.Faults{Err: func(c metricsfake.Call) error {
		if c.Method == "Resources" {
			return boom
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Resources(t.Context(), "a"); !errors.Is(err, boom) {
		t.Errorf("Resources: %v, want boom", err)
	}
	if _, err := w.Latency(t.Context(), "a", "b"); err != nil {
		t.Errorf("Latency: %v", err)
	}
	if err := w.SetFaults(metricsfake.Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.Latency(ctx, "a", "b"); !errors.Is(err, context.Canceled) {
		t.Errorf("hung call: %v, want context.Canceled", err)
	}
}

func TestWrapValidates(t *testing.T) {
	f, _ := scripted(t)
	for _, c := range []struct {
		name   string
		faults metricsfake.Faults
	}{
		{"failEvery", metricsfake.Faults{FailEvery: -1}},
		{"failRate", metricsfake.Faults{FailRate: 2}},
		{"rand", metricsfake.Faults{FailRate: 0.1}},
		{"age", metricsfake.Faults{Age: -1}},
	} {
		if _, err := metricsfake.Wrap(f, nil, c.faults); !errors.Is(err, metrics.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	if _, err := metricsfake.Wrap(nil, nil, metricsfake.Faults{}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("no inner source: %v", err)
	}
}
