package metricstest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// Harness is one source under test, loaded with Fixture.
type Harness struct {
	// Latency is the latency role under test; nil skips the latency tests.
	Latency metrics.LatencySource
	// Resources is the resource role under test; nil skips the resource tests.
	Resources metrics.ResourceSource
	// Fixture is the data the source serves; its clock must read Fixture.Now and its
	// freshness bound be Fixture.MaxAge.
	Fixture Fixture
	// Pools says the source reports node pools; when false, Pools must be nil.
	Pools bool
	// Loss says the source measures loss; when false, Loss must be negative (unknown).
	Loss bool
	// Point says the source reports one RTT observation rather than a distribution
	// (e.g. the latest ping of Liqo's gateway): the suite then expects
	// P50 = P90 = P99 = Fixture.Fresh.P50, Count 1 and a zero Window.
	Point bool
}

// HarnessMaker returns a new harness for one test; it registers its own cleanup with
// t.Cleanup.
type HarnessMaker func(ctx context.Context, t *testing.T) (*Harness, error)

// Tolerance is how far a latency percentile may be from the fixture's (histogram
// arithmetic in floating point).
const Tolerance = topology.Microsecond

// RunConformanceTests runs the suite against the harnesses made by mk.
func RunConformanceTests(t *testing.T, mk HarnessMaker) {
	t.Helper()
	harness := func(t *testing.T, role string) *Harness {
		t.Helper()
		h, err := mk(t.Context(), t)
		if err != nil {
			t.Fatalf("making the harness: %v", err)
		}
		if h == nil {
			t.Fatalf("the harness maker returned nil")
		}
		if (role == "latency" && h.Latency == nil) || (role == "resources" && h.Resources == nil) {
			t.Skipf("the source has no %s role", role)
		}
		return h
	}
	t.Run("Latency", func(t *testing.T) {
		t.Run("Fresh", func(t *testing.T) { testLatencyFresh(t, harness(t, "latency")) })
		t.Run("Symmetric", func(t *testing.T) { testLatencySymmetric(t, harness(t, "latency")) })
		t.Run("Stale", func(t *testing.T) { testLatencyStale(t, harness(t, "latency")) })
		t.Run("Missing", func(t *testing.T) { testLatencyMissing(t, harness(t, "latency")) })
		t.Run("InvalidNames", func(t *testing.T) { testLatencyInvalid(t, harness(t, "latency")) })
		t.Run("Canceled", func(t *testing.T) { testLatencyCanceled(t, harness(t, "latency")) })
		t.Run("Concurrent", func(t *testing.T) { testLatencyConcurrent(t, harness(t, "latency")) })
	})
	t.Run("Resources", func(t *testing.T) {
		t.Run("Full", func(t *testing.T) { testResourcesFull(t, harness(t, "resources")) })
		t.Run("PartialIsAbsentNotZero", func(t *testing.T) { testResourcesPartial(t, harness(t, "resources")) })
		t.Run("Stale", func(t *testing.T) { testResourcesStale(t, harness(t, "resources")) })
		t.Run("Missing", func(t *testing.T) { testResourcesMissing(t, harness(t, "resources")) })
		t.Run("InvalidName", func(t *testing.T) { testResourcesInvalid(t, harness(t, "resources")) })
		t.Run("Canceled", func(t *testing.T) { testResourcesCanceled(t, harness(t, "resources")) })
		t.Run("Concurrent", func(t *testing.T) { testResourcesConcurrent(t, harness(t, "resources")) })
	})
}

func checkLatency(t *testing.T, h *Harness, got metrics.LatencySample) {
	t.Helper()
	want := h.Fixture.Fresh
	window := h.Fixture.Window
	if h.Point {
		want.P90, want.P99, want.Count, window = want.P50, want.P50, 1, 0
	}
	if err := metrics.ValidateLatency(got); err != nil {
		t.Errorf("invalid sample: %v", err)
	}
	if got.Pair != want.Pair {
		t.Errorf("pair = %v, want %v (canonical order)", got.Pair, want.Pair)
	}
	for _, c := range []struct {
		name      string
		got, want topology.Duration
	}{{"p50", got.P50, want.P50}, {"p90", got.P90, want.P90}, {"p99", got.P99, want.P99}} {
		if d := c.got - c.want; d > Tolerance || d < -Tolerance {
			t.Errorf("%s = %v, want %v ± %v", c.name, c.got, c.want, Tolerance)
		}
	}
	if got.Count != want.Count {
		t.Errorf("count = %d, want %d", got.Count, want.Count)
	}
	if got.Window != window {
		t.Errorf("window = %v, want %v", got.Window, window)
	}
	if !h.Loss && got.Loss >= 0 {
		t.Errorf("loss = %g, want negative (unknown): the source does not measure loss", got.Loss)
	}
	if d := got.ObservedAt.Sub(want.ObservedAt); d > time.Second || d < -time.Second {
		t.Errorf("observedAt = %v, want %v ± 1s", got.ObservedAt, want.ObservedAt)
	}
	if got.Provenance != metrics.Measured {
		t.Errorf("provenance = %q, want %q", got.Provenance, metrics.Measured)
	}
}

