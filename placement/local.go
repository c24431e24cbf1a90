package placement

import (
	"cmp"
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
		// A partial placement can leave a co-located partner unplaced: such a set is
		// not moved as a whole.
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
