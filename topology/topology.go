package topology

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Topology is a validated continuum with its routes precomputed. It is immutable and
// safe for concurrent use. Clusters are indexed 0..NumClusters()-1 in name order, so the
// indices of a topology do not depend on the order of its file.
type Topology struct {
	spec     Spec
	clusters []Cluster // sorted by name
	cidx     map[string]int
	sites    []Site // sorted by name
	sidx     map[string]int
	owners   []Owner
	links    []Link       // sorted by (A, B)
	direct   map[int]int  // pair key -> index in links
	adj      [][]adjEntry // per cluster, sorted by neighbour index

	n int
	// All-pairs tables, built by New when n <= allPairsMax; nil above it, where rows
	// holds the same rows, computed on demand.
	// dist and pred are held by rows (one per source cluster, n entries), so that a
	// topology WithLinkRTTs derives shares the rows no change re-routes.
	dist   [][]Duration // RTT between clusters, direct link first; -1 unreachable
	pred   [][]int32    // predecessor on the cheapest path tree from the row's cluster
	site   []Duration   // len(sites)*n: RTT from site to cluster; -1 unreachable
	siteAt []int32      // len(sites)*n: access cluster used
	rows   *rowCache
	// cacheRows is build's cache size argument, kept for WithLinkRTTs.
	cacheRows int
	// shape is shared by the topologies WithLinkRTTs derives from this one's build:
	// the same clusters, sites and links, other RTTs.
	shape *shapeID
	// res holds ResourceNames' answer, computed once; the topologies WithLinkRTTs
	// derives share it (they have the same clusters).
	res *resourceNames
}

type resourceNames struct {
	once  sync.Once
	names []ResourceName
}

// shapeID identifies a build (not empty, so that two never share an address).
type shapeID struct{ _ byte }

type adjEntry struct {
	to   int
	link int
	rtt  Duration // the link's effective RTT
}

// Link is a link between two clusters, normalised so that A < B by name.
type Link struct {
	A, B     string
	RTT      Duration
	P99      Duration
	Jitter   Duration
	Capacity Bandwidth // Unlimited when not set
	// Peering is the Liqo peering seen from A: outgoing = A consumes B's resources.
	Peering PeeringDirection
	Tunnel  *TunnelOverhead
}

// EffectiveRTT is the RTT of traffic over the link: its RTT plus the tunnel's, if known.
func (l Link) EffectiveRTT() Duration {
	if l.Tunnel != nil {
		return satAdd(l.RTT, l.Tunnel.RTT)
	}
	return l.RTT
}

// Peered reports whether a Liqo peering lets consumer offload to provider over l.
func (l Link) Peered(consumer, provider string) bool {
	switch {
	case consumer == l.A && provider == l.B:
		return l.Peering == PeeringOutgoing || l.Peering == PeeringBidirectional
	case consumer == l.B && provider == l.A:
		return l.Peering == PeeringIncoming || l.Peering == PeeringBidirectional
	}
	return false
}

func flip(d PeeringDirection) PeeringDirection {
	switch d {
	case PeeringOutgoing:
		return PeeringIncoming
	case PeeringIncoming:
		return PeeringOutgoing
	}
	return d
}

// New validates spec and builds the topology. Up to AllPairsMax clusters, all-pairs
// routes are computed here, so RTT and path queries afterwards are O(1) and O(hops);
// above it the routes from a cluster are computed on its first query and kept in a
// bounded cache (see the package doc), with the same answers. New keeps its own deep
// copy of spec. An invalid spec gives an ErrorList naming every problem.
func New(spec Spec) (*Topology, error) { return build(spec, AllPairsMax, 0) }

