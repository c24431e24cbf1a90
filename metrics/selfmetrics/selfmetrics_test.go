package selfmetrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/metricsfake"
	"github.com/continuum-xr/continuum/metrics/selfmetrics"
	"github.com/continuum-xr/continuum/topology"
)

// value is what the tests read of one gathered series.
type value struct {
	counter, gauge, hsum float64
	hcount               uint64
}

// gather returns every series as "name{k=v,...}" -> its value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]value {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]value{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName()+"="+l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(kv, ",")+"}"] = value{
				counter: m.GetCounter().GetValue(), gauge: m.GetGauge().GetValue(),
				hsum: m.GetHistogram().GetSampleSum(), hcount: m.GetHistogram().GetSampleCount(),
			}
		}
	}
	return out
}

func TestRecordsDecisionsMigrationsAndSnapshots(t *testing.T) {
	m, err := selfmetrics.New(selfmetrics.Options{ConstLabels: prometheus.Labels{"mgmt": "geneva"}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	m.ObserveDecision(2*time.Millisecond, selfmetrics.Feasible)
	m.ObserveDecision(4*time.Millisecond, selfmetrics.Feasible)
	m.ObserveDecision(time.Second, selfmetrics.Infeasible)
	m.ObserveDecision(time.Second, "made-up") // bounded labels: "other"
	m.Migration(selfmetrics.Started)
	m.Migration(selfmetrics.Started)
	m.Migration(selfmetrics.Succeeded)

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := metricsfake.NewClock(now)
	src, err := metricsfake.New(metricsfake.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddLatency(metrics.LatencySample{
		Pair: metrics.MakePair("a", "b"), P50: 5 * topology.Millisecond, P90: 6 * topology.Millisecond, P99: 7 * topology.Millisecond,
		Count: 42, Window: time.Minute, Loss: 0, ObservedAt: now, Provenance: metrics.Measured,
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := metrics.Collect(t.Context(), []metrics.Source{{Name: "probe", Latency: src}}, []string{"a", "b", "c"},
		metrics.CollectOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveSnapshot(snap)

	got := gather(t, reg)
	check := func(series string, want float64, read func(value) float64) {
		t.Helper()
		s, ok := got[series]
		if !ok {
			t.Errorf("no series %s", series)
			return
		}
		if v := read(s); v != want {
			t.Errorf("%s = %g, want %g", series, v, want)
		}
	}
	counter := func(v value) float64 { return v.counter }
	gauge := func(v value) float64 { return v.gauge }
	hcount := func(v value) float64 { return float64(v.hcount) }
	hsum := func(v value) float64 { return v.hsum }
	check("continuum_decision_duration_seconds{mgmt=geneva,outcome=feasible}", 2, hcount)
	check("continuum_decision_duration_seconds{mgmt=geneva,outcome=feasible}", 0.006, hsum)
	check("continuum_decision_duration_seconds{mgmt=geneva,outcome=infeasible}", 1, hcount)
	check("continuum_decision_duration_seconds{mgmt=geneva,outcome=other}", 1, hcount)
	check("continuum_migrations_total{mgmt=geneva,result=started}", 2, counter)
	check("continuum_migrations_total{mgmt=geneva,result=succeeded}", 1, counter)
	check("continuum_rtt_seconds{a=a,b=b,mgmt=geneva,provenance=measured,source=probe}", 0.005, gauge)
	check("continuum_rtt_sample_count{a=a,b=b,mgmt=geneva,source=probe}", 42, gauge)
	check("continuum_snapshot_missing{kind=latency,mgmt=geneva}", 2, gauge) // a<->c, b<->c
	check("continuum_snapshot_problems_total{mgmt=geneva,source=probe}", 2, counter)
	for s := range got {
		if strings.Contains(s, "c,") || strings.Contains(s, "b=c") {
			t.Errorf("series %s for a pair with no data: missing must not be a zero", s)
		}
	}

	// A later snapshot without a<->b removes its series.
	clock.Advance(time.Hour)
	snap, err = metrics.Collect(t.Context(), []metrics.Source{{Name: "probe", Latency: src}}, []string{"a", "b"},
		metrics.CollectOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveSnapshot(snap)
	got = gather(t, reg)
	if _, ok := got["continuum_rtt_seconds{a=a,b=b,mgmt=geneva,provenance=measured,source=probe}"]; ok {
		t.Errorf("the stale pair still has an RTT series")
	}
	check("continuum_snapshot_missing{kind=latency,mgmt=geneva}", 1, gauge)
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		opts selfmetrics.Options
		want string
	}{
		{selfmetrics.Options{Namespace: "bad-name"}, "opts.namespace"},
		{selfmetrics.Options{ConstLabels: prometheus.Labels{"bad label": "x"}}, "opts.constLabels"},
		{selfmetrics.Options{DecisionBuckets: []float64{1, 0.5}}, "opts.decisionBuckets[1]"},
	} {
		_, err := selfmetrics.New(c.opts)
		if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "selfmetrics: ") {
			t.Errorf("New(%+v): %v, want an ErrInvalid naming %s", c.opts, err, c.want)
		}
	}
}
