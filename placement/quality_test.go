package placement_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
)

// The quality tests measure the engine against optima proven by an outside MILP
// solver (CBC) on tight instances (placementtest.GenerateTight), stored with the
// solver's plan in testdata/tight (and, from fresh seeds, testdata/tight-holdout).
// Regenerate them with placementtest/cmd/milpset (see docs/placement-quality.md); the
// tests themselves never run a solver. Every cost and every feasibility verdict is
// recomputed by the independent evaluator in oracle_test.go.
const (
	tightSet        = "testdata/tight"
	tightHoldoutSet = "testdata/tight-holdout"
	// tightFreshSet was made from new seeds after the engine's tuning on the two sets
	// above had ended; two later changes answer instances of it
	// (docs/placement-quality.md).
	tightFreshSet = "testdata/tight-fresh"
	// looseSet: the same generator at 30 % and 50 % load, 8-100 clusters, made to check
	// the bounded proof on near-cheapest clusters (proveNear) against the solver.
	looseSet = "testdata/loose"
	// qualityDeadline bounds one default-strategy Place, so that a search that would
	// run for minutes cannot stall the suite; a Place cut short by it counts as
	// undecided. The engine's node budgets bound its work (at most about 0.5 s of CPU
	// per instance here); this safety net is a hundred times that, so that a loaded
	// machine or the race detector does not decide a verdict the budgets would have
	// reached.
	qualityDeadline = 60 * time.Second
	// exactDeadline bounds one exact Place up to 10 x 20, for the same reason.
	exactDeadline = 60 * time.Second
)

// placeWithin runs Place under a deadline; CONTINUUM_QUALITY_DEADLINE (a Go duration)
// replaces it, for measurements with a longer one.
func placeWithin(d time.Duration, in placementtest.Instance, req *placement.Request) (*placement.Plan, error) {
	if v, err := time.ParseDuration(os.Getenv("CONTINUUM_QUALITY_DEADLINE")); err == nil && v > 0 {
		d = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return placement.Place(ctx, in.Snapshot(), req)
}

// qualityInstance is a stored instance, decoded, with its evaluator.
type qualityInstance struct {
	rec placementtest.OracleRecord
	in  placementtest.Instance
	o   oracle
}

func loadQualitySet(t testing.TB, dir string) []qualityInstance {
	t.Helper()
	recs, err := placementtest.LoadOracleSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s holds no records; regenerate it with placementtest/cmd/milpset", dir)
	}
	out := make([]qualityInstance, 0, len(recs))
	for _, r := range recs {
		in, err := r.Instance()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, qualityInstance{rec: r, in: in, o: oracle{topo: in.Topology, apps: in.Apps, w: placement.DefaultWeights()}})
	}
	return out
}

func (q *qualityInstance) known() bool {
	s := q.rec.Solver.Status
	return s == placementtest.StatusOptimal || s == placementtest.StatusFeasible
}

func solverAssignment(as []placement.Assignment) map[replicaKey]string {
	at := map[replicaKey]string{}
	for _, a := range as {
		at[replicaKey{a.App, a.Component, a.Replica}] = a.Cluster
	}
	return at
}

// relClose reports whether a and b agree to tol relative (absolute below 1).
func relClose(a, b, tol float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(a), math.Abs(b)) }

