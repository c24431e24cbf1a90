package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/metricsfake"
	"github.com/continuum-xr/continuum/topology"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ms(x float64) topology.Duration { return topology.Millis(x) }

func lat(a, b string, p50 float64, at time.Time, prov metrics.Provenance) metrics.LatencySample {
	return metrics.LatencySample{
		Pair: metrics.MakePair(a, b), P50: ms(p50), P90: ms(p50 * 1.2), P99: ms(p50 * 1.5),
		Count: 100, Window: time.Minute, Loss: -1, ObservedAt: at, Provenance: prov,
	}
}

func newFake(t *testing.T, clock *metricsfake.Clock) *metricsfake.Source {
	t.Helper()
	f, err := metricsfake.New(metricsfake.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCollectMergesLatencyWithPrecedence(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	probe, liqo, static := newFake(t, clock), newFake(t, clock), newFake(t, clock)
	// probe knows a-b only; liqo knows a-b (worse) and a-c, but a-c is stale; static
	// knows everything.
	must(t, probe.AddLatency(lat("a", "b", 4, t0.Add(-time.Second), metrics.Measured)))
	must(t, liqo.AddLatency(lat("b", "a", 9, t0, metrics.Measured)))
	must(t, liqo.AddLatency(lat("a", "c", 7, t0.Add(-time.Hour), metrics.Measured)))
	for _, p := range [][2]string{{"a", "b"}, {"a", "c"}, {"b", "c"}} {
		must(t, static.AddLatency(lat(p[0], p[1], 20, t0, metrics.Configured)))
	}
	snap, err := metrics.Collect(t.Context(), []metrics.Source{
		{Name: "probe", Latency: probe},
		{Name: "liqo", Latency: liqo},
		{Name: "static", Latency: static},
	}, []string{"c", "a", "b"}, metrics.CollectOptions{Now: clock.Now})
	must(t, err)

	want := map[metrics.Pair]struct {
		src  string
		p50  topology.Duration
		prov metrics.Provenance
	}{
		{"a", "b"}: {"probe", ms(4), metrics.Measured},
		{"a", "c"}: {"static", ms(20), metrics.Configured}, // liqo's is stale
		{"b", "c"}: {"static", ms(20), metrics.Configured},
	}
	if len(snap.Latency) != len(want) {
		t.Errorf("got %d pairs, want %d: %v", len(snap.Latency), len(want), snap.Latency)
	}
	for p, w := range want {
		got, ok := snap.Latency[p]
		if !ok {
			t.Errorf("pair %v missing", p)
			continue
		}
		if got.Source != w.src || got.P50 != w.p50 || got.Provenance != w.prov || got.Measured() != (w.prov == metrics.Measured) {
			t.Errorf("pair %v = %s %v %s, want %s %v %s", p, got.Source, got.P50, got.Provenance, w.src, w.p50, w.prov)
		}
	}
	if len(snap.MissingLatency) != 0 {
		t.Errorf("missing = %v, want none", snap.MissingLatency)
	}
	// Problems: probe has no a-c and no b-c; liqo's a-c is stale and it has no b-c.
	var got []string
	for _, p := range snap.Problems {
		kind := "other"
		switch {
		case errors.Is(p.Err, metrics.ErrStale):
			kind = "stale"
		case errors.Is(p.Err, metrics.ErrNoData):
			kind = "nodata"
		}
		got = append(got, fmt.Sprintf("%s %s %s", p.Pair, p.Source, kind))
	}
	wantProblems := "a<->c probe nodata|a<->c liqo stale|b<->c probe nodata|b<->c liqo nodata"
	if strings.Join(got, "|") != wantProblems {
		t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "|"), wantProblems)
	}
	if rtt := snap.RTT(); rtt[metrics.MakePair("b", "a")] != ms(4) || len(rtt) != 3 {
		t.Errorf("RTT() = %v", rtt)
	}
}

