package placement

import (
	"encoding/binary"
	"slices"
)

// Large-neighbourhood search: how the default strategy gets near the optimum. Each step
// frees a small group of replicas, re-solves where they go exactly by branch and bound
// (everything else fixed; bb.go) and keeps the result when it is cheaper. The groups
// are chosen five ways in turn (neighbourhoodLNS): related replicas (joined by flows or
// chains, with their co-located partners), replicas sharing a cluster with those of
// another cluster they could move to (exchanges that free capacity), replicas at random,
// a costly flow pair with the replicas on its two clusters, and a whole application with
// the replicas in its way. A group grows
// from three replicas up to lnsMaxGroup while steps keep failing, and shrinks back after
// an improvement. Single moves, swaps and neighbourhood moves (local.go) cannot move
// three dependent components together; a group re-solved exactly can.

const (
	// appPairNodes bounds the re-solve of a pair of applications (appResolve): a
	// short dive into their joint placement, cheapest first, which is where the
	// improvements seen were found; appResolveTotal bounds all the re-solves.
	appPairNodes    = 1_000
	appResolveTotal = 40_000
	lnsMinGroup     = 3
	// lnsMaxGroup: over the 25 stored tight instances that need violation search, 6
	// seeds each, groups of up to 16 replicas (were 12) cut the summed gap to the
	// optimum by 28 % and the runs more than 5 % above it from 34 to 28, for about 10 %
	// more CPU; 20 and 24 did no better.
	lnsMaxGroup = 16
	// lnsSubNodes bounds one group's branch and bound.
	lnsSubNodes = 2000
	// lnsAppGroup bounds the application-sized groups.
	lnsAppGroup = 16
	// lnsMaxStall ends the search after this many steps in a row without improvement.
	lnsMaxStall = 2000
	// lnsEasyStall (plus two per movable replica) ends it on instances the greedy
	// construction placed without help.
	lnsEasyStall = 20
	// lnsEasyGroup and lnsEasySubNodes bound the groups on such instances.
	lnsEasyGroup    = 6
	lnsEasySubNodes = 300
	// lnsEasyNodes per movable replica (at least lnsEasyMinNodes, at most
	// lnsEasyMaxNodes) bounds the whole search on such instances, so its cost stays a
	// fraction of the construction's on large easy requests while small ones, cheap
	// anyway, get enough to reach their optimum.
	lnsEasyNodes    = 10
	lnsEasyMinNodes = 3_000
	lnsEasyMaxNodes = 50_000
	// lnsLocal is how many of a replica's cheapest clusters (by static cost) a group's
	// sub-solve considers, besides the clusters of its group and its flow partners.
	lnsLocal = 12
	// lnsPerturbAfter is the run of failed steps after which perturbations begin, and
	// lnsSlack the cost increase, relative to the best objective, a perturbation may take.
	lnsPerturbAfter = 40
	lnsSlack        = 0.01
	// lnsMaxChecks bounds check's steps (state.checkWork) in one run's sub-solves. A
	// node's cost grows with the clusters a replica fits on and the length of the
	// routes its flows take: at 30 % and 50 % load more candidates pass the capacity
	// test and are checked, and one 30 x 30 instance of the loose set spent 13-14
	// million steps per run in its 80,000 nodes, against at most 5 million on the
	// tight sets, whose plans this bound leaves unchanged.
	lnsMaxChecks = 6_000_000
)

