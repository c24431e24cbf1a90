package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/peeringfake"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
	"github.com/continuum-xr/continuum/topology"
)

// Defaults of Options.
var (
	// DefaultStart is the clock's time at the world's start: a Monday morning.
	DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	// DefaultNodeCapacity is what one machine of a provisioned cluster adds to its
	// capacity: 4 CPUs and 16 GiB (the seed paper's VMs, doubled).
	DefaultNodeCapacity = topology.ResourceList{
		topology.ResourceCPU:    resource.MustParse("4"),
		topology.ResourceMemory: resource.MustParse("16Gi"),
	}
)

// Defaults of Options, continued.
const (
	DefaultTick           = time.Second
	DefaultSettle         = time.Millisecond
	DefaultAccessRadiusKm = 100
	DefaultUnlocatedRTT   = 20 * time.Millisecond
	// DefaultOwner owns a provisioned cluster whose spec has no owner label.
	DefaultOwner = "provisioned"
	// DefaultRunLimit bounds Run when its limit is zero.
	DefaultRunLimit = 24 * time.Hour
)

// Options configures New. Only Topology is required; the zero value of every other
// field means the default documented on it.
type Options struct {
	// Topology is the continuum at the start (e.g. topologytest.PaperFig1()): its
	// clusters are known to Peering() and can be home clusters; its links' RTTs are
	// the true ones until an event changes them.
	Topology *topology.Topology
	// Start is the clock's time at the start; zero means DefaultStart.
	Start time.Time
	// Seed seeds every random choice (provisioning jitter, latency noise): the same
	// seed and script give the same world.
	Seed uint64
	// Tick is the increment of Step and Run: events happen at their exact time, but
	// provisioned clusters join the topology, and AfterTick hooks run, once per
	// tick. Zero means DefaultTick.
	Tick time.Duration
	// Settle is the real time Step waits after each tick, so that goroutines woken
	// by the fake clock (an Actor's waits, a loop) catch up before time moves on.
	// Zero means DefaultSettle; negative means only runtime.Gosched. Inside a
	// testing/synctest bubble the wait costs nothing and lasts until every other
	// goroutine of the bubble is blocked, which makes stepping deterministic.
	Settle time.Duration

	// ProvisionModel is provisionfake's provisioning-time model; zero means
	// provisionfake.PaperModel. NodeQuota is provisionfake's Options.NodeQuota.
	ProvisionModel provisionfake.Model
	NodeQuota      int
	// PeeringModel is peeringfake's model of Liqo's steps; zero means
	// peeringfake.DefaultModel.
	PeeringModel peeringfake.Model
	// StartDelay is actfake's: how long replicas take to become ready after a write
	// (zero: actfake.DefaultStartDelay; negative: at once).
	StartDelay time.Duration

	// DescribeCluster says how a cluster provisioned through Provisioner() appears
	// in the topology once it is ready (and again after a scale). Nil means the
	// default: owner, tier and region from the spec's labels (owner DefaultOwner
	// and tier edge when missing), the location of its region in Regions, capacity
	// NodeCapacity per worker (per control-plane machine when there are no
	// workers), UDP exposure for the edge tier, a link to every other cluster with
	// the geo estimate of the distance (UnlocatedRTT when either is not located),
	// and an access link from every located site within AccessRadiusKm. A custom
	// function's links must name clusters of the topology; sites get no access
	// links to the cluster from it (add them with MoveSite). It is called with the
	// world's lock held: it must not call the World.
	DescribeCluster func(spec provision.ClusterSpec) (topology.Cluster, error)
	// Regions locates the regions of provisioned clusters (label
	// continuum.xr/region) for the default DescribeCluster.
	Regions map[string]topology.Location
	// NodeCapacity is the capacity of one machine for the default DescribeCluster;
	// nil means DefaultNodeCapacity.
	NodeCapacity topology.ResourceList
	// AccessRadiusKm: sites this close to a provisioned cluster get an access link
	// to it (default DescribeCluster); zero means DefaultAccessRadiusKm, negative
	// none.
	AccessRadiusKm float64
	// UnlocatedRTT is the RTT of a provisioned cluster's links when either end has no
	// location (default DescribeCluster); zero means DefaultUnlocatedRTT.
	UnlocatedRTT time.Duration

	// Noise is the relative jitter of measured latency, in [0, 1): a sample's p50 is
	// the true RTT times 1 + Noise x u, u in [0, 1) drawn from the seed, the pair and
	// the time (never below the true RTT, so never below the physical floor); p90
	// and p99 add 1.28 and 2.33 times Noise x RTT. Zero means exact samples.
	Noise float64
	// HideFailed leaves failed clusters out of Topology() (an inventory fed by health
	// checks); by default they stay and only their metrics and instances fail.
	HideFailed bool
}

