package placement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
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
//     restarts (bb.go), then three quarters of the budget of weighted-violation local
//     search (wls.go), then a complete depth-first search with forward checking
//     (bb.go) that either finds a plan or, when it exhausts the tree, proves that none
//     exists, then the rest of the violation search. A plan found by an earlier phase
//     stands.
//  4. Improvement: local moves (local.go), then large-neighbourhood search with exact
//     sub-solves (lns.go); on an instance that needed step 3, two independent
//     large-neighbourhood runs, each ending with a re-solve of every application and
//     pair of applications as a whole (appResolve), the better plan standing, then a
//     re-solve of the replicas the two plans place differently (relink).
//
// On a tight instance the phases that do not depend on one another run side by side
// when Go has more than one CPU (search.parallel): the complete search beside the
// violation search (whose rest runs, on copies, beside the complete search), and the
// two large-neighbourhood runs. The plan is the same either way, byte for byte: each
// phase is deterministic, reads nothing the other writes, and a phase's answer is
// taken in the order above.
//
// The exact strategy then runs branch and bound over every replica with the default
// plan as incumbent and a bound that counts compute, flows to sites and, per flow pair,
// the least RTT its two ends can have; it has its own node counter.

// Default budgets per phase.
const (
	defaultDiveNodes   = 20_000
	defaultRepairSteps = 20_000
	defaultLNSNodes    = 80_000
	// defaultProofNodes bounds the complete search: on the stored tight sets and 112
	// instances generated from seeds 300001-300112 (the first 56 are tight-fresh) it
	// found its plans within 51,000 nodes, and past that it ran out on every instance
	// it was given.
	defaultProofNodes = 60_000
	defaultExactNodes = 1_000_000
	// defaultProofFirstNodes bounds proveFirst, which runs only when the instances'
	// domains add up to at most proofFirstDomains clusters (each node of its search
	// looks at every domain).
	defaultProofFirstNodes = 5_000
	proofFirstDomains      = 4_000
	// hardProofDomains bounds the domains (summed) of an instance that needed violation
	// search for proveFirst to run on it: of the 220 such instances of the four stored
	// sets none above 300 was proven within defaultProofFirstNodes (0 of 35; 9 of 18
	// between 200 and 300), and the failed proof cost 12-17 ms of their 0.1-0.3 s.
	hardProofDomains = 300
	// nearProofNodes bounds proveNear, which runs only when the clusters left in the
	// replicas' domains add up to at most nearProofDomains.
	nearProofNodes   = 200
	nearProofDomains = 400
	// maxWork bounds the inner-loop steps of all phases together but the exact
	// strategy's (about a second of CPU); see workUp.
	maxWork = 400_000_000
)

// search runs the strategies over a compiled problem.
type search struct {
	p            *problem
	ctx          context.Context
	budget       struct{ dive, repair, lns, proof, exact, proofFirst, apps int }
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
	pcg                      *rand.PCG // rng's source, for copies of the stream (findFeasibleAll)
	warmed                   bool      // warm has run
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
	ldBuf                    []int32   // localDomains' rows
	ldTop                    [][]int32 // localTop's answers, per component
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
	sr.budget.proofFirst, sr.budget.apps = defaultProofFirstNodes, appResolveTotal
	if maxNodes > 0 {
		sr.budget.dive, sr.budget.repair, sr.budget.lns, sr.budget.proof, sr.budget.exact = maxNodes, maxNodes, maxNodes, maxNodes, maxNodes
		sr.budget.proofFirst = min(maxNodes, defaultProofFirstNodes)
		sr.budget.apps = min(maxNodes, appResolveTotal)
	}
}