func testLatencyFresh(t *testing.T, h *Harness) {
	got, err := h.Latency.Latency(t.Context(), Alpha, Beta)
	if err != nil {
		t.Fatalf("Latency(%s, %s): %v", Alpha, Beta, err)
	}
	checkLatency(t, h, got)
}

func testLatencySymmetric(t *testing.T, h *Harness) {
	got, err := h.Latency.Latency(t.Context(), Beta, Alpha)
	if err != nil {
		t.Fatalf("Latency(%s, %s): %v", Beta, Alpha, err)
	}
	checkLatency(t, h, got)
}

func wantErr(t *testing.T, what string, err, want error, notWant ...error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want one matching %v", what, err, want)
		return
	}
	for _, n := range notWant {
		if errors.Is(err, n) {
			t.Errorf("%s: error %v also matches %v", what, err, n)
		}
	}
}

func testLatencyStale(t *testing.T, h *Harness) {
	p := h.Fixture.Stale
	s, err := h.Latency.Latency(t.Context(), p.A, p.B)
	wantErr(t, "Latency(stale pair)", err, metrics.ErrStale, metrics.ErrNoData)
	if err == nil {
		t.Errorf("stale pair answered %+v", s)
	}
}

func testLatencyMissing(t *testing.T, h *Harness) {
	p := h.Fixture.Missing
	s, err := h.Latency.Latency(t.Context(), p.A, p.B)
	wantErr(t, "Latency(missing pair)", err, metrics.ErrNoData, metrics.ErrStale)
	if err == nil {
		t.Errorf("missing pair answered %+v", s)
	}
	_, err = h.Latency.Latency(t.Context(), "no-such-cluster", Alpha)
	wantErr(t, "Latency(unknown cluster)", err, metrics.ErrNoData)
}

func testLatencyInvalid(t *testing.T, h *Harness) {
	_, err := h.Latency.Latency(t.Context(), "", Beta)
	wantErr(t, `Latency("", beta)`, err, metrics.ErrInvalid)
	_, err = h.Latency.Latency(t.Context(), Alpha, "")
	wantErr(t, `Latency(alpha, "")`, err, metrics.ErrInvalid)
}

func testLatencyCanceled(t *testing.T, h *Harness) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := h.Latency.Latency(ctx, Alpha, Beta)
	wantErr(t, "Latency(canceled)", err, context.Canceled)
}

func testLatencyConcurrent(t *testing.T, h *Harness) {
	const n = 8
	var wg sync.WaitGroup
	samples := make([]metrics.LatencySample, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a, b := Alpha, Beta
			if i%2 == 1 {
				a, b = b, a
			}
			samples[i], errs[i] = h.Latency.Latency(t.Context(), a, b)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		checkLatency(t, h, samples[i])
	}
}

func checkUsage(t *testing.T, where string, got, want metrics.Usage) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want topology.ResourceList
	}{{"capacity", got.Capacity, want.Capacity}, {"allocatable", got.Allocatable, want.Allocatable}, {"used", got.Used, want.Used}} {
		for name, w := range f.want {
			g, ok := f.got[name]
			if !ok {
				t.Errorf("%s.%s.%s missing, want %s", where, f.name, name, w.String())
				continue
			}
			if g.Cmp(w) != 0 {
				t.Errorf("%s.%s.%s = %s, want %s", where, f.name, name, g.String(), w.String())
			}
		}
		for name, g := range f.got {
			if _, ok := f.want[name]; !ok {
				t.Errorf("%s.%s.%s = %s, want absent (the fixture has no such data)", where, f.name, name, g.String())
			}
		}
	}
}

