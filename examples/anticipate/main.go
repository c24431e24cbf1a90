// Command anticipate runs the OODA loop (placement/loop) twice on the same simulated
// continuum (placement/sim), with the same seed and script: once reactive (a
// violation is repaired after Options.Confirm observations, replicas follow the
// demand measured now) and once anticipating (forecasts, spike and shift detection,
// replicas that follow the forecast demand; issue 18). It prints, for both loops and
// for a static deployment sized for the peak, the SLO-violation-seconds,
// migrations, replica-hours and flaps, and writes a plot of violation-seconds and
// replicas over time:
//
//	go run ./examples/anticipate [-short] [-o anticipate.svg] [-seed 1] [-noise 0.02] [-v]
//
// The scenario (times since 09:00 on a Monday; -short runs the first 30 minutes):
// Geneva's users swing with the day and Milan's ramp from 20 to 180 between +8m and
// +28m and back between +100m and +120m; the Geneva edge carries other tenants'
// load that grows towards its 14:00 peak; lone 5-second spikes hit the Geneva
// access link; the Frankfurt-Geneva link flaps (30 s bad every 2 minutes from +20m
// to +40m); the Geneva-Milan link degrades slowly from +45m to +75m; Milan's access
// to its edge degrades slowly from +130m to +160m.
//
// The violations are judged from the world's truth, not from what the loop saw: a
// second counts when a flow or chain of the service is over its budget between the
// ready replicas (and sites), when the ready renderers serve fewer users than there
// are, or when a cluster running a replica uses more CPU than it has.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology"
)

//go:embed continuum.yaml
var continuumYAML []byte

//go:embed app.yaml
var appYAML []byte

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "anticipate:", err)
		os.Exit(1)
	}
}

