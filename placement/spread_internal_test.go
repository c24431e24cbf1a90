package placement

import (
	"sync/atomic"
	"testing"
)

// TestSpreadRunsEachOnceAndRaisesPanics: spread calls f once for every index, with a
// goroutine number in range and never for two indexes at once on one goroutine (each
// has its own scratch), and a panic in one call reaches the caller's goroutine (the
// candidates of large requests are computed this way; a panic on a goroutine of its
// own would end the program instead).
func TestSpreadRunsEachOnceAndRaisesPanics(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		calls, on := make([]int, 200), make([]int, 200)
		busy := make([]atomic.Int32, workers)
		spread(workers, len(calls), func(w, x int) {
			if busy[w].Add(1) != 1 {
				t.Errorf("%d workers: goroutine %d runs two calls at once", workers, w)
			}
			calls[x]++
			on[x] = w
			busy[w].Add(-1)
		})
		for x := range calls {
			if calls[x] != 1 || on[x] < 0 || on[x] >= workers {
				t.Fatalf("%d workers: index %d called %d times, on goroutine %d", workers, x, calls[x], on[x])
			}
		}
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("%d workers: recovered %v, want the panic boom", workers, r)
				}
			}()
			spread(workers, 10, func(_, x int) {
				if x == 7 {
					panic("boom")
				}
			})
		}()
	}
}
