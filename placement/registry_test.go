package placement_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// TestUnregisterLetsATestRegisterAgain: a test that registers a filter and removes it
// in t.Cleanup passes again under -count=2 (here: twice in a row); an engine built
// while it was registered keeps it; built-ins and unknown names are refused.
func TestUnregisterLetsATestRegisterAgain(t *testing.T) {
	var engine *placement.Engine
	for round := range 2 {
		if err := placement.Register(sovereign{}); err != nil {
			t.Fatalf("round %d: Register: %v", round, err)
		}
		if err := placement.Register(sovereign{}); err == nil || !strings.Contains(err.Error(), "already registered") {
			t.Errorf("round %d: a second Register of the same name = %v, want already registered", round, err)
		}
		var err error
		engine, err = placement.NewEngine(placement.Options{FilterNames: append(placement.BuiltinFilters(), "sovereign")})
		if err != nil {
			t.Fatal(err)
		}
		if err := placement.Unregister("sovereign"); err != nil {
			t.Fatalf("round %d: Unregister: %v", round, err)
		}
		if slices.Contains(placement.Registered(), "sovereign") {
			t.Errorf("round %d: sovereign still registered after Unregister: %v", round, placement.Registered())
		}
	}
	// The engine built while the filter was registered still rules by it.
	app := pt.NewApp("xr").Component("store", "2", "16Gi").Build()
	plan, err := engine.Place(context.Background(), &placement.Snapshot{Topology: topologytest.PaperFig1()},
		&placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Assignments[0].Cluster; got != "gva-edge" && got != "gva-venue" {
		t.Errorf("store on %s: the engine lost the sovereign filter (want a cluster of operator-b)", got)
	}
	if _, err := placement.NewEngine(placement.Options{FilterNames: []string{"sovereign"}}); err == nil {
		t.Error("NewEngine found an unregistered filter")
	}
	if err := placement.Unregister("resources"); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Errorf("Unregister of a built-in = %v, want refused", err)
	}
	if err := placement.Unregister("no-such-filter"); err == nil || !strings.Contains(err.Error(), "no filter registered") {
		t.Errorf("Unregister of an unknown name = %v", err)
	}
}
