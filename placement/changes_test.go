package placement_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// TestPlanChangesListsMovesWithWhy: the repair of repairSetup (render's chain breaks
// on near: 4 ms processing + 7 ms access = 11 ms > 10 ms) lists render[0] near ->
// near2 because of its chain; a re-optimisation that brings store back where the
// first plan had it lists it with its cost; a plan without a current placement lists nothing.
func TestPlanChangesListsMovesWithWhy(t *testing.T) {
	topo, app := repairSetup(t)
	ctx := context.Background()
	first, err := placement.Place(ctx, &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Changes) != 0 {
		t.Errorf("a first placement lists changes: %v", first.Changes)
	}
	snap := &placement.Snapshot{Topology: topo, RTT: map[placement.Pair]topology.Duration{
		placement.MakePair("users", "near"): ms(7), placement.MakePair("near", "near2"): ms(5)}}
	repair, err := placement.Place(ctx, snap, &placement.Request{Apps: []placement.Application{app}, Current: first.Assignments, Mode: placement.Repair})
	if err != nil {
		t.Fatal(err)
	}
	if len(repair.Changes) != 1 || repair.Moves != 1 {
		t.Fatalf("repair: %d moves, changes %v; want render[0] only", repair.Moves, repair.Changes)
	}
	c := repair.Changes[0]
	if c.App != "xr" || c.Component != "render" || c.Replica != 0 || c.From != "near" || c.To != "near2" || c.Constraint != "site-latency" ||
		!strings.Contains(c.Why, "mtp") || !strings.Contains(c.Why, "11.0ms") {
		t.Errorf("repair change %#v: want xr/render[0] near -> near2, constraint site-latency (a chain through a site), why naming mtp at 11.0ms", c)
	}
	if s := c.String(); !strings.HasPrefix(s, "xr/render[0] near -> near2: on near: ") {
		t.Errorf("String() = %q", s)
	}

	current := append([]placement.Assignment(nil), first.Assignments...)
	for i := range current {
		if current[i].Component == "store" {
			current[i].Cluster = "near2"
		}
	}
	w := placement.Weights{Network: 1, Compute: 1, Migration: 0.001}
	re, err := placement.Place(ctx, &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app},
		Current: current, Weights: &w})
	if err != nil {
		t.Fatal(err)
	}
	if len(re.Changes) != re.Moves || len(re.Changes) != 1 {
		t.Fatalf("re-optimisation: %d moves, changes %v; want store only", re.Moves, re.Changes)
	}
	c = re.Changes[0]
	if c.Component != "store" || c.From != "near2" || c.To != assignmentOf(first)[replicaKey{"xr", "store", 0}] || c.Constraint != "" ||
		!strings.HasPrefix(c.Why, "cost ") {
		t.Errorf("re-optimisation change %#v: want store near2 -> where the first plan had it, for its cost, no constraint", c)
	}
	data, err := json.Marshal(re)
	if err != nil {
		t.Fatal(err)
	}
	var back placement.Plan
	if err := json.Unmarshal(data, &back); err != nil || len(back.Changes) != 1 || back.Changes[0] != c {
		t.Errorf("changes through JSON: %v (err %v), want %v", back.Changes, err, c)
	}
}
