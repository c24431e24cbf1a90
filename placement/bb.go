package placement

import (
	"cmp"
	"math"
	"slices"
)

// bb is a depth-first branch and bound over a free set of instances, every other
// instance fixed where the state has it. It serves four phases: the dive that looks for
// a first plan on tight instances (the movable instances free, with restarts), the
// exact strategy (everything free), large-neighbourhood search (a few instances free,
// the rest fixed) and the complete search that proves infeasibility (everything free,
// no objective).
//
// Branching is fail-first: at every node the free instance with the fewest clusters
// left is placed next, its clusters tried cheapest first. A cluster is left for an
// instance when it is in the instance's domain, no placed flow partner rules it out
// (no route, or over the flow's maximum RTT) and the cluster's free capacity holds the
// request; a node where some free instance has none left is a dead end (forward
// checking, sound because placing more only adds load). The bound of a node is the
// cost so far plus, for every free instance still unplaced, its least cost over the
// clusters left (static cost plus flows to placed partners), plus, for every flow pair
// whose two ends are both still unplaced, the least that pair can cost over the two
// domains. Every term is a lower bound, so pruning never loses the optimum.
type bb struct {
	sr       *search
	st       *state
	free     []int   // instances
	slot     []int32 // instance -> index in free, -1 when fixed
	optimize bool
	maxNodes int
	nodes    int
	stopped  bool // node budget or time ran out: the tree was not exhausted

	best   float64 // incumbent's cost of the free set (optimize)
	bestAt []int   // clusters of free, nil until a solution is found
	// path holds the free indices in the order they are placed on the current branch,
	// bestOrder that order for bestAt: node pools are first-fit, so a plan is rebuilt
	// in the order the search placed it (replay).
	path, bestOrder []int
	cost            float64 // cost so far of the placed free instances

	// part[f][n] is the cost of free[f] on dom[n] given its placed partners (static
	// cost plus flows to placed instances); bad[f][n] counts the placed partners that
	// rule that cluster out.
	part [][]float64
	bad  [][]int32
	dom  [][]int32
	// partBuf and badBuf hold part's and bad's rows.
	partBuf []float64
	badBuf  []int32
	pairSum float64 // sum of pairMin over pairs whose ends are both free and unplaced
	// plb holds the pair bounds over the given clusters when newBBIn had them (else
	// the domains' bounds, search.pairLB, are used).
	plb    map[int32]float64
	plbBuf map[int32]float64 // plb's map, kept when the bb is recycled
	placed int
	// scratch per depth
	bufs [][]candCost
	// noise, when > 0, randomises the search for restarts: ties of the fail-first
	// choice go at random, and each cluster's cost is scaled by a random factor in
	// [1, 1+noise) for the order in which clusters are tried (never for bounds).
	noise float64
	// Scratch for the noisy order.
	keys   []float64
	idx    []int
	sorted []candCost
	// unmetered: the search is not bound by the work budget (the exact strategy, which
	// has its own node budget).
	unmetered bool

	// The bound of each free instance (lb) is kept between nodes: lbM and lbLeft hold
	// it where lbOK says it is still valid. Placing an instance on cluster c changes
	// only c's free capacity, so it updates the kept bounds of the instances with c in
	// their domain in constant time each (byC lists them; search.cpos[c] indexes cl
	// and cStart), and invalidates those of its flow partners, whose costs it changes.
	// Every change is logged on trail, which backtracking unwinds.
	lbM     []float64
	lbLeft  []int32
	lbAt    []int32 // the domain entry where lbM is reached
	lbOK    []bool
	trail   []lbSave
	indexed bool    // byC is built
	cl      []int32 // the clusters in some free instance's domain
	cStart  []int32 // byC[cStart[k]:cStart[k+1]] are cluster cl[k]'s entries
	byC     []domPos
}

// lbSave is a kept bound before a change.
type lbSave struct {
	f    int32
	left int32
	at   int32
	ok   bool
	m    float64
}

// domPos is free instance f's domain entry n.
type domPos struct{ f, n int32 }

// newBB prepares a branch and bound over free (unplaced in st; everything else as st
// has it) in the instances' domains.
func (sr *search) newBB(st *state, free []int, optimize bool, maxNodes int) *bb {
	return sr.newBBIn(st, free, nil, optimize, maxNodes)
}