// World is a simulated continuum: the fakes of provisioning, peering and workloads
// and the metrics of the clusters, consistent with each other on one fake clock,
// plus a script of events. Make it with New. It is safe for concurrent use; Step and
// Run run one at a time.
type World struct {
	opts  Options
	start time.Time
	clk   *clocktesting.FakeClock
	prov  *Provisioner
	peer  *peeringfake.Fake

	stepMu sync.Mutex // one Step or Run at a time

	// hmu guards the health and membership the Runnable hooks read. It is a leaf:
	// nothing is called while it is held.
	hmu     sync.RWMutex
	down    map[string]bool
	members map[string]bool

	mu          sync.Mutex
	base        topology.Spec // declared spec: initial, provisioned clusters, sites
	declared    *topology.Topology
	truth       *topology.Topology // nil when every cluster is down
	overrides   map[metrics.Pair]topology.Duration
	load        map[string]topology.ResourceList
	provisioned map[string]int32 // name -> workers described
	rejected    map[string]string
	apps        map[string]app // by namespace
	homes       map[string]*Workloads
	events      []scheduled
	seq         int
	log         []string
	pending     []Change
	lastReady   map[string]string // namespace/component -> readiness line
	subs        map[int]func(Change)
	hooks       map[int]func(time.Time)
	nextID      int
}

type scheduled struct {
	at  time.Time
	seq int
	ev  Event
}

type app struct {
	placement.Application
	home string
}

// New builds a world from opts. Invalid options give an error wrapping ErrInvalid
// that names the field.
func New(opts Options) (*World, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	clk := clocktesting.NewFakeClock(opts.Start)
	pf, err := provisionfake.New(provisionfake.Options{Clock: clk, Model: opts.ProvisionModel, Seed: opts.Seed, NodeQuota: opts.NodeQuota})
	if err != nil {
		return nil, fmt.Errorf("sim: options.provisionModel: %w: %w", err, ErrInvalid)
	}
	topo := opts.Topology
	ids := map[string]peering.ClusterID{}
	lat := map[peering.Key]time.Duration{}
	for i := range topo.NumClusters() {
		a := topo.ClusterAt(i).Name
		ids[a] = ""
		for j := i + 1; j < topo.NumClusters(); j++ {
			if rtt, ok := topo.RTTAt(i, j); ok && rtt > 0 {
				lat[peering.Key{Consumer: a, Provider: topo.ClusterAt(j).Name}] = rtt.Std()
			}
		}
	}
	peer, err := peeringfake.New(peeringfake.Options{Clusters: ids, Clock: clk, Model: opts.PeeringModel, Latency: lat})
	if err != nil {
		return nil, fmt.Errorf("sim: options.peeringModel: %w: %w", err, ErrInvalid)
	}
	w := &World{
		opts: opts, start: opts.Start, clk: clk, peer: peer,
		down: map[string]bool{}, members: map[string]bool{},
		base:        topo.Spec(),
		overrides:   map[metrics.Pair]topology.Duration{},
		load:        map[string]topology.ResourceList{},
		provisioned: map[string]int32{},
		rejected:    map[string]string{},
		apps:        map[string]app{},
		homes:       map[string]*Workloads{},
		lastReady:   map[string]string{},
		subs:        map[int]func(Change){},
		hooks:       map[int]func(time.Time){},
	}
	w.prov = &Provisioner{Fake: pf, w: w}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.rebuild(); err != nil {
		return nil, fmt.Errorf("sim: options.topology: %w: %w", err, ErrInvalid)
	}
	name := topo.Name()
	if name == "" {
		name = "unnamed"
	}
	w.log = append(w.log, fmt.Sprintf("%s world %s: %d clusters, %d sites, seed %d", stamp(0), name, topo.NumClusters(), topo.NumSites(), opts.Seed))
	return w, nil
}

