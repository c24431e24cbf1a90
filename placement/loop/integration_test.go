package loop_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/liqoplay"
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

// The integration tests of this package run the loop with the real backends against
// real kube-apiservers (internal/testenv): "home" (the application's home cluster,
// also the management cluster: Liqo and Cluster API CRDs) and three workload
// clusters w1, w2, w3 (Liqo CRDs). Liqo's controllers are played in the background
// by internal/liqoplay, the Deployment controller by testenv.MarkWorkloadsReady.
// The servers start on the first test that needs them (the benchmark starts its
// own), so `go test -run '^$' -bench ...` starts only the benchmark's.

// shared is the environment of the integration tests, started once.
var shared struct {
	once   sync.Once
	env    *testenv.Env
	admin  map[string]client.WithWatch
	player *liqoplay.Player
	cancel context.CancelFunc
	done   chan struct{}
	errs   playerErrors
	err    error
}

// playerErrors keeps the last errors the background player reported.
type playerErrors struct {
	mu   sync.Mutex
	last []string
}

func (e *playerErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = append(e.last, err.Error())
	if len(e.last) > 5 {
		e.last = e.last[len(e.last)-5:]
	}
}

func (e *playerErrors) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.last, "\n")
}

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		// Only check the binaries here: the servers start on first use.
		for _, b := range []string{"kube-apiserver", "etcd"} {
			if _, err := testenv.Binary(b); err != nil {
				return nil, err
			}
		}
		return stopShared, nil
	})
}

// stopShared stops what the tests and the benchmark started.
func stopShared() error {
	if shared.cancel != nil {
		shared.cancel()
		<-shared.done
	}
	var err error
	if shared.env != nil {
		err = shared.env.Stop()
	}
	return errors.Join(err, stopBench())
}

// sharedEnv starts (once) the four clusters and the background Liqo player.
func sharedEnv(t *testing.T) {
	t.Helper()
	testenv.Require(t)
	shared.once.Do(func() {
		e, err := testenv.Start(context.Background(), testenv.Options{Clusters: looptest.Clusters, CRDs: testenv.LiqoCRDs | testenv.CAPICRDs})
		if err != nil {
			shared.err = err
			return
		}
		shared.env = e
		shared.admin, shared.err = adminClients(e)
		if shared.err != nil {
			return
		}
		shared.player, shared.err = newPlayer(e, shared.admin, &shared.errs)
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		shared.cancel, shared.done = cancel, make(chan struct{})
		go func() {
			defer close(shared.done)
			_ = shared.player.Run(ctx)
		}()
	})
	if shared.err != nil {
		t.Fatalf("starting the test clusters: %v", shared.err)
	}
}

func adminClients(e *testenv.Env) (map[string]client.WithWatch, error) {
	out := map[string]client.WithWatch{}
	for _, c := range e.Clusters {
		wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: e.Scheme})
		if err != nil {
			return nil, err
		}
		out[c.Name] = wc
	}
	return out, nil
}

func newPlayer(e *testenv.Env, admin map[string]client.WithWatch, errs *playerErrors) (*liqoplay.Player, error) {
	var cs []liqoplay.Cluster
	for _, c := range e.Clusters {
		cs = append(cs, liqoplay.Cluster{Name: c.Name, Client: admin[c.Name]})
	}
	// The loop confirms a violation on distinct observations, told apart by the time
	// Liqo stamps a latency with; Liqo restamps it every --ping-update-status-interval
	// (10 s by default), the player here every second, so that a repair is confirmed
	// within a few rounds.
	return liqoplay.New(cs, liqoplay.Options{OnError: errs.add, Refresh: time.Second})
}

// endpoints are the clusters' endpoints as the Liqo backend needs them.
func endpoints(e *testenv.Env) map[string]liqo.Endpoint {
	out := map[string]liqo.Endpoint{}
	for i, c := range e.Clusters {
		out[c.Name] = liqo.Endpoint{APIServer: c.Config.Host, CAData: c.Config.CAData, GatewayAddresses: []string{fmt.Sprintf("192.0.2.%d", i+1)}}
	}
	return out
}

