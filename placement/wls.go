package placement

import (
	"math"
	"slices"
)

// Weighted-violation local search: how the default strategy finds a feasible plan when
// the greedy construction gets stuck (tight capacity, binding uplinks and budgets).
//
// It works on complete assignments that may break constraints. Each violated
// constraint (a cluster resource over capacity, a link or uplink over capacity, a flow
// pair over its maximum RTT, a chain over budget, spread, anti-affinity, co-location)
// contributes its relative excess times a weight. A step picks a replica involved in a
// violation and moves it to the cluster of its domain that lowers the weighted total
// most (ties: the cheaper move), never straight back to where it just left (tabu).
// When no move lowers it, an exchange with a replica on another cluster is tried
// (swap: on tight capacity each half of an exchange alone overloads a cluster); when
// that does not lower it either, the weights of the violated constraints grow (the
// breakout method), which reshapes the landscape out of the local minimum, and decay
// now and then (bump). It stops at zero violation, checked by the exact feasibility
// check, or when its step budget ends.

type term struct {
	kind byte // 'c' capacity (a=cluster, b=dim), 'b' bandwidth (a=resource), 'p' pair, 'h' chain, 'r' relation (a=instance)
	a, b int32
}

type wls struct {
	sr      *search
	p       *problem
	st      *state
	movable []bool
	capW    [][]float64
	bwW     []float64
	pairW   []float64
	chainW  []float64
	relW    float64
	tabu    []int // step until which the instance may not return to tabuC
	tabuC   []int
	mark    []int32
	stamp   int32
	resBuf  []int32
	imark   []int32
	istamp  int32
	overRes []bool
	viol    []term
	conf    []int
	fresh   bool    // viol and conf are up to date: nothing moved since conflicts ran
	load    []int64 // per bandwidth resource, what a tried move would add (extend)
	loaded  []int32 // the resources with a load
	step    int     // steps taken: run resumes from here
	stuck   bool    // some replica has no cluster to start from
	// onC lists the movable instances on each cluster, for swaps (built on the first
	// swap tried, then kept up to date).
	onC   [][]int32
	bumps int // weight raises so far (bump)
}

// wlsSmooth is how many weight raises pass between two decays (bump).
const wlsSmooth = 10

// smooth lowers every constraint weight above one by one.
func (w *wls) smooth() {
	for _, row := range w.capW {
		for d := range row {
			if row[d] > 1 {
				row[d]--
			}
		}
	}
	for _, ws := range [][]float64{w.bwW, w.pairW, w.chainW} {
		for k := range ws {
			if ws[k] > 1 {
				ws[k]--
			}
		}
	}
	w.relW = max(1, w.relW-0.25)
}

// clone returns a copy of w that searches for sr from where w stands, sharing
// nothing w changes.
func (w *wls) clone(sr *search) *wls {
	c := *w
	c.sr, c.st = sr, w.st.clone()
	c.capW = make([][]float64, len(w.capW))
	for k, row := range w.capW {
		c.capW[k] = slices.Clone(row)
	}
	c.bwW, c.pairW, c.chainW = slices.Clone(w.bwW), slices.Clone(w.pairW), slices.Clone(w.chainW)
	c.tabu, c.tabuC = slices.Clone(w.tabu), slices.Clone(w.tabuC)
	c.mark, c.imark, c.overRes = slices.Clone(w.mark), slices.Clone(w.imark), slices.Clone(w.overRes)
	c.viol, c.conf = slices.Clone(w.viol), slices.Clone(w.conf)
	c.resBuf, c.load, c.loaded = nil, make([]int64, len(w.load)), nil
	if w.onC != nil {
		c.onC = make([][]int32, len(w.onC))
		for k, row := range w.onC {
			c.onC[k] = slices.Clone(row)
		}
	}
	return &c
}

func (sr *search) newWLS(st *state, movable []int) *wls {
	p := sr.p
	w := &wls{sr: sr, p: p, st: st, movable: make([]bool, len(p.insts)), capW: make([][]float64, p.n),
		bwW: make([]float64, len(p.bwCap)), pairW: make([]float64, len(p.pairs)), chainW: make([]float64, len(p.chains)),
		relW: 1, tabu: make([]int, len(p.insts)), tabuC: make([]int, len(p.insts)), mark: make([]int32, len(p.bwCap)),
		imark: make([]int32, len(p.insts)), overRes: make([]bool, len(p.bwCap)), load: make([]int64, len(p.bwCap))}
	for _, i := range movable {
		w.movable[i] = true
	}
	for c := range w.capW {
		w.capW[c] = make([]float64, len(p.dims))
		for d := range w.capW[c] {
			w.capW[c][d] = 1
		}
	}
	for r := range w.bwW {
		w.bwW[r] = 1
	}
	for i := range w.pairW {
		w.pairW[i] = 1
	}
	for i := range w.chainW {
		w.chainW[i] = 1
	}
	return w
}

