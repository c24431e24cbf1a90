package main

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the measurement half of the experiment: synthetic frames go from a
// render source through one user-space UDP relay per stage of a path to a client, all on
// 127.0.0.1. Every relay holds each datagram for its stage's delay (a network hop's
// one-way delay, plus the processing and buffering of the component at its far end)
// before forwarding it, and the client records receive time minus the generation time
// embedded in the frame.

// Frame layout: magic, run nonce, sequence number, generation time (nanoseconds on the
// run's monotonic clock), then padding up to the frame size.
const (
	frameMagic  = "CXRF"
	frameHeader = 4 + 4 + 8 + 8
	// maxFrameSize is the largest UDP payload over IPv4.
	maxFrameSize = 65507
)

// stage is one relay of a path: it delays every frame by Network + Overhead +
// Processing + Buffer. The split is for reporting only.
type stage struct {
	Name string
	// Network is the one-way delay of the links crossed (RTT/2 per link, or half the
	// intra-cluster RTT), Overhead what Liqo's tunnel or NodePort's kube-proxy adds.
	Network  time.Duration
	Overhead time.Duration
	// Processing is the modelled processing time of the component at the stage's end.
	Processing time.Duration
	// Buffer is the application's buffering (the streaming server's), kept apart from
	// everything the network does.
	Buffer time.Duration
}

// Delay is the stage's whole delay.
func (s stage) Delay() time.Duration { return s.Network + s.Overhead + s.Processing + s.Buffer }

// streamConfig is what the source sends.
type streamConfig struct {
	Frames    int
	FPS       float64
	FrameSize int
	// Drain is how long the client waits, after the last frame's expected arrival, for
	// stragglers before counting the rest as lost.
	Drain time.Duration
}

// relayCount is what one relay saw.
type relayCount struct {
	Name      string
	In        int64
	Forwarded int64
	Errors    int64
}

// runResult is one measured run of a path.
type runResult struct {
	Sent     int
	Received int
	Lost     int
	// Duplicates and Stray count datagrams the client ignored (repeated sequence numbers;
	// malformed or foreign frames).
	Duplicates int
	Stray      int
	// Latency holds the end-to-end latency of every received frame, by sequence number;
	// Got says which were received.
	Latency []time.Duration
	Got     []bool
	Relays  []relayCount
}

// Latencies returns the latencies of the received frames, in sequence order.
func (r *runResult) Latencies() []time.Duration {
	out := make([]time.Duration, 0, r.Received)
	for i, ok := range r.Got {
		if ok {
			out = append(out, r.Latency[i])
		}
	}
	return out
}

// measure streams cfg.Frames synthetic frames through one relay per stage and returns
// what the client received. Frames are generated at exact times (start + i/fps), so a
// late wake-up never shifts the frames after it.
func measure(ctx context.Context, stages []stage, cfg streamConfig) (*runResult, error) {
	if len(stages) == 0 {
		return nil, errors.New("measure: a path needs at least one stage")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var nonce [4]byte
	binary.BigEndian.PutUint32(nonce[:], uint32(time.Now().UnixNano()))
	base := time.Now() // the run's monotonic clock: time.Since(base)

	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	listen := func() (*net.UDPConn, error) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, fmt.Errorf("measure: listening on 127.0.0.1: %w", err)
		}
		// Generous buffers so a burst (a long buffer released at once) is not dropped
		// by the kernel; the OS may cap them, which only matters for huge bursts.
		_ = c.SetReadBuffer(4 << 20)
		_ = c.SetWriteBuffer(4 << 20)
		conns = append(conns, c)
		return c, nil
	}
	client, err := listen()
	if err != nil {
		return nil, err
	}
	relays := make([]*relay, len(stages))
	next := client.LocalAddr().(*net.UDPAddr)
	for i := len(stages) - 1; i >= 0; i-- {
		c, err := listen()
		if err != nil {
			return nil, err
		}
		relays[i] = &relay{name: stages[i].Name, delay: stages[i].Delay(), conn: c, next: next, q: newDelayQueue()}
		next = c.LocalAddr().(*net.UDPAddr)
	}
	source, err := listen()
	if err != nil {
		return nil, err
	}

	var wg sync.WaitGroup
	for _, r := range relays {
		wg.Add(2)
		go func() { defer wg.Done(); r.receive() }()
		go func() { defer wg.Done(); r.forward(ctx) }()
	}

	res := &runResult{Latency: make([]time.Duration, cfg.Frames), Got: make([]bool, cfg.Frames)}
	allIn := make(chan struct{})
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		buf := make([]byte, maxFrameSize+1)
		for {
			n, _, err := client.ReadFromUDP(buf)
			if err != nil {
				return // closed
			}
			now := time.Since(base)
			seq, gen, ok := parseFrame(buf[:n], nonce)
			if !ok || seq >= uint64(cfg.Frames) {
				res.Stray++
				continue
			}
			if res.Got[seq] {
				res.Duplicates++
				continue
			}
			res.Got[seq], res.Latency[seq] = true, now-gen
			if res.Received++; res.Received == cfg.Frames {
				close(allIn)
			}
		}
	}()

	// The source: frame i is generated at start + i/fps; its timestamp is read just
	// before it is sent.
	period := time.Duration(math.Round(float64(time.Second) / cfg.FPS))
	frame := make([]byte, cfg.FrameSize)
	copy(frame, frameMagic)
	copy(frame[4:8], nonce[:])
	for i := range frame[frameHeader:] {
		frame[frameHeader+i] = byte(i)
	}
	first := relays[0].conn.LocalAddr().(*net.UDPAddr)
	start := time.Now().Add(5 * time.Millisecond)
	var sendErr error
	for i := range cfg.Frames {
		if err := waitUntil(ctx, start.Add(time.Duration(i)*period), nil); err != nil {
			sendErr = err
			break
		}
		binary.BigEndian.PutUint64(frame[8:16], uint64(i))
		binary.BigEndian.PutUint64(frame[16:24], uint64(time.Since(base)))
		if _, err := source.WriteToUDP(frame, first); err != nil {
			sendErr = fmt.Errorf("measure: sending frame %d: %w", i, err)
			break
		}
		res.Sent++
	}

	var total time.Duration
	for _, s := range stages {
		total += s.Delay()
	}
	if sendErr == nil && res.Sent > 0 {
		timer := time.NewTimer(total + cfg.Drain)
		select {
		case <-allIn:
		case <-timer.C:
		case <-ctx.Done():
			sendErr = ctx.Err()
		}
		timer.Stop()
	}
	cancel()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	<-clientDone

	for i := res.Sent; i < len(res.Got); i++ {
		if res.Got[i] { // cannot happen: a frame that was never sent
			return nil, fmt.Errorf("measure: frame %d received but never sent", i)
		}
	}
	res.Latency, res.Got = res.Latency[:res.Sent], res.Got[:res.Sent]
	for _, ok := range res.Got {
		if !ok {
			res.Lost++
		}
	}
	for _, r := range relays {
		res.Relays = append(res.Relays, relayCount{Name: r.name, In: r.in.Load(), Forwarded: r.out.Load(), Errors: r.errs.Load()})
	}
	if sendErr != nil {
		return res, sendErr
	}
	return res, nil
}