type options struct {
	short   bool
	out     string
	seed    uint64
	noise   float64
	verbose bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("anticipate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.BoolVar(&o.short, "short", false, "run the first 30 minutes of the scenario only (CI)")
	fs.StringVar(&o.out, "o", "", "write the plot (SVG) to this file")
	fs.Uint64Var(&o.seed, "seed", 1, "the world's seed (latency noise), the same for both loops")
	fs.Float64Var(&o.noise, "noise", 0.02, "relative jitter of measured RTTs, in [0, 1) (sim.Options.Noise)")
	fs.BoolVar(&o.verbose, "v", false, "print every decision that changes something")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	topo, err := topology.Decode(continuumYAML)
	if err != nil {
		return err
	}
	app, err := placement.DecodeApplication(appYAML)
	if err != nil {
		return err
	}
	length := 180 * time.Minute
	if o.short {
		length = 30 * time.Minute
	}
	fmt.Fprintf(stdout, "anticipate: %s of %s on %s, seed %d, RTT noise %g, the same script for each loop\n", length, app.Metadata.Name, topo.Name(), o.seed, o.noise)
	var results []*result
	for _, mode := range []string{"reactive", "anticipating"} {
		res, err := simulate(ctx, topo, app, mode, length, o, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results = append(results, res)
	}
	static := staticPeak(app, results[0], length)
	table(stdout, results, static)
	if o.out != "" {
		if err := os.WriteFile(o.out, plot(results, length), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "plot written to %s\n", o.out)
	}
	return nil
}

// script is the scenario of the package documentation.
func script(w *sim.World, d *sim.Demand) sim.Script {
	ms := time.Millisecond
	s := sim.Script{
		{After: 0, Event: d.SetDemand("geneva", 60)},
		{After: 0, Event: d.Diurnal("geneva", 30, 24*time.Hour, 12*time.Hour)},
		{After: 0, Event: d.SetDemand("milan", 20)},
		{After: 8 * time.Minute, Event: d.RampDemand("milan", 180, 20*time.Minute)},
		{After: 100 * time.Minute, Event: d.RampDemand("milan", 20, 20*time.Minute)},
	}
	// Other tenants on the Geneva edge: 2 cores at 02:00, 24 at 14:00.
	s = append(s, sim.DiurnalLoad("gva-edge", topology.ResourceList{topology.ResourceCPU: q("2")},
		topology.ResourceList{topology.ResourceCPU: q("24")}, 14*time.Hour, w.Start(), 0, 180*time.Minute, 10*time.Second)...)
	for _, at := range []time.Duration{5, 60, 90, 150} {
		s = append(s, sim.Spike("geneva", "gva-edge", 30*ms, at*time.Minute, 5*time.Second)...)
	}
	s = append(s, sim.Flap("fra-cloud", "gva-edge", 40*ms, 20*time.Minute, 2*time.Minute, 30*time.Second, 10)...)
	s = append(s, sim.DegradeSlowly("gva-edge", "mil-edge", 5800*time.Microsecond, 25*ms, 45*time.Minute, 30*time.Minute, 10*time.Second)...)
	s = append(s, sim.Scheduled{After: 120 * time.Minute, Event: sim.RestoreLink("gva-edge", "mil-edge")})
	s = append(s, sim.DegradeSlowly("milan", "mil-edge", 1500*time.Microsecond, 12*ms, 130*time.Minute, 30*time.Minute, 10*time.Second)...)
	s = append(s, sim.Scheduled{After: 175 * time.Minute, Event: sim.RestoreLink("milan", "mil-edge")})
	return s
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// result is what one run measured.
type result struct {
	mode string
	// violation seconds, in all and by cause.
	violation float64
	byCause   map[string]float64
	// migrations are replicas that changed cluster; flaps those that went back to a
	// cluster they left less than flapWindow earlier.
	migrations, flaps int
	replicaHours      float64
	// peakDemand is the most users seen at once (both sites).
	peakDemand float64
	// series, one point a minute: cumulative violation-seconds, ready renderers,
	// users / per replica.
	t       []time.Duration
	cumViol []float64
	renders []float64
	need    []float64
}

const flapWindow = 30 * time.Minute

// warmUp is not judged: the first placement and the first scaling, the same for
// both loops.
const warmUp = 2 * time.Minute

func simulate(ctx context.Context, topo *topology.Topology, app placement.Application, mode string, length time.Duration, o options, stdout io.Writer) (*result, error) {
	world, err := sim.New(sim.Options{Topology: topo, Seed: o.seed, Noise: o.noise})
	if err != nil {
		return nil, err
	}
	demand := sim.NewDemand(world, placement.ScaleUsers)
	if err := world.Schedule(script(world, demand)); err != nil {
		return nil, err
	}
	wired, err := world.Wire([]placement.Application{app}, sim.WireOptions{})
	if err != nil {
		return nil, err
	}
	res := &result{mode: mode, byCause: map[string]float64{}}
	where := map[string]string{}
	var moves []moveAt
	lo := wired.Loop
	lo.Demand = demand
	lo.Anticipate.Reactive = mode == "reactive"
	lo.OnRound = func(r *loop.Round) {
		if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
			fmt.Fprintf(stdout, "  %s +%s round %d failed: %v\n", mode, world.Elapsed(), r.Number, r.Err)
		}
		if r.Plan == nil || r.Err != nil {
			return
		}
		now := map[string]string{}
		for _, a := range r.Plan.Assignments {
			key := fmt.Sprintf("%s[%d]", a.Component, a.Replica)
			now[key] = a.Cluster
			if from, ok := where[key]; ok && from != a.Cluster {
				moves = append(moves, moveAt{key, world.Elapsed(), from, a.Cluster})
			}
		}
		where = now
		if o.verbose && r.Decision.Kind != loop.DecideKeep {
			fmt.Fprintf(stdout, "  %-12s +%-7s %s: %s\n", mode, world.Elapsed(), r.Decision.Kind, r.Decision.Reason)
		}
	}
	l, err := loop.New(wired.Actor, []placement.Application{app}, lo)
	if err != nil {
		return nil, err
	}
	if err := world.Step(0); err != nil { // the events at +0 (the demand) happen before the first round
		return nil, err
	}
	judge := newJudge(world, app, demand)
	episode := ""
	var since time.Duration
	world.AfterTick(func(time.Time) {
		v := judge.second(ctx)
		if world.Elapsed() < warmUp {
			v = nil // the first placement and scaling
		}
		for _, c := range v {
			res.byCause[c]++
		}
		if len(v) > 0 {
			res.violation++
		}
		if now := strings.Join(v, "+"); now != episode {
			if o.verbose && episode != "" {
				fmt.Fprintf(stdout, "  %-12s +%-7s violation (%s) for %s\n", mode, since, episode, world.Elapsed()-since)
			}
			episode, since = now, world.Elapsed()
		}
		res.replicaHours += judge.ready / 3600
		res.peakDemand = max(res.peakDemand, judge.users)
		if el := world.Elapsed(); el%time.Minute == 0 {
			res.t = append(res.t, el)
			res.cumViol = append(res.cumViol, res.violation)
			res.renders = append(res.renders, float64(judge.renders))
			res.need = append(res.need, judge.users/judge.perReplica)
		}
	})
	// Rounds like Start's: a watch round every 10 s, a full one every minute; a
	// round that acts takes the simulated time its steps take.
	for world.Elapsed() < length {
		full := world.Elapsed()%time.Minute == 0
		trigger := "watch"
		if full {
			trigger = "interval"
		}
		if err := world.Run(ctx, time.Hour, func(ctx context.Context) error {
			l.RunOnceWith(ctx, trigger, full)
			return nil
		}); err != nil {
			return nil, err
		}
		next := (world.Elapsed()/(10*time.Second) + 1) * 10 * time.Second
		if err := world.Step(min(next, length) - world.Elapsed()); err != nil {
			return nil, err
		}
	}
	res.migrations = len(moves)
	for i, m := range moves {
		for _, earlier := range moves[:i] {
			if earlier.key == m.key && earlier.from == m.to && m.at-earlier.at < flapWindow {
				res.flaps++
				if o.verbose {
					fmt.Fprintf(stdout, "  %s flap: %s %s -> %s at +%s, back at +%s\n", mode, m.key, earlier.from, earlier.to, earlier.at, m.at)
				}
			}
		}
	}
	return res, nil
}

type moveAt struct {
	key      string
	at       time.Duration
	from, to string
}

// staticPeak is a deployment sized once for the peak demand of the run: the
// renderers it needs then, and one replica of every other component, for the whole
// run.
func staticPeak(app placement.Application, r *result, length time.Duration) float64 {
	n := 0.0
	for _, c := range app.Components {
		if c.Scale != nil {
			n += math.Min(math.Max(math.Ceil(r.peakDemand/c.Scale.PerReplica), float64(c.Scale.Min)), float64(c.Scale.Max))
		} else {
			n += float64(max(c.Replicas, 1))
		}
	}
	return n * length.Hours()
}

func table(w io.Writer, rs []*result, static float64) {
	causes := []string{"flow", "chain", "demand", "capacity"}
	fmt.Fprintf(w, "\n%-14s %11s %-38s %10s %13s %6s\n", "loop", "violation-s", "(flow/chain/demand/capacity)", "migrations", "replica-hours", "flaps")
	for _, r := range rs {
		var parts []string
		for _, c := range causes {
			parts = append(parts, fmt.Sprintf("%.0f", r.byCause[c]))
		}
		fmt.Fprintf(w, "%-14s %11.0f %-38s %10d %13.2f %6d\n", r.mode, r.violation, "("+strings.Join(parts, "/")+")", r.migrations, r.replicaHours, r.flaps)
	}
	fmt.Fprintf(w, "%-14s %11s %-38s %10s %13.2f %6s\n", "static peak", "-", "", "-", static, "-")
	if len(rs) == 2 && rs[0].violation > 0 {
		fmt.Fprintf(w, "\nanticipating vs reactive: %.0f%% fewer violation-seconds, %+d migrations, %.0f%% of the static peak's replica-hours\n",
			100*(1-rs[1].violation/rs[0].violation), rs[1].migrations-rs[0].migrations, 100*rs[1].replicaHours/static)
	}
}

// judge tells, once a simulated second, whether the service meets its SLOs, from
// the world's truth (true RTTs, ready instances, used CPU).
type judge struct {
	w          *sim.World
	app        placement.Application
	demand     *sim.Demand
	comps      map[string]placement.Component
	perReplica float64
	// Of the last second judged.
	ready   float64
	renders int
	users   float64
}

func newJudge(w *sim.World, app placement.Application, d *sim.Demand) *judge {
	j := &judge{w: w, app: app, demand: d, comps: map[string]placement.Component{}}
	for _, c := range app.Components {
		j.comps[c.Name] = c
		if c.Scale != nil {
			j.perReplica = c.Scale.PerReplica
		}
	}
	return j
}

// rtt is the true round-trip time between two endpoints (a cluster to itself: its
// intra-cluster RTT); ok is false when there is none (a failed cluster).
func (j *judge) rtt(ctx context.Context, a, b string) (time.Duration, bool) {
	if a == b {
		c, ok := j.w.Topology().Cluster(a)
		return c.IntraRTT.Std(), ok
	}
	s, err := j.w.LatencySource().Latency(ctx, a, b)
	if err != nil {
		return 0, false
	}
	return s.P50.Std(), true
}

// second returns the causes of violation now ("flow", "chain", "demand",
// "capacity"), none when every SLO holds.
func (j *judge) second(ctx context.Context) []string {
	ins, err := j.w.Instances(ctx, j.app.Metadata.Name)
	if err != nil {
		return []string{"flow"}
	}
	at := map[string][]string{} // component -> clusters with a ready replica
	j.ready, j.renders = 0, 0
	for _, in := range ins {
		if n := min(in.Ready, in.Replicas); n > 0 {
			at[in.Component] = append(at[in.Component], in.Cluster)
			j.ready += float64(n)
			if c := j.comps[in.Component]; c.Scale != nil {
				j.renders += int(n)
			}
		}
	}
	ends := func(name string) []string {
		if _, ok := j.comps[name]; ok {
			return at[name]
		}
		return []string{name} // a site
	}
	var causes []string
	for _, f := range j.app.Flows {
		if f.MaxRTT == 0 {
			continue
		}
		if j.over(ctx, ends(f.From), ends(f.To), f.MaxRTT.Std()) {
			causes = append(causes, "flow")
			break
		}
	}
	for _, ch := range j.app.Chains {
		if j.chainOver(ctx, ch) {
			causes = append(causes, "chain")
			break
		}
	}
	now := j.w.Clock().Now()
	j.users = 0
	for _, s := range []string{"geneva", "milan"} {
		if v, ok := j.demand.At(s, now); ok {
			j.users += v
		}
	}
	if float64(j.renders)*j.perReplica < j.users {
		causes = append(causes, "demand")
	}
	for _, cl := range usedClusters(at) {
		s, err := j.w.ResourceSource().Resources(ctx, cl)
		if err != nil {
			continue
		}
		used, capq := s.Usage.Used[topology.ResourceCPU], s.Usage.Capacity[topology.ResourceCPU]
		if used.Cmp(capq) > 0 {
			causes = append(causes, "capacity")
			break
		}
	}
	return causes
}

func usedClusters(at map[string][]string) []string {
	var out []string
	for _, cs := range at {
		for _, c := range cs {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// over reports whether any pair of ends is further apart than budget, or an end has
// no ready replica (the flow is not served at all).
func (j *judge) over(ctx context.Context, as, bs []string, budget time.Duration) bool {
	if len(as) == 0 || len(bs) == 0 {
		return true
	}
	for _, a := range as {
		for _, b := range bs {
			if d, ok := j.rtt(ctx, a, b); !ok || d > budget {
				return true
			}
		}
	}
	return false
}

// chainOver reports whether the chain's worst path over the ready replicas (one-way
// = RTT/2 per hop, plus each component's processing time) exceeds its budget.
func (j *judge) chainOver(ctx context.Context, ch placement.Chain) bool {
	// The worst latency to reach each element's possible endpoints.
	type state struct {
		at  string
		lat time.Duration
	}
	cur := []state{}
	for i, name := range ch.Path {
		var here []string
		proc := time.Duration(0)
		if c, ok := j.comps[name]; ok {
			here = j.readyAt(ctx, name)
			proc = c.ProcessingTime.Std()
		} else {
			here = []string{name}
		}
		if len(here) == 0 {
			return true // no ready replica: the chain is not served at all
		}
		var next []state
		for _, h := range here {
			worst := time.Duration(0)
			if i > 0 {
				for _, s := range cur {
					d, ok := j.rtt(ctx, s.at, h)
					if !ok {
						return true
					}
					worst = max(worst, s.lat+d/2)
				}
			}
			next = append(next, state{h, worst + proc})
		}
		cur = next
	}
	worst := time.Duration(0)
	for _, s := range cur {
		worst = max(worst, s.lat)
	}
	return worst > ch.Budget.Std()
}

func (j *judge) readyAt(ctx context.Context, comp string) []string {
	ins, err := j.w.Instances(ctx, j.app.Metadata.Name)
	if err != nil {
		return nil
	}
	var out []string
	for _, in := range ins {
		if in.Component == comp && min(in.Ready, in.Replicas) > 0 {
			out = append(out, in.Cluster)
		}
	}
	return out
}
