package placement

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/topology"
)

// Domains and proofs of infeasibility.
//
// Before searching, every component's candidate clusters (the filters' verdict) are
// narrowed by propagation, each rule sound on its own:
//   - a flow between two components needs a route, and an RTT within its maximum, from
//     every cluster of one end to some cluster of the other;
//   - co-located components share their clusters;
//   - a chain's latency is at least its processing times plus, per hop, half the least
//     RTT the hop's two ends can have; a cluster on which that exceeds the budget goes.
//
// The search works in these domains. A certificate of infeasibility is one of: a
// component left with no cluster; spread replicas outnumbering their clusters; a set of
// components whose demand for one resource exceeds the capacity of every cluster any of
// them may use; or a complete search that ended without a plan. Anything else the search
// cannot finish is undecided, never infeasible.

// propagationLimit bounds the cluster pairs one propagation step examines; above it the
// step is skipped (sound: the domain only stays larger).
const propagationLimit = 200_000

type rttRule struct {
	a, b   int // components
	maxRTT topology.Duration
}

// domain returns component k's domain: its candidates, narrowed once propagate has run.
func (sr *search) domain(k int) []int32 {
	if sr.dom == nil {
		sr.dom = make([][]int32, len(sr.p.comps))
	}
	if sr.dom[k] == nil {
		sr.dom[k] = sr.p.cands(k).cand
	}
	return sr.dom[k]
}

// propagate narrows the domains and looks for a certificate of infeasibility; it runs
// once, when the greedy construction got stuck or before the exact search (an easy
// instance never pays for it). It returns the certificate, if any.
func (sr *search) propagate() string {
	if sr.propagated {
		return sr.proof
	}
	sr.propagated = true
	sr.proof = sr.domains()
	if sr.proof == "" {
		sr.proof = sr.certificate()
	}
	sr.domSet, sr.ldTop = nil, nil
	for i := range sr.pairMin {
		sr.pairMin[i] = math.NaN()
	}
	clear(sr.flowMin)
	return sr.proof
}

// domains narrows every domain by propagation and returns a certificate when some
// domain is empty.
func (sr *search) domains() string {
	p := sr.p
	for k := range p.comps {
		sr.dom[k] = slices.Clone(sr.domain(k))
	}
	for k := range p.comps {
		if p.comps[k].n > 0 && len(sr.dom[k]) == 0 {
			return sr.noCandidate(k)
		}
	}
	// Pairwise RTT rules, the tightest per component pair.
	var rules []rttRule
	for _, fp := range p.pairs {
		if fp.b < 0 {
			continue
		}
		a, b := p.insts[fp.a].comp, p.insts[fp.b].comp
		if a == b {
			continue
		}
		if a > b {
			a, b = b, a
		}
		idx := slices.IndexFunc(rules, func(r rttRule) bool { return r.a == a && r.b == b })
		if idx < 0 {
			rules = append(rules, rttRule{a, b, fp.maxRTT})
			continue
		}
		if r := &rules[idx]; fp.maxRTT > 0 && (r.maxRTT == 0 || fp.maxRTT < r.maxRTT) {
			r.maxRTT = fp.maxRTT
		}
	}
	for round := 0; round < 20; round++ {
		changed := false
		for _, r := range rules {
			changed = sr.revise(r.a, r.b, r.maxRTT) || changed
			changed = sr.revise(r.b, r.a, r.maxRTT) || changed
		}
		for k := range p.comps {
			for _, o := range p.comps[k].coLocate {
				n := len(sr.dom[k])
				sr.dom[k] = slices.DeleteFunc(sr.dom[k], func(c int32) bool { return !slices.Contains(sr.dom[o], c) })
				changed = changed || len(sr.dom[k]) != n
			}
		}
		for ch := range p.chains {
			changed = sr.reviseChain(ch) || changed
		}
		for k := range p.comps {
			if p.comps[k].n > 0 && len(sr.dom[k]) == 0 {
				return fmt.Sprintf("no cluster for %s: every candidate is ruled out by the RTT bounds of its flows or chains "+
					"(or its co-location) given where its partners may run", p.comps[k].name)
			}
		}
		if !changed {
			break
		}
	}
	return ""
}