// newBBIn is newBB with the clusters of each free instance given (nil: its domain).
func (sr *search) newBBIn(st *state, free []int, doms [][]int32, optimize bool, maxNodes int) *bb {
	p := sr.p
	b := sr.spareBB(len(free))
	b.sr, b.st, b.free, b.optimize, b.maxNodes, b.best, b.slot = sr, st, free, optimize, maxNodes, math.Inf(1), sr.slotBuf()
	for f, i := range free {
		b.slot[i] = int32(f)
	}
	size := 0
	for f, i := range free {
		b.dom[f] = sr.domain(p.insts[i].comp)
		if doms != nil {
			b.dom[f] = doms[f]
		}
		size += len(b.dom[f])
	}
	partBuf, badBuf := grow(b.partBuf, size), grow(b.badBuf, size)
	clear(badBuf)
	b.partBuf, b.badBuf = partBuf, badBuf
	for f, i := range free {
		n := len(b.dom[f])
		b.part[f], b.bad[f] = partBuf[:n:n], badBuf[:n:n]
		partBuf, badBuf = partBuf[n:], badBuf[n:]
		sr.work += int64(len(b.dom[f]) * (1 + len(p.insts[i].pairs)))
		for n, c32 := range b.dom[f] {
			b.part[f][n] = sr.static(st, i, int(c32))
		}
		// Flows to placed instances (fixed ones; no free one is placed yet).
		for _, pid := range p.insts[i].pairs {
			fp := &p.pairs[pid]
			if fp.b < 0 {
				continue // site flows are in the static cost; their RTT bound is in the domain
			}
			o := fp.other(i)
			if oc := st.at[o]; oc >= 0 {
				b.charge(f, fp, oc, 1)
			} else if b.slot[o] >= 0 && o > i && doms == nil {
				b.pairSum += sr.pairLB(pid)
			}
		}
	}
	if doms != nil {
		// Flows between two free instances: the least RTT over the clusters given, which
		// are few (an LNS group's), so the bound is cheap and tighter than the domains'.
		for f, i := range free {
			k := p.insts[i].comp
			for _, pid := range p.insts[i].pairs {
				fp := &p.pairs[pid]
				if fp.b < 0 {
					continue
				}
				if o := fp.other(i); o > i && st.at[o] < 0 && b.slot[o] >= 0 {
					da, db := b.dom[f], b.dom[b.slot[o]]
					var v float64
					if len(da) == len(sr.domain(k)) && len(db) == len(sr.domain(p.insts[o].comp)) {
						v = sr.pairLB(pid) // whole domains (a subset of equal size): cached
					} else {
						v = sr.pairLBIn(fp, da, db)
					}
					if b.plb == nil {
						if b.plbBuf == nil {
							b.plbBuf = map[int32]float64{}
						}
						b.plb = b.plbBuf
					}
					b.plb[pid] = v
					b.pairSum += v
				}
			}
		}
	}
	return b
}

// index lists, per cluster, the free instances with it in their domain (byC).
func (b *bb) index() {
	cpos := b.sr.clusterPos()
	for _, d := range b.dom[:len(b.free)] {
		for _, c := range d {
			if cpos[c] < 0 {
				cpos[c] = int32(len(b.cl))
				b.cl = append(b.cl, c)
				b.cStart = append(b.cStart, 0)
			}
			b.cStart[cpos[c]]++
		}
	}
	// Counts to starts (exclusive prefix sums), then fill.
	sum := int32(0)
	for k, n := range b.cStart {
		b.cStart[k] = sum
		sum += n
	}
	b.cStart = append(b.cStart, sum)
	b.byC = grow(b.byC, int(sum))
	next := b.sr.posScratch(len(b.cl))
	copy(next, b.cStart)
	for f, d := range b.dom[:len(b.free)] {
		for n, c := range d {
			k := cpos[c]
			b.byC[next[k]] = domPos{int32(f), int32(n)}
			next[k]++
		}
	}
}

// clusterPos returns the cluster -> index-in-bb.cl map, all -1 between uses.
func (sr *search) clusterPos() []int32 {
	if sr.cpos == nil {
		sr.cpos = make([]int32, sr.p.n)
		for c := range sr.cpos {
			sr.cpos[c] = -1
		}
	}
	return sr.cpos
}