func TestCollectNeverReadsMissingAsZero(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	f := newFake(t, clock)
	must(t, f.AddLatency(lat("a", "b", 4, t0, metrics.Measured)))
	must(t, f.AddResources(metrics.ResourceSample{
		Cluster: "a", ObservedAt: t0,
		Usage: metrics.Usage{Capacity: topology.ResourceList{"cpu": resource.MustParse("8")}},
	}))
	snap, err := metrics.Collect(t.Context(), []metrics.Source{{Name: "f", Latency: f, Resources: f}},
		[]string{"a", "b"}, metrics.CollectOptions{Now: clock.Now, Sites: []string{"geneva"}})
	must(t, err)
	wantMissing := []metrics.Pair{{"a", "geneva"}, {"b", "geneva"}}
	if fmt.Sprint(snap.MissingLatency) != fmt.Sprint(wantMissing) {
		t.Errorf("missing latency = %v, want %v", snap.MissingLatency, wantMissing)
	}
	for _, p := range wantMissing {
		if _, ok := snap.Latency[p]; ok {
			t.Errorf("missing pair %v has a value", p)
		}
		if _, ok := snap.RTT()[p]; ok {
			t.Errorf("RTT() has missing pair %v", p)
		}
	}
	if fmt.Sprint(snap.MissingResources) != "[b]" {
		t.Errorf("missing resources = %v, want [b]", snap.MissingResources)
	}
	a := snap.Resources["a"]
	if _, ok := a.Used["cpu"]; ok {
		t.Errorf("used cpu of a present, want absent")
	}
	if free := snap.Free(); len(free) != 0 {
		t.Errorf("Free() = %v, want nothing: usage unknown", free)
	}
	// Time passes: the same data becomes stale and disappears from the next snapshot.
	clock.Advance(metrics.DefaultMaxAge + time.Second)
	snap, err = metrics.Collect(t.Context(), []metrics.Source{{Name: "f", Latency: f, Resources: f}},
		[]string{"a", "b"}, metrics.CollectOptions{Now: clock.Now})
	must(t, err)
	if len(snap.Latency) != 0 || len(snap.Resources) != 0 {
		t.Errorf("stale data kept: %v %v", snap.Latency, snap.Resources)
	}
}

func TestCollectMergesResourcesQuantityByQuantity(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	prom, static := newFake(t, clock), newFake(t, clock)
	q := resource.MustParse
	must(t, prom.AddResources(metrics.ResourceSample{
		Cluster: "a", ObservedAt: t0.Add(-time.Second),
		Usage: metrics.Usage{
			Allocatable: topology.ResourceList{"cpu": q("30")},
			Used:        topology.ResourceList{"cpu": q("10"), "memory": q("4Gi")},
		},
		Pools: map[string]metrics.Usage{"gpu": {Used: topology.ResourceList{"gpu": q("1")}}},
	}))
	must(t, static.AddResources(metrics.ResourceSample{
		Cluster: "a", ObservedAt: t0, Provenance: metrics.Configured,
		Usage: metrics.Usage{
			Capacity:    topology.ResourceList{"cpu": q("32"), "memory": q("64Gi")},
			Allocatable: topology.ResourceList{"cpu": q("32"), "memory": q("64Gi")},
		},
		Pools: map[string]metrics.Usage{"gpu": {Capacity: topology.ResourceList{"gpu": q("2")}}},
	}))
	snap, err := metrics.Collect(t.Context(), []metrics.Source{
		{Name: "prometheus", Resources: prom}, {Name: "static", Resources: static},
	}, []string{"a"}, metrics.CollectOptions{Now: clock.Now})
	must(t, err)
	a := snap.Resources["a"]
	check := func(what string, v metrics.Value, ok bool, qty, src string) {
		t.Helper()
		if !ok {
			t.Errorf("%s missing", what)
			return
		}
		if v.Quantity.Cmp(q(qty)) != 0 || v.Source != src {
			t.Errorf("%s = %s from %s, want %s from %s", what, v.Quantity.String(), v.Source, qty, src)
		}
	}
	v, ok := a.Allocatable["cpu"]
	check("allocatable cpu", v, ok, "30", "prometheus")
	v, ok = a.Allocatable["memory"]
	check("allocatable memory", v, ok, "64Gi", "static")
	v, ok = a.Capacity["cpu"]
	check("capacity cpu", v, ok, "32", "static")
	if v.Provenance != metrics.Configured {
		t.Errorf("capacity cpu provenance = %s, want configured", v.Provenance)
	}
	v, ok = a.Pools["gpu"].Used["gpu"]
	check("pool gpu used gpu", v, ok, "1", "prometheus")
	v, ok = a.Pools["gpu"].Capacity["gpu"]
	check("pool gpu capacity gpu", v, ok, "2", "static")
	free := snap.Free()["a"]
	if c, m := free["cpu"], free["memory"]; c.Cmp(q("20")) != 0 || m.Cmp(q("60Gi")) != 0 {
		t.Errorf("free = %v, want cpu 20 (30-10) and memory 60Gi (64Gi-4Gi)", free)
	}
}

