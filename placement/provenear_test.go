package placement_test

import (
	"math"
	"slices"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
)

// TestOptimalClaimsAgreeWithBruteForce: on small instances of the tight generator at
// 30 % and 50 % load (5 clusters, 5-6 components) the default strategy proves most plans
// optimal, many through the bounded search on near-cheapest clusters (phase
// "prove-near"); every claim is checked against exhaustive enumeration judged by the
// independent oracle. Local search leaves some of these plans above the optimum, so a
// cut of the domains that dropped a cluster the optimum needs fails here (checked: cut
// to a twentieth of the gap, 4 false claims). The enumeration's optima were checked once
// against CBC's on all 40 instances (equal within a relative 1e-6; each seed s solved by
//
//	go run ./placement/placementtest/cmd/milpset -out DIR -first $((700000+s)) -count 1 \
//	    -sizes 5x$((5+s%2)) -loads L,L
//
// with L 0.5 for odd s and 0.3 for even), so this test needs no solver.
func TestOptimalClaimsAgreeWithBruteForce(t *testing.T) {
	checked, claims, near := 0, 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		in := placementtest.GenerateTight(700000+seed, placementtest.TightOptions{Clusters: 5, Components: 5 + int(seed%2),
			Load: []float64{0.3, 0.5}[seed%2]}).Instance
		if countReplicas(in.Apps) > 6 {
			continue // 5^6 assignments is the most we enumerate
		}
		o := oracle{topo: in.Topology, apps: in.Apps, w: placement.DefaultWeights()}
		found, best := o.bruteForce()
		if !found {
			continue
		}
		plan, err := place(t, in, placement.StrategyDefault)
		if err != nil {
			t.Errorf("%s: brute force finds a plan at %.6f, the engine: %v", in.Name, best, err)
			continue
		}
		ok, cost, why := o.evaluate(assignmentOf(plan))
		if !ok {
			t.Errorf("%s: plan infeasible for the oracle (%s)", in.Name, why)
			continue
		}
		checked++
		if cost < best-1e-6*(1+best) {
			t.Errorf("%s: plan %.9g below the brute-force optimum %.9g", in.Name, cost, best)
		}
		if plan.Search.Optimal {
			claims++
			if math.Abs(cost-best) > 1e-6*(1+best) {
				t.Errorf("%s: claims optimal at %.9g, the brute-force optimum is %.9g (phases %v)", in.Name, cost, best, plan.Search.Phases)
			}
		}
		if slices.ContainsFunc(plan.Search.Phases, func(p placement.PhaseStats) bool { return p.Name == "prove-near" && !p.StoppedEarly }) {
			near++
			if !plan.Search.Optimal {
				t.Errorf("%s: prove-near ended its search but the plan is not marked optimal", in.Name)
			}
		}
	}
	t.Logf("%d instances checked against brute force, %d plans claimed optimal, %d of them by prove-near", checked, claims, near)
	if checked < 30 || near < 10 {
		t.Errorf("%d instances checked, %d settled by prove-near: want at least 30 and 10 (the generator no longer makes what this test is for)", checked, near)
	}
}
