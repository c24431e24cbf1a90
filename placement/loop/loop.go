package loop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
)

// ErrInvalid: an option or application breaks a rule; the message names it.
var ErrInvalid = errkind.New(errkind.Invalid, "loop: invalid")

// Options configures a Loop. Topology is required; the zero value of every other
// field is a sensible default.
type Options struct {
	// Topology returns the declared continuum now; clusters may appear and go
	// between calls.
	Topology func(ctx context.Context) (*topology.Topology, error)
	// Sources are the metrics sources, by precedence (metrics.Collect). None: the
	// loop decides on the declared figures.
	Sources []metrics.Source
	// Collect tunes metrics.Collect. When Collect.Pairs is nil the loop measures the
	// pairs the topology has links for (cluster links and site access links); Sites
	// and Now are set by the loop.
	Collect metrics.CollectOptions
	// Engine decides; nil means placement.NewEngine with default options.
	Engine *placement.Engine
	// MaxNodes and Timeout are the engine's search budget per decision
	// (placement.Request); zero means the engine's defaults. When a budget runs out
	// before the engine finds a complete placement or proves there is none, the round
	// decides DecideUndecided: it keeps the placement in force and never provisions.
	MaxNodes int
	Timeout  time.Duration
	// Hysteresis is the relative improvement below which re-optimisation keeps the
	// placement in force; zero means 0.1.
	Hysteresis float64
	// Dwell is how long a component that moved is left alone by re-optimisation;
	// zero means 10 minutes.
	Dwell time.Duration
	// Confirm is how many distinct observations, in consecutive rounds, must see a
	// violation before a repair migrates; zero means 2. Observations are told apart
	// by their sample time (Observation.SampleTime): two rounds that read the same
	// samples, such as a full and a watch round on the same tick, count once.
	Confirm int
	// Interval is the time between full rounds; zero means 1 minute.
	Interval time.Duration
	// WatchInterval is the time between watch rounds (repair only); zero means 10 s.
	WatchInterval time.Duration
	// Provision answers a shortfall with clusters to create (specs for Cluster API);
	// nil means the loop only reports that nothing fits. The clusters must appear in
	// Topology once ready.
	Provision func(ctx context.Context, topo *topology.Topology, short *placement.UnplaceableError) ([]provision.ClusterSpec, error)
	// Clock drives the ticks and stamps rounds; nil means the real clock.
	Clock clock.WithTicker
	// Log receives one line per round and per step; the zero logger discards.
	Log logr.Logger
	// Recorder records Events in the applications' namespaces; nil records none.
	Recorder events.EventRecorder
	// Registry registers the loop's metrics; nil registers none.
	Registry prometheus.Registerer
	// OnRound is called after each round with its report (from the loop's goroutine).
	OnRound func(*Round)
	// NoLeaderElection makes the Runnable run on every replica of the manager.
	NoLeaderElection bool
	// Anticipate tunes forecasts, spike and shift detection and demand forecasts
	// (see Anticipation); the zero value anticipates with the defaults, and
	// Anticipate.Reactive turns it off.
	Anticipate Anticipation
	// Demand reports the demand at sites that components with a placement.Scale
	// follow; nil leaves them at their replicas (reported as a problem).
	Demand DemandSource
}

// DecisionKind is what a round decided.
type DecisionKind string

// The decisions.
const (
	// DecidePlace: a first placement (or of new components).
	DecidePlace DecisionKind = "place"
	// DecideKeep: the placement in force stays.
	DecideKeep DecisionKind = "keep"
	// DecideConfirming: a violation was seen, not yet in Options.Confirm rounds.
	DecideConfirming DecisionKind = "confirming"
	// DecideRepair: replicas that break a constraint move.
	DecideRepair DecisionKind = "repair"
	// DecideReoptimize: a better placement, by more than the hysteresis.
	DecideReoptimize DecisionKind = "reoptimize"
	// DecideUndecided: the engine ran out of its budget without a complete placement
	// or a proof that none exists; the placement in force is kept and nothing is
	// provisioned (Options.MaxNodes and Timeout set the budget). The next round
	// decides again with another seed (placement.Request.Seed).
	DecideUndecided DecisionKind = "undecided"
	// DecideProvision: nothing fits; clusters are being provisioned.
	DecideProvision DecisionKind = "provision"
	// DecideUnplaceable: nothing fits and there is no provisioning policy (or it
	// offered nothing).
	DecideUnplaceable DecisionKind = "unplaceable"
)