// lns improves the complete, feasible st by moving only movable instances, within
// maxNodes branch-and-bound nodes in all; it stops earlier after a run of steps
// without improvement at the largest group size.
func (sr *search) lns(st *state, movable []int, maxNodes int) {
	p := sr.p
	if len(movable) < 2 || maxNodes <= 0 {
		return
	}
	isMov := make([]bool, len(p.insts))
	for _, i := range movable {
		isMov[i] = true
	}
	size, stall, used := lnsMinGroup, 0, 0
	var checked int64 // check's steps (state.checkWork) in this run's sub-solves
	// An instance the greedy construction placed outright is loose: a short search
	// without perturbations settles it. One that needed the repair phases is tight
	// and gets the full effort.
	stallLimit := lnsMaxStall
	sr.lnsGroup, sr.lnsApp, sr.lnsSub = lnsMaxGroup, lnsAppGroup, lnsSubNodes
	if !sr.hard {
		stallLimit = min(lnsMaxStall, lnsEasyStall+2*len(movable))
		maxNodes = min(maxNodes, max(lnsEasyMinNodes, lnsEasyNodes*len(movable)), lnsEasyMaxNodes)
		sr.lnsGroup, sr.lnsApp, sr.lnsSub = lnsEasyGroup, lnsEasyGroup, lnsEasySubNodes
	}
	cur := p.objective(st).total()
	bestObj, bestSt := cur, (*state)(nil)
	var group []int
	var keyBuf []byte
	tried := map[string]lnsTried{} // groups re-solved without success since the plan last changed
	sr.lx = newLNSIndex(p, st, movable, isMov)
	defer func() { sr.lx = nil }()
	for step := 0; used < maxNodes && stall < stallLimit && checked < lnsMaxChecks; step++ {
		if sr.timeUp() || sr.workUp() {
			break
		}
		group = sr.neighbourhoodLNS(st, movable, isMov, min(size, len(movable)), step%5, group[:0])
		if len(group) < 2 {
			stall++
			continue
		}
		// After a run of failures, every other step is a perturbation: the group's first
		// replica must leave its cluster, and the best such re-solve is taken even when
		// it costs a little more (up to lnsSlack of the best objective), to leave a local
		// optimum; the best plan seen is what the search returns.
		perturb := sr.hard && stall >= lnsPerturbAfter && step%2 == 1
		// A group re-solved before from this same plan, whose tree was exhausted without
		// a better completion, would be searched again node for node: its nodes and work
		// are counted as if it ran (so budgets and what follows are unchanged) and the
		// step fails.
		key := lnsKey(keyBuf[:0], group, perturb)
		keyBuf = key
		budget := min(sr.lnsSub, maxNodes-used)
		if m, ok := tried[string(key)]; ok && m.nodes <= budget && sr.work+m.work <= maxWork {
			used += m.nodes
			checked += m.checks
			sr.phaseNodes += m.nodes
			sr.nodes += m.nodes
			sr.work += m.work
			stall++
			if stall%(4+len(movable)/4) == 0 && size < sr.lnsGroup {
				size++
			}
			continue
		}
		old, oldPool := lift(st, group)
		oldCost := sr.setCost(st, group, old)
		for k, j := range group {
			st.at[j] = old[k]
		}
		doms := sr.localDomains(st, group, old)
		if perturb {
			doms[0] = slices.DeleteFunc(slices.Clone(doms[0]), func(c int32) bool { return int(c) == old[0] })
			if len(doms[0]) == 0 {
				stall++
				continue
			}
		}
		for _, j := range group {
			st.unplace(j)
		}
		work0, fill0 := sr.work, sr.workFill
		b := sr.newBBIn(st, group, doms, true, budget)
		b.best = oldCost
		if perturb {
			b.best = oldCost + lnsSlack*max(bestObj, 0)
		}
		checks0 := st.checkWork
		exhausted := b.run()
		checked += st.checkWork - checks0
		used += b.nodes
		sr.phaseNodes += b.nodes
		nodes, found, bBest := b.nodes, b.bestAt != nil && (perturb || better(b.best, oldCost)), b.best
		replayed := found && b.replay(st)
		sr.recycle(b)
		if found {
			clear(tried) // the plan changes
			if !replayed {
				// Cannot happen: st is as during the search. Undo and go on.
				for _, j := range group {
					if st.at[j] >= 0 {
						st.unplace(j)
					}
				}
				for k := len(group) - 1; k >= 0; k-- {
					st.restore(group[k], old[k], oldPool[k])
				}
				stall++
				continue
			}
			for k, j := range group {
				sr.lx.move(j, old[k], st.at[j])
			}
			cur += bBest - oldCost
			if better(cur, bestObj) {
				sr.improvements++
				bestObj, bestSt = cur, nil
				stall, size = 0, max(lnsMinGroup, size-1)
			} else {
				if bestSt == nil && perturb {
					// Keep the best plan before walking away from it.
					bestSt = st.clone()
					for _, j := range group {
						bestSt.unplace(j)
					}
					for k := len(group) - 1; k >= 0; k-- {
						bestSt.restore(group[k], old[k], oldPool[k])
					}
				}
				stall++
			}
			continue
		}
		for k := len(group) - 1; k >= 0; k-- {
			st.restore(group[k], old[k], oldPool[k])
		}
		if exhausted && !sr.halted {
			// The work of filling shared caches (pair bounds) is not repeated.
			tried[string(key)] = lnsTried{nodes: nodes, work: sr.work - work0 - (sr.workFill - fill0), checks: st.checkWork - checks0}
		}
		stall++
		if stall%(4+len(movable)/4) == 0 && size < sr.lnsGroup {
			size++
		}
	}
	if bestSt != nil {
		*st = *bestSt
	}
}

