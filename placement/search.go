package placement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The default strategy, phase by phase (each with its own budget, Request.MaxNodes
// when set):
//
//  1. Domains: the filters' candidates narrowed by propagation, and certificates of
//     infeasibility (proof.go).
//  2. Greedy construction in constraint-tightness order, each replica on its cheapest
//     feasible cluster.
//  3. When that gets stuck: a bounded fail-first branch-and-bound dive with randomised
//     restarts (bb.go), then weighted-violation local search (wls.go), then a complete
//     depth-first search with forward checking (bb.go) that either finds a plan or,
//     when it exhausts the tree, proves that none exists.
//  4. Improvement: local moves (local.go), then large-neighbourhood search with exact
//     sub-solves (lns.go); on an instance that needed step 3, a second independent
//     large-neighbourhood run, the better plan standing.
//
// The exact strategy then runs branch and bound over every replica with the default
// plan as incumbent and a bound that counts compute, flows to sites and, per flow pair,
// the least RTT its two ends can have; it has its own node counter.

// Default budgets per phase.
const (
	defaultDiveNodes   = 20_000
	defaultRepairSteps = 20_000
	defaultLNSNodes    = 200_000
	defaultProofNodes  = 100_000
	defaultExactNodes  = 1_000_000
	// maxWork bounds the inner-loop steps of all phases together but the exact
	// strategy's (about a second of CPU); see workUp.
	maxWork = 400_000_000
)

// search runs the strategies over a compiled problem.
type search struct {
	p            *problem
	ctx          context.Context
	budget       struct{ dive, repair, lns, proof, exact int }
	nodes        int
	phaseNodes   int
	stopped      bool
	stopReason   string
	halted       bool  // the context ended
	err          error // the context was cancelled (not a deadline)
	ticks        int
	improvements int
	optimal      bool
	keptCurrent  bool
	proof        string
	propagated   bool
	hard         bool  // the greedy construction got stuck: improvement gets the full effort
	work         int64 // inner-loop steps spent (workUp)
	staticCache  [][]float64
	workOut      bool
	// LNS group sizes and sub-solve budget in force
	lnsGroup, lnsApp, lnsSub int
	lx                       *lnsIndex // during lns
	mark                     []bool    // scratch, one per cluster, all false between uses
	phases                   []PhaseStats
	rng                      *rand.Rand
	dom                      [][]int32
	domSet                   [][]bool
	pairMin                  []float64
	slots                    []int32
}

type candCost struct {
	c    int
	cost float64
}

const eps = 1e-9

// better reports whether cost a is lower than b by more than a rounding error.
func better(a, b float64) bool {
	if math.IsInf(b, 1) {
		return !math.IsInf(a, 1)
	}
	return a < b-eps*(1+math.Abs(b))
}

// timeUp reports whether the context has ended; a deadline stops the search (the best
// result so far stands), a cancellation makes Place return the context's error.
func (sr *search) timeUp() bool {
	if sr.halted {
		return true
	}
	sr.ticks++
	if sr.ticks&127 != 0 {
		return false
	}
	if err := sr.ctx.Err(); err != nil {
		sr.halted, sr.stopped = true, true
		if errors.Is(err, context.DeadlineExceeded) {
			sr.stopReason = "the time budget (deadline) ran out"
		} else {
			sr.err = err
		}
		return true
	}
	return false
}

// workUp reports whether the search has spent its work budget: a count of the inner
// steps of the repair and improvement phases (clusters examined for bounds,
// constraints re-checked), so that large instances, whose nodes cost more, stop in
// bounded time while the count stays deterministic. Exceeding it ends the phase that
// is running and every later one but the verdict.
func (sr *search) workUp() bool {
	if sr.work <= maxWork {
		return false
	}
	if !sr.workOut {
		sr.workOut, sr.stopped = true, true
		if sr.stopReason == "" {
			sr.stopReason = fmt.Sprintf("the search's work budget (%d steps of its inner loops) ran out", maxWork)
		}
	}
	return true
}

// static returns instance i's static cost on cluster c (compute, scorers, flows to
// sites, migration), cached per component and cluster when the instance has no
// current cluster (then it is the same for every replica) and the cache stays small.
func (sr *search) static(st *state, i, c int) float64 {
	p := sr.p
	in := &p.insts[i]
	if in.current >= 0 || int64(len(p.comps))*int64(p.n) > 4_000_000 {
		return st.staticCost(i, c, true).total()
	}
	if sr.staticCache == nil {
		sr.staticCache = make([][]float64, len(p.comps))
	}
	row := sr.staticCache[in.comp]
	if row == nil {
		row = make([]float64, p.n)
		for k := range row {
			row[k] = math.NaN()
		}
		sr.staticCache[in.comp] = row
	}
	if math.IsNaN(row[c]) {
		row[c] = st.staticCost(i, c, true).total()
	}
	return row[c]
}

// phase records a phase's node count and whether its budget cut it short.
func (sr *search) phase(name string, cut bool) {
	sr.phases = append(sr.phases, PhaseStats{Name: name, Nodes: sr.phaseNodes, StoppedEarly: cut})
	sr.phaseNodes = 0
}

func (sr *search) setBudgets(maxNodes int) {
	sr.budget.dive, sr.budget.repair, sr.budget.lns, sr.budget.proof, sr.budget.exact = defaultDiveNodes, defaultRepairSteps, defaultLNSNodes, defaultProofNodes, defaultExactNodes
	if maxNodes > 0 {
		sr.budget.dive, sr.budget.repair, sr.budget.lns, sr.budget.proof, sr.budget.exact = maxNodes, maxNodes, maxNodes, maxNodes, maxNodes
	}
}

func (sr *search) run() (*state, SearchStats, error) {
	p := sr.p
	strategy := p.req.Strategy
	if strategy == "" {
		strategy = StrategyDefault
	}
	sr.setBudgets(p.req.MaxNodes)
	sr.rng = rand.New(rand.NewPCG(0x636f6e74696e7575, uint64(len(p.insts))*7919+uint64(p.n)))
	sr.pairMin = make([]float64, len(p.pairs))
	for i := range sr.pairMin {
		sr.pairMin[i] = math.NaN()
	}
	all := make([]int, len(p.insts))
	for i := range all {
		all[i] = i
	}
	repair := len(p.req.Current) > 0 && p.req.Mode == Repair
	var cur *state // the placement in force, when complete and feasible (Reoptimize)
	if len(p.req.Current) > 0 && !repair {
		cur = sr.currentState(all)
	}
	var st *state
	movable := all
	if repair {
		st, movable = sr.repair(all)
	} else {
		st = sr.construct(sr.order(all), nil)
	}
	if sr.err != nil {
		return nil, SearchStats{}, sr.err
	}
	if !complete(st) && !sr.halted && sr.propagate() == "" {
		sr.hard = true
		st = sr.findFeasible(st, movable, all, repair)
		if complete(st) && repair {
			movable = sr.moved(st, movable)
		}
	}
	if cur != nil && (!complete(st) || better(p.objective(cur).total(), p.objective(st).total())) {
		st, movable = cur.clone(), all
	}
	if complete(st) && !sr.halted {
		sr.improve(st, movable)
		var alt *state
		if sr.hard {
			alt = st.clone()
		}
		sr.lns(st, movable, sr.budget.lns)
		if alt != nil && !sr.halted {
			// A tight instance gets a second, independent LNS run from the same start
			// with its own random stream and half the budget; the better plan stands.
			// One run can settle in a poor local optimum (gaps of 10-18 % on the stored
			// sets) where another does not, so this cuts the tail of the gaps.
			rng := sr.rng
			sr.rng = rand.New(rand.NewPCG(0x6c6e732d32, uint64(len(p.insts))*7919+uint64(p.n)))
			sr.lns(alt, movable, sr.budget.lns/2)
			sr.rng = rng
			if better(p.objective(alt).total(), p.objective(st).total()) {
				*st = *alt
			}
		}
		sr.phase("improve", false)
	}
	if sr.err != nil {
		return nil, SearchStats{}, sr.err
	}
	if strategy == StrategyExact && !sr.halted && sr.propagate() == "" {
		st = sr.exact(all, st)
		if sr.err != nil {
			return nil, SearchStats{}, sr.err
		}
	}
	if cur != nil && complete(st) {
		cc, nc := p.objective(cur).total(), p.objective(st).total()
		if !better(nc, cc-p.req.Hysteresis*math.Abs(cc)) {
			st, sr.keptCurrent = cur, true
		}
	}
	if !complete(st) {
		sr.fill(st)
	}
	stats := SearchStats{Strategy: strategy, Nodes: sr.nodes, Optimal: sr.optimal, StoppedEarly: sr.stopped,
		Improvements: sr.improvements, KeptCurrent: sr.keptCurrent, Phases: sr.phases, StopReason: sr.stopReason}
	switch {
	case complete(st):
		stats.Verdict = VerdictPlaced
	case sr.proof != "":
		stats.Verdict, stats.Proof = VerdictInfeasible, sr.proof
	default:
		stats.Verdict = VerdictUndecided
		if stats.StopReason == "" {
			stats.StopReason = "every phase ran out of its node budget without a complete plan"
		}
	}
	return st, stats, nil
}

// findFeasible runs the phases that look for a complete plan when the greedy one got
// stuck: a bounded branch-and-bound dive with restarts, weighted-violation search (in a
// repair, first with the kept replicas fixed, then with everything movable), then a
// complete search that finds a plan or proves there is none.
func (sr *search) findFeasible(st *state, movable, all []int, repair bool) *state {
	// First a bounded branch and bound from scratch over the movable replicas (the
	// others as st has them): fail-first with forward checking finds plans on tight
	// instances where greedy gets stuck, cheapest first, and keeps improving within
	// its budget. When it exhausts its tree the answer is exact.
	{
		base := st.clone()
		for _, i := range movable {
			base.unplace(i)
		}
		// A deterministic dive with a quarter of the budget, then, while nothing is
		// found, randomised restarts with growing node limits (a stuck depth-first
		// search is mostly stuck on its first decisions).
		b := sr.newBB(base, movable, true, sr.budget.dive/4)
		exhausted := b.run()
		sr.phaseNodes += b.nodes
		used := b.nodes
		for r := 1; b.bestAt == nil && !exhausted && used < sr.budget.dive && !sr.halted && !sr.workUp(); r++ {
			b = sr.newBB(base, movable, true, min(500*r, sr.budget.dive-used))
			b.noise = 0.3
			exhausted = b.run()
			sr.phaseNodes += b.nodes
			used += b.nodes
		}
		sr.phase("dive", !exhausted)
		if b.bestAt != nil && b.replay(base) {
			return base
		}
		// A tree exhausted without a plan proves there is none; one whose plan did not
		// replay proves nothing (the later phases go on).
		if exhausted && b.bestAt == nil && !sr.halted && len(movable) == len(all) {
			sr.proof = exhaustedProof(used)
			return st
		}
	}
	try := func(mov []int) *state {
		w := sr.newWLS(st.clone(), mov)
		out := w.run(sr.budget.repair)
		sr.phase("repair-violations", out == nil)
		return out
	}
	if out := try(movable); out != nil {
		return out
	}
	if repair && len(movable) < len(all) && !sr.halted {
		if out := try(all); out != nil {
			return out
		}
	}
	if sr.halted || sr.workUp() {
		return st
	}
	b := sr.newBB(newState(sr.p), all, false, sr.budget.proof)
	exhausted := b.run()
	sr.phaseNodes += b.nodes
	sr.phase("complete-search", !exhausted)
	if b.bestAt != nil {
		if out := newState(sr.p); b.replay(out) {
			return out
		}
		sr.stopped = true
		return st
	}
	if exhausted && !sr.halted {
		sr.proof = exhaustedProof(b.nodes)
		return st
	}
	sr.stopped = true
	return st
}

// exhaustedProof is the certificate of a complete search that ended without a plan.
func exhaustedProof(nodes int) string {
	return fmt.Sprintf("a complete search over every replica's clusters (%d nodes) found no plan", nodes)
}

// moved returns the instances whose cluster differs from Request.Current, or that are
// new: what a repair placed.
func (sr *search) moved(st *state, todo []int) []int {
	out := slices.Clone(todo)
	for i, in := range sr.p.insts {
		if in.current >= 0 && st.at[i] != in.current && !slices.Contains(out, i) {
			out = append(out, i)
			sr.p.explainOnly[i] = true
		}
	}
	slices.Sort(out)
	return out
}

// exact runs branch and bound over every instance with st (when complete) as the
// incumbent and its own node budget.
func (sr *search) exact(all []int, st *state) *state {
	p := sr.p
	b := sr.newBB(newState(p), all, true, sr.budget.exact)
	b.unmetered = true
	if complete(st) {
		b.best = p.objective(st).total()
	}
	exhausted := b.run()
	sr.phaseNodes += b.nodes
	sr.phase("exact", !exhausted)
	if exhausted {
		sr.optimal = b.bestAt != nil || complete(st)
		if b.bestAt == nil && !complete(st) {
			sr.proof = fmt.Sprintf("the exact search exhausted every assignment (%d nodes) without a plan", b.nodes)
		}
	} else {
		sr.stopped = true
		if sr.stopReason == "" {
			sr.stopReason = fmt.Sprintf("the exact search ran out of its %d-node budget", sr.budget.exact)
		}
	}
	if b.bestAt == nil {
		return st
	}
	if out := newState(p); b.replay(out) {
		return out
	}
	return st
}

// fill puts every unplaced instance on a cluster that takes it with the others as they
// are, so that the partial plan holds all it can and its explanations agree with it.
func (sr *search) fill(st *state) {
	p := sr.p
	var todo []int
	for i, c := range st.at {
		if c < 0 {
			todo = append(todo, i)
		}
	}
	for _, i := range sr.order(todo) {
		best, bestc := math.Inf(1), -1
		for _, c32 := range p.cands(p.insts[i].comp).cand {
			c := int(c32)
			if cc := st.cost(i, c).total(); better(cc, best) {
				if ok, _ := st.check(i, c, false); ok {
					best, bestc = cc, c
				}
			}
		}
		if bestc >= 0 {
			st.place(i, bestc)
		}
	}
}

func complete(st *state) bool { return !slices.Contains(st.at, -1) }

// order returns insts sorted by constraint tightness: fewest candidate clusters first,
// then the largest requests, then the most flows, then declaration order.
func (sr *search) order(insts []int) []int {
	p := sr.p
	order := slices.Clone(insts)
	for _, i := range order {
		p.cands(p.insts[i].comp)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := &p.comps[p.insts[a].comp], &p.comps[p.insts[b].comp]
		return cmp.Or(cmp.Compare(len(ka.cand), len(kb.cand)), cmp.Compare(kb.cores, ka.cores),
			cmp.Compare(len(p.insts[b].pairs), len(p.insts[a].pairs)))
	})
	return order
}

