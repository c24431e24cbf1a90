package placement_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

func place(t *testing.T, in placementtest.Instance, s placement.Strategy) (*placement.Plan, error) {
	t.Helper()
	req := in.Request()
	req.Strategy = s
	req.Explain = placement.ExplainNone
	return placement.Place(context.Background(), in.Snapshot(), req)
}

// TestExactAgreesWithBruteForce checks the exact strategy against exhaustive enumeration
// judged by the independent oracle, on tiny instances of every shape.
func TestExactAgreesWithBruteForce(t *testing.T) {
	checked, infeasible := 0, 0
	for seed := uint64(1); seed <= 24; seed++ {
		shape := []placementtest.Shape{placementtest.XRChain, placementtest.Star, placementtest.DAG}[seed%3]
		in := placementtest.Generate(seed, placementtest.GenOptions{Clusters: 4, Components: 4, Shape: shape, Load: 0.7, MaxCPU: 128})
		o := oracle{topo: in.Topology, apps: in.Apps, w: placement.DefaultWeights()}
		if n := countReplicas(in.Apps); n > 7 {
			continue // 4^7 assignments is the most we enumerate
		}
		found, best := o.bruteForce()
		plan, err := place(t, in, placement.StrategyExact)
		checked++
		if !found {
			infeasible++
			if !errors.Is(err, placement.ErrUnplaceable) {
				t.Errorf("%s: brute force finds nothing feasible, engine says %v", in.Name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: brute force optimum %.6f, engine: %v", in.Name, best, err)
			continue
		}
		ok, cost, why := o.evaluate(assignmentOf(plan))
		if !ok {
			t.Errorf("%s: exact plan is infeasible for the oracle (%s)", in.Name, why)
			continue
		}
		if math.Abs(cost-plan.Objective.Total) > 1e-6*(1+cost) {
			t.Errorf("%s: plan objective %.6f, oracle %.6f", in.Name, plan.Objective.Total, cost)
		}
		if math.Abs(cost-best) > 1e-6*(1+best) {
			t.Errorf("%s: exact %.6f, brute-force optimum %.6f", in.Name, cost, best)
		}
		if !plan.Search.Optimal {
			t.Errorf("%s: exact search did not claim optimality (nodes %d)", in.Name, plan.Search.Nodes)
		}
	}
	if checked < 15 {
		t.Fatalf("only %d instances checked", checked)
	}
	if infeasible == 0 || infeasible == checked {
		t.Errorf("%d of %d instances infeasible: the generator no longer exercises both outcomes", infeasible, checked)
	}
	t.Logf("%d instances checked against brute force, %d infeasible", checked, infeasible)
}

func countReplicas(apps []placement.Application) int {
	n := 0
	for _, a := range apps {
		for _, c := range a.Components {
			n += max(c.Replicas, 1)
		}
	}
	return n
}

// TestQualityDefaultVersusExact is the quality gate of the default strategy: over 60
// feasible generated instances (at most 30 clusters and 50 components, capacity
// binding), the gap to the exact
// optimum has median <= 1% and p95 <= 5%, and the default strategy never reports
// infeasible when exact finds a placement.
func TestQualityDefaultVersusExact(t *testing.T) {
	if testing.Short() {
		t.Skip("quality test: skipped in -short")
	}
	var gaps []float64
	proved := 0
	for seed := uint64(1); seed <= 200 && len(gaps) < 60; seed++ {
		shape := []placementtest.Shape{placementtest.XRChain, placementtest.Star, placementtest.DAG}[seed%3]
		// Large requests and a high load, so capacity binds and the search has work.
		opts := placementtest.GenOptions{Clusters: 6 + int(seed%25), Components: 4 + int(seed%12), Shape: shape,
			Planted: seed%2 == 0, Load: 0.5, MaxCPU: 128}
		in := placementtest.Generate(seed, opts)
		req := in.Request()
		req.Strategy, req.MaxNodes, req.Explain = placement.StrategyExact, 200_000, placement.ExplainNone
		exact, errExact := placement.Place(context.Background(), in.Snapshot(), req)
		def, errDef := place(t, in, placement.StrategyDefault)
		switch {
		case errExact != nil && errors.Is(errExact, placement.ErrUnplaceable) && exact.Search.StoppedEarly:
			continue // exact could not decide within its limit
		case errExact != nil:
			if errDef == nil {
				t.Errorf("%s: default found a plan, exact did not: %v", in.Name, errExact)
			}
			continue
		case errDef != nil:
			t.Errorf("%s: exact found %.4f, default says %v", in.Name, exact.Objective.Total, errDef)
			continue
		}
		if exact.Search.Optimal {
			proved++
		}
		gap := 0.0
		if exact.Objective.Total > 0 {
			gap = (def.Objective.Total - exact.Objective.Total) / exact.Objective.Total
		}
		if gap < -1e-9 && exact.Search.Optimal {
			t.Errorf("%s: default %.6f beats the proven optimum %.6f", in.Name, def.Objective.Total, exact.Objective.Total)
		}
		if gap > 0.05 {
			t.Logf("%s: gap %.2f%% (default %.4f, exact %.4f)", in.Name, 100*gap, def.Objective.Total, exact.Objective.Total)
		}
		gaps = append(gaps, max(gap, 0))
	}
	if len(gaps) < 50 {
		t.Fatalf("only %d comparable instances, want >= 50", len(gaps))
	}
	slices.Sort(gaps)
	median, p95 := gaps[len(gaps)/2], gaps[int(math.Ceil(0.95*float64(len(gaps))))-1]
	t.Logf("default vs exact over %d instances (%d proven optimal): median gap %.3f%%, p95 %.3f%%, max %.3f%%",
		len(gaps), proved, 100*median, 100*p95, 100*gaps[len(gaps)-1])
	if median > 0.01 || p95 > 0.05 {
		t.Errorf("quality below target: median gap %.3f%% (<= 1%%), p95 %.3f%% (<= 5%%)", 100*median, 100*p95)
	}
}

func TestExactStopsEarlyAndSaysSo(t *testing.T) {
	stopped := 0
	for seed := uint64(1); seed <= 12; seed++ {
		in := placementtest.Generate(seed, placementtest.GenOptions{Clusters: 30, Components: 40, Shape: placementtest.DAG,
			Load: 0.8, MaxCPU: 64, Planted: true})
		req := in.Request()
		req.Strategy, req.MaxNodes, req.Explain = placement.StrategyExact, 50, placement.ExplainNone
		plan, err := placement.Place(context.Background(), in.Snapshot(), req)
		if err != nil && !errors.Is(err, placement.ErrUnplaceable) && !errors.Is(err, placement.ErrUndecided) {
			t.Fatal(err)
		}
		if plan.Search.Verdict == placement.VerdictInfeasible {
			continue // proven before any search: nothing to stop
		}
		if plan.Search.StoppedEarly == plan.Search.Optimal {
			t.Errorf("%s with 50 nodes: stoppedEarly=%v optimal=%v, want exactly one", in.Name, plan.Search.StoppedEarly, plan.Search.Optimal)
		}
		if plan.Search.StoppedEarly {
			stopped++
			if plan.Search.StopReason == "" {
				t.Errorf("%s: stopped early without a reason", in.Name)
			}
		}
	}
	if stopped == 0 {
		t.Error("no instance needed more than 50 exact nodes: the test no longer exercises the budget")
	}
	_ = fmt.Sprint(topology.Gbps)
}

func TestInfeasibleByConstruction(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		in := placementtest.Generate(seed, placementtest.GenOptions{Clusters: 12, Components: 8, Infeasible: true,
			Shape: []placementtest.Shape{placementtest.XRChain, placementtest.Star, placementtest.DAG}[seed%3]})
		for _, s := range []placement.Strategy{placement.StrategyDefault, placement.StrategyExact} {
			plan, err := place(t, in, s)
			var ue *placement.UnplaceableError
			if !errors.As(err, &ue) {
				t.Fatalf("%s/%s: err = %v, want an *UnplaceableError", in.Name, s, err)
			}
			if plan == nil || plan.Feasible || len(ue.Shortfall) == 0 || !strings.Contains(ue.Shortfall[0].Text, "GPU") {
				t.Errorf("%s/%s: plan feasible=%v shortfall=%+v", in.Name, s, plan != nil && plan.Feasible, ue.Shortfall)
			}
			if ue.Unplaced[0] != "app-0/impossible[0]" {
				t.Errorf("%s/%s: unplaced %v, want app-0/impossible[0] first", in.Name, s, ue.Unplaced)
			}
		}
	}
}
