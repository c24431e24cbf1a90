package topology

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// tieSpec is a random continuum built for ties: link RTTs from a handful of values, so
// many pairs have several cheapest paths; some links carry a tunnel, some clusters an
// intra-cluster RTT, and with disconnected true the clusters form two islands.
func tieSpec(rng *rand.Rand, n int, disconnected bool) Spec {
	spec := Spec{Metadata: Metadata{Name: "ties"}}
	for i := range n {
		c := Cluster{Name: fmt.Sprintf("c%03d", i), Owner: "o", Tier: TierEdge}
		if rng.IntN(5) == 0 {
			c.IntraRTT = Millis(float64(1 + rng.IntN(2)))
		}
		spec.Clusters = append(spec.Clusters, c)
	}
	island := func(i int) int {
		if disconnected && i >= n/2 {
			return 1
		}
		return 0
	}
	linked := map[[2]int]bool{}
	add := func(i, j int) {
		if i == j || island(i) != island(j) || linked[[2]int{min(i, j), max(i, j)}] {
			return
		}
		linked[[2]int{min(i, j), max(i, j)}] = true
		l := LinkSpec{To: spec.Clusters[j].Name, RTT: Millis(float64(1 + rng.IntN(3))), Capacity: Gbps * Bandwidth(1+rng.IntN(4))}
		if rng.IntN(6) == 0 {
			l.Tunnel, l.Peering = &TunnelOverhead{RTT: Millis(1)}, PeeringBidirectional
		}
		spec.Clusters[i].Links = append(spec.Clusters[i].Links, l)
	}
	for i := 1; i < n; i++ {
		add(i-1, i)
	}
	for range 2 * n {
		add(rng.IntN(n), rng.IntN(n))
	}
	for s := range 1 + n/10 {
		site := Site{Name: fmt.Sprintf("site-%02d", s)}
		for _, j := range rng.Perm(n)[:min(n, 1+rng.IntN(3))] {
			site.Access = append(site.Access, AccessLink{Cluster: spec.Clusters[j].Name, RTT: Millis(float64(1 + rng.IntN(2))), Capacity: Gbps * Bandwidth(1+rng.IntN(4))})
		}
		spec.Sites = append(spec.Sites, site)
	}
	return spec
}

// floydRTT is an oracle independent of Dijkstra: Floyd–Warshall over the links'
// effective RTTs, then the rules of the package doc (a direct link wins, a cluster to
// itself costs its intra-cluster RTT); -1 for no path.
func floydRTT(t *Topology) [][]Duration {
	n := t.NumClusters()
	d := make([][]Duration, n)
	for i := range d {
		d[i] = make([]Duration, n)
		for j := range d[i] {
			d[i][j] = -1
		}
		d[i][i] = 0
	}
	for _, l := range t.Links() {
		a, _ := t.ClusterIndex(l.A)
		b, _ := t.ClusterIndex(l.B)
		d[a][b], d[b][a] = l.EffectiveRTT(), l.EffectiveRTT()
	}
	for k := range n {
		for i := range n {
			for j := range n {
				if d[i][k] >= 0 && d[k][j] >= 0 && (d[i][j] < 0 || d[i][k]+d[k][j] < d[i][j]) {
					d[i][j] = d[i][k] + d[k][j]
				}
			}
		}
	}
	for _, l := range t.Links() {
		a, _ := t.ClusterIndex(l.A)
		b, _ := t.ClusterIndex(l.B)
		d[a][b], d[b][a] = l.EffectiveRTT(), l.EffectiveRTT()
	}
	for i := range n {
		d[i][i] = t.ClusterAt(i).IntraRTT
	}
	return d
}

// pairs returns every pair of [0, rows) x [0, cols) as r*cols+c: in a random order
// when shuffled, else grouped by row (rows in a random order, columns too), the order
// in which an engine asks and the one that keeps large tests fast.
func pairs(rng *rand.Rand, rows, cols int, shuffled bool) []int {
	if shuffled {
		return rng.Perm(rows * cols)
	}
	out := make([]int, 0, rows*cols)
	for _, r := range rng.Perm(rows) {
		for _, c := range rng.Perm(cols) {
			out = append(out, r*cols+c)
		}
	}
	return out
}

