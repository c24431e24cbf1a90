package probe

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// Defaults used when a ProberOptions field is zero.
const (
	DefaultInterval   = 100 * time.Millisecond // 10 probes/s per peer
	DefaultTimeout    = time.Second
	DefaultWindow     = time.Minute
	DefaultPacketSize = 64
	DefaultListenAddr = ":0"
	// Metric names the Prober exports (see the prometheus backend's default queries).
	MetricRTT  = "continuum_probe_rtt_seconds"
	MetricSent = "continuum_probe_sent_total"
	MetricLost = "continuum_probe_lost_total"
	// DefaultClusterLabel and DefaultPeerLabel label the exported series with the
	// measuring cluster and the peer, as the prometheus backend expects by default.
	DefaultClusterLabel = "cluster"
	DefaultPeerLabel    = "peer"
	minInterval         = time.Millisecond
	maxDefaultSamples   = 1 << 16
	minDefaultSamples   = 1024
)

// DefaultBuckets are the upper bounds (seconds) of the RTT histogram: fine around the
// 1-30 ms that XR budgets care about, up to 1 s.
var DefaultBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01,
	0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1,
}

// Errors of Probe.
var (
	// ErrLost: no reply arrived before the timeout; the probe counts as lost.
	ErrLost = errors.New("probe: no reply before the timeout")
	// ErrNotRunning: Probe was called when Run is not running (never started, or
	// already returned).
	ErrNotRunning = errors.New("probe: the prober is not running (call Run first)")
)

// Peer is a cluster (or site) the Prober measures: its name in the topology and the
// address of its Responder.
type Peer struct {
	// Name is the peer's topology name; it is the "peer" label of the exported series
	// and the name Latency answers for.
	Name string
	// Addr is the Responder's UDP address, "host:port". A host name is resolved once,
	// by NewProber.
	Addr string
}

// ProberOptions configures NewProber. Cluster and Peers are required; every other
// zero field means its default.
type ProberOptions struct {
	// Cluster is the topology name of the cluster the prober runs in. Required.
	Cluster string
	// Peers are the clusters (or sites) to probe. Required, names unique and distinct
	// from Cluster.
	Peers []Peer
	// ListenAddr is the local UDP address; empty means ":0" (any free port).
	ListenAddr string
	// Interval is the time between two probes to the same peer; zero means
	// DefaultInterval (10 probes/s). At least 1 ms.
	Interval time.Duration
	// Manual turns the schedule off: Run only receives, and probes are sent by Probe.
	Manual bool
	// Timeout is how long a probe may wait for its reply before it counts as lost;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Window is the span the percentiles, count, loss and jitter cover; zero means
	// DefaultWindow.
	Window time.Duration
	// MaxAge is the freshness bound: a peer whose newest reply is older is stale.
	// Zero means Window.
	MaxAge time.Duration
	// MaxSamples bounds the replies and losses kept per peer (the oldest go first);
	// zero means 2 x Window/Interval, between 1024 and 65536.
	MaxSamples int
	// PacketSize is the UDP payload size in bytes, HeaderSize to MaxPacketSize; zero
	// means DefaultPacketSize.
	PacketSize int
	// Buckets are the RTT histogram's upper bounds in seconds, strictly increasing
	// and positive; nil means DefaultBuckets.
	Buckets []float64
	// ClusterLabel and PeerLabel name the labels of the exported series; empty means
	// DefaultClusterLabel and DefaultPeerLabel.
	ClusterLabel, PeerLabel string
	// Session identifies this prober's probes; zero means a random one.
	Session uint64
	// Now is the clock RTTs and observation times are read from; nil means time.Now.
	Now func() time.Time
}

