package main

import (
	"syscall"
	"time"
)

// waitPrecise blocks until t with nanosleep(2): the thread sleeps on a high-resolution
// timer and wakes within the kernel's timer slack (50 us by default), where Go's own
// timers can be about 1 ms late on an idle process. It is meant for the last
// coarseMargin before t; the goroutine's thread is blocked meanwhile (the runtime hands
// its processor to other goroutines).
func waitPrecise(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		_ = syscall.Nanosleep(&ts, nil) // EINTR: the loop sleeps the rest
	}
}
