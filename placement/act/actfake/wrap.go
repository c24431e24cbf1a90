package actfake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/placement/act"
)

// ErrInjected is the error a Wrapper injects with FailEvery and FailOnce.
var ErrInjected = errkind.New(errkind.Unreachable, "actfake: injected failure")

// Faults select the failures a Wrapper injects. The zero value injects none.
type Faults struct {
	// Err, when set, is called for each call; a non-nil result is returned instead
	// of the call's own (an apiserver conflict or timeout for one operation).
	Err func(Call) error
	// FailEvery > 0 fails every FailEvery-th call (counting from 1, since the faults
	// were set) with ErrInjected.
	FailEvery int
	// FailOnce, when set, fails the first call it reports true for with
	// ErrInjected; later calls pass (a crash at one chosen step).
	FailOnce func(Call) bool
	// After injects the failures after the inner call ran: a write happened but the
	// caller sees an error, as when the response is lost. Otherwise the inner call
	// does not run.
	After bool
	// Hang makes every call block until its context ends and return the context's
	// error (a home cluster that does not answer); with After, once the inner call
	// ran.
	Hang bool
}

// Wrapper injects faults around any act.Workloads, real or fake (DESIGN.md section
// 4, item 10), and records its calls. Make it with Wrap; it is safe for concurrent
// use.
type Wrapper struct {
	inner  act.Workloads
	mu     sync.Mutex
	faults Faults
	n      int
	fired  bool // FailOnce has fired
	calls  []Call
}

var _ act.Workloads = (*Wrapper)(nil)

// Wrap returns a Wrapper around inner with the given faults. A nil inner makes every
// call fail with an error wrapping act.ErrInvalid; FailEvery <= 0 means never.
func Wrap(inner act.Workloads, f Faults) *Wrapper {
	return &Wrapper{inner: inner, faults: f}
}

// SetFaults replaces the faults and restarts the counts of FailEvery and FailOnce
// (a test makes the workloads recover, or fail later).
func (w *Wrapper) SetFaults(f Faults) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults, w.n, w.fired = f, 0, false
}

// Calls returns the calls made through the wrapper so far, injected or not.
func (w *Wrapper) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// decide records the call and returns the fault for it (nil: none) and the faults
// in force.
func (w *Wrapper) decide(c Call) (Faults, error) {
	w.mu.Lock()
	c.Pin = clonePin(c.Pin)
	w.calls = append(w.calls, c)
	f := w.faults
	w.n++
	n := w.n
	w.mu.Unlock()
	// Fault functions run without the lock: they may call back into the wrapper.
	if f.Err != nil {
		if err := f.Err(c); err != nil {
			return f, err
		}
	}
	if f.FailEvery > 0 && n%f.FailEvery == 0 {
		return f, fmt.Errorf("actfake: %s: call %d: %w", c, n, ErrInjected)
	}
	if f.FailOnce != nil && f.FailOnce(c) {
		w.mu.Lock()
		first := !w.fired
		w.fired = true
		w.mu.Unlock()
		if first {
			return f, fmt.Errorf("actfake: %s: %w", c, ErrInjected)
		}
	}
	return f, nil
}

// do runs one call through the faults.
func (w *Wrapper) do(ctx context.Context, c Call, call func() error) error {
	f, fault := w.decide(c)
	if w.inner == nil {
		return fmt.Errorf("actfake: %s: the wrapper has no inner Workloads: %w", c, act.ErrInvalid)
	}
	if !f.After {
		if f.Hang {
			<-ctx.Done()
			return fmt.Errorf("actfake: %s: %w", c, ctx.Err())
		}
		if fault != nil {
			return fault
		}
		return call()
	}
	err := call()
	if f.Hang {
		<-ctx.Done()
		return errors.Join(err, fmt.Errorf("actfake: %s: %w", c, ctx.Err()))
	}
	if fault != nil {
		return fault
	}
	return err
}

// EnsureNamespace forwards to the inner Workloads unless a fault is injected.
func (w *Wrapper) EnsureNamespace(ctx context.Context, namespace string) error {
	return w.do(ctx, Call{Op: "EnsureNamespace", Namespace: namespace}, func() error {
		return w.inner.EnsureNamespace(ctx, namespace)
	})
}

// ListInstances forwards to the inner Workloads unless a fault is injected.
func (w *Wrapper) ListInstances(ctx context.Context, namespace string) ([]act.Instance, error) {
	var out []act.Instance
	err := w.do(ctx, Call{Op: "ListInstances", Namespace: namespace}, func() error {
		var err error
		out, err = w.inner.ListInstances(ctx, namespace)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyInstance forwards to the inner Workloads unless a fault is injected.
func (w *Wrapper) ApplyInstance(ctx context.Context, namespace string, spec act.InstanceSpec) error {
	c := Call{Op: "ApplyInstance", Namespace: namespace, Component: spec.Component, Cluster: spec.Cluster, Replicas: spec.Replicas, Pin: spec.Pin}
	return w.do(ctx, c, func() error { return w.inner.ApplyInstance(ctx, namespace, spec) })
}

// DeleteInstance forwards to the inner Workloads unless a fault is injected.
func (w *Wrapper) DeleteInstance(ctx context.Context, namespace, component, cluster string) error {
	c := Call{Op: "DeleteInstance", Namespace: namespace, Component: component, Cluster: cluster}
	return w.do(ctx, c, func() error { return w.inner.DeleteInstance(ctx, namespace, component, cluster) })
}