// build is New with the all-pairs threshold and the cache size (in rows; zero: the
// default budget) given, so that tests can run the on-demand representation on small
// continuums.
func build(spec Spec, allPairsMax, cacheRows int) (*Topology, error) {
	if errs := validate(spec, nil); len(errs) > 0 {
		return nil, errs
	}
	spec = spec.DeepCopy()
	if spec.APIVersion == "" {
		spec.APIVersion = APIVersion
	}
	if spec.Kind == "" {
		spec.Kind = Kind
	}
	t := &Topology{spec: spec, cidx: map[string]int{}, sidx: map[string]int{}, direct: map[int]int{}, cacheRows: cacheRows, shape: new(shapeID), res: new(resourceNames)}
	t.clusters = slices.Clone(spec.Clusters)
	slices.SortFunc(t.clusters, func(a, b Cluster) int { return cmp.Compare(a.Name, b.Name) })
	for i := range t.clusters {
		c := &t.clusters[i]
		t.cidx[c.Name] = i
		if c.IntraRTT == 0 {
			c.IntraRTT = DefaultIntraRTT
		}
		if c.Distribution == "" {
			c.Distribution = Kubeadm
		}
		if c.Uplink == 0 {
			c.Uplink = Unlimited
		}
		if len(c.Capacity) == 0 && len(c.NodePools) > 0 {
			c.Capacity = ResourceList{}
			for _, np := range c.NodePools {
				for k, q := range np.Capacity {
					s := c.Capacity[k]
					s.Add(q)
					c.Capacity[k] = s
				}
			}
		}
	}
	t.sites = slices.Clone(spec.Sites)
	slices.SortFunc(t.sites, func(a, b Site) int { return cmp.Compare(a.Name, b.Name) })
	for i := range t.sites {
		t.sidx[t.sites[i].Name] = i
		t.sites[i].Access = slices.Clone(t.sites[i].Access)
		for j := range t.sites[i].Access {
			if t.sites[i].Access[j].Capacity == 0 {
				t.sites[i].Access[j].Capacity = Unlimited
			}
		}
		slices.SortFunc(t.sites[i].Access, func(a, b AccessLink) int { return cmp.Compare(a.Cluster, b.Cluster) })
	}
	t.owners = t.collectOwners()
	for _, c := range spec.Clusters {
		for _, ls := range c.Links {
			l := Link{A: c.Name, B: ls.To, RTT: ls.RTT, P99: ls.P99, Jitter: ls.Jitter,
				Capacity: ls.Capacity, Peering: ls.Peering, Tunnel: ls.Tunnel}
			if l.Capacity == 0 {
				l.Capacity = Unlimited
			}
			if l.A > l.B {
				l.A, l.B, l.Peering = l.B, l.A, flip(l.Peering)
			}
			t.links = append(t.links, l)
		}
	}
	slices.SortFunc(t.links, func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B))
	})
	t.n = len(t.clusters)
	t.adj = make([][]adjEntry, t.n)
	for k, l := range t.links {
		a, b := t.cidx[l.A], t.cidx[l.B]
		t.direct[t.pair(a, b)] = k
		t.direct[t.pair(b, a)] = k
		t.adj[a] = append(t.adj[a], adjEntry{to: b, link: k, rtt: l.EffectiveRTT()})
		t.adj[b] = append(t.adj[b], adjEntry{to: a, link: k, rtt: l.EffectiveRTT()})
	}
	for i := range t.adj {
		slices.SortFunc(t.adj[i], func(x, y adjEntry) int { return cmp.Compare(x.to, y.to) })
	}
	if t.n <= allPairsMax {
		t.route()
	} else {
		t.rows = newRowCache(t.n, len(t.sites), cacheRows)
	}
	return t, nil
}

func (t *Topology) pair(i, j int) int { return i*t.n + j }

func (t *Topology) inRange(i int) bool { return i >= 0 && i < t.n }

func (t *Topology) collectOwners() []Owner {
	byName := map[string]Owner{}
	for _, o := range t.spec.Owners {
		byName[o.Name] = o
	}
	for _, c := range t.clusters {
		if _, ok := byName[c.Owner]; !ok {
			byName[c.Owner] = Owner{Name: c.Owner}
		}
	}
	out := make([]Owner, 0, len(byName))
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[k])
	}
	return out
}

// route fills the all-pairs tables: one cluster row per cluster, then one site row
// per site (see computeClusterRow and computeSiteRow).
func (t *Topology) route() {
	n := t.n
	dist, pred := make([]Duration, n*n), make([]int32, n*n)
	t.dist, t.pred = make([][]Duration, n), make([][]int32, n)
	h := &distHeap{}
	for s := range n {
		t.dist[s], t.pred[s] = dist[s*n:(s+1)*n:(s+1)*n], pred[s*n:(s+1)*n:(s+1)*n]
		t.computeClusterRow(s, t.dist[s], t.pred[s], h)
	}
	t.site = make([]Duration, len(t.sites)*n)
	t.siteAt = make([]int32, len(t.sites)*n)
	for si := range t.sites {
		t.computeSiteRow(si, t.site[si*n:(si+1)*n], t.siteAt[si*n:(si+1)*n], func(ai int) []Duration { return t.dist[ai] })
	}
}