// Stats is what a Prober knows about one peer.
type Stats struct {
	// Peer names the peer.
	Peer string
	// P50, P90 and P99 are nearest-rank percentiles of the RTTs in the window; zero
	// when Count is 0.
	P50, P90, P99 time.Duration
	// Jitter is the mean absolute difference between consecutive RTTs in the window
	// (RFC 3550's interarrival jitter without smoothing); zero with fewer than two.
	Jitter time.Duration
	// Count is the number of replies in the window and Lost the number of losses.
	Count, Lost int64
	// Loss is Lost / (Count + Lost), or -1 when the window has neither.
	Loss float64
	// Window is the span covered, ending at At.
	Window time.Duration
	// At is the clock's time when the stats were computed.
	At time.Time
	// NewestReply is when the newest reply arrived (also before the window); zero if
	// none ever did.
	NewestReply time.Time
	// Sent, Received and LostTotal count probes since the Prober was made.
	Sent, Received, LostTotal uint64
}

// Prober sends UDP probes to the Responders of its peers and measures RTT, loss and
// jitter over a sliding window. It implements metrics.LatencySource and
// prometheus.Collector. Make it with NewProber and run it with Run.
type Prober struct {
	opts     ProberOptions
	conn     *net.UDPConn
	now      func() time.Time
	maxAge   time.Duration
	peers    map[string]*peerState
	order    []*peerState
	rtt      *prometheus.HistogramVec
	sent     *prometheus.CounterVec
	lost     *prometheus.CounterVec
	started  atomic.Bool
	closeOne sync.Once
	ready    chan struct{}
	stopped  chan struct{}

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*pendingProbe
	late    uint64
}

type pendingProbe struct {
	peer     *peerState
	sentAt   time.Time
	deadline time.Time // real time
	waiter   chan time.Duration
}

// record is one reply (lost false) or loss in a peer's window.
type record struct {
	at   time.Time
	rtt  time.Duration
	lost bool
}

type peerState struct {
	name string
	addr netip.AddrPort
	// guarded by Prober.mu
	ring                      []record
	head, n                   int
	sent, received, lostTotal uint64
	newestReply               time.Time
	rtt                       prometheus.Observer
	sentC, lostC              prometheus.Counter
}

func (ps *peerState) push(r record) {
	if len(ps.ring) == 0 {
		return
	}
	ps.ring[(ps.head+ps.n)%len(ps.ring)] = r
	if ps.n < len(ps.ring) {
		ps.n++
	} else {
		ps.head = (ps.head + 1) % len(ps.ring)
	}
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// NewProber checks opts, resolves the peers' addresses and binds the UDP socket. Run
// starts probing; Close releases the socket of a Prober that is never run. Errors
// wrap metrics.ErrInvalid and name the field.
func NewProber(opts ProberOptions) (*Prober, error) {
	o, peers, err := checkOptions(opts)
	if err != nil {
		return nil, err
	}
	la, err := net.ResolveUDPAddr("udp", o.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("probe: opts.listenAddr %q: %v: %w", o.ListenAddr, err, metrics.ErrInvalid)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("probe: listening on %q: %w", o.ListenAddr, err)
	}
	labels := []string{o.ClusterLabel, o.PeerLabel}
	p := &Prober{
		opts:   o,
		conn:   conn,
		now:    o.Now,
		maxAge: o.MaxAge,
		peers:  map[string]*peerState{},
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricRTT,
			Help:    "Round-trip time of continuum UDP probes from a cluster to a peer, in seconds.",
			Buckets: o.Buckets,
		}, labels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSent,
			Help: "Continuum UDP probes sent from a cluster to a peer.",
		}, labels),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricLost,
			Help: "Continuum UDP probes from a cluster to a peer that got no reply before the timeout.",
		}, labels),
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
		pending: map[uint64]*pendingProbe{},
	}
	for i, peer := range o.Peers {
		ps := &peerState{
			name:  peer.Name,
			addr:  peers[i],
			ring:  make([]record, o.MaxSamples),
			rtt:   p.rtt.WithLabelValues(o.Cluster, peer.Name),
			sentC: p.sent.WithLabelValues(o.Cluster, peer.Name),
			lostC: p.lost.WithLabelValues(o.Cluster, peer.Name),
		}
		p.peers[peer.Name] = ps
		p.order = append(p.order, ps)
	}
	return p, nil
}

