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

func better(a, b float64) bool { return a < b-eps*(1+math.Abs(b)) }

func (sr *search) run() (*state, SearchStats, error) {
	p := sr.p
	order := sr.order()
	strategy := p.req.Strategy
	if strategy == "" {
		strategy = StrategyDefault
	}
	var st *state
	if len(p.req.Current) > 0 && p.req.Mode == Repair {
		st = sr.repair(order)
	} else {
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

// order sorts instances by constraint tightness: fewest candidate clusters first, then
// the largest requests, then declaration order.
func (sr *search) order() []int {
	p := sr.p
	order := make([]int, len(p.insts))
	for i := range order {
		order[i] = i
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
		best, bestc := math.Inf(1), -1
		for _, c32 := range p.comps[p.insts[i].comp].cand {
			c := int(c32)
			cc := st.cost(i, c).total()
			if !better(cc, best) {
				continue
			}
			if ok, _ := st.check(i, c, false); ok {
				best, bestc = cc, c
			}
		}
		if bestc >= 0 {
			st.place(i, bestc)
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
				for _, c32 := range p.comps[p.insts[i].comp].cand {
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

// improve moves instances (with their co-located partners) to cheaper feasible
// clusters until no move improves the objective.
func (sr *search) improve(st *state, movable []int) {
	p := sr.p
	for pass := 0; pass < 100; pass++ {
		improved := false
		for n, i := range movable {
			if n%256 == 0 && sr.ctx.Err() != nil {
				return
			}
			if st.at[i] < 0 || sr.leaderOf(i) != i {
				continue
			}
			group := sr.group(i)
			cur := st.at[i]
			for _, j := range group {
				st.unplace(j)
			}
			curCost := sr.groupCost(st, group, cur)
			best, bestc := curCost, cur
			for _, c32 := range p.comps[p.insts[i].comp].cand {
				c := int(c32)
				if c == cur {
					continue
				}
				if gc := sr.groupCost(st, group, c); better(gc, best) && sr.groupFits(st, group, c) {
					best, bestc = gc, c
				}
			}
			for _, j := range group {
				st.place(j, bestc)
			}
			if bestc != cur {
				improved = true
				sr.improvements++
			}
		}
		if !improved {
			return
		}
	}
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

// leaderOf returns the instance that moves a co-location group: the lowest index.
func (sr *search) leaderOf(i int) int {
	return slices.Min(sr.group(i))
}

// groupCost is the cost of placing the group on c, one after the other.
func (sr *search) groupCost(st *state, group []int, c int) float64 {
	if len(group) == 1 {
		return st.cost(group[0], c).total()
	}
	total := 0.0
	var placed []int
	for _, j := range group {
		total += st.cost(j, c).total()
		st.at[j] = c // cost only: count pair costs inside the group once
		placed = append(placed, j)
	}
	for _, j := range placed {
		st.at[j] = -1
	}
	return total
}

// groupFits reports whether the whole group can move to c.
func (sr *search) groupFits(st *state, group []int, c int) bool {
	var placed []int
	ok := true
	for _, j := range group {
		if fits, _ := st.check(j, c, false); !fits {
			ok = false
			break
		}
		st.place(j, c)
		placed = append(placed, j)
	}
	for _, j := range placed {
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
			for _, c := range p.comps[p.insts[i].comp].cand {
				m = min(m, st.staticCost(i, int(c)).total())
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
	base := 0.0
	if bound {
		// st may hold instances outside order; their cost is fixed.
		for i, c := range st.at {
			if c >= 0 && !slices.Contains(order, i) {
				base += st.staticCost(i, c).total()
			}
		}
		base += p.placedPairCost(st, order)
	}
	work := st.clone()
	for _, i := range order {
		work.unplace(i)
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
		for _, c32 := range p.comps[p.insts[i].comp].cand {
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
	p := sr.p
	st := newState(p)
	for _, i := range order {
		c := p.insts[i].current
		if c < 0 {
			return nil
		}
		if ok, _ := st.check(i, c, false); !ok || !slices.Contains(p.comps[p.insts[i].comp].cand, int32(c)) {
			return nil
		}
		st.place(i, c)
	}
	return st
}

// repair keeps every replica whose current cluster still passes every constraint and
// places the rest.
func (sr *search) repair(order []int) *state {
	p := sr.p
	st := newState(p)
	for _, i := range order {
		c := p.insts[i].current
		if c < 0 || !slices.Contains(p.comps[p.insts[i].comp].cand, int32(c)) {
			continue
		}
		if ok, _ := st.check(i, c, false); ok {
			st.place(i, c)
		}
	}
	return sr.construct(order, st)
}