func (w *wls) capOver(c, d int) float64 {
	u, cp := w.st.used[c][d], w.p.capc[c][d]
	if u <= cp {
		return 0
	}
	return float64(u-cp) / math.Max(float64(cp), milli)
}

func (w *wls) bwOver(r int32) float64 {
	u, cp := w.st.bw[r], w.p.bwCap[r]
	if u <= cp {
		return 0
	}
	return float64(u-cp) / math.Max(float64(cp), 1e6)
}

func (w *wls) pairV(pid int32) float64 {
	p := w.p
	fp := &p.pairs[pid]
	ca := w.st.at[fp.a]
	if fp.b < 0 || ca < 0 {
		return 0 // site pairs: the domain keeps their RTT; bandwidth is counted per resource
	}
	cb := w.st.at[fp.b]
	if cb < 0 {
		return 0
	}
	d := p.rtt(ca, cb)
	switch {
	case d < 0:
		return 2
	case fp.maxRTT > 0 && d > fp.maxRTT:
		return 1 + float64(d-fp.maxRTT)/float64(fp.maxRTT)
	}
	return 0
}

func (w *wls) chainV(ch int32) float64 {
	lat, ok := w.st.chainLatency(int(ch))
	b := w.p.chains[ch].budget
	switch {
	case !ok:
		return 2
	case lat > b:
		return 1 + float64(lat-b)/math.Max(float64(b), 1)
	}
	return 0
}

// relV counts the spread, anti-affinity and co-location constraints instance i breaks.
func (w *wls) relV(i int) float64 {
	p, at := w.p, w.st.at
	in := &p.insts[i]
	k := &p.comps[in.comp]
	c := at[i]
	if c < 0 {
		return 0
	}
	v := 0.0
	if k.c.Spread {
		for r := range k.n {
			if j := k.first + r; j != i && at[j] == c {
				v++
			}
		}
	}
	for _, o := range k.anti {
		ok := &p.comps[o]
		for r := range ok.n {
			if at[ok.first+r] == c {
				v++
			}
		}
	}
	for _, o := range k.coLocate {
		if in.rep < p.comps[o].n {
			if j := p.comps[o].first + in.rep; at[j] >= 0 && at[j] != c {
				v++
			}
		}
	}
	return v
}

// resources collects the bandwidth resources i's flows use with i on c, marked with
// a new stamp.
func (w *wls) resources(i, c int) []int32 {
	w.stamp++
	w.resBuf = w.resBuf[:0]
	w.routes(i, c, w.collect)
	return w.resBuf
}

// collect appends to resBuf the resources of route rs not marked with the current
// stamp yet, and marks them (a routes callback; the bandwidth is not needed).
func (w *wls) collect(_ int64, rs []int32) {
	for _, r := range rs {
		if w.mark[r] != w.stamp {
			w.mark[r] = w.stamp
			w.resBuf = append(w.resBuf, r)
		}
	}
}

// routes calls fn with the bandwidth and the route of each of i's flows that carry
// bandwidth, with i on c: to its site, or to its placed partner's cluster.
func (w *wls) routes(i, c int, fn func(bw int64, rs []int32)) {
	p := w.p
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.bw == 0 {
			continue
		}
		if fp.b < 0 {
			fn(fp.bw, p.siteRoute(fp.site, c))
		} else if oc := w.st.at[fp.other(i)]; oc >= 0 {
			fn(fp.bw, p.route(c, oc))
		}
	}
}

// local is the weighted violation of every constraint that moving i between c0 and c1
// can change.
func (w *wls) local(i, c0, c1 int, res []int32) float64 {
	p := w.p
	sum := 0.0
	for _, c := range [2]int{c0, c1} {
		if c < 0 || (c == c1 && c1 == c0) {
			continue
		}
		for d := range p.dims {
			if v := w.capOver(c, d); v > 0 {
				sum += w.capW[c][d] * v
			}
		}
	}
	for _, r := range res {
		if v := w.bwOver(r); v > 0 {
			sum += w.bwW[r] * v
		}
	}
	return w.flowsFrom(sum, i)
}