// TestOracleSetsCrossCheck holds the stored solver results to the independent
// evaluator and to the engine's model: each stored plan is feasible and costs what the
// solver said (1e-6 relative), and Place in Repair mode with it as the current
// placement keeps it whole. A disagreement means the MILP export and the engine model
// different problems, and the optima would be meaningless.
func TestOracleSetsCrossCheck(t *testing.T) {
	for _, dir := range []string{tightSet, tightHoldoutSet, tightFreshSet, looseSet} {
		t.Run(strings.TrimPrefix(dir, "testdata/"), func(t *testing.T) {
			checked := 0
			for _, q := range loadQualitySet(t, dir) {
				if !q.known() {
					continue
				}
				checked++
				ok, cost, why := q.o.evaluate(solverAssignment(q.rec.Solver.Assignment))
				if !ok {
					t.Errorf("%s: the solver's plan is infeasible for the evaluator: %s", q.rec.Name, why)
					continue
				}
				if !relClose(cost, q.rec.Solver.Objective, 1e-6) {
					t.Errorf("%s: the evaluator prices the solver's plan at %.9g, the solver at %.9g", q.rec.Name, cost, q.rec.Solver.Objective)
				}
				if q.rec.Solver.Bound > q.rec.Solver.Objective*(1+1e-9) {
					t.Errorf("%s: bound %.9g above the objective %.9g", q.rec.Name, q.rec.Solver.Bound, q.rec.Solver.Objective)
				}
				req := q.in.Request()
				req.Current, req.Mode = q.rec.Solver.Assignment, placement.Repair
				plan, err := placement.Place(context.Background(), q.in.Snapshot(), req)
				switch {
				case err != nil:
					t.Errorf("%s: Repair of the solver's plan: %v", q.rec.Name, err)
				case !plan.Feasible || plan.Moves != 0:
					t.Errorf("%s: Repair of the solver's plan: feasible %v, %d moves, want it kept whole", q.rec.Name, plan.Feasible, plan.Moves)
				}
			}
			if checked == 0 {
				t.Fatalf("%s: no stored plan to check", dir)
			}
			t.Logf("%s: %d stored plans agree with the evaluator and the engine", dir, checked)
		})
	}
}

// qualityStats is the tally of one run of the engine over a stored set.
type qualityStats struct {
	instances, proven, placed int
	falseInfeasible           []string       // ErrUnplaceable although the solver has a plan
	undecided                 []string       // any other failure to give a complete plan
	wrongFeasible             []string       // a plan called feasible that the evaluator rejects
	belowBound                []string       // cheaper than the solver's proven lower bound
	mispriced                 []string       // the plan's objective disagrees with the evaluator
	falseOptimal              []string       // Search.Optimal on a plan dearer than the proven optimum
	optimalClaims             int            // plans with Search.Optimal checked against a proven optimum
	phaseRuns                 map[string]int // plans per phase that ran
	gaps                      []float64
	worst                     string
	elapsed                   time.Duration
}

// percentile returns the p-th percentile (nearest rank) of sorted xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// runQuality places every stored instance with the given strategy and grades the
// plans. An instance with a proven optimum that the engine does not place counts with
// an infinite gap: undecided instances are findings, not skipped.
func runQuality(t *testing.T, set []qualityInstance, strategy placement.Strategy) qualityStats {
	t.Helper()
	return runQualitySeed(t, set, strategy, 0)
}

