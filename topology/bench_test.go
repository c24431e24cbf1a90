package topology_test

import (
	"fmt"
	"testing"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// BenchmarkNew measures validation plus the all-pairs route precomputation (up to
// AllPairsMax clusters; above it routes are computed on demand, after New).
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		spec := topologytest.Random(1, topologytest.RandomOptions{Clusters: n})
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := topology.New(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRTT measures one RTT query by name and by index on a 1,000-cluster
// continuum: both are O(1).
func BenchmarkRTT(b *testing.B) {
	topo, err := topology.New(topologytest.Random(1, topologytest.RandomOptions{Clusters: 1000}))
	if err != nil {
		b.Fatal(err)
	}
	n := topo.NumClusters()
	names := make([]string, n)
	for i := range names {
		names[i] = topo.ClusterAt(i).Name
	}
	b.Run("clusters=1000/by-name", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := topo.RTT(names[i%n], names[(i*7+3)%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("clusters=1000/by-index", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := topo.RTTAt(i%n, (i*7+3)%n); !ok {
				b.Fatal("unreachable")
			}
			i++
		}
	})
	b.Run("clusters=1000/path", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := topo.Path(names[i%n], names[(i*7+3)%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkRTTLarge measures queries on a 10,000-cluster continuum, where routes are
// computed per source on demand: hit is a query whose source row is cached (the
// steady state of an engine that asks about a few placed clusters), row is the cost
// of computing one source's row (a miss), and sweep asks every destination from 100
// sources in turn, rows computed included, reported per query.
func BenchmarkRTTLarge(b *testing.B) {
	topo, err := topology.New(topologytest.Random(1, topologytest.RandomOptions{Clusters: 10000}))
	if err != nil {
		b.Fatal(err)
	}
	n := topo.NumClusters()
	for i := range 64 {
		topo.RTTAt(i, 0)
	}
	b.Run("clusters=10000/hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := topo.RTTAt(i%64, (i*7+3)%n); !ok {
				b.Fatal("unreachable")
			}
			i++
		}
	})
	b.Run("clusters=10000/route-hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if topo.RouteAt(i%64, (i*7+3)%n) == nil {
				b.Fatal("no route")
			}
			i++
		}
	})
	b.Run("clusters=10000/row", func(b *testing.B) {
		b.ReportAllocs()
		// Fresh topologies, so that every query below computes a row.
		fresh := func() *topology.Topology {
			b.StopTimer()
			t, err := topology.New(topo.Spec())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			return t
		}
		t := fresh()
		i := 0
		for b.Loop() {
			if i%500 == 0 {
				t = fresh()
			}
			if _, ok := t.RTTAt(64+i%500, 0); !ok {
				b.Fatal("unreachable")
			}
			i++
		}
	})
	b.Run("clusters=10000/sweep", func(b *testing.B) {
		b.ReportAllocs()
		queries := 0
		for b.Loop() {
			b.StopTimer()
			t, err := topology.New(topo.Spec())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for s := range 100 {
				for c := range n {
					if _, ok := t.RTTAt(s*97%n, c); !ok {
						b.Fatal("unreachable")
					}
				}
			}
			queries += 100 * n
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(queries), "ns/query")
	})
}