func (o *Options) defaults() error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if o.Topology == nil {
		bad("topology: required (e.g. topologytest.PaperFig1())")
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	switch {
	case o.Tick < 0:
		bad("tick: must be >= 0, got %s", o.Tick)
	case o.Tick == 0:
		o.Tick = DefaultTick
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.NodeQuota < 0 {
		bad("nodeQuota: must be >= 0, got %d", o.NodeQuota)
	}
	if o.NodeCapacity == nil {
		o.NodeCapacity = DefaultNodeCapacity
	}
	o.NodeCapacity = o.NodeCapacity.DeepCopy()
	for _, n := range slices.Sorted(maps.Keys(o.NodeCapacity)) {
		if q := o.NodeCapacity[n]; q.Sign() < 0 {
			bad("nodeCapacity.%s: must not be negative, got %s", n, q.String())
		}
	}
	if o.AccessRadiusKm == 0 {
		o.AccessRadiusKm = DefaultAccessRadiusKm
	}
	switch {
	case o.UnlocatedRTT < 0:
		bad("unlocatedRTT: must be >= 0, got %s", o.UnlocatedRTT)
	case o.UnlocatedRTT == 0:
		o.UnlocatedRTT = DefaultUnlocatedRTT
	}
	if !(o.Noise >= 0 && o.Noise < 1) {
		bad("noise: must be in [0, 1), got %g", o.Noise)
	}
	o.Regions = maps.Clone(o.Regions)
	if len(errs) > 0 {
		return fmt.Errorf("sim: options: %s: %w", joinErrs(errs), ErrInvalid)
	}
	return nil
}

// Clock returns the world's fake clock. Give it to everything under test (act's
// Options.Clock, the loop's); move it with Step or Run rather than directly, so
// scripted events happen on time.
func (w *World) Clock() *clocktesting.FakeClock { return w.clk }

// Start returns the clock's time at the world's start.
func (w *World) Start() time.Time { return w.start }

// Elapsed returns the simulated time since the start.
func (w *World) Elapsed() time.Duration { return w.clk.Since(w.start) }

// Topology returns the declared continuum now: the initial topology with the
// clusters provisioned through Provisioner() that are ready, and the sites added or
// moved by events. Links keep their declared RTTs (degradations show in
// LatencySource only); failed clusters stay unless Options.HideFailed. Each change
// gives a new value; a value never changes.
func (w *World) Topology() *topology.Topology {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.declared
}

// TopologyFunc returns Topology in the shape loop.Options.Topology takes.
func (w *World) TopologyFunc() func(context.Context) (*topology.Topology, error) {
	return func(ctx context.Context) (*topology.Topology, error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sim: topology: %w", err)
		}
		return w.Topology(), nil
	}
}

// Provisioner returns the Cluster API fake of the world (see Provisioner).
func (w *World) Provisioner() *Provisioner { return w.prov }

// Peering returns the Liqo fake. It knows every cluster of the topology, including
// provisioned ones once ready, with the cluster's name as its cluster ID. Its call
// log also holds the world's reads (GetPeering, GetOffloading) that decide whether
// pods can run.
func (w *World) Peering() *peeringfake.Fake { return w.peer }

// IsDown reports whether the cluster is failed (FailCluster).
func (w *World) IsDown(cluster string) bool {
	w.hmu.RLock()
	defer w.hmu.RUnlock()
	return w.down[cluster]
}

func (w *World) isDown(cluster string) bool { return w.IsDown(cluster) }

func (w *World) setDown(cluster string, down bool) {
	w.hmu.Lock()
	defer w.hmu.Unlock()
	if down {
		w.down[cluster] = true
	} else {
		delete(w.down, cluster)
	}
}

func (w *World) downSet() map[string]bool {
	w.hmu.RLock()
	defer w.hmu.RUnlock()
	return maps.Clone(w.down)
}

func (w *World) isMember(cluster string) bool {
	w.hmu.RLock()
	defer w.hmu.RUnlock()
	return w.members[cluster]
}

