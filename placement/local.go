package placement

import (
	"cmp"
	"math"
	"slices"
)

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
	var cols []int32 // cluster -> column of the swap table, -1 when none
	for pass := 0; pass < 100; pass++ {
		improved := false
		for n, i := range movable {
			if n%64 == 0 && sr.timeUp() {
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
			// A swap of two replicas without a flow between them changes the objective
			// by the sum of the two single moves; those are priced once until a swap is
			// applied, and a swap whose sum does not lower the objective is not tried
			// (try would price it the same and refuse it).
			// The table is over the movable replicas and the clusters they occupy, a
			// set that swaps do not change.
			if cols == nil {
				cols = make([]int32, p.n)
				for c := range cols {
					cols[c] = -1
				}
			}
			var used []int
			for _, j := range movable {
				if c := st.at[j]; c >= 0 && cols[c] < 0 {
					cols[c] = int32(len(used))
					used = append(used, c)
				}
			}
			delta := make([]float64, len(movable)*len(used))
			reset := func() {
				for k := range delta {
					delta[k] = math.NaN()
				}
			}
			reset()
			single := func(x, c int) float64 {
				k := x*len(used) + int(cols[c])
				if math.IsNaN(delta[k]) {
					delta[k] = sr.moveDelta(st, movable[x], c)
				}
				return delta[k]
			}
			for x, i := range movable {
				if sr.ctx.Err() != nil {
					break
				}
				if !sr.solo(i) {
					continue
				}
				for y := x + 1; y < len(movable); y++ {
					j := movable[y]
					if st.at[i] < 0 || st.at[j] < 0 || st.at[i] == st.at[j] || !sr.solo(j) ||
						!p.allowedAt(p.insts[i].comp, st.at[j]) || !p.allowedAt(p.insts[j].comp, st.at[i]) {
						continue
					}
					if !sr.linked(i, j) && single(x, st.at[j])+single(y, st.at[i]) >= 0 {
						continue
					}
					if sr.try(st, []int{i, j}, []int{st.at[j], st.at[i]}) {
						improved = true
						wake([]int{i, j})
						reset()
					}
				}
			}
			for _, c := range used {
				cols[c] = -1
			}
			if sr.ctx.Err() != nil {
				return
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
//
// The state does not change until a move is applied, so each single move's cost change
// is computed once: when i and j share no flow the pair's change is the sum of the two,
// and a pair whose sum does not lower the objective is not tried (try would price it
// the same and refuse it). Which move is applied is the same as trying every pair.
func (sr *search) eject(st *state, movable []int) bool {
	p := sr.p
	const width = 8
	on := map[int][]int{} // cluster -> solo movable instances there, in movable order
	for _, j := range movable {
		if c := st.at[j]; c >= 0 && sr.solo(j) {
			on[c] = append(on[c], j)
		}
	}
	// onDelta[c][x*width+m]: the cost change of moving on[c][x] alone to its m-th
	// cheapest candidate (NaN until priced).
	onDelta := map[int][]float64{}
	for _, i := range movable {
		if sr.ctx.Err() != nil {
			return false
		}
		ci := st.at[i]
		if ci < 0 || !sr.solo(i) {
			continue
		}
		top := p.cands(p.insts[i].comp).top
		for _, c32 := range top[:min(width, len(top))] {
			c := int(c32)
			if c == ci || len(on[c]) == 0 {
				continue
			}
			di := sr.moveDelta(st, i, c)
			deltas := onDelta[c]
			if deltas == nil {
				deltas = make([]float64, len(on[c])*width)
				for x := range deltas {
					deltas[x] = math.NaN()
				}
				onDelta[c] = deltas
			}
			for x, j := range on[c] {
				if j == i {
					continue
				}
				separate := !sr.linked(i, j)
				topj := p.cands(p.insts[j].comp).top
				for m, d32 := range topj[:min(width, len(topj))] {
					d := int(d32)
					if d == c {
						continue
					}
					if separate {
						dj := deltas[x*width+m]
						if math.IsNaN(dj) {
							dj = sr.moveDelta(st, j, d)
							deltas[x*width+m] = dj
						}
						if di+dj >= 0 {
							continue
						}
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

// moveDelta is the change of the objective when placed instance i alone moves to c
// (capacity not checked).
func (sr *search) moveDelta(st *state, i, c int) float64 {
	ci := st.at[i]
	st.at[i] = -1
	d := st.cost(i, c).total() - st.cost(i, ci).total()
	st.at[i] = ci
	return d
}

// linked reports whether instances i and j exchange a flow (their costs then depend
// on each other's cluster).
func (sr *search) linked(i, j int) bool {
	p := sr.p
	for _, pid := range p.insts[i].pairs {
		if fp := &p.pairs[pid]; fp.b >= 0 && (fp.a == j || fp.b == j) {
			return true
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
		// A partial placement can leave a co-located partner unplaced: such a set is
		// not moved as a whole.
		for k, j := range members {
			st.at[j] = old[k]
		}
		return false
	}
	current := sr.setCost(st, members, old)
	target := make([]int, len(members))
	promising := sr.promising[:0] // scratch kept between calls (none is nested)
	defer func() { sr.promising = promising[:0] }()
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
