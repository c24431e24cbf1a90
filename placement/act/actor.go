package act

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/internal/watchwait"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/provision"
)

// Options configures an Actor. The zero value works for applications that run on
// their home cluster only, on the real clock.
type Options struct {
	// Peering peers the home cluster with providers and offloads the namespace. Nil:
	// a plan that runs anything off the home cluster is refused.
	Peering peering.Interface
	// Provisioner creates and scales the clusters of Request.Provision. Nil: a
	// request with Provision is refused.
	Provisioner provision.Provisioner
	// Clock times the waits and the polling of instances; nil means the real clock.
	// Pass the fake clock of the fakes to run in fake time.
	Clock clock.WithTicker
	// Timeout bounds each wait (a cluster, a peering, an offloading, a component's
	// replicas); zero means 15 minutes.
	Timeout time.Duration
	// PollInterval is how often instances are read while waiting for their replicas;
	// zero means 2 s. The wait-ready steps of one Apply share their reads: a wait
	// first looks at the instances read last (when no step wrote since), and reads
	// them again only after sleeping PollInterval.
	PollInterval time.Duration
	// Retries is how many more times a write step (every step but the waits) is run
	// when it fails with an error worth retrying: a conflict, a timeout, too many
	// requests or service unavailable from an API server, a deadline exceeded while
	// Apply's own context is alive, or a network timeout. Zero means 3 (4 attempts in
	// all); negative means none. Retrying is safe because every write step is
	// idempotent: it asks for a state (a peering, an offloading's targets, an
	// instance's replicas and pinning) computed from what the clusters said at the
	// start of its phase and from the request alone, not for a change relative to
	// what it read, and the backends answer a write that already happened with
	// success, or with AlreadyExists or AlreadyPeered, which act takes for success.
	Retries int
	// RetryBackoff is the pause before the first retry of a step; it doubles before
	// each further retry, up to 10 s (or RetryBackoff when larger). Zero means
	// 100 ms. It runs on Clock.
	RetryBackoff time.Duration
	// PeerResources says what the home cluster asks of a provider when it peers;
	// given what the application's replicas placed there request. Nil means those
	// requests (CPU and memory) with room for 110 pods.
	PeerResources func(provider string, use peering.Resources) peering.Resources
	// Log receives one line per step; the zero logger discards.
	Log logr.Logger
	// Observe, when set, is called before and after each step Apply runs (Done
	// false, then true with Err and Took), and with a Message for the progress of a
	// wait and before each retry; from Apply's goroutine.
	Observe func(StepEvent)
}

// StepEvent reports a step Apply starts or finished.
type StepEvent struct {
	Step Step
	// Done is false when the step starts, true when it ended (then Err and Took).
	Done bool
	Err  error
	Took time.Duration
	// Message is the latest progress of a wait ("2/3 replicas ready"), or a retry
	// about to happen ("retry 2/4 after conflict: ...").
	Message string
}

// Result is what an Apply did.
type Result struct {
	// Steps are the steps run, in order, with their outcome.
	Steps []StepResult
}

// StepResult is one step run.
type StepResult struct {
	Step
	Took time.Duration `json:"took"`
	// Err is the step's error; Apply stops at the first.
	Err error `json:"-"`
}

// Actor carries plans out. See the package documentation for the steps.
type Actor struct {
	w    Workloads
	opts Options
}

// New returns an Actor that runs instances through w.
func New(w Workloads, opts Options) (*Actor, error) {
	if w == nil {
		return nil, fmt.Errorf("act: new: workloads: must not be nil: %w", ErrInvalid)
	}
	if opts.Timeout < 0 || opts.PollInterval < 0 || opts.RetryBackoff < 0 {
		return nil, fmt.Errorf("act: new: options.timeout, options.pollInterval and options.retryBackoff: must be >= 0: %w", ErrInvalid)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 2 * time.Second
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = defaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = defaultRetryBackoff
	}
	if opts.PeerResources == nil {
		opts.PeerResources = func(_ string, use peering.Resources) peering.Resources {
			use.Pods = max(use.Pods, 110)
			return use
		}
	}
	return &Actor{w: w, opts: opts}, nil
}