// Round reports one round.
type Round struct {
	Number int `json:"number"`
	// At is when the round started (before Observe), on the loop's clock; the
	// round ended at At + Observe + Decide + Act.
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	// Observed summarises what was observed.
	Observed Observation `json:"observed"`
	Decision Decision    `json:"decision"`
	// Plan is the plan carried out (nil when the round kept the placement).
	Plan *placement.Plan `json:"-"`
	// Steps are the steps act ran, per application.
	Steps map[string][]act.StepResult `json:"steps,omitempty"`
	// Observe, Decide and Act are how long each phase took on the loop's clock.
	Observe time.Duration `json:"observe"`
	Decide  time.Duration `json:"decide"`
	Act     time.Duration `json:"act"`
	Err     error         `json:"-"`
}

// Observation is what a round saw.
type Observation struct {
	// SampleTime is the time of the newest sample observed (the ObservedAt of the
	// measured latency samples and of the resource values), or the round's start
	// when the loop has no metrics sources or no sample has a time: rounds with the
	// same SampleTime saw one observation.
	SampleTime time.Time `json:"sampleTime"`
	Clusters   int       `json:"clusters"`
	// Measured counts the latency pairs with a fresh measurement; Missing those with
	// none (the declared figure is used).
	Measured int `json:"measured"`
	Missing  int `json:"missing"`
	// Problems are failed or stale source calls, one line each.
	Problems []string `json:"problems,omitempty"`
	// Deviations name pairs whose measured RTT is off the declared one by more than
	// 20 %: "gva-edge<->mil-edge 20.0ms (declared 4.6ms)".
	Deviations []string `json:"deviations,omitempty"`
	// Gone names clusters of the placement in force missing from the topology.
	Gone []string `json:"gone,omitempty"`
	// Down names clusters whose resources every source reported unreachable
	// (metrics.ErrUnreachable): nothing is placed there, and what ran there is
	// placed again at once.
	Down []string `json:"down,omitempty"`
	// Anomalies are the spikes and confirmed level shifts of the measured RTTs in
	// this observation (anticipating loops only): "spike gva-edge<->mil-edge:
	// 20.00ms (level 5.80ms, robust z 46.1)".
	Anomalies []string `json:"anomalies,omitempty"`
}

// Decision is what a round decided, and why.
type Decision struct {
	Kind   DecisionKind `json:"kind"`
	Reason string       `json:"reason"`
	// Moves counts replicas that change cluster.
	Moves int `json:"moves"`
	// Violations name the replicas whose placement broke a constraint.
	Violations []string `json:"violations,omitempty"`
	// Changes are the replicas the plan carried out moves, with why (the plan's
	// Changes; placement.Change names the constraint a repair fixes).
	Changes []placement.Change `json:"changes,omitempty"`
	// Objective of the plan carried out, and of the placement in force before.
	Objective float64 `json:"objective"`
	Previous  float64 `json:"previous"`
	// Provision are the clusters asked for.
	Provision []provision.ClusterSpec `json:"provision,omitempty"`
}

