package topologytest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/continuum-xr/continuum/topology"
)

// TestNearestFunc: the pruned scan gives the first k of the locations stably sorted by
// distance (the plain definition, computed here by brute force), ties included.
func TestNearestFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 100, 800} {
		locs := make([]topology.Location, n)
		for i := range locs {
			locs[i] = topology.Location{Lat: 40 + rng.Float64()*16, Lon: -2 + rng.Float64()*24}
			if i > 0 && rng.IntN(5) == 0 { // duplicates and equal latitudes: ties
				locs[i] = locs[rng.IntN(i)]
			} else if i > 0 && rng.IntN(5) == 0 {
				locs[i].Lat = locs[rng.IntN(i)].Lat
			}
		}
		nearest := nearestFunc(locs)
		for q := range 200 {
			l := topology.Location{Lat: 38 + rng.Float64()*20, Lon: -4 + rng.Float64()*28}
			if q%3 == 0 {
				l = locs[rng.IntN(n)]
			}
			k := 1 + rng.IntN(6)
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(a, b int) int {
				return cmp.Compare(topology.DistanceKm(l, locs[a]), topology.DistanceKm(l, locs[b]))
			})
			if got, want := nearest(l, k), idx[:min(k, n)]; !slices.Equal(got, want) {
				t.Fatalf("n=%d k=%d at %v: %v, want %v", n, k, l, got, want)
			}
		}
	}
}