func TestCollectDeadline(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	good := newFake(t, clock)
	must(t, good.AddLatency(lat("a", "b", 4, t0, metrics.Measured)))
	hung, err := metricsfake.Wrap(good, nil, metricsfake.Faults{Hang: true})
	must(t, err)
	snap, err := metrics.Collect(t.Context(), []metrics.Source{
		{Name: "hung", Latency: hung}, {Name: "good", Latency: good},
	}, []string{"a", "b"}, metrics.CollectOptions{Now: clock.Now, Timeout: 50 * time.Millisecond})
	must(t, err)
	if got := snap.Latency[metrics.MakePair("a", "b")]; got.Source != "good" {
		t.Errorf("a-b from %q, want good (hung answered nothing)", got.Source)
	}
	if len(snap.Problems) != 1 || !errors.Is(snap.Problems[0].Err, context.DeadlineExceeded) || snap.Problems[0].Source != "hung" {
		t.Errorf("problems = %v, want one deadline problem of hung", snap.Problems)
	}
}

func TestCollectRejectsInvalidSamples(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	good := newFake(t, clock)
	must(t, good.AddLatency(lat("a", "b", 4, t0, metrics.Measured)))
	junk := latencyFunc(func(ctx context.Context, a, b string) (metrics.LatencySample, error) {
		return metrics.LatencySample{P50: ms(5), P90: ms(1), P99: ms(9), ObservedAt: t0, Provenance: metrics.Measured}, nil
	})
	zero := latencyFunc(func(ctx context.Context, a, b string) (metrics.LatencySample, error) {
		return metrics.LatencySample{}, nil
	})
	snap, err := metrics.Collect(t.Context(), []metrics.Source{
		{Name: "junk", Latency: junk}, {Name: "zero", Latency: zero}, {Name: "good", Latency: good},
	}, []string{"a", "b"}, metrics.CollectOptions{Now: clock.Now})
	must(t, err)
	if got := snap.Latency[metrics.MakePair("a", "b")]; got.Source != "good" || got.P50 != ms(4) {
		t.Errorf("a-b = %+v, want good's 4ms", got)
	}
	if len(snap.Problems) != 2 {
		t.Fatalf("problems = %v, want 2", snap.Problems)
	}
	for _, p := range snap.Problems {
		if !errors.Is(p.Err, metrics.ErrInvalid) {
			t.Errorf("problem %v, want ErrInvalid", p)
		}
	}
	if !strings.Contains(snap.Problems[0].Err.Error(), "p90") || !strings.Contains(snap.Problems[1].Err.Error(), "p50") {
		t.Errorf("problems do not name the field: %v", snap.Problems)
	}
}

type latencyFunc func(ctx context.Context, a, b string) (metrics.LatencySample, error)

func (f latencyFunc) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	return f(ctx, a, b)
}

