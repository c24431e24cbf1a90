package placement

import (
	"fmt"

	"github.com/continuum-xr/continuum/topology"
)

// state is a (partial) assignment with the loads it puts on clusters, pools and
// bandwidth resources.
type state struct {
	p        *problem
	at       []int // cluster of each instance, -1 unplaced
	pool     []int // pool index within the cluster, -1 none
	used     [][]int64
	poolUsed [][][]int64
	bw       []int64
	need     []int64 // scratch for check: bandwidth needed per resource
	touched  []int32
	cand     Candidate
	// checkWork counts check's steps: one per call and per flow, and one per
	// resource on the routes of flows to placed instances (lnsMaxChecks).
	checkWork int64
}

func newState(p *problem) *state {
	s := &state{p: p, at: make([]int, len(p.insts)), pool: make([]int, len(p.insts)),
		used: make([][]int64, p.n), poolUsed: make([][][]int64, p.n), bw: make([]int64, len(p.bwCap)),
		need: make([]int64, len(p.bwCap))}
	for i := range s.at {
		s.at[i], s.pool[i] = -1, -1
	}
	// One backing array for every cluster's (and node pool's) usage: a state is made
	// several times per call, and n small vectors each cost an allocation.
	d, pools := len(p.dims), 0
	for c := range p.n {
		pools += len(p.pools[c])
	}
	buf := make([]int64, (p.n+pools)*d)
	next := func() []int64 {
		v := buf[:d:d]
		buf = buf[d:]
		return v
	}
	for c := range p.n {
		s.used[c] = next()
		if len(p.pools[c]) > 0 {
			s.poolUsed[c] = make([][]int64, len(p.pools[c]))
			for k := range s.poolUsed[c] {
				s.poolUsed[c][k] = next()
			}
		}
	}
	return s
}

func (s *state) clone() *state {
	t := newState(s.p)
	copy(t.at, s.at)
	copy(t.pool, s.pool)
	copy(t.bw, s.bw)
	for c := range s.used {
		copy(t.used[c], s.used[c])
		for k := range s.poolUsed[c] {
			copy(t.poolUsed[c][k], s.poolUsed[c][k])
		}
	}
	return t
}

// violation is a constraint that rules a cluster out, with the numbers.
type violation struct {
	constraint string
	reason     string
}

// choosePool returns the first pool (name order) of cluster c that matches the
// component's selector and has room, -1 when the cluster has no pools, -2 when none fits.
func (s *state) choosePool(i, c int) int {
	pools := s.p.pools[c]
	if len(pools) == 0 {
		return -1
	}
	k := &s.p.comps[s.p.insts[i].comp]
	for pi := range pools {
		if pools[pi].matches(k.c.NodePool) && pools[pi].fits(k.req, s.poolUsed[c][pi]) {
			return pi
		}
	}
	return -2
}

