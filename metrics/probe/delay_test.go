package probe_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/continuum-xr/continuum/metrics/probe"
)

// waitStats polls the stats of every peer (real time, bounded by timeout) until ok
// holds for all of them, and returns them.
func waitStats(t *testing.T, p *probe.Prober, peers []string, timeout time.Duration, ok func(probe.Stats) bool) map[string]probe.Stats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := map[string]probe.Stats{}
		done := true
		for _, peer := range peers {
			s, err := p.Stats(peer)
			if err != nil {
				t.Fatal(err)
			}
			out[peer] = s
			done = done && ok(s)
		}
		if done {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the stats are still %+v", timeout, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMeasuresInjectedDelay checks the prober against a known delay: relays between
// prober and responder delay every probe by 5 ms and 20 ms; the measured p50 must be
// within 0.5 ms of the delay plus the loopback baseline (p50 of the same prober to the
// same responder without a relay, measured at the same time). This is the one test
// that measures real time; it uses hundreds of probes and medians, so scheduling
// noise on a loaded machine moves the tails, not the result.
func TestMeasuresInjectedDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("measures real delays for a few seconds")
	}
	resp := startResponder(t)
	delays := []time.Duration{5 * time.Millisecond, 20 * time.Millisecond}
	peers := []probe.Peer{{Name: "direct", Addr: resp.Addr().String()}}
	relay0 := startRelay(t, resp.Addr(), fixed(0))
	peers = append(peers, probe.Peer{Name: "relay-0ms", Addr: relay0.addr()})
	for _, d := range delays {
		r := startRelay(t, resp.Addr(), fixed(d))
		peers = append(peers, probe.Peer{Name: fmt.Sprintf("relay-%v", d), Addr: r.addr()})
	}
	p, err := probe.NewProber(probe.ProberOptions{
		Cluster: "here", Peers: peers, ListenAddr: "127.0.0.1:0",
		Interval: 10 * time.Millisecond, Timeout: 5 * time.Second, Window: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProber(t, p)
	var names []string
	for _, peer := range peers {
		names = append(names, peer.Name)
	}
	const want = 300
	stats := waitStats(t, p, names, 2*time.Minute, func(s probe.Stats) bool { return s.Count >= want })
	stop()
	base := stats["direct"].P50
	t.Logf("loopback baseline p50 %v (p99 %v, n=%d); through a 0 ms relay p50 %v",
		base, stats["direct"].P99, stats["direct"].Count, stats["relay-0ms"].P50)
	for _, d := range delays {
		s := stats[fmt.Sprintf("relay-%v", d)]
		expect := base + d
		diff := s.P50 - expect
		t.Logf("injected %v: p50 %v, expected %v, off by %v (p90 %v, p99 %v, jitter %v, n=%d, loss %g)",
			d, s.P50, expect, diff, s.P90, s.P99, s.Jitter, s.Count, s.Loss)
		if diff > 500*time.Microsecond || diff < -500*time.Microsecond {
			t.Errorf("injected %v: p50 %v is %v off the expected %v (baseline %v + delay), more than 0.5 ms", d, s.P50, diff, expect, base)
		}
		if s.Loss != 0 {
			t.Errorf("injected %v: loss %g, want 0 (the relay drops nothing)", d, s.Loss)
		}
	}
}

// TestRelayLossShowsAsLoss drops every fourth probe in the relay and expects a loss
// near 25 % in the window and in the exported counters.
func TestRelayLossShowsAsLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the prober for a few seconds")
	}
	resp := startResponder(t)
	r := startRelay(t, resp.Addr(), func(i int) (time.Duration, bool) { return 0, i%4 == 3 })
	p, err := probe.NewProber(probe.ProberOptions{
		Cluster: "here", Peers: []probe.Peer{{Name: "lossy", Addr: r.addr()}}, ListenAddr: "127.0.0.1:0",
		Interval: 5 * time.Millisecond, Timeout: 100 * time.Millisecond, Window: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProber(t, p)
	s := waitStats(t, p, []string{"lossy"}, 2*time.Minute, func(s probe.Stats) bool { return s.Count+s.Lost >= 200 })["lossy"]
	stop()
	t.Logf("relay dropped %d of %d; prober: %d replies, %d lost, loss %.3f", r.dropped.Load(), r.dropped.Load()+r.forwarded.Load(), s.Count, s.Lost, s.Loss)
	if s.Loss < 0.2 || s.Loss > 0.3 {
		t.Errorf("loss = %.3f, want 0.25 ± 0.05 (the relay drops every fourth probe)", s.Loss)
	}
	s, _ = p.Stats("lossy") // after Run returned: final counts
	// Every loss is a dropped probe, and every dropped probe is lost or was still
	// waiting for its timeout when Run stopped.
	if dropped := uint64(r.dropped.Load()); s.LostTotal > dropped || dropped > s.Sent-s.Received {
		t.Errorf("lost %d, undecided %d, but the relay dropped %d", s.LostTotal, s.Sent-s.Received-s.LostTotal, dropped)
	}
	if lost := counter(t, p, probe.MetricLost, "lossy"); lost != float64(s.LostTotal) {
		t.Errorf("%s = %g, want %d", probe.MetricLost, lost, s.LostTotal)
	}
}

// counter gathers p's counter name for peer.
func counter(t *testing.T, p *probe.Prober, name, peer string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == probe.DefaultPeerLabel && l.GetValue() == peer {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{peer=%q}", name, peer)
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProberCPU measures the CPU cost of probing at 10 probes/s per peer: the
// process's CPU time (getrusage) over a fixed run, divided by the probes answered.
// The responder runs in the same process, so the figure is prober + responder, an
// upper bound on the prober's share. Run with -benchtime=1x: each iteration lasts
// 3 s of real time.
func BenchmarkProberCPU(b *testing.B) {
	for _, peers := range []int{1, 10} {
		b.Run(fmt.Sprintf("peers=%d/rate=10", peers), func(b *testing.B) {
			resp := startResponder(b)
			var list []probe.Peer
			for i := range peers {
				list = append(list, probe.Peer{Name: fmt.Sprintf("p%d", i), Addr: resp.Addr().String()})
			}
			var cpu time.Duration
			var probes uint64
			for b.Loop() {
				p, err := probe.NewProber(probe.ProberOptions{Cluster: "here", Peers: list, ListenAddr: "127.0.0.1:0"})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				c0 := cpuTime()
				_ = p.Run(ctx)
				cpu += cpuTime() - c0
				cancel()
				for _, peer := range list {
					s, _ := p.Stats(peer.Name)
					probes += s.Received
				}
			}
			if probes > 0 {
				perProbe := float64(cpu.Nanoseconds()) / float64(probes)
				b.ReportMetric(perProbe, "cpu-ns/probe")
				b.ReportMetric(perProbe*10/1e9*100, "cpu-%core/pair")
				b.ReportMetric(float64(probes)/float64(b.N), "probes/op")
			}
		})
	}
}