// Plan returns the steps Apply would run now, without writing anything: the dry run.
// An empty list means the plan is in force.
func (a *Actor) Plan(ctx context.Context, req Request) ([]Step, error) {
	d, err := a.check(req)
	if err != nil {
		return nil, err
	}
	o, err := a.observe(ctx, req, d)
	if err != nil {
		return nil, err
	}
	return d.steps(req, o), nil
}

// Apply carries the request out and returns the steps it ran. It reads the clusters
// before the first phase and again before each phase that follows a step, so it
// picks up where a crashed run stopped; when the plan is in force it reads them once
// and writes nothing. On error, the Result holds the steps run so far
// (the last one failed); old instances without a ready replacement are left running.
func (a *Actor) Apply(ctx context.Context, req Request) (*Result, error) {
	d, err := a.check(req)
	if err != nil {
		return nil, err
	}
	r := &applyRun{req: req, d: d, res: &Result{}}
	var steps []Step
	readAt := -1 // how many steps had run when the clusters were last read
	for phase := range numPhases {
		// Read again after any step (a write, or a wait that saw the clusters
		// change); a phase without steps leaves the reading, and the steps planned
		// from it, as they were, so the plan in force costs one reading, not one per
		// phase.
		if len(r.res.Steps) != readAt {
			o, err := a.observe(ctx, req, d)
			if err != nil {
				return r.res, err
			}
			// Read after every earlier write: the phase's waits may start from it.
			r.ins, r.insFresh, readAt = o.instances, true, len(r.res.Steps)
			steps = d.steps(req, o)
		}
		r.pins = nil
		for _, s := range steps {
			if s.Kind.phase() != phase {
				continue
			}
			if err := a.run(ctx, r, s); err != nil {
				return r.res, err
			}
		}
	}
	return r.res, nil
}

// Remove stops every instance of the application and stops offloading its namespace:
// Apply with no assignments.
func (a *Actor) Remove(ctx context.Context, req Request) (*Result, error) {
	req.Assignments = nil
	if req.Home == "" && req.App.Home == "" {
		return nil, fmt.Errorf("act: remove %s: home: set Request.Home or App.Home: %w", req.App.Metadata.Name, ErrInvalid)
	}
	return a.Apply(ctx, req)
}

func (a *Actor) check(req Request) (*desired, error) {
	d, err := resolve(req)
	if err != nil {
		return nil, err
	}
	if len(d.remote) > 0 && a.opts.Peering == nil {
		return nil, fmt.Errorf("act: %s runs on %v besides its home %s, but options.peering is nil: %w", d.app, d.remote, d.home, ErrInvalid)
	}
	if err := a.checkProvision(req); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *Actor) checkProvision(req Request) error {
	if len(req.Provision) > 0 && a.opts.Provisioner == nil {
		return fmt.Errorf("act: request.provision names %d cluster(s), but options.provisioner is nil: %w", len(req.Provision), ErrInvalid)
	}
	for i, s := range req.Provision {
		if err := s.WithDefaults().Validate(); err != nil {
			return fmt.Errorf("act: request.provision[%d]: %w", i, err)
		}
	}
	return nil
}

