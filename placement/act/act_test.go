package act_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/actfake"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// The tests run each scenario inside a synctest bubble: the world's settle after each
// tick then waits until the Actor's goroutine is blocked, so every run is repeatable.

// fixture is an application on a simulated continuum and an Actor for it.
type fixture struct {
	t   *testing.T
	w   *sim.World
	app placement.Application
	ns  string
	wl  *sim.Workloads
	// work, peer and prov are what Actors are built on (wrapped by crash tests).
	work act.Workloads
	peer peering.Interface
	prov provision.Provisioner
	// inv, when set, checks the invariant after every tick and step.
	inv *invariant
}

func newFixture(t *testing.T, so sim.Options, app placement.Application) *fixture {
	t.Helper()
	if so.Topology == nil {
		so.Topology = topologytest.PaperFig1()
	}
	w, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddApplication(app); err != nil {
		t.Fatal(err)
	}
	wl, err := w.Workloads(app.Home)
	if err != nil {
		t.Fatal(err)
	}
	ns := app.Metadata.Namespace
	if ns == "" {
		ns = app.Metadata.Name
	}
	return &fixture{t: t, w: w, app: app, ns: ns, wl: wl, work: wl, peer: w.Peering(), prov: w.Provisioner()}
}

// actor builds an Actor on the fixture's backends and clock.
func (f *fixture) actor(o act.Options) *act.Actor {
	f.t.Helper()
	o.Peering, o.Provisioner, o.Clock = f.peer, f.prov, f.w.Clock()
	if inv := f.inv; inv != nil {
		observe := o.Observe
		o.Observe = func(ev act.StepEvent) {
			if ev.Done {
				inv.check("after step " + ev.Step.String())
			}
			if observe != nil {
				observe(ev)
			}
		}
	}
	a, err := act.New(f.work, o)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) request(assignments []placement.Assignment) act.Request {
	return act.Request{App: f.app, Assignments: assignments}
}

// apply runs Apply in fake time.
func (f *fixture) apply(a *act.Actor, req act.Request) (*act.Result, error) {
	f.t.Helper()
	var res *act.Result
	err := f.w.Run(f.t.Context(), 6*time.Hour, func(ctx context.Context) error {
		var err error
		res, err = a.Apply(ctx, req)
		return err
	})
	return res, err
}

func (f *fixture) mustApply(a *act.Actor, req act.Request) *act.Result {
	f.t.Helper()
	res, err := f.apply(a, req)
	if err != nil {
		f.t.Fatalf("Apply: %v\nsteps run:\n%s\nworld:\n%s", err, resultString(res), strings.Join(f.w.Log(), "\n"))
	}
	return res
}