// check reports whether instance i (unplaced) can go to cluster c given the others;
// with explain it returns the first violated constraint with numbers.
func (s *state) check(i, c int, explain bool) (bool, violation) {
	p := s.p
	in := &p.insts[i]
	k := &p.comps[in.comp]
	// fail formats the reason only when asked to explain: checks are the hot path.
	fail := func(constraint string, reason func() string) (bool, violation) {
		if !explain {
			return false, violation{}
		}
		return false, violation{constraint, reason()}
	}
	for d, need := range k.req {
		if need > 0 && s.used[c][d]+need > p.capc[c][d] {
			return fail("capacity", func() string {
				return fmt.Sprintf("%s %s requested, %s of %s free", fmtQty(p.dims[d], need), p.dims[d],
					fmtQty(p.dims[d], max(0, p.capc[c][d]-s.used[c][d])), fmtQty(p.dims[d], p.capc[c][d]))
			})
		}
	}
	if s.choosePool(i, c) == -2 {
		return fail("node-pool", func() string { return "no matching node pool has room" })
	}
	if k.c.Spread {
		for r := range k.n {
			if j := k.first + r; j != i && s.at[j] == c {
				return fail("spread", func() string { return fmt.Sprintf("replica %d already runs here", r) })
			}
		}
	}
	for _, o := range k.anti {
		ok := &p.comps[o]
		for r := range ok.n {
			if s.at[ok.first+r] == c {
				return fail("anti-affinity", func() string { return fmt.Sprintf("%s runs here", ok.c.Name) })
			}
		}
	}
	for _, o := range k.coLocate {
		j := p.comps[o].first + in.rep
		if s.at[j] >= 0 && s.at[j] != c {
			return fail("co-locate", func() string { return fmt.Sprintf("%s runs on %s", p.comps[o].c.Name, p.topo.ClusterAt(s.at[j]).Name) })
		}
	}
	for _, r := range s.touched {
		s.need[r] = 0
	}
	s.touched = s.touched[:0]
	s.checkWork += int64(1 + len(in.pairs))
	for _, pid := range in.pairs {
		fp := &p.pairs[pid]
		var rtt topology.Duration
		var res []int32
		var other string
		if fp.b < 0 {
			rtt = p.rttSC(fp.site, c)
			res = p.siteRoute(fp.site, c)
			other = p.topo.SiteAt(fp.site).Name
		} else {
			o := fp.b
			if o == i {
				o = fp.a
			}
			oc := s.at[o]
			if oc < 0 {
				continue
			}
			rtt = p.rttIn(p.rttTo(oc, 1), oc, c) // symmetric; see pairCost
			res = p.route(c, oc)
			other = p.comps[p.insts[o].comp].c.Name
		}
		if rtt < 0 {
			return fail("flow-rtt", func() string { return fmt.Sprintf("no route to %s", other) })
		}
		if fp.maxRTT > 0 && rtt > fp.maxRTT {
			return fail("flow-rtt", func() string { return fmt.Sprintf("flow to %s: RTT %s > max %s", other, fmtMs(rtt), fmtMs(fp.maxRTT)) })
		}
		if fp.bw > 0 {
			s.checkWork += int64(len(res))
			for _, r := range res {
				if p.bwSafe[r] {
					continue
				}
				if s.need[r] == 0 {
					s.touched = append(s.touched, r)
				}
				s.need[r] += fp.bw
			}
		}
	}
	for _, r := range s.touched {
		if need := s.need[r]; s.bw[r]+need > p.bwCap[r] {
			kind := "link"
			if int(r) >= p.nLinks && int(r) < p.nLinks+p.n {
				kind = "uplink"
			} else if int(r) >= p.nLinks+p.n {
				kind = "access link"
			}
			return fail("bandwidth", func() string {
				return fmt.Sprintf("%s %s: %s more needed, %s of %s free", kind, p.bwName(int(r)), topology.Bandwidth(need),
					topology.Bandwidth(max(0, p.bwCap[r]-s.bw[r])), topology.Bandwidth(p.bwCap[r]))
			})
		}
	}
	if len(in.chains) > 0 {
		s.at[i] = c
		for _, ch := range in.chains {
			lat, ok := s.chainLatency(int(ch))
			if !ok {
				s.at[i] = -1
				return fail("chain", func() string { return fmt.Sprintf("chain %s: no route", p.chains[ch].name) })
			}
			if lat > p.chains[ch].budget {
				s.at[i] = -1
				return fail("chain", func() string {
					return fmt.Sprintf("chain %s %s > %s", p.chains[ch].name, fmtMs(lat), fmtMs(p.chains[ch].budget))
				})
			}
		}
		s.at[i] = -1
	}
	return true, violation{}
}

// chainLatency returns a lower bound of chain ch's latency under the current partial
// assignment (exact when all its components are placed): processing times plus, for
// each hop whose ends are placed, half the worst RTT over replica pairs.
func (s *state) chainLatency(ch int) (topology.Duration, bool) {
	p := s.p
	c := &p.chains[ch]
	lat := c.proc
	for h := 0; h+1 < len(c.elems); h++ {
		worst, ok := s.hopRTT(c.elems[h], c.elems[h+1])
		if !ok {
			return 0, false
		}
		lat += worst / 2
	}
	return lat, true
}

// hopRTT returns the worst RTT between the placed replicas of two chain elements.
func (s *state) hopRTT(x, y chainElem) (topology.Duration, bool) {
	p := s.p
	var worst topology.Duration
	ends := func(e chainElem, f func(cluster, site int) bool) bool {
		if e.site >= 0 {
			return f(-1, e.site)
		}
		k := &p.comps[e.comp]
		for r := range k.n {
			if c := s.at[k.first+r]; c >= 0 {
				if !f(c, -1) {
					return false
				}
			}
		}
		return true
	}
	ok := ends(x, func(c1, s1 int) bool {
		return ends(y, func(c2, s2 int) bool {
			var d topology.Duration
			switch {
			case c1 >= 0 && c2 >= 0:
				d = p.rtt(c1, c2)
			case c1 >= 0:
				d = p.rttSC(s2, c1)
			case c2 >= 0:
				d = p.rttSC(s1, c2)
			default:
				var err error
				d, err = p.topo.RTT(p.topo.SiteAt(s1).Name, p.topo.SiteAt(s2).Name)
				if err != nil {
					d = -1
				}
			}
			if d < 0 {
				return false
			}
			worst = max(worst, d)
			return true
		})
	})
	return worst, ok
}