// observe reads what the steps depend on.
func (a *Actor) observe(ctx context.Context, req Request, d *desired) (*observed, error) {
	o, err := a.observeClusters(ctx, req)
	if err != nil {
		return nil, err
	}
	if o.instances, err = a.w.ListInstances(ctx, d.ns); err != nil {
		return nil, fmt.Errorf("act: list instances of %s in namespace %s: %w", d.app, d.ns, err)
	}
	if a.opts.Peering == nil {
		return o, nil
	}
	for _, c := range d.remote {
		p, err := a.opts.Peering.GetPeering(ctx, peering.Key{Consumer: d.home, Provider: c})
		switch {
		case errors.Is(err, peering.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("act: read peering %s->%s: %w", d.home, c, err)
		default:
			o.peerings[c] = p
		}
	}
	off, err := a.opts.Peering.GetOffloading(ctx, peering.NamespaceRef{Cluster: d.home, Namespace: d.ns})
	switch {
	case errors.Is(err, peering.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("act: read offloading of %s/%s: %w", d.home, d.ns, err)
	default:
		o.offloading = off
	}
	return o, nil
}

// observeClusters reads the clusters of req.Provision.
func (a *Actor) observeClusters(ctx context.Context, req Request) (*observed, error) {
	o := &observed{clusters: map[string]*provision.Cluster{}, peerings: map[string]*peering.Peering{}}
	for _, s := range req.Provision {
		s = s.WithDefaults()
		c, err := a.opts.Provisioner.Get(ctx, s.Ref())
		switch {
		case errors.Is(err, provision.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("act: read cluster %s: %w", s.Ref(), err)
		default:
			o.clusters[s.Name] = c
		}
	}
	return o, nil
}

// applyRun is the state of one Apply (or ProvisionClusters): what it carries out, the
// steps run so far, and the instances read last.
type applyRun struct {
	req Request
	d   *desired
	res *Result
	// ins are the instances read last; insFresh reports that no step wrote since,
	// so a wait may decide from them without reading again.
	ins      []Instance
	insFresh bool
	// pins are the pinnings to remote clusters checked in this phase, by cluster.
	pins map[string]peering.Pinning
}

// Retries of write steps (Options.Retries and RetryBackoff).
const (
	defaultRetries      = 3
	defaultRetryBackoff = 100 * time.Millisecond
	maxRetryBackoff     = 10 * time.Second
)

func (a *Actor) run(ctx context.Context, r *applyRun, s Step) error {
	clk := a.opts.Clock
	start := clk.Now()
	if a.opts.Observe != nil {
		a.opts.Observe(StepEvent{Step: s})
	}
	err := a.execRetrying(ctx, r, s)
	took := clk.Since(start)
	if err != nil {
		err = fmt.Errorf("act: %s: %w", s, err)
	}
	r.res.Steps = append(r.res.Steps, StepResult{Step: s, Took: took, Err: err})
	a.opts.Log.V(1).Info("step", "step", s.String(), "took", took, "error", err)
	if a.opts.Observe != nil {
		a.opts.Observe(StepEvent{Step: s, Done: true, Err: err, Took: took})
	}
	return err
}

// execRetrying runs the step; a write step that fails with an error worth retrying
// (retryReason) is run again after a backoff on the clock, up to Options.Retries
// more times. Write steps are idempotent (see Options.Retries), so running one again
// after a failure that may have written is safe. The wait steps are not retried:
// their timeouts are ErrNotReady.
func (a *Actor) execRetrying(ctx context.Context, r *applyRun, s Step) error {
	if s.Kind.isWait() {
		return a.exec(ctx, r, s)
	}
	attempts := a.opts.Retries + 1
	backoff := a.opts.RetryBackoff
	for i := 1; ; i++ {
		err := a.exec(ctx, r, s)
		r.insFresh = false // a write step may have written, even when it failed
		why := retryReason(ctx, err)
		switch {
		case err == nil:
			return nil
		case why == "" && ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			return errors.Join(err, ctx.Err()) // not retried because the caller gave up
		case why == "":
			return err
		case i == attempts:
			if i > 1 {
				return fmt.Errorf("%w (the step failed %d times)", err, i)
			}
			return err
		}
		msg := fmt.Sprintf("retry %d/%d after %s: %v", i+1, attempts, why, err)
		a.opts.Log.Info("retrying step", "step", s.String(), "attempt", i+1, "attempts", attempts, "backoff", backoff, "error", err)
		a.progress(s)(msg)
		t := a.opts.Clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C():
		}
		backoff = min(2*backoff, max(maxRetryBackoff, a.opts.RetryBackoff))
	}
}

// isWait reports whether the step only waits (reads); every other step writes.
func (k StepKind) isWait() bool {
	switch k {
	case StepWaitCluster, StepWaitPeered, StepWaitOffloaded, StepWaitReady:
		return true
	}
	return false
}

// retryReason says why err is worth retrying a write step for ("conflict"), or ""
// when it is not: no error, an error wrapping ErrInvalid, ctx ended (the caller gave
// up), or any other error.
func retryReason(ctx context.Context, err error) string {
	switch {
	case err == nil, ctx.Err() != nil, errors.Is(err, ErrInvalid):
		return ""
	case apierrors.IsConflict(err):
		return "conflict"
	case apierrors.IsServerTimeout(err):
		return "server timeout"
	case apierrors.IsTimeout(err):
		return "timeout"
	case apierrors.IsTooManyRequests(err):
		return "too many requests"
	case apierrors.IsServiceUnavailable(err):
		return "service unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "network timeout"
	}
	return ""
}

func (a *Actor) progress(s Step) func(string) {
	return func(msg string) {
		if a.opts.Observe != nil {
			a.opts.Observe(StepEvent{Step: s, Message: msg})
		}
	}
}

func (a *Actor) exec(ctx context.Context, r *applyRun, s Step) error {
	req, d := r.req, r.d
	pw := peering.WaitOptions{Timeout: a.opts.Timeout, Clock: a.opts.Clock, Progress: a.progress(s)}
	ref := peering.NamespaceRef{Cluster: d.home, Namespace: d.ns}
	switch s.Kind {
	case StepCreateCluster:
		err := a.opts.Provisioner.Create(ctx, a.spec(req, s.Cluster))
		if errors.Is(err, provision.ErrAlreadyExists) {
			return nil
		}
		return err
	case StepScaleCluster:
		return provision.Scale(ctx, a.opts.Provisioner, a.spec(req, s.Cluster).Ref(), s.Replicas)
	case StepWaitCluster:
		_, err := provision.WaitReady(ctx, a.opts.Provisioner, a.spec(req, s.Cluster).Ref(), provision.WaitOptions{
			Timeout: a.opts.Timeout, Clock: a.opts.Clock,
			Progress: func(p provision.Progress) { a.progress(s)(p.Message) },
		})
		return err
	case StepNamespace:
		return a.w.EnsureNamespace(ctx, d.ns)
	case StepPeer:
		err := a.opts.Peering.Peer(ctx, peering.PeerRequest{
			Key:       peering.Key{Consumer: d.home, Provider: s.Cluster},
			Resources: a.opts.PeerResources(s.Cluster, d.use[s.Cluster]),
		})
		if errors.Is(err, peering.ErrAlreadyPeered) {
			return nil
		}
		return err
	case StepWaitPeered:
		_, err := peering.WaitPeered(ctx, a.opts.Peering, peering.Key{Consumer: d.home, Provider: s.Cluster}, pw)
		return err
	case StepOffload, StepNarrow:
		if err := a.w.EnsureNamespace(ctx, d.ns); err != nil {
			return err
		}
		return a.opts.Peering.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: s.Targets})
	case StepWaitOffloaded:
		return a.waitOffloaded(ctx, ref, d.remote, s)
	case StepUnoffload:
		err := a.opts.Peering.Unoffload(ctx, ref)
		if errors.Is(err, peering.ErrNotFound) {
			return nil
		}
		return err
	case StepStart:
		pin, err := a.pinTo(ctx, r, s.Cluster)
		if err != nil {
			return err
		}
		return a.w.ApplyInstance(ctx, d.ns, InstanceSpec{Component: s.Component, Cluster: s.Cluster, Replicas: s.Replicas, Pin: pin})
	case StepWaitReady:
		return a.waitReady(ctx, r, s)
	case StepStop:
		if s.Replicas == 0 {
			return a.w.DeleteInstance(ctx, d.ns, s.Component, s.Cluster)
		}
		return a.shrink(ctx, r, s)
	}
	return fmt.Errorf("unknown step kind %q: %w", s.Kind, ErrInvalid)
}

