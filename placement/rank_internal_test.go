package placement

import (
	"cmp"
	"math"
	"testing"
)

// TestRankedCandBeforeOrdersAsCompare holds rankedCand.before, written out so that it
// is inlined, to the order it stands for: cmp.Compare on the cost (a NaN before every
// number, two NaNs equal), then the cluster index.
func TestRankedCandBeforeOrdersAsCompare(t *testing.T) {
	costs := []float64{math.NaN(), math.Inf(-1), -2, math.Copysign(0, -1), 0, 1.5, 1.5000000001, math.Inf(1)}
	for _, ac := range costs {
		for _, bc := range costs {
			for _, ai := range []int32{3, 7} {
				for _, bi := range []int32{3, 7} {
					a, b := rankedCand{ai, ac}, rankedCand{bi, bc}
					want := cmp.Or(cmp.Compare(ac, bc), cmp.Compare(ai, bi)) < 0
					if got := a.before(b); got != want {
						t.Errorf("(%d, %v) before (%d, %v) = %v, want %v", ai, ac, bi, bc, got, want)
					}
				}
			}
		}
	}
}