// gatewayPorts gives every pair its own NodePort (the default hash may collide).
func gatewayPorts() func(consumer, provider peering.ClusterID) int32 {
	var mu sync.Mutex
	ports := map[string]int32{}
	return func(c, p peering.ClusterID) int32 {
		mu.Lock()
		defer mu.Unlock()
		k := string(c) + "/" + string(p)
		if _, ok := ports[k]; !ok {
			ports[k] = 30000 + int32(len(ports))
		}
		return ports[k]
	}
}

// scenario is one application on the shared clusters, with fresh Liqo cluster IDs.
type scenario struct {
	t      *testing.T
	ctx    context.Context
	name   string
	app    placement.Application
	topo   *topology.Topology
	player *liqoplay.Player
	// home is the home cluster's client the backends use: faults are injected there.
	home   *faultClient
	others map[string]client.WithWatch
	// view reads the home cluster as admin, for the checks.
	view *act.KubeWorkloads
	// sampler checks that every component keeps a ready replica.
	sampler *looptest.Sampler
	// hold keeps the instance named by a key not ready until the time stored.
	hold sync.Map
}

var scenarios atomic.Int64

// newScenario seeds fresh cluster IDs, creates the application's namespace and its
// templates on home, and starts the workload-ready helper there.
func newScenario(t *testing.T) *scenario {
	t.Helper()
	sharedEnv(t)
	ctx := t.Context()
	s := &scenario{t: t, ctx: ctx, name: fmt.Sprintf("xr-%d", scenarios.Add(1)), topo: looptest.Topology(t), player: shared.player, others: map[string]client.WithWatch{}}
	s.app = looptest.App(s.name)
	if err := s.player.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	for k, v := range looptest.Declared {
		s.player.SetLatency(k[0], k[1], time.Duration(topology.Millis(v)))
	}
	admin := shared.admin["home"]
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.name}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.app.Components {
		if err := admin.Create(ctx, looptest.Template(s.name, c.Name)); err != nil {
			t.Fatal(err)
		}
	}
	stop := testenv.MarkWorkloadsReady(context.Background(), admin, testenv.ReadyOptions{
		Namespace: s.name, Delay: 200 * time.Millisecond, Interval: 50 * time.Millisecond,
		Hold: func(o client.Object) bool {
			until, ok := s.hold.Load(o.GetName())
			return ok && time.Now().Before(until.(time.Time))
		},
		OnError: func(err error) { t.Logf("ready helper: %v", err) },
	})
	t.Cleanup(stop)
	s.home = newFaultClient(shared.admin["home"])
	for _, n := range looptest.Clusters[1:] {
		s.others[n] = shared.admin[n]
	}
	var err error
	if s.view, err = act.NewKubeWorkloads(admin, act.KubeOptions{}); err != nil {
		t.Fatal(err)
	}
	s.sampler = looptest.NewSampler(s.view, s.name, s.app)
	t.Cleanup(s.sampler.Stop)
	return s
}