func checkOptions(opts ProberOptions) (ProberOptions, []netip.AddrPort, error) {
	var errs []error
	bad := func(field, detail string) {
		errs = append(errs, fmt.Errorf("probe: %s: %s: %w", field, detail, metrics.ErrInvalid))
	}
	o := opts
	o.Peers = slices.Clone(opts.Peers)
	o.Buckets = slices.Clone(opts.Buckets)
	if o.Cluster == "" {
		bad("opts.cluster", "must name the cluster the prober runs in")
	}
	if len(o.Peers) == 0 {
		bad("opts.peers", "need at least one peer")
	}
	addrs := make([]netip.AddrPort, len(o.Peers))
	seen := map[string]int{}
	for i, peer := range o.Peers {
		f := fmt.Sprintf("opts.peers[%d]", i)
		switch {
		case peer.Name == "":
			bad(f+".name", "must not be empty")
		case peer.Name == o.Cluster:
			bad(f+".name", fmt.Sprintf("%q is the prober's own cluster", peer.Name))
		case seen[peer.Name] > 0:
			bad(f+".name", fmt.Sprintf("%q already names opts.peers[%d]", peer.Name, seen[peer.Name]-1))
		default:
			seen[peer.Name] = i + 1
		}
		ua, err := net.ResolveUDPAddr("udp", peer.Addr)
		switch {
		case peer.Addr == "":
			bad(f+".addr", "must be the responder's host:port")
		case err != nil:
			bad(f+".addr", err.Error())
		case ua.Port == 0 || ua.IP == nil:
			bad(f+".addr", fmt.Sprintf("%q needs a host and a non-zero port", peer.Addr))
		default:
			addrs[i] = ua.AddrPort()
		}
	}
	o.ListenAddr = cmp.Or(o.ListenAddr, DefaultListenAddr)
	if o.Interval < 0 || (o.Interval > 0 && o.Interval < minInterval) {
		bad("opts.interval", fmt.Sprintf("must be 0 (default %v) or at least %v, got %v", DefaultInterval, minInterval, o.Interval))
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"opts.timeout", o.Timeout}, {"opts.window", o.Window}, {"opts.maxAge", o.MaxAge}} {
		if d.v < 0 {
			bad(d.field, fmt.Sprintf("must be >= 0, got %v", d.v))
		}
	}
	if o.MaxSamples < 0 {
		bad("opts.maxSamples", fmt.Sprintf("must be >= 0, got %d", o.MaxSamples))
	}
	if o.PacketSize != 0 && (o.PacketSize < HeaderSize || o.PacketSize > MaxPacketSize) {
		bad("opts.packetSize", fmt.Sprintf("must be between %d and %d bytes, got %d", HeaderSize, MaxPacketSize, o.PacketSize))
	}
	for i, b := range o.Buckets {
		if b <= 0 || (i > 0 && b <= o.Buckets[i-1]) {
			bad(fmt.Sprintf("opts.buckets[%d]", i), fmt.Sprintf("%g: buckets must be positive and strictly increasing", b))
			break
		}
	}
	o.ClusterLabel = cmp.Or(o.ClusterLabel, DefaultClusterLabel)
	o.PeerLabel = cmp.Or(o.PeerLabel, DefaultPeerLabel)
	for _, l := range []struct{ field, v string }{{"opts.clusterLabel", o.ClusterLabel}, {"opts.peerLabel", o.PeerLabel}} {
		if !labelName.MatchString(l.v) || len(l.v) > 1 && l.v[:2] == "__" {
			bad(l.field, fmt.Sprintf("%q is not a Prometheus label name", l.v))
		}
	}
	if o.ClusterLabel == o.PeerLabel {
		bad("opts.peerLabel", fmt.Sprintf("%q is also the cluster label", o.PeerLabel))
	}
	if err := errors.Join(errs...); err != nil {
		return o, nil, err
	}
	o.Interval = cmp.Or(o.Interval, DefaultInterval)
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.Window = cmp.Or(o.Window, DefaultWindow)
	o.MaxAge = cmp.Or(o.MaxAge, o.Window)
	if o.MaxSamples == 0 {
		o.MaxSamples = min(max(int(2*o.Window/o.Interval), minDefaultSamples), maxDefaultSamples)
	}
	o.PacketSize = cmp.Or(o.PacketSize, DefaultPacketSize)
	if o.Buckets == nil {
		o.Buckets = slices.Clone(DefaultBuckets)
	}
	if o.Session == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		o.Session = binary.BigEndian.Uint64(b[:]) | 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, addrs, nil
}