// place asks the engine for a plan of the fixture's application on the world's
// topology, with measured RTTs when measure is set.
func (f *fixture) place(current []placement.Assignment, measure bool) *placement.Plan {
	f.t.Helper()
	topo := f.w.Topology()
	snap := &placement.Snapshot{Topology: topo}
	if measure {
		var clusters, sites []string
		for _, c := range topo.Clusters() {
			clusters = append(clusters, c.Name)
		}
		for _, s := range topo.Sites() {
			sites = append(sites, s.Name)
		}
		m, err := metrics.Collect(f.t.Context(), f.w.Sources(), clusters, metrics.CollectOptions{Sites: sites, Now: f.w.Clock().Now})
		if err != nil {
			f.t.Fatal(err)
		}
		snap.RTT = map[placement.Pair]topology.Duration{}
		for p, s := range m.Latency {
			snap.RTT[placement.MakePair(p.A, p.B)] = s.P50
		}
	}
	req := &placement.Request{Apps: []placement.Application{f.app}, Current: current}
	if current != nil {
		req.Mode = placement.Repair
	}
	plan, err := placement.Place(f.t.Context(), snap, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return plan
}

// writes counts the writes to every backend: instances and namespaces written
// (actfake counts real writes only), and the write calls to Liqo and Cluster API.
func (f *fixture) writes() int {
	n := f.wl.Writes()
	for _, c := range f.w.Peering().Calls() {
		switch c.Op {
		case "Peer", "Unpeer", "Offload", "Unoffload":
			n++
		}
	}
	for _, c := range f.w.Provisioner().Calls() {
		switch c.Op {
		case "Create", "Delete", "Scale":
			n++
		}
	}
	return n
}

// state is what the clusters say about the application.
type state struct {
	Instances []string // "component@cluster replicas/ready pin"
	Targets   []string // the offloading's, nil when not offloaded
	Peerings  []string // "consumer->provider" that are ready
}

func (s state) String() string {
	return fmt.Sprintf("instances %v, offloaded to %v, peerings %v", s.Instances, s.Targets, s.Peerings)
}

func pinString(p peering.Pinning) string {
	switch {
	case p.NotOnVirtualNodes && len(p.NodeSelector) == 0:
		return "local"
	case !p.NotOnVirtualNodes && len(p.NodeSelector) == 1 && p.NodeSelector[peering.LabelRemoteClusterID] != "":
		return "remote:" + p.NodeSelector[peering.LabelRemoteClusterID]
	}
	return fmt.Sprintf("odd:%v", p)
}

func (f *fixture) state() state {
	f.t.Helper()
	ctx := context.Background()
	var s state
	ins, err := f.w.Instances(ctx, f.ns)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, in := range ins {
		s.Instances = append(s.Instances, fmt.Sprintf("%s@%s %d/%d %s", in.Component, in.Cluster, in.Replicas, in.Ready, pinString(in.Pin)))
	}
	if o, err := f.w.Peering().GetOffloading(ctx, peering.NamespaceRef{Cluster: f.app.Home, Namespace: f.ns}); err == nil {
		s.Targets = o.Spec.Targets
	}
	ps, err := f.w.Peering().ListPeerings(ctx, peering.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range ps {
		if peering.IsPeered(p) {
			s.Peerings = append(s.Peerings, p.Key.String())
		}
	}
	return s
}

// assertConverged checks that the instances are exactly the plan's, all replicas
// ready and pinned where they run, and the namespace offloaded to exactly the
// plan's remote clusters.
func (f *fixture) assertConverged(assignments []placement.Assignment) {
	f.t.Helper()
	want := map[string]map[string]int32{}
	var remote []string
	for _, a := range assignments {
		if want[a.Component] == nil {
			want[a.Component] = map[string]int32{}
		}
		want[a.Component][a.Cluster]++
		if a.Cluster != f.app.Home && !slices.Contains(remote, a.Cluster) {
			remote = append(remote, a.Cluster)
		}
	}
	slices.Sort(remote)
	ins, err := f.w.Instances(context.Background(), f.ns)
	if err != nil {
		f.t.Fatal(err)
	}
	seen := 0
	for _, in := range ins {
		n := want[in.Component][in.Cluster]
		wantPin := "remote:" + in.Cluster
		if in.Cluster == f.app.Home {
			wantPin = "local"
		}
		switch {
		case n == 0:
			f.t.Errorf("instance %s on %s is not in the plan", in.Component, in.Cluster)
		case in.Replicas != n || in.Ready != n || in.Outdated:
			f.t.Errorf("instance %s on %s: %d replicas, %d ready (outdated %v); the plan has %d", in.Component, in.Cluster, in.Replicas, in.Ready, in.Outdated, n)
		case pinString(in.Pin) != wantPin:
			f.t.Errorf("instance %s on %s is pinned %s, want %s", in.Component, in.Cluster, pinString(in.Pin), wantPin)
		default:
			seen++
		}
	}
	total := 0
	for comp, m := range want {
		total += len(m)
		var ready int32
		for _, n := range m {
			ready += n
		}
		if got := f.w.ReadyReplicas(f.ns, comp); got != int(ready) {
			f.t.Errorf("%s has %d ready replicas, the plan %d", comp, got, ready)
		}
	}
	if seen != total {
		f.t.Errorf("%d of the plan's %d instances are right; state: %s", seen, total, f.state())
	}
	if got := f.state().Targets; !slices.Equal(got, remote) {
		f.t.Errorf("offloaded to %v, want the plan's remote clusters %v", got, remote)
	}
}

func kinds(steps []act.Step) []act.StepKind {
	out := make([]act.StepKind, len(steps))
	for i, s := range steps {
		out[i] = s.Kind
	}
	return out
}

func resultSteps(res *act.Result) []act.Step {
	if res == nil {
		return nil
	}
	out := make([]act.Step, len(res.Steps))
	for i, s := range res.Steps {
		out[i] = s.Step
	}
	return out
}

func resultString(res *act.Result) string {
	var b strings.Builder
	for _, s := range resultSteps(res) {
		b.WriteString("  " + s.String() + "\n")
	}
	return b.String()
}

// sameSteps compares steps without their reasons.
func sameSteps(a, b []act.Step) bool {
	return slices.EqualFunc(a, b, func(x, y act.Step) bool {
		return x.Kind == y.Kind && x.Cluster == y.Cluster && x.Component == y.Component &&
			x.Replicas == y.Replicas && x.From == y.From && slices.Equal(x.Targets, y.Targets)
	})
}

// invariant checks that no component that had a ready replica ever has none.
type invariant struct {
	w     *sim.World
	ns    string
	comps []string

	mu         sync.Mutex
	had        map[string]bool
	violations []string
}

func (f *fixture) watch() *invariant {
	inv := &invariant{w: f.w, ns: f.ns, had: map[string]bool{}}
	for _, c := range f.app.Components {
		inv.comps = append(inv.comps, c.Name)
	}
	f.inv = inv
	cancel := f.w.AfterTick(func(time.Time) { inv.check("after a tick") })
	f.t.Cleanup(cancel)
	inv.check("at the start")
	return inv
}

func (inv *invariant) check(when string) {
	for _, c := range inv.comps {
		n := inv.w.ReadyReplicas(inv.ns, c)
		inv.mu.Lock()
		switch {
		case n > 0:
			inv.had[c] = true
		case inv.had[c]:
			inv.violations = append(inv.violations, fmt.Sprintf("t=+%s %s: %s has no ready replica", inv.w.Elapsed(), when, c))
		}
		inv.mu.Unlock()
	}
}

func (inv *invariant) assert(t *testing.T) {
	t.Helper()
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.violations) > 0 {
		t.Errorf("make-before-break broken %d times, first: %s", len(inv.violations), strings.Join(inv.violations[:min(5, len(inv.violations))], "; "))
	}
}

func xrCollab(t *testing.T, so sim.Options) (*fixture, *placement.Plan) {
	t.Helper()
	f := newFixture(t, so, placementtest.XRCollab())
	plan := f.place(nil, false)
	if !plan.Feasible {
		t.Fatal("xr-collab does not fit paper-fig1")
	}
	return f, plan
}

func TestApplyFromNothingConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, plan := xrCollab(t, sim.Options{})
		a := f.actor(act.Options{})
		req := f.request(plan.Assignments)
		res := f.mustApply(a, req)

		want := []act.StepKind{act.StepNamespace,
			act.StepPeer, act.StepPeer, act.StepWaitPeered, act.StepWaitPeered, // both peerings progress at once
			act.StepOffload, act.StepWaitOffloaded}
		for range f.app.Components {
			want = append(want, act.StepStart)
		}
		for range f.app.Components {
			want = append(want, act.StepWaitReady)
		}
		if got := kinds(resultSteps(res)); !slices.Equal(got, want) {
			t.Errorf("steps run:\n%s\nwant kinds %v", resultString(res), want)
		}
		for _, s := range res.Steps {
			if s.Err != nil {
				t.Errorf("step %s has error %v in a successful Apply", s.Step, s.Err)
			}
		}
		// The waits took fake time: Liqo's virtual node (20 s) and the pods' start.
		var waited time.Duration
		for _, s := range res.Steps {
			if s.Kind == act.StepWaitPeered {
				waited += s.Took
			}
		}
		if waited < 20*time.Second {
			t.Errorf("the peering waits took %s of fake time, want at least the model's 20 s", waited)
		}
		f.assertConverged(plan.Assignments)

		// In force: nothing to do, nothing written.
		planCalls := len(f.w.Peering().Calls())
		steps, err := a.Plan(t.Context(), req)
		if err != nil || len(steps) != 0 {
			t.Fatalf("Plan after Apply = %v, %v; want no steps", steps, err)
		}
		planReads := len(f.w.Peering().Calls()) - planCalls
		before, peerCalls := f.writes(), len(f.w.Peering().Calls())
		res = f.mustApply(a, req)
		if len(res.Steps) != 0 || f.writes() != before {
			t.Errorf("a second Apply ran %d steps and wrote %d times:\n%s", len(res.Steps), f.writes()-before, resultString(res))
		}
		for _, c := range f.w.Peering().Calls()[peerCalls:] {
			if !strings.HasPrefix(c.Op, "Get") && !strings.HasPrefix(c.Op, "List") && !strings.HasPrefix(c.Op, "Watch") {
				t.Errorf("a second Apply called %s on Liqo", c.Op)
			}
		}
		// No phase ran a step: the clusters are read once, as by Plan, not once per
		// phase.
		if reads := len(f.w.Peering().Calls()) - peerCalls; planReads == 0 || reads != planReads {
			t.Errorf("a second Apply made %d calls to Liqo, want the %d of one reading (Plan's)", reads, planReads)
		}
		for _, c := range f.w.Provisioner().Calls() {
			if c.Op != "List" && c.Op != "Get" && c.Op != "Watch" {
				t.Errorf("Apply without Provision called %s on Cluster API", c.Op)
			}
		}
		f.assertConverged(plan.Assignments)
	})
}

func TestPlanIsADryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, plan := xrCollab(t, sim.Options{})
		a := f.actor(act.Options{})
		req := f.request(plan.Assignments)
		planned, err := a.Plan(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Plan(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if n := f.writes(); n != 0 {
			t.Errorf("Plan wrote %d times", n)
		}
		if st := f.state(); len(st.Instances) != 0 || st.Targets != nil || len(st.Peerings) != 0 {
			t.Errorf("Plan changed the clusters: %s", st)
		}
		res := f.mustApply(a, req)
		if got := resultSteps(res); !sameSteps(planned, got) {
			var b strings.Builder
			for _, s := range planned {
				b.WriteString("  " + s.String() + "\n")
			}
			t.Errorf("Plan listed:\n%sApply ran:\n%s", b.String(), resultString(res))
		}
		for _, s := range planned {
			if s.Kind != act.StepWaitOffloaded && s.Reason == "" {
				t.Errorf("step %+v has no reason", s)
			}
		}
	})
}

// migrate applies the first plan, then makes the engine move session-sync off
// gva-edge (the link to mil-edge degrades past the 15 ms flow bound), and returns
// both plans.
func migrate(t *testing.T, f *fixture, first *placement.Plan) *placement.Plan {
	t.Helper()
	f.mustApply(f.actor(act.Options{}), f.request(first.Assignments))
	f.assertConverged(first.Assignments)
	if err := f.w.Apply(sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	second := f.place(first.Assignments, true)
	if !second.Feasible || second.Moves == 0 || slices.Equal(first.Assignments, second.Assignments) {
		t.Fatalf("the degradation moved nothing: %+v", second.Assignments)
	}
	return second
}

func TestMigrationIsMakeBeforeBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, first := xrCollab(t, sim.Options{})
		second := migrate(t, f, first)
		inv := f.watch()
		res := f.mustApply(f.actor(act.Options{}), f.request(second.Assignments))
		inv.assert(t)
		f.assertConverged(second.Assignments)
		// The new instance started and was waited for before the old one stopped.
		order := kinds(resultSteps(res))
		start, wait, stop := slices.Index(order, act.StepStart), slices.Index(order, act.StepWaitReady), slices.Index(order, act.StepStop)
		if start < 0 || wait < start || stop < wait {
			t.Errorf("steps of the migration:\n%s\nwant start, wait-ready, then stop", resultString(res))
		}
		t.Logf("migration:\n%s", resultString(res))
	})
}

