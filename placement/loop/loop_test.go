package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/events"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// rig is the loop on the simulated Fig. 1 continuum with the XR collaboration app.
type rig struct {
	t      *testing.T
	world  *sim.World
	loop   *loop.Loop
	app    placement.Application
	rounds []*loop.Round
	// moves records every replica that changed cluster: component -> (time, from, to).
	moves map[string][]move
	where map[string]string // replica -> cluster in the last plan carried out
	// zero is set when a component had no ready replica after a tick while it
	// migrated (it had some before).
	zero []string
}

type move struct {
	at       time.Duration
	from, to string
}

func newRig(t *testing.T, lo loop.Options, wo sim.Options) *rig {
	t.Helper()
	wo.Topology = topologytest.PaperFig1()
	world, err := sim.New(wo)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, world: world, app: placementtest.XRCollab(), moves: map[string][]move{}}
	if err := world.AddApplication(r.app); err != nil {
		t.Fatal(err)
	}
	w, err := world.Workloads(r.app.Home)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.app.Components {
		w.AddTemplate(r.app.Metadata.Name, c.Name)
	}
	actor, err := act.New(w, act.Options{Peering: world.Peering(), Provisioner: world.Provisioner(), Clock: world.Clock(), PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lo.Topology, lo.Sources, lo.Clock = world.TopologyFunc(), world.Sources(), world.Clock()
	user := lo.OnRound
	lo.OnRound = func(rd *loop.Round) {
		r.record(rd)
		if user != nil {
			user(rd)
		}
	}
	if r.loop, err = loop.New(actor, []placement.Application{r.app}, lo); err != nil {
		t.Fatal(err)
	}
	// After every tick: a component that had ready replicas keeps at least one.
	had := map[string]bool{}
	world.AfterTick(func(time.Time) {
		for _, c := range r.app.Components {
			n := world.ReadyReplicas(r.app.Metadata.Name, c.Name)
			if had[c.Name] && n == 0 {
				r.zero = append(r.zero, fmt.Sprintf("%s at +%s", c.Name, world.Elapsed()))
			}
			had[c.Name] = had[c.Name] || n > 0
		}
	})
	return r
}

func (r *rig) record(rd *loop.Round) {
	r.rounds = append(r.rounds, rd)
	if rd.Plan == nil || rd.Err != nil {
		return
	}
	prev := r.where
	now := map[string]string{}
	for _, a := range rd.Plan.Assignments {
		key := fmt.Sprintf("%s[%d]", a.Component, a.Replica)
		now[key] = a.Cluster
		if from, ok := prev[key]; ok && from != a.Cluster {
			r.moves[key] = append(r.moves[key], move{r.world.Elapsed(), from, a.Cluster})
		}
	}
	r.where = now
}

// run drives the loop for d of simulated time like Start does: a watch round every
// 10 s, a full round every minute.
func (r *rig) run(d time.Duration) {
	r.t.Helper()
	end := r.world.Elapsed() + d
	for r.world.Elapsed() < end {
		full := r.world.Elapsed()%time.Minute == 0
		trigger := "watch"
		if full {
			trigger = "interval"
		}
		if err := r.world.Run(context.Background(), time.Hour, func(ctx context.Context) error {
			r.loop.RunOnceWith(ctx, trigger, full)
			return nil
		}); err != nil {
			r.t.Fatal(err)
		}
		next := (r.world.Elapsed()/(10*time.Second) + 1) * 10 * time.Second
		if err := r.world.Step(next - r.world.Elapsed()); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rig) at(d time.Duration, e sim.Event) {
	r.t.Helper()
	if err := r.world.At(d, e); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) decisions() map[loop.DecisionKind]int {
	out := map[loop.DecisionKind]int{}
	for _, rd := range r.rounds {
		out[rd.Decision.Kind]++
		if rd.Err != nil && !errors.Is(rd.Err, context.Canceled) {
			r.t.Errorf("round %d (%s): %v", rd.Number, rd.Trigger, rd.Err)
		}
	}
	return out
}

// flaps returns the replicas that moved back to a cluster they left less than window
// earlier.
func (r *rig) flaps(window time.Duration) []string {
	var out []string
	for key, ms := range r.moves {
		for i, m := range ms {
			for _, earlier := range ms[:i] {
				if earlier.from == m.to && m.at-earlier.at < window {
					out = append(out, fmt.Sprintf("%s: %s -> %s at +%s, back at +%s", key, earlier.from, earlier.to, earlier.at, m.at))
				}
			}
		}
	}
	return out
}

// oscillate degrades gva-edge<->mil-edge (session-sync on gva-edge then breaks its
// 15 ms flow to render-milan) for 30 s of every period, from start for n periods.
func (r *rig) oscillate(start, period time.Duration, n int) {
	for i := range n {
		at := start + time.Duration(i)*period
		r.at(at, sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond))
		r.at(at+30*time.Second, sim.RestoreLink("gva-edge", "mil-edge"))
	}
}

// TestLoopDoesNotFlap: a link that degrades for 30 s every 2 minutes for half an hour.
// With the defaults (confirm 2 rounds, 10 % hysteresis, 10-minute dwell), no replica
// goes back to a cluster it left within the dwell, and no component is ever without
// a ready replica. The same script with the three rules switched off does flap: the
// test can tell.
func TestLoopDoesNotFlap(t *testing.T) {
	const dwell = 10 * time.Minute
	r := newRig(t, loop.Options{}, sim.Options{})
	r.oscillate(2*time.Minute, 2*time.Minute, 15)
	r.run(35 * time.Minute)
	d := r.decisions()
	if d[loop.DecidePlace] != 1 {
		t.Errorf("decisions %v: want exactly one first placement", d)
	}
	if f := r.flaps(dwell); len(f) > 0 {
		t.Errorf("the loop flapped:\n%s", strings.Join(f, "\n"))
	}
	if len(r.zero) > 0 {
		t.Errorf("components without a ready replica: %v", r.zero)
	}
	if d[loop.DecideConfirming] == 0 {
		t.Errorf("decisions %v: the degradations were never even seen", d)
	}

	eager := newRig(t, loop.Options{Confirm: 1, Hysteresis: 1e-9, Dwell: time.Nanosecond}, sim.Options{})
	eager.oscillate(2*time.Minute, 2*time.Minute, 15)
	eager.run(35 * time.Minute)
	if f := eager.flaps(dwell); len(f) < 2 {
		t.Errorf("without confirmation, hysteresis and dwell the loop should flap on this script, flaps: %v (moves %v)", f, eager.moves)
	}
}

// TestLoopRepairsMakeBeforeBreak: a lasting degradation is confirmed, then repaired by
// moving session-sync, with a ready replica at every tick; metrics and events say so.
func TestLoopRepairsMakeBeforeBreak(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := events.NewFakeRecorder(100)
	r := newRig(t, loop.Options{Registry: reg, Recorder: rec}, sim.Options{})
	r.at(3*time.Minute, sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond))
	r.run(6 * time.Minute)
	d := r.decisions()
	if d[loop.DecideConfirming] != 1 || d[loop.DecideRepair] != 1 {
		t.Errorf("decisions %v: want one confirming round then one repair", d)
	}
	if ms := r.moves["session-sync[0]"]; len(ms) != 1 || ms[0].from != "gva-edge" || ms[0].to != "fra-cloud" {
		t.Errorf("session-sync moves %v, want gva-edge -> fra-cloud once", ms)
	}
	if len(r.zero) > 0 {
		t.Errorf("components without a ready replica: %v", r.zero)
	}
	for _, rd := range r.rounds {
		if rd.Decision.Kind != loop.DecideRepair {
			continue
		}
		var kinds []string
		for _, s := range rd.Steps[r.app.Metadata.Name] {
			kinds = append(kinds, string(s.Kind)+" "+s.Cluster)
		}
		if got := strings.Join(kinds, ", "); got != "start fra-cloud, wait-ready , stop gva-edge" {
			t.Errorf("repair steps: %s", got)
		}
	}
	if got := gathered(t, reg, "continuum_loop_migrations_total", ""); got != 1 {
		t.Errorf("continuum_loop_migrations_total = %v, want 1", got)
	}
	for decision, want := range map[string]float64{"place": 1, "confirming": 1, "repair": 1} {
		if got := gathered(t, reg, "continuum_loop_rounds_total", decision); got != want {
			t.Errorf("continuum_loop_rounds_total{decision=%q} = %v, want %v", decision, got, want)
		}
	}
	var evs []string
	for len(rec.Events) > 0 {
		evs = append(evs, <-rec.Events)
	}
	all := strings.Join(evs, "\n")
	for _, want := range []string{"Normal Placed", "Warning SLOViolation", "Normal Migrated"} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q:\n%s", want, all)
		}
	}
}

