package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// TestWireRunsTheLoop: Wire gives the actor and loop options in one call, and RunFor
// runs the loop's Start for 15 minutes of simulated time: the first placement is
// carried out (every component ready), a link degraded at +5m is repaired by moving
// session-sync, and the run ends when the time is up.
func TestWireRunsTheLoop(t *testing.T) {
	w, err := sim.New(sim.Options{Topology: topologytest.PaperFig1()})
	if err != nil {
		t.Fatal(err)
	}
	app := placementtest.XRCollab()
	wiring, err := w.Wire([]placement.Application{app}, sim.WireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var repairs []loop.Decision
	opts := wiring.Loop
	opts.OnRound = func(r *loop.Round) {
		if r.Decision.Kind == loop.DecideRepair {
			repairs = append(repairs, r.Decision)
		}
	}
	l, err := loop.New(wiring.Actor, []placement.Application{app}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.At(5*time.Minute, sim.DegradeLink("gva-edge", "mil-edge", 20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := w.RunFor(context.Background(), 15*time.Minute, l.Start); err != nil {
		t.Fatal(err)
	}
	if got := w.Elapsed(); got < 15*time.Minute || got > 16*time.Minute {
		t.Errorf("RunFor(15m) ended at +%s", got)
	}
	for _, c := range app.Components {
		if n := w.ReadyReplicas(app.Metadata.Name, c.Name); n != max(c.Replicas, 1) {
			t.Errorf("%s: %d ready replicas, want %d", c.Name, n, max(c.Replicas, 1))
		}
	}
	if len(repairs) != 1 || len(repairs[0].Changes) != 1 || repairs[0].Changes[0].Component != "session-sync" {
		t.Errorf("repairs %+v: want one, moving session-sync", repairs)
	}
}

func TestWireRefusesBadInput(t *testing.T) {
	w, err := sim.New(sim.Options{Topology: topologytest.PaperFig1()})
	if err != nil {
		t.Fatal(err)
	}
	other := placementtest.XRCollab()
	other.Metadata.Name, other.Home = "other", "mil-edge"
	for _, tc := range []struct {
		apps []placement.Application
		want string
		is   error
	}{
		{nil, "apps: at least one", sim.ErrInvalid},
		{[]placement.Application{placementtest.XRCollab(), other}, "apps[1].home", sim.ErrInvalid},
		{[]placement.Application{func() placement.Application { a := placementtest.XRCollab(); a.Home = "nowhere"; return a }()}, "nowhere", sim.ErrNotFound},
	} {
		_, err := w.Wire(tc.apps, sim.WireOptions{})
		if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Wire(%d apps) = %v, want %v naming %q", len(tc.apps), err, tc.is, tc.want)
		}
	}
	if err := w.RunFor(context.Background(), 0, func(context.Context) error { return nil }); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("RunFor(0) = %v, want ErrInvalid", err)
	}
}