// lnsTried is what re-solving a group cost when it found nothing better.
type lnsTried struct {
	nodes  int
	work   int64
	checks int64
}

// lnsKey appends the group (in order: the search depends on it) and whether the step
// perturbs to buf.
func lnsKey(buf []byte, group []int, perturb bool) []byte {
	for _, i := range group {
		buf = binary.AppendUvarint(buf, uint64(i))
	}
	if perturb {
		buf = append(buf, 0xff)
	}
	return buf
}

// neighbourhoodLNS picks a group of about size movable, placed instances: kind 0
// related by flows and chains, 1 sharing clusters, 3 a costly flow pair and the
// replicas on its clusters, 4 the seed's application and the replicas in its way,
// others (2) at random.
func (sr *search) neighbourhoodLNS(st *state, movable []int, isMov []bool, size, kind int, out []int) []int {
	p := sr.p
	seed := movable[sr.rng.IntN(len(movable))]
	has := func(i int) bool { return slices.Contains(out, i) }
	add := func(i int) bool {
		if len(out) >= size || !isMov[i] || st.at[i] < 0 || has(i) {
			return len(out) < size
		}
		for _, j := range sr.group(i) {
			if isMov[j] && st.at[j] >= 0 && !has(j) {
				out = append(out, j)
			}
		}
		return len(out) < size
	}
	add(seed)
	switch kind {
	case 0: // breadth first over flows and chains
		for q := 0; q < len(out) && len(out) < size; q++ {
			i := out[q]
			for _, pid := range p.insts[i].pairs {
				if fp := &p.pairs[pid]; fp.b >= 0 && !add(fp.other(i)) {
					break
				}
			}
			for _, ch := range p.insts[i].chains {
				for _, e := range p.chains[ch].elems {
					if e.comp < 0 {
						continue
					}
					k := &p.comps[e.comp]
					for r := range k.n {
						add(k.first + r)
					}
				}
			}
		}
	case 1: // the replicas of the seed's cluster and of up to three it could move to
		dom := sr.domain(p.insts[seed].comp)
		clusters := []int{st.at[seed]}
		for n := 1 + sr.rng.IntN(3); n > 0; n-- {
			if c := int(dom[sr.rng.IntN(len(dom))]); !slices.Contains(clusters, c) {
				clusters = append(clusters, c)
			}
		}
		pool := sr.lx.on(clusters, func(i int) bool { return i != seed })
		for len(pool) > 0 && len(out) < size {
			n := sr.rng.IntN(len(pool))
			add(pool[n])
			pool = slices.Delete(pool, n, n+1)
		}
	case 3: // a costly flow pair and the replicas on its two clusters
		chosen := sr.costlyPair(st)
		if chosen == nil {
			break
		}
		out = out[:0]
		add(chosen.a)
		add(chosen.b)
		pool := sr.lx.on([]int{st.at[chosen.a], st.at[chosen.b]}, func(i int) bool { return !has(i) })
		for len(pool) > 0 && len(out) < size {
			n := sr.rng.IntN(len(pool))
			add(pool[n])
			pool = slices.Delete(pool, n, n+1)
		}
	case 4: // the seed's application, when small enough to re-solve whole
		app := p.comps[p.insts[seed].comp].app
		pool := slices.DeleteFunc(slices.Clone(sr.lx.byApp[app]), func(i int) bool { return i == seed })
		for len(pool) > 0 && len(out) < sr.lnsApp {
			n := sr.rng.IntN(len(pool))
			add2 := pool[n]
			pool = slices.Delete(pool, n, n+1)
			if !has(add2) && st.at[add2] >= 0 {
				out = append(out, add2)
			}
		}
		// Then replicas of other applications on the same clusters, which may be in
		// the way.
		var clusters []int
		for _, j := range out {
			if !slices.Contains(clusters, st.at[j]) {
				clusters = append(clusters, st.at[j])
			}
		}
		pool = sr.lx.on(clusters, func(i int) bool { return !has(i) })
		for len(pool) > 0 && len(out) < sr.lnsApp {
			n := sr.rng.IntN(len(pool))
			out = append(out, pool[n])
			pool = slices.Delete(pool, n, n+1)
		}
	default:
		for tries := 0; len(out) < size && tries < 4*size; tries++ {
			add(movable[sr.rng.IntN(len(movable))])
		}
	}
	if len(out) > sr.lnsApp {
		out = out[:sr.lnsApp] // co-location groups can overshoot; the check keeps the rest consistent
	}
	return out
}

