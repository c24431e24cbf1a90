package probe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/metricsfake"
	"github.com/continuum-xr/continuum/metrics/metricstest"
	"github.com/continuum-xr/continuum/metrics/probe"
	prombackend "github.com/continuum-xr/continuum/metrics/prometheus"
	"github.com/continuum-xr/continuum/topology"
)

// fixtureRTTs are 200 RTTs whose nearest-rank p50/p90/p99 are the fixture's 5/6/8 ms.
func fixtureRTTs() []time.Duration {
	var out []time.Duration
	for _, c := range []struct {
		n  int
		ms time.Duration
	}{{100, 5}, {80, 6}, {18, 8}, {2, 10}} {
		for range c.n {
			out = append(out, c.ms*time.Millisecond)
		}
	}
	// Interleave so that order does not matter: a fixed permutation.
	for i := range out {
		j := (i * 7) % len(out)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// clockRelay returns a relay hook that advances clock by the next scripted RTT as
// each probe passes, so the prober's fake clock reads exactly send time + RTT when the
// echo arrives. Probes must be sent one at a time (Manual mode and Probe).
func clockRelay(clock *metricsfake.Clock, next *atomic.Int64) func(int) (time.Duration, bool) {
	return func(int) (time.Duration, bool) {
		clock.Advance(time.Duration(next.Load()))
		return 0, false
	}
}

func sendScripted(ctx context.Context, p *probe.Prober, peer string, next *atomic.Int64, rtts []time.Duration) error {
	for i, d := range rtts {
		next.Store(int64(d))
		got, err := p.Probe(ctx, peer)
		if err != nil {
			return err
		}
		if got != d {
			return fmt.Errorf("scripted probe %d to %s: rtt %v, want %v", i, peer, got, d)
		}
	}
	return nil
}

// TestConformance runs the metrics conformance suite against a prober on loopback:
// real UDP through a responder, with a fake clock that the relay advances by each of
// the fixture's RTTs.
func TestConformance(t *testing.T) {
	metricstest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (*metricstest.Harness, error) {
		f := metricstest.NewFixture(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		stale := []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
		clock := metricsfake.NewClock(f.StaleAt.Add(-15 * time.Millisecond))
		var next atomic.Int64
		resp := startResponder(t)
		beta := startRelay(t, resp.Addr(), clockRelay(clock, &next))
		gamma := startRelay(t, resp.Addr(), clockRelay(clock, &next))
		p, err := probe.NewProber(probe.ProberOptions{
			Cluster: metricstest.Alpha,
			Peers: []probe.Peer{
				{Name: metricstest.Beta, Addr: beta.addr()},
				{Name: metricstest.Gamma, Addr: gamma.addr()},
				{Name: metricstest.Delta, Addr: "127.0.0.1:9"}, // never answers, never probed
			},
			ListenAddr: "127.0.0.1:0",
			Manual:     true,
			Timeout:    10 * time.Second, // loopback; only a broken run waits this long
			Window:     f.Window,
			MaxAge:     f.MaxAge,
			Now:        clock.Now,
		})
		if err != nil {
			return nil, err
		}
		runProber(t, p)
		if err := sendScripted(ctx, p, metricstest.Gamma, &next, stale); err != nil {
			return nil, err
		}
		rtts := fixtureRTTs()
		var total time.Duration
		for _, d := range rtts {
			total += d
		}
		clock.Set(f.Now.Add(-total))
		if err := sendScripted(ctx, p, metricstest.Beta, &next, rtts); err != nil {
			return nil, err
		}
		if !clock.Now().Equal(f.Now) {
			return nil, fmt.Errorf("the clock is at %v after the script, want %v", clock.Now(), f.Now)
		}
		return &metricstest.Harness{Latency: p, Fixture: f, Loss: true}, nil
	})
}

func TestPacketsOtherThanProbesAreIgnored(t *testing.T) {
	resp := startResponder(t)
	c, err := net.DialUDP("udp", nil, resp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, junk := range [][]byte{[]byte("hello"), make([]byte, 64), append([]byte("CXRP\x01\x02"), make([]byte, 26)...)} {
		if _, err := c.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	// A request is echoed with exactly its bytes, kind flipped to reply.
	req := append([]byte("CXRP\x01\x01\x00\x00"), make([]byte, 40)...)
	req[20] = 42
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	want := append([]byte(nil), req...)
	want[5] = 2
	if string(buf[:n]) != string(want) {
		t.Errorf("echo = %x, want %x", buf[:n], want)
	}
	// The three junk packets were read before the request (one socket, in order).
	if got := resp.Ignored(); got != 3 {
		t.Errorf("ignored = %d, want 3 (junk must never be echoed)", got)
	}
	// The counter moves just after the echo is written: wait for it (bounded).
	for i := 0; resp.Echoed() != 1 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := resp.Echoed(); got != 1 {
		t.Errorf("echoed = %d, want 1", got)
	}
}

func TestNewProberRejectsBadOptions(t *testing.T) {
	good := probe.Peer{Name: "b", Addr: "127.0.0.1:7000"}
	for _, c := range []struct {
		name string
		opts probe.ProberOptions
		want string
	}{
		{"no cluster", probe.ProberOptions{Peers: []probe.Peer{good}}, "opts.cluster"},
		{"no peers", probe.ProberOptions{Cluster: "a"}, "opts.peers"},
		{"empty peer name", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{{Addr: "127.0.0.1:1"}}}, "opts.peers[0].name"},
		{"self as peer", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{{Name: "a", Addr: "127.0.0.1:1"}}}, "opts.peers[0].name"},
		{"duplicate peer", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good, good}}, "opts.peers[1].name"},
		{"no port", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{{Name: "b", Addr: "127.0.0.1:0"}}}, "opts.peers[0].addr"},
		{"bad addr", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{{Name: "b", Addr: "no port"}}}, "opts.peers[0].addr"},
		{"interval", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, Interval: time.Microsecond}, "opts.interval"},
		{"timeout", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, Timeout: -1}, "opts.timeout"},
		{"window", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, Window: -1}, "opts.window"},
		{"packet size", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, PacketSize: 8}, "opts.packetSize"},
		{"buckets", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, Buckets: []float64{0.1, 0.1}}, "opts.buckets[1]"},
		{"label", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, PeerLabel: "bad-label"}, "opts.peerLabel"},
		{"same labels", probe.ProberOptions{Cluster: "a", Peers: []probe.Peer{good}, PeerLabel: "cluster"}, "opts.peerLabel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := probe.NewProber(c.opts)
			if err == nil {
				_ = p.Close()
				t.Fatalf("NewProber accepted %+v", c.opts)
			}
			if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "probe: ") {
				t.Errorf("error %q: want one starting with \"probe: \", naming %s, wrapping ErrInvalid", err, c.want)
			}
		})
	}
}