// Addr returns the local address the Prober sends from and receives on.
func (p *Prober) Addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// Close closes the socket. Run closes it itself when its context ends; call Close
// only for a Prober that is never run. It is idempotent.
func (p *Prober) Close() error {
	var err error
	p.closeOne.Do(func() { err = p.conn.Close() })
	return err
}

// Run probes every peer at the configured interval (unless Manual), receives the
// replies and expires unanswered probes, until ctx ends. Then it closes the socket,
// waits for every goroutine it started and returns nil. It returns an error when
// called a second time.
func (p *Prober) Run(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("probe: Prober.Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { _ = p.Close() })
	defer stop()
	wg.Go(func() { p.receive(ctx) })
	wg.Go(func() { p.reap(ctx) })
	if !p.opts.Manual {
		for i, ps := range p.order {
			offset := p.opts.Interval * time.Duration(i) / time.Duration(len(p.order))
			wg.Go(func() { p.schedule(ctx, ps, offset) })
		}
	}
	close(p.ready)
	<-ctx.Done()
	_ = p.Close()
	wg.Wait()
	close(p.stopped)
	return nil
}

// schedule sends a probe to ps every interval, the first after offset.
func (p *Prober) schedule(ctx context.Context, ps *peerState, offset time.Duration) {
	t := time.NewTimer(offset)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	tick := time.NewTicker(p.opts.Interval)
	defer tick.Stop()
	for {
		_, _ = p.send(ps, nil)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reap counts probes whose deadline passed as lost.
func (p *Prober) reap(ctx context.Context) {
	every := min(max(p.opts.Timeout/4, time.Millisecond), 250*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		real := time.Now()
		p.mu.Lock()
		for seq, pd := range p.pending {
			if real.After(pd.deadline) {
				p.loseLocked(seq, pd)
			}
		}
		p.mu.Unlock()
	}
}

func (p *Prober) loseLocked(seq uint64, pd *pendingProbe) {
	delete(p.pending, seq)
	ps := pd.peer
	ps.lostTotal++
	ps.lostC.Inc()
	ps.push(record{at: p.now(), lost: true})
}

// send sends one probe to ps; waiter, when not nil, receives the RTT.
func (p *Prober) send(ps *peerState, waiter chan time.Duration) (uint64, error) {
	buf := make([]byte, p.opts.PacketSize)
	p.mu.Lock()
	p.seq++
	seq := p.seq
	now := p.now()
	p.pending[seq] = &pendingProbe{peer: ps, sentAt: now, deadline: time.Now().Add(p.opts.Timeout), waiter: waiter}
	ps.sent++
	ps.sentC.Inc()
	p.mu.Unlock()
	packet{kind: kindRequest, session: p.opts.Session, seq: seq, sentUnix: now.UnixNano()}.encode(buf)
	if _, err := p.conn.WriteToUDPAddrPort(buf, ps.addr); err != nil {
		p.mu.Lock()
		if pd, ok := p.pending[seq]; ok {
			p.loseLocked(seq, pd)
		}
		p.mu.Unlock()
		return seq, fmt.Errorf("probe: sending to %s (%s): %w", ps.name, ps.addr, err)
	}
	return seq, nil
}

// receive reads replies until the socket is closed.
func (p *Prober) receive(ctx context.Context) {
	buf := make([]byte, MaxPacketSize+1)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		now := p.now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			continue // transient; the loop ends when Run closes the socket
		}
		p.handle(buf[:n], now)
	}
}

func (p *Prober) handle(b []byte, now time.Time) {
	pk, err := decode(b)
	if err != nil || pk.kind != kindReply || pk.session != p.opts.Session {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pd, ok := p.pending[pk.seq]
	if !ok || pd.sentAt.UnixNano() != pk.sentUnix {
		p.late++ // already counted as lost, or not ours
		return
	}
	rtt := now.Sub(pd.sentAt)
	if rtt <= 0 {
		// The clock did not move: no measurement. Count it as lost rather than
		// record a zero RTT.
		p.loseLocked(pk.seq, pd)
		return
	}
	delete(p.pending, pk.seq)
	ps := pd.peer
	ps.received++
	if now.After(ps.newestReply) {
		ps.newestReply = now
	}
	ps.push(record{at: now, rtt: rtt})
	ps.rtt.Observe(rtt.Seconds())
	if pd.waiter != nil {
		pd.waiter <- rtt // buffered, one send per probe
	}
}

// Probe sends one probe to peer and waits for its reply, returning the RTT, or an
// error wrapping ErrLost after the timeout. It waits for Run to start; it returns
// ErrNotRunning once Run has returned, and the context's error when ctx ends first
// (the probe then still counts when its reply or timeout comes).
func (p *Prober) Probe(ctx context.Context, peer string) (time.Duration, error) {
	ps, ok := p.peers[peer]
	if !ok {
		return 0, fmt.Errorf("probe: %q is not a peer of this prober: %w", peer, metrics.ErrInvalid)
	}
	select {
	case <-p.ready:
	case <-p.stopped:
		return 0, ErrNotRunning
	case <-ctx.Done():
		return 0, fmt.Errorf("probe: waiting for Run: %w", ctx.Err())
	}
	select {
	case <-p.stopped:
		return 0, ErrNotRunning
	default:
	}
	waiter := make(chan time.Duration, 1)
	seq, err := p.send(ps, waiter)
	if err != nil {
		return 0, err
	}
	t := time.NewTimer(p.opts.Timeout)
	defer t.Stop()
	select {
	case rtt := <-waiter:
		return rtt, nil
	case <-t.C:
		p.mu.Lock()
		if pd, ok := p.pending[seq]; ok {
			p.loseLocked(seq, pd)
		}
		p.mu.Unlock()
		select {
		case rtt := <-waiter: // the reply won the race
			return rtt, nil
		default:
		}
		return 0, fmt.Errorf("probe: probe %d to %s: %w", seq, peer, ErrLost)
	case <-p.stopped:
		return 0, ErrNotRunning
	case <-ctx.Done():
		return 0, fmt.Errorf("probe: probe %d to %s: %w", seq, peer, ctx.Err())
	}
}

// Stats returns the window statistics of peer at the clock's time. The error wraps
// metrics.ErrNoData when peer is not one of the prober's peers.
func (p *Prober) Stats(peer string) (Stats, error) {
	ps, ok := p.peers[peer]
	if !ok {
		return Stats{}, fmt.Errorf("probe: %q is not a peer of the prober in %q: %w", peer, p.opts.Cluster, metrics.ErrNoData)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	cutoff := now.Add(-p.opts.Window)
	s := Stats{
		Peer: peer, Window: p.opts.Window, At: now, NewestReply: ps.newestReply,
		Sent: ps.sent, Received: ps.received, LostTotal: ps.lostTotal, Loss: -1,
	}
	rtts := make([]time.Duration, 0, ps.n)
	var jitterSum time.Duration
	for i := range ps.n {
		r := ps.ring[(ps.head+i)%len(ps.ring)]
		if r.at.Before(cutoff) {
			continue
		}
		if r.lost {
			s.Lost++
			continue
		}
		if len(rtts) > 0 {
			d := r.rtt - rtts[len(rtts)-1]
			jitterSum += max(d, -d)
		}
		rtts = append(rtts, r.rtt)
	}
	s.Count = int64(len(rtts))
	if s.Count+s.Lost > 0 {
		s.Loss = float64(s.Lost) / float64(s.Count+s.Lost)
	}
	if len(rtts) > 1 {
		s.Jitter = jitterSum / time.Duration(len(rtts)-1)
	}
	if len(rtts) > 0 {
		slices.Sort(rtts)
		s.P50, s.P90, s.P99 = rank(rtts, 500), rank(rtts, 900), rank(rtts, 990)
	}
	return s, nil
}

// rank returns the nearest-rank percentile (permille) of sorted values.
func rank(sorted []time.Duration, permille int) time.Duration {
	n := len(sorted)
	r := (n*permille + 999) / 1000
	return sorted[max(r-1, 0)]
}

// Latency returns the RTT between the prober's cluster and one of its peers (in
// either order) over the window; see the package doc for the errors.
func (p *Prober) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("probe: latency %s<->%s: %w", a, b, err)
	}
	if err := errors.Join(metrics.CheckName("a", a), metrics.CheckName("b", b)); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("probe: %w", err)
	}
	pair := metrics.MakePair(a, b)
	var peer string
	switch p.opts.Cluster {
	case a:
		peer = b
	case b:
		peer = a
	default:
		return metrics.LatencySample{}, fmt.Errorf("probe: latency %s: the prober measures from %q only: %w", pair, p.opts.Cluster, metrics.ErrNoData)
	}
	s, err := p.Stats(peer)
	if err != nil {
		return metrics.LatencySample{}, fmt.Errorf("probe: latency %s: %w", pair, err)
	}
	if s.NewestReply.IsZero() {
		return metrics.LatencySample{}, fmt.Errorf("probe: latency %s: no reply yet (%d probes sent, %d lost): %w",
			pair, s.Sent, s.LostTotal, metrics.ErrNoData)
	}
	if s.Count == 0 {
		return metrics.LatencySample{}, fmt.Errorf("probe: latency %s: no reply in the last %v (newest %v ago, %d lost in the window): %w",
			pair, s.Window, s.At.Sub(s.NewestReply).Round(time.Millisecond), s.Lost, metrics.ErrStale)
	}
	if err := metrics.CheckFresh("latency "+pair.String(), s.NewestReply, s.At, p.maxAge); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("probe: %w", err)
	}
	return metrics.LatencySample{
		Pair:       pair,
		P50:        topology.Duration(s.P50),
		P90:        topology.Duration(s.P90),
		P99:        topology.Duration(s.P99),
		Count:      s.Count,
		Window:     s.Window,
		Loss:       s.Loss,
		ObservedAt: s.NewestReply,
		Provenance: metrics.Measured,
	}, nil
}

// Describe implements prometheus.Collector.
func (p *Prober) Describe(ch chan<- *prometheus.Desc) {
	p.rtt.Describe(ch)
	p.sent.Describe(ch)
	p.lost.Describe(ch)
}

// Collect implements prometheus.Collector: the RTT histogram and the sent and lost
// counters of every peer.
func (p *Prober) Collect(ch chan<- prometheus.Metric) {
	p.rtt.Collect(ch)
	p.sent.Collect(ch)
	p.lost.Collect(ch)
}

var (
	_ metrics.LatencySource = (*Prober)(nil)
	_ prometheus.Collector  = (*Prober)(nil)
)