// A component moves between remote clusters: the namespace is offloaded to both while
// it moves, then narrowed; its two replicas keep at least one ready throughout.
func TestMigrationBetweenRemoteClusters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := placementtest.NewApp("cache").Component("cache", "1", "1Gi", placementtest.Replicas(2)).Build()
		app.Home = "fra-cloud"
		f := newFixture(t, sim.Options{}, app)
		at := func(cluster string) []placement.Assignment {
			return []placement.Assignment{{App: "cache", Component: "cache", Replica: 0, Cluster: cluster}, {App: "cache", Component: "cache", Replica: 1, Cluster: cluster}}
		}
		f.mustApply(f.actor(act.Options{}), f.request(at("gva-venue")))
		f.assertConverged(at("gva-venue"))
		inv := f.watch()
		res := f.mustApply(f.actor(act.Options{}), f.request(at("mil-edge")))
		inv.assert(t)
		f.assertConverged(at("mil-edge"))
		got := resultSteps(res)
		var offload, narrow *act.Step
		for i := range got {
			switch got[i].Kind {
			case act.StepOffload:
				offload = &got[i]
			case act.StepNarrow:
				narrow = &got[i]
			}
		}
		if offload == nil || !slices.Equal(offload.Targets, []string{"gva-venue", "mil-edge"}) || narrow == nil || !slices.Equal(narrow.Targets, []string{"mil-edge"}) {
			t.Errorf("steps:\n%s\nwant a widening offload to both clusters, then a narrowing to mil-edge", resultString(res))
		}
	})
}

// When the new instance does not become ready in time, Apply fails with ErrNotReady
// and the old instance keeps running.
func TestMigrationTimeoutKeepsTheOldInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, first := xrCollab(t, sim.Options{StartDelay: time.Hour, Tick: 10 * time.Second})
		f.mustApply(f.actor(act.Options{Timeout: 2 * time.Hour}), f.request(first.Assignments))
		if err := f.w.Apply(sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		second := f.place(first.Assignments, true)
		before := f.state()
		inv := f.watch()
		res, err := f.apply(f.actor(act.Options{Timeout: 2 * time.Minute}), f.request(second.Assignments))
		if !errors.Is(err, act.ErrNotReady) {
			t.Fatalf("Apply with replicas that take an hour = %v, want ErrNotReady", err)
		}
		if last := res.Steps[len(res.Steps)-1]; last.Kind != act.StepWaitReady || !errors.Is(last.Err, act.ErrNotReady) {
			t.Errorf("last step = %s (%v), want the failed wait-ready", last.Step, last.Err)
		}
		for _, s := range res.Steps {
			if s.Kind == act.StepStop {
				t.Errorf("Apply stopped %s on %s although its replacement never became ready", s.Component, s.Cluster)
			}
		}
		inv.assert(t)
		after := f.state()
		for _, in := range before.Instances {
			if !slices.Contains(after.Instances, in) {
				t.Errorf("instance %q changed or went away: before %v, after %v", in, before.Instances, after.Instances)
			}
		}
		if !strings.Contains(err.Error(), "old instances keep running") {
			t.Errorf("error %q does not say the old instances keep running", err)
		}
	})
}