// At schedules e to happen after d of simulated time since the start. Events at
// the same time happen in the order they were scheduled. A time already past, or
// an event that is invalid whatever the world's state, gives an error wrapping
// ErrInvalid; what depends on the state (does the link exist?) is checked when the
// event happens.
func (w *World) At(d time.Duration, e Event) error {
	if e == nil {
		return fmt.Errorf("sim: at %s: the event is nil: %w", stamp(d), ErrInvalid)
	}
	if err := e.check(); err != nil {
		return err
	}
	at := w.start.Add(d)
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := w.clk.Now(); at.Before(now) {
		return fmt.Errorf("sim: at %s: %s is in the past (now %s): %w", stamp(d), e, stamp(now.Sub(w.start)), ErrInvalid)
	}
	w.seq++
	w.events = append(w.events, scheduled{at: at, seq: w.seq, ev: e})
	slices.SortStableFunc(w.events, func(a, b scheduled) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	return nil
}

// Schedule schedules every event of the script (see At); on error none is.
func (w *World) Schedule(s Script) error {
	now := w.Elapsed()
	for i, se := range s {
		if se.Event == nil {
			return fmt.Errorf("sim: script[%d]: the event is nil: %w", i, ErrInvalid)
		}
		if err := se.Event.check(); err != nil {
			return fmt.Errorf("sim: script[%d]: %w", i, err)
		}
		if se.After < now {
			return fmt.Errorf("sim: script[%d]: %s at %s is in the past (now %s): %w", i, se.Event, stamp(se.After), stamp(now), ErrInvalid)
		}
	}
	for _, se := range s {
		if err := w.At(se.After, se.Event); err != nil {
			return err
		}
	}
	return nil
}

// Apply makes e happen now, reports its changes to OnChange subscribers and logs
// it. Use it between steps; from an AfterTick hook or OnChange callback it runs
// inline.
func (w *World) Apply(e Event) error {
	if e == nil {
		return fmt.Errorf("sim: apply: the event is nil: %w", ErrInvalid)
	}
	if err := e.check(); err != nil {
		return err
	}
	now := w.clk.Now()
	err := w.happen(e, now)
	w.dispatch()
	return err
}

// happen applies one event and records its changes as pending.
func (w *World) happen(e Event, now time.Time) error {
	var changes []Change
	var err error
	if _, custom := e.(do); custom {
		changes, err = e.apply(w, now)
		w.mu.Lock()
	} else {
		w.mu.Lock()
		changes, err = e.apply(w, now)
	}
	defer w.mu.Unlock()
	if err != nil {
		changes = []Change{{Kind: EventFailed, Err: err, Message: fmt.Sprintf("event %q failed: %v", e, err)}}
	}
	w.record(now, changes...)
	return err
}

// record stamps changes, logs them and queues them for dispatch. w.mu is held.
func (w *World) record(now time.Time, changes ...Change) {
	for _, c := range changes {
		c.At, c.Elapsed = now, now.Sub(w.start)
		w.log = append(w.log, c.String())
		w.pending = append(w.pending, c)
	}
}

// logf adds a line to the log that is not a change. w.mu is held.
func (w *World) logf(now time.Time, format string, args ...any) {
	w.log = append(w.log, stamp(now.Sub(w.start))+" "+fmt.Sprintf(format, args...))
}

// Log returns the history of the world, one line per change, e.g.
// "t=+60s link gva-edge<->mil-edge degraded to 20ms (declared 5.8ms)": events,
// clusters joining and leaving, and the readiness of the registered applications'
// components ("t=+95s xr-collab/render-geneva: 1/1 ready (gva-edge 1/1)").
func (w *World) Log() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

// OnChange calls fn with every change from now on, in order, from the goroutine that
// steps the world (after the tick that made it) with no lock held; fn must not call
// Step or Run. It returns a function that stops the calls.
func (w *World) OnChange(fn func(Change)) (cancel func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	id := w.nextID
	w.subs[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subs, id)
	}
}

// AfterTick calls fn with the clock's time after every tick of Step and Run, once the
// tick's events happened and goroutines settled: the place for invariants ("never
// zero ready replicas"). It runs like OnChange's callbacks; it returns a function
// that stops the calls.
func (w *World) AfterTick(fn func(now time.Time)) (cancel func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	id := w.nextID
	w.hooks[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.hooks, id)
	}
}

