package liqoreal_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/looptest"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/metrics"
	metricsliqo "github.com/continuum-xr/continuum/metrics/liqo"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/topology"
)

// probeTable is the loop's latency source: a stand-in for the prober (with Liqo's
// networking disabled there is no Connection to read latency from). Every answer is
// a Measured sample stamped now; the test changes a pair's value to degrade a link.
type probeTable struct {
	mu  sync.Mutex
	rtt map[metrics.Pair]topology.Duration
}

func newProbeTable() *probeTable {
	p := &probeTable{rtt: map[metrics.Pair]topology.Duration{}}
	for k, v := range looptest.Declared {
		p.set(k[0], k[1], topology.Millis(v))
	}
	for c, v := range looptest.Access {
		p.set("gva", c, topology.Millis(v))
	}
	return p
}

func (p *probeTable) set(a, b string, d topology.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rtt[metrics.MakePair(a, b)] = d
}

func (p *probeTable) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pair := metrics.MakePair(a, b)
	d, ok := p.rtt[pair]
	if !ok {
		return metrics.LatencySample{}, fmt.Errorf("probe table: %s: %w", pair, metrics.ErrNoData)
	}
	return metrics.LatencySample{Pair: pair, P50: d, P90: d, P99: d, Loss: 0, ObservedAt: time.Now(), Provenance: metrics.Measured}, nil
}

// readState reads what the clusters say about the application in ns: its
// instances, and the offloading's targets (an error unless the offloading is Ready
// for its spec).
func readState(ctx context.Context, view *act.KubeWorkloads, ns string) (looptest.State, error) {
	var st looptest.State
	ins, err := view.ListInstances(ctx, ns)
	if err != nil {
		return st, err
	}
	for _, in := range ins {
		st.Instances = append(st.Instances, fmt.Sprintf("%s@%s %d/%d", in.Component, in.Cluster, in.Ready, in.Replicas))
	}
	slices.Sort(st.Instances)
	var o offloadingv1beta1.NamespaceOffloading
	err = admin["home"].Get(ctx, client.ObjectKey{Namespace: ns, Name: liqo.OffloadingName}, &o)
	switch {
	case apierrors.IsNotFound(err):
		return st, nil
	case err != nil:
		return st, err
	}
	for _, term := range o.Spec.ClusterSelector.NodeSelectorTerms {
		for _, r := range term.MatchExpressions {
			st.Offload = append(st.Offload, r.Values...) // cluster IDs are the names here
		}
	}
	slices.Sort(st.Offload)
	// Ready for the current spec: Liqo writes the generation it observed.
	if o.Status.OffloadingPhase != offloadingv1beta1.ReadyOffloadingPhaseType || o.Status.ObservedGeneration != o.Generation {
		return st, fmt.Errorf("offloading phase %q (observed generation %d of %d)", o.Status.OffloadingPhase, o.Status.ObservedGeneration, o.Generation)
	}
	return st, nil
}

// runningOn counts the pods of ns on cluster that run on one of its KWOK nodes,
// by the component label act's templates carry.
func runningOn(ctx context.Context, cluster, ns string) (map[string]int, error) {
	var pods corev1.PodList
	if err := admin[cluster].List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && slices.Contains(env.Cluster(cluster).Nodes, p.Spec.NodeName) {
			out[p.Labels["app.kubernetes.io/name"]]++
		}
	}
	return out, nil
}

