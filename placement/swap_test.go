package placement_test

import (
	"context"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// TestSwapsKeepAllowedLists: p may run only on a, q only on b, and both would be
// cheaper the other way round (q talks to users who reach a only). Local search
// swapped them once, putting each on a cluster its allowed list forbids; every
// strategy must keep both where they are allowed.
func TestSwapsKeepAllowedLists(t *testing.T) {
	topo := topologytest.New().
		Cluster("a", topologytest.Capacity("8", "16Gi")).
		Cluster("b", topologytest.Capacity("8", "16Gi")).
		Link("a", "b", topology.Millis(1)).
		Site("users", nil, topologytest.Access("a", topology.Millis(1))).
		MustBuild(t)
	app := pt.NewApp("x").
		Component("p", "1", "1Gi", pt.Clusters("a")).
		Component("q", "1", "1Gi", pt.Clusters("b")).
		Flow("p", "q", topology.Gbps, 0).
		Flow("q", "users", topology.Gbps, 0).
		Build()
	for _, s := range []placement.Strategy{placement.StrategyDefault, placement.StrategyExact} {
		plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo},
			&placement.Request{Apps: []placement.Application{app}, Strategy: s})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(plan.Assignments) != 2 {
			t.Fatalf("%s: %d assignments, want 2: %+v", s, len(plan.Assignments), plan.Assignments)
		}
		for _, a := range plan.Assignments {
			want := map[string]string{"p": "a", "q": "b"}[a.Component]
			if a.Cluster != want {
				t.Errorf("%s: %s on %s, but it is allowed only on %s (search %+v)", s, a.Component, a.Cluster, want, plan.Search)
			}
		}
	}
}