// localDomains returns, per group member, the clusters its sub-solve considers: all of
// its domain when small, else its lnsLocal cheapest by static cost plus the clusters
// the group and the members' flow partners run on (where a joint move cuts network
// cost), within its domain.
func (sr *search) localDomains(st *state, group, old []int) [][]int32 {
	p := sr.p
	// The rows share one buffer, reused by the next step (its bb is done by then).
	need := 0
	for _, i := range group {
		need += lnsLocal + len(old) + len(p.insts[i].pairs)
	}
	out, buf := grow(sr.ldOut, len(group)), grow(sr.ldBuf, need)
	sr.ldOut, sr.ldBuf = out, buf
	for f, i := range group {
		k := p.insts[i].comp
		dom := sr.domain(k)
		if len(dom) <= 2*lnsLocal {
			out[f] = dom
			continue
		}
		n := lnsLocal + len(old) + len(p.insts[i].pairs)
		d := append(buf[:0:n], sr.localTop(k)...)
		buf = buf[n:]
		add := func(c int) {
			if c >= 0 && sr.inDom(k, c) && !slices.Contains(d, int32(c)) {
				d = append(d, int32(c))
			}
		}
		for _, c := range old {
			add(c)
		}
		for _, pid := range p.insts[i].pairs {
			if fp := &p.pairs[pid]; fp.b >= 0 {
				add(st.at[fp.other(i)])
			}
		}
		out[f] = d
	}
	return out
}

// localTop returns component k's lnsLocal cheapest clusters by static cost within
// its domain, computed once per search (the domains no longer change when
// large-neighbourhood search runs).
func (sr *search) localTop(k int) []int32 {
	if sr.ldTop == nil {
		sr.ldTop = make([][]int32, len(sr.p.comps))
	}
	if d := sr.ldTop[k]; d != nil {
		return d
	}
	d := make([]int32, 0, lnsLocal)
	for _, c := range sr.p.cands(k).top {
		if len(d) == lnsLocal {
			break
		}
		if sr.inDom(k, int(c)) {
			d = append(d, c)
		}
	}
	sr.ldTop[k] = d
	return d
}

