package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
)

// Wiring is what placement/act and placement/loop need to run on a World, for the
// applications of one home cluster (see Wire).
type Wiring struct {
	// Workloads are the home cluster's workloads, with a template for every
	// component of the applications.
	Workloads *Workloads
	// Actor carries plans out on the world: its workloads, Peering(), Provisioner()
	// and clock.
	Actor *act.Actor
	// Loop has Topology, Sources and Clock set to the world's; set the rest (Engine,
	// Provision, OnRound, ...) and pass it to loop.New with Actor.
	Loop loop.Options
}

// WireOptions tune Wire.
type WireOptions struct {
	// Act are the Actor's options. Wire sets Peering, Provisioner and Clock to the
	// world's, and PollInterval, when zero, to the world's tick.
	Act act.Options
}

// Wire registers apps with the world (AddApplication), adds a template for each of
// their components to their home cluster's Workloads, and returns an Actor over
// them and loop options that observe the world: the glue every program that runs
// the loop on sim needs, in one call. Every application needs the same Home. Errors
// wrap ErrInvalid (naming the field) or ErrNotFound (no such home cluster).
func (w *World) Wire(apps []placement.Application, o WireOptions) (*Wiring, error) {
	if len(apps) == 0 {
		return nil, fmt.Errorf("sim: wire: apps: at least one application is needed: %w", ErrInvalid)
	}
	home := apps[0].Home
	for i, a := range apps {
		if a.Home == "" || a.Home != home {
			return nil, fmt.Errorf("sim: wire: apps[%d].home: %q; every application needs the same home cluster (apps[0]'s is %q): %w",
				i, a.Home, home, ErrInvalid)
		}
	}
	x, err := w.Workloads(home)
	if err != nil {
		return nil, fmt.Errorf("sim: wire: %w", err)
	}
	for _, a := range apps {
		if err := w.AddApplication(a); err != nil {
			return nil, fmt.Errorf("sim: wire: %w", err)
		}
		ns := a.Metadata.Namespace
		if ns == "" {
			ns = a.Metadata.Name
		}
		for _, c := range a.Components {
			x.AddTemplate(ns, c.Name)
		}
	}
	ao := o.Act
	ao.Peering, ao.Provisioner, ao.Clock = w.Peering(), w.Provisioner(), w.Clock()
	if ao.PollInterval == 0 {
		ao.PollInterval = w.opts.Tick
	}
	actor, err := act.New(x, ao)
	if err != nil {
		return nil, fmt.Errorf("sim: wire: %w", err)
	}
	return &Wiring{Workloads: x, Actor: actor,
		Loop: loop.Options{Topology: w.TopologyFunc(), Sources: w.Sources(), Clock: w.Clock()}}, nil
}

// RunFor runs fn (a loop's or a manager's Start) in fake time for d of simulated
// time: it steps the world like Run, cancels fn's context once d has passed, and
// returns what fn returns then (nil for a Runnable that stops cleanly), joined with
// the errors of events that failed meanwhile. fn must return within an hour of
// simulated time after its context ends, or RunFor returns an error wrapping
// ErrNotReady.
func (w *World) RunFor(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) error {
	if d <= 0 {
		return fmt.Errorf("sim: run for %s: the duration must be > 0: %w", d, ErrInvalid)
	}
	var mu sync.Mutex
	var stop context.CancelFunc
	stopped := false
	if err := w.At(w.Elapsed()+d, Do(fmt.Sprintf("stop the run after %s", d), func(*World) error {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if stop != nil {
			stop()
		}
		return nil
	})); err != nil {
		return err
	}
	return w.Run(ctx, d+time.Hour, func(rctx context.Context) error {
		fctx, cancel := context.WithCancel(rctx)
		defer cancel()
		mu.Lock()
		stop = cancel
		if stopped {
			cancel()
		}
		mu.Unlock()
		return fn(fctx)
	})
}
