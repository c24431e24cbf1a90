package topology_test

import (
	"fmt"
	"testing"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// BenchmarkNew measures validation plus the all-pairs route precomputation.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{100, 1000} {
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
