package provisionfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
	"github.com/continuum-xr/continuum/provision/provisiontest"
)

// wrappedHarness runs the conformance suite through a Wrapper with no faults: the
// wrapper must forward every operation faithfully, optional capabilities included.
type wrappedHarness struct {
	harness
	w *provisionfake.Wrapper
}

func (h *wrappedHarness) Provisioner() provision.Provisioner { return h.w }

func TestWrapperPassesConformance(t *testing.T) {
	provisiontest.RunConformanceTests(t, func(context.Context, *testing.T) (provisiontest.Harness, error) {
		clk := clocktesting.NewFakeClock(t0)
		f, err := provisionfake.New(provisionfake.Options{Clock: clk, Seed: 1})
		if err != nil {
			return nil, err
		}
		w, err := provisionfake.Wrap(f, provisionfake.Faults{})
		return &wrappedHarness{harness: harness{fake: f, clk: clk}, w: w}, err
	})
}

func TestWrapperInjectsFaults(t *testing.T) {
	ctx := context.Background()
	f, _ := newFake(t, provisionfake.Options{})
	w, err := provisionfake.Wrap(f, provisionfake.Faults{FailEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	ref := spec("a", 1).Ref()
	var failed []int
	for i := 1; i <= 6; i++ {
		if _, err := w.Get(ctx, ref); errors.Is(err, provisionfake.ErrInjected) {
			failed = append(failed, i)
		} else if !errors.Is(err, provision.ErrNotFound) {
			t.Fatalf("call %d: %v, want ErrNotFound from the inner fake", i, err)
		}
	}
	if len(failed) != 2 || failed[0] != 3 || failed[1] != 6 {
		t.Errorf("failed calls %v, want [3 6]", failed)
	}

	conflict := errors.New("the object has been modified; please apply your changes to the latest version")
	w.SetFaults(provisionfake.Faults{Err: func(c provisionfake.Call) error {
		if c.Op == "Create" {
			return conflict
		}
		return nil
	}})
	if err := w.Create(ctx, spec("a", 1)); !errors.Is(err, conflict) {
		t.Errorf("Create = %v, want the injected conflict", err)
	}
	if _, err := f.Get(ctx, ref); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("the failed Create reached the inner fake: %v", err)
	}
	w.SetFaults(provisionfake.Faults{})
	if err := w.Create(ctx, spec("a", 1)); err != nil {
		t.Fatalf("Create after recovery: %v", err)
	}
	if err := w.Scale(ctx, ref, 2); err != nil {
		t.Errorf("Scale through the wrapper: %v", err)
	}

	w.SetFaults(provisionfake.Faults{Hang: true})
	hctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := w.Get(hctx, ref); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging Get = %v, want the context's deadline", err)
	}
	ops := map[string]int{}
	for _, c := range w.Calls() {
		ops[c.Op]++
	}
	if ops["Get"] != 7 || ops["Create"] != 2 || ops["Scale"] != 1 {
		t.Errorf("call log %v", ops)
	}
}

// plain hides the fake's optional capabilities.
type plain struct{ provision.Provisioner }

func TestWrapperWithoutOptionalCapabilities(t *testing.T) {
	f, _ := newFake(t, provisionfake.Options{})
	w, err := provisionfake.Wrap(plain{f}, provisionfake.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Scale(ctx, spec("a", 1).Ref(), 2); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Scale on a provisioner without Scaler = %v, want ErrUnsupported", err)
	}
	if _, err := w.Kubeconfig(ctx, spec("a", 1).Ref()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Kubeconfig on a provisioner without it = %v, want ErrUnsupported", err)
	}
	if _, err := provisionfake.Wrap(nil, provisionfake.Faults{}); err == nil {
		t.Error("Wrap(nil) accepted")
	}
	if _, err := provisionfake.Wrap(f, provisionfake.Faults{FailEvery: -1}); err == nil {
		t.Error("negative FailEvery accepted")
	}
}