// waitOffloaded waits until the namespace is ready on every one of targets (the
// clusters where instances will start), watching the offloading; its other targets
// may lag or have failed. Liqo's AllFailed and Terminating phases end the wait.
func (a *Actor) waitOffloaded(ctx context.Context, ref peering.NamespaceRef, targets []string, s Step) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := a.opts.Peering.WatchOffloading(ctx, ref)
	if err != nil {
		return fmt.Errorf("watching offloading %s: %w", ref, err)
	}
	last := peering.OffloadingSummary(nil)
	err = watchwait.Until(ctx, changes, a.opts.Timeout, a.opts.Clock, fmt.Errorf("watching offloading %s: the watch closed", ref),
		func(ch peering.OffloadingChange) (bool, error) {
			switch {
			case ch.Err != nil:
				return false, fmt.Errorf("watching offloading %s: %w", ref, ch.Err)
			case ch.Gone:
				return false, fmt.Errorf("offloading %s: %w", ref, peering.ErrNotFound)
			}
			o := ch.Offloading
			if msg := peering.OffloadingSummary(o); msg != last {
				last = msg
				a.progress(s)(msg)
			}
			if o.Current && (o.Phase == peering.PhaseAllFailed || o.Phase == peering.PhaseTerminating) {
				return false, fmt.Errorf("offloading %s: %s: %w", ref, last, ErrNotReady)
			}
			return offloadedTo(o, targets), nil
		})
	var w *watchwait.Ended
	if errors.As(err, &w) {
		return fmt.Errorf("offloading %s not ready on %s (%s): %w: %w", ref, strings.Join(targets, ", "), last, ErrNotReady, w.Cause)
	}
	return err
}