// dispatch calls the subscribers with the pending changes.
func (w *World) dispatch() {
	w.mu.Lock()
	changes := w.pending
	w.pending = nil
	subs := sortedFuncs(w.subs)
	w.mu.Unlock()
	for _, c := range changes {
		for _, fn := range subs {
			fn(c)
		}
	}
}

func sortedFuncs[F any](m map[int]F) []F {
	out := make([]F, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[id])
	}
	return out
}

// Step advances the clock by d, Tick by Tick (and to the exact time of each
// scheduled event), making the events due happen in order, firing the fake
// clock's timers, letting goroutines settle, bringing provisioned clusters into the
// topology, and calling OnChange and AfterTick callbacks. Step(0) makes the events
// due now happen. It returns the errors of the events that failed (they are in the
// log too).
func (w *World) Step(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sim: step: d must be >= 0, got %s: %w", d, ErrInvalid)
	}
	w.stepMu.Lock()
	defer w.stepMu.Unlock()
	return w.advance(d)
}

func (w *World) advance(d time.Duration) error {
	now := w.clk.Now()
	end := now.Add(d)
	var errs []error
	if d == 0 || w.due(now) {
		errs = append(errs, w.tick(now)...)
	}
	for now.Before(end) {
		next := now.Add(w.opts.Tick)
		if next.After(end) {
			next = end
		}
		if at, ok := w.nextEvent(now); ok && at.Before(next) {
			next = at
		}
		w.clk.SetTime(next)
		errs = append(errs, w.tick(next)...)
		now = next
	}
	return errors.Join(errs...)
}

// due reports whether an event is due at now.
func (w *World) due(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events) > 0 && !w.events[0].at.After(now)
}

// nextEvent returns the time of the first event after now.
func (w *World) nextEvent(now time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.at.After(now) {
			return e.at, true
		}
	}
	return time.Time{}, false
}

// tick runs one tick at now (the clock is already there).
func (w *World) tick(now time.Time) []error {
	var errs []error
	for {
		w.mu.Lock()
		if len(w.events) == 0 || w.events[0].at.After(now) {
			w.mu.Unlock()
			break
		}
		e := w.events[0]
		w.events = w.events[1:]
		w.mu.Unlock()
		if err := w.happen(e.ev, now); err != nil {
			errs = append(errs, err)
		}
	}
	w.settle()
	w.syncProvisioned(now)
	w.logReadiness(now)
	w.dispatch()
	w.mu.Lock()
	hooks := sortedFuncs(w.hooks)
	w.mu.Unlock()
	for _, fn := range hooks {
		fn(now)
	}
	return errs
}

func (w *World) settle() {
	if w.opts.Settle < 0 {
		runtime.Gosched()
		return
	}
	time.Sleep(w.opts.Settle)
}

// Run calls fn in a new goroutine and steps the world Tick by Tick until fn
// returns (fn must not call Step or Run), then returns fn's error joined with the
// errors of events that failed meanwhile. When fn is still running after limit of simulated time (zero means
// DefaultRunLimit), or ctx ends, Run cancels fn's context, waits for fn to return,
// and returns an error wrapping ErrNotReady (or ctx's error). It is the way to run
// code that waits on the clock (an Actor's Apply, provision.WaitReady) in fake
// time.
func (w *World) Run(ctx context.Context, limit time.Duration, fn func(ctx context.Context) error) error {
	if fn == nil {
		return fmt.Errorf("sim: run: fn: must not be nil: %w", ErrInvalid)
	}
	if limit < 0 {
		return fmt.Errorf("sim: run: limit must be >= 0, got %s: %w", limit, ErrInvalid)
	}
	if limit == 0 {
		limit = DefaultRunLimit
	}
	w.stepMu.Lock()
	defer w.stepMu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(rctx) }()
	w.settle()
	deadline := w.clk.Now().Add(limit)
	var errs []error
	for {
		select {
		case err := <-done:
			return errors.Join(append([]error{err}, errs...)...)
		default:
		}
		now := w.clk.Now()
		switch {
		case ctx.Err() != nil:
			cancel()
			err := <-done
			return fmt.Errorf("sim: run: %w (fn returned %v)", ctx.Err(), err)
		case !now.Before(deadline):
			cancel()
			err := <-done
			return fmt.Errorf("sim: run: fn was still running after %s of simulated time (canceled, it returned %v): %w", limit, err, ErrNotReady)
		}
		if err := w.advance(min(w.opts.Tick, deadline.Sub(now))); err != nil {
			errs = append(errs, err)
		}
	}
}

