package provisionfake

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/provision"
)

// Options configures New. The zero value uses the real clock, PaperModel, seed 0 and
// no quota.
type Options struct {
	// Clock drives provisioning; pass a k8s.io/utils/clock/testing.FakeClock and
	// step it to make time pass. Nil means the real clock.
	Clock clock.WithDelayedExecution
	// Model is the provisioning-time model; the zero value means PaperModel.
	Model Model
	// Seed seeds the jitter.
	Seed uint64
	// NodeQuota is the most nodes (control plane and workers of every cluster not yet
	// gone) the fake infrastructure holds; 0 means unlimited. A Create beyond it
	// makes a cluster that fails with InfrastructureReady False, reason
	// QuotaExceeded; workers added by Scale beyond it never become ready.
	NodeQuota int
}

// Fault is a failure injected into one cluster with InjectFault.
type Fault struct {
	// StuckWorkers is how many of the cluster's workers never become ready (a
	// machine that never joins): WorkersAvailable and Available stay False.
	StuckWorkers int32
	// QuotaExceeded makes the infrastructure fail as if the quota were exhausted:
	// the cluster fails (PhaseFailed).
	QuotaExceeded bool
}

// Call is one call recorded in the call log.
type Call struct {
	// Op is the method: Create, Get, List, Watch, Delete, Scale or Kubeconfig.
	Op string
	// Ref is the cluster the call named (zero for List).
	Ref provision.Ref
	// Workers is the argument of Scale, and the spec's workers for Create.
	Workers int32
}

// Fake is an in-memory provision.Provisioner with the Scaler and KubeconfigGetter
// capabilities. Clusters go through the milestones on the injected clock following
// the Model. It is safe for concurrent use.
type Fake struct {
	clk   clock.WithDelayedExecution
	model Model
	seed  uint64
	quota int

	mu       sync.Mutex
	clusters map[provision.Ref]*cluster
	faults   map[provision.Ref]Fault
	subs     map[provision.Ref]map[*sub]struct{}
	calls    []Call
}

type sub struct{ poke chan struct{} }

// cluster is the record of one cluster; its state at any time is computed from it.
type cluster struct {
	spec       provision.ClusterSpec
	generation int64
	created    time.Time
	rnd        *rand.Rand
	infraAt    time.Time
	cpInitAt   time.Time
	cpReady    []time.Time
	workers    []time.Time // ready times; zero = never
	settle     time.Duration
	failed     string // failure message; empty when healthy
	scaledAt   time.Time
	// workersFloor is when a scale made the workers available at once (a
	// scale-down that left only ready workers).
	workersFloor time.Time
	// first are milestones reached before the last scale, frozen for the timeline.
	first      map[provision.Milestone]time.Time
	deletingAt time.Time
	goneAt     time.Time
}

var (
	_ provision.Provisioner      = (*Fake)(nil)
	_ provision.Scaler           = (*Fake)(nil)
	_ provision.KubeconfigGetter = (*Fake)(nil)
)

// New returns an empty fake. It returns an error for an invalid Model.
func New(opts Options) (*Fake, error) {
	m := opts.Model
	if m == (Model{}) {
		m = PaperModel()
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if opts.NodeQuota < 0 {
		return nil, fmt.Errorf("provisionfake: Options.NodeQuota: %d must be >= 0", opts.NodeQuota)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Fake{
		clk: clk, model: m, seed: opts.Seed, quota: opts.NodeQuota,
		clusters: map[provision.Ref]*cluster{},
		faults:   map[provision.Ref]Fault{},
		subs:     map[provision.Ref]map[*sub]struct{}{},
	}, nil
}

// InjectFault sets the fault of the cluster ref for its next Create (an existing
// cluster is not affected). A zero Fault clears it.
func (f *Fake) InjectFault(ref provision.Ref, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault == (Fault{}) {
		delete(f.faults, ref)
		return
	}
	f.faults[ref] = fault
}

// Calls returns a copy of the call log, in call order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(c Call) {
	f.calls = append(f.calls, c)
}

// Create starts provisioning spec. See provision.Writer.
func (f *Fake) Create(ctx context.Context, spec provision.ClusterSpec) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("provisionfake: create: %w", err)
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("provisionfake: create: %w", err)
	}
	spec = spec.WithDefaults()
	ref := spec.Ref()
	now := f.clk.Now()

	f.mu.Lock()
	f.record(Call{Op: "Create", Ref: ref, Workers: spec.Workers})
	f.purge(now)
	if _, ok := f.clusters[ref]; ok {
		f.mu.Unlock()
		return fmt.Errorf("provisionfake: create %s: %w", ref, provision.ErrAlreadyExists)
	}
	fault := f.faults[ref]
	delete(f.faults, ref)
	h := fnv.New64a()
	h.Write([]byte(ref.String()))
	c := &cluster{
		spec: spec, generation: 1, created: now,
		rnd:   rand.New(rand.NewPCG(f.seed, h.Sum64())),
		first: map[provision.Milestone]time.Time{},
	}
	nodes := int(spec.ControlPlaneReplicas + spec.Workers)
	if used := f.nodesInUse(); fault.QuotaExceeded || (f.quota > 0 && used+nodes > f.quota) {
		c.failed = fmt.Sprintf("quota exceeded: the cluster needs %d nodes, %d of %d are in use", nodes, used, f.quota)
		if fault.QuotaExceeded {
			c.failed = "quota exceeded (injected)"
		}
	} else {
		stuck := int(min(max(fault.StuckWorkers, 0), spec.Workers))
		s := f.model.plan(c.rnd, int(spec.ControlPlaneReplicas), int(spec.Workers), stuck)
		c.infraAt, c.cpInitAt, c.settle = now.Add(s.infra), now.Add(s.cpInit), s.settle
		for _, d := range s.cpReady {
			c.cpReady = append(c.cpReady, now.Add(d))
		}
		for _, d := range s.workers {
			var t time.Time
			if d >= 0 {
				t = now.Add(d)
			}
			c.workers = append(c.workers, t)
		}
	}
	f.clusters[ref] = c
	times := c.eventTimes()
	f.notify(ref)
	f.mu.Unlock()

	f.wakeAt(ref, now, times)
	return nil
}

