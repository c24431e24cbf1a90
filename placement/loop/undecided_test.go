package loop_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
)

// TestUndecidedNeverProvisions: on a feasible but tight instance (a stored one with a
// MILP-proven optimum, which the greedy construction alone does not place), a loop
// whose engine budget is too small to find a plan decides "undecided": it places
// nothing, keeps what is in force and never asks for clusters. With the default budget
// the same loop places everything.
func TestUndecidedNeverProvisions(t *testing.T) {
	for _, budget := range []int{1, 0} {
		world, w, apps, asked := tightLoop(t, "tight-c5-n10-l85-s2")
		w.Loop.MaxNodes = budget
		l, err := loop.New(w.Actor, apps, w.Loop)
		if err != nil {
			t.Fatal(err)
		}
		var rd *loop.Round
		if err := world.Run(context.Background(), time.Hour, func(ctx context.Context) error {
			rd = l.RunOnce(ctx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		switch {
		case budget == 1 && (rd.Decision.Kind != loop.DecideUndecided || rd.Plan != nil || *asked != 0 || len(rd.Decision.Provision) != 0):
			t.Errorf("budget 1: decision %q (%s), plan %v, provision asked %d times, want undecided, no plan, no provisioning",
				rd.Decision.Kind, rd.Decision.Reason, rd.Plan != nil, *asked)
		case budget == 0 && (rd.Decision.Kind != loop.DecidePlace || rd.Err != nil || *asked != 0):
			t.Errorf("default budget: decision %q (%s), err %v, provision asked %d times, want place", rd.Decision.Kind, rd.Decision.Reason, rd.Err, *asked)
		}
	}
}

// tightLoop loads the stored tight instance name (all its applications at home on its
// first cluster) into a simulated world and returns the world, its wiring and a count
// of the clusters the loop asks to provision (every call counted, nothing provisioned).
func tightLoop(t *testing.T, name string) (*sim.World, *sim.Wiring, []placement.Application, *int) {
	t.Helper()
	recs, err := placementtest.LoadOracleSet("../testdata/tight")
	if err != nil {
		t.Fatal(err)
	}
	var in placementtest.Instance
	for _, r := range recs {
		if r.Name == name {
			if in, err = r.Instance(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if in.Topology == nil {
		t.Fatalf("stored instance %s missing", name)
	}
	home := in.Topology.ClusterAt(0).Name
	for i := range in.Apps {
		in.Apps[i].Home = home
	}
	world, err := sim.New(sim.Options{Topology: in.Topology})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range in.Apps {
		if err := world.AddApplication(a); err != nil {
			t.Fatal(err)
		}
	}
	w, err := world.Wire(in.Apps, sim.WireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asked := new(int)
	w.Loop.Provision = func(context.Context, *topology.Topology, *placement.UnplaceableError) ([]provision.ClusterSpec, error) {
		*asked++
		return nil, nil
	}
	return world, w, in.Apps, asked
}

// TestUndecidedRetriesWithAnotherSeed: on a stored tight instance that the engine's
// default random choices leave undecided (feasible per CBC), the loop decides
// "undecided" (seed 0), provisions nothing, and decides again in the next rounds
// with seeds 1, 2, ...; seed 2 places everything (placement.Request.Seed).
func TestUndecidedRetriesWithAnotherSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("three tight searches of about 0.3 s each")
	}
	world, w, apps, asked := tightLoop(t, "tight-c15-n30-l85-s39")
	l, err := loop.New(w.Actor, apps, w.Loop)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []loop.DecisionKind
	if err := world.Run(context.Background(), time.Hour, func(ctx context.Context) error {
		for range 3 {
			rd := l.RunOnce(ctx)
			kinds = append(kinds, rd.Decision.Kind)
			if n := len(kinds); n < 3 && !strings.Contains(rd.Decision.Reason, fmt.Sprintf("next round tries seed %d", n)) {
				t.Errorf("round %d: reason %q does not name the next seed", n, rd.Decision.Reason)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []loop.DecisionKind{loop.DecideUndecided, loop.DecideUndecided, loop.DecidePlace}
	if !slices.Equal(kinds, want) || *asked != 0 {
		t.Errorf("decisions %v, provision asked %d times; want %v and never", kinds, *asked, want)
	}
}