// sameAnswers checks that two topologies built from one spec answer every query alike:
// RTTs and routes between all clusters and from all sites, and paths (hop by hop,
// bottleneck included) between all clusters and sites (at most maxPaths of them, drawn
// at random), asked in the order pairs gives, so that a small cache evicts rows
// between queries.
func sameAnswers(t *testing.T, rng *rand.Rand, want, got *Topology, shuffled bool, maxPaths int) {
	t.Helper()
	n, ns := want.NumClusters(), want.NumSites()
	names := make([]string, 0, n+ns)
	for i := range n {
		names = append(names, want.ClusterAt(i).Name)
	}
	for si := range ns {
		names = append(names, want.SiteAt(si).Name)
	}
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, q := range pairs(rng, n, n, shuffled) {
		i, j := q/n, q%n
		d1, ok1 := want.RTTAt(i, j)
		d2, ok2 := got.RTTAt(i, j)
		if d1 != d2 || ok1 != ok2 {
			fail("RTTAt(%d, %d) = %v %v, want %v %v", i, j, d2, ok2, d1, ok1)
		}
		if r1, r2 := want.RouteAt(i, j), got.RouteAt(i, j); !reflect.DeepEqual(r1, r2) {
			fail("RouteAt(%d, %d) = %v, want %v", i, j, r2, r1)
		}
	}
	for _, q := range pairs(rng, ns, n, shuffled) {
		si, c := q/n, q%n
		d1, ok1 := want.SiteRTTAt(si, c)
		d2, ok2 := got.SiteRTTAt(si, c)
		if d1 != d2 || ok1 != ok2 {
			fail("SiteRTTAt(%d, %d) = %v %v, want %v %v", si, c, d2, ok2, d1, ok1)
		}
		a1, l1, ok1 := want.SiteRouteAt(si, c)
		a2, l2, ok2 := got.SiteRouteAt(si, c)
		if a1 != a2 || !reflect.DeepEqual(l1, l2) || ok1 != ok2 {
			fail("SiteRouteAt(%d, %d) = %d %v %v, want %d %v %v", si, c, a2, l2, ok2, a1, l1, ok1)
		}
	}
	for k, q := range pairs(rng, len(names), len(names), shuffled) {
		if k == maxPaths {
			break
		}
		a, b := names[q/len(names)], names[q%len(names)]
		p1, err1 := want.Path(a, b)
		p2, err2 := got.Path(a, b)
		if !reflect.DeepEqual(p1, p2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			fail("Path(%s, %s) = %v %v, want %v %v", a, b, p2, err2, p1, err1)
		}
	}
	if bad > 10 {
		t.Errorf("... %d differences in all", bad)
	}
}

// TestOnDemandSameAnswers: the on-demand representation (forced on small continuums,
// with a cache of a few rows so that rows are evicted and computed again; queries in a
// random order up to 60 clusters, grouped by source above) answers every query exactly
// as the all-pairs table, ties and unreachable pairs included, and both
// agree with Floyd–Warshall on every RTT (up to 150 clusters).
func TestOnDemandSameAnswers(t *testing.T) {
	sizes := []int{1, 2, 5, 17, 60, 150, 300}
	if testing.Short() {
		sizes = sizes[:5]
	}
	for _, n := range sizes {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("clusters=%d/seed=%d", n, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(n)))
				spec := tieSpec(rng, n, seed == 2)
				table, err := build(spec, n, 0)
				if err != nil {
					t.Fatal(err)
				}
				if table.rows != nil {
					t.Fatal("the all-pairs table was not built")
				}
				rows := 1 + int(seed)*2
				if n > 60 {
					rows = 8 << seed
				}
				onDemand, err := build(spec, n-1, rows)
				if err != nil {
					t.Fatal(err)
				}
				if onDemand.dist != nil || onDemand.rows == nil {
					t.Fatal("the on-demand representation was not chosen")
				}
				var oracle [][]Duration
				if n <= 150 {
					oracle = floydRTT(table)
				}
				for i := range oracle { // O(n^3): at 300 clusters the table is the reference
					for j := range n {
						if d, ok := table.RTTAt(i, j); d != oracle[i][j] || ok != (oracle[i][j] >= 0) {
							t.Fatalf("RTTAt(%d, %d) = %v %v, Floyd–Warshall says %v", i, j, d, ok, oracle[i][j])
						}
					}
				}
				sameAnswers(t, rng, table, onDemand, n <= 60, 5000)
				for _, topo := range []*Topology{table, onDemand} {
					rowsAgree(t, "RTTRow", n, n, topo.RTTRow, topo.RTTAt)
					rowsAgree(t, "SiteRTTRow", table.NumSites(), n, topo.SiteRTTRow, topo.SiteRTTAt)
				}
				if table.SiteRTTRow(-1, nil) != nil || table.SiteRTTRow(table.NumSites(), nil) != nil {
					t.Error("SiteRTTRow answers for an index out of range")
				}
				if table.RTTRow(-1, nil) != nil || table.RTTRow(n, nil) != nil {
					t.Error("RTTRow answers for an index out of range")
				}
				held := 0
				for k := range onDemand.rows.slots {
					if onDemand.rows.slots[k].Load() != nil {
						held++
					}
				}
				if held > min(rows, n+table.NumSites()) {
					t.Errorf("%d rows held, the cache allows %d", held, rows)
				}
				if n > rows && onDemand.rows.computed.Load() <= int64(n) {
					t.Errorf("%d rows computed for %d clusters with a cache of %d: nothing was evicted", onDemand.rows.computed.Load(), n, rows)
				}
			})
		}
	}
}