// localMoved is local with i moved from c0 to c1, where i is unplaced, st.at[i] is c1
// and load holds what its flows would add: the same sum, term for term.
func (w *wls) localMoved(i, c0, c1 int, res []int32) float64 {
	p, st := w.p, w.st
	req := p.comps[p.insts[i].comp].req
	sum := 0.0
	for d := range p.dims {
		if v := w.capOver(c0, d); v > 0 {
			sum += w.capW[c0][d] * v
		}
	}
	for d := range p.dims {
		u, cp := st.used[c1][d]+req[d], p.capc[c1][d]
		if u > cp {
			sum += w.capW[c1][d] * (float64(u-cp) / math.Max(float64(cp), milli))
		}
	}
	for _, r := range res {
		u, cp := st.bw[r]+w.load[r], p.bwCap[r]
		if u > cp {
			sum += w.bwW[r] * (float64(u-cp) / math.Max(float64(cp), 1e6))
		}
	}
	return w.flowsFrom(sum, i)
}

// capTerm is the weighted excess of cluster c's resources.
func (w *wls) capTerm(c int) float64 {
	sum := 0.0
	for d := range w.p.dims {
		if v := w.capOver(c, d); v > 0 {
			sum += w.capW[c][d] * v
		}
	}
	return sum
}

// flowsFrom adds to sum the weighted violation of i's flows, chains and relations
// (local's last terms, in its order).
func (w *wls) flowsFrom(sum float64, i int) float64 {
	p := w.p
	for _, pid := range p.insts[i].pairs {
		if v := w.pairV(pid); v > 0 {
			sum += w.pairW[pid] * v
		}
	}
	for _, ch := range p.insts[i].chains {
		if v := w.chainV(ch); v > 0 {
			sum += w.chainW[ch] * v
		}
	}
	return sum + w.relW*w.relV(i)
}

// rest is local's part that does not depend on clusters' capacity: the weighted
// excess of bandwidth resources res, and of i's flows, chains and relations.
func (w *wls) rest(i int, res []int32) float64 {
	sum := 0.0
	for _, r := range res {
		if v := w.bwOver(r); v > 0 {
			sum += w.bwW[r] * v
		}
	}
	return w.flowsFrom(sum, i)
}

// extend keeps the first n0 resources of resBuf (those i's flows use from its
// cluster, marked stamp0 by resources) and appends those they would use with i on c1:
// the resources of i's flows from both clusters, as a set, c0's first. It also
// records in load the bandwidth i's flows would add to each resource with i on c1 (i
// unplaced), as state.chargeFlows adds it, and the resources with a load in loaded.
func (w *wls) extend(i, c1, n0 int, stamp0 int32) []int32 {
	w.stamp++
	w.resBuf = w.resBuf[:n0]
	w.loaded = w.loaded[:0]
	w.routes(i, c1, func(bw int64, rs []int32) {
		for _, r := range rs {
			if w.load[r] == 0 {
				w.loaded = append(w.loaded, r)
			}
			w.load[r] += bw
			if m := w.mark[r]; m != stamp0 && m != w.stamp {
				w.mark[r] = w.stamp
				w.resBuf = append(w.resBuf, r)
			}
		}
	})
	return w.resBuf
}

// conflictsWork is what conflicts counts as work.
func (w *wls) conflictsWork() int64 {
	p := w.p
	return int64(len(p.pairs) + len(p.insts) + p.n*len(p.dims) + len(p.bwCap))
}

