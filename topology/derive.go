package topology

import (
	"fmt"
	"slices"
)

// LinkRTT sets the latency figures of one link or access link: A and B name two
// clusters joined by a link, or a site and one of its access clusters (either order).
// For an access link Tunnel must be nil.
type LinkRTT struct {
	A, B   string
	RTT    Duration
	P99    Duration
	Tunnel *TunnelOverhead
}

// WithLinkRTTs returns the topology New would build from t's spec with the given links'
// and access links' rtt, p99 and tunnel replaced (later changes of the same link win);
// t is unchanged. Its answers (RTTs, routes, paths, Spec) are those of that New, and
// so is its error when a figure is invalid (an ErrorList naming the spec field). It
// costs less than New: nothing else is validated again, and of the all-pairs routes
// only the rows a changed link can alter are recomputed (for a cheaper link, the rows
// whose routes it can shorten or tie; for a dearer one, the rows whose route tree
// uses it; its two ends and their neighbours always; once the changes have
// recomputed more than half of the rows, every row is routed once after the last).
// Above AllPairsMax the derived
// topology starts with an empty row cache. A pair that names no link or access link
// is an error naming the change.
func (t *Topology) WithLinkRTTs(changes []LinkRTT) (*Topology, error) {
	if len(changes) == 0 {
		return t, nil
	}
	// The spec, changed as a user would change the file. It shares with t's spec what
	// no change writes to: the slices a change writes to are copied first (a
	// Topology's spec is never changed in place; Spec returns a deep copy).
	spec := t.spec
	spec.Clusters, spec.Sites = slices.Clone(spec.Clusters), slices.Clone(spec.Sites)
	own := map[[2]int]bool{}
	bad := false
	for n, ch := range changes {
		found, err := setSpecRTT(&spec, ch, own)
		if err != "" {
			return nil, ErrorList{{Field: fmt.Sprintf("changes[%d]", n), Detail: err}}
		}
		if !found {
			return nil, ErrorList{{Field: fmt.Sprintf("changes[%d]", n), Detail: fmt.Sprintf("no link or access link joins %q and %q", ch.A, ch.B)}}
		}
		if !t.validFigures(ch) {
			bad = true
		}
	}
	if bad {
		// New names the field and says what is wrong, exactly as for a file.
		return build(spec, AllPairsMax, t.cacheRows)
	}
	d := *t
	d.spec = spec
	d.links = slices.Clone(t.links)
	d.adj = slices.Clone(t.adj)
	ownAdj := map[int]bool{}
	ownSites := false
	var siteDirty []bool
	var clusterDirty []bool
	owned := false // d.dist and d.pred are copies (of the rows' headers: clusterDirty marks the rows d owns)
	full, rerouted := false, 0
	h := &distHeap{}
	for _, ch := range changes {
		i, iok := t.cidx[ch.A]
		j, jok := t.cidx[ch.B]
		if iok && jok {
			k := t.direct[t.pair(i, j)]
			l := &d.links[k]
			before := l.EffectiveRTT()
			l.RTT, l.P99, l.Tunnel = ch.RTT, ch.P99, ch.Tunnel
			after := l.EffectiveRTT()
			if before == after {
				continue
			}
			for _, x := range [2]int{i, j} {
				if !ownAdj[x] {
					d.adj[x] = slices.Clone(d.adj[x])
					ownAdj[x] = true
				}
				for e := range d.adj[x] {
					if d.adj[x][e].link == k {
						d.adj[x][e].rtt = after
					}
				}
			}
			if d.rows != nil {
				continue
			}
			if !owned {
				d.dist, d.pred = slices.Clone(t.dist), slices.Clone(t.pred)
				clusterDirty = make([]bool, d.n)
				owned = true
			}
			if !full {
				// Many changes at once (a round of measurements) can touch most rows:
				// past half of them, every row is routed once at the end instead.
				rerouted += d.reroute(i, j, before, after < before, clusterDirty, h)
				full = rerouted > d.n/2
			}
			continue
		}
		// An access link (site, cluster) in either order.
		si, c := d.sidx[ch.A], d.cidx[ch.B]
		if _, ok := d.sidx[ch.A]; !ok {
			si, c = d.sidx[ch.B], d.cidx[ch.A]
		}
		if !ownSites {
			d.sites = slices.Clone(t.sites)
			ownSites = true
		}
		s := &d.sites[si]
		s.Access = slices.Clone(s.Access)
		for a := range s.Access {
			if s.Access[a].Cluster == d.clusters[c].Name {
				s.Access[a].RTT, s.Access[a].P99 = ch.RTT, ch.P99
			}
		}
		if siteDirty == nil {
			siteDirty = make([]bool, len(d.sites))
		}
		siteDirty[si] = true
	}
	if d.rows != nil {
		d.rows = newRowCache(d.n, len(d.sites), t.cacheRows)
		return &d, nil
	}
	if full {
		n := d.n
		for s := range n {
			d.recomputeRow(s, clusterDirty, h)
		}
	}
	// Site rows: those whose access link changed or whose access clusters' rows were
	// recomputed.
	if siteDirty == nil {
		siteDirty = make([]bool, len(d.sites))
	}
	if clusterDirty != nil {
		for si := range d.sites {
			for _, a := range d.sites[si].Access {
				if clusterDirty[d.cidx[a.Cluster]] {
					siteDirty[si] = true
					break
				}
			}
		}
	}
	if slices.Contains(siteDirty, true) {
		d.site, d.siteAt = slices.Clone(t.site), slices.Clone(t.siteAt)
		n := d.n
		for si := range d.sites {
			if siteDirty[si] {
				d.computeSiteRow(si, d.site[si*n:(si+1)*n], d.siteAt[si*n:(si+1)*n], func(ai int) []Duration { return d.dist[ai] })
			}
		}
	}
	return &d, nil
}