// chainLatencySolo is the latency of a chain whose only component is k, on cluster c.
func (p *problem) chainLatencySolo(ch, k, c int) (topology.Duration, bool) {
	chain := &p.chains[ch]
	lat := chain.proc
	for h := 0; h+1 < len(chain.elems); h++ {
		x, y := chain.elems[h], chain.elems[h+1]
		var d topology.Duration
		switch {
		case x.comp >= 0 && y.comp >= 0:
			d = p.rtt(c, c)
		case x.comp >= 0:
			d = p.rttSC(y.site, c)
		case y.comp >= 0:
			d = p.rttSC(x.site, c)
		default:
			rtt, err := p.topo.RTT(p.topo.SiteAt(x.site).Name, p.topo.SiteAt(y.site).Name)
			if err != nil {
				return 0, false
			}
			d = rtt
		}
		if d < 0 {
			return 0, false
		}
		lat += d / 2
	}
	return lat, true
}

// place puts instance i on cluster c (checked before) and charges its loads.
func (s *state) place(i, c int) {
	p := s.p
	k := &p.comps[p.insts[i].comp]
	pl := s.choosePool(i, c)
	s.at[i], s.pool[i] = c, pl
	for d, need := range k.req {
		s.used[c][d] += need
		if pl >= 0 {
			s.poolUsed[c][pl][d] += need
		}
	}
	s.chargeFlows(i, c, 1)
}

// unplace removes instance i and its loads.
func (s *state) unplace(i int) {
	p := s.p
	c, pl := s.at[i], s.pool[i]
	if c < 0 {
		return
	}
	k := &p.comps[p.insts[i].comp]
	s.chargeFlows(i, c, -1)
	for d, need := range k.req {
		s.used[c][d] -= need
		if pl >= 0 {
			s.poolUsed[c][pl][d] -= need
		}
	}
	s.at[i], s.pool[i] = -1, -1
}

func (s *state) chargeFlows(i, c int, sign int64) {
	p := s.p
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.bw == 0 {
			continue
		}
		var res []int32
		if fp.b < 0 {
			res = p.siteRoute(fp.site, c)
		} else {
			o := fp.b
			if o == i {
				o = fp.a
			}
			if s.at[o] < 0 {
				continue
			}
			res = p.route(c, s.at[o])
		}
		for _, r := range res {
			s.bw[r] += sign * fp.bw
		}
	}
}

// costParts is the cost of instance i on cluster c with the others as they are:
// compute, scorers and migration, plus the network cost of its flows to placed
// instances and sites.
type costParts struct {
	network, compute, migration, plugins float64
}

func (cp costParts) total() float64 { return cp.network + cp.compute + cp.migration + cp.plugins }

// staticCost is the part of i's cost on c that does not depend on other instances;
// migration tells whether to count the migration term.
func (s *state) staticCost(i, c int, migration bool) costParts {
	p := s.p
	in := &p.insts[i]
	k := &p.comps[in.comp]
	cp := costParts{compute: p.w.Compute * k.wCompute * k.cores * p.price[c]}
	if migration && in.current >= 0 && in.current != c {
		cp.migration = p.w.Migration * k.stateGB
	}
	if len(p.scorers) > 0 {
		p.setCandidate(&s.cand, in.comp, c)
		for _, sc := range p.scorers {
			cp.plugins += sc.Weight * sc.Scorer.Score(&s.cand)
		}
	}
	for _, pid := range in.sitePairs {
		fp := &p.pairs[pid]
		cp.network += p.w.Network * fp.gbit * p.rttSC(fp.site, c).Ms()
	}
	return cp
}

// cost is i's full incremental cost on c.
func (s *state) cost(i, c int) costParts {
	cp := s.staticCost(i, c, true)
	cp.network += s.pairCost(i, c)
	return cp
}

// pairCost is the network cost of i's flows to placed instances, i on c.
func (s *state) pairCost(i, c int) float64 {
	p := s.p
	sum := 0.0
	for _, pid := range p.insts[i].pairs {
		fp := &p.pairs[pid]
		if fp.b < 0 || fp.gbit == 0 {
			continue
		}
		o := fp.b
		if o == i {
			o = fp.a
		}
		if oc := s.at[o]; oc >= 0 {
			// RTTs are symmetric: a caller that tries many c for one placed partner
			// reads oc's column.
			sum += fp.gbit * p.rttIn(p.rttTo(oc, 1), oc, c).Ms()
		}
	}
	return p.w.Network * sum
}

// setCandidate fills cand for component k on cluster c. Plugins must not modify what
// it points to (the conformance check in placementtest verifies they do not).
func (p *problem) setCandidate(cand *Candidate, k, c int) {
	comp := &p.comps[k]
	*cand = Candidate{Snapshot: p.snap, App: &p.req.Apps[comp.app], Component: comp.c, Cluster: &p.clusters[c], ClusterIndex: c, p: p, comp: k}
}