// noCandidate is the certificate of a component that no cluster passes the filters for.
func (sr *search) noCandidate(k int) string {
	p := sr.p
	comp := p.cands(k)
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(comp.filtered)) {
		parts = append(parts, fmt.Sprintf("%d %s", comp.filtered[name], name))
	}
	return fmt.Sprintf("no cluster passes the filters for %s (%s)", comp.name, strings.Join(parts, ", "))
}

// revise removes from a's domain the clusters with no cluster of b's domain within
// maxRTT (or reachable at all, when maxRTT is 0).
func (sr *search) revise(a, b int, maxRTT topology.Duration) bool {
	p := sr.p
	da, db := sr.dom[a], sr.dom[b]
	if len(da)*len(db) > propagationLimit {
		return false
	}
	n := len(da)
	sr.dom[a] = slices.DeleteFunc(da, func(c int32) bool {
		for _, d := range db {
			if r := p.rtt(int(c), int(d)); r >= 0 && (maxRTT == 0 || r <= maxRTT) {
				return false
			}
		}
		return true
	})
	return len(sr.dom[a]) != n
}

// hopMin is the least RTT between the two ends of a chain hop over their domains, with
// the component comp pinned to cluster c (comp < 0: nothing pinned); ok is false when no
// pair is reachable.
func (sr *search) hopMin(x, y chainElem, comp, c int) (topology.Duration, bool) {
	p := sr.p
	clusters := func(e chainElem) []int32 {
		if e.comp == comp {
			return []int32{int32(c)}
		}
		return sr.dom[e.comp]
	}
	switch {
	case x.site >= 0 && y.site >= 0:
		d, err := p.topo.RTT(p.topo.SiteAt(x.site).Name, p.topo.SiteAt(y.site).Name)
		return d, err == nil
	case x.site >= 0 || y.site >= 0:
		s, e := x, y
		if y.site >= 0 {
			s, e = y, x
		}
		best := topology.Duration(math.MaxInt64)
		for _, c := range clusters(e) {
			if d := p.rttSC(s.site, int(c)); d >= 0 {
				best = min(best, d)
			}
		}
		return best, best != math.MaxInt64
	}
	cx, cy := clusters(x), clusters(y)
	if len(cx)*len(cy) > propagationLimit {
		return 0, true
	}
	best := topology.Duration(math.MaxInt64)
	for _, a := range cx {
		for _, b := range cy {
			if d := p.rtt(int(a), int(b)); d >= 0 {
				best = min(best, d)
			}
		}
	}
	return best, best != math.MaxInt64
}

// reviseChain removes, for every component of chain ch, the clusters on which the
// chain's least possible latency exceeds its budget.
func (sr *search) reviseChain(ch int) bool {
	p := sr.p
	chain := &p.chains[ch]
	changed := false
	var comps []int
	for _, e := range chain.elems {
		if e.comp >= 0 && !slices.Contains(comps, e.comp) {
			comps = append(comps, e.comp)
		}
	}
	for _, k := range comps {
		if len(sr.dom[k]) > 64 && len(comps) > 1 {
			continue // bounded effort on large domains
		}
		n := len(sr.dom[k])
		sr.dom[k] = slices.DeleteFunc(sr.dom[k], func(c int32) bool {
			lat := chain.proc
			for h := 0; h+1 < len(chain.elems); h++ {
				d, ok := sr.hopMin(chain.elems[h], chain.elems[h+1], k, int(c))
				if !ok {
					return true
				}
				lat += d / 2
				if lat > chain.budget {
					return true
				}
			}
			return false
		})
		changed = changed || len(sr.dom[k]) != n
	}
	return changed
}

