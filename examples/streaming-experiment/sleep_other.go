//go:build !linux

package main

import (
	"runtime"
	"time"
)

// waitPrecise waits until t by yielding the processor in a loop: precise, at the cost
// of CPU for the last coarseMargin before t. (On Linux it sleeps with nanosleep.)
func waitPrecise(t time.Time) {
	for time.Until(t) > 0 {
		runtime.Gosched()
	}
}