func TestCollectValidatesArguments(t *testing.T) {
	clock := metricsfake.NewClock(t0)
	f := newFake(t, clock)
	cases := []struct {
		name     string
		sources  []metrics.Source
		clusters []string
		opts     metrics.CollectOptions
		field    string
	}{
		{"no sources", nil, []string{"a"}, metrics.CollectOptions{}, "sources"},
		{"unnamed", []metrics.Source{{Latency: f}}, []string{"a"}, metrics.CollectOptions{}, "sources[0].name"},
		{"duplicate", []metrics.Source{{Name: "x", Latency: f}, {Name: "x", Latency: f}}, []string{"a"}, metrics.CollectOptions{}, "sources[1].name"},
		{"no roles", []metrics.Source{{Name: "x"}}, []string{"a"}, metrics.CollectOptions{}, "sources[0]"},
		{"empty cluster", []metrics.Source{{Name: "x", Latency: f}}, []string{"a", ""}, metrics.CollectOptions{}, "clusters[1]"},
		{"twice", []metrics.Source{{Name: "x", Latency: f}}, []string{"a", "a"}, metrics.CollectOptions{}, "clusters[1]"},
		{"negative timeout", []metrics.Source{{Name: "x", Latency: f}}, []string{"a"}, metrics.CollectOptions{Timeout: -1}, "opts.timeout"},
		{"negative maxAge", []metrics.Source{{Name: "x", Latency: f}}, []string{"a"}, metrics.CollectOptions{MaxAge: -1}, "opts.maxAge"},
		{"bad pair", []metrics.Source{{Name: "x", Latency: f}}, []string{"a"}, metrics.CollectOptions{Pairs: []metrics.Pair{{A: "a"}}}, "opts.pairs[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := metrics.Collect(t.Context(), c.sources, c.clusters, c.opts)
			if !errors.Is(err, metrics.ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.field+":") || !strings.HasPrefix(err.Error(), "metrics: ") {
				t.Errorf("error %q does not start with metrics: or name %s", err, c.field)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := metrics.Collect(ctx, []metrics.Source{{Name: "x", Latency: f}}, []string{"a"}, metrics.CollectOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: error = %v", err)
	}
}

func TestCheckFresh(t *testing.T) {
	if err := metrics.CheckFresh("x", t0.Add(-time.Minute), t0, 0); err != nil {
		t.Errorf("1 minute old with the default bound: %v", err)
	}
	if err := metrics.CheckFresh("x", t0.Add(-6*time.Minute), t0, 0); !errors.Is(err, metrics.ErrStale) {
		t.Errorf("6 minutes old: %v, want ErrStale", err)
	}
	if err := metrics.CheckFresh("x", time.Time{}, t0, 0); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("zero time: %v, want ErrNoData", err)
	}
}

// BenchmarkCollect measures a full snapshot of n clusters (n(n-1)/2 latency pairs and
// n resource queries) from one fake source.
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			clock := metricsfake.NewClock(t0)
			f, err := metricsfake.New(metricsfake.Options{Now: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			clusters := make([]string, n)
			for i := range clusters {
				clusters[i] = fmt.Sprintf("c%03d", i)
			}
			for i, a := range clusters {
				for _, c := range clusters[i+1:] {
					if err := f.AddLatency(lat(a, c, 5, t0, metrics.Measured)); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.AddResources(metrics.ResourceSample{Cluster: a, ObservedAt: t0,
					Usage: metrics.Usage{Used: topology.ResourceList{"cpu": resource.MustParse("1")}}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				f.ResetCalls()
				snap, err := metrics.Collect(context.Background(), []metrics.Source{{Name: "f", Latency: f, Resources: f}},
					clusters, metrics.CollectOptions{Now: clock.Now})
				if err != nil || len(snap.MissingLatency) != 0 {
					b.Fatalf("err %v, missing %d", err, len(snap.MissingLatency))
				}
			}
			b.ReportMetric(float64(n*(n-1)/2+n), "queries/op")
		})
	}
}
