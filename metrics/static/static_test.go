package static_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/static"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// geneva and frankfurt are linked (p99 configured); paris links to frankfurt only;
// lonely is located but has no link; nowhere has neither link nor location.
func topo(t *testing.T) *topology.Topology {
	return topologytest.New().
		Cluster("geneva", topologytest.At(46.2, 6.14), topologytest.Capacity("64", "256Gi"),
			topologytest.Pool("gpu", "16", "64Gi")).
		Cluster("frankfurt", topologytest.At(50.11, 8.68)).
		Cluster("paris", topologytest.At(48.86, 2.35)).
		Cluster("lonely", topologytest.At(41.9, 12.5)).
		Cluster("nowhere").
		Link("geneva", "frankfurt", topology.Millis(9.7), topologytest.P99(topology.Millis(14))).
		Link("paris", "frankfurt", topology.Millis(8)).
		Site("cern", &topology.Location{Lat: 46.23, Lon: 6.05}, topology.AccessLink{Cluster: "geneva", RTT: topology.Millis(1), P99: topology.Millis(3)}).
		MustBuild(t)
}

func newSource(t *testing.T, opts static.Options) *static.Source {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	s, err := static.New(topo(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLatency(t *testing.T) {
	tp := topo(t)
	s := newSource(t, static.Options{})
	est, ok, err := tp.Estimate("geneva", "lonely")
	if err != nil || !ok {
		t.Fatalf("estimate: %v %v", ok, err)
	}
	cases := []struct {
		a, b          string
		p50, p90, p99 topology.Duration
		prov          metrics.Provenance
	}{
		{"frankfurt", "geneva", topology.Millis(9.7), topology.Millis(14), topology.Millis(14), metrics.Configured},
		{"geneva", "paris", topology.Millis(17.7), topology.Millis(17.7), topology.Millis(17.7), metrics.Configured}, // path
		{"cern", "geneva", topology.Millis(1), topology.Millis(3), topology.Millis(3), metrics.Configured},
		{"lonely", "geneva", est, est, est, metrics.Estimated},
	}
	for _, c := range cases {
		got, err := s.Latency(t.Context(), c.a, c.b)
		if err != nil {
			t.Errorf("%s-%s: %v", c.a, c.b, err)
			continue
		}
		if got.P50 != c.p50 || got.P90 != c.p90 || got.P99 != c.p99 || got.Provenance != c.prov {
			t.Errorf("%s-%s = %v/%v/%v %s, want %v/%v/%v %s", c.a, c.b, got.P50, got.P90, got.P99, got.Provenance, c.p50, c.p90, c.p99, c.prov)
		}
		if got.Measured() || got.Count != 0 || !got.ObservedAt.Equal(t0) || got.Pair != metrics.MakePair(c.a, c.b) {
			t.Errorf("%s-%s: %+v", c.a, c.b, got)
		}
		if err := metrics.ValidateLatency(got); err != nil {
			t.Errorf("%s-%s: %v", c.a, c.b, err)
		}
		// Symmetric.
		rev, err := s.Latency(t.Context(), c.b, c.a)
		if err != nil || rev != got {
			t.Errorf("%s-%s reversed = %+v, %v", c.a, c.b, rev, err)
		}
	}
	if est <= topology.Millis(0.5) {
		t.Errorf("estimate %v is not above its 0.5 ms base", est)
	}
}

func TestLatencyErrors(t *testing.T) {
	s := newSource(t, static.Options{})
	if _, err := s.Latency(t.Context(), "nowhere", "geneva"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("no path, no location: %v, want ErrNoData", err)
	}
	if _, err := s.Latency(t.Context(), "mars", "geneva"); !errors.Is(err, metrics.ErrNoData) || !errors.Is(err, topology.ErrNotFound) {
		t.Errorf("unknown: %v, want ErrNoData wrapping topology.ErrNotFound", err)
	}
	if _, err := newSource(t, static.Options{NoEstimate: true}).Latency(t.Context(), "lonely", "geneva"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("NoEstimate: %v, want ErrNoData", err)
	}
	if _, err := s.Latency(t.Context(), "", "geneva"); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("empty: %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Latency(ctx, "geneva", "frankfurt"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if _, err := static.New(nil, static.Options{}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("nil topology: %v", err)
	}
}

func TestResources(t *testing.T) {
	s := newSource(t, static.Options{})
	got, err := s.Resources(t.Context(), "geneva")
	if err != nil {
		t.Fatal(err)
	}
	cpu := got.Capacity[topology.ResourceCPU]
	gpuPoolCPU := got.Pools["gpu"].Capacity[topology.ResourceCPU]
	if cpu.String() != "64" || gpuPoolCPU.String() != "16" || got.Provenance != metrics.Configured {
		t.Errorf("geneva = %+v", got)
	}
	if len(got.Used) != 0 || len(got.Allocatable) != 0 {
		t.Errorf("static source reported usage: %+v", got.Usage)
	}
	if fra, err := s.Resources(t.Context(), "frankfurt"); err != nil || fra.Pools != nil {
		t.Errorf("frankfurt (no pools) = %+v, %v; want nil pools", fra, err)
	}
	if _, err := s.Resources(t.Context(), "mars"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("unknown: %v, want ErrNoData", err)
	}
	if _, err := s.Resources(t.Context(), ""); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("empty: %v, want ErrInvalid", err)
	}
}

// ExampleSource shows static as the last source of a Collect: the probe's
// measurement wins where there is one, the topology fills the gaps.
func ExampleSource() {
	tp, err := topologytest.New().
		Cluster("geneva").Cluster("frankfurt").Cluster("paris").
		Link("geneva", "frankfurt", topology.Millis(9.7)).
		Link("paris", "frankfurt", topology.Millis(8)).
		Build()
	if err != nil {
		panic(err)
	}
	now := func() time.Time { return t0 }
	st, err := static.New(tp, static.Options{Now: now})
	if err != nil {
		panic(err)
	}
	probe := measured{metrics.MakePair("frankfurt", "geneva"): topology.Millis(8.9)}
	snap, err := metrics.Collect(context.Background(), []metrics.Source{
		{Name: "probe", Latency: probe}, {Name: "static", Latency: st},
	}, []string{"geneva", "frankfurt", "paris"}, metrics.CollectOptions{Now: now})
	if err != nil {
		panic(err)
	}
	for _, p := range []metrics.Pair{metrics.MakePair("frankfurt", "geneva"), metrics.MakePair("frankfurt", "paris"), metrics.MakePair("geneva", "paris")} {
		s := snap.Latency[p]
		fmt.Println(p, s.P50, s.Source, s.Provenance)
	}
	// Output:
	// frankfurt<->geneva 8.9ms probe measured
	// frankfurt<->paris 8ms static configured
	// geneva<->paris 17.7ms static configured
}

type measured map[metrics.Pair]topology.Duration

func (m measured) Latency(_ context.Context, a, b string) (metrics.LatencySample, error) {
	d, ok := m[metrics.MakePair(a, b)]
	if !ok {
		return metrics.LatencySample{}, metrics.ErrNoData
	}
	return metrics.LatencySample{P50: d, P90: d, P99: d, Count: 10, Loss: -1, ObservedAt: t0, Provenance: metrics.Measured}, nil
}