// TestLoopOnRealLiqo places xr-collab with the loop on four real clusters with Liqo:
// the backend peers home with w1 and w3, the namespace is offloaded, each
// component's pods are pinned to their cluster's virtual node and run on KWOK nodes
// there, ready replicas as Kubernetes reports them. Then the probe measures
// home<->w1 at 20 ms: stream breaks its bound to state and the loop repairs by moving
// it to w2, make-before-break: every 25 ms and at every act step, every component has
// a Running, ready replica. Last the application is removed.
func TestLoopOnRealLiqo(t *testing.T) {
	testenv.Require(t)
	env.KeepLogsOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	home := admin["home"]
	ns := fmt.Sprintf("xr-%d", time.Now().UnixNano()%1_000_000)
	app := looptest.App(ns)
	if err := home.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range app.Components {
		if err := home.Create(ctx, looptest.Template(ns, c.Name)); err != nil {
			t.Fatal(err)
		}
	}
	backend := newBackend(t, looptest.Clusters...)
	view, err := act.NewKubeWorkloads(home, act.KubeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sm := looptest.NewSampler(view, ns, app)
	defer sm.Stop()
	actor, err := act.New(view, act.Options{Peering: backend, PollInterval: 100 * time.Millisecond, Timeout: wait,
		Observe: func(e act.StepEvent) { sm.Check("step " + e.Step.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	probe := newProbeTable()
	topo := looptest.Topology(t)
	// Liqo's Connections first, as a deployment with Liqo's networking would have
	// them; with networking disabled there are none (ErrNoData for every pair) and
	// the probe answers. A pair nobody answers keeps the topology's declared RTT.
	var readers []metricsliqo.Cluster
	for _, n := range looptest.Clusters {
		readers = append(readers, metricsliqo.Cluster{Name: n, Reader: admin[n]})
	}
	liqoSrc, err := metricsliqo.New(readers, metricsliqo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var roundsMu sync.Mutex
	var rounds []*loop.Round
	l, err := loop.New(actor, []placement.Application{app}, loop.Options{
		Topology:         func(context.Context) (*topology.Topology, error) { return topo, nil },
		Sources:          []metrics.Source{{Name: "liqo", Latency: liqoSrc}, {Name: "probe", Latency: probe}},
		Confirm:          2,
		Interval:         2 * time.Second,
		WatchInterval:    300 * time.Millisecond,
		NoLeaderElection: true,
		OnRound: func(r *loop.Round) {
			roundsMu.Lock()
			rounds = append(rounds, r)
			roundsMu.Unlock()
			t.Logf("round %d (%s): %s %s err=%v", r.Number, r.Trigger, r.Decision.Kind, r.Decision.Reason, r.Err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { teardownApp(t, l, backend, ns) })
	loopCtx, stopLoop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Start(loopCtx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopLoop()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Start: %v", err)
			}
			stopped = true
		}
	}
	defer stop()

	waitState := func(what string, want looptest.State) {
		t.Helper()
		eventually(t, what, func(ctx context.Context) (bool, string) {
			got, err := readState(ctx, view, ns)
			return err == nil && got.Equal(want), fmt.Sprintf("%s (%v)", got, err)
		})
	}
	start := time.Now()
	waitState("placing", looptest.WantPlaced)
	phase(t, "placed (first apply, peerings included)", start)
	for cluster, want := range map[string]map[string]int{"w1": {"stream": 2}, "w3": {"analytics": 1}, "home": {"state": 1, "render": 1}} {
		got, err := runningOn(ctx, cluster, ns)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("pods Running on %s's KWOK nodes = %v (%v), want %v", cluster, got, err, want)
		}
	}

	sm.Arm(true)
	start = time.Now()
	probe.set("home", "w1", topology.Millis(20))
	waitState("migrating", looptest.WantMigrated)
	phase(t, "repaired (stream w1 -> w2)", start)
	eventually(t, "stream's pods gone from w1 and Running on w2", func(ctx context.Context) (bool, string) {
		w1, err1 := runningOn(ctx, "w1", ns)
		w2, err2 := runningOn(ctx, "w2", ns)
		return err1 == nil && err2 == nil && w1["stream"] == 0 && w2["stream"] == 2, fmt.Sprintf("w1 %v, w2 %v (%v, %v)", w1, w2, err1, err2)
	})
	stop()
	sm.Arm(false)
	t.Logf("invariant sampled %d times", sm.Assert(t))

	roundsMu.Lock()
	sawRepair := false
	for _, r := range rounds {
		if r.Err == nil && r.Observed.Missing > 0 {
			t.Errorf("round %d: %d latency pairs missing; the probe answers every pair", r.Number, r.Observed.Missing)
		}
		if r.Decision.Kind == loop.DecideRepair && r.Err == nil {
			sawRepair = true
			if r.Decision.Moves != 2 || !strings.Contains(r.Decision.Reason, "w1 -> w2") {
				t.Errorf("repair round %d: moves %d, reason %q; want stream's 2 replicas w1 -> w2", r.Number, r.Decision.Moves, r.Decision.Reason)
			}
		}
	}
	roundsMu.Unlock()
	if !sawRepair {
		t.Error("no successful repair round")
	}
}

// teardownApp removes the application (its instances and offloading) and the
// peerings the loop made, and waits until Liqo has cleaned up, so that other tests
// find the clusters unpeered.
func teardownApp(t *testing.T, l *loop.Loop, b peering.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := l.RemoveApplication(ctx, ns); err != nil {
		t.Errorf("RemoveApplication: %v", err)
	}
	unpeerAll(t, b, ns)
}

// unpeerAll ends the offloading of ns from home and every peering, and waits until
// Liqo has removed every tenant namespace, so that the next test finds the clusters
// unpeered.
func unpeerAll(t testing.TB, b peering.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	unoffload(t, b, peering.NamespaceRef{Cluster: "home", Namespace: ns})
	ps, err := b.ListPeerings(ctx, peering.ListOptions{})
	if err != nil {
		t.Errorf("ListPeerings: %v", err)
	}
	for _, p := range ps {
		if err := b.Unpeer(ctx, p.Key); err != nil {
			t.Errorf("Unpeer(%s): %v", p.Key, err)
		}
	}
	waitNoTenants(t, looptest.Clusters...)
}