// construct places the instances of order that are not yet placed in st (a new state
// when nil), each on its cheapest feasible candidate, and leaves unplaced those that
// fit nowhere.
func (sr *search) construct(order []int, st *state) *state {
	if st == nil {
		st = newState(sr.p)
	}
	for n, i := range order {
		if n%64 == 0 && sr.timeUp() {
			break
		}
		if st.at[i] >= 0 {
			continue
		}
		if c := sr.cheapest(st, i); c >= 0 {
			st.place(i, c)
		}
	}
	return st
}

// cheapest returns the feasible cluster of least cost for the unplaced instance i, or
// -1. It scans the component's top candidates in static-cost order, stopping when the
// static cost alone reaches the best found; only when that does not settle it does it
// scan the other candidates.
func (sr *search) cheapest(st *state, i int) int {
	p := sr.p
	k := p.cands(p.insts[i].comp)
	best, bestc := math.Inf(1), -1
	consider := func(c int) {
		if !sr.inDom(p.insts[i].comp, c) {
			return
		}
		if cc := st.cost(i, c).total(); better(cc, best) {
			if ok, _ := st.check(i, c, false); ok {
				best, bestc = cc, c
			}
		}
	}
	for n, c32 := range k.top {
		if !better(k.topStatic[n], best) {
			return bestc // candidates are in static-cost order, a lower bound of the cost
		}
		consider(int(c32))
	}
	if len(k.top) == len(k.cand) {
		return bestc
	}
	if sr.mark == nil {
		sr.mark = make([]bool, p.n)
	}
	for _, c32 := range k.top {
		sr.mark[c32] = true
	}
	for _, c32 := range k.cand {
		if sr.mark[c32] || !better(sr.static(st, i, int(c32)), best) {
			continue
		}
		consider(int(c32))
	}
	for _, c32 := range k.top {
		sr.mark[c32] = false
	}
	return bestc
}

