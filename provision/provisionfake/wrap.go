package provisionfake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/provision"
)

// ErrInjected is the error injected by a Wrapper's FailEvery.
var ErrInjected = errkind.New(errkind.Unreachable, "provisionfake: injected failure")

// Faults select the failures a Wrapper injects. The zero value injects none.
type Faults struct {
	// Err, when set, is called before each call; a non-nil result is returned instead
	// of calling the inner provisioner (e.g. an apiserver conflict or timeout for one
	// operation).
	Err func(Call) error
	// FailEvery > 0 fails every FailEvery-th call (counting from 1) with ErrInjected.
	FailEvery int
	// Hang makes every call block until its context ends and return the context's
	// error (a management cluster that does not answer).
	Hang bool
}

// Wrapper injects faults around any provision.Provisioner, real or fake (DESIGN.md
// section 4, item 10). It forwards Scale and Kubeconfig when the inner provisioner has
// them and reports errors.ErrUnsupported otherwise. It is safe for concurrent use and
// records its calls.
type Wrapper struct {
	inner  provision.Provisioner
	mu     sync.Mutex
	faults Faults
	n      int
	calls  []Call
}

var (
	_ provision.Provisioner      = (*Wrapper)(nil)
	_ provision.Scaler           = (*Wrapper)(nil)
	_ provision.KubeconfigGetter = (*Wrapper)(nil)
)

// Wrap returns a Wrapper around inner with the given faults.
func Wrap(inner provision.Provisioner, f Faults) (*Wrapper, error) {
	if inner == nil {
		return nil, errors.New("provisionfake: Wrap: inner provisioner is nil")
	}
	if f.FailEvery < 0 {
		return nil, fmt.Errorf("provisionfake: Wrap: faults.FailEvery: %d is negative", f.FailEvery)
	}
	return &Wrapper{inner: inner, faults: f}, nil
}

// SetFaults replaces the faults (a test makes the backend recover, or fail later).
func (w *Wrapper) SetFaults(f Faults) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults, w.n = f, 0
}

// Calls returns the calls made so far through the wrapper, injected or not.
func (w *Wrapper) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// inject decides the fate of one call: nil lets it through.
func (w *Wrapper) inject(ctx context.Context, c Call) error {
	w.mu.Lock()
	w.calls = append(w.calls, c)
	f := w.faults
	w.n++
	n := w.n
	w.mu.Unlock()
	if f.Hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.Err != nil {
		if err := f.Err(c); err != nil {
			return err
		}
	}
	if f.FailEvery > 0 && n%f.FailEvery == 0 {
		return fmt.Errorf("provisionfake: %s %s/%s: %w", c.Op, c.Ref.Namespace, c.Ref.Name, ErrInjected)
	}
	return nil
}

// Get forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Get(ctx context.Context, ref provision.Ref) (*provision.Cluster, error) {
	if err := w.inject(ctx, Call{Op: "Get", Ref: ref}); err != nil {
		return nil, err
	}
	return w.inner.Get(ctx, ref)
}

// List forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) List(ctx context.Context, opts provision.ListOptions) ([]*provision.Cluster, error) {
	if err := w.inject(ctx, Call{Op: "List"}); err != nil {
		return nil, err
	}
	return w.inner.List(ctx, opts)
}

// Watch forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Watch(ctx context.Context, ref provision.Ref) (<-chan provision.Change, error) {
	if err := w.inject(ctx, Call{Op: "Watch", Ref: ref}); err != nil {
		return nil, err
	}
	return w.inner.Watch(ctx, ref)
}

// Create forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Create(ctx context.Context, spec provision.ClusterSpec) error {
	if err := w.inject(ctx, Call{Op: "Create", Ref: spec.Ref(), Workers: spec.Workers}); err != nil {
		return err
	}
	return w.inner.Create(ctx, spec)
}

// Delete forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Delete(ctx context.Context, ref provision.Ref) error {
	if err := w.inject(ctx, Call{Op: "Delete", Ref: ref}); err != nil {
		return err
	}
	return w.inner.Delete(ctx, ref)
}

// Scale forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Scale(ctx context.Context, ref provision.Ref, workers int32) error {
	if err := w.inject(ctx, Call{Op: "Scale", Ref: ref, Workers: workers}); err != nil {
		return err
	}
	return provision.Scale(ctx, w.inner, ref, workers)
}

// Kubeconfig forwards to the inner provisioner unless a fault is injected.
func (w *Wrapper) Kubeconfig(ctx context.Context, ref provision.Ref) (*rest.Config, error) {
	if err := w.inject(ctx, Call{Op: "Kubeconfig", Ref: ref}); err != nil {
		return nil, err
	}
	return provision.Kubeconfig(ctx, w.inner, ref)
}
