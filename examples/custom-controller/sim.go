package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

type simOptions struct {
	verbose bool
	out     io.Writer
	// onRound, when set, also receives every round (tests).
	onRound func(*loop.Round)
}

// simController is the manager with the loop on the simulated continuum.
type simController struct {
	world *sim.World
	mgr   manager.Manager
	loop  *loop.Loop
	app   placement.Application
	out   io.Writer

	mu     sync.Mutex // the loop's goroutine reports rounds, the stepping one ticks
	rounds int
	acted  int
	// had and zero track, per component, whether it had ready replicas and when it
	// fell to none afterwards.
	had  map[string]bool
	zero []string
}

// newSimController builds the world, wires act and the loop to it, and adds the
// loop to a manager that needs no API server (no controllers, no leader election,
// no metrics or probe listeners).
func newSimController(o simOptions) (*simController, error) {
	world, err := sim.New(sim.Options{Topology: topologytest.PaperFig1()})
	if err != nil {
		return nil, err
	}
	app := placementtest.XRCollab()
	wiring, err := world.Wire([]placement.Application{app}, sim.WireOptions{})
	if err != nil {
		return nil, err
	}
	c := &simController{world: world, app: app, out: o.out, had: map[string]bool{}}
	lo := wiring.Loop
	lo.NoLeaderElection = true // one replica, no API server to hold a Lease on
	lo.OnRound = func(r *loop.Round) {
		c.report(r, o.verbose)
		if o.onRound != nil {
			o.onRound(r)
		}
	}
	if c.loop, err = loop.New(wiring.Actor, []placement.Application{app}, lo); err != nil {
		return nil, err
	}
	// The manager never reaches this address: nothing in it talks to an API server.
	c.mgr, err = manager.New(&rest.Config{Host: "https://127.0.0.1:1"}, manager.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	if err := c.mgr.Add(c.loop); err != nil {
		return nil, err
	}
	script := sim.Script{
		{After: 10 * time.Minute, Event: sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond)},
		{After: 25 * time.Minute, Event: sim.RestoreLink("gva-edge", "mil-edge")},
	}
	if err := world.Schedule(script); err != nil {
		return nil, err
	}
	world.OnChange(func(ch sim.Change) {
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintf(c.out, "t=+%s  world: %s\n", world.Elapsed(), ch.Message)
	})
	world.AfterTick(func(time.Time) { c.checkReady() })
	return c, nil
}

// run starts the manager (and with it the loop) in fake time for d, then prints a
// summary.
func (c *simController) run(ctx context.Context, d time.Duration) error {
	fmt.Fprintf(c.out, "custom-controller on sim: %s of simulated time; the loop runs in a controller-runtime manager\n", d)
	if err := c.world.RunFor(ctx, d, c.mgr.Start); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ready []string
	for _, comp := range c.app.Components {
		ready = append(ready, fmt.Sprintf("%s %d", comp.Name, c.world.ReadyReplicas(c.app.Metadata.Name, comp.Name)))
	}
	fmt.Fprintf(c.out, "after %s: %d rounds, %d acted; ready replicas: %s\n", c.world.Elapsed().Round(time.Second), c.rounds, c.acted, strings.Join(ready, ", "))
	if len(c.zero) > 0 {
		return fmt.Errorf("components without a ready replica: %s", strings.Join(c.zero, ", "))
	}
	fmt.Fprintln(c.out, "no component was ever without a ready replica")
	return nil
}

func (c *simController) report(r *loop.Round, verbose bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rounds++
	d := r.Decision
	if r.Plan != nil && r.Err == nil {
		c.acted++
	}
	if errors.Is(r.Err, context.Canceled) || (d.Kind == loop.DecideKeep && r.Err == nil && !verbose) {
		return // the round the end of the run cut short, or nothing to say
	}
	fmt.Fprintf(c.out, "t=+%s  round %d (%s): %s: %s\n", r.At.Sub(c.world.Start()).Round(time.Second), r.Number, r.Trigger, d.Kind, d.Reason)
	for _, ch := range d.Changes {
		fmt.Fprintf(c.out, "    move %s\n", ch)
	}
	if r.Err != nil {
		fmt.Fprintf(c.out, "    error: %v\n", r.Err)
	}
}

// checkReady runs after every tick: a component that had ready replicas must keep
// one (make-before-break).
func (c *simController) checkReady() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, comp := range c.app.Components {
		n := c.world.ReadyReplicas(c.app.Metadata.Name, comp.Name)
		if c.had[comp.Name] && n == 0 && !slices.Contains(c.zero, comp.Name) {
			c.zero = append(c.zero, fmt.Sprintf("%s at +%s", comp.Name, c.world.Elapsed()))
		}
		c.had[comp.Name] = c.had[comp.Name] || n > 0
	}
}