// nodesInUse counts the nodes of the clusters that are not gone. f.mu is held.
func (f *Fake) nodesInUse() int {
	n := 0
	for _, c := range f.clusters {
		if c.failed == "" {
			n += len(c.cpReady) + len(c.workers)
		}
	}
	return n
}

// purge forgets clusters whose deletion completed. f.mu is held.
func (f *Fake) purge(now time.Time) {
	for ref, c := range f.clusters {
		if !c.goneAt.IsZero() && !now.Before(c.goneAt) {
			delete(f.clusters, ref)
		}
	}
}

// eventTimes lists the times the cluster's state changes. f.mu is held.
func (c *cluster) eventTimes() []time.Time {
	ts := []time.Time{c.infraAt, c.cpInitAt, c.goneAt}
	ts = append(ts, c.cpReady...)
	ts = append(ts, c.workers...)
	if at, ok := c.availableAt(); ok {
		ts = append(ts, at)
	}
	return ts
}

// wakeAt pokes the watchers of ref at each of times (zero times are skipped). It is
// called without f.mu: a fake clock runs its callbacks under its own lock.
func (f *Fake) wakeAt(ref provision.Ref, now time.Time, times []time.Time) {
	for _, t := range times {
		if t.IsZero() || !t.After(now) {
			continue
		}
		f.clk.AfterFunc(t.Sub(now), func() {
			go func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.notify(ref)
			}()
		})
	}
}

// notify pokes the watchers of ref. f.mu is held.
func (f *Fake) notify(ref provision.Ref) {
	for s := range f.subs[ref] {
		select {
		case s.poke <- struct{}{}:
		default:
		}
	}
}

// workersReadyAt returns when every current worker is ready, if they all will be.
func (c *cluster) workersReadyAt() (time.Time, bool) {
	at := c.cpInitAt
	if len(c.cpReady) > 0 && len(c.workers) == 0 {
		at = c.cpReady[len(c.cpReady)-1]
	}
	for _, w := range c.workers {
		if w.IsZero() {
			return time.Time{}, false
		}
		if w.After(at) {
			at = w
		}
	}
	if c.workersFloor.After(at) {
		at = c.workersFloor
	}
	return at, true
}

// availableAt returns when the cluster becomes Available, if it will.
func (c *cluster) availableAt() (time.Time, bool) {
	if c.failed != "" || len(c.cpReady) == 0 {
		return time.Time{}, false
	}
	w, ok := c.workersReadyAt()
	if !ok {
		return time.Time{}, false
	}
	cp := c.cpReady[len(c.cpReady)-1]
	if w.After(cp) {
		cp = w
	}
	return cp.Add(c.settle), true
}

