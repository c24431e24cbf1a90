package topology

import (
	"slices"
	"sync"
	"sync/atomic"
)

// AllPairsMax is the largest continuum whose routes New computes all at once (12 bytes
// per pair of clusters: 48 MB at 2,000). Above it, the routes from a cluster or a site
// are computed on their first query and kept in a bounded cache of rows (see the
// package doc); the answers are the same.
const AllPairsMax = 2000

// RowCacheBytes is the memory the on-demand representation keeps for cached rows of
// routes (12 bytes per cluster per row), at least minCachedRows rows.
const RowCacheBytes = 64 << 20

const minCachedRows = 16

// rowCache holds the on-demand rows of a continuum above AllPairsMax: slots 0..n-1 are
// cluster rows (RTTs and predecessors on the cheapest-path tree), slots n.. site rows
// (RTTs and access clusters). A hit is one atomic load. A miss computes the row
// outside the lock and keeps it, evicting by CLOCK (second chance, an approximation of
// least-recently-used) once max rows are held. A row is never changed once computed,
// so a reader keeps using one that is evicted meanwhile.
type rowCache struct {
	slots []atomic.Pointer[cachedRow]
	heaps sync.Pool // *distHeap

	mu   sync.Mutex
	ring []int32 // the slots held, in CLOCK order
	hand int
	max  int
	// computed counts the rows computed (misses), for tests and benchmarks.
	computed atomic.Int64
}

type cachedRow struct {
	dist []Duration
	// via is the predecessor of each cluster on the cheapest-path tree (cluster row),
	// or the access cluster a trip from the site enters by (site row); -1 unreachable.
	via  []int32
	used atomic.Bool
}

func newRowCache(clusters, sites, rows int) *rowCache {
	if rows <= 0 {
		rows = max(minCachedRows, RowCacheBytes/(12*max(clusters, 1)))
	}
	rows = min(rows, clusters+sites)
	return &rowCache{
		slots: make([]atomic.Pointer[cachedRow], clusters+sites),
		heaps: sync.Pool{New: func() any { return &distHeap{} }},
		max:   rows,
	}
}

// lookup returns the row in slot k if it is held, marking it used.
func (c *rowCache) lookup(k int) *cachedRow {
	r := c.slots[k].Load()
	if r != nil && !r.used.Load() {
		r.used.Store(true)
	}
	return r
}

// get returns the row in slot k, computing it when it is not held.
func (c *rowCache) get(k int, compute func() *cachedRow) *cachedRow {
	if r := c.lookup(k); r != nil {
		return r
	}
	r := compute()
	c.computed.Add(1)
	r.used.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.slots[k].Load(); old != nil { // computed by another caller meanwhile
		return old
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, int32(k))
	} else {
		for {
			v := c.slots[c.ring[c.hand]].Load()
			if v.used.Load() {
				v.used.Store(false)
				c.hand = (c.hand + 1) % c.max
				continue
			}
			c.slots[c.ring[c.hand]].Store(nil)
			c.ring[c.hand] = int32(k)
			c.hand = (c.hand + 1) % c.max
			break
		}
	}
	c.slots[k].Store(r)
	return r
}

// clusterRowOf returns the on-demand row of cluster s.
func (t *Topology) clusterRowOf(s int) *cachedRow {
	return t.rows.get(s, func() *cachedRow {
		r := &cachedRow{dist: make([]Duration, t.n), via: make([]int32, t.n)}
		h := t.rows.heaps.Get().(*distHeap)
		t.computeClusterRow(s, r.dist, r.via, h)
		t.rows.heaps.Put(h)
		return r
	})
}

// rtt returns the RTT between clusters i and j (in range), -1 when unreachable. On
// demand, either end's row answers (RTTs are symmetric), so a row held for j saves
// computing one for i.
func (t *Topology) rtt(i, j int) Duration {
	if t.rows == nil { // small enough to inline: the all-pairs path stays a table read
		return t.dist[i][j]
	}
	return t.rttOnDemand(i, j)
}

func (t *Topology) rttOnDemand(i, j int) Duration {
	if r := t.rows.lookup(i); r != nil {
		return r.dist[j]
	}
	if r := t.rows.lookup(j); r != nil {
		return r.dist[i]
	}
	return t.clusterRowOf(i).dist[j]
}

// predRow returns the predecessors on the cheapest-path tree from cluster i (in
// range). Routes always come from the row of their first end, as in the all-pairs
// table, so ties are broken the same way.
func (t *Topology) predRow(i int) []int32 {
	if t.rows == nil {
		return t.pred[i]
	}
	return t.clusterRowOf(i).via
}

// siteRow returns the RTTs from site si (in range) to every cluster and the access
// cluster each trip enters by.
func (t *Topology) siteRow(si int) ([]Duration, []int32) {
	if t.rows == nil {
		return t.site[si*t.n : (si+1)*t.n], t.siteAt[si*t.n : (si+1)*t.n]
	}
	r := t.rows.get(t.n+si, func() *cachedRow {
		r := &cachedRow{dist: make([]Duration, t.n), via: make([]int32, t.n)}
		t.computeSiteRow(si, r.dist, r.via, func(ai int) []Duration { return t.clusterRowOf(ai).dist })
		return r
	})
	return r.dist, r.via
}

// siteRTT returns the RTT between site si and cluster c (in range), -1 when
// unreachable.
func (t *Topology) siteRTT(si, c int) Duration {
	if t.rows == nil {
		return t.site[si*t.n+c]
	}
	return t.siteRTTOnDemand(si, c)
}

func (t *Topology) siteRTTOnDemand(si, c int) Duration {
	d, _ := t.siteRow(si)
	return d[c]
}

// SameRoutesFrom reports whether RouteAt(i, j) is the same in t as in u for every
// cluster j: the two were derived from one another by WithLinkRTTs (same clusters,
// links and sites) and their cheapest-path trees from cluster i are the same. It is
// meant for callers that keep routes while measured RTTs change; it is false when i
// is out of range and, above the all-pairs limit (routes per source on demand),
// unless t == u.
func (t *Topology) SameRoutesFrom(u *Topology, i int) bool {
	if !t.inRange(i) {
		return false
	}
	return t == u || t.sameTables(u) && sameRow(t.pred[i], u.pred[i])
}

// sameRow reports whether two rows of predecessors are equal: at once when they are
// one (WithLinkRTTs shares the rows it does not re-route).
func sameRow(a, b []int32) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0] || slices.Equal(a, b)
}

// sameTables reports whether t and u hold all-pairs tables of one build's shape
// (WithLinkRTTs derived one from the other), so that their rows can be compared.
func (t *Topology) sameTables(u *Topology) bool {
	return u != nil && t.shape == u.shape && t.rows == nil && u.rows == nil
}

// SameSiteEntriesFrom reports whether users at the site with index si enter the
// continuum by the same cluster in t as in u for every cluster they reach (the access
// link of SiteRouteAt; the route after it is RouteAt from that cluster, see
// SameRoutesFrom). The same conditions as SameRoutesFrom apply.
func (t *Topology) SameSiteEntriesFrom(u *Topology, si int) bool {
	if si < 0 || si >= len(t.sites) {
		return false
	}
	return t == u || t.sameTables(u) && slices.Equal(t.siteAt[si*t.n:(si+1)*t.n], u.siteAt[si*u.n:(si+1)*u.n])
}