// newLoop builds the whole stack on the scenario's clients, as a process that starts
// does: the Liqo backend over the four clusters, KubeWorkloads on home, the metrics
// source reading Liqo's Connections, the actor and the loop.
func (s *scenario) newLoop(opts loop.Options) (*loop.Loop, *act.Actor) {
	s.t.Helper()
	clients := map[string]client.WithWatch{"home": s.home.WithWatch}
	maps.Copy(clients, s.others)
	backend, err := liqo.New(clients, liqo.Options{Endpoints: endpoints(shared.env), GatewayNodePort: gatewayPorts()})
	if err != nil {
		s.t.Fatal(err)
	}
	w, err := act.NewKubeWorkloads(s.home.WithWatch, act.KubeOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	actor, err := act.New(w, act.Options{Peering: backend, PollInterval: 100 * time.Millisecond, Timeout: 30 * time.Second,
		Observe: func(e act.StepEvent) { s.sampler.Check("step " + e.Step.String()) }})
	if err != nil {
		s.t.Fatal(err)
	}
	var readers []metricsliqo.Cluster
	for _, n := range looptest.Clusters {
		readers = append(readers, metricsliqo.Cluster{Name: n, Reader: shared.admin[n]})
	}
	src, err := metricsliqo.New(readers, metricsliqo.Options{ClusterIDs: s.player.ClusterIDs()})
	if err != nil {
		s.t.Fatal(err)
	}
	opts.Topology = func(context.Context) (*topology.Topology, error) { return s.topo, nil }
	opts.Sources = []metrics.Source{{Name: "liqo", Latency: src}}
	if opts.Confirm == 0 {
		opts.Confirm = 2
	}
	opts.NoLeaderElection = true
	l, err := loop.New(actor, []placement.Application{s.app}, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return l, actor
}

// read reads the state, and returns an error when something is inconsistent: an
// instance pinned elsewhere than its cluster (or to no Ready virtual node), an
// offloading not Ready for its spec.
func (s *scenario) read() (looptest.State, error) {
	var st looptest.State
	ins, err := s.view.ListInstances(s.ctx, s.name)
	if err != nil {
		return st, err
	}
	var problems []string
	for _, in := range ins {
		st.Instances = append(st.Instances, fmt.Sprintf("%s@%s %d/%d", in.Component, in.Cluster, in.Ready, in.Replicas))
		if in.Cluster == "home" {
			if !in.Pin.NotOnVirtualNodes || len(in.Pin.NodeSelector) > 0 {
				problems = append(problems, fmt.Sprintf("%s@home pinned %+v, want off virtual nodes", in.Component, in.Pin))
			}
			continue
		}
		id := string(s.player.ID(in.Cluster))
		if got := in.Pin.NodeSelector[peering.LabelRemoteClusterID]; got != id || in.Pin.NotOnVirtualNodes {
			problems = append(problems, fmt.Sprintf("%s@%s pinned to %q, want the virtual node of %s (%s)", in.Component, in.Cluster, got, in.Cluster, id))
			continue
		}
		var nodes corev1.NodeList
		if err := shared.admin["home"].List(s.ctx, &nodes, client.MatchingLabels{peering.LabelNodeType: peering.NodeTypeVirtual, peering.LabelRemoteClusterID: id}); err != nil {
			return st, err
		}
		if len(nodes.Items) != 1 {
			problems = append(problems, fmt.Sprintf("%s@%s: %d virtual nodes for %s on home, want 1", in.Component, in.Cluster, len(nodes.Items), id))
		}
	}
	var o offloadingv1beta1.NamespaceOffloading
	err = shared.admin["home"].Get(s.ctx, client.ObjectKey{Namespace: s.name, Name: liqo.OffloadingName}, &o)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return st, err
	default:
		names := map[string]string{}
		for n, id := range s.player.ClusterIDs() {
			names[id] = n
		}
		for _, term := range o.Spec.ClusterSelector.NodeSelectorTerms {
			for _, r := range term.MatchExpressions {
				for _, id := range r.Values {
					n, ok := names[id]
					if !ok {
						n = "unknown:" + id
					}
					st.Offload = append(st.Offload, n)
				}
			}
		}
		slices.Sort(st.Offload)
		if st.Offload == nil {
			st.Offload = []string{}
		}
		if o.Status.OffloadingPhase != offloadingv1beta1.ReadyOffloadingPhaseType || o.Status.ObservedGeneration != o.Generation {
			problems = append(problems, fmt.Sprintf("offloading phase %q (observed generation %d of %d)", o.Status.OffloadingPhase, o.Status.ObservedGeneration, o.Generation))
		}
	}
	if len(problems) > 0 {
		return st, errors.New(strings.Join(problems, "; "))
	}
	return st, nil
}

// waitState waits until the clusters are in want (and consistent), running round
// (if any) between reads.
func (s *scenario) waitState(what string, want looptest.State, timeout time.Duration, round func()) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var got looptest.State
	var err error
	for {
		if round != nil {
			round()
		}
		got, err = s.read()
		if err == nil && got.Equal(want) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: after %v the clusters say %s (%v), want %s\nplayer errors: %s", what, timeout, got, err, want, shared.errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultClient is the home cluster's client with faults injected by a
// controller-runtime interceptor, and a count of writes.
type faultClient struct {
	client.WithWatch
	mu sync.Mutex
	// writes counts the writes that reached the apiserver.
	writes int
	// crashAfter >= 0 fails every write after that many more writes (a process that
	// died); -1 disables it.
	crashAfter int
	// conflictEvery fails one in n updates (Update, Patch, Apply, status updates,
	// and Delete, which act makes with a UID precondition) with a Conflict before it
	// reaches the apiserver; timeoutEvery fails one in n
	// calls (reads and writes, not watches) with context.DeadlineExceeded. Which ones
	// is drawn from a seeded generator: a fixed period would hit the same call of
	// every round.
	conflictEvery, timeoutEvery int
	rnd                         *rand.Rand
	updates, calls              int
	injected                    map[string]int
}

var errCrashed = errors.New("test: the process crashed here")

func newFaultClient(base client.WithWatch) *faultClient {
	f := &faultClient{crashAfter: -1, injected: map[string]int{}, rnd: rand.New(rand.NewPCG(1, 2))}
	f.WithWatch = interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := f.before("get", false, false); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := f.before("list", false, false); err != nil {
				return err
			}
			return c.List(ctx, list, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return f.write("create", false, func() error { return c.Create(ctx, obj, opts...) })
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return f.write("update", true, func() error { return c.Update(ctx, obj, opts...) })
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return f.write("patch", true, func() error { return c.Patch(ctx, obj, patch, opts...) })
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return f.write("apply", true, func() error { return c.Apply(ctx, obj, opts...) })
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return f.write("delete", true, func() error { return c.Delete(ctx, obj, opts...) })
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			return f.write("deleteallof", false, func() error { return c.DeleteAllOf(ctx, obj, opts...) })
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			return f.write("subresource create", false, func() error { return c.SubResource(sub).Create(ctx, obj, subObj, opts...) })
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return f.write("subresource update", true, func() error { return c.SubResource(sub).Update(ctx, obj, opts...) })
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return f.write("subresource patch", true, func() error { return c.SubResource(sub).Patch(ctx, obj, patch, opts...) })
		},
	})
	return f
}

