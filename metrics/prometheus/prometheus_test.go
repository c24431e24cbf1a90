package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/metricstest"
	"github.com/continuum-xr/continuum/metrics/prometheus"
	"github.com/continuum-xr/continuum/topology"
)

var (
	prom    *testenv.Prometheus
	fixture metricstest.Fixture
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		// Recent past, whole minutes (the stale-data subquery steps by minutes).
		fixture = metricstest.NewFixture(time.Now().Add(-30 * time.Minute).Truncate(time.Minute))
		t0 := time.Now()
		p, err := testenv.StartPrometheus(ctx, testenv.PrometheusOptions{Backfill: backfill(fixture)})
		if err != nil {
			return nil, err
		}
		if testing.Verbose() {
			fmt.Printf("prometheus with backfill started in %v\n", time.Since(t0).Round(time.Millisecond))
		}
		prom = p
		return p.Stop, nil
	})
}

const step = 15 * time.Second

// series writes one series from `from` to `to` every step: value(k) at from + k*step.
func series(b *strings.Builder, name, labels string, from, to time.Time, value func(k int) float64) {
	for k, t := 0, from; !t.After(to); k, t = k+1, t.Add(step) {
		fmt.Fprintf(b, "%s{%s} %g %d\n", name, labels, value(k), t.Unix())
	}
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// counter grows by perSecond from a large base (so rate() never extrapolates to zero).
func counter(perSecond float64) func(int) float64 {
	return func(k int) float64 { return perSecond * step.Seconds() * float64(1000+k) }
}

// backfill returns OpenMetrics text holding the fixture as prober, kube-state-metrics
// and cAdvisor series.
func backfill(f metricstest.Fixture) string {
	var b strings.Builder
	freshFrom, staleFrom := f.Now.Add(-20*time.Minute), f.Now.Add(-30*time.Minute)
	perSecond := float64(f.Fresh.Count) / f.Window.Seconds()

	// Latency histogram: alpha measures beta (fresh), alpha measures gamma (stale).
	for _, s := range []struct {
		peer     string
		from, to time.Time
	}{{metricstest.Beta, freshFrom, f.Now}, {metricstest.Gamma, staleFrom, f.StaleAt}} {
		for i, le := range f.LatencyBuckets {
			series(&b, "continuum_probe_rtt_seconds_bucket", fmt.Sprintf(`cluster="alpha",peer=%q,le="%g"`, s.peer, le),
				s.from, s.to, counter(perSecond*f.LatencyCumulative[i]))
		}
		series(&b, "continuum_probe_rtt_seconds_bucket", fmt.Sprintf(`cluster="alpha",peer=%q,le="+Inf"`, s.peer), s.from, s.to, counter(perSecond))
		series(&b, "continuum_probe_rtt_seconds_count", fmt.Sprintf(`cluster="alpha",peer=%q`, s.peer), s.from, s.to, counter(perSecond))
	}

	// Resources per node, as kube-state-metrics and cAdvisor report them.
	type node struct {
		cluster, label, name string
		from, to             time.Time
		capCPU, capMem       float64
		allocCPU, allocMem   float64
		gpu                  float64
		usedCPU, usedMem     float64 // < 0: no cAdvisor series
		usedGPU              float64 // < 0: none
	}
	gi := float64(1 << 30)
	nodes := []node{
		{"alpha", "cluster", "general-1", freshFrom, f.Now, 48, 192 * gi, 46, 186 * gi, 0, 14, 70 * gi, -1},
		{"alpha", "cluster", "gpu-1", freshFrom, f.Now, 16, 64 * gi, 16, 64 * gi, 4, 6.5, 30 * gi, 1},
		{"beta", "cluster", "beta-1", freshFrom, f.Now, 8, 32 * gi, 7.5, 30 * gi, 0, -1, -1, -1},
		{"gamma", "cluster", "gamma-1", staleFrom, f.StaleAt, 64, 256 * gi, 62, 250 * gi, 4, 20.5, 100 * gi, 1},
		// A Thanos-style external label instead of "cluster".
		{"omega", "k8s_cluster", "omega-1", freshFrom, f.Now, 3, 12 * gi, 2, 10 * gi, 0, 1.25, 5 * gi, -1},
	}
	for _, n := range nodes {
		l := fmt.Sprintf(`%s=%q,node=%q`, n.label, n.cluster, n.name)
		for _, r := range []struct {
			res         string
			capV, alloc float64
		}{{"cpu", n.capCPU, n.allocCPU}, {"memory", n.capMem, n.allocMem}, {"nvidia_com_gpu", n.gpu, n.gpu}} {
			if r.capV == 0 {
				continue
			}
			series(&b, "kube_node_status_capacity", l+fmt.Sprintf(`,resource=%q`, r.res), n.from, n.to, constant(r.capV))
			series(&b, "kube_node_status_allocatable", l+fmt.Sprintf(`,resource=%q`, r.res), n.from, n.to, constant(r.alloc))
		}
		if n.usedCPU >= 0 {
			series(&b, "container_cpu_usage_seconds_total", l+`,container="app",pod="app-`+n.name+`"`, n.from, n.to, counter(n.usedCPU))
			// The pod-level cgroup series (container="") must not be counted twice.
			series(&b, "container_cpu_usage_seconds_total", l+`,container="",pod="app-`+n.name+`"`, n.from, n.to, counter(n.usedCPU))
			series(&b, "container_memory_working_set_bytes", l+`,container="app",pod="app-`+n.name+`"`, n.from, n.to, constant(n.usedMem))
		}
		if n.usedGPU >= 0 {
			series(&b, "kube_pod_container_resource_requests", l+`,resource="nvidia_com_gpu",pod="render"`, n.from, n.to, constant(n.usedGPU))
		}
	}
	return b.String()
}

func newSource(t *testing.T, opts prometheus.Options) *prometheus.Source {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixture.Now }
	}
	s, err := prometheus.NewForURL(prom.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testenv.Require(t)
	metricstest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (*metricstest.Harness, error) {
		s := newSource(t, prometheus.Options{MaxAge: fixture.MaxAge})
		return &metricstest.Harness{Latency: s, Resources: s, Fixture: fixture}, nil
	})
}