// syncProvisioned brings ready provisioned clusters into the topology and takes
// deleted or failed ones out.
func (w *World) syncProvisioned(now time.Time) {
	list, err := w.prov.Fake.List(context.Background(), provision.ListOptions{})
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.logf(now, "listing provisioned clusters failed: %v", err)
		return
	}
	seen := map[string]bool{}
	for _, c := range list {
		if w.syncCluster(now, c) {
			seen[c.Spec.Name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.provisioned)) {
		if seen[name] {
			continue
		}
		gone, err := w.removeCluster(name)
		if err != nil {
			w.logf(now, "cluster %s is gone but cannot leave the topology: %v", name, err)
			continue
		}
		delete(w.provisioned, name)
		msg := "cluster " + name + " left (deleted or failed)"
		if len(gone) > 0 {
			msg += fmt.Sprintf("; sites %v had no other access and left too", gone)
		}
		w.record(now, Change{Kind: ClusterRemoved, Cluster: name, Message: msg})
	}
}

// syncCluster brings one provisioned cluster into the topology (and Peering()) when
// it is ready and not there yet, or with its new capacity after a scale. It reports
// whether the cluster is, or stays, in the topology (false when it is being deleted
// or failed). w.mu is held.
func (w *World) syncCluster(now time.Time, c *provision.Cluster) bool {
	name := c.Spec.Name
	if c.Phase == provision.PhaseDeleting || c.Phase == provision.PhaseFailed {
		return false
	}
	workers, known := w.provisioned[name]
	if !provision.IsReady(c) || (known && workers == c.Spec.Workers) {
		return known
	}
	if !known {
		if _, clash := w.findCluster(name); clash {
			w.reject(now, name, fmt.Sprintf("cluster %s is ready but the topology has a cluster of that name; it is left out", name))
			return false
		}
	}
	tc, access, err := w.describe(c.Spec)
	if err == nil {
		err = w.addCluster(tc, access)
	}
	if err != nil {
		w.reject(now, name, fmt.Sprintf("cluster %s is ready but cannot join the topology: %v", name, err))
		return known
	}
	delete(w.rejected, name)
	if err := w.peer.AddCluster(name, ""); err != nil {
		w.logf(now, "cluster %s: peering fake: %v", name, err)
	}
	w.provisioned[name] = c.Spec.Workers
	if known {
		w.record(now, Change{Kind: ClusterResized, Cluster: name,
			Message: fmt.Sprintf("cluster %s resized to %d workers (capacity %s)", name, c.Spec.Workers, resourceString(tc.Capacity))})
		return true
	}
	took := "?"
	if d, ok := c.Timeline.After(provision.Available); ok {
		took = stamp(d.Round(time.Second))[3:]
	}
	w.record(now, Change{Kind: ClusterAdded, Cluster: name,
		Message: fmt.Sprintf("cluster %s joined: %s %s, %s, %d workers, capacity %s, available %s after its creation", name, c.Spec.Distribution, tc.Tier,
			cmp.Or(tc.Region, "no region"), c.Spec.Workers, resourceString(tc.Capacity), took)})
	return true
}

// observed is called by Provisioner() with every cluster state it returns: a cluster
// seen ready joins at once, so whoever saw it ready can peer with it.
func (w *World) observed(c *provision.Cluster) {
	if c == nil || !provision.IsReady(c) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncCluster(w.clk.Now(), c)
}

// reject logs once why a ready cluster cannot join. w.mu is held.
func (w *World) reject(now time.Time, name, msg string) {
	if w.rejected[name] == msg {
		return
	}
	w.rejected[name] = msg
	w.logf(now, "%s", msg)
}

// setMembers refreshes the membership the Runnable hooks read. w.mu is held.
func (w *World) setMembers() {
	m := map[string]bool{}
	for _, c := range w.base.Clusters {
		m[c.Name] = true
	}
	w.hmu.Lock()
	defer w.hmu.Unlock()
	w.members = m
}

func joinErrs(errs []string) string {
	out := ""
	for i, e := range errs {
		if i > 0 {
			out += "; "
		}
		out += e
	}
	return out
}