// runQualitySeed is runQuality with the search's random choices set by seed
// (Request.Seed).
func runQualitySeed(t *testing.T, set []qualityInstance, strategy placement.Strategy, seed uint64) qualityStats {
	t.Helper()
	var st qualityStats
	worst := -1.0
	for _, q := range set {
		st.instances++
		optimal := q.rec.Solver.Status == placementtest.StatusOptimal
		if optimal {
			st.proven++
		}
		req := q.in.Request()
		req.Strategy, req.Seed = strategy, seed
		start := time.Now()
		plan, err := placeWithin(qualityDeadline, q.in, req)
		st.elapsed += time.Since(start)
		if q.rec.Solver.Status == placementtest.StatusInfeasible {
			if err == nil && plan.Feasible {
				st.wrongFeasible = append(st.wrongFeasible, q.rec.Name+" (the solver proved it infeasible)")
			}
			continue
		}
		if err != nil || !plan.Feasible {
			switch {
			// Every stored instance is feasible: the solver found a plan, or (status
			// unknown) the generator planted one (TestOracleSetsReproducible holds the
			// stored instances to the generator).
			case errors.Is(err, placement.ErrUnplaceable):
				st.falseInfeasible = append(st.falseInfeasible, fmt.Sprintf("%s: %v", q.rec.Name, firstLine(err)))
			default:
				st.undecided = append(st.undecided, fmt.Sprintf("%s: %v", q.rec.Name, firstLine(err)))
			}
			if optimal {
				st.gaps = append(st.gaps, math.Inf(1))
			}
			continue
		}
		ok, cost, why := q.o.evaluate(assignmentOf(plan))
		if !ok {
			st.wrongFeasible = append(st.wrongFeasible, fmt.Sprintf("%s: %s", q.rec.Name, why))
			continue
		}
		st.placed++
		for _, ph := range plan.Search.Phases {
			if st.phaseRuns == nil {
				st.phaseRuns = map[string]int{}
			}
			st.phaseRuns[ph.Name]++
		}
		if !relClose(plan.Objective.Total, cost, 1e-6) {
			st.mispriced = append(st.mispriced, fmt.Sprintf("%s: plan %.9g, evaluator %.9g", q.rec.Name, plan.Objective.Total, cost))
		}
		if q.known() && cost < q.rec.Solver.Bound*(1-1e-6) {
			st.belowBound = append(st.belowBound, fmt.Sprintf("%s: %.9g < bound %.9g", q.rec.Name, cost, q.rec.Solver.Bound))
		}
		if optimal && plan.Search.Optimal {
			st.optimalClaims++
			if !relClose(cost, q.rec.Solver.Objective, 1e-6) {
				st.falseOptimal = append(st.falseOptimal, fmt.Sprintf("%s: claims optimal at %.9g, the solver's optimum is %.9g", q.rec.Name, cost, q.rec.Solver.Objective))
			}
		}
		if optimal {
			gap := (cost - q.rec.Solver.Objective) / q.rec.Solver.Objective
			st.gaps = append(st.gaps, gap)
			if gap > worst {
				worst, st.worst = gap, q.rec.Name
			}
		}
	}
	slices.Sort(st.gaps)
	return st
}