// conflicts lists the violated constraints and the movable instances involved.
func (w *wls) conflicts() {
	p, st := w.p, w.st
	w.sr.work += w.conflictsWork()
	w.viol, w.conf = w.viol[:0], w.conf[:0]
	w.istamp++
	addInst := func(i int) {
		if w.movable[i] && w.imark[i] != w.istamp {
			w.imark[i] = w.istamp
			w.conf = append(w.conf, i)
		}
	}
	anyCap := false
	for c := range p.n {
		for d := range p.dims {
			if w.capOver(c, d) > 0 {
				w.viol = append(w.viol, term{'c', int32(c), int32(d)})
				anyCap = true
			}
		}
	}
	if anyCap {
		for i, c := range st.at {
			if c < 0 || !w.movable[i] {
				continue
			}
			req := p.comps[p.insts[i].comp].req
			for d := range p.dims {
				if req[d] > 0 && w.capOver(c, d) > 0 {
					addInst(i)
					break
				}
			}
		}
	}
	anyBW := false
	for r := range p.bwCap {
		w.overRes[r] = w.bwOver(int32(r)) > 0
		if w.overRes[r] {
			w.viol = append(w.viol, term{'b', int32(r), 0})
			anyBW = true
		}
	}
	for pid := range p.pairs {
		fp := &p.pairs[pid]
		if v := w.pairV(int32(pid)); v > 0 {
			w.viol = append(w.viol, term{'p', int32(pid), 0})
			addInst(fp.a)
			addInst(fp.b)
		}
		if !anyBW || fp.bw == 0 || st.at[fp.a] < 0 {
			continue
		}
		var rs []int32
		if fp.b < 0 {
			rs = p.siteRoute(fp.site, st.at[fp.a])
		} else if st.at[fp.b] >= 0 {
			rs = p.route(st.at[fp.a], st.at[fp.b])
		}
		if slices.ContainsFunc(rs, func(r int32) bool { return w.overRes[r] }) {
			addInst(fp.a)
			if fp.b >= 0 {
				addInst(fp.b)
			}
		}
	}
	for ch := range p.chains {
		if w.chainV(int32(ch)) > 0 {
			w.viol = append(w.viol, term{'h', int32(ch), 0})
			for _, e := range p.chains[ch].elems {
				if e.comp >= 0 {
					k := &p.comps[e.comp]
					for r := range k.n {
						addInst(k.first + r)
					}
				}
			}
		}
	}
	for i := range p.insts {
		if w.relV(i) > 0 {
			w.viol = append(w.viol, term{'r', int32(i), 0})
			addInst(i)
		}
	}
}

// bump raises the weight of every violated constraint by one (the breakout method's
// escape from a local minimum) and, every wlsSmooth bumps, first lowers every weight
// above one by one. Without that decay the weights only grow, and after a few
// thousand steps the constraints violated most often outweigh the rest so much that
// the search circles among the same few clusters; with it, on the 25 stored tight
// instances that need violation search, 6 random streams each, the runs that ended
// without a plan fell from 24 to 20, and with exchanges (swap) as well to 11, of 150.
func (w *wls) bump() {
	w.bumps++
	if w.bumps%wlsSmooth == 0 {
		w.smooth()
	}
	for _, t := range w.viol {
		switch t.kind {
		case 'c':
			w.capW[t.a][t.b]++
		case 'b':
			w.bwW[t.a]++
		case 'p':
			w.pairW[t.a]++
		case 'h':
			w.chainW[t.a]++
		case 'r':
			w.relW += 0.25
		}
	}
}

// wlsTargets caps the clusters one step examines for an instance.
const wlsTargets = 24

// targets lists the clusters a step tries for i: its whole domain when small, else the
// cheapest by static cost, its flow partners' clusters and a few at random.
func (w *wls) targets(i int, buf []int32) []int32 {
	sr, p := w.sr, w.p
	k := p.insts[i].comp
	dom := sr.domain(k)
	buf = buf[:0]
	if len(dom) <= wlsTargets {
		return append(buf, dom...) // a copy: the caller reuses buf
	}
	comp := p.cands(k)
	for _, c := range comp.top[:min(len(comp.top), wlsTargets/2)] {
		if sr.inDom(k, int(c)) {
			buf = append(buf, c)
		}
	}
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.b >= 0 {
			if oc := w.st.at[fp.other(i)]; oc >= 0 && sr.inDom(k, oc) && !slices.Contains(buf, int32(oc)) {
				buf = append(buf, int32(oc))
			}
		}
	}
	for len(buf) < wlsTargets+wlsTargets/2 {
		buf = append(buf, dom[sr.rng.IntN(len(dom))])
	}
	return buf
}