// computeClusterRow computes the routes from cluster s: Dijkstra over the links' effective
// RTTs, then a direct link overrides the cheapest path (traffic between linked
// clusters takes their link), and the cluster to itself costs its intra-cluster RTT.
// row gets the RTTs (-1 unreachable), pred the predecessor of each cluster on the
// cheapest-path tree from s. Ties are broken by cluster index, so the result is
// deterministic and does not depend on which representation asks.
func (t *Topology) computeClusterRow(s int, row []Duration, pr []int32, h *distHeap) {
	for i := range row {
		row[i] = -1
		pr[i] = -1
	}
	row[s] = 0
	*h = append((*h)[:0], distItem{0, s})
	for len(*h) > 0 {
		it := h.pop()
		if it.d != row[it.node] {
			continue
		}
		for _, e := range t.adj[it.node] {
			nd := satAdd(it.d, e.rtt)
			if row[e.to] < 0 || nd < row[e.to] {
				row[e.to] = nd
				pr[e.to] = int32(it.node)
				h.push(distItem{nd, e.to})
			}
		}
	}
	for _, e := range t.adj[s] {
		row[e.to] = e.rtt
	}
	row[s] = t.clusters[s].IntraRTT
}

// computeSiteRow computes the RTTs from site si to every cluster (-1 unreachable) and the
// access cluster each trip enters by: the access link that makes the whole trip
// cheapest, the first in cluster order on a tie. from(ai) is the cluster row of ai.
func (t *Topology) computeSiteRow(si int, row []Duration, at []int32, from func(ai int) []Duration) {
	for c := range row {
		row[c], at[c] = -1, -1
	}
	for _, a := range t.sites[si].Access {
		ai := t.cidx[a.Cluster]
		dist := from(ai)
		for c := range row {
			d := a.RTT
			if ai != c {
				dc := dist[c]
				if dc < 0 {
					continue
				}
				d = satAdd(d, dc)
			}
			if row[c] < 0 || d < row[c] {
				row[c], at[c] = d, int32(ai)
			}
		}
	}
}

type distItem struct {
	d    Duration
	node int
}

// distHeap is a binary min-heap on (d, node), typed to avoid container/heap's boxing.
type distHeap []distItem

func (h distHeap) less(i, j int) bool {
	if h[i].d != h[j].d {
		return h[i].d < h[j].d
	}
	return h[i].node < h[j].node
}

