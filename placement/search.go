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
	// defaultProofFirstNodes bounds proveFirst, which runs only when the instances'
	// domains add up to at most proofFirstDomains clusters (each node of its search
	// looks at every domain).
	defaultProofFirstNodes = 5_000
	proofFirstDomains      = 4_000
	// maxWork bounds the inner-loop steps of all phases together but the exact
	// strategy's (about a second of CPU); see workUp.
	maxWork = 400_000_000
)

// search runs the strategies over a compiled problem.
type search struct {
	p            *problem
	ctx          context.Context
	budget       struct{ dive, repair, lns, proof, exact, proofFirst int }
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
	workFill     int64 // the part of work that filled shared caches (pair bounds)
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
	flowMin                  map[[2]int]float64 // pairLB per flow (app, flow)
	markB                    []bool             // minShared's scratch
	slots                    []int32
	cpos                     []int32 // bb.index's cluster map, all -1 between uses
	posBuf                   []int32
	bbSpare                  *bb        // recycled by large-neighbourhood search
	promising                []candCost // bestUniform's scratch
	ldOut                    [][]int32
	ldBuf                    []int32 // localDomains' rows
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
	sr.budget.proofFirst = defaultProofFirstNodes
	if maxNodes > 0 {
		sr.budget.dive, sr.budget.repair, sr.budget.lns, sr.budget.proof, sr.budget.exact = maxNodes, maxNodes, maxNodes, maxNodes, maxNodes
		sr.budget.proofFirst = min(maxNodes, defaultProofFirstNodes)
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
		proven := false
		if sr.hard && len(movable) == len(all) {
			// Only on instances that needed the repair phases: there the neighbourhood
			// search's budget is large and the proof, helped by tight capacity, short;
			// on loose ones the search is short and the proof's bounds are weak.
			st, proven = sr.proveFirst(st, all)
		}
		var alt *state
		if sr.hard {
			alt = st.clone()
		}
		if !proven {
			sr.lns(st, movable, sr.budget.lns)
		}
		if alt != nil && !proven && !sr.halted {
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
	if strategy == StrategyExact && !sr.optimal && !sr.halted && sr.propagate() == "" {
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

// proveFirst runs a bounded exact search over every instance with st's plan as the
// incumbent, when the instances' domains are small enough for its nodes to be cheap.
// Most plans local search leaves on small and medium instances are optimal, and the
// search's bounds (compute and flows) prove it in a few hundred nodes; large-
// neighbourhood search can then add nothing, and is skipped. When it exhausts its
// tree it returns the optimal plan (st's or a cheaper one it found) and true; else st
// and false.
func (sr *search) proveFirst(st *state, all []int) (*state, bool) {
	p := sr.p
	dom := 0
	for _, i := range all {
		dom += len(sr.domain(p.insts[i].comp))
	}
	if dom > proofFirstDomains || sr.budget.proofFirst <= 0 {
		return st, false
	}
	found, exhausted, _ := sr.fromScratch(st, all, sr.budget.proofFirst, false, "prove")
	if !exhausted || sr.halted {
		// A cheaper plan found on the way is not taken: the depth-first search's first
		// plans can sit in a poorer basin for the neighbourhood search that follows
		// than local search's plan does (seen: a 58 % gap where 11 % was reached).
		return st, false
	}
	if found != nil {
		st = found
		sr.improvements++
	}
	sr.optimal = true
	return st, true
}

// fromScratch runs branch and bound over every instance from an empty plan, with st's
// cost as the incumbent when st is complete, as phase name. It returns the cheaper
// plan it found (nil if none), whether it exhausted its tree, and its nodes. A plan
// that does not replay (which cannot happen: the search checked every placement)
// counts as a tree not exhausted, so that no proof rests on it.
func (sr *search) fromScratch(st *state, all []int, maxNodes int, unmetered bool, name string) (*state, bool, int) {
	p := sr.p
	b := sr.newBB(newState(p), all, true, maxNodes)
	b.unmetered = unmetered
	if complete(st) {
		b.best = p.objective(st).total()
	}
	exhausted := b.run()
	sr.phaseNodes += b.nodes
	sr.phase(name, !exhausted)
	if b.bestAt == nil {
		return nil, exhausted, b.nodes
	}
	if out := newState(p); b.replay(out) {
		return out, exhausted, b.nodes
	}
	return nil, false, b.nodes
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
	found, exhausted, nodes := sr.fromScratch(st, all, sr.budget.exact, true, "exact")
	if exhausted {
		sr.optimal = found != nil || complete(st)
		if found == nil && !complete(st) {
			sr.proof = fmt.Sprintf("the exact search exhausted every assignment (%d nodes) without a plan", nodes)
		}
	} else {
		sr.stopped = true
		if sr.stopReason == "" {
			sr.stopReason = fmt.Sprintf("the exact search ran out of its %d-node budget", sr.budget.exact)
		}
	}
	if found != nil {
		return found
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
// It builds no group.
func (sr *search) leaderOf(i int) int {
	p := sr.p
	in := &p.insts[i]
	m := i
	for _, o := range p.comps[in.comp].coLocate {
		m = min(m, p.comps[o].first+in.rep)
	}
	return m
}
