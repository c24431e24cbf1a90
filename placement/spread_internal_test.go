package placement

import "testing"

// TestSpreadRunsEachOnceAndRaisesPanics: spread calls f once for every index, on the
// goroutine it names, and a panic in one call reaches the caller's goroutine (the
// candidates of large requests are computed this way; a panic on a goroutine of its
// own would end the program instead).
func TestSpreadRunsEachOnceAndRaisesPanics(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		calls, on := make([]int, 10), make([]int, 10)
		spread(workers, len(calls), func(w, x int) { calls[x]++; on[x] = w })
		for x := range calls {
			if calls[x] != 1 || on[x] != x%workers {
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