// before decides the fault of a call.
func (f *faultClient) before(op string, write, update bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if write && f.crashAfter >= 0 {
		if f.crashAfter == 0 {
			f.injected["crash"]++
			return fmt.Errorf("%s: %w", op, errCrashed)
		}
	}
	if f.timeoutEvery > 0 && f.rnd.IntN(f.timeoutEvery) == 0 {
		f.injected["timeout "+op]++
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	}
	if update {
		f.updates++
		if f.conflictEvery > 0 && f.rnd.IntN(f.conflictEvery) == 0 {
			f.injected["conflict "+op]++
			return apierrors.NewConflict(schema.GroupResource{Resource: "test"}, op, errors.New("injected by the test"))
		}
	}
	return nil
}

func (f *faultClient) write(op string, update bool, do func() error) error {
	if err := f.before(op, true, update); err != nil {
		return err
	}
	err := do()
	f.mu.Lock()
	f.writes++
	if f.crashAfter > 0 {
		f.crashAfter--
	}
	f.mu.Unlock()
	return err
}

// set changes the faults: crashAfter (-1: none), conflictEvery, timeoutEvery (0:
// none).
func (f *faultClient) set(crashAfter, conflictEvery, timeoutEvery int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashAfter, f.conflictEvery, f.timeoutEvery = crashAfter, conflictEvery, timeoutEvery
}

func (f *faultClient) counts() (writes int, injected map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, maps.Clone(f.injected)
}