// posScratch returns a scratch row of n int32s.
func (sr *search) posScratch(n int) []int32 {
	sr.posBuf = grow(sr.posBuf, n)
	return sr.posBuf
}

// spareBB returns a bb for n free instances: the one recycle gave back, its fields
// reset and its slices kept for reuse, or a new one. Large-neighbourhood search builds
// one per step, most of them small, so the allocations would cost more than the search.
func (sr *search) spareBB(n int) *bb {
	b := sr.bbSpare
	if b == nil {
		return &bb{part: make([][]float64, n), bad: make([][]int32, n), dom: make([][]int32, n), bufs: make([][]candCost, n+1),
			lbM: make([]float64, n), lbLeft: make([]int32, n), lbAt: make([]int32, n), lbOK: make([]bool, n)}
	}
	sr.bbSpare = nil
	clear(b.plbBuf)
	*b = bb{part: grow(b.part, n), bad: grow(b.bad, n), dom: grow(b.dom, n), bufs: grow(b.bufs, n+1),
		partBuf: b.partBuf, badBuf: b.badBuf, plbBuf: b.plbBuf,
		path: b.path[:0], bestOrder: b.bestOrder[:0], keys: b.keys, idx: b.idx, sorted: b.sorted,
		lbM: grow(b.lbM, n), lbLeft: grow(b.lbLeft, n), lbAt: grow(b.lbAt, n), lbOK: grow(b.lbOK, n), trail: b.trail[:0],
		cl: b.cl[:0], cStart: b.cStart[:0], byC: b.byC[:0]}
	clear(b.lbOK)
	return b
}

// recycle gives b back for the next newBBIn, once its caller is done with it (its
// plan replayed or dropped).
func (sr *search) recycle(b *bb) { sr.bbSpare = b }

// grow returns s resliced to length n (its elements kept), reallocated when its
// capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// slotBuf returns the instance -> free index map, all -1.
func (sr *search) slotBuf() []int32 {
	if sr.slots == nil {
		sr.slots = make([]int32, len(sr.p.insts))
		for i := range sr.slots {
			sr.slots[i] = -1
		}
	}
	return sr.slots
}

// release clears the slot map for the next user.
func (b *bb) release() {
	for _, i := range b.free {
		b.slot[i] = -1
	}
	for _, c := range b.cl {
		b.sr.cpos[c] = -1
	}
	b.cl = b.cl[:0]
}

// other returns the end of the pair that is not i.
func (fp *flowPair) other(i int) int {
	if fp.a == i {
		return fp.b
	}
	return fp.a
}

// charge adds (sign 1) or removes (-1) the cost of pair fp for free[f] on each of its
// clusters, its partner placed on oc.
func (b *bb) charge(f int, fp *flowPair, oc int, sign float64) {
	p := b.sr.p
	w := p.w.Network * fp.gbit
	col := p.rttTo(oc, len(b.dom[f])) // nil: one lookup per cluster
	for n, c32 := range b.dom[f] {
		d := p.rttIn(col, oc, int(c32))
		if d < 0 || (fp.maxRTT > 0 && d > fp.maxRTT) {
			b.bad[f][n] += int32(sign)
			continue
		}
		if w != 0 {
			b.part[f][n] += sign * w * d.Ms()
		}
	}
}

// fits reports whether free[f] fits cluster c's free capacity.
func (b *bb) fits(f, c int) bool {
	p := b.sr.p
	req := p.comps[p.insts[b.free[f]].comp].req
	used, capc := b.st.used[c], p.capc[c]
	for d, need := range req {
		if need > 0 && used[d]+need > capc[d] {
			return false
		}
	}
	return true
}

// lbKept is the least cost of free[f] over its clusters left and how many are left,
// through the kept bounds: computed when not valid, then kept.
func (b *bb) lbKept(f int) (float64, int) {
	if b.lbOK[f] {
		b.sr.work += int64(len(b.dom[f])) // counted as if computed: the work budget stays as it was
		return b.lbM[f], int(b.lbLeft[f])
	}
	m, left, arg := b.lbArg(f)
	b.save(f)
	b.lbM[f], b.lbLeft[f], b.lbOK[f], b.lbAt[f] = m, int32(left), true, arg
	return m, left
}

// save logs free[f]'s kept bound before a change.
func (b *bb) save(f int) {
	b.trail = append(b.trail, lbSave{f: int32(f), left: b.lbLeft[f], at: b.lbAt[f], ok: b.lbOK[f], m: b.lbM[f]})
}