// run searches for a feasible assignment until it has taken maxSteps steps in all (a
// later call goes on from where an earlier one stopped). Every movable instance not
// placed yet is first put on the cluster of its domain where it breaks least. It
// returns a verified feasible state, or nil.
func (w *wls) run(maxSteps int) *state {
	sr, p, st := w.sr, w.p, w.st
	var buf []int32
	if w.stuck {
		return nil
	}
	for i := range p.insts {
		if st.at[i] >= 0 || !w.movable[i] {
			continue
		}
		best, bestC := math.Inf(1), -1
		for _, c32 := range w.targets(i, buf) {
			c := int(c32)
			st.place(i, c)
			v := w.local(i, c, c, w.resources(i, c))
			st.unplace(i)
			if v < best-eps {
				best, bestC = v, c
			}
		}
		if bestC < 0 {
			w.stuck = true
			return nil
		}
		st.place(i, bestC)
	}
	const tenure = wlsTenure
	for ; w.step < maxSteps; w.step++ {
		step := w.step
		sr.nodes++
		sr.phaseNodes++
		if sr.timeUp() || sr.workUp() {
			return nil
		}
		if w.fresh {
			// Nothing moved since the last step (only weights changed): the
			// violations and the replicas involved are as they were.
			sr.work += w.conflictsWork()
		} else {
			w.conflicts()
			w.fresh = true
		}
		if len(w.viol) == 0 {
			if out := sr.verify(st); out != nil {
				return out
			}
			// Only node pools can disagree with the exact check: shake a random movable one.
			w.conf = w.conf[:0]
			for i := range p.insts {
				if w.movable[i] {
					w.conf = append(w.conf, i)
				}
			}
		}
		if len(w.conf) == 0 {
			return nil // the violations involve fixed instances only
		}
		i := w.conf[sr.rng.IntN(len(w.conf))]
		c0, pool0 := st.at[i], st.pool[i]
		cost0 := st.cost(i, c0).total()
		bestD, bestCost, bestC := math.Inf(1), math.Inf(1), -1
		buf = w.targets(i, buf)
		sr.work += int64(len(buf) * (4 + len(p.insts[i].pairs) + len(p.insts[i].chains)))
		// What i breaks on c0 (its cluster's capacity, the resources its flows use
		// from there, its flows, chains and relations) is the same for every target:
		// it is summed once. A target adds its own capacity and the resources its
		// flows would use from it and not from c0; i is unplaced meanwhile, which
		// changes neither.
		n0 := len(w.resources(i, c0))
		stamp0 := w.stamp
		base := w.capTerm(c0) + w.rest(i, w.resBuf[:n0])
		st.unplace(i)
		for _, c32 := range buf {
			c1 := int(c32)
			if c1 == c0 || (w.tabu[i] > step && w.tabuC[i] == c1) {
				continue
			}
			res := w.extend(i, c1, n0, stamp0) // and i's loads with it on c1
			before := base + w.capTerm(c1)
			for _, r := range res[n0:] {
				if v := w.bwOver(r); v > 0 {
					before += w.bwW[r] * v
				}
			}
			// i on c1 without placing it: what placing would add is added where read.
			st.at[i] = c1
			after := w.localMoved(i, c0, c1, res)
			dc := st.cost(i, c1).total() - cost0
			st.at[i] = -1
			for _, r := range w.loaded {
				w.load[r] = 0
			}
			d := after - before
			if d < bestD-eps || (d < bestD+eps && dc < bestCost) {
				bestD, bestCost, bestC = d, dc, c1
			}
		}
		st.restore(i, c0, pool0)
		switch {
		case bestC >= 0 && bestD < -eps:
		case w.swap(i, c0, buf, step):
			w.fresh = false
			continue
		case bestC >= 0 && sr.rng.IntN(10) == 0:
			// A sideways or uphill step now and then, besides reweighting.
			w.bump()
		default:
			w.bump()
			continue
		}
		st.unplace(i)
		st.place(i, bestC)
		w.moved(i, c0, bestC)
		w.fresh = false
		w.tabu[i], w.tabuC[i] = step+tenure, c0
	}
	return nil
}

// wlsTenure is how many steps a replica may not return to the cluster it left.
const wlsTenure = 7

// moved keeps onC up to date after i moved from c0 to c1.
func (w *wls) moved(i, c0, c1 int) {
	if w.onC == nil {
		return
	}
	row := w.onC[c0]
	if k := slices.Index(row, int32(i)); k >= 0 {
		row[k] = row[len(row)-1]
		w.onC[c0] = row[:len(row)-1]
	}
	w.onC[c1] = append(w.onC[c1], int32(i))
}