// pairCostNow is the network cost of pair pid as placed, above what co-location would
// cost (the part a move can save).
func (sr *search) pairCostNow(st *state, pid int32) float64 {
	p := sr.p
	fp := &p.pairs[pid]
	ca, cb := st.at[fp.a], st.at[fp.b]
	if ca < 0 || cb < 0 || ca == cb {
		return 0
	}
	return p.w.Network * fp.gbit * max(0, p.rtt(ca, cb).Ms()-p.rtt(ca, ca).Ms())
}

// lnsIndex finds the movable replicas of a cluster or an application without a scan of
// every replica, so one LNS step costs about its group's size, not the instance's.
type lnsIndex struct {
	byCluster [][]int // placed movable instances per cluster, ascending
	byApp     [][]int // movable instances per application, ascending
	pairs     []int32 // flow pairs between two movable-side replicas (a movable), in instance order
}

func newLNSIndex(p *problem, st *state, movable []int, isMov []bool) *lnsIndex {
	lx := &lnsIndex{byCluster: make([][]int, p.n)}
	for _, i := range movable {
		if c := st.at[i]; c >= 0 {
			lx.byCluster[c] = append(lx.byCluster[c], i)
		}
		app := p.comps[p.insts[i].comp].app
		for len(lx.byApp) <= app {
			lx.byApp = append(lx.byApp, nil)
		}
		lx.byApp[app] = append(lx.byApp[app], i)
		for _, pid := range p.insts[i].pairs {
			if fp := &p.pairs[pid]; fp.b >= 0 && fp.a == i {
				lx.pairs = append(lx.pairs, pid)
			}
		}
	}
	return lx
}

// move records that movable instance i went from cluster from to cluster to.
func (lx *lnsIndex) move(i, from, to int) {
	if from == to {
		return
	}
	if from >= 0 {
		l := lx.byCluster[from]
		if k, ok := slices.BinarySearch(l, i); ok {
			lx.byCluster[from] = slices.Delete(l, k, k+1)
		}
	}
	if to >= 0 {
		l := lx.byCluster[to]
		if k, ok := slices.BinarySearch(l, i); !ok {
			lx.byCluster[to] = slices.Insert(l, k, i)
		}
	}
}