// unwind restores the kept bounds logged after trail mark.
func (b *bb) unwind(mark int) {
	for k := len(b.trail) - 1; k >= mark; k-- {
		e := b.trail[k]
		b.lbM[e.f], b.lbLeft[e.f], b.lbAt[e.f], b.lbOK[e.f] = e.m, e.left, e.at, e.ok
	}
	b.trail = b.trail[:mark]
}

// squeeze updates the kept bounds of the unplaced free instances with cluster c in
// their domain for free[f] about to be placed on c: an entry that fitted and will not
// leaves the count, and the bound is recomputed when it may have been the least.
func (b *bb) squeeze(f, c int) {
	p := b.sr.p
	k := b.sr.cpos[c]
	if k < 0 {
		return
	}
	add := p.comps[p.insts[b.free[f]].comp].req
	u, cp := b.st.used[c], p.capc[c]
	for _, e := range b.byC[b.cStart[k]:b.cStart[k+1]] {
		g := int(e.f)
		if !b.lbOK[g] || int(e.f) == f || b.bad[g][e.n] > 0 || b.st.at[b.free[g]] >= 0 {
			continue
		}
		req := p.comps[p.insts[b.free[g]].comp].req
		before, after := true, true
		for d, need := range req {
			if need > 0 {
				if u[d]+need > cp[d] {
					before = false
					break
				}
				if u[d]+add[d]+need > cp[d] {
					after = false
				}
			}
		}
		if before && !after {
			b.save(g)
			b.lbLeft[g]--
			if e.n == b.lbAt[g] {
				b.lbOK[g] = false
			}
		}
	}
}

// lbArg computes free[f]'s bound: the least cost over its clusters left, how many are
// left, and the domain entry where the least is reached (the first such).
func (b *bb) lbArg(f int) (float64, int, int32) {
	b.sr.work += int64(len(b.dom[f]))
	p := b.sr.p
	req := p.comps[p.insts[b.free[f]].comp].req
	used, capc := b.st.used, p.capc
	bad, part := b.bad[f], b.part[f]
	m, left, at := math.Inf(1), 0, int32(-1)
next:
	for n, c32 := range b.dom[f] {
		if bad[n] > 0 {
			continue
		}
		u, cp := used[c32], capc[c32]
		for d, need := range req {
			if need > 0 && u[d]+need > cp[d] {
				continue next
			}
		}
		left++
		if part[n] < m {
			m, at = part[n], int32(n)
		}
	}
	return m, left, at
}

// pairBound is the lower bound of flow pair pid between two free instances.
func (b *bb) pairBound(pid int32) float64 {
	if b.plb != nil {
		return b.plb[pid]
	}
	return b.sr.pairLB(pid)
}

// place puts free[f] on cluster c (checked) and updates the partners' costs.
func (b *bb) place(f, c int) {
	p := b.sr.p
	i := b.free[f]
	if !b.indexed {
		// Built on the first placement: a search pruned at its root (most of the
		// neighbourhood search's on loose instances) never needs it.
		b.index()
		b.indexed = true
	}
	b.squeeze(f, c)
	b.st.place(i, c)
	b.placed++
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.b < 0 {
			continue
		}
		o := fp.other(i)
		if g := b.slot[o]; g >= 0 && b.st.at[o] < 0 {
			b.pairSum -= b.pairBound(pid)
			b.charge(int(g), fp, c, 1)
			if b.lbOK[g] {
				b.save(int(g))
				b.lbOK[g] = false
			}
		}
	}
}

// unplace undoes place.
func (b *bb) unplace(f int) {
	p := b.sr.p
	i := b.free[f]
	c := b.st.at[i]
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.b < 0 {
			continue
		}
		o := fp.other(i)
		if g := b.slot[o]; g >= 0 && b.st.at[o] < 0 {
			b.pairSum += b.pairBound(pid)
			b.charge(int(g), fp, c, -1)
		}
	}
	b.st.unplace(i)
	b.placed--
}

// replay places b's best solution into st (where the free instances are unplaced and
// the rest is as during the search) in the order the search placed it, checking each
// placement; it reports false, leaving st partly placed, if one does not hold.
func (b *bb) replay(st *state) bool {
	for _, f := range b.bestOrder {
		i, c := b.free[f], b.bestAt[f]
		if ok, _ := st.check(i, c, false); !ok {
			return false
		}
		st.place(i, c)
	}
	return true
}