func firstLine(err error) string {
	if err == nil {
		return "incomplete plan without an error"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func (st *qualityStats) log(t *testing.T, name string) {
	t.Helper()
	placedGaps := slices.DeleteFunc(slices.Clone(st.gaps), func(g float64) bool { return math.IsInf(g, 1) })
	within := 0
	for _, g := range placedGaps {
		if g <= 0.01 {
			within++
		}
	}
	t.Logf("%s: %d instances, %d with proven optima, %d placed feasibly", name, st.instances, st.proven, st.placed)
	t.Logf("%-36s %10s", "measure", "value")
	t.Logf("%-36s %10d", "false infeasible verdicts", len(st.falseInfeasible))
	t.Logf("%-36s %10d", "undecided", len(st.undecided))
	t.Logf("%-36s %10d", "infeasible plans called feasible", len(st.wrongFeasible))
	t.Logf("%-36s %9.2f%%", "gap median (unplaced = inf)", 100*percentile(st.gaps, 50))
	t.Logf("%-36s %9.2f%%", "gap p95 (unplaced = inf)", 100*percentile(st.gaps, 95))
	if len(placedGaps) > 0 {
		t.Logf("%-36s %9.2f%%", "gap median (placed only)", 100*percentile(placedGaps, 50))
		t.Logf("%-36s %9.2f%%", "gap p95 (placed only)", 100*percentile(placedGaps, 95))
		t.Logf("%-36s %9.2f%%  (%s)", "gap worst placed", 100*placedGaps[len(placedGaps)-1], st.worst)
		t.Logf("%-36s %5d / %d", "within 1% of the optimum", within, len(placedGaps))
	}
	t.Logf("%-36s %10d", "plans proven optimal by the engine", st.optimalClaims)
	t.Logf("%-36s %10s", "engine time, total", st.elapsed.Round(time.Millisecond))
	for _, l := range [][]string{st.falseInfeasible, st.undecided, st.wrongFeasible, st.belowBound, st.mispriced, st.falseOptimal} {
		for i, s := range l {
			if i == 10 {
				t.Logf("  ... and %d more", len(l)-10)
				break
			}
			t.Logf("  %s", s)
		}
	}
}

// grade fails on what issue 12 rules out.
func (st *qualityStats) grade(t *testing.T, minProven int) {
	t.Helper()
	if p := percentile(st.gaps, 95); !(p <= 0.05) {
		t.Errorf("p95 gap to the proven optimum %.2f%%, want <= 5%%", 100*p)
	}
	if st.proven < minProven {
		t.Errorf("%d instances with proven optima, want at least %d", st.proven, minProven)
	}
	if n := len(st.falseInfeasible); n > 0 {
		t.Errorf("%d false infeasible verdicts (ErrUnplaceable while a feasible plan exists)", n)
	}
	if n := len(st.wrongFeasible); n > 0 {
		t.Errorf("%d plans called feasible that the evaluator rejects", n)
	}
	if n := len(st.belowBound); n > 0 {
		t.Errorf("%d plans cheaper than the solver's proven lower bound: the evaluator or the stored data is wrong", n)
	}
	if n := len(st.mispriced); n > 0 {
		t.Errorf("%d plans whose objective disagrees with the evaluator", n)
	}
	if n := len(st.falseOptimal); n > 0 {
		t.Errorf("%d plans claimed optimal (Search.Optimal) that cost more than the solver's proven optimum", n)
	}
	if m := percentile(st.gaps, 50); !(m <= 0.01) {
		t.Errorf("median gap to the proven optimum %.2f%%, want <= 1%%", 100*m)
	}
}

// TestQualityTight runs the default strategy on the stored tight set.
func TestQualityTight(t *testing.T) {
	st := runQuality(t, loadQualitySet(t, tightSet), placement.StrategyDefault)
	st.log(t, tightSet)
	st.grade(t, 100)
	// The default strategy's bounded proof settles most of these instances (73 of 105
	// when written); each claim was checked against the solver above.
	if st.optimalClaims < 50 {
		t.Errorf("the default strategy proved %d plans optimal, want at least 50", st.optimalClaims)
	}
}

// TestQualityTightHoldout is the same on instances from fresh seeds, so that the engine
// is not tuned to the first set.
func TestQualityTightHoldout(t *testing.T) {
	st := runQuality(t, loadQualitySet(t, tightHoldoutSet), placement.StrategyDefault)
	st.log(t, tightHoldoutSet)
	st.grade(t, 40)
}

// TestQualityTightFresh is the same on the third set, made after the engine's budgets
// had been tuned on the first two. Three of its instances end undecided (violation
// search does not place them within its budget; the generator plants a plan in each),
// two of them among the 55 with proven optima, which the p95 (unplaced = infinite)
// just absorbs: one more there fails the test.
func TestQualityTightFresh(t *testing.T) {
	st := runQuality(t, loadQualitySet(t, tightFreshSet), placement.StrategyDefault)
	st.log(t, tightFreshSet)
	st.grade(t, 50)
	if n := len(st.undecided); n > 3 {
		t.Errorf("%d undecided, want at most the 3 of when the set was made", n)
	}
}

// TestQualityLoose is the same on instances at 30 % and 50 % load, up to 100 clusters,
// where most plans are settled by the bounded proof on near-cheapest clusters: its
// claims of optimality are checked against the solver's like every other.
func TestQualityLoose(t *testing.T) {
	st := runQuality(t, loadQualitySet(t, looseSet), placement.StrategyDefault)
	st.log(t, looseSet)
	st.grade(t, 60)
	t.Logf("plans settled by prove-near: %d", st.phaseRuns["prove-near"])
	// 23 of the 60 when the set was made; the claims are checked in grade.
	if n := st.phaseRuns["prove-near"]; n < 15 {
		t.Errorf("prove-near settled %d plans, want at least 15", n)
	}
}

// TestQualitySeeds: under other seeds (Request.Seed), on the stored tight instances of
// 15 clusters and more (where the search's random choices matter most), every verdict
// stays honest: no false infeasible verdict, no infeasible or mispriced plan called
// feasible, no false claim of optimality, a median gap within 1 %. Undecided runs and
// the gaps are logged: the quality differs from seed to seed, which is why the loop
// retries an undecided decision with another seed.
func TestQualitySeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("quality test: skipped in -short")
	}
	var set []qualityInstance
	for _, dir := range []string{tightSet, tightHoldoutSet, tightFreshSet} {
		for _, q := range loadQualitySet(t, dir) {
			if q.in.Topology.NumClusters() >= 15 {
				set = append(set, q)
			}
		}
	}
	for _, seed := range []uint64{1, 2} {
		st := runQualitySeed(t, set, placement.StrategyDefault, seed)
		st.log(t, fmt.Sprintf("seed %d, %d instances of 15 clusters and more", seed, len(set)))
		for _, l := range []struct {
			what string
			list []string
		}{{"false infeasible verdicts", st.falseInfeasible}, {"plans called feasible that the evaluator rejects", st.wrongFeasible},
			{"plans below the solver's bound", st.belowBound}, {"mispriced plans", st.mispriced}, {"false claims of optimality", st.falseOptimal}} {
			if len(l.list) > 0 {
				t.Errorf("seed %d: %d %s", seed, len(l.list), l.what)
			}
		}
		if m := percentile(st.gaps, 50); !(m <= 0.01) {
			t.Errorf("seed %d: median gap %.2f%%, want <= 1%%", seed, 100*m)
		}
	}
}