// reroute recomputes the cluster rows that the change of the link between clusters i
// and j (already in t.adj; its effective RTT was old before) can alter, given rows
// correct before it; cheaper tells whether its effective RTT went down. The rows of i
// and j are always recomputed (the direct link overrides their RTT to each other).
// For a cheaper link a row is judged on its shortest-path distances to i and j; a
// row's stored RTTs are those distances except at the row's own cluster and its direct
// neighbours (the direct link and the intra-cluster RTT override them), so for the rows
// of i's and j's neighbours the distances are summed along their route trees
// (treeRTT). A dearer link is judged on the route trees (pred), which no override
// touches: a row whose tree does not use the link settles every cluster in the same
// order at the same distance, and the first cluster to offer each its distance is the
// same, so its routes stay as they were.
func (t *Topology) reroute(i, j int, old Duration, cheaper bool, dirty []bool, h *distHeap) int {
	n := t.n
	redo, near := make([]bool, n), make([]bool, n)
	redo[i], redo[j] = true, true
	for _, x := range [2]int{i, j} {
		for _, e := range t.adj[x] {
			near[e.to] = true
		}
	}
	k := t.direct[t.pair(i, j)]
	w := t.links[k].EffectiveRTT()
	for s := range n {
		if redo[s] {
			continue
		}
		di, dj := t.dist[s][i], t.dist[s][j]
		if cheaper && near[s] {
			di, dj = t.treeRTT(s, i, i, j, old), t.treeRTT(s, j, i, j, old)
		}
		if di < 0 || dj < 0 {
			continue // neither end reachable from s: the link is not on its routes
		}
		if cheaper {
			// The link can now shorten (or tie, which can change the tree) a route.
			redo[s] = satAdd(di, w) <= dj || satAdd(dj, w) <= di
		} else {
			// A dearer link changes only routes through it.
			redo[s] = int(t.pred[s][j]) == i || int(t.pred[s][i]) == j
		}
	}
	count := 0
	for s := range n {
		if redo[s] {
			t.recomputeRow(s, dirty, h)
			count++
		}
	}
	return count
}

