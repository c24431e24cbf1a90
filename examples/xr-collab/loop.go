package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

type loopOptions struct {
	// verbose prints every round, also those that keep the placement.
	verbose bool
}

// lyon is where a third group of users joins; their access network reaches the
// existing clusters only through Geneva, too slowly for a renderer.
var lyon = topology.Location{Lat: 45.7640, Lon: 4.8357}

// runLoop runs the OODA loop over the Fig. 1 continuum for an hour of simulated time.
func runLoop(ctx context.Context, w io.Writer, opts loopOptions) error {
	world, err := sim.New(sim.Options{
		Topology: topologytest.PaperFig1(),
		Regions:  map[string]topology.Location{"lyon": lyon},
		NodeCapacity: topology.ResourceList{
			topology.ResourceCPU: *resourceQuantity("8"), topology.ResourceMemory: *resourceQuantity("32Gi"),
			topology.ResourceGPU: *resourceQuantity("1"),
		},
		Tick: time.Second,
	})
	if err != nil {
		return err
	}
	app := placementtest.XRCollab()
	ns := app.Metadata.Name
	p := &printer{w: w, world: world, verbose: opts.verbose}
	// The world's act and loop wiring in one call: templates, an Actor on its
	// fakes and clock, loop options reading its topology and metrics.
	wiring, err := world.Wire([]placement.Application{app}, sim.WireOptions{Act: act.Options{
		PollInterval: time.Second, Timeout: 15 * time.Minute, Observe: p.step,
	}})
	if err != nil {
		return err
	}
	wiring.Workloads.AddTemplate(ns, "render-lyon")
	actor := wiring.Actor
	lo := wiring.Loop
	lo.Confirm, lo.Hysteresis, lo.Dwell = 2, 0.1, 10*time.Minute
	lo.Provision, lo.OnRound = edgeNear, p.round
	l, err := loop.New(actor, []placement.Application{app}, lo)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== 4. The loop on the simulated continuum (a watch round every 10 s, a full one every minute)\n")
	script := sim.Script{
		{After: 5 * time.Minute, Event: sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond)},
		{After: 20 * time.Minute, Event: sim.RestoreLink("gva-edge", "mil-edge")},
		{After: 40 * time.Minute, Event: sim.AddSite(topology.Site{Name: "lyon", Location: &lyon,
			Access: []topology.AccessLink{{Cluster: "gva-edge", RTT: topology.Millis(9)}}})},
		{After: 40 * time.Minute, Event: sim.Do("users in Lyon join: render-lyon is added to xr-collab", func(*sim.World) error {
			return l.SetApplication(withLyon(app))
		})},
	}
	if err := world.Schedule(script); err != nil {
		return err
	}
	world.OnChange(func(c sim.Change) { p.change(c) })

	const end = 60 * time.Minute
	for world.Elapsed() < end {
		at := world.Elapsed()
		full := at%time.Minute == 0
		trigger := "watch"
		if full {
			trigger = "interval"
		}
		if t := p.takeTrigger(); t != "" {
			trigger, full = "trigger: "+t, true
		}
		if err := world.Run(ctx, 30*time.Minute, func(ctx context.Context) error {
			l.RunOnceWith(ctx, trigger, full)
			return nil
		}); err != nil {
			return err
		}
		if next := (world.Elapsed()/(10*time.Second) + 1) * 10 * time.Second; next > world.Elapsed() {
			if err := world.Step(next - world.Elapsed()); err != nil {
				return err
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(w, "\n  after %s: %d rounds, %d of them acted; ready replicas: %s\n", end, p.rounds, p.acted, readySummary(world, ns, withLyon(app)))
	return p.err
}

// edgeNear is the provisioning policy: for a replica that fits nowhere near a site,
// a k3s edge cluster with GPU workers in the site's region.
func edgeNear(_ context.Context, topo *topology.Topology, short *placement.UnplaceableError) ([]provision.ClusterSpec, error) {
	var out []provision.ClusterSpec
	for _, s := range short.Shortfall {
		if len(s.Near) == 0 {
			continue
		}
		site := s.Near[0].Site
		name := site[:min(3, len(site))] + "-edge"
		if _, ok := topo.Cluster(name); ok {
			continue // provisioned already; the engine will use it once it fits
		}
		out = append(out, provision.ClusterSpec{Name: name, Distribution: provision.K3s, KubernetesVersion: "v1.33.1",
			Workers: 2, Labels: provision.Labels{Owner: "operator-b", Tier: "edge", Region: site}})
	}
	return out, nil
}

// withLyon adds a renderer for users in Lyon, with its own motion-to-photon chain.
func withLyon(app placement.Application) placement.Application {
	a := placementtest.XRCollab()
	a.Components = append(a.Components, placement.Component{Name: "render-lyon", Requests: app.Components[0].Requests.DeepCopy(),
		ProcessingTime: app.Components[0].ProcessingTime, Ports: app.Components[0].Ports})
	a.Flows = append(a.Flows,
		placement.Flow{From: "lyon", To: "render-lyon", Bandwidth: app.Flows[0].Bandwidth, Protocol: placement.UDP, MaxRTT: topology.Millis(5)},
		placement.Flow{From: "render-lyon", To: "session-sync", Bandwidth: app.Flows[2].Bandwidth, MaxRTT: topology.Millis(15)})
	a.Chains = append(a.Chains, placement.Chain{Name: "mtp-lyon", Path: []string{"lyon", "render-lyon", "lyon"}, Budget: topology.Millis(15)})
	return a
}

// printer prints rounds, steps and world changes as they happen. The world's
// callbacks (changes) run on the stepping goroutine while a round runs on another:
// mu orders them.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	world   *sim.World
	verbose bool
	trigger string
	rounds  int
	acted   int
	err     error
	steps   []string
	last    int // index in steps of the step running
}

// takeTrigger returns and clears the change that asks for a full round.
func (p *printer) takeTrigger() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.trigger
	p.trigger = ""
	return t
}