func (h *distHeap) push(it distItem) {
	*h = append(*h, it)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *distHeap) pop() distItem {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a.less(l, m) {
			m = l
		}
		if r < len(a) && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// Spec returns a deep copy of the spec the topology was built from (defaults not
// filled in), ready for Encode.
func (t *Topology) Spec() Spec { return t.spec.DeepCopy() }

// Name returns metadata.name.
func (t *Topology) Name() string { return t.spec.Metadata.Name }

// NumClusters returns the number of clusters.
func (t *Topology) NumClusters() int { return t.n }

// Clusters returns the clusters in name order, with defaults filled in (intraRTT 0.2 ms,
// distribution kubeadm, unlimited uplink, capacity summed from node pools). Do not
// modify the returned ResourceLists; use Cluster to get one by name.
func (t *Topology) Clusters() []Cluster { return slices.Clone(t.clusters) }

// ResourceNames returns the names of the resources the clusters declare capacity of,
// sorted. Computed once (a topology never changes).
func (t *Topology) ResourceNames() []ResourceName {
	t.res.once.Do(func() {
		set := map[ResourceName]bool{}
		for i := range t.clusters {
			for k := range t.clusters[i].Capacity {
				set[k] = true
			}
		}
		t.res.names = slices.Sorted(maps.Keys(set))
	})
	return slices.Clone(t.res.names)
}

// ClusterAt returns the cluster with index i. Precondition: 0 <= i < NumClusters(); it
// panics otherwise, like a slice index (Cluster looks a cluster up by name, checked).
func (t *Topology) ClusterAt(i int) Cluster { return t.clusters[i] }

// Cluster returns the cluster called name.
func (t *Topology) Cluster(name string) (Cluster, bool) {
	i, ok := t.cidx[name]
	if !ok {
		return Cluster{}, false
	}
	return t.clusters[i], true
}

// ClusterIndex returns the index of the cluster called name.
func (t *Topology) ClusterIndex(name string) (int, bool) {
	i, ok := t.cidx[name]
	return i, ok
}

// Sites returns the user sites in name order.
func (t *Topology) Sites() []Site { return slices.Clone(t.sites) }

// Site returns the site called name.
func (t *Topology) Site(name string) (Site, bool) {
	i, ok := t.sidx[name]
	if !ok {
		return Site{}, false
	}
	return t.sites[i], true
}

// Owners returns the owners in name order: those declared and those clusters name.
func (t *Topology) Owners() []Owner { return slices.Clone(t.owners) }

// Links returns the cluster-to-cluster links in (A, B) order.
func (t *Topology) Links() []Link { return slices.Clone(t.links) }

// Link returns the direct link between clusters a and b, in either order.
func (t *Topology) Link(a, b string) (Link, bool) {
	i, ok1 := t.cidx[a]
	j, ok2 := t.cidx[b]
	if !ok1 || !ok2 {
		return Link{}, false
	}
	k, ok := t.direct[t.pair(i, j)]
	if !ok {
		return Link{}, false
	}
	return t.links[k], true
}

// RTTAt returns the RTT between the clusters with indices i and j in O(1): the intra-
// cluster RTT when i == j, the direct link's effective RTT when there is one, else the
// cheapest path's. ok is false when no path joins them, or an index is out of range.
func (t *Topology) RTTAt(i, j int) (rtt Duration, ok bool) {
	if uint(i) >= uint(t.n) || uint(j) >= uint(t.n) {
		return 0, false
	}
	if t.rows == nil { // kept small enough for the compiler to inline
		d := t.dist[i][j]
		return d, d >= 0
	}
	d := t.rttOnDemand(i, j)
	return d, d >= 0
}

// RTTRow returns the RTTs from the cluster with index i to every cluster, in index
// order, appended to dst[:0]: entry j is RTTAt(i, j)'s RTT, negative when no path
// joins them. nil when i is out of range. It costs a copy of one row of the all-pairs
// table (above AllPairsMax clusters, of i's cheapest-path row, computed when not
// cached), against a call per entry for RTTAt.
func (t *Topology) RTTRow(i int, dst []Duration) []Duration {
	if uint(i) >= uint(t.n) {
		return nil
	}
	if t.rows == nil {
		return append(dst[:0], t.dist[i]...)
	}
	return append(dst[:0], t.clusterRowOf(i).dist...)
}

// SiteRTTRow returns the RTTs from the site with index si to every cluster, in index
// order, appended to dst[:0]: entry c is SiteRTTAt(si, c)'s RTT, negative when no
// route joins them. nil when si is out of range. It costs a copy of one row.
func (t *Topology) SiteRTTRow(si int, dst []Duration) []Duration {
	if uint(si) >= uint(len(t.sites)) {
		return nil
	}
	d, _ := t.siteRow(si)
	return append(dst[:0], d...)
}

// SiteRTTAt returns the RTT between the site with index si (in Sites order) and the
// cluster with index c in O(1): the cheapest access link plus route. ok is false when
// no route joins them, or an index is out of range.
func (t *Topology) SiteRTTAt(si, c int) (rtt Duration, ok bool) {
	if uint(si) >= uint(len(t.sites)) || uint(c) >= uint(t.n) {
		return 0, false
	}
	if t.rows == nil { // kept small enough for the compiler to inline
		d := t.site[si*t.n+c]
		return d, d >= 0
	}
	d := t.siteRTTOnDemand(si, c)
	return d, d >= 0
}

// SiteIndex returns the index of the site called name, in Sites order.
func (t *Topology) SiteIndex(name string) (int, bool) {
	i, ok := t.sidx[name]
	return i, ok
}

// RTT returns the round-trip time between two endpoints, each a cluster or a site, in
// O(1) for cluster-cluster and site-cluster pairs (site-site: O(access links)).
func (t *Topology) RTT(a, b string) (Duration, error) {
	p, err := t.path(a, b, false)
	return p.RTT, err
}

// Path returns the route between two endpoints (clusters or sites), hop by hop, with its
// RTT and bottleneck capacity.
func (t *Topology) Path(a, b string) (Path, error) { return t.path(a, b, true) }

// Path is a route between two endpoints.
type Path struct {
	From, To string
	// RTT is the sum of the hops' effective RTTs (the intra-cluster RTT for a cluster to
	// itself).
	RTT Duration
	// Hops are the links the route takes, in order; empty from a cluster to itself.
	Hops []Hop
	// Bottleneck is the smallest capacity on the route (Unlimited when none is set).
	Bottleneck Bandwidth
}

// Nodes returns the endpoints and clusters the path visits, in order.
func (p Path) Nodes() []string {
	out := []string{p.From}
	for _, h := range p.Hops {
		out = append(out, h.To)
	}
	return out
}

// String formats the path as "geneva -> geneva-edge -> frankfurt (12.1ms)".
func (p Path) String() string {
	s := ""
	for i, n := range p.Nodes() {
		if i > 0 {
			s += " -> "
		}
		s += n
	}
	return fmt.Sprintf("%s (%s)", s, fmtMs(p.RTT))
}

// Hop is one link of a path.
type Hop struct {
	From, To string
	RTT      Duration // effective RTT of the link (tunnel included)
	Capacity Bandwidth
	// Access is true for a site's access link.
	Access bool
}

func (t *Topology) endpoint(name string) (cluster, site int, err error) {
	if i, ok := t.cidx[name]; ok {
		return i, -1, nil
	}
	if i, ok := t.sidx[name]; ok {
		return -1, i, nil
	}
	return -1, -1, fmt.Errorf("topology: no cluster or site %q: %w", name, ErrNotFound)
}

func (t *Topology) path(a, b string, hops bool) (Path, error) {
	p := Path{From: a, To: b, Bottleneck: Unlimited}
	ca, sa, err := t.endpoint(a)
	if err != nil {
		return p, err
	}
	cb, sb, err := t.endpoint(b)
	if err != nil {
		return p, err
	}
	unreachable := func() error { return fmt.Errorf("topology: no path between %q and %q: %w", a, b, ErrUnreachable) }
	switch {
	case ca >= 0 && cb >= 0:
		d := t.rtt(ca, cb)
		if d < 0 {
			return p, unreachable()
		}
		p.RTT = d
		if hops {
			t.clusterHops(&p, ca, cb)
		}
	case sa >= 0 && cb >= 0, ca >= 0 && sb >= 0:
		si, c, reverse := sa, cb, false
		if sa < 0 {
			si, c, reverse = sb, ca, true
		}
		d := t.siteRTT(si, c)
		if d < 0 {
			return p, unreachable()
		}
		p.RTT = d
		if hops {
			t.siteHops(&p, si, c, reverse)
		}
	default: // site to site, through the best pair of access clusters
		if sa == sb {
			return p, nil
		}
		best, bi := Duration(-1), -1
		row, _ := t.siteRow(sa)
		for _, acc := range t.sites[sb].Access {
			ai := t.cidx[acc.Cluster]
			d := row[ai]
			if d < 0 {
				continue
			}
			if d = satAdd(d, acc.RTT); best < 0 || d < best {
				best, bi = d, ai
			}
		}
		if best < 0 {
			return p, unreachable()
		}
		p.RTT = best
		if hops {
			t.siteHops(&p, sa, bi, false)
			acc := t.sites[sb].Access[slices.IndexFunc(t.sites[sb].Access, func(x AccessLink) bool { return x.Cluster == t.clusters[bi].Name })]
			p.Hops = append(p.Hops, Hop{From: acc.Cluster, To: b, RTT: acc.RTT, Capacity: acc.Capacity, Access: true})
			p.Bottleneck = min(p.Bottleneck, acc.Capacity)
		}
	}
	return p, nil
}

// clusterHops appends the hops from cluster a to cluster b.
func (t *Topology) clusterHops(p *Path, a, b int) {
	if a == b {
		return
	}
	var rev []int
	if _, ok := t.direct[t.pair(a, b)]; ok {
		rev = []int{b, a}
	} else {
		pred := t.predRow(a)
		for x := b; x != a; x = int(pred[x]) {
			rev = append(rev, x)
		}
		rev = append(rev, a)
	}
	for i := len(rev) - 1; i > 0; i-- {
		l := t.links[t.direct[t.pair(rev[i], rev[i-1])]]
		p.Hops = append(p.Hops, Hop{From: t.clusters[rev[i]].Name, To: t.clusters[rev[i-1]].Name,
			RTT: l.EffectiveRTT(), Capacity: l.Capacity})
		p.Bottleneck = min(p.Bottleneck, l.Capacity)
	}
}

// siteHops fills the hops between site si and cluster c; reverse means cluster to site.
func (t *Topology) siteHops(p *Path, si, c int, reverse bool) {
	s := t.sites[si]
	_, at := t.siteRow(si)
	ai := int(at[c])
	acc := s.Access[slices.IndexFunc(s.Access, func(x AccessLink) bool { return x.Cluster == t.clusters[ai].Name })]
	var q Path
	q.Bottleneck = Unlimited
	t.clusterHops(&q, ai, c)
	hops := append([]Hop{{From: s.Name, To: acc.Cluster, RTT: acc.RTT, Capacity: acc.Capacity, Access: true}}, q.Hops...)
	if reverse {
		slices.Reverse(hops)
		for i := range hops {
			hops[i].From, hops[i].To = hops[i].To, hops[i].From
		}
	}
	p.Hops = append(p.Hops, hops...)
	p.Bottleneck = min(p.Bottleneck, acc.Capacity, q.Bottleneck)
}

// Distance returns the great-circle distance in km between two endpoints; ok is false
// when either is not located.
func (t *Topology) Distance(a, b string) (km float64, ok bool, err error) {
	la, err := t.location(a)
	if err != nil {
		return 0, false, err
	}
	lb, err := t.location(b)
	if err != nil {
		return 0, false, err
	}
	if la == nil || lb == nil {
		return 0, false, nil
	}
	return DistanceKm(*la, *lb), true, nil
}

// Floor returns the physical floor RTT between two located endpoints.
func (t *Topology) Floor(a, b string) (Duration, bool, error) {
	km, ok, err := t.Distance(a, b)
	if !ok {
		return 0, false, err
	}
	return PhysicalFloor(km), true, nil
}

// Estimate returns the geo estimate RTT between two located endpoints: what to assume
// when nothing is configured or measured.
func (t *Topology) Estimate(a, b string) (Duration, bool, error) {
	km, ok, err := t.Distance(a, b)
	if !ok {
		return 0, false, err
	}
	return GeoEstimate(km), true, nil
}

func (t *Topology) location(name string) (*Location, error) {
	c, s, err := t.endpoint(name)
	switch {
	case err != nil:
		return nil, err
	case c >= 0:
		return t.clusters[c].Location, nil
	default:
		return t.sites[s].Location, nil
	}
}

// RouteAt returns the links (indices into Links()) that traffic between the clusters
// with indices i and j crosses, in order from i; nil when i == j, no path exists or an
// index is out of range. Placement uses it to charge a flow's bandwidth to every link
// of its path.
func (t *Topology) RouteAt(i, j int) []int {
	if !t.inRange(i) || !t.inRange(j) || i == j || t.rtt(i, j) < 0 {
		return nil
	}
	if k, ok := t.direct[t.pair(i, j)]; ok {
		return []int{k}
	}
	var rev []int
	pred := t.predRow(i)
	for x := j; x != i; {
		p := int(pred[x])
		rev = append(rev, t.direct[t.pair(p, x)])
		x = p
	}
	slices.Reverse(rev)
	return rev
}

// SiteRouteAt returns how users at the site with index si reach the cluster with index
// c: the access link used (an index into Sites()[si].Access) and the cluster links after
// it (indices into Links()). ok is false when the cluster is unreachable from the site,
// or an index is out of range.
func (t *Topology) SiteRouteAt(si, c int) (access int, links []int, ok bool) {
	if si < 0 || si >= len(t.sites) || !t.inRange(c) {
		return -1, nil, false
	}
	_, at := t.siteRow(si)
	ai := int(at[c])
	if ai < 0 {
		return -1, nil, false
	}
	s := t.sites[si]
	access = slices.IndexFunc(s.Access, func(x AccessLink) bool { return x.Cluster == t.clusters[ai].Name })
	return access, t.RouteAt(ai, c), true
}

// NumSites returns the number of user sites.
func (t *Topology) NumSites() int { return len(t.sites) }

// SiteAt returns the site with index si (in Sites order). Precondition: 0 <= si <
// NumSites(); it panics otherwise, like a slice index (Site is the checked look-up).
func (t *Topology) SiteAt(si int) Site { return t.sites[si] }

// NumLinks returns the number of links; LinkAt(k) for k in [0, NumLinks()) returns
// them in the order of Links.
func (t *Topology) NumLinks() int { return len(t.links) }

// LinkAt returns the link with index k (in Links order). Precondition: 0 <= k <
// len(Links()); it panics otherwise, like a slice index (Link is the checked look-up).
func (t *Topology) LinkAt(k int) Link { return t.links[k] }