// TestExactProvesTight: within its default budget, the exact strategy proves the
// optimum of every stored instance up to 10 clusters x 20 components.
func TestExactProvesTight(t *testing.T) {
	var small []qualityInstance
	for _, q := range loadQualitySet(t, tightSet) {
		o := q.rec.Options
		if o.Clusters <= 10 && o.Components <= 20 && q.rec.Solver.Status == placementtest.StatusOptimal {
			small = append(small, q)
		}
	}
	if len(small) == 0 {
		t.Fatal("no stored instance up to 10 x 20 with a proven optimum")
	}
	proved := 0
	for _, q := range small {
		req := q.in.Request()
		req.Strategy = placement.StrategyExact
		plan, err := placeWithin(exactDeadline, q.in, req)
		if err != nil {
			t.Errorf("%s: exact: %v", q.rec.Name, firstLine(err))
			continue
		}
		ok, cost, why := q.o.evaluate(assignmentOf(plan))
		switch {
		case !ok:
			t.Errorf("%s: exact's plan is infeasible: %s", q.rec.Name, why)
		case !plan.Search.Optimal:
			t.Errorf("%s: exact did not prove optimality (%d nodes, cost %.6g, optimum %.6g)", q.rec.Name, plan.Search.Nodes, cost, q.rec.Solver.Objective)
		case !relClose(cost, q.rec.Solver.Objective, 1e-6):
			t.Errorf("%s: exact claims optimal at %.9g, the proven optimum is %.9g", q.rec.Name, cost, q.rec.Solver.Objective)
		default:
			proved++
		}
	}
	t.Logf("exact proved %d / %d instances up to 10 x 20", proved, len(small))
}

// BenchmarkQuality times the default strategy per stored instance, by set and size
// class; ms/median and ms/max are over the class's instances (each Place is cut at
// qualityDeadline; cut-by-deadline/instance says how often).
//
//	go test -run '^$' -bench BenchmarkQuality -benchtime 1x ./placement/
func BenchmarkQuality(b *testing.B) {
	for _, dir := range []string{tightSet, tightHoldoutSet, tightFreshSet, looseSet} {
		b.Run("set="+filepath.Base(dir), func(b *testing.B) { benchQualitySet(b, loadQualitySet(b, dir)) })
	}
}