// recomputeRow routes cluster s's row again, into rows of its own: the first time
// (dirty[s] not yet set) new ones, as the topology it derives from shares the others.
func (t *Topology) recomputeRow(s int, dirty []bool, h *distHeap) {
	if !dirty[s] {
		t.dist[s], t.pred[s] = make([]Duration, t.n), make([]int32, t.n)
		dirty[s] = true
	}
	t.computeClusterRow(s, t.dist[s], t.pred[s], h)
}

// treeRTT returns the shortest-path distance from cluster s to v that row s's route
// tree was computed with (-1: unreachable), summed along the tree from v back to s, the
// link between i and j counted at its RTT before the change, old. Saturating sums of
// RTTs do not depend on their order, so this is the distance computeClusterRow found.
func (t *Topology) treeRTT(s, v, i, j int, old Duration) Duration {
	var d Duration
	for v != s {
		u := int(t.pred[s][v])
		if u < 0 {
			return -1
		}
		rtt := old
		if u != i && u != j || v != i && v != j {
			for _, e := range t.adj[u] {
				if e.to == v {
					rtt = e.rtt
					break
				}
			}
		}
		d = satAdd(d, rtt)
		v = u
	}
	return d
}

// setSpecRTT applies ch to the spec, whose Clusters and Sites slices are its own: a
// cluster's links or a site's access links are copied before their first change (own
// records which: {0, cluster} and {1, site}). It reports whether a link or access link matched,
// or a problem with the change itself.
func setSpecRTT(spec *Spec, ch LinkRTT, own map[[2]int]bool) (bool, string) {
	found := false
	for ci := range spec.Clusters {
		c := &spec.Clusters[ci]
		for li := range c.Links {
			if l := &c.Links[li]; (c.Name == ch.A && l.To == ch.B) || (c.Name == ch.B && l.To == ch.A) {
				if !own[[2]int{0, ci}] {
					c.Links = slices.Clone(c.Links)
					own[[2]int{0, ci}] = true
				}
				l = &c.Links[li]
				l.RTT, l.P99, l.Tunnel = ch.RTT, ch.P99, ch.Tunnel
				found = true
			}
		}
	}
	if found {
		return true, ""
	}
	for si := range spec.Sites {
		s := &spec.Sites[si]
		if s.Name != ch.A && s.Name != ch.B {
			continue
		}
		for ai := range s.Access {
			if a := &s.Access[ai]; (s.Name == ch.A && a.Cluster == ch.B) || (s.Name == ch.B && a.Cluster == ch.A) {
				if ch.Tunnel != nil {
					return true, "an access link has no tunnel"
				}
				if !own[[2]int{1, si}] {
					s.Access = slices.Clone(s.Access)
					own[[2]int{1, si}] = true
				}
				a = &s.Access[ai]
				a.RTT, a.P99 = ch.RTT, ch.P99
				found = true
			}
		}
	}
	return found, ""
}

// validFigures reports whether the change's figures pass the checks New applies to a
// link or access link (the same validator methods: rtt with the physical floor, tunnel).
func (t *Topology) validFigures(ch LinkRTT) bool {
	var v validator
	loc := func(name string) *Location {
		if i, ok := t.cidx[name]; ok {
			return t.clusters[i].Location
		}
		if i, ok := t.sidx[name]; ok {
			return t.sites[i].Location
		}
		return nil
	}
	jitter := Duration(0)
	if l, ok := t.Link(ch.A, ch.B); ok {
		jitter = l.Jitter
		v.tunnel("x", ch.Tunnel, l.Peering)
	}
	v.rtt("x", ch.RTT, ch.P99, jitter, loc(ch.A), loc(ch.B))
	return len(v.errs) == 0
}