func (p *printer) at() string { return fmt.Sprintf("t=+%s", p.world.Elapsed().Round(time.Second)) }

func (p *printer) change(c sim.Change) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.steps) > 0 {
		// A round is acting: show the change among its steps, where it happened.
		p.steps = append(p.steps, fmt.Sprintf("      %s  world: %s", p.at(), c.Message))
	} else {
		fmt.Fprintf(p.w, "\n  %s  world: %s\n", p.at(), c.Message)
	}
	switch c.Kind {
	case sim.ClusterAdded, sim.ClusterRemoved, sim.ClusterFailed, sim.ClusterRecovered, sim.SiteAdded:
		p.trigger = c.Message
	}
}

func (p *printer) step(e act.StepEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !e.Done && e.Message == "":
		p.steps = append(p.steps, fmt.Sprintf("      %s  %s", p.at(), e.Step))
		p.last = len(p.steps) - 1
	case e.Done && e.Err != nil:
		p.steps = append(p.steps, fmt.Sprintf("        failed after %s: %v", e.Took, e.Err))
	case e.Done && e.Took >= time.Second:
		p.steps[p.last] += fmt.Sprintf("  [%s]", e.Took)
	}
}

func (p *printer) round(r *loop.Round) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds++
	steps := p.steps
	p.steps = nil
	if r.Err != nil && p.err == nil {
		p.err = fmt.Errorf("round %d: %w", r.Number, r.Err)
	}
	d := r.Decision
	if d.Kind == loop.DecideKeep && len(steps) == 0 && r.Err == nil && !p.verbose {
		return
	}
	if len(steps) > 0 {
		p.acted++
	}
	o := r.Observed
	fmt.Fprintf(p.w, "\n  t=+%s  round %d (%s)\n", r.At.Sub(p.world.Start()).Round(time.Second), r.Number, r.Trigger)
	fmt.Fprintf(p.w, "    observed: %d clusters, %d links measured, %d not", o.Clusters, o.Measured, o.Missing)
	if len(o.Deviations) > 0 {
		fmt.Fprintf(p.w, "; off the declared figures: %s", strings.Join(o.Deviations, ", "))
	}
	fmt.Fprintln(p.w)
	fmt.Fprintf(p.w, "    decided:  %s: %s\n", d.Kind, d.Reason)
	if len(steps) > 0 {
		fmt.Fprintf(p.w, "    acted:    %d step(s) in %s of simulated time\n", len(steps), r.Act)
		for _, s := range steps {
			fmt.Fprintln(p.w, s)
		}
	}
	if r.Err != nil {
		fmt.Fprintf(p.w, "    error:    %v\n", r.Err)
	}
}

func readySummary(world *sim.World, ns string, app placement.Application) string {
	var parts []string
	for _, c := range app.Components {
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, world.ReadyReplicas(ns, c.Name)))
	}
	return strings.Join(parts, ", ")
}