// swap looks, when no single move of i lowers the weighted violation, for a replica j
// on one of the targets c1 to exchange with i (i to c1, j to i's cluster c0). Single
// moves cannot do this on tight capacity: each half of the exchange alone overloads a
// cluster. Candidates are ranked by the change of the two clusters' weighted capacity
// excess (cheap arithmetic); the best one is then evaluated on every term the
// exchange can change and made when it lowers the weighted total.
func (w *wls) swap(i, c0 int, targets []int32, step int) bool {
	sr, p, st := w.sr, w.p, w.st
	if w.capTerm(c0) == 0 {
		return false // the exchanges are for capacity
	}
	if w.onC == nil {
		w.onC = make([][]int32, p.n)
		for j, c := range st.at {
			if c >= 0 && w.movable[j] {
				w.onC[c] = append(w.onC[c], int32(j))
			}
		}
	}
	reqI := p.comps[p.insts[i].comp].req
	over := func(c, d int, u int64) float64 {
		cp := p.capc[c][d]
		if u <= cp {
			return 0
		}
		return w.capW[c][d] * float64(u-cp) / math.Max(float64(cp), milli)
	}
	base0 := w.capTerm(c0)
	best, bestJ, bestC := -eps, -1, -1
	for _, c32 := range targets {
		c1 := int(c32)
		if c1 == c0 || (w.tabu[i] > step && w.tabuC[i] == c1) {
			continue
		}
		base1 := w.capTerm(c1)
		sr.work += int64(len(w.onC[c1]))
		for _, j32 := range w.onC[c1] {
			j := int(j32)
			kj := p.insts[j].comp
			if kj == p.insts[i].comp || (w.tabu[j] > step && w.tabuC[j] == c0) || !sr.inDom(kj, c0) {
				continue
			}
			reqJ := p.comps[kj].req
			d0 := 0.0
			for d := range p.dims {
				d0 += over(c0, d, st.used[c0][d]-reqI[d]+reqJ[d]) + over(c1, d, st.used[c1][d]-reqJ[d]+reqI[d])
			}
			if v := d0 - base0 - base1; v < best {
				best, bestJ, bestC = v, j, c1
			}
		}
	}
	if bestJ < 0 {
		return false
	}
	j, c1 := bestJ, bestC
	poolI, poolJ := st.pool[i], st.pool[j]
	exchange := func() {
		st.unplace(i)
		st.unplace(j)
		st.place(i, c1)
		st.place(j, c0)
	}
	undo := func() {
		st.unplace(j)
		st.unplace(i)
		st.restore(j, c1, poolJ)
		st.restore(i, c0, poolI)
	}
	// The bandwidth resources the two replicas' flows use before and after.
	w.stamp++
	w.resBuf = w.resBuf[:0]
	w.routes(i, c0, w.collect)
	w.routes(j, c1, w.collect)
	exchange()
	w.routes(i, c1, w.collect)
	w.routes(j, c0, w.collect)
	total := func() float64 {
		sum := w.capTerm(c0) + w.capTerm(c1)
		for _, r := range w.resBuf {
			if v := w.bwOver(r); v > 0 {
				sum += w.bwW[r] * v
			}
		}
		return w.flowsFrom(w.flowsFrom(sum, i), j)
	}
	sr.work += int64(4 * (len(w.resBuf) + len(p.insts[i].pairs) + len(p.insts[j].pairs) + 4))
	after := total()
	undo()
	before := total()
	if after >= before-eps {
		return false
	}
	exchange()
	w.moved(i, c0, c1)
	w.moved(j, c1, c0)
	w.tabu[i], w.tabuC[i] = step+wlsTenure, c0
	w.tabu[j], w.tabuC[j] = step+wlsTenure, c1
	return true
}

// verify rebuilds st with the exact check, instance by instance; it returns the new
// state when every instance passes, else nil.
func (sr *search) verify(st *state) *state {
	out := newState(sr.p)
	for i, c := range st.at {
		if c < 0 {
			return nil
		}
		if ok, _ := out.check(i, c, false); !ok {
			return nil
		}
		out.place(i, c)
	}
	return out
}

// inDom reports whether cluster c is in component k's domain.
func (sr *search) inDom(k, c int) bool {
	if sr.domSet == nil {
		sr.domSet = make([][]bool, len(sr.p.comps))
	}
	if sr.domSet[k] == nil && !sr.propagated {
		// Before propagation a domain is the component's candidates, whose set the
		// filter pass keeps.
		sr.domSet[k] = sr.p.cands(k).allowed
	}
	if sr.domSet[k] == nil {
		sr.domSet[k] = make([]bool, sr.p.n)
		for _, d := range sr.domain(k) {
			sr.domSet[k][d] = true
		}
	}
	return sr.domSet[k][c]
}