// state computes the cluster as a Reader sees it at now. f.mu is held.
func (c *cluster) state(now time.Time) *provision.Cluster {
	out := &provision.Cluster{Spec: c.spec.DeepCopy(), Generation: c.generation}
	reached := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	count := func(ts []time.Time) int32 {
		n := int32(0)
		for _, t := range ts {
			if reached(t) {
				n++
			}
		}
		return n
	}
	since := map[provision.Milestone]time.Time{}
	if c.failed == "" {
		if reached(c.infraAt) {
			since[provision.InfrastructureReady] = c.infraAt
		}
		if reached(c.cpInitAt) {
			since[provision.ControlPlaneInitialized] = c.cpInitAt
		}
		if last := c.cpReady[len(c.cpReady)-1]; reached(last) {
			since[provision.ControlPlaneAvailable] = last
		}
		if at, ok := c.workersReadyAt(); ok && reached(at) && reached(c.cpInitAt) {
			since[provision.WorkersAvailable] = at
		}
		if at, ok := c.availableAt(); ok && reached(at) {
			since[provision.Available] = at
		}
		out.ControlPlane = provision.Replicas{Desired: int32(len(c.cpReady)), Current: int32(len(c.cpReady)), Ready: count(c.cpReady), Available: count(c.cpReady)}
		if !reached(c.infraAt) {
			out.ControlPlane.Current = 0
		}
		out.Workers = provision.Replicas{Desired: int32(len(c.workers)), Ready: count(c.workers), Available: count(c.workers)}
		if reached(c.cpInitAt) {
			out.Workers.Current = int32(len(c.workers))
		}
	} else {
		out.ControlPlane.Desired, out.Workers.Desired = c.spec.ControlPlaneReplicas, c.spec.Workers
		out.Message = c.failed
	}
	falseSince := c.created
	if c.scaledAt.After(falseSince) {
		falseSince = c.scaledAt
	}
	for _, m := range provision.Milestones() {
		cond := provision.Condition{Type: string(m), ObservedGeneration: c.generation}
		if at, ok := since[m]; ok {
			cond.Status, cond.Reason, cond.LastTransitionTime = provision.ConditionTrue, string(m), at
		} else {
			cond.Status, cond.Reason, cond.LastTransitionTime = provision.ConditionFalse, "Not"+string(m), falseSince
			if m == provision.InfrastructureReady && c.failed != "" {
				cond.Reason, cond.Message = "QuotaExceeded", c.failed
			}
		}
		out.Conditions = append(out.Conditions, cond)
	}
	reachedFirst := map[provision.Milestone]time.Time{}
	for m, t := range since {
		reachedFirst[m] = t
	}
	for m, t := range c.first {
		reachedFirst[m] = t
	}
	out.Timeline = provision.NewTimeline(c.created, reachedFirst)
	out.Phase = provision.PhaseOf(out, reached(c.deletingAt), c.failed != "")
	return out
}

// get returns the live cluster record or nil. f.mu is held.
func (f *Fake) get(ref provision.Ref, now time.Time) *cluster {
	f.purge(now)
	return f.clusters[ref]
}

// Get returns the cluster. See provision.Reader.
func (f *Fake) Get(ctx context.Context, ref provision.Ref) (*provision.Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provisionfake: get: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Get", Ref: ref})
	c := f.get(ref, now)
	if c == nil {
		return nil, fmt.Errorf("provisionfake: cluster %s: %w", ref, provision.ErrNotFound)
	}
	return c.state(now), nil
}

// List returns the clusters matching opts. See provision.Reader.
func (f *Fake) List(ctx context.Context, opts provision.ListOptions) ([]*provision.Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provisionfake: list: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "List"})
	f.purge(now)
	var out []*provision.Cluster
	for _, c := range f.clusters {
		if s := c.state(now); opts.Matches(s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *provision.Cluster) int {
		return cmp.Or(cmp.Compare(a.Spec.Namespace, b.Spec.Namespace), cmp.Compare(a.Spec.Name, b.Spec.Name))
	})
	return out, nil
}