// on returns the placed movable instances on the clusters that keep, ascending (the
// order of a scan of the movable list).
func (lx *lnsIndex) on(clusters []int, keep func(int) bool) []int {
	var out []int
	for _, c := range clusters {
		if c < 0 {
			continue
		}
		for _, i := range lx.byCluster[c] {
			if keep(i) {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lnsPairSample bounds how many flow pairs a costly-pair step prices: all of them up to
// this many, else a random sample of this size (with repeats).
const lnsPairSample = 64

// costlyPair draws a flow pair with probability proportional to what its placement
// costs above co-location; nil when none costs anything.
func (sr *search) costlyPair(st *state) *flowPair {
	p, lx := sr.p, sr.lx
	type weighted struct {
		pid  int32
		cost float64
	}
	var pairs []weighted
	total := 0.0
	consider := func(pid int32) {
		if c := sr.pairCostNow(st, pid); c > 0 {
			pairs = append(pairs, weighted{pid, c})
			total += c
		}
	}
	if len(lx.pairs) <= lnsPairSample {
		for _, pid := range lx.pairs {
			consider(pid)
		}
	} else {
		for range lnsPairSample {
			consider(lx.pairs[sr.rng.IntN(len(lx.pairs))])
		}
	}
	if total <= 0 {
		return nil
	}
	pick := sr.rng.Float64() * total
	for _, w := range pairs {
		if pick -= w.cost; pick <= 0 {
			return &p.pairs[w.pid]
		}
	}
	return nil
}

// appResolve re-solves each application's placed movable replicas as a whole, then
// those of each pair of applications, over their full domains and with everything
// else fixed, by branch and bound within budget nodes per application and
// appPairNodes per pair; an improvement is kept. It stops when it has spent
// sr.budget.apps nodes (appResolveTotal, or Request.MaxNodes when smaller), so that
// requests of many applications do not pay for every pair. (Threes of applications,
// 1,000 nodes each, took two stored instances from 1.4 % and 0.02 % to their optima,
// at up to about 90 ms more on the largest ones: left out, for the 250 ms budget.)
func (sr *search) appResolve(st *state, movable []int, budget int) {
	p := sr.p
	var byApp [][]int
	for _, i := range movable {
		app := p.comps[p.insts[i].comp].app
		for len(byApp) <= app {
			byApp = append(byApp, nil)
		}
		if st.at[i] >= 0 {
			byApp[app] = append(byApp[app], i)
		}
	}
	// Each application, then each pair of them (applications can block each other's
	// clusters: seen 16 % above the optimum on a fresh 30 x 50 instance whose optimum
	// moves 23 components of two applications).
	var apps []int
	for a, g := range byApp {
		if len(g) > 0 {
			apps = append(apps, a)
		}
	}
	groups := make([][]int, 0, len(apps))
	for _, a := range apps {
		groups = append(groups, byApp[a])
	}
	singles := len(groups)
	for x, a := range apps {
		for _, b := range apps[x+1:] {
			groups = append(groups, append(slices.Clone(byApp[a]), byApp[b]...))
		}
	}
	spent := 0
	for n, group := range groups {
		if spent >= sr.budget.apps || sr.halted {
			break
		}
		if len(group) < 2 {
			continue
		}
		limit := budget
		if n >= singles {
			limit = appPairNodes
		}
		limit = min(limit, sr.budget.apps-spent)
		spent += sr.resolveGroup(st, group, nil, limit)
	}
}

// resolveGroup frees group in st and re-solves where it goes by branch and bound
// within maxNodes, everything else fixed; it keeps a cheaper placement, else st is as
// it was. domains, when not nil, gives each member's clusters from the group's
// clusters before (localDomains' arguments); nil means their domains. It returns the
// nodes spent.
func (sr *search) resolveGroup(st *state, group []int, domains func(old []int) [][]int32, maxNodes int) int {
	old, oldPool := lift(st, group)
	oldCost := sr.setCost(st, group, old)
	for k, j := range group {
		st.at[j] = old[k]
	}
	var doms [][]int32
	if domains != nil {
		doms = domains(old)
	}
	for _, j := range group {
		st.unplace(j)
	}
	b := sr.newBBIn(st, group, doms, true, maxNodes)
	b.best = oldCost
	b.run()
	nodes := b.nodes
	sr.phaseNodes += nodes
	found := b.bestAt != nil && better(b.best, oldCost)
	replayed := found && b.replay(st)
	sr.recycle(b)
	if replayed {
		sr.improvements++
		return nodes
	}
	for _, j := range group {
		if st.at[j] >= 0 {
			st.unplace(j)
		}
	}
	for k := len(group) - 1; k >= 0; k-- {
		st.restore(group[k], old[k], oldPool[k])
	}
	return nodes
}

// relinkMax bounds the replicas relink frees, and relinkNodes its branch and bound.
const (
	relinkMax   = 24
	relinkNodes = 5_000
)

// relink re-solves, in st, the replicas that st and other (the plans of two
// independent neighbourhood runs from the same start) place differently, everything
// else fixed as st has it, over the clusters a neighbourhood step would give them
// (localDomains) and the one other gives each. Two runs that settle in different local
// optima often agree on most replicas; a combination of the two can be cheaper than
// both. It keeps an improvement.
func (sr *search) relink(st, other *state, movable []int) {
	p := sr.p
	var group []int
	for _, i := range movable {
		if st.at[i] != other.at[i] {
			group = append(group, i)
		}
	}
	if len(group) < 2 || len(group) > relinkMax {
		return
	}
	sr.resolveGroup(st, group, func(old []int) [][]int32 {
		doms := sr.localDomains(st, group, old)
		for f, i := range group {
			if c := other.at[i]; c >= 0 && sr.inDom(p.insts[i].comp, c) && !slices.Contains(doms[f], int32(c)) {
				doms[f] = append(slices.Clone(doms[f]), int32(c))
			}
		}
		return doms
	}, relinkNodes)
}