// roundsUntil runs rounds until done reports true, and returns the rounds run; it
// fails the test after max rounds. Failed rounds are expected under faults.
func roundsUntil(t *testing.T, l *loop.Loop, max int, done func(*loop.Round) bool) []*loop.Round {
	t.Helper()
	var rs []*loop.Round
	for range max {
		r := l.RunOnce(t.Context())
		rs = append(rs, r)
		if done(r) {
			t.Logf("%s after %d round(s)", r.Decision.Kind, len(rs))
			return rs
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lines []string
	for _, r := range rs {
		lines = append(lines, fmt.Sprintf("round %d: %s (%s) err=%v", r.Number, r.Decision.Kind, r.Decision.Reason, r.Err))
	}
	t.Fatalf("no success after %d rounds:\n%s\nplayer errors: %s", max, strings.Join(lines, "\n"), shared.errs.String())
	return rs
}

// TestLoopRealBackends drives one application from nothing to placed, through one
// migration decided by a latency Liqo measures, to deleted, with the loop running
// (Start) on the real backends and real apiservers. A Hold on the new instance
// keeps the migration's replacement not ready for a while: the old one must keep
// running meanwhile.
func TestLoopRealBackends(t *testing.T) {
	s := newScenario(t)
	var roundsMu sync.Mutex
	var rounds []*loop.Round
	l, actor := s.newLoop(loop.Options{WatchInterval: 300 * time.Millisecond, Interval: 2 * time.Second,
		OnRound: func(r *loop.Round) { roundsMu.Lock(); rounds = append(rounds, r); roundsMu.Unlock() }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Start: %v", err)
			}
			stopped = true
		}
	}
	defer stop()

	start := time.Now()
	s.waitState("placing", looptest.WantPlaced, 60*time.Second, nil)
	t.Logf("placed in %v", time.Since(start).Round(time.Millisecond))
	s.sampler.Arm(true)
	// The placement in force: Plan has nothing to do, Apply writes nothing.
	writes, _ := s.home.counts()
	steps, err := actor.Plan(t.Context(), act.Request{App: s.app, Assignments: placedAssignments(s.app, "w1"), Home: "home"})
	if err != nil || len(steps) != 0 {
		t.Errorf("Plan of the placement in force = %v, %v; want no steps", steps, err)
	}

	// Liqo measures home<->w1 at 20 ms: stream breaks its 12 ms bound to state and
	// must move to w2. Hold w2's new instance not ready for two seconds.
	s.hold.Store(act.InstanceName("stream", "w2"), time.Now().Add(2*time.Second))
	start = time.Now()
	s.player.SetLatency("home", "w1", 20*time.Millisecond)
	s.waitState("migrating", looptest.WantMigrated, 60*time.Second, nil)
	t.Logf("migrated in %v", time.Since(start).Round(time.Millisecond))
	stop()
	s.sampler.Arm(false)
	s.sampler.Assert(t)
	if w, _ := s.home.counts(); w == writes {
		t.Error("the migration wrote nothing")
	}

	roundsMu.Lock()
	var kinds []string
	sawConfirming, sawRepair := false, false
	for _, r := range rounds {
		if errors.Is(r.Err, context.Canceled) {
			continue // the round Start was in when the test stopped it
		}
		if r.Decision.Kind != loop.DecideKeep {
			kinds = append(kinds, fmt.Sprintf("%d:%s", r.Number, r.Decision.Kind))
		}
		if r.Err != nil {
			t.Errorf("round %d (%s) failed: %v", r.Number, r.Trigger, r.Err)
		}
		sawConfirming = sawConfirming || r.Decision.Kind == loop.DecideConfirming
		if r.Decision.Kind == loop.DecideRepair {
			sawRepair = true
			if r.Decision.Moves != 2 || !strings.Contains(r.Decision.Reason, "w1 -> w2") {
				t.Errorf("repair round %d: moves %d, reason %q; want stream's 2 replicas w1 -> w2", r.Number, r.Decision.Moves, r.Decision.Reason)
			}
		}
	}
	roundsMu.Unlock()
	t.Logf("decisions: %v", kinds)
	if !sawConfirming || !sawRepair {
		t.Errorf("decisions %v: want a confirming round, then a repair", kinds)
	}

	// Re-applying the placement in force writes nothing.
	writes, _ = s.home.counts()
	if _, err := actor.Apply(t.Context(), act.Request{App: s.app, Assignments: placedAssignments(s.app, "w2"), Home: "home"}); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.home.counts(); w != writes {
		t.Errorf("re-applying the placement in force wrote %d times", w-writes)
	}

	if err := l.RemoveApplication(t.Context(), s.name); err != nil {
		t.Fatalf("RemoveApplication: %v", err)
	}
	s.waitState("removing", looptest.WantRemoved, 10*time.Second, nil)
}

// placedAssignments is the plan with stream on streamAt.
func placedAssignments(app placement.Application, streamAt string) []placement.Assignment {
	at := map[string]string{"state": "home", "render": "home", "stream": streamAt, "analytics": "w3"}
	var out []placement.Assignment
	for _, c := range app.Components {
		for i := range max(c.Replicas, 1) {
			out = append(out, placement.Assignment{App: app.Metadata.Name, Component: c.Name, Replica: i, Cluster: at[c.Name]})
		}
	}
	return out
}

// succeeded reports a round that carried its decision out.
func succeeded(kinds ...loop.DecisionKind) func(*loop.Round) bool {
	return func(r *loop.Round) bool { return r.Err == nil && slices.Contains(kinds, r.Decision.Kind) }
}

// TestLoopFlakyAPIServer runs the lifecycle with the home cluster's client failing
// some updates with Conflict and some calls with context.DeadlineExceeded: rounds
// fail and are run again, and the clusters end as in the fault-free run, every
// component keeping a ready replica throughout.
func TestLoopFlakyAPIServer(t *testing.T) {
	s := newScenario(t)
	// About 360 calls reach the home cluster: one timeout in 40 calls makes "some
	// of each" below all but certain (one in 100 expects 3.6, drawing none in
	// about 3% of runs; it drew none in both runs tried once act stopped reading
	// the clusters again before phases that follow no step).
	s.home.set(-1, 8, 40)
	l, _ := s.newLoop(loop.Options{})
	roundsUntil(t, l, 300, succeeded(loop.DecidePlace))
	// A failed place leaves the loop unsure; a round that keeps means it is done.
	roundsUntil(t, l, 60, succeeded(loop.DecideKeep))
	s.waitState("placing", looptest.WantPlaced, 10*time.Second, nil)
	s.sampler.Arm(true)

	s.player.SetLatency("home", "w1", 20*time.Millisecond)
	roundsUntil(t, l, 300, succeeded(loop.DecideRepair))
	roundsUntil(t, l, 60, succeeded(loop.DecideKeep))
	s.waitState("migrating", looptest.WantMigrated, 10*time.Second, nil)
	s.sampler.Arm(false)
	s.sampler.Assert(t)

	var err error
	for range 30 {
		if err = l.RemoveApplication(t.Context(), s.name); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("RemoveApplication under faults: %v", err)
	}
	s.waitState("removing", looptest.WantRemoved, 10*time.Second, nil)
	_, injected := s.home.counts()
	t.Logf("faults injected: %v", injected)
	conflicts, timeouts := 0, 0
	for k, n := range injected {
		switch {
		case strings.HasPrefix(k, "conflict"):
			conflicts += n
		case strings.HasPrefix(k, "timeout"):
			timeouts += n
		}
	}
	if conflicts == 0 || timeouts == 0 {
		t.Errorf("injected %d conflicts and %d timeouts, want some of each", conflicts, timeouts)
	}
}

// phase is one phase of the lifecycle for the crash tests: prepare brings the
// clusters to the phase's start with a healthy loop, run drives the phase with a
// loop (until it fails), want is where it ends.
type phase struct {
	name    string
	prepare func(s *scenario)
	run     func(s *scenario, l *loop.Loop, max int) error
	want    looptest.State
	armed   bool // the sampler checks during the phase
}

func lifecyclePhases() []phase {
	place := func(s *scenario, l *loop.Loop, max int) error {
		for range max {
			r := l.RunOnce(s.ctx)
			if r.Err != nil {
				return r.Err
			}
			if st, err := s.read(); err == nil && st.Equal(looptest.WantPlaced) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		st, err := s.read()
		return fmt.Errorf("not placed after %d rounds: the clusters say %s (%v), want %s", max, st, err, looptest.WantPlaced)
	}
	migrate := func(s *scenario, l *loop.Loop, max int) error {
		for range max {
			r := l.RunOnce(s.ctx)
			if r.Err != nil {
				return r.Err
			}
			if st, err := s.read(); err == nil && st.Equal(looptest.WantMigrated) {
				return nil
			}
			time.Sleep(150 * time.Millisecond)
		}
		st, err := s.read()
		return fmt.Errorf("not migrated after %d rounds: the clusters say %s (%v), want %s", max, st, err, looptest.WantMigrated)
	}
	placed := func(s *scenario) {
		l, _ := s.newLoop(loop.Options{})
		if err := place(s, l, 40); err != nil {
			s.t.Fatalf("preparing: %v", err)
		}
	}
	return []phase{
		{name: "place", prepare: func(*scenario) {}, run: place, want: looptest.WantPlaced},
		{name: "migrate", prepare: func(s *scenario) {
			placed(s)
			s.player.SetLatency("home", "w1", 20*time.Millisecond)
		}, run: migrate, want: looptest.WantMigrated, armed: true},
		{name: "remove", prepare: placed, run: func(s *scenario, l *loop.Loop, _ int) error {
			return l.RemoveApplication(s.ctx, s.name)
		}, want: looptest.WantRemoved},
	}
}

// TestLoopCrashAnywhere crashes the loop's process between any two writes of each
// phase of the lifecycle (placing, migrating, removing): every write on the home
// cluster after the k-th fails, for k = 0 .. the number of writes the phase makes
// without faults - 1; then a new loop with a healthy client (a restarted process,
// which reads the placement in force back from the instances) finishes the phase.
// The clusters must end as in the fault-free run, and while migrating every
// component keeps a ready replica, crash and restart included.
func TestLoopCrashAnywhere(t *testing.T) {
	for _, ph := range lifecyclePhases() {
		t.Run(ph.name, func(t *testing.T) {
			// How many writes the phase makes without faults.
			s := newScenario(t)
			ph.prepare(s)
			before, _ := s.home.counts()
			l, _ := s.newLoop(loop.Options{})
			if err := ph.run(s, l, 40); err != nil {
				t.Fatalf("fault-free %s: %v", ph.name, err)
			}
			s.waitState(ph.name, ph.want, 10*time.Second, nil)
			after, _ := s.home.counts()
			n := after - before
			t.Logf("%s writes %d times on home without faults", ph.name, n)
			if n == 0 {
				t.Fatal("the phase wrote nothing")
			}
			for k := range n {
				t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
					s := newScenario(t)
					ph.prepare(s)
					s.sampler.Arm(ph.armed)
					s.home.set(k, 0, 0)
					l, _ := s.newLoop(loop.Options{})
					err := ph.run(s, l, 40)
					if !errors.Is(err, errCrashed) {
						t.Fatalf("the phase with a crash after %d writes returned %v, want the crash", k, err)
					}
					// Restart: a new process, a healthy client.
					s.home.set(-1, 0, 0)
					l, _ = s.newLoop(loop.Options{})
					if err := ph.run(s, l, 40); err != nil {
						t.Fatalf("after the restart: %v", err)
					}
					s.waitState(ph.name+" after the restart", ph.want, 10*time.Second, nil)
					if ph.armed {
						s.sampler.Arm(false)
						s.sampler.Assert(t)
					}
				})
			}
		})
	}
}
