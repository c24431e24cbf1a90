package metricsfake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/metrics"
)

// ErrInjected is the error of an injected failure; it has the unreachable kind, like a
// backend that cannot reach its server.
var ErrInjected = errkind.New(errkind.Unreachable, "metricsfake: injected failure")

// Faults says what a Wrapper does to the calls it passes on. The zero value passes
// every call through unchanged. The checks run in field order; the first that fires
// decides the call.
type Faults struct {
	// Hang makes every call block until its context ends, then return the context's
	// error (a source that does not answer).
	Hang bool
	// Err, when set, is called before each call; a non-nil result is returned instead
	// of calling the inner source.
	Err func(Call) error
	// FailEvery > 0 fails every FailEvery-th call (counting from 1) with ErrInjected.
	FailEvery int
	// FailRate in (0, 1] fails calls at random with that probability, with
	// ErrInjected, drawing from Rand (required then; seed it for reproducible tests).
	FailRate float64
	Rand     *rand.Rand
	// Age makes every answered sample look Age older (ObservedAt moves back); the
	// Wrapper then returns metrics.ErrStale when the aged sample is older than MaxAge
	// (zero means metrics.DefaultMaxAge) at Now (nil means time.Now).
	Age    time.Duration
	MaxAge time.Duration
	Now    func() time.Time
}

func (f Faults) validate() error {
	switch {
	case f.FailEvery < 0:
		return fmt.Errorf("metricsfake: faults.failEvery: must be >= 0, got %d: %w", f.FailEvery, metrics.ErrInvalid)
	case f.FailRate < 0 || f.FailRate > 1:
		return fmt.Errorf("metricsfake: faults.failRate: must be in [0, 1], got %g: %w", f.FailRate, metrics.ErrInvalid)
	case f.FailRate > 0 && f.Rand == nil:
		return fmt.Errorf("metricsfake: faults.rand: required when failRate > 0: %w", metrics.ErrInvalid)
	case f.Age < 0:
		return fmt.Errorf("metricsfake: faults.age: must be >= 0, got %v: %w", f.Age, metrics.ErrInvalid)
	case f.MaxAge < 0:
		return fmt.Errorf("metricsfake: faults.maxAge: must be >= 0, got %v: %w", f.MaxAge, metrics.ErrInvalid)
	}
	return nil
}

// Wrapper puts a latency source, a resource source, or both, behind Faults. It
// implements both roles; a role without an inner source answers metrics.ErrNoData.
type Wrapper struct {
	latency   metrics.LatencySource
	resources metrics.ResourceSource
	log       callLog

	mu     sync.Mutex
	faults Faults
	n      int // calls so far
}

var (
	_ metrics.LatencySource  = (*Wrapper)(nil)
	_ metrics.ResourceSource = (*Wrapper)(nil)
)

// Wrap returns a Wrapper around latency and resources (either may be nil, not both).
// It returns an error wrapping metrics.ErrInvalid for bad faults.
func Wrap(latency metrics.LatencySource, resources metrics.ResourceSource, f Faults) (*Wrapper, error) {
	if latency == nil && resources == nil {
		return nil, fmt.Errorf("metricsfake: wrap: need a latency or a resource source: %w", metrics.ErrInvalid)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &Wrapper{latency: latency, resources: resources, faults: f}, nil
}

// SetFaults replaces the faults from the next call on (e.g. a flaky source recovers).
// The call counter of FailEvery keeps running.
func (w *Wrapper) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = f
	return nil
}

// Calls returns the call log, oldest first.
func (w *Wrapper) Calls() []Call { return w.log.get() }

// ResetCalls empties the call log.
func (w *Wrapper) ResetCalls() { w.log.reset() }

// before decides whether call fails; it returns the faults in force for the rest.
func (w *Wrapper) before(ctx context.Context, call Call) (Faults, error) {
	w.mu.Lock()
	w.n++
	n, f := w.n, w.faults
	fail := f.FailRate > 0 && f.Rand.Float64() < f.FailRate
	w.mu.Unlock()
	switch {
	case f.Hang:
		<-ctx.Done()
		return f, fmt.Errorf("metricsfake: %s hung until its context ended: %w", call.Method, ctx.Err())
	case f.Err != nil:
		if err := f.Err(call); err != nil {
			return f, err
		}
	}
	if f.FailEvery > 0 && n%f.FailEvery == 0 {
		return f, fmt.Errorf("metricsfake: %s: call %d of every %d fails: %w", call.Method, n, f.FailEvery, ErrInjected)
	}
	if fail {
		return f, fmt.Errorf("metricsfake: %s: random failure (rate %g): %w", call.Method, f.FailRate, ErrInjected)
	}
	return f, nil
}

func (f Faults) age(what string, observedAt *time.Time) error {
	if f.Age == 0 {
		return nil
	}
	*observedAt = observedAt.Add(-f.Age)
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if err := metrics.CheckFresh(what, *observedAt, now(), f.MaxAge); err != nil {
		return fmt.Errorf("metricsfake: aged by %v: %w", f.Age, err)
	}
	return nil
}

// Latency passes the call to the inner latency source unless a fault fires.
func (w *Wrapper) Latency(ctx context.Context, a, b string) (s metrics.LatencySample, err error) {
	call := Call{Method: "Latency", A: a, B: b}
	defer func() { call.Err = err; w.log.add(call) }()
	f, err := w.before(ctx, call)
	if err != nil {
		return metrics.LatencySample{}, err
	}
	if w.latency == nil {
		return metrics.LatencySample{}, fmt.Errorf("metricsfake: wrapper has no latency source: %w", metrics.ErrNoData)
	}
	s, err = w.latency.Latency(ctx, a, b)
	if err != nil {
		return metrics.LatencySample{}, err
	}
	if err := f.age("latency "+metrics.MakePair(a, b).String(), &s.ObservedAt); err != nil {
		return metrics.LatencySample{}, err
	}
	return s, nil
}

// Resources passes the call to the inner resource source unless a fault fires.
func (w *Wrapper) Resources(ctx context.Context, cluster string) (s metrics.ResourceSample, err error) {
	call := Call{Method: "Resources", Cluster: cluster}
	defer func() { call.Err = err; w.log.add(call) }()
	f, err := w.before(ctx, call)
	if err != nil {
		return metrics.ResourceSample{}, err
	}
	if w.resources == nil {
		return metrics.ResourceSample{}, fmt.Errorf("metricsfake: wrapper has no resource source: %w", metrics.ErrNoData)
	}
	s, err = w.resources.Resources(ctx, cluster)
	if err != nil {
		return metrics.ResourceSample{}, err
	}
	if err := f.age("resources of "+cluster, &s.ObservedAt); err != nil {
		return metrics.ResourceSample{}, err
	}
	return s, nil
}