// manualProber returns a running prober in Manual mode over a clock-advancing relay
// to peer "b" (and a relay that drops every probe to peer "dead").
func manualProber(t *testing.T, opts probe.ProberOptions) (*probe.Prober, *metricsfake.Clock, *atomic.Int64) {
	t.Helper()
	clock := metricsfake.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	var next atomic.Int64
	resp := startResponder(t)
	b := startRelay(t, resp.Addr(), clockRelay(clock, &next))
	dead := startRelay(t, resp.Addr(), func(int) (time.Duration, bool) { return 0, true })
	opts.Cluster = "a"
	opts.Peers = []probe.Peer{{Name: "b", Addr: b.addr()}, {Name: "dead", Addr: dead.addr()}}
	opts.ListenAddr = "127.0.0.1:0"
	opts.Manual = true
	opts.Now = clock.Now
	p, err := probe.NewProber(opts)
	if err != nil {
		t.Fatal(err)
	}
	runProber(t, p)
	return p, clock, &next
}

func TestLatencyIsNeverZero(t *testing.T) {
	p, clock, next := manualProber(t, probe.ProberOptions{Window: time.Minute, MaxAge: 30 * time.Second, Timeout: 50 * time.Millisecond})
	ctx := t.Context()

	_, err := p.Latency(ctx, "a", "b")
	if !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("before any probe: %v, want ErrNoData", err)
	}
	// Every probe lost: no data, and the loss counted.
	for range 3 {
		if _, err := p.Probe(ctx, "dead"); !errors.Is(err, probe.ErrLost) {
			t.Fatalf("probe to a dropping relay: %v, want ErrLost", err)
		}
	}
	if _, err := p.Latency(ctx, "dead", "a"); !errors.Is(err, metrics.ErrNoData) || !strings.Contains(err.Error(), "3 lost") {
		t.Errorf("all lost: %v, want ErrNoData saying 3 lost", err)
	}
	if s, _ := p.Stats("dead"); s.Sent != 3 || s.LostTotal != 3 || s.Loss != 1 || s.Count != 0 {
		t.Errorf("stats of dead = %+v, want 3 sent, 3 lost, loss 1", s)
	}
	// Pairs the prober does not measure.
	for _, pair := range [][2]string{{"b", "dead"}, {"a", "zzz"}, {"a", "a"}} {
		if _, err := p.Latency(ctx, pair[0], pair[1]); !errors.Is(err, metrics.ErrNoData) {
			t.Errorf("Latency(%s, %s): %v, want ErrNoData", pair[0], pair[1], err)
		}
	}

	if err := sendScripted(ctx, p, "b", next, []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 3 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	s, err := p.Latency(ctx, "b", "a")
	if err != nil {
		t.Fatal(err)
	}
	if s.P50 != 3*topology.Millisecond || s.P90 != 4*topology.Millisecond || s.P99 != 4*topology.Millisecond || s.Count != 3 || s.Loss != 0 {
		t.Errorf("sample = %+v, want p50 3ms, p90 4ms, p99 4ms, count 3, loss 0", s)
	}
	if !s.ObservedAt.Equal(clock.Now()) || s.Provenance != metrics.Measured || s.Pair != metrics.MakePair("a", "b") {
		t.Errorf("sample = %+v, want observed now, measured, pair a<->b", s)
	}
	st, _ := p.Stats("b")
	if st.Jitter != 1500*time.Microsecond { // |4-2| and |3-4| -> 1.5 ms
		t.Errorf("jitter = %v, want 1.5ms", st.Jitter)
	}

	// Older than MaxAge but in the window: stale.
	clock.Advance(31 * time.Second)
	if _, err := p.Latency(ctx, "a", "b"); !errors.Is(err, metrics.ErrStale) {
		t.Errorf("31 s later: %v, want ErrStale", err)
	}
	// Out of the window: still stale, not missing.
	clock.Advance(time.Hour)
	if _, err := p.Latency(ctx, "a", "b"); !errors.Is(err, metrics.ErrStale) || errors.Is(err, metrics.ErrNoData) {
		t.Errorf("an hour later: %v, want ErrStale only", err)
	}
	// A new reply makes it fresh again, with only the new RTT in the window.
	if err := sendScripted(ctx, p, "b", next, []time.Duration{7 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if s, err := p.Latency(ctx, "a", "b"); err != nil || s.P50 != 7*topology.Millisecond || s.Count != 1 {
		t.Errorf("after a new reply: %+v, %v; want p50 7ms, count 1", s, err)
	}
}

func TestWindowIsBounded(t *testing.T) {
	p, _, next := manualProber(t, probe.ProberOptions{MaxSamples: 4, Window: time.Hour})
	rtts := []time.Duration{9, 9, 9, 1, 2, 3, 4}
	for i := range rtts {
		rtts[i] *= time.Millisecond
	}
	if err := sendScripted(t.Context(), p, "b", next, rtts); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stats("b")
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 4 || s.P99 != 4*time.Millisecond || s.Received != 7 {
		t.Errorf("stats = %+v, want the 4 newest RTTs (max 4ms) and 7 received", s)
	}
}

func TestExportsTheSeriesThePrometheusBackendReads(t *testing.T) {
	p, _, next := manualProber(t, probe.ProberOptions{Timeout: 50 * time.Millisecond})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(p); err != nil {
		t.Fatal(err)
	}
	rtts := fixtureRTTs()
	if err := sendScripted(t.Context(), p, "b", next, rtts); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Probe(t.Context(), "dead"); !errors.Is(err, probe.ErrLost) {
		t.Fatalf("probe to dead: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	type series struct {
		counter, sum float64
		count        uint64
		buckets      map[float64]uint64
	}
	got := map[string]map[string]series{}
	for _, mf := range families {
		got[mf.GetName()] = map[string]series{}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels[prombackend.DefaultClusterLabel] != "a" {
				t.Errorf("%s: labels %v, want %s=a", mf.GetName(), labels, prombackend.DefaultClusterLabel)
			}
			s := series{counter: m.GetCounter().GetValue(), sum: m.GetHistogram().GetSampleSum(),
				count: m.GetHistogram().GetSampleCount(), buckets: map[float64]uint64{}}
			for _, b := range m.GetHistogram().GetBucket() {
				s.buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			got[mf.GetName()][labels[prombackend.DefaultPeerLabel]] = s
		}
	}
	h := got["continuum_probe_rtt_seconds"]["b"]
	if h.count != 200 || h.sum < 1.1439 || h.sum > 1.1441 {
		t.Errorf("histogram of b: count %d sum %g, want 200 and 1.144", h.count, h.sum)
	}
	if h.buckets[0.005] != 100 || h.buckets[0.0075] != 180 {
		t.Errorf("buckets of b = %v, want 100 at le=0.005 and 180 at le=0.0075", h.buckets)
	}
	for _, c := range []struct {
		name, peer string
		want       float64
	}{
		{"continuum_probe_sent_total", "b", 200}, {"continuum_probe_lost_total", "b", 0},
		{"continuum_probe_sent_total", "dead", 1}, {"continuum_probe_lost_total", "dead", 1},
	} {
		if v := got[c.name][c.peer].counter; v != c.want {
			t.Errorf("%s{peer=%q} = %g, want %g", c.name, c.peer, v, c.want)
		}
	}
	if _, ok := got["continuum_probe_rtt_seconds"]["dead"]; !ok {
		t.Errorf("no histogram series for the peer that never answered: series must exist from the start")
	}
}

func TestRunStopsCleanly(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		resp, err := probe.NewResponder("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, err := probe.NewProber(probe.ProberOptions{
			Cluster: "a", Peers: []probe.Peer{{Name: "b", Addr: resp.Addr().String()}},
			ListenAddr: "127.0.0.1:0", Interval: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		rdone, pdone := make(chan error, 1), make(chan error, 1)
		go func() { rdone <- resp.Serve(ctx) }()
		go func() { pdone <- p.Run(ctx) }()
		if _, err := p.Probe(ctx, "b"); err != nil {
			t.Errorf("Probe: %v", err)
		}
		if err := p.Run(ctx); err == nil {
			t.Errorf("second Run: no error")
		}
		cancel()
		if err := <-pdone; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := <-rdone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := p.Probe(t.Context(), "b"); !errors.Is(err, probe.ErrNotRunning) {
			t.Errorf("Probe after Run: %v, want ErrNotRunning", err)
		}
		if s, _ := p.Stats("b"); s.Received == 0 {
			t.Errorf("no reply received while running: %+v", s)
		}
	}()
	// Every goroutine Run and Serve started has exited (bounded wait for the runtime
	// to reap them).
	for i := 0; ; i++ {
		n := runtime.NumGoroutine()
		if n <= base {
			break
		}
		if i == 100 {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after stop, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