// Loop is the OODA loop over a set of applications.
type Loop struct {
	actor *act.Actor
	opts  Options
	m     *loopMetrics

	trig chan string

	mu   sync.Mutex // guards apps, removing
	apps map[string]placement.Application
	// removing are the applications whose RemoveApplication failed: rounds leave
	// them alone, and RemoveApplication can be called again to finish.
	removing map[string]placement.Application

	round sync.Mutex // held by a round; guards the fields below
	n     int
	// current is the placement in force (what act last carried out or read back).
	current []placement.Assignment
	known   map[string]bool // apps whose current placement is known
	// unsettled are the apps whose placement in force may not be fully carried out:
	// read back from instances, or their last Apply failed.
	unsettled map[string]bool
	seen      int       // distinct observations in consecutive rounds that saw a violation
	seenAt    time.Time // the SampleTime of the last observation counted in seen
	// clusters are the clusters available in the last round ("" before the first).
	clusters string
	// hist holds the RTTs measured within the last Dwell, per pair, oldest first.
	hist  map[placement.Pair][]rttAt
	moved map[string]time.Time
	// now and worstRTT keep the engine's problem across rounds: on the measured
	// snapshot (repairs) and on the worst RTTs of the last Dwell (re-optimisation).
	now, worstRTT prepared
	// undecided counts the rounds in a row whose decision was DecideUndecided; it is
	// the next decision's Request.Seed, so that each retry makes other random choices
	// (whether the engine finds a plan on a tight instance is partly luck).
	undecided uint64
	// ant holds the series the loop forecasts and watches (anticipate.go); scaled
	// the replicas of scaled components, scaleNote what this round's scaling
	// changed (scale.go).
	ant       *anticipator
	scaled    map[string]*scaled
	scaleNote string
}