// currentState rebuilds Request.Current; nil when it is incomplete or infeasible.
func (sr *search) currentState(order []int) *state {
	st, kept := sr.keepCurrent(order)
	if kept < len(order) {
		return nil
	}
	return st
}

// repair keeps every replica whose current cluster still passes every constraint and
// places the rest greedily; it returns the state and the replicas it placed (the ones
// later phases may move). ExplainAuto then explains only those.
func (sr *search) repair(all []int) (*state, []int) {
	p := sr.p
	st, _ := sr.keepCurrent(all)
	var todo []int
	p.explainOnly = make([]bool, len(p.insts))
	for _, i := range all {
		if st.at[i] < 0 {
			todo = append(todo, i)
			p.explainOnly[i] = true
		}
	}
	return sr.construct(sr.order(todo), st), todo
}

// keepCurrent places, in order, every replica whose current cluster still passes every
// constraint, and says how many it placed.
func (sr *search) keepCurrent(order []int) (*state, int) {
	p := sr.p
	st, kept := newState(p), 0
	for _, i := range order {
		c := p.insts[i].current
		if c < 0 || !p.allowedAt(p.insts[i].comp, c) {
			continue
		}
		if ok, _ := st.check(i, c, false); ok {
			st.place(i, c)
			kept++
		}
	}
	return st, kept
}

// group returns instance i and the replicas co-located with it (same replica index).
func (sr *search) group(i int) []int {
	p := sr.p
	in := &p.insts[i]
	g := []int{i}
	for _, o := range p.comps[in.comp].coLocate {
		g = append(g, p.comps[o].first+in.rep)
	}
	return g
}

// solo reports whether instance i moves alone (its group is just i), without building
// the group.
func (sr *search) solo(i int) bool { return len(sr.p.comps[sr.p.insts[i].comp].coLocate) == 0 }

// leaderOf returns the instance that moves a co-location group: the lowest index.
func (sr *search) leaderOf(i int) int { return slices.Min(sr.group(i)) }