func (sr *search) run() (*state, SearchStats, error) {
	p := sr.p
	strategy := p.req.Strategy
	if strategy == "" {
		strategy = StrategyDefault
	}
	sr.setBudgets(p.req.MaxNodes)
	sr.pcg = rand.NewPCG(0x636f6e74696e7575^p.seedMix(), uint64(len(p.insts))*7919+uint64(p.n))
	sr.rng = rand.New(sr.pcg)
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
		if sr.hard && len(movable) == len(all) && sr.domainSum(all) <= hardProofDomains {
			// Only on instances that needed the repair phases: there the neighbourhood
			// search's budget is large and the proof, helped by tight capacity, short;
			// on loose ones the search is short and the proof's bounds are weak.
			st, proven = sr.proveFirst(st, all)
		}
		if !proven && !sr.hard && len(movable) == len(all) {
			st, proven = sr.proveNear(st, all)
		}
		if !proven && !sr.hard {
			sr.lns(st, movable, sr.budget.lns)
			if len(movable) == len(all) && sr.domainSum(all) <= smallDomains {
				// A small instance is cheap to prove: the bounded proof then either
				// confirms the neighbourhood search's plan or finds the optimum where
				// that search stopped in a local optimum (seen: 47 % above it on a
				// 6 x 8 instance whose optimum moves its one application as a whole).
				st, _ = sr.proveFirst(st, all)
			}
		}
		if !proven && sr.hard {
			// A tight instance gets a second, independent LNS run from the same start
			// with its own random stream and the same budget; the better plan stands.
			// One run can settle in a poor local optimum (gaps of 10-18 % on the stored
			// sets) where another does not, so this cuts the tail of the gaps.
			sr.lnsTwice(st, movable)
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

// seedMix spreads Request.Seed over the bits of the search's random-stream seeds
// (zero for seed zero, the default streams).
func (p *problem) seedMix() uint64 { return p.req.Seed * 0x9e3779b97f4a7c15 }

// lnsTwice runs large-neighbourhood search on st and, aside (side), with its own
// random stream and the same budget, on a copy of st; the better plan stands in st
// (the first on a tie), and the replicas the two plans place differently are re-solved
// together (relink). When the first run was halted by the context, st stands.
func (sr *search) lnsTwice(st *state, movable []int) {
	p := sr.p
	alt := st.clone()
	rng := rand.New(rand.NewPCG(0x6c6e732d32^p.seedMix(), uint64(len(p.insts))*7919+uint64(p.n)))
	twin := sr.side(func(t *search) *state {
		t.rng = rng
		t.lnsApps(alt, movable)
		return alt
	})
	sr.lnsApps(st, movable)
	halted := sr.halted
	twin.wait(sr)
	if halted {
		return
	}
	if better(p.objective(alt).total(), p.objective(st).total()) {
		*st, *alt = *alt, *st
	}
	sr.relink(st, alt, movable)
}

// lnsApps is one large-neighbourhood run on st followed by a re-solve of each
// application as a whole (appResolve): the neighbourhood search's groups take a few
// replicas over a few clusters each, and a local optimum where a whole application
// sits on the wrong clusters can be out of their reach (seen: 34 % above the optimum
// on a fresh 25 x 40 instance, 7 of one application's 9 components to move).
func (sr *search) lnsApps(st *state, movable []int) {
	sr.lns(st, movable, sr.budget.lns)
	if !sr.halted {
		sr.appResolve(st, movable, min(appResolveNodes, sr.budget.apps))
	}
}

// appResolveNodes bounds the branch and bound of one application's re-solve. Most
// end within a few hundred nodes, their bound proving that the application's
// replicas are placed at their best given the rest.
const appResolveNodes = 10_000

// parallelClusters bounds the clusters of a problem whose search phases may run side
// by side: warm builds every route up front, n^2 of them.
const parallelClusters = 64

// parallel reports whether the phases a tight instance's search runs aside (side: the
// second large-neighbourhood run, the complete search, the rest of violation search)
// go on goroutines of their own: more than one CPU for Go, routes few enough to build
// up front, and no scorer plugins (user code is never called from two goroutines at
// once). The answer never depends on it: aside phases run in forks either way.
func (sr *search) parallel() bool {
	p := sr.p
	return runtime.GOMAXPROCS(0) > 1 && p.n <= parallelClusters && p.topo.NumSites() <= denseRoutes && len(p.scorers) == 0
}

// warm fills the caches that the search fills on first use and shares (candidates,
// domain membership rows, routes, the least RTT between clusters), so that two
// searches side by side only read them.
func (sr *search) warm() {
	p := sr.p
	for k := range p.comps {
		sr.domain(k)
		if p.n > 0 {
			sr.inDom(k, 0) // fills the domain's membership row
		}
	}
	for a := range p.n {
		for b := range p.n {
			p.route(a, b)
		}
	}
	for s := range p.topo.NumSites() {
		for c := range p.n {
			p.siteRoute(s, c)
		}
	}
	for c := range p.n {
		p.fillRTTCol(c)
	}
	p.fillSiteRTT()
	p.minInterRTT()
}

// fork returns a search that shares sr's problem, context, budgets and domains, with
// copies of the caches it fills and its own scratch and counters, and no random
// stream (a phase that draws brings its own): what it does touches nothing sr reads.
func (sr *search) fork() *search {
	t := &search{p: sr.p, ctx: sr.ctx, budget: sr.budget, hard: sr.hard, work: sr.work, workFill: sr.workFill,
		workOut: sr.workOut, propagated: sr.propagated, dom: sr.dom, domSet: sr.domSet,
		pairMin: slices.Clone(sr.pairMin), flowMin: maps.Clone(sr.flowMin)}
	if sr.staticCache != nil {
		t.staticCache = make([][]float64, len(sr.staticCache))
		for k, row := range sr.staticCache {
			t.staticCache[k] = slices.Clone(row)
		}
	}
	return t
}

// join adds what fork's search t spent and found to sr's counters; work0 and fill0
// are sr's work counters when t was forked.
func (sr *search) join(t *search, work0, fill0 int64) {
	sr.nodes += t.nodes
	sr.phaseNodes += t.phaseNodes
	sr.work += t.work - work0
	sr.workFill += t.workFill - fill0
	sr.improvements += t.improvements
	sr.stopped = sr.stopped || t.stopped
	sr.halted = sr.halted || t.halted
	sr.workOut = sr.workOut || t.workOut
	if sr.err == nil {
		sr.err = t.err
	}
	if sr.stopReason == "" {
		sr.stopReason = t.stopReason
	}
	sr.phases = append(sr.phases, t.phases...)
	if sr.proof == "" {
		sr.proof = t.proof
	}
}

// proveFirst runs a bounded exact search over every instance with st's plan as the
// incumbent, when the instances' domains are small enough for its nodes to be cheap.
// Most plans local search leaves on small and medium instances are optimal, and the
// search's bounds (compute and flows) prove it in a few hundred nodes; large-
// neighbourhood search can then add nothing, and is skipped. When it exhausts its
// tree it returns the optimal plan (st's or a cheaper one it found) and true; else st
// and false.
func (sr *search) proveFirst(st *state, all []int) (*state, bool) {
	if sr.domainSum(all) > proofFirstDomains || sr.budget.proofFirst <= 0 {
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

// proveNear is a bounded exact search over every instance with st's plan as the
// incumbent, on domains cut to the clusters a cheaper plan could use. A plan costs at
// least the sum over its replicas of their static costs (compute, site flows,
// migration, plugins) plus its flow costs, none of them negative; so with lb the sum
// of every replica's least static cost plus every flow's least cost over the cut
// domains, a plan below st's cost ub puts each replica on a cluster whose static cost
// is within ub-lb of its least. On loose instances those are a few clusters per
// replica and the search ends in tens of nodes, proving st optimal or finding the
// optimum; large-neighbourhood search is then skipped. On 568 generated loose
// instances (5-225 clusters x 4-70 components), 247 of the 395 with at most
// nearProofDomains clusters left were settled within nearProofNodes nodes. It
// returns the optimal plan and true when the search exhausted its tree, else st and
// false.
func (sr *search) proveNear(st *state, all []int) (*state, bool) {
	p := sr.p
	if sr.budget.proofFirst <= 0 {
		return st, false
	}
	ub := p.objective(st).total()
	// Each replica's least static cost. For one with no current cluster (no migration
	// term) its component's ranking has it: the cheapest topK clusters, cheapest first,
	// and every other candidate costs at least the last of them.
	least := make([]float64, len(all))
	lb := 0.0
	for f, i := range all {
		in := &p.insts[i]
		if cs := p.cands(in.comp); in.current < 0 && len(cs.top) > 0 && len(sr.domain(in.comp)) == len(cs.cand) {
			least[f] = cs.topStatic[0]
		} else {
			least[f] = math.Inf(1)
			for _, c := range sr.domain(in.comp) {
				least[f] = min(least[f], sr.static(st, i, int(c)))
			}
		}
		lb += least[f]
	}
	doms := make([][]int32, len(all))
	tol := eps * (1 + math.Abs(ub))
	// cut keeps, of each domain, the clusters within gap of the replica's least static
	// cost. It gives up (false) when more than limit clusters would be left in all.
	cut := func(gap float64, limit int) bool {
		left := 0
		for f, i := range all {
			in := &p.insts[i]
			cs := p.cands(in.comp)
			if doms[f] == nil && in.current < 0 && len(sr.domain(in.comp)) == len(cs.cand) {
				n := len(cs.top)
				if n < len(cs.cand) && least[f]+gap >= cs.topStatic[n-1] {
					return false // at least the whole ranking: no cheap proof here
				}
				for n > 0 && cs.topStatic[n-1]-least[f] > gap {
					n--
				}
				if left += n; left > limit {
					return false
				}
				doms[f] = cs.top[:n:n]
				continue
			}
			src := doms[f]
			if src == nil {
				src = sr.domain(in.comp)
			}
			d := make([]int32, 0, len(src))
			for _, c := range src {
				if sr.static(st, i, int(c))-least[f] <= gap {
					d = append(d, c)
				}
			}
			if left += len(d); left > limit {
				return false
			}
			doms[f] = d
		}
		return true
	}
	if !cut(ub-lb+tol, 4*nearProofDomains) {
		return st, false
	}
	// The flows' least costs over the cut domains tighten the bound; a plan cheaper
	// than ub keeps to those domains, so the bound holds for every such plan.
	for pid := range p.pairs {
		if fp := &p.pairs[pid]; fp.b >= 0 {
			lb += sr.pairLBIn(fp, doms[fp.a], doms[fp.b])
		}
	}
	if !cut(ub-lb+tol, nearProofDomains) {
		return st, false
	}
	b := sr.newBBIn(newState(p), all, doms, true, min(nearProofNodes, sr.budget.proofFirst))
	b.best = ub
	exhausted := b.run() && !sr.halted
	sr.phaseNodes += b.nodes
	sr.phase("prove-near", !exhausted)
	var out *state
	if exhausted && b.bestAt != nil {
		if out = newState(p); !b.replay(out) {
			exhausted = false // cannot happen: the search checked every placement
		}
	}
	sr.recycle(b)
	if !exhausted {
		return st, false
	}
	if out != nil {
		st = out
		sr.improvements++
	}
	sr.optimal = true
	return st, true
}

// smallDomains bounds the domains (summed over the replicas) of a loose instance that
// gets the bounded proof after its neighbourhood search.
const smallDomains = 400

// domainSum is the sum of the instances' domain sizes.
func (sr *search) domainSum(insts []int) int {
	n := 0
	for _, i := range insts {
		n += len(sr.domain(sr.p.insts[i].comp))
	}
	return n
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
	if len(movable) < len(all) {
		// A repair with replicas kept: violation search over the movable ones, then
		// over all, then the complete search.
		if out, done := sr.dive(st, movable, all); done {
			return out
		}
		if out := sr.violations(sr.newWLS(st.clone(), movable), sr.budget.repair); out != nil {
			return out
		}
		if repair && !sr.halted {
			if out := sr.violations(sr.newWLS(st.clone(), all), sr.budget.repair); out != nil {
				return out
			}
		}
		if sr.halted || sr.workUp() {
			return st
		}
		return sr.completeSearch(st, all)
	}
	return sr.findFeasibleAll(st, all)
}

// wlsFirst is how many quarters of its budget violation search spends before the
// complete search runs (findFeasible); it goes on with the rest when the complete
// search ends without an answer. When violation search does not find a plan early,
// it seldom finds one late (on the stored tight sets it never needed more than 13,157
// of its 20,000 steps; on 112 instances generated from seeds 300001-300112, the first
// 56 of which are tight-fresh, once 16,100), while the complete search often does.
const wlsFirst = 3

// dive is findFeasible's first phase: a bounded branch and bound from scratch over the
// movable replicas (the others as st has them). Fail-first with forward checking finds
// plans on tight instances where greedy gets stuck, cheapest first, and keeps
// improving within its budget; when it exhausts its tree the answer is exact. It
// returns the plan, or st with a proof that none exists, and true; or false when
// neither.
func (sr *search) dive(st *state, movable, all []int) (*state, bool) {
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
		return base, true
	}
	// A tree exhausted without a plan proves there is none; one whose plan did not
	// replay proves nothing (the later phases go on).
	if exhausted && b.bestAt == nil && !sr.halted && len(movable) == len(all) {
		sr.proof = exhaustedProof(used)
		return st, true
	}
	return st, false
}

// violations runs weighted-violation local search w until it has taken upTo steps in
// all, as a phase: a plan or nil.
func (sr *search) violations(w *wls, upTo int) *state {
	out := w.run(upTo)
	sr.phase("repair-violations", out == nil)
	return out
}

// completeSearch is findFeasible's last phase: a complete depth-first search over
// every replica that finds a plan or, when it exhausts its tree, proves that none
// exists (sr.proof). It returns the plan, or st.
func (sr *search) completeSearch(st *state, all []int) *state {
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

// findFeasibleAll is findFeasible over every replica: the dive, three quarters of
// violation search, the complete search, the rest of violation search. The complete
// search runs aside (side), beside the first part of violation search when phases run
// in parallel: it does not depend on violation search (it starts from an empty plan
// and draws no random numbers), its answer is taken only when that part failed, and
// when it is not needed it is dropped and left out of the statistics. The rest of
// violation search runs aside too, on copies of its state and random stream (beside
// the complete search when in parallel), and counts only when the complete search
// ends without an answer.
func (sr *search) findFeasibleAll(st *state, all []int) *state {
	if out, done := sr.dive(st, all, all); done || sr.halted {
		return out
	}
	c := sr.side(func(t *search) *state { return t.completeSearch(st, all) })
	w := sr.newWLS(st.clone(), all)
	if out := sr.violations(w, sr.budget.repair*wlsFirst/4); out != nil {
		c.drop()
		return out
	}
	if sr.halted || sr.workUp() {
		c.drop()
		return st
	}
	// The rest of violation search runs now, on a copy of it and of the random stream,
	// and counts only when the complete search ends without an answer.
	pcg := *sr.pcg
	rest := sr.side(func(t *search) *state {
		t.pcg = &pcg
		t.rng = rand.New(t.pcg)
		return t.violations(w.clone(t), t.budget.repair)
	})
	if out := c.wait(sr); complete(out) || sr.proof != "" || sr.halted {
		rest.drop()
		return out
	}
	out := rest.wait(sr)
	*sr.pcg = pcg // the stream goes on from where the copy left it
	if out != nil {
		return out
	}
	return st
}

// sideRun is a phase run aside, in a fork of the search: on its own goroutine when
// phases run in parallel, else when its answer is waited for, so that the plan is the
// same either way, byte for byte.
type sideRun struct {
	t            *search
	cancel       context.CancelFunc
	lazy         func(t *search) *state // the phase, when it runs at wait
	done         chan struct{}
	out          *state
	failed       any // a panic, raised again by wait and drop
	work0, fill0 int64
}

// side starts phase on a fork of sr that can be stopped (drop).
func (sr *search) side(phase func(t *search) *state) *sideRun {
	ctx, cancel := context.WithCancel(sr.ctx)
	r := &sideRun{t: sr.fork(), cancel: cancel, work0: sr.work, fill0: sr.workFill}
	r.t.ctx = ctx
	if !sr.parallel() {
		r.lazy = phase
		return r
	}
	if !sr.warmed {
		sr.warm()
		sr.warmed = true
	}
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		defer func() { r.failed = recover() }()
		r.out = phase(r.t)
	}()
	return r
}

// wait waits for the phase (or runs it), adds its statistics to sr's and returns its
// answer.
func (r *sideRun) wait(sr *search) *state {
	if r.lazy != nil {
		r.out = r.lazy(r.t)
	} else {
		<-r.done
		if r.failed != nil {
			panic(r.failed)
		}
	}
	r.cancel()
	sr.join(r.t, r.work0, r.fill0)
	return r.out
}

// drop stops the phase, waits for it to end and forgets its answer (a panic in it is
// raised again: it is a bug either way). A phase that runs at wait never runs.
func (r *sideRun) drop() {
	r.cancel()
	if r.lazy != nil {
		return
	}
	<-r.done
	if r.failed != nil {
		panic(r.failed)
	}
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
	p.candsAll(order)
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
		if c < 0 || !p.currentAllowed(i) {
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
