package placement

import "slices"

// Large-neighbourhood search: how the default strategy gets near the optimum. Each step
// frees a small group of replicas, re-solves where they go exactly by branch and bound
// (everything else fixed; bb.go) and keeps the result when it is cheaper. The groups
// are chosen three ways in turn: related replicas (joined by flows or chains, with their
// co-located partners), replicas sharing a cluster with those of another cluster they
// could move to (exchanges that free capacity), and replicas at random. A group grows
// from three replicas up to lnsMaxGroup while steps keep failing, and shrinks back after
// an improvement. Single moves, swaps and neighbourhood moves (local.go) cannot move
// three dependent components together; a group re-solved exactly can.

const (
	lnsMinGroup = 3
	lnsMaxGroup = 8
	// lnsSubNodes bounds one group's branch and bound.
	lnsSubNodes = 4000
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
	stallLimit := 30 + 2*len(movable)
	var group []int
	for step := 0; used < maxNodes && stall < stallLimit; step++ {
		if sr.timeUp() {
			return
		}
		group = sr.neighbourhoodLNS(st, movable, isMov, min(size, len(movable)), step%3, group[:0])
		if len(group) < 2 {
			stall++
			continue
		}
		old, oldPool := lift(st, group)
		oldCost := sr.setCost(st, group, old)
		for k, j := range group {
			st.at[j] = old[k]
		}
		for _, j := range group {
			st.unplace(j)
		}
		b := sr.newBB(st, group, true, min(lnsSubNodes, maxNodes-used))
		b.best = oldCost
		b.run()
		used += b.nodes
		if b.bestAt != nil && better(b.best, oldCost) {
			at := slices.Clone(b.bestAt)
			for k, j := range group {
				st.place(j, at[k])
			}
			sr.improvements++
			stall, size = 0, max(lnsMinGroup, size-1)
			continue
		}
		for k := len(group) - 1; k >= 0; k-- {
			st.restore(group[k], old[k], oldPool[k])
		}
		stall++
		if stall%(4+len(movable)/4) == 0 && size < lnsMaxGroup {
			size++
		}
	}
}

// neighbourhoodLNS picks a group of about size movable, placed instances: kind 0
// related by flows and chains, 1 sharing clusters, 2 at random.
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
	case 1: // the seed's cluster and one it could move to
		dom := sr.dom[p.insts[seed].comp]
		other := int(dom[sr.rng.IntN(len(dom))])
		var pool []int
		for _, i := range movable {
			if c := st.at[i]; (c == st.at[seed] || c == other) && i != seed {
				pool = append(pool, i)
			}
		}
		for len(pool) > 0 && len(out) < size {
			n := sr.rng.IntN(len(pool))
			add(pool[n])
			pool = slices.Delete(pool, n, n+1)
		}
	default:
		for tries := 0; len(out) < size && tries < 4*size; tries++ {
			add(movable[sr.rng.IntN(len(movable))])
		}
	}
	if len(out) > lnsMaxGroup+2 {
		out = out[:lnsMaxGroup+2] // co-location groups can overshoot; the check keeps the rest consistent
	}
	return out
}