// rowsAgree checks that row(i) has n entries, each what at(i, j) answers, for every i
// of rows (RTTRow against RTTAt, SiteRTTRow against SiteRTTAt).
func rowsAgree(t *testing.T, name string, rows, n int, row func(int, []Duration) []Duration, at func(int, int) (Duration, bool)) {
	t.Helper()
	var got []Duration
	for i := range rows {
		got = row(i, got)
		if len(got) != n {
			t.Fatalf("%s(%d) has %d entries, want %d", name, i, len(got), n)
		}
		for j, d := range got {
			if want, ok := at(i, j); d != want || ok != (d >= 0) {
				t.Fatalf("%s(%d)[%d] = %v, the single query says %v %v", name, i, j, d, want, ok)
			}
		}
	}
}

// TestOnDemandConcurrent: concurrent queries on the on-demand representation with a
// small cache (run with -race) give the all-pairs answers.
func TestOnDemandConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	spec := tieSpec(rng, 80, false)
	table, err := build(spec, 80, 0)
	if err != nil {
		t.Fatal(err)
	}
	onDemand, err := build(spec, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 3000 {
				i, j, si := rng.IntN(80), rng.IntN(80), rng.IntN(table.NumSites())
				d1, _ := table.RTTAt(i, j)
				d2, _ := onDemand.RTTAt(i, j)
				s1, _ := table.SiteRTTAt(si, j)
				s2, _ := onDemand.SiteRTTAt(si, j)
				if d1 != d2 || s1 != s2 || !reflect.DeepEqual(table.RouteAt(i, j), onDemand.RouteAt(i, j)) {
					errs <- fmt.Sprintf("goroutine %d: (%d, %d, site %d) differ", g, i, j, si)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestRepresentationThreshold: New keeps the all-pairs table up to AllPairsMax clusters
// and switches to on-demand rows above it, with the cache sized from RowCacheBytes.
func TestRepresentationThreshold(t *testing.T) {
	spec := func(n int, line bool) Spec {
		s := Spec{}
		for i := range n {
			c := Cluster{Name: fmt.Sprintf("c%04d", i), Owner: "o", Tier: TierEdge}
			if i > 0 && line {
				c.Links = []LinkSpec{{To: fmt.Sprintf("c%04d", i-1), RTT: Millis(1)}}
			}
			s.Clusters = append(s.Clusters, c)
		}
		return s
	}
	at, err := New(spec(AllPairsMax, false)) // no links: the table is cheap to fill
	if err != nil {
		t.Fatal(err)
	}
	if at.rows != nil || len(at.dist) != AllPairsMax || len(at.dist[0]) != AllPairsMax {
		t.Errorf("%d clusters: all-pairs table not built", AllPairsMax)
	}
	above, err := New(spec(AllPairsMax+1, true))
	if err != nil {
		t.Fatal(err)
	}
	if above.dist != nil || above.rows == nil {
		t.Fatalf("%d clusters: on-demand rows not chosen", AllPairsMax+1)
	}
	if want := min(AllPairsMax+1, RowCacheBytes/(12*(AllPairsMax+1))); above.rows.max != want {
		t.Errorf("cache of %d rows, want %d", above.rows.max, want)
	}
	if d, ok := above.RTTAt(0, AllPairsMax); !ok || d != Millis(AllPairsMax) {
		t.Errorf("RTT end to end of a line of %d links = %v %v, want %v", AllPairsMax, d, ok, Millis(AllPairsMax))
	}
}