// certificate looks for a proof of infeasibility in the domains: spread replicas
// outnumbering their clusters, or a set of components whose demand for a resource
// exceeds the capacity of the clusters any of them may use.
func (sr *search) certificate() string {
	p := sr.p
	for k := range p.comps {
		comp := &p.comps[k]
		if comp.c.Spread && comp.n > len(sr.dom[k]) {
			return fmt.Sprintf("%s spreads %d replicas over distinct clusters but may use only %d", comp.name, comp.n, len(sr.dom[k]))
		}
	}
	if int64(len(p.comps))*int64(len(p.comps))*int64(p.n) > 50_000_000 {
		return "" // bounded effort: the other certificates and the complete search remain
	}
	in := make([]bool, p.n)
	for k := range p.comps {
		for c := range in {
			in[c] = false
		}
		for _, c := range sr.dom[k] {
			in[c] = true
		}
		// The components confined to k's domain.
		var members []int
		for j := range p.comps {
			if !slices.ContainsFunc(sr.dom[j], func(c int32) bool { return !in[c] }) {
				members = append(members, j)
			}
		}
		for d, dim := range p.dims {
			var need, have int64
			for _, j := range members {
				need = satAdd(need, satMul(p.comps[j].req[d], int64(p.comps[j].n)))
			}
			for _, c := range sr.dom[k] {
				have = satAdd(have, p.capc[c][d])
			}
			if need > have {
				names := make([]string, 0, len(members))
				for _, j := range members {
					if p.comps[j].req[d] > 0 {
						names = append(names, p.comps[j].name)
					}
				}
				if len(names) > 6 {
					names = append(names[:6], fmt.Sprintf("and %d more", len(names)-6))
				}
				return fmt.Sprintf("%s need %s %s in all, but the %d cluster(s) they may use have %s",
					strings.Join(names, ", "), fmtQty(dim, need), dim, len(sr.dom[k]), fmtQty(dim, have))
			}
		}
	}
	return ""
}

// pairLB is a lower bound of the network cost of component-to-component pair pid over
// the domains of its two ends. Cached.
func (sr *search) pairLB(pid int32) float64 {
	if v := sr.pairMin[pid]; !math.IsNaN(v) {
		return v
	}
	p := sr.p
	fp := &p.pairs[pid]
	// Every replica pair of a flow has the same domains, RTT bound and weight: the
	// bound is computed once per flow.
	key := [2]int{fp.app, fp.flow}
	v, ok := sr.flowMin[key]
	if !ok {
		w0 := sr.work
		v = sr.pairLBIn(fp, sr.dom[p.insts[fp.a].comp], sr.dom[p.insts[fp.b].comp])
		sr.workFill += sr.work - w0
		if sr.flowMin == nil {
			sr.flowMin = map[[2]int]float64{}
		}
		sr.flowMin[key] = v
	}
	sr.pairMin[pid] = v
	return v
}

// pairLBIn is the least network cost of flow pair fp with its ends on clusters da and
// db (0 when the product is above propagationLimit or no pair is within the RTT bound).
func (sr *search) pairLBIn(fp *flowPair, da, db []int32) float64 {
	p := sr.p
	w := p.w.Network * fp.gbit
	if w <= 0 || len(da)*len(db) > propagationLimit {
		return 0
	}
	if m, ok := sr.minShared(da, db); ok {
		// The least RTT is a cluster's own, when both ends may share one whose
		// intra-cluster RTT is at most every RTT between two clusters.
		if fp.maxRTT > 0 && m > fp.maxRTT {
			return 0 // every pair is at least m: none is within the bound
		}
		return w * m.Ms()
	}
	sr.work += int64(len(da) * len(db))
	best := math.Inf(1)
	for _, b := range db {
		col := p.rttTo(int(b), len(da)) // symmetric: b's column holds rtt(a, b)
		for _, a := range da {
			if d := p.rttIn(col, int(b), int(a)); d >= 0 && (fp.maxRTT == 0 || d <= fp.maxRTT) {
				best = min(best, d.Ms())
			}
		}
	}
	if math.IsInf(best, 1) {
		return 0
	}
	return w * best
}

// minShared returns the least intra-cluster RTT over the clusters in both da and db,
// and whether it is at most the least RTT between two different clusters (then it is
// the least RTT over da x db). It costs len(da) + len(db) steps.
func (sr *search) minShared(da, db []int32) (topology.Duration, bool) {
	p := sr.p
	floor := p.minInterRTT()
	if floor < 0 {
		return 0, false
	}
	sr.work += int64(len(da) + len(db))
	if sr.markB == nil {
		sr.markB = make([]bool, p.n)
	}
	for _, c := range db {
		sr.markB[c] = true
	}
	m := topology.Duration(-1)
	for _, c := range da {
		if sr.markB[c] {
			if d := p.rtt(int(c), int(c)); d >= 0 && (m < 0 || d < m) {
				m = d
			}
		}
	}
	for _, c := range db {
		sr.markB[c] = false
	}
	return m, m >= 0 && m <= floor
}

func satAdd(a, b int64) int64 {
	if s := a + b; (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if x := a * b; x/b == a && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64) {
		return x
	}
	if (a > 0) == (b > 0) {
		return math.MaxInt64
	}
	return math.MinInt64
}