// gathered sums the counter's series (those with label decision=decision when set).
func gathered(t *testing.T, reg *prometheus.Registry, name, decision string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			match := decision == ""
			for _, l := range m.Label {
				if l.GetName() == "decision" && l.GetValue() == decision {
					match = true
				}
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestLoopRestartKeepsPlacement: a new loop (a restart, another leader) reads the
// placement in force from the instances and changes nothing.
func TestLoopRestartKeepsPlacement(t *testing.T) {
	r := newRig(t, loop.Options{}, sim.Options{})
	r.run(2 * time.Minute)
	w, err := r.world.Workloads(r.app.Home)
	if err != nil {
		t.Fatal(err)
	}
	actor, err := act.New(w, act.Options{Peering: r.world.Peering(), Clock: r.world.Clock(), PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := loop.New(actor, []placement.Application{r.app}, loop.Options{Topology: r.world.TopologyFunc(), Sources: r.world.Sources(), Clock: r.world.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	var rd *loop.Round
	if err := r.world.Run(context.Background(), time.Hour, func(ctx context.Context) error {
		rd = l2.RunOnce(ctx)
		return rd.Err
	}); err != nil {
		t.Fatal(err)
	}
	if rd.Decision.Kind != loop.DecideKeep || rd.Decision.Moves != 0 {
		t.Errorf("restarted loop decided %s (%s), want keep", rd.Decision.Kind, rd.Decision.Reason)
	}
	// It may carry the placement read back out again, to finish what a crashed Apply
	// left; here everything is in force, so it runs no step.
	for app, steps := range rd.Steps {
		if len(steps) > 0 {
			t.Errorf("restarted loop ran %d step(s) for %s: %v", len(steps), app, steps)
		}
	}
}

// TestLoopFailedCluster: when mil-edge fails, nothing else is within 5 ms of Milan's
// users: the loop reports render-milan unplaceable at once (no confirmation) and
// keeps everything else.
func TestLoopFailedCluster(t *testing.T) {
	r := newRig(t, loop.Options{}, sim.Options{})
	r.at(2*time.Minute, sim.FailCluster("mil-edge"))
	r.run(3 * time.Minute)
	var saw bool
	for _, rd := range r.rounds {
		if rd.Decision.Kind == loop.DecideUnplaceable {
			saw = true
			if !strings.Contains(rd.Decision.Reason, "render-milan") || len(rd.Observed.Down) != 1 || rd.Observed.Down[0] != "mil-edge" {
				t.Errorf("unplaceable round: down %v, reason %q", rd.Observed.Down, rd.Decision.Reason)
			}
		}
	}
	if !saw {
		t.Errorf("no round reported render-milan unplaceable after mil-edge failed; decisions %v", r.decisions())
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	world, err := sim.New(sim.Options{Topology: topologytest.PaperFig1()})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := world.Workloads("fra-cloud")
	actor, _ := act.New(w, act.Options{})
	noHome := placementtest.XRCollab()
	noHome.Home = ""
	for _, tc := range []struct {
		actor *act.Actor
		apps  []placement.Application
		opts  loop.Options
		want  string
	}{
		{nil, nil, loop.Options{Topology: world.TopologyFunc()}, "actor"},
		{actor, nil, loop.Options{}, "options.topology"},
		{actor, nil, loop.Options{Topology: world.TopologyFunc(), Hysteresis: -1}, "options.hysteresis"},
		{actor, nil, loop.Options{Topology: world.TopologyFunc(), Confirm: -1}, "options.confirm"},
		{actor, nil, loop.Options{Topology: world.TopologyFunc(), Dwell: -time.Second}, "options.dwell"},
		{actor, []placement.Application{noHome}, loop.Options{Topology: world.TopologyFunc()}, "apps[0]: loop: application xr-collab: home"},
	} {
		_, err := loop.New(tc.actor, tc.apps, tc.opts)
		if !errors.Is(err, loop.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s): %v, want ErrInvalid naming %q", tc.want, err, tc.want)
		}
	}
}

// TestStartRunsRoundsOnTicksAndTriggers: Start, as a manager runs it, places at once,
// runs watch and full rounds on its tickers and a full round on Trigger, and returns
// nil when its context ends.
func TestStartRunsRoundsOnTicksAndTriggers(t *testing.T) {
	r := newRig(t, loop.Options{Interval: time.Minute, WatchInterval: 10 * time.Second}, sim.Options{})
	if !r.loop.NeedLeaderElection() {
		t.Error("NeedLeaderElection() = false, want true by default")
	}
	stop := make(chan struct{})
	r.at(150*time.Second, sim.Do("trigger the loop", func(*sim.World) error { r.loop.Trigger("test"); return nil }))
	r.at(5*time.Minute, sim.Do("stop the loop", func(*sim.World) error { close(stop); return nil }))
	if err := r.world.Run(context.Background(), time.Hour, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		go func() { <-stop; cancel() }()
		return r.loop.Start(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, rd := range r.rounds {
		kinds[strings.SplitN(rd.Trigger, ":", 2)[0]]++
	}
	if kinds["start"] != 1 || kinds["trigger"] < 1 || kinds["interval"] < 4 || kinds["watch"] < 20 {
		t.Errorf("rounds by trigger %v: want 1 start, >= 1 trigger, ~5 interval and ~25 watch rounds in 5 minutes", kinds)
	}
	if r.decisions()[loop.DecidePlace] != 1 {
		t.Errorf("decisions %v", r.decisions())
	}
}

// TestWatchRoundTurnsFullWhenClustersChange: a cluster that fails is noticed by the
// next watch round, which then runs as a full round and says why.
func TestWatchRoundTurnsFullWhenClustersChange(t *testing.T) {
	r := newRig(t, loop.Options{}, sim.Options{})
	r.at(65*time.Second, sim.FailCluster("gva-venue"))
	r.run(90 * time.Second)
	var saw bool
	for _, rd := range r.rounds {
		if strings.HasPrefix(rd.Trigger, "watch; clusters left: gva-venue") {
			saw = true
		}
	}
	if !saw {
		var tr []string
		for _, rd := range r.rounds {
			tr = append(tr, rd.Trigger)
		}
		t.Errorf("no watch round noticed gva-venue going down: %v", tr)
	}
}

// TestConfirmationCountsObservationsNotRounds: a link degraded exactly on a full
// round's tick is seen by the full round and the watch round of that same instant,
// which read the same samples (sim stamps a sample with the time it is read): one
// observation. With the defaults (confirm 2) neither repairs; the next watch round's
// fresh samples, 10 s later, confirm, and the repair happens then, once.
func TestConfirmationCountsObservationsNotRounds(t *testing.T) {
	const degradeAt = 10 * time.Minute
	r := newRig(t, loop.Options{}, sim.Options{})
	r.at(degradeAt, sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond))
	r.run(degradeAt) // rounds up to +9m50s; the clock is now on the +10m tick
	// The two rounds of the tick, with the clock standing still between them as
	// when both tickers fire at once. Neither should act; should one try, its act
	// waits on the fake clock, and the context ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := r.loop.RunOnceWith(ctx, "interval", true)
	watch := r.loop.RunOnceWith(ctx, "watch", false)
	if !full.At.Equal(watch.At) || !full.Observed.SampleTime.Equal(watch.Observed.SampleTime) {
		t.Fatalf("the two rounds started at %s and %s, samples at %s and %s: want one instant", full.At, watch.At,
			full.Observed.SampleTime, watch.Observed.SampleTime)
	}
	if full.Decision.Kind != loop.DecideConfirming || watch.Decision.Kind != loop.DecideConfirming {
		t.Fatalf("rounds on the degradation's tick decided %s (%s) and %s (%s); want both confirming: one observation, not two",
			full.Decision.Kind, full.Decision.Reason, watch.Decision.Kind, watch.Decision.Reason)
	}
	if !strings.Contains(watch.Decision.Reason, "1/2 distinct observations") {
		t.Errorf("watch round's reason %q: want it to count 1/2 observations", watch.Decision.Reason)
	}
	if err := r.world.Step(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.run(10 * time.Second) // the next watch round: a new sample
	last := r.rounds[len(r.rounds)-1]
	if last.Decision.Kind != loop.DecideRepair || !last.Observed.SampleTime.After(full.Observed.SampleTime) {
		t.Errorf("the watch round 10 s later decided %s (%s), samples at +%s; want the repair on a newer observation",
			last.Decision.Kind, last.Decision.Reason, last.Observed.SampleTime.Sub(r.world.Start()))
	}
	if ms := r.moves["session-sync[0]"]; len(ms) != 1 || ms[0].from != "gva-edge" || ms[0].to != "fra-cloud" {
		t.Errorf("session-sync moves %v, want gva-edge -> fra-cloud once", ms)
	}
	// Round.At is the start: the round's phases end by the clock's time now.
	if end := last.At.Add(last.Observe + last.Decide + last.Act); last.Act < time.Second || end.After(r.world.Clock().Now()) {
		t.Errorf("repair round at +%s took %s to act, ending at +%s, after the clock's +%s: At is not the round's start",
			last.At.Sub(r.world.Start()), last.Act, end.Sub(r.world.Start()), r.world.Elapsed())
	}
	// The decision lists the move as the plan's typed change, with the broken flow.
	if ch := last.Decision.Changes; len(ch) != 1 || ch[0].Component != "session-sync" || ch[0].From != "gva-edge" ||
		ch[0].To != "fra-cloud" || ch[0].Constraint == "" || !strings.Contains(ch[0].Why, "mil") {
		t.Errorf("repair decision's changes %#v: want session-sync gva-edge -> fra-cloud with the constraint it broke", ch)
	}
	if len(r.zero) > 0 {
		t.Errorf("components without a ready replica: %v", r.zero)
	}
}