// run searches. In optimize mode it looks for the cheapest completion cheaper than
// b.best (set it to the incumbent's cost first); otherwise for any completion. It
// reports whether it exhausted the tree (then, in optimize mode, b.bestAt is optimal
// or nothing beats the incumbent; otherwise a nil b.bestAt proves no completion exists).
func (b *bb) run() bool {
	b.dfs(0)
	b.release()
	return !b.stopped
}

// dfs returns true to stop the whole search (a first solution in feasibility mode, or
// the budget).
func (b *bb) dfs(depth int) bool {
	b.nodes++
	b.sr.nodes++
	if b.nodes > b.maxNodes || b.sr.timeUp() || (!b.unmetered && b.sr.workUp()) {
		b.stopped = true
		return true
	}
	if b.placed == len(b.free) {
		if !b.optimize || better(b.cost, b.best) {
			b.best = b.cost
			b.bestOrder = append(b.bestOrder[:0], b.path...)
			b.bestAt = b.bestAt[:0]
			for _, i := range b.free {
				b.bestAt = append(b.bestAt, b.st.at[i])
			}
		}
		return !b.optimize
	}
	// Bound and fail-first choice.
	total, pick, pickLeft, pickLB := b.cost+b.pairSum, -1, math.MaxInt, 0.0
	for f, i := range b.free {
		if b.st.at[i] >= 0 {
			continue
		}
		m, left := b.lbKept(f)
		if left == 0 {
			return false
		}
		total += m
		if left < pickLeft || (b.noise > 0 && left == pickLeft && b.sr.rng.IntN(2) == 0) {
			pick, pickLeft, pickLB = f, left, m
		}
	}
	if b.optimize && !better(total, b.best) {
		return false
	}
	i := b.free[pick]
	buf := b.bufs[depth][:0]
	for n, c32 := range b.dom[pick] {
		if b.bad[pick][n] == 0 && b.fits(pick, int(c32)) {
			buf = append(buf, candCost{int(c32), b.part[pick][n]})
		}
	}
	if b.noise > 0 {
		// Shuffle by noisy keys, but keep the true cost for the bound below.
		// The scratch slices are shared by all depths: they are used up before the
		// recursion.
		keys := b.keys[:0]
		for n := range buf {
			keys = append(keys, buf[n].cost*(1+b.noise*b.sr.rng.Float64()))
		}
		idx := b.idx[:0]
		for n := range buf {
			idx = append(idx, n)
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Or(cmp.Compare(keys[x], keys[y]), cmp.Compare(buf[x].c, buf[y].c)) })
		sorted := b.sorted[:0]
		for _, j := range idx {
			sorted = append(sorted, buf[j])
		}
		copy(buf, sorted)
		b.keys, b.idx, b.sorted = keys, idx, sorted
	} else {
		slices.SortFunc(buf, func(x, y candCost) int { return cmp.Or(cmp.Compare(x.cost, y.cost), cmp.Compare(x.c, y.c)) })
	}
	b.bufs[depth] = buf
	// Pairs between pick and unplaced free partners leave pairSum once pick is placed;
	// the partners' own bounds then carry them.
	var pickPairs float64
	for _, pid := range b.sr.p.insts[i].pairs {
		fp := &b.sr.p.pairs[pid]
		if fp.b >= 0 {
			if o := fp.other(i); b.slot[o] >= 0 && b.st.at[o] < 0 {
				pickPairs += b.pairBound(pid)
			}
		}
	}
	rest := total - pickLB - pickPairs
	for _, e := range buf {
		if b.optimize && !better(rest+e.cost, b.best) {
			if b.noise > 0 {
				continue // not in cost order
			}
			break
		}
		if ok, _ := b.st.check(i, e.c, false); !ok {
			continue
		}
		mark := len(b.trail)
		b.place(pick, e.c)
		b.path = append(b.path, pick)
		b.cost += e.cost
		stop := b.dfs(depth + 1)
		b.cost -= e.cost
		b.path = b.path[:len(b.path)-1]
		b.unplace(pick)
		b.unwind(mark)
		if stop {
			return true
		}
	}
	return false
}