// pinTo returns the pinning to cluster: local for the home cluster, else to the
// provider of the peering home -> cluster once it is ready (peering.PinTo). The first
// start of a phase on a cluster checks the peering; the others of the phase reuse
// its pinning.
func (a *Actor) pinTo(ctx context.Context, r *applyRun, cluster string) (peering.Pinning, error) {
	if cluster == r.d.home {
		return peering.PinLocal(), nil
	}
	pin, ok := r.pins[cluster]
	if !ok {
		var err error
		if pin, err = peering.PinTo(ctx, a.opts.Peering, r.d.home, cluster); err != nil {
			return peering.Pinning{}, fmt.Errorf("%w: %w", ErrNotPeered, err)
		}
		if r.pins == nil {
			r.pins = map[string]peering.Pinning{}
		}
		r.pins[cluster] = pin
	}
	pin.NodeSelector = maps.Clone(pin.NodeSelector)
	return pin, nil
}

// instances returns the instances read last when no step wrote since, else reads
// them.
func (a *Actor) instances(ctx context.Context, r *applyRun) ([]Instance, error) {
	if r.insFresh {
		return r.ins, nil
	}
	ins, err := a.w.ListInstances(ctx, r.d.ns)
	if err != nil {
		return nil, err
	}
	r.ins, r.insFresh = ins, true
	return ins, nil
}

// shrink lowers an instance's replicas, keeping its pinning.
func (a *Actor) shrink(ctx context.Context, r *applyRun, s Step) error {
	d := r.d
	ins, err := a.instances(ctx, r)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.Component == s.Component && in.Cluster == s.Cluster {
			return a.w.ApplyInstance(ctx, d.ns, InstanceSpec{Component: s.Component, Cluster: s.Cluster, Replicas: s.Replicas, Pin: in.Pin})
		}
	}
	return nil
}