// crasher fails the k-th write call across every backend (k = 0: none) and counts
// them.
type crasher struct {
	mu     sync.Mutex
	k, n   int
	writes []string
}

var errCrash = errors.New("crash")

func (c *crasher) write(what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.writes = append(c.writes, what)
	if c.n == c.k {
		return fmt.Errorf("write %d (%s): %w", c.n, what, errCrash)
	}
	return nil
}

func (c *crasher) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.k = -1
}

// crashPeering fails the crasher's write among Liqo's writes; with after, once the
// write happened (the response is lost).
type crashPeering struct {
	peering.Interface
	c     *crasher
	after bool
}

func (p crashPeering) do(what string, call func() error) error {
	if !p.after {
		if err := p.c.write(what); err != nil {
			return err
		}
		return call()
	}
	err := call()
	if cerr := p.c.write(what); cerr != nil {
		return cerr
	}
	return err
}

func (p crashPeering) Peer(ctx context.Context, r peering.PeerRequest) error {
	return p.do("peer "+r.Key.String(), func() error { return p.Interface.Peer(ctx, r) })
}

func (p crashPeering) Unpeer(ctx context.Context, k peering.Key) error {
	return p.do("unpeer "+k.String(), func() error { return p.Interface.Unpeer(ctx, k) })
}

func (p crashPeering) Offload(ctx context.Context, s peering.OffloadSpec) error {
	return p.do(fmt.Sprintf("offload %v", s.Targets), func() error { return p.Interface.Offload(ctx, s) })
}

func (p crashPeering) Unoffload(ctx context.Context, r peering.NamespaceRef) error {
	return p.do("unoffload", func() error { return p.Interface.Unoffload(ctx, r) })
}

// crashProvisioner does the same for Cluster API.
type crashProvisioner struct {
	*sim.Provisioner
	c     *crasher
	after bool
}

func (p crashProvisioner) do(what string, call func() error) error {
	return crashPeering{c: p.c, after: p.after}.do(what, call)
}

func (p crashProvisioner) Create(ctx context.Context, s provision.ClusterSpec) error {
	return p.do("create "+s.Name, func() error { return p.Provisioner.Create(ctx, s) })
}

func (p crashProvisioner) Delete(ctx context.Context, r provision.Ref) error {
	return p.do("delete "+r.Name, func() error { return p.Provisioner.Delete(ctx, r) })
}

func (p crashProvisioner) Scale(ctx context.Context, r provision.Ref, workers int32) error {
	return p.do("scale "+r.Name, func() error { return p.Provisioner.Scale(ctx, r, workers) })
}

// arm wraps the fixture's backends so that they crash at the crasher's write.
func (f *fixture) arm(c *crasher, after bool) {
	f.work = actfake.Wrap(f.wl, actfake.Faults{After: after, Err: func(call actfake.Call) error {
		if call.Op == "ListInstances" {
			return nil
		}
		return c.write(call.String())
	}})
	f.peer = crashPeering{Interface: f.w.Peering(), c: c, after: after}
	f.prov = crashProvisioner{Provisioner: f.w.Provisioner(), c: c, after: after}
}

// crashScenario sets a fixture up and returns the request to apply.
type crashScenario struct {
	name string
	// removes: the request removes the application (the invariant does not apply).
	removes bool
	// setup builds the world and applies what is in force before the request.
	setup func(t *testing.T) (*fixture, act.Request)
}