func testResourcesFull(t *testing.T, h *Harness) {
	want := h.Fixture.Resources
	got, err := h.Resources.Resources(t.Context(), want.Cluster)
	if err != nil {
		t.Fatalf("Resources(%s): %v", want.Cluster, err)
	}
	if err := metrics.ValidateResources(got); err != nil {
		t.Errorf("invalid sample: %v", err)
	}
	if got.Cluster != want.Cluster {
		t.Errorf("cluster = %q, want %q", got.Cluster, want.Cluster)
	}
	checkUsage(t, "cluster", got.Usage, want.Usage)
	if h.Pools {
		if len(got.Pools) != len(want.Pools) {
			t.Errorf("got %d pools, want %d", len(got.Pools), len(want.Pools))
		}
		for name, w := range want.Pools {
			g, ok := got.Pools[name]
			if !ok {
				t.Errorf("pool %q missing", name)
				continue
			}
			checkUsage(t, "pools["+name+"]", g, w)
		}
	} else if got.Pools != nil {
		t.Errorf("pools = %v, want nil from a source without node pools", got.Pools)
	}
	if d := got.ObservedAt.Sub(want.ObservedAt); d > time.Second || d < -time.Second {
		t.Errorf("observedAt = %v, want %v ± 1s", got.ObservedAt, want.ObservedAt)
	}
	if got.Provenance != metrics.Measured {
		t.Errorf("provenance = %q, want %q", got.Provenance, metrics.Measured)
	}
	// The sample is the caller's: changing it must not change the source.
	got.Capacity[topology.ResourceCPU] = got.Capacity[topology.ResourceGPU]
	again, err := h.Resources.Resources(t.Context(), want.Cluster)
	if err != nil {
		t.Fatalf("Resources(%s) again: %v", want.Cluster, err)
	}
	checkUsage(t, "cluster (second call)", again.Usage, want.Usage)
}

func testResourcesPartial(t *testing.T, h *Harness) {
	want := h.Fixture.Partial
	got, err := h.Resources.Resources(t.Context(), want.Cluster)
	if err != nil {
		t.Fatalf("Resources(%s): %v", want.Cluster, err)
	}
	checkUsage(t, "cluster", got.Usage, want.Usage)
	if len(got.Used) != 0 {
		t.Errorf("used = %v, want nothing: no usage data must never read as zero", got.Used)
	}
	if f := got.Free(); len(f) != 0 {
		t.Errorf("Free() = %v, want empty when usage is unknown", f)
	}
}

func testResourcesStale(t *testing.T, h *Harness) {
	s, err := h.Resources.Resources(t.Context(), h.Fixture.StaleCluster)
	wantErr(t, "Resources(stale cluster)", err, metrics.ErrStale, metrics.ErrNoData)
	if err == nil {
		t.Errorf("stale cluster answered %+v", s)
	}
}

func testResourcesMissing(t *testing.T, h *Harness) {
	s, err := h.Resources.Resources(t.Context(), h.Fixture.MissingCluster)
	wantErr(t, "Resources(missing cluster)", err, metrics.ErrNoData, metrics.ErrStale)
	if err == nil {
		t.Errorf("missing cluster answered %+v", s)
	}
}

func testResourcesInvalid(t *testing.T, h *Harness) {
	_, err := h.Resources.Resources(t.Context(), "")
	wantErr(t, `Resources("")`, err, metrics.ErrInvalid)
}

func testResourcesCanceled(t *testing.T, h *Harness) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := h.Resources.Resources(ctx, Alpha)
	wantErr(t, "Resources(canceled)", err, context.Canceled)
}

func testResourcesConcurrent(t *testing.T, h *Harness) {
	const n = 8
	var wg sync.WaitGroup
	samples := make([]metrics.ResourceSample, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { samples[i], errs[i] = h.Resources.Resources(t.Context(), Alpha) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		checkUsage(t, "cluster", samples[i].Usage, h.Fixture.Resources.Usage)
	}
}

// LoadFake loads f into a source with the metricsfake AddLatency/AddResources shape:
// addLatency and addResources are called with every sample of the fixture, stale ones
// included. It lets any scripted source share the fixture.
func LoadFake(f Fixture, addLatency func(metrics.LatencySample) error, addResources func(metrics.ResourceSample) error) error {
	stale := f.Fresh
	stale.Pair, stale.ObservedAt = f.Stale, f.StaleAt
	for _, s := range []metrics.LatencySample{f.Fresh, stale} {
		if err := addLatency(s); err != nil {
			return err
		}
	}
	gamma := f.Resources
	gamma.Cluster, gamma.ObservedAt, gamma.Pools = f.StaleCluster, f.StaleAt, nil
	for _, s := range []metrics.ResourceSample{f.Resources, f.Partial, gamma} {
		if err := addResources(s); err != nil {
			return err
		}
	}
	return nil
}