// waitReady polls the instances until every instance of the component in the plan has
// its replicas ready and is current. It decides first from the instances read last,
// when no step wrote since (the waits of a phase follow all its starts, so such a
// read shows every new instance of the component), and reads them again after each
// PollInterval: the waits of a phase share one read per poll, and a component
// already ready costs no read. Only the instances of s.Component decide, so its old
// instances stop only once its own new ones are ready.
func (a *Actor) waitReady(ctx context.Context, r *applyRun, s Step) error {
	d := r.d
	deadline := a.opts.Clock.Now().Add(a.opts.Timeout)
	last := ""
	for {
		ins, err := a.instances(ctx, r)
		if err != nil {
			return err
		}
		var ready, want int32
		var missing []string
		for _, cl := range sortedKeys(d.inst[s.Component]) {
			n := d.inst[s.Component][cl]
			want += n
			got := int32(0)
			for _, in := range ins {
				if in.Component == s.Component && in.Cluster == cl && !in.Outdated {
					got = min(in.Ready, n)
				}
			}
			ready += got
			if got < n {
				missing = append(missing, fmt.Sprintf("%s %d/%d", cl, got, n))
			}
		}
		msg := fmt.Sprintf("%d/%d replicas of %s ready", ready, want, s.Component)
		if len(missing) > 0 {
			msg += " (waiting on " + strings.Join(missing, ", ") + ")"
		}
		if msg != last {
			last = msg
			a.progress(s)(msg)
		}
		if len(missing) == 0 {
			return nil
		}
		if !a.opts.Clock.Now().Before(deadline) {
			return fmt.Errorf("%s after %s; old instances keep running: %w", msg, a.opts.Timeout, ErrNotReady)
		}
		t := a.opts.Clock.NewTimer(a.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w: %w", msg, ErrNotReady, ctx.Err())
		case <-t.C():
		}
		r.insFresh = false // read again after the pause
	}
}

func (a *Actor) spec(req Request, name string) provision.ClusterSpec {
	for _, s := range req.Provision {
		if s.Name == name {
			return s.WithDefaults()
		}
	}
	return provision.ClusterSpec{Name: name}
}

func validName(s string) bool { return decode.IsDNSLabel(s) }

func addQty(dst *resource.Quantity, q resource.Quantity) {
	if !q.IsZero() {
		dst.Add(q)
	}
}

// Current returns the placement in force for app, read from its instances: one
// assignment per replica an instance asks for, numbered per component in the order of
// the instances' clusters (node pools are not known). A loop that restarts starts
// from it. Instances of components the application no longer has are left out.
func (a *Actor) Current(ctx context.Context, app placement.Application) ([]placement.Assignment, error) {
	ns := appNamespace(app)
	ins, err := a.w.ListInstances(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("act: list instances of %s in namespace %s: %w", app.Metadata.Name, ns, err)
	}
	SortInstances(ins)
	var out []placement.Assignment
	next := map[string]int{}
	for _, comp := range app.Components {
		for _, in := range ins {
			if in.Component != comp.Name {
				continue
			}
			for range in.Replicas {
				out = append(out, placement.Assignment{App: app.Metadata.Name, Component: comp.Name, Replica: next[comp.Name], Cluster: in.Cluster})
				next[comp.Name]++
			}
		}
	}
	return out, nil
}

// ProvisionClusters creates or scales the clusters and waits until they are ready:
// the provision steps of Apply alone, for a shortfall when no plan is feasible yet.
func (a *Actor) ProvisionClusters(ctx context.Context, specs []provision.ClusterSpec) (*Result, error) {
	if len(specs) == 0 {
		return &Result{}, nil
	}
	req := Request{Provision: specs}
	if err := a.checkProvision(req); err != nil {
		return nil, err
	}
	d := &desired{}
	o, err := a.observeClusters(ctx, req)
	if err != nil {
		return nil, err
	}
	r := &applyRun{req: req, d: d, res: &Result{}}
	for _, s := range d.steps(req, o) {
		if s.Kind.phase() != 0 {
			continue
		}
		if err := a.run(ctx, r, s); err != nil {
			return r.res, err
		}
	}
	return r.res, nil
}
