package placement

import (
	"cmp"
	"context"
	"math"
	"slices"
)

// search runs the strategies over a compiled problem.
type search struct {
	p            *problem
	ctx          context.Context
	maxNodes     int
	nodes        int
	stopped      bool
	improvements int
	optimal      bool
	keptCurrent  bool
	bufs         [][]candCost
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

func (sr *search) run() (*state, SearchStats, error) {
	p := sr.p
	strategy := p.req.Strategy
	if strategy == "" {
		strategy = StrategyDefault
	}
	all := make([]int, len(p.insts))
	for i := range all {
		all[i] = i
	}
	var st *state
	var order []int
	if len(p.req.Current) > 0 && p.req.Mode == Repair {
		st = sr.repair(all)
		if strategy == StrategyExact {
			order = sr.order(all)
		}
	} else {
		order = sr.order(all)
		st = sr.construct(order, nil)
	}
	if err := sr.ctx.Err(); err != nil {
		return nil, SearchStats{}, err
	}
	if strategy == StrategyExact {
		st = sr.exact(order, st)
		if err := sr.ctx.Err(); err != nil {
			return nil, SearchStats{}, err
		}
	}
	if len(p.req.Current) > 0 && p.req.Mode != Repair && complete(st) {
		if cur := sr.currentState(order); cur != nil {
			cc, nc := p.objective(cur).total(), p.objective(st).total()
			if !better(nc, cc-p.req.Hysteresis*math.Abs(cc)) {
				st, sr.keptCurrent = cur, true
			}
		}
	}
	stats := SearchStats{Strategy: strategy, Nodes: sr.nodes, Optimal: sr.optimal, StoppedEarly: sr.stopped,
		Improvements: sr.improvements, KeptCurrent: sr.keptCurrent}
	return st, stats, nil
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
// when nil), each on its cheapest feasible candidate; when some instance fits nowhere
// it backtracks, and then improves the result by local search.
func (sr *search) construct(order []int, st *state) *state {
	p := sr.p
	if st == nil {
		st = newState(p)
	}
	var todo []int
	for _, i := range order {
		if st.at[i] < 0 {
			todo = append(todo, i)
		}
	}
	for _, i := range todo {
		if c := sr.cheapest(st, i); c >= 0 {
			st.place(i, c)
		}
	}
	if !complete(st) {
		// Greedy got stuck: search for any complete assignment of todo, depth first.
		for _, i := range todo {
			st.unplace(i)
		}
		if at := sr.branch(todo, st, false); at != nil {
			for _, i := range todo {
				st.place(i, at[i])
			}
		} else {
			// Nothing complete within the limit: keep the greedy partial placement.
			for _, i := range todo {
				for _, c32 := range p.cands(p.insts[i].comp).cand {
					if ok, _ := st.check(i, int(c32), false); ok {
						st.place(i, int(c32))
						break
					}
				}
			}
		}
	}
	sr.improve(st, todo)
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
	for _, c32 := range k.cand {
		if slices.Contains(k.top, c32) || !better(st.staticCost(i, int(c32), false).total(), best) {
			continue
		}
		consider(int(c32))
	}
	return bestc
}

// improve runs local search over the movable instances until no move lowers the
// objective: single moves (an instance with its co-located partners), neighbourhood
// moves (an instance with the components it exchanges traffic with, all to one
// cluster), and swaps of two instances (on instances of at most swapLimit replicas).
func (sr *search) improve(st *state, movable []int) {
	p := sr.p
	const swapLimit, ejectLimit = 400, 120
	isMovable := make([]bool, len(p.insts))
	for _, i := range movable {
		isMovable[i] = true
	}
	// Don't-look bits: after the first pass, only instances whose own placement or
	// whose flow partners' placement changed are looked at again.
	active := make([]bool, len(p.insts))
	for _, i := range movable {
		active[i] = true
	}
	wake := func(members []int) {
		for _, j := range members {
			active[j] = true
			for _, pid := range p.insts[j].pairs {
				fp := &p.pairs[pid]
				active[fp.a] = true
				if fp.b >= 0 {
					active[fp.b] = true
				}
			}
		}
	}
	for pass := 0; pass < 100; pass++ {
		improved := false
		for n, i := range movable {
			if n%64 == 0 && sr.ctx.Err() != nil {
				return
			}
			if !active[i] || st.at[i] < 0 || sr.leaderOf(i) != i {
				continue
			}
			active[i] = false
			group := sr.group(i)
			if sr.bestUniform(st, group) {
				improved = true
				wake(group)
			}
			if nb := sr.neighbourhood(st, i, isMovable); len(nb) > len(group) && sr.bestUniform(st, nb) {
				improved = true
				wake(nb)
			}
		}
		if len(movable) <= ejectLimit && !improved {
			if sr.eject(st, movable) {
				improved = true
			}
		}
		if len(movable) <= swapLimit {
			for x, i := range movable {
				if sr.ctx.Err() != nil {
					return
				}
				if !sr.solo(i) {
					continue
				}
				for _, j := range movable[x+1:] {
					if st.at[i] >= 0 && st.at[j] >= 0 && st.at[i] != st.at[j] && sr.solo(j) &&
						p.allowedAt(p.insts[i].comp, st.at[j]) && p.allowedAt(p.insts[j].comp, st.at[i]) &&
						sr.try(st, []int{i, j}, []int{st.at[j], st.at[i]}) {
						improved = true
						wake([]int{i, j})
					}
				}
			}
		}
		if !improved {
			return
		}
	}
}

// eject tries ejection moves: instance i goes to a cluster c that is too full for it,
// and one instance j on c makes room by moving to another of its candidates. It tries
// each i's 8 cheapest targets and each j's 8 cheapest alternatives, and applies the
// first move pair that lowers the objective.
func (sr *search) eject(st *state, movable []int) bool {
	p := sr.p
	const width = 8
	for _, i := range movable {
		if sr.ctx.Err() != nil {
			return false
		}
		ci := st.at[i]
		if ci < 0 || !sr.solo(i) {
			continue
		}
		for n, c32 := range p.cands(p.insts[i].comp).top {
			c := int(c32)
			if n >= width || c == ci {
				continue
			}
			for _, j := range movable {
				if st.at[j] != c || j == i || !sr.solo(j) {
					continue
				}
				for m, d32 := range p.cands(p.insts[j].comp).top {
					d := int(d32)
					if m >= width || d == c {
						continue
					}
					if sr.try(st, []int{j, i}, []int{d, c}) {
						return true
					}
				}
			}
		}
	}
	return false
}

// neighbourhood returns i's group plus the groups of the movable instances it shares
// flows with, at most 8 instances.
func (sr *search) neighbourhood(st *state, i int, movable []bool) []int {
	p := sr.p
	out := sr.group(i)
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.b < 0 {
			continue
		}
		o := fp.b
		if o == i {
			o = fp.a
		}
		if !movable[o] || st.at[o] < 0 || slices.Contains(out, o) {
			continue
		}
		g := sr.group(o)
		if len(out)+len(g) > 8 || slices.ContainsFunc(g, func(j int) bool { return st.at[j] < 0 }) {
			continue
		}
		for _, j := range g {
			if !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	return out
}

// bestUniform moves the members to the one cluster (a candidate of every member) that
// lowers the objective most; it reports whether it moved them.
func (sr *search) bestUniform(st *state, members []int) bool {
	p := sr.p
	// Price every target with the members only lifted; unplace them for real only to
	// check the promising targets.
	old, oldPool := lift(st, members)
	if slices.Contains(old, -1) {
		// A partial placement (construct keeps one when nothing complete was found) can
		// leave a co-located partner unplaced: such a set is not moved as a whole.
		for k, j := range members {
			st.at[j] = old[k]
		}
		return false
	}
	current := sr.setCost(st, members, old)
	target := make([]int, len(members))
	var promising []candCost
	lead := p.cands(p.insts[members[0]].comp)
	for n, c32 := range sr.moveTargets(st, members, lead) {
		if n < len(lead.top) && !better(lead.topStatic[n], current) {
			continue // the leader's static cost alone bounds the members' cost from below
		}
		c := int(c32)
		same, eligible := true, true
		for k, j := range members {
			target[k] = c
			same = same && old[k] == c
			eligible = eligible && p.cands(p.insts[j].comp).allowed[c]
		}
		if same || !eligible {
			continue
		}
		if cc := sr.setCost(st, members, target); better(cc, current) {
			promising = append(promising, candCost{c, cc})
		}
	}
	for k, j := range members {
		st.at[j] = old[k]
	}
	if len(promising) == 0 {
		return false
	}
	slices.SortFunc(promising, func(a, b candCost) int { return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.c, b.c)) })
	for _, j := range members {
		st.unplace(j)
	}
	for _, pc := range promising {
		for k := range target {
			target[k] = pc.c
		}
		if sr.setFits(st, members, target) {
			for _, j := range members {
				st.place(j, pc.c)
			}
			sr.improvements++
			return true
		}
	}
	for k, j := range members {
		st.restore(j, old[k], oldPool[k])
	}
	return false
}

// moveTargets lists the clusters local search tries for a move of members: the
// leader's top candidates by static cost, then the clusters of the instances they
// exchange traffic with (where a move can cut network cost) that are candidates too.
func (sr *search) moveTargets(st *state, members []int, lead *comp) []int32 {
	p := sr.p
	if len(lead.top) == len(lead.cand) {
		return lead.top
	}
	out := slices.Clone(lead.top)
	for _, j := range members {
		for _, pid := range p.insts[j].pairs {
			fp := &p.pairs[pid]
			if fp.b < 0 {
				continue
			}
			o := fp.b
			if o == j {
				o = fp.a
			}
			if c := st.at[o]; c >= 0 && lead.allowed[c] && !slices.Contains(out, int32(c)) {
				out = append(out, int32(c))
			}
		}
	}
	return out
}

// try moves members to target if that is feasible and lowers the objective.
func (sr *search) try(st *state, members, target []int) bool {
	// Compare costs with the members only lifted; unplacing for real is needed only to
	// check that a promising move fits.
	old, oldPool := lift(st, members)
	promising := better(sr.setCost(st, members, target), sr.setCost(st, members, old))
	for k, j := range members {
		st.at[j] = old[k]
	}
	if !promising {
		return false
	}
	for _, j := range members {
		st.unplace(j)
	}
	if sr.setFits(st, members, target) {
		for k, j := range members {
			st.place(j, target[k])
		}
		sr.improvements++
		return true
	}
	for k, j := range members {
		st.restore(j, old[k], oldPool[k])
	}
	return false
}

// lift records the members' clusters and pools and marks them unplaced in st.at only,
// their loads still charged: enough to price moves, since costs read st.at, not the
// loads. The caller sets st.at back from old before anything else (unplace reads it).
func lift(st *state, members []int) (old, oldPool []int) {
	old = make([]int, len(members))
	oldPool = make([]int, len(members))
	for k, j := range members {
		old[k], oldPool[k] = st.at[j], st.pool[j]
		st.at[j] = -1
	}
	return old, oldPool
}

// setCost is the cost of placing the (unplaced) members on target, one after the
// other, so flows among them count once.
func (sr *search) setCost(st *state, members, target []int) float64 {
	total := 0.0
	for k, j := range members {
		total += st.cost(j, target[k]).total()
		st.at[j] = target[k]
	}
	for _, j := range members {
		st.at[j] = -1
	}
	return total
}

// setFits reports whether the (unplaced) members can all go to target.
func (sr *search) setFits(st *state, members, target []int) bool {
	n, ok := 0, true
	for k, j := range members {
		if fits, _ := st.check(j, target[k], false); !fits {
			ok = false
			break
		}
		st.place(j, target[k])
		n++
	}
	for _, j := range members[:n] {
		st.unplace(j)
	}
	return ok
}

// branch searches depth first over the instances of order (unplaced in st): with bound
// it is branch and bound for the cheapest complete assignment, without it returns the
// first complete one. It returns the cluster of every instance, or nil.
func (sr *search) branch(order []int, st *state, bound bool) []int {
	p := sr.p
	lb := make([]float64, len(order)+1)
	if bound {
		for k := len(order) - 1; k >= 0; k-- {
			i := order[k]
			m := math.Inf(1)
			for _, c := range p.cands(p.insts[i].comp).cand {
				m = min(m, st.staticCost(i, int(c), true).total())
			}
			if math.IsInf(m, 1) {
				m = 0
			}
			lb[k] = lb[k+1] + m
		}
	}
	best := math.Inf(1)
	if bound && complete(st) {
		best = p.objective(st).total()
	}
	var bestAt []int
	if len(sr.bufs) < len(order) {
		sr.bufs = make([][]candCost, len(order))
	}
	work := st.clone()
	for _, i := range order {
		work.unplace(i)
	}
	base := 0.0
	if bound {
		// work may hold instances outside order; their cost is fixed.
		base = p.objective(work).total()
	}
	var dfs func(k int, cost float64) bool
	dfs = func(k int, cost float64) bool {
		sr.nodes++
		if sr.nodes > sr.maxNodes || (sr.nodes%1024 == 0 && sr.ctx.Err() != nil) {
			sr.stopped = true
			return true
		}
		if k == len(order) {
			if !bound || better(cost, best) {
				best = cost
				bestAt = slices.Clone(work.at)
			}
			return !bound
		}
		i := order[k]
		buf := sr.bufs[k][:0]
		for _, c32 := range p.cands(p.insts[i].comp).cand {
			c := int(c32)
			if ok, _ := work.check(i, c, false); ok {
				buf = append(buf, candCost{c, work.cost(i, c).total()})
			}
		}
		slices.SortFunc(buf, func(a, b candCost) int { return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.c, b.c)) })
		sr.bufs[k] = buf
		for n := 0; n < len(buf); n++ {
			e := sr.bufs[k][n]
			if bound && !better(cost+e.cost+lb[k+1], best) {
				break
			}
			work.place(i, e.c)
			done := dfs(k+1, cost+e.cost)
			work.unplace(i)
			if done {
				return true
			}
		}
		return false
	}
	stopped := dfs(0, base)
	if bound && !sr.stopped && !stopped {
		sr.optimal = true
	}
	return bestAt
}

// exact runs branch and bound over every instance, starting from the incumbent st.
func (sr *search) exact(order []int, st *state) *state {
	p := sr.p
	at := sr.branch(order, st, true)
	if !sr.stopped {
		sr.optimal = true
	}
	if at == nil {
		return st // the incumbent is optimal (or nothing is feasible)
	}
	out := newState(p)
	for _, i := range order {
		out.place(i, at[i])
	}
	return out
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
// places the rest; ExplainAuto then explains only those it placed.
func (sr *search) repair(all []int) *state {
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
	return sr.construct(sr.order(todo), st)
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