// parseFrame reads a frame's sequence number and generation time.
func parseFrame(b []byte, nonce [4]byte) (seq uint64, gen time.Duration, ok bool) {
	if len(b) < frameHeader || string(b[:4]) != frameMagic || [4]byte(b[4:8]) != nonce {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(b[8:16]), time.Duration(binary.BigEndian.Uint64(b[16:24])), true
}

// relay is one stage: a UDP socket whose datagrams go through a delay queue to the next
// hop.
type relay struct {
	name  string
	delay time.Duration
	conn  *net.UDPConn
	next  *net.UDPAddr
	q     *delayQueue

	in, out, errs atomic.Int64
}

// receive reads datagrams and queues each to leave at its arrival time plus the delay.
// The arrival time is read after the read returns, so it is never earlier than the
// real arrival: a frame never leaves a relay early.
func (r *relay) receive() {
	buf := make([]byte, maxFrameSize+1)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		r.in.Add(1)
		r.q.push(time.Now().Add(r.delay), slices.Clone(buf[:n]))
	}
}

// forward sends every queued datagram when it is due: a coarse timer sleeps until
// shortly before the earliest due time (Go's timers can wake up to about 1 ms late
// when the process is idle), then waitPrecise covers the rest, so each datagram leaves
// at its due time plus the OS's wake-up latency (tens of microseconds), and lateness
// never accumulates from one datagram to the next.
func (r *relay) forward(ctx context.Context) {
	for {
		due, ok := r.q.peek()
		if !ok {
			select {
			case <-r.q.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := waitUntil(ctx, due, r.q.wake); err != nil {
			return
		}
		if time.Now().Before(due) {
			continue // woken by a new datagram: it may be due earlier
		}
		_, data := r.q.pop()
		if _, err := r.conn.WriteToUDP(data, r.next); err != nil {
			r.errs.Add(1)
			continue
		}
		r.out.Add(1)
	}
}

// coarseMargin is how long before a due time the coarse timer wakes up: more than Go's
// timer lateness on an idle Linux process (about 1 ms).
const coarseMargin = 2 * time.Millisecond

// waitUntil returns at (or just after) t: it sleeps on a timer until coarseMargin
// before t, then waits precisely. It returns early, with a nil error, when wake
// receives (wake may be nil), and with ctx.Err() when ctx ends.
func waitUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	if d := time.Until(t); d > coarseMargin {
		timer := time.NewTimer(d - coarseMargin)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-wake:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	waitPrecise(t)
	return nil
}

// delayQueue holds datagrams until they are due, earliest first (ties in arrival
// order). It is safe for one pusher and one popper at a time.
type delayQueue struct {
	mu    sync.Mutex
	items dueHeap
	n     uint64
	// wake receives (without blocking the pusher) whenever a datagram is queued.
	wake chan struct{}
}

func newDelayQueue() *delayQueue { return &delayQueue{wake: make(chan struct{}, 1)} }

func (q *delayQueue) push(due time.Time, data []byte) {
	q.mu.Lock()
	heap.Push(&q.items, dueItem{due: due, order: q.n, data: data})
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *delayQueue) peek() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return time.Time{}, false
	}
	return q.items[0].due, true
}

func (q *delayQueue) pop() (time.Time, []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := heap.Pop(&q.items).(dueItem)
	return it.due, it.data
}

type dueItem struct {
	due   time.Time
	order uint64
	data  []byte
}

type dueHeap []dueItem

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].order < h[j].order
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