func crashScenarios() []crashScenario {
	return []crashScenario{
		{name: "from-nothing", setup: func(t *testing.T) (*fixture, act.Request) {
			f, plan := xrCollab(t, sim.Options{})
			return f, f.request(plan.Assignments)
		}},
		{name: "migration", setup: func(t *testing.T) (*fixture, act.Request) {
			f, first := xrCollab(t, sim.Options{})
			second := migrate(t, f, first)
			return f, f.request(second.Assignments)
		}},
		{name: "remote-to-remote", setup: func(t *testing.T) (*fixture, act.Request) {
			app := placementtest.NewApp("cache").Component("cache", "1", "1Gi", placementtest.Replicas(2)).Component("db", "1", "1Gi").Build()
			app.Home = "fra-cloud"
			f := newFixture(t, sim.Options{}, app)
			f.mustApply(f.actor(act.Options{}), f.request([]placement.Assignment{
				{App: "cache", Component: "cache", Replica: 0, Cluster: "gva-venue"}, {App: "cache", Component: "cache", Replica: 1, Cluster: "gva-edge"},
				{App: "cache", Component: "db", Cluster: "fra-cloud"}}))
			return f, f.request([]placement.Assignment{
				{App: "cache", Component: "cache", Replica: 0, Cluster: "mil-edge"}, {App: "cache", Component: "cache", Replica: 1, Cluster: "mil-edge"},
				{App: "cache", Component: "db", Cluster: "gva-edge"}})
		}},
		{name: "to-home", setup: func(t *testing.T) (*fixture, act.Request) {
			app := placementtest.NewApp("cache").Component("cache", "1", "1Gi", placementtest.Replicas(2)).Home("fra-cloud").Build()
			f := newFixture(t, sim.Options{}, app)
			f.mustApply(f.actor(act.Options{}), f.request([]placement.Assignment{
				{App: "cache", Component: "cache", Replica: 0, Cluster: "gva-venue"}, {App: "cache", Component: "cache", Replica: 1, Cluster: "mil-edge"}}))
			return f, f.request([]placement.Assignment{
				{App: "cache", Component: "cache", Replica: 0, Cluster: "fra-cloud"}, {App: "cache", Component: "cache", Replica: 1, Cluster: "fra-cloud"}})
		}},
		{name: "provision", setup: func(t *testing.T) (*fixture, act.Request) {
			f, req := provisionFixture(t)
			return f, req
		}},
		{name: "remove", removes: true, setup: func(t *testing.T) (*fixture, act.Request) {
			f, plan := xrCollab(t, sim.Options{})
			f.mustApply(f.actor(act.Options{}), f.request(plan.Assignments))
			return f, f.request(nil)
		}},
	}
}

// An Apply that crashes at any write, rerun without faults, converges to the state
// of an uninterrupted Apply, and no component that had a ready replica loses its
// last one on the way.
func TestCrashAtAnyWriteResumes(t *testing.T) {
	for _, sc := range crashScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var want state
			var n int
			synctest.Test(t, func(t *testing.T) {
				f, req := sc.setup(t)
				c := &crasher{}
				f.arm(c, false)
				f.mustApply(f.actor(act.Options{}), req)
				want, n = f.state(), c.n
				t.Logf("%d writes: %v", n, c.writes)
			})
			if n == 0 {
				t.Fatal("the uninterrupted Apply made no write")
			}
			for k := 1; k <= n; k++ {
				for _, after := range []bool{false, true} {
					name := fmt.Sprintf("write-%d", k)
					if after {
						name += "-lost-response"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							f, req := sc.setup(t)
							var inv *invariant
							if !sc.removes {
								inv = f.watch()
							}
							c := &crasher{k: k}
							f.arm(c, after)
							res, err := f.apply(f.actor(act.Options{}), req)
							if !errors.Is(err, errCrash) {
								t.Fatalf("Apply crashing at write %d = %v, want the crash\n%s", k, err, resultString(res))
							}
							c.disarm()
							f.mustApply(f.actor(act.Options{}), req)
							if got := f.state(); !slices.Equal(got.Instances, want.Instances) || !slices.Equal(got.Targets, want.Targets) || !slices.Equal(got.Peerings, want.Peerings) {
								t.Errorf("after a crash at write %d (%s) and a rerun:\n got  %s\n want %s", k, c.writes[k-1], got, want)
							}
							if inv != nil {
								inv.assert(t)
							}
							// Resumed: a further Apply has nothing left to do.
							if steps, err := f.actor(act.Options{}).Plan(t.Context(), req); err != nil || len(steps) != 0 {
								t.Errorf("Plan after the rerun = %v, %v", steps, err)
							}
						})
					})
				}
			}
		})
	}
}

var edgeSpec = provision.ClusterSpec{
	Name: "gva-edge-2", Distribution: provision.K3s, KubernetesVersion: "v1.33.1", Workers: 2,
	PodCIDRs: []string{"10.70.0.0/16"}, ServiceCIDRs: []string{"10.71.0.0/16"},
	Labels: provision.Labels{Owner: "operator-b", Tier: "edge", Region: "eu-west"},
}