func TestThanosStyleClusterLabel(t *testing.T) {
	testenv.Require(t)
	s := newSource(t, prometheus.Options{ClusterLabel: "k8s_cluster"})
	got, err := s.Resources(t.Context(), "omega")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"capacity.cpu": "3", "capacity.memory": "12Gi", "allocatable.cpu": "2", "used.cpu": "1250m", "used.memory": "5Gi"}
	gotQ := map[string]string{
		"capacity.cpu": qty(got.Capacity, "cpu"), "capacity.memory": qty(got.Capacity, "memory"),
		"allocatable.cpu": qty(got.Allocatable, "cpu"), "used.cpu": qty(got.Used, "cpu"), "used.memory": qty(got.Used, "memory"),
	}
	for k, w := range want {
		if gotQ[k] != w {
			t.Errorf("%s = %s, want %s", k, gotQ[k], w)
		}
	}
	if _, ok := got.Capacity[topology.ResourceGPU]; ok {
		t.Errorf("omega has no GPU series, got capacity.gpu %v", got.Capacity[topology.ResourceGPU])
	}
	// The default label does not see omega, and the custom one does not see alpha.
	if _, err := newSource(t, prometheus.Options{}).Resources(t.Context(), "omega"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("omega under the default label: %v, want ErrNoData", err)
	}
	if _, err := s.Resources(t.Context(), "alpha"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("alpha under k8s_cluster: %v, want ErrNoData", err)
	}
}

func qty(l topology.ResourceList, name topology.ResourceName) string {
	q, ok := l[name]
	if !ok {
		return "<absent>"
	}
	return q.String()
}

func TestQueryOverridesAndServerErrors(t *testing.T) {
	testenv.Require(t)
	// A query returning several series is a configuration error, not a value.
	s := newSource(t, prometheus.Options{Queries: prometheus.Queries{
		Capacity: map[topology.ResourceName]string{"cpu": `kube_node_status_capacity{resource="cpu", {{.Match}} }`},
	}})
	if _, err := s.Resources(t.Context(), "alpha"); !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), "2 series") {
		t.Errorf("two series: %v, want ErrInvalid naming 2 series", err)
	}
	// An override that keeps only CPU capacity: nothing else is reported, and what is
	// reported is right.
	s = newSource(t, prometheus.Options{Queries: prometheus.Queries{
		Capacity:    map[topology.ResourceName]string{"cpu": `max(kube_node_status_capacity{resource="cpu", {{.Match}} })`},
		Allocatable: map[topology.ResourceName]string{},
		Used:        map[topology.ResourceName]string{},
	}})
	got, err := s.Resources(t.Context(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if qty(got.Capacity, "cpu") != "48" || len(got.Capacity) != 1 || len(got.Used) != 0 {
		t.Errorf("override: %+v, want capacity cpu 48 (the largest node) only", got.Usage)
	}
	// A PromQL syntax error is ErrInvalid; a dead server is ErrUnreachable.
	s = newSource(t, prometheus.Options{Queries: prometheus.Queries{ResourceSeen: `max(timestamp(`}})
	if _, err := s.Resources(t.Context(), "alpha"); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("bad PromQL: %v, want ErrInvalid", err)
	}
	dead, err := prometheus.NewForURL("http://127.0.0.1:1", prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Latency(t.Context(), "alpha", "beta"); !errors.Is(err, prometheus.ErrUnreachable) {
		t.Errorf("dead server: %v, want ErrUnreachable", err)
	}
}

func TestNewValidates(t *testing.T) {
	c, err := promapi.NewClient(promapi.Config{Address: "http://127.0.0.1:9090"})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(c)
	cases := []struct {
		opts  prometheus.Options
		field string
	}{
		{prometheus.Options{MaxAge: -1}, "opts.maxAge"},
		{prometheus.Options{Window: -time.Second}, "opts.window"},
		{prometheus.Options{ClusterLabel: "k8s-cluster"}, "opts.clusterLabel"},
		{prometheus.Options{PeerLabel: "0peer"}, "opts.peerLabel"},
		{prometheus.Options{Queries: prometheus.Queries{LatencyCount: "{{.Nope"}}, "queries.latencyCount"},
		{prometheus.Options{Queries: prometheus.Queries{Used: map[topology.ResourceName]string{"cpu": ""}}}, "queries.used[cpu]"},
	}
	for _, c := range cases {
		_, err := prometheus.New(api, c.opts)
		if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: error %v, want ErrInvalid naming the field", c.field, err)
		}
	}
	if _, err := prometheus.New(nil, prometheus.Options{}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("nil api: %v", err)
	}
	if _, err := prometheus.NewForURL("", prometheus.Options{}); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("empty address: %v", err)
	}
	// Names that could break out of a PromQL string are refused before any query.
	s, err := prometheus.New(api, prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{`a"}`, `a\b`, "a b", "-a"} {
		if _, err := s.Resources(t.Context(), n); !errors.Is(err, metrics.ErrInvalid) {
			t.Errorf("Resources(%q): %v, want ErrInvalid", n, err)
		}
		if _, err := s.Latency(t.Context(), "alpha", n); !errors.Is(err, metrics.ErrInvalid) {
			t.Errorf("Latency(alpha, %q): %v, want ErrInvalid", n, err)
		}
	}
}