// Watch streams the cluster's state. See provision.Reader.
func (f *Fake) Watch(ctx context.Context, ref provision.Ref) (<-chan provision.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provisionfake: watch: %w", err)
	}
	s := &sub{poke: make(chan struct{}, 1)}
	f.mu.Lock()
	f.record(Call{Op: "Watch", Ref: ref})
	if f.subs[ref] == nil {
		f.subs[ref] = map[*sub]struct{}{}
	}
	f.subs[ref][s] = struct{}{}
	f.mu.Unlock()

	out := make(chan provision.Change)
	go func() {
		defer close(out)
		defer func() {
			f.mu.Lock()
			delete(f.subs[ref], s)
			if len(f.subs[ref]) == 0 {
				delete(f.subs, ref)
			}
			f.mu.Unlock()
		}()
		var last *provision.Change
		for {
			now := f.clk.Now()
			f.mu.Lock()
			ch := provision.Change{Gone: true}
			if c := f.get(ref, now); c != nil {
				ch = provision.Change{Cluster: c.state(now)}
			}
			f.mu.Unlock()
			if last == nil || !reflect.DeepEqual(*last, ch) {
				select {
				case out <- ch:
					last = &ch
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-s.poke:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Delete starts deleting the cluster. See provision.Writer.
func (f *Fake) Delete(ctx context.Context, ref provision.Ref) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("provisionfake: delete: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	f.record(Call{Op: "Delete", Ref: ref})
	c := f.get(ref, now)
	if c == nil {
		f.mu.Unlock()
		return fmt.Errorf("provisionfake: delete %s: %w", ref, provision.ErrNotFound)
	}
	if c.deletingAt.IsZero() {
		c.deletingAt = now
		c.goneAt = now.Add(max(jitter(c.rnd, f.model.Jitter, f.model.Delete), time.Nanosecond))
	}
	gone := c.goneAt
	f.notify(ref)
	f.mu.Unlock()
	f.wakeAt(ref, now, []time.Time{gone})
	return nil
}

// Scale sets the number of workers. New workers become ready Model.WorkerJoin later
// (never, beyond the quota); removed workers go at once, not-ready ones first.
func (f *Fake) Scale(ctx context.Context, ref provision.Ref, workers int32) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("provisionfake: scale: %w", err)
	}
	if workers < 0 || workers > provision.MaxWorkers {
		return fmt.Errorf("provisionfake: scale %s: workers %d must be between 0 and %d: %w", ref, workers, provision.MaxWorkers, provision.ErrInvalid)
	}
	now := f.clk.Now()
	f.mu.Lock()
	f.record(Call{Op: "Scale", Ref: ref, Workers: workers})
	c := f.get(ref, now)
	switch {
	case c == nil:
		f.mu.Unlock()
		return fmt.Errorf("provisionfake: scale %s: %w", ref, provision.ErrNotFound)
	case !c.deletingAt.IsZero():
		f.mu.Unlock()
		return fmt.Errorf("provisionfake: scale %s: the cluster is being deleted: %w", ref, provision.ErrNotReady)
	case c.failed != "":
		f.mu.Unlock()
		return fmt.Errorf("provisionfake: scale %s: the cluster failed (%s): %w", ref, c.failed, provision.ErrNotReady)
	case workers == int32(len(c.workers)):
		f.mu.Unlock()
		return nil
	}
	before := c.state(now)
	for _, e := range before.Timeline.Events {
		if _, ok := c.first[e.Milestone]; !ok {
			c.first[e.Milestone] = e.At
		}
	}
	wasAvailable := before.IsTrue(string(provision.WorkersAvailable))
	used := f.nodesInUse()
	if n := int(workers); n < len(c.workers) {
		// Keep the earliest-ready workers; never-ready ones sort last.
		slices.SortFunc(c.workers, func(a, b time.Time) int {
			switch {
			case a.IsZero() && b.IsZero():
				return 0
			case a.IsZero():
				return 1
			case b.IsZero():
				return -1
			}
			return a.Compare(b)
		})
		c.workers = c.workers[:n]
	} else {
		for range n - len(c.workers) {
			var t time.Time
			if f.quota == 0 || used < f.quota {
				t = now.Add(jitter(c.rnd, f.model.Jitter, f.model.WorkerJoin))
				used++
			}
			c.workers = append(c.workers, t)
		}
	}
	c.spec.Workers = workers
	c.generation++
	c.scaledAt = now
	if _, ok := c.workersReadyAt(); ok && !wasAvailable {
		c.workersFloor = now
	}
	if at, ok := c.workersReadyAt(); ok && wasAvailable && !at.After(now) {
		// Still available: the condition did not change.
		c.workersFloor = time.Time{}
	}
	times := c.eventTimes()
	f.notify(ref)
	f.mu.Unlock()
	f.wakeAt(ref, now, times)
	return nil
}

// Kubeconfig returns a REST config pointing at a host that does not resolve
// (<name>.<namespace>.provisionfake.invalid). Before the control plane is
// initialized it fails with provision.ErrNotReady.
func (f *Fake) Kubeconfig(ctx context.Context, ref provision.Ref) (*rest.Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("provisionfake: kubeconfig: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Kubeconfig", Ref: ref})
	c := f.get(ref, now)
	if c == nil {
		return nil, fmt.Errorf("provisionfake: kubeconfig of %s: %w", ref, provision.ErrNotFound)
	}
	if !c.state(now).IsTrue(string(provision.ControlPlaneInitialized)) {
		return nil, fmt.Errorf("provisionfake: kubeconfig of %s: the control plane is not initialized yet: %w", ref, provision.ErrNotReady)
	}
	return &rest.Config{
		Host:        fmt.Sprintf("https://%s.%s.provisionfake.invalid:6443", ref.Name, ref.Namespace),
		BearerToken: "provisionfake-token",
	}, nil
}