func provisionFixture(t *testing.T) (*fixture, act.Request) {
	t.Helper()
	app := placementtest.NewApp("burst").Component("worker", "2", "4Gi", placementtest.Replicas(2)).Build()
	app.Home = "fra-cloud"
	f := newFixture(t, sim.Options{Regions: map[string]topology.Location{"eu-west": {Lat: 46.19, Lon: 6.14}}}, app)
	req := f.request([]placement.Assignment{{App: "burst", Component: "worker", Replica: 0, Cluster: "gva-edge-2"}, {App: "burst", Component: "worker", Replica: 1, Cluster: "gva-edge-2"}})
	req.Provision = []provision.ClusterSpec{edgeSpec}
	return f, req
}

func TestProvisionThenPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, req := provisionFixture(t)
		a := f.actor(act.Options{})
		planned, err := a.Plan(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		want := []act.StepKind{act.StepCreateCluster, act.StepWaitCluster, act.StepNamespace, act.StepPeer, act.StepWaitPeered,
			act.StepOffload, act.StepWaitOffloaded, act.StepStart, act.StepWaitReady}
		if got := kinds(planned); !slices.Equal(got, want) {
			t.Errorf("planned %v, want %v", got, want)
		}
		res := f.mustApply(a, req)
		if !sameSteps(planned, resultSteps(res)) {
			t.Errorf("Apply ran:\n%s", resultString(res))
		}
		for _, s := range res.Steps {
			if s.Kind == act.StepWaitCluster && s.Took < time.Minute {
				t.Errorf("waiting for the new cluster took %s of fake time, want the model's minutes", s.Took)
			}
		}
		c, err := f.w.Provisioner().Get(t.Context(), edgeSpec.Ref())
		if err != nil || !provision.IsReady(c) || c.Spec.Distribution != provision.K3s {
			t.Fatalf("cluster = %+v, %v; want a ready k3s cluster", c, err)
		}
		if _, ok := f.w.Topology().Cluster("gva-edge-2"); !ok {
			t.Error("the provisioned cluster is not in the topology")
		}
		f.assertConverged(req.Assignments)
		if st := f.state(); !slices.Contains(st.Peerings, "fra-cloud->gva-edge-2") {
			t.Errorf("peerings %v, want fra-cloud->gva-edge-2", st.Peerings)
		}
		// Again: nothing to do.
		before := f.writes()
		if res := f.mustApply(a, req); len(res.Steps) != 0 || f.writes() != before {
			t.Errorf("a second Apply ran:\n%s", resultString(res))
		}
		// More workers: the cluster scales, and is waited for.
		req.Provision[0].Workers = 3
		res = f.mustApply(a, req)
		if got := kinds(resultSteps(res)); !slices.Equal(got, []act.StepKind{act.StepScaleCluster, act.StepWaitCluster}) {
			t.Errorf("scaling ran:\n%s", resultString(res))
		}
		if c, _ := f.w.Topology().Cluster("gva-edge-2"); c.Capacity.MilliCPU() != 12000 {
			t.Errorf("capacity after scaling to 3 workers = %d mCPU, want 12000\n%s", c.Capacity.MilliCPU(), strings.Join(f.w.Log(), "\n"))
		}
	})
}

func TestRemoveStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, plan := xrCollab(t, sim.Options{})
		a := f.actor(act.Options{})
		f.mustApply(a, f.request(plan.Assignments))
		peerings := f.state().Peerings
		var res *act.Result
		err := f.w.Run(t.Context(), time.Hour, func(ctx context.Context) error {
			var err error
			res, err = a.Remove(ctx, f.request(nil))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := kinds(resultSteps(res))
		want := slices.Repeat([]act.StepKind{act.StepStop}, len(f.app.Components))
		want = append(want, act.StepUnoffload)
		if !slices.Equal(got, want) {
			t.Errorf("Remove ran:\n%s\nwant %v", resultString(res), want)
		}
		st := f.state()
		if len(st.Instances) != 0 || st.Targets != nil {
			t.Errorf("after Remove: %s; want no instances, no offloading", st)
		}
		if !slices.Equal(st.Peerings, peerings) {
			t.Errorf("Remove changed the peerings %v -> %v (other applications may use them)", peerings, st.Peerings)
		}
		before := f.writes()
		if res, err := a.Remove(t.Context(), f.request(nil)); err != nil || len(res.Steps) != 0 || f.writes() != before {
			t.Errorf("a second Remove = %v, %v", resultString(res), err)
		}
		// Apply with no assignments is Remove.
		if steps, err := a.Plan(t.Context(), f.request(nil)); err != nil || len(steps) != 0 {
			t.Errorf("Plan with no assignments after Remove = %v, %v", steps, err)
		}
	})
}

func TestInvalidRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, plan := xrCollab(t, sim.Options{})
		a := f.actor(act.Options{})
		noPeering, err := act.New(f.wl, act.Options{Clock: f.w.Clock()})
		if err != nil {
			t.Fatal(err)
		}
		assign := func(edit func([]placement.Assignment) []placement.Assignment) []placement.Assignment {
			return edit(slices.Clone(plan.Assignments))
		}
		homeless := f.app
		homeless.Home = ""
		for _, tc := range []struct {
			name  string
			actor *act.Actor
			req   act.Request
			field string
		}{
			{"unplaced", a, f.request(assign(func(as []placement.Assignment) []placement.Assignment { as[1].Cluster = ""; return as })), "assignments[1]"},
			{"unknown component", a, f.request(assign(func(as []placement.Assignment) []placement.Assignment { as[2].Component = "nope"; return as })), "assignments[2]"},
			{"missing replica", a, f.request(assign(func(as []placement.Assignment) []placement.Assignment { return as[1:] })), "render-geneva has 0 of its 1"},
			{"bad cluster", a, f.request(assign(func(as []placement.Assignment) []placement.Assignment { as[0].Cluster = "Not_A_Label"; return as })), "assignments[0].cluster"},
			{"missing home", a, act.Request{App: homeless}, "home"},
			{"remote without peering", noPeering, f.request(plan.Assignments), "options.peering"},
			{"provision without provisioner", noPeering, act.Request{App: f.app, Provision: []provision.ClusterSpec{edgeSpec}}, "options.provisioner"},
			{"bad provision spec", a, act.Request{App: f.app, Provision: []provision.ClusterSpec{{Name: "x"}}}, "request.provision[0]"},
		} {
			_, perr := tc.actor.Plan(t.Context(), tc.req)
			_, aerr := tc.actor.Apply(t.Context(), tc.req)
			for _, err := range []error{perr, aerr} {
				if !errors.Is(err, act.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
					t.Errorf("%s: %v; want ErrInvalid naming %q", tc.name, err, tc.field)
				}
			}
		}
		if _, err := a.Remove(t.Context(), act.Request{App: homeless}); !errors.Is(err, act.ErrInvalid) || !strings.Contains(err.Error(), "home") {
			t.Errorf("Remove without a home = %v, want ErrInvalid naming home", err)
		}
		if _, err := act.New(nil, act.Options{}); !errors.Is(err, act.ErrInvalid) {
			t.Errorf("New(nil) = %v, want ErrInvalid", err)
		}
		if n := f.writes(); n != 0 {
			t.Errorf("invalid requests wrote %d times", n)
		}
	})
}

// A target whose remote namespace cannot be created (a namespace of that name exists
// there) fails the Apply that adds it, and must not block the Applies that give it
// up: going back to the plan in force, or removing the application.
func TestFailedTargetDoesNotBlockLaterApplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := placementtest.NewApp("cache").Component("cache", "1", "1Gi").Home("fra-cloud").Build()
		f := newFixture(t, sim.Options{}, app)
		on := func(cluster string) []placement.Assignment {
			return []placement.Assignment{{App: "cache", Component: "cache", Cluster: cluster}}
		}
		a := f.actor(act.Options{Timeout: 5 * time.Minute})
		f.mustApply(a, f.request(on("gva-edge")))
		inv := f.watch()
		f.w.Peering().FailRemoteNamespaces("mil-edge", true)
		res, err := f.apply(a, f.request(on("mil-edge")))
		if !errors.Is(err, act.ErrNotReady) {
			t.Fatalf("Apply to a cluster whose remote namespace fails = %v, want ErrNotReady\n%s", err, resultString(res))
		}
		if got := f.w.ReadyReplicas(f.ns, "cache"); got != 1 {
			t.Errorf("ready replicas after the failed Apply = %d, want the old one", got)
		}
		res, err = f.apply(a, f.request(on("gva-edge")))
		if err != nil {
			t.Fatalf("going back to the plan in force: %v\n%s", err, resultString(res))
		}
		f.assertConverged(on("gva-edge"))
		if _, err := f.apply(a, f.request(on("mil-edge"))); !errors.Is(err, act.ErrNotReady) {
			t.Fatalf("Apply to the failing cluster again = %v, want ErrNotReady", err)
		}
		inv.assert(t)
		err = f.w.Run(t.Context(), time.Hour, func(ctx context.Context) error {
			res, err = a.Remove(ctx, f.request(nil))
			return err
		})
		if err != nil {
			t.Fatalf("Remove: %v\n%s", err, resultString(res))
		}
		if st := f.state(); len(st.Instances) != 0 || st.Targets != nil {
			t.Errorf("after Remove: %s", st)
		}
	})
}