func benchQualitySet(b *testing.B, set []qualityInstance) {
	classes := []struct {
		name   string
		lo, hi int // clusters
	}{{"clusters=5-10", 5, 10}, {"clusters=12-20", 12, 20}, {"clusters=25-30", 25, 30}, {"clusters=50-100", 50, 100}}
	for _, cl := range classes {
		var in []qualityInstance
		for _, q := range set {
			if c := q.rec.Options.Clusters; c >= cl.lo && c <= cl.hi {
				in = append(in, q)
			}
		}
		if len(in) == 0 {
			continue
		}
		b.Run(cl.name, func(b *testing.B) {
			var times []float64
			cut := 0
			for b.Loop() {
				for _, q := range in {
					start := time.Now()
					if _, err := placeWithin(qualityDeadline, q.in, q.in.Request()); errors.Is(err, context.DeadlineExceeded) {
						cut++
					}
					times = append(times, float64(time.Since(start))/1e6)
				}
			}
			slices.Sort(times)
			b.ReportMetric(percentile(times, 50), "ms/median")
			b.ReportMetric(times[len(times)-1], "ms/max")
			b.ReportMetric(float64(len(in)), "instances")
			b.ReportMetric(float64(cut)/float64(len(times)), "cut-by-deadline/instance")
		})
	}
}

// TestMILPModelAgreesWithEvaluator holds the MILP export's rows and objective against
// the independent evaluator, without a solver: on small tight instances, for the
// planted plan and for plans that move one to three of its components (or all of
// them) at random, the model and the evaluator agree on feasibility and cost.
func TestMILPModelAgreesWithEvaluator(t *testing.T) {
	var feasible, infeasible int
	for seed := uint64(1); seed <= 8; seed++ {
		o := placementtest.TightOptions{Clusters: 5 + int(seed%3), Components: 6 + int(seed%4), Load: []float64{0.6, 0.85}[seed%2]}
		tt := placementtest.GenerateTight(seed, o)
		m, err := placementtest.NewMILP(tt.Instance)
		if err != nil {
			t.Fatal(err)
		}
		ev := oracle{topo: tt.Topology, apps: tt.Apps, w: placement.DefaultWeights()}
		rng := rand.New(rand.NewPCG(seed, 99))
		clusters := tt.Topology.Clusters()
		for trial := range 300 {
			as := slices.Clone(tt.Planted)
			moves := 1 + rng.IntN(3)
			if trial%5 == 4 {
				moves = len(as)
			}
			if trial == 0 {
				moves = 0
			}
			for range moves {
				as[rng.IntN(len(as))].Cluster = clusters[rng.IntN(len(clusters))].Name
			}
			okM, costM, whyM, err := m.Check(as)
			if err != nil {
				t.Fatal(err)
			}
			okE, costE, whyE := ev.evaluate(solverAssignment(as))
			if okM != okE {
				t.Fatalf("%s trial %d: the model says feasible=%v (%s), the evaluator %v (%s)\n%v", tt.Name, trial, okM, whyM, okE, whyE, as)
			}
			if !okM {
				infeasible++
				continue
			}
			feasible++
			if !relClose(costM, costE, 1e-9) {
				t.Fatalf("%s trial %d: the model prices %.12g, the evaluator %.12g", tt.Name, trial, costM, costE)
			}
		}
	}
	if feasible < 50 || infeasible < 50 {
		t.Errorf("%d feasible and %d infeasible plans checked: too few of one kind to compare", feasible, infeasible)
	}
	t.Logf("model and evaluator agree on %d feasible and %d infeasible plans", feasible, infeasible)
}

// TestOracleSetsReproducible: the stored instances are what GenerateTight makes from
// their seeds and options, so the documented milpset runs regenerate the same sets. A
// change to the generator must come with regenerated data.
func TestOracleSetsReproducible(t *testing.T) {
	for _, dir := range []string{tightSet, tightHoldoutSet, tightFreshSet, looseSet} {
		recs, err := placementtest.LoadOracleSet(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			g := placementtest.GenerateTight(r.Seed, r.Options)
			want, err := placementtest.NewOracleRecord(r.Seed, r.Options, g.Instance, r.Solver)
			if err != nil {
				t.Fatal(err)
			}
			same := g.Name == r.Name && string(want.Topology) == string(r.Topology) && len(want.Apps) == len(r.Apps)
			for i := 0; same && i < len(r.Apps); i++ {
				same = string(want.Apps[i]) == string(r.Apps[i])
			}
			if !same {
				t.Errorf("%s/%s: GenerateTight(%d, %+v) makes another instance; regenerate the set (docs/placement-quality.md)", dir, r.Name, r.Seed, r.Options)
			}
		}
	}
}
