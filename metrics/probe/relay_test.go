package probe_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics/probe"
)

// relay is a user-space UDP relay on loopback between a prober and a responder: each
// packet from the prober is passed to hook, which says how long to delay it and
// whether to drop it; replies go straight back. The kernel here has no netem.
type relay struct {
	front, back *net.UDPConn
	hook        func(i int) (delay time.Duration, drop bool)
	client      atomic.Pointer[netip.AddrPort]
	forwarded   atomic.Int64
	dropped     atomic.Int64
	wg          sync.WaitGroup
}

type queued struct {
	due  time.Time
	data []byte
}

// startRelay starts a relay to target; t.Cleanup stops it and waits for its
// goroutines.
func startRelay(t testing.TB, target *net.UDPAddr, hook func(int) (time.Duration, bool)) *relay {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, target)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{front: front, back: back, hook: hook}
	queue := make(chan queued, 4096)
	r.wg.Go(func() {
		defer close(queue)
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			n, from, err := front.ReadFromUDPAddrPort(buf)
			at := time.Now()
			if err != nil {
				return // closed by cleanup
			}
			r.client.Store(&from)
			delay, drop := r.hook(i)
			if drop {
				r.dropped.Add(1)
				continue
			}
			r.forwarded.Add(1)
			if delay <= 0 {
				_, _ = back.Write(buf[:n])
				continue
			}
			queue <- queued{due: at.Add(delay), data: append([]byte(nil), buf[:n]...)}
		}
	})
	r.wg.Go(func() {
		for q := range queue {
			waitUntil(q.due)
			_, _ = back.Write(q.data)
		}
	})
	r.wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if opErrClosed(err) {
					return
				}
				continue
			}
			if c := r.client.Load(); c != nil {
				_, _ = front.WriteToUDPAddrPort(buf[:n], *c)
			}
		}
	})
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		r.wg.Wait()
	})
	return r
}

func opErrClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// waitUntil sleeps until shortly before due and spins the rest, so that the delay
// does not depend on the timer's wake-up latency.
func waitUntil(due time.Time) {
	const spin = time.Millisecond
	if d := time.Until(due); d > spin {
		time.Sleep(d - spin)
	}
	for time.Now().Before(due) {
		runtime.Gosched()
	}
}

func (r *relay) addr() string { return r.front.LocalAddr().String() }

func fixed(d time.Duration) func(int) (time.Duration, bool) {
	return func(int) (time.Duration, bool) { return d, false }
}

// startResponder starts a responder on loopback; t.Cleanup stops it.
func startResponder(t testing.TB) *probe.Responder {
	t.Helper()
	r, err := probe.NewResponder("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("responder: %v", err)
		}
	})
	return r
}

// runProber runs p until the test ends; the returned stop cancels Run and waits for
// it (idempotent).
func runProber(t testing.TB, p *probe.Prober) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
