package metricsfake

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/metrics"
)

// Clock is a fake clock that moves only when told to.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time. Pass c.Now wherever a clock is injected.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward when d < 0).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Call is one recorded call: Method is "Latency" (A and B set) or "Resources"
// (Cluster set); Err is what it returned.
type Call struct {
	Method  string
	A, B    string
	Cluster string
	Err     error
}

// callLog is a concurrency-safe list of calls.
type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *callLog) get() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *callLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// Options configures a Source. The zero value uses time.Now and metrics.DefaultMaxAge.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pass a Clock's Now.
	Now func() time.Time
	// MaxAge is the freshness bound; zero means metrics.DefaultMaxAge.
	MaxAge time.Duration
}

// Source is an in-memory latency and resource source with scripted samples.
type Source struct {
	opts Options
	log  callLog

	mu        sync.Mutex
	latency   map[metrics.Pair][]metrics.LatencySample // by ObservedAt
	resources map[string][]metrics.ResourceSample      // by ObservedAt
}

var (
	_ metrics.LatencySource  = (*Source)(nil)
	_ metrics.ResourceSource = (*Source)(nil)
)

// New returns an empty source. It returns an error wrapping metrics.ErrInvalid when
// opts.MaxAge is negative.
func New(opts Options) (*Source, error) {
	if opts.MaxAge < 0 {
		return nil, fmt.Errorf("metricsfake: opts.maxAge: must be >= 0, got %v: %w", opts.MaxAge, metrics.ErrInvalid)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{
		opts:      opts,
		latency:   map[metrics.Pair][]metrics.LatencySample{},
		resources: map[string][]metrics.ResourceSample{},
	}, nil
}

// AddLatency scripts a latency sample: from the clock time s.ObservedAt on, it is the
// answer for s.Pair (in either order) until a newer one is due. An empty Provenance
// means metrics.Measured. The sample must pass metrics.ValidateLatency.
func (f *Source) AddLatency(s metrics.LatencySample) error {
	s.Pair = metrics.MakePair(s.Pair.A, s.Pair.B)
	if s.Provenance == "" {
		s.Provenance = metrics.Measured
	}
	if err := metrics.ValidateLatency(s); err != nil {
		return fmt.Errorf("metricsfake: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency[s.Pair] = insertByTime(f.latency[s.Pair], s, latencyAt)
	return nil
}

// AddResources scripts a resource sample, like AddLatency. The sample must pass
// metrics.ValidateResources; its lists are copied.
func (f *Source) AddResources(s metrics.ResourceSample) error {
	if s.Provenance == "" {
		s.Provenance = metrics.Measured
	}
	if err := metrics.ValidateResources(s); err != nil {
		return fmt.Errorf("metricsfake: %w", err)
	}
	s = copyResources(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources[s.Cluster] = insertByTime(f.resources[s.Cluster], s, resourcesAt)
	return nil
}

// Latency returns the newest scripted sample for the pair observed at or before now.
func (f *Source) Latency(ctx context.Context, a, b string) (s metrics.LatencySample, err error) {
	defer func() { f.log.add(Call{Method: "Latency", A: a, B: b, Err: err}) }()
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("metricsfake: latency %s<->%s: %w", a, b, err)
	}
	if err := checkNames(a, b); err != nil {
		return metrics.LatencySample{}, err
	}
	p := metrics.MakePair(a, b)
	now := f.opts.Now()
	f.mu.Lock()
	s, ok := newest(f.latency[p], now, latencyAt)
	f.mu.Unlock()
	if !ok {
		return metrics.LatencySample{}, fmt.Errorf("metricsfake: latency %s: nothing recorded: %w", p, metrics.ErrNoData)
	}
	if err := metrics.CheckFresh("latency "+p.String(), s.ObservedAt, now, f.opts.MaxAge); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("metricsfake: %w", err)
	}
	return s, nil
}

// Resources returns the newest scripted sample for the cluster observed at or before
// now.
func (f *Source) Resources(ctx context.Context, cluster string) (s metrics.ResourceSample, err error) {
	defer func() { f.log.add(Call{Method: "Resources", Cluster: cluster, Err: err}) }()
	if err := ctx.Err(); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("metricsfake: resources of %q: %w", cluster, err)
	}
	if err := metrics.CheckName("cluster", cluster); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("metricsfake: %w", err)
	}
	now := f.opts.Now()
	f.mu.Lock()
	s, ok := newest(f.resources[cluster], now, resourcesAt)
	f.mu.Unlock()
	if !ok {
		return metrics.ResourceSample{}, fmt.Errorf("metricsfake: resources of %q: nothing recorded: %w", cluster, metrics.ErrNoData)
	}
	if err := metrics.CheckFresh("resources of "+cluster, s.ObservedAt, now, f.opts.MaxAge); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("metricsfake: %w", err)
	}
	return copyResources(s), nil
}

// Calls returns the call log, oldest first.
func (f *Source) Calls() []Call { return f.log.get() }

// ResetCalls empties the call log.
func (f *Source) ResetCalls() { f.log.reset() }

func checkNames(a, b string) error {
	if err := metrics.CheckName("a", a); err != nil {
		return fmt.Errorf("metricsfake: %w", err)
	}
	if err := metrics.CheckName("b", b); err != nil {
		return fmt.Errorf("metricsfake: %w", err)
	}
	return nil
}

func latencyAt(s metrics.LatencySample) time.Time    { return s.ObservedAt }
func resourcesAt(s metrics.ResourceSample) time.Time { return s.ObservedAt }

// insertByTime inserts s into l (sorted by time) after the elements whose time is not
// after s's, so that samples with equal times keep the order they were added in.
func insertByTime[T any](l []T, s T, at func(T) time.Time) []T {
	i := sort.Search(len(l), func(i int) bool { return at(l[i]).After(at(s)) })
	return slices.Insert(l, i, s)
}

// newest returns the last element of l (sorted by time) whose time is not after now.
func newest[T any](l []T, now time.Time, at func(T) time.Time) (T, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		if !at(l[i]).After(now) {
			return l[i], true
		}
	}
	var zero T
	return zero, false
}

func copyResources(s metrics.ResourceSample) metrics.ResourceSample {
	cp := func(u metrics.Usage) metrics.Usage {
		return metrics.Usage{Capacity: u.Capacity.DeepCopy(), Allocatable: u.Allocatable.DeepCopy(), Used: u.Used.DeepCopy()}
	}
	s.Usage = cp(s.Usage)
	if s.Pools != nil {
		pools := make(map[string]metrics.Usage, len(s.Pools))
		for k, u := range s.Pools {
			pools[k] = cp(u)
		}
		s.Pools = pools
	}
	return s
}