// New returns a loop that carries decisions out through actor, for apps. Every
// application needs a home cluster (App.Home): its namespace there never moves.
func New(actor *act.Actor, apps []placement.Application, opts Options) (*Loop, error) {
	if actor == nil {
		return nil, fmt.Errorf("loop: new: actor: must not be nil: %w", ErrInvalid)
	}
	if opts.Topology == nil {
		return nil, fmt.Errorf("loop: new: options.topology: must be set: %w", ErrInvalid)
	}
	switch {
	case opts.Hysteresis < 0:
		return nil, fmt.Errorf("loop: new: options.hysteresis: must be >= 0, got %g: %w", opts.Hysteresis, ErrInvalid)
	case opts.Dwell < 0, opts.Interval < 0, opts.WatchInterval < 0:
		return nil, fmt.Errorf("loop: new: options.dwell, interval and watchInterval: must be >= 0: %w", ErrInvalid)
	case opts.Confirm < 0:
		return nil, fmt.Errorf("loop: new: options.confirm: must be >= 0, got %d: %w", opts.Confirm, ErrInvalid)
	}
	if opts.Hysteresis == 0 {
		opts.Hysteresis = 0.1
	}
	if opts.Dwell == 0 {
		opts.Dwell = 10 * time.Minute
	}
	if opts.Confirm == 0 {
		opts.Confirm = 2
	}
	if opts.Interval == 0 {
		opts.Interval = time.Minute
	}
	if opts.WatchInterval == 0 {
		opts.WatchInterval = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Engine == nil {
		e, err := placement.NewEngine(placement.Options{})
		if err != nil {
			return nil, err
		}
		opts.Engine = e
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	ant, err := newAnticipator(opts.Anticipate, opts.Registry)
	if err != nil {
		return nil, err
	}
	opts.Anticipate = ant.o
	l := &Loop{actor: actor, opts: opts, m: m, trig: make(chan string, 1), apps: map[string]placement.Application{},
		removing: map[string]placement.Application{}, known: map[string]bool{}, unsettled: map[string]bool{}, moved: map[string]time.Time{}, hist: map[placement.Pair][]rttAt{},
		ant: ant, scaled: map[string]*scaled{}}
	for i, a := range apps {
		if err := l.SetApplication(a); err != nil {
			return nil, fmt.Errorf("loop: new: apps[%d]: %w", i, err)
		}
	}
	return l, nil
}

// SetApplication adds or replaces an application and triggers a round.
func (l *Loop) SetApplication(app placement.Application) error {
	name := app.Metadata.Name
	if name == "" {
		return fmt.Errorf("loop: application: metadata.name: must be set: %w", ErrInvalid)
	}
	if app.Home == "" {
		return fmt.Errorf("loop: application %s: home: must be set (its namespace stays on one cluster): %w", name, ErrInvalid)
	}
	l.mu.Lock()
	l.apps[name] = app
	delete(l.removing, name)
	l.mu.Unlock()
	l.Trigger("application " + name + " set")
	return nil
}

// RemoveApplication stops every instance of the application and forgets it. When it
// fails (the API server timed out, the process crashed), rounds no longer place the
// application, and calling RemoveApplication again finishes the removal.
func (l *Loop) RemoveApplication(ctx context.Context, name string) error {
	l.mu.Lock()
	app, ok := l.apps[name]
	if !ok {
		app, ok = l.removing[name]
	}
	delete(l.apps, name)
	if ok {
		l.removing[name] = app
	}
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("loop: remove %s: no such application: %w", name, act.ErrNotFound)
	}
	l.round.Lock()
	defer l.round.Unlock()
	l.current = slices.DeleteFunc(l.current, func(a placement.Assignment) bool { return a.App == name })
	delete(l.known, name)
	delete(l.unsettled, name)
	_, err := l.actor.Remove(ctx, act.Request{App: app, Home: app.Home})
	if err == nil {
		l.mu.Lock()
		delete(l.removing, name)
		l.mu.Unlock()
		l.event(app, corev1.EventTypeNormal, "Removed", "Remove", "every instance of %s stopped", name)
	}
	return err
}

// Trigger asks for a full round as soon as possible; triggers coalesce.
func (l *Loop) Trigger(reason string) {
	select {
	case l.trig <- reason:
	default:
	}
}

// NeedLeaderElection makes only the leader run the loop (manager.LeaderElectionRunnable).
func (l *Loop) NeedLeaderElection() bool { return !l.opts.NoLeaderElection }

// Start runs rounds until ctx ends (manager.Runnable): a full round at once, then on
// every tick and trigger. It returns nil when ctx ends.
func (l *Loop) Start(ctx context.Context) error {
	full := l.opts.Clock.NewTicker(l.opts.Interval)
	defer full.Stop()
	watch := l.opts.Clock.NewTicker(l.opts.WatchInterval)
	defer watch.Stop()
	l.RunOnceWith(ctx, "start", true)
	for {
		trigger, isFull := "", true
		select {
		case <-ctx.Done():
			return nil
		case <-full.C():
			trigger = "interval"
		case <-watch.C():
			trigger, isFull = "watch", false
		case why := <-l.trig:
			trigger = "trigger: " + why
		}
		if ctx.Err() != nil {
			return nil // a tick came with the end: no round cut short at once
		}
		l.RunOnceWith(ctx, trigger, isFull)
	}
}

// RunOnce runs one full round now and reports it.
func (l *Loop) RunOnce(ctx context.Context) *Round { return l.RunOnceWith(ctx, "run once", true) }

// RunOnceWith runs one round: full re-optimises, a watch round only repairs.
func (l *Loop) RunOnceWith(ctx context.Context, trigger string, full bool) *Round {
	l.round.Lock()
	defer l.round.Unlock()
	l.n++
	clk := l.opts.Clock
	r := &Round{Number: l.n, At: clk.Now(), Trigger: trigger}
	r.Err = l.round1(ctx, r, full)
	l.m.record(r)
	if r.Err != nil && ctx.Err() == nil {
		l.opts.Log.Error(r.Err, "round failed", "round", r.Number, "trigger", r.Trigger, "decision", r.Decision.Kind)
	} else {
		kv := []any{"round", r.Number, "trigger", r.Trigger, "decision", r.Decision.Kind, "moves", r.Decision.Moves, "reason", r.Decision.Reason}
		if len(r.Observed.Anomalies) > 0 {
			kv = append(kv, "anomalies", r.Observed.Anomalies)
		}
		l.opts.Log.Info("round", kv...)
	}
	if l.opts.OnRound != nil {
		l.opts.OnRound(r)
	}
	return r
}

func (l *Loop) appsNow() []placement.Application {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Collect(maps.Values(l.apps))
	slices.SortFunc(out, func(a, b placement.Application) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

func (l *Loop) round1(ctx context.Context, r *Round, full bool) error {
	clk := l.opts.Clock
	apps := l.appsNow()
	if len(apps) == 0 {
		r.Decision = Decision{Kind: DecideKeep, Reason: "no applications"}
		return nil
	}
	// Observe.
	t0 := clk.Now()
	topo, err := l.opts.Topology(ctx)
	if err != nil {
		return fmt.Errorf("loop: observe: topology: %w", err)
	}
	if err := l.readCurrent(ctx, apps); err != nil {
		return err
	}
	snap, err := l.observe(ctx, topo, apps, &r.Observed)
	r.Observe = clk.Since(t0)
	if err != nil {
		return err
	}
	l.anticipateObserve(r, snap, apps)
	apps = l.scaleApps(ctx, apps, r)
	// A cluster that appeared, went or went down makes any round a full one.
	if changed := l.clustersChanged(topo, r.Observed.Down); changed != "" && !full {
		full = true
		r.Trigger += "; " + changed
	}
	// Orient + decide.
	t1 := clk.Now()
	plan, provisionSpecs, err := l.decide(ctx, topo, snap, apps, r, full)
	r.Decide = clk.Since(t1)
	if err != nil {
		return err
	}
	// Act.
	t2 := clk.Now()
	defer func() { r.Act = clk.Since(t2) }()
	if len(provisionSpecs) > 0 {
		res, err := l.actor.ProvisionClusters(ctx, provisionSpecs)
		if res != nil {
			r.Steps = map[string][]act.StepResult{"": res.Steps}
		}
		if err != nil {
			return fmt.Errorf("loop: act: provision: %w", err)
		}
		l.Trigger("clusters provisioned")
		return nil
	}
	if plan == nil {
		return nil
	}
	r.Plan = plan
	r.Steps = map[string][]act.StepResult{}
	var errs []error
	applied := slices.Clone(l.current)
	for _, app := range apps {
		res, err := l.actor.Apply(ctx, act.Request{App: app, Assignments: plan.Assignments, Home: app.Home})
		if res != nil {
			r.Steps[app.Metadata.Name] = res.Steps
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("loop: act on %s: %w", app.Metadata.Name, err))
			l.event(app, corev1.EventTypeWarning, "ActFailed", "Act", "%v", err)
			l.unsettled[app.Metadata.Name] = true
			continue
		}
		delete(l.unsettled, app.Metadata.Name)
		applied = slices.DeleteFunc(applied, func(a placement.Assignment) bool { return a.App == app.Metadata.Name })
		for _, a := range plan.Assignments {
			if a.App == app.Metadata.Name {
				applied = append(applied, a)
			}
		}
		if moves := l.markMoved(app.Metadata.Name, plan.Assignments, clk.Now()); moves > 0 || r.Decision.Kind == DecidePlace {
			l.event(app, corev1.EventTypeNormal, eventReason(r.Decision.Kind), "Act", "%s: %s (%d replica(s) moved)", r.Decision.Kind, r.Decision.Reason, moves)
		}
	}
	l.current = applied
	return errors.Join(errs...)
}

// readCurrent learns the placement in force of applications the loop has not placed
// yet from their instances (after a restart or a leader change).
func (l *Loop) readCurrent(ctx context.Context, apps []placement.Application) error {
	for _, app := range apps {
		name := app.Metadata.Name
		if l.known[name] {
			continue
		}
		cur, err := l.actor.Current(ctx, app)
		if err != nil {
			return fmt.Errorf("loop: observe: %w", err)
		}
		l.current = slices.DeleteFunc(l.current, func(a placement.Assignment) bool { return a.App == name })
		l.current = append(l.current, cur...)
		l.known[name] = true
		l.unsettled[name] = true
	}
	return nil
}

// observe collects metrics and returns the engine's snapshot.
func (l *Loop) observe(ctx context.Context, topo *topology.Topology, apps []placement.Application, obs *Observation) (*placement.Snapshot, error) {
	clusters := topo.Clusters()
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name
	}
	obs.Clusters = len(names)
	for _, a := range l.current {
		if _, ok := topo.Cluster(a.Cluster); !ok && !slices.Contains(obs.Gone, a.Cluster) {
			obs.Gone = append(obs.Gone, a.Cluster)
		}
	}
	slices.Sort(obs.Gone)
	snap := &placement.Snapshot{Topology: topo, Now: l.opts.Clock.Now()} // Now: NoExecute toleration periods
	if len(l.opts.Sources) == 0 {
		obs.SampleTime = l.opts.Clock.Now()
		return snap, nil
	}
	co := l.opts.Collect
	co.Now = l.opts.Clock.Now
	if co.Pairs == nil {
		co.Pairs = linkPairs(topo)
	}
	ms, err := metrics.Collect(ctx, l.opts.Sources, names, co)
	if err != nil {
		return nil, fmt.Errorf("loop: observe: %w", err)
	}
	obs.Measured, obs.Missing = len(ms.Latency), len(ms.MissingLatency)
	for _, p := range ms.Problems {
		what := p.Cluster
		if what == "" {
			what = p.Pair.String()
		}
		obs.Problems = append(obs.Problems, fmt.Sprintf("%s from %s: %v", what, p.Source, p.Err))
	}
	snap.RTT = map[placement.Pair]topology.Duration{}
	for _, rv := range ms.Resources {
		for _, vals := range []map[topology.ResourceName]metrics.Value{rv.Capacity, rv.Allocatable, rv.Used} {
			for _, v := range vals {
				if v.ObservedAt.After(obs.SampleTime) {
					obs.SampleTime = v.ObservedAt
				}
			}
		}
	}
	for p, s := range ms.Latency {
		if !s.Measured() {
			continue
		}
		if s.ObservedAt.After(obs.SampleTime) {
			obs.SampleTime = s.ObservedAt
		}
		snap.RTT[placement.MakePair(p.A, p.B)] = s.P50
		if declared, ok := declaredRTT(topo, p.A, p.B); ok && declared > 0 {
			if dev := float64(s.P50-declared) / float64(declared); dev > 0.2 || dev < -0.2 {
				obs.Deviations = append(obs.Deviations, fmt.Sprintf("%s %v (declared %v)", p, s.P50, declared))
			}
		}
	}
	slices.Sort(obs.Deviations)
	if obs.SampleTime.IsZero() { // no sample carried a time: the round is its own observation
		obs.SampleTime = l.opts.Clock.Now()
	}
	l.remember(snap.RTT)
	// The placement in force uses some of the free capacity measured: give it back,
	// or the engine would count the applications' own replicas twice (freeOf).
	snap.Free = freeOf(ms, ownUse(l.current, apps))
	// Clusters every source says are down offer nothing (after the give-back above:
	// what ran there is not running).
	for _, p := range ms.Problems {
		if _, answered := ms.Resources[p.Cluster]; p.Cluster == "" || answered || !errors.Is(p.Err, metrics.ErrUnreachable) {
			continue
		}
		if c, ok := topo.Cluster(p.Cluster); ok && !slices.Contains(obs.Down, p.Cluster) {
			obs.Down = append(obs.Down, p.Cluster)
			none := topology.ResourceList{}
			for r := range c.Capacity {
				none[r] = resource.Quantity{}
			}
			snap.Free[p.Cluster] = none
		}
	}
	slices.Sort(obs.Down)
	return snap, nil
}

// declaredRTT is the topology's RTT between a and b (the best path, as a
// measurement between them sees it).
func declaredRTT(topo *topology.Topology, a, b string) (topology.Duration, bool) {
	d, err := topo.RTT(a, b)
	return d, err == nil
}

// linkPairs are the pairs the topology has links for: what measurements can change.
func linkPairs(topo *topology.Topology) []metrics.Pair {
	var out []metrics.Pair
	for _, l := range topo.Links() {
		out = append(out, metrics.MakePair(l.A, l.B))
	}
	for _, s := range topo.Sites() {
		for _, a := range s.Access {
			out = append(out, metrics.MakePair(s.Name, a.Cluster))
		}
	}
	return out
}

func ownUse(current []placement.Assignment, apps []placement.Application) map[string]topology.ResourceList {
	comps := map[[2]string]*placement.Component{}
	for i := range apps {
		for j := range apps[i].Components {
			c := &apps[i].Components[j]
			comps[[2]string{apps[i].Metadata.Name, c.Name}] = c
		}
	}
	out := map[string]topology.ResourceList{}
	for _, a := range current {
		c := comps[[2]string{a.App, a.Component}]
		if c == nil || a.Cluster == "" {
			continue
		}
		if out[a.Cluster] == nil {
			out[a.Cluster] = topology.ResourceList{}
		}
		for r, q := range c.Requests {
			sum := out[a.Cluster][r]
			if sum.IsZero() {
				sum = resource.Quantity{Format: q.Format}
			}
			sum.Add(q)
			out[a.Cluster][r] = sum
		}
	}
	return out
}

type rttAt struct {
	at  time.Time
	rtt topology.Duration
}

// remember keeps the measurements of the last Dwell.
func (l *Loop) remember(rtt map[placement.Pair]topology.Duration) {
	now := l.opts.Clock.Now()
	for p, d := range rtt {
		l.hist[p] = append(l.hist[p], rttAt{now, d})
	}
	for p, h := range l.hist {
		i := 0
		for i < len(h) && now.Sub(h[i].at) > l.opts.Dwell {
			i++
		}
		if i == len(h) {
			delete(l.hist, p)
		} else {
			l.hist[p] = h[i:]
		}
	}
}

// worst returns the snapshot with each pair's worst RTT measured within the last
// Dwell: what re-optimisation judges a placement by, so that a link that was bad a
// moment ago does not draw a component back.
func (l *Loop) worst(snap *placement.Snapshot) *placement.Snapshot {
	if len(l.hist) == 0 {
		return snap
	}
	out := *snap
	out.RTT = make(map[placement.Pair]topology.Duration, len(l.hist))
	for p, d := range snap.RTT {
		out.RTT[p] = d
	}
	for p, h := range l.hist {
		for _, x := range h {
			out.RTT[p] = max(out.RTT[p], x.rtt)
		}
	}
	return &out
}

// clustersChanged says which clusters appeared or left (went or went down) since the
// last round; "" when none did, or in the first round.
func (l *Loop) clustersChanged(topo *topology.Topology, down []string) string {
	var now []string
	for _, c := range topo.Clusters() {
		if !slices.Contains(down, c.Name) {
			now = append(now, c.Name)
		}
	}
	cur := strings.Join(now, ",")
	prev := l.clusters
	l.clusters = cur
	if prev == "" || prev == cur {
		return ""
	}
	before := strings.Split(prev, ",")
	var added, left []string
	for _, c := range now {
		if !slices.Contains(before, c) {
			added = append(added, c)
		}
	}
	for _, c := range before {
		if !slices.Contains(now, c) {
			left = append(left, c)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "clusters appeared: "+strings.Join(added, ", "))
	}
	if len(left) > 0 {
		parts = append(parts, "clusters left: "+strings.Join(left, ", "))
	}
	return strings.Join(parts, "; ")
}
