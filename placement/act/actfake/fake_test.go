package actfake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/actfake"
	"github.com/continuum-xr/continuum/placement/act/acttest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	f   *actfake.Fake
	w   act.Workloads
	clk *clocktesting.FakeClock
	n   atomic.Int64
}

func newHarness(wrap bool) func(t *testing.T) acttest.Harness {
	return func(t *testing.T) acttest.Harness {
		clk := clocktesting.NewFakeClock(t0)
		f := actfake.New(actfake.Options{Clock: clk})
		h := &harness{f: f, w: f, clk: clk}
		if wrap {
			h.w = actfake.Wrap(f, actfake.Faults{})
		}
		return h
	}
}

func (h *harness) Workloads() act.Workloads { return h.w }
func (h *harness) NewNamespace() string     { return fmt.Sprintf("ns-%d", h.n.Add(1)) }
func (h *harness) Writes() int              { return h.f.Writes() }

func (h *harness) AddTemplate(_ context.Context, ns, component string) error {
	h.f.AddTemplate(ns, component)
	return nil
}

func (h *harness) UpdateTemplate(_ context.Context, ns, component string) error {
	return h.f.UpdateTemplate(ns, component)
}

func (h *harness) MakeReady(context.Context, string) error {
	h.clk.Step(h.f.StartDelay())
	return nil
}

func TestConformance(t *testing.T) { acttest.RunWorkloadsConformance(t, newHarness(false)) }

func TestConformanceWrapped(t *testing.T) { acttest.RunWorkloadsConformance(t, newHarness(true)) }

func list(t *testing.T, w act.Workloads, ns string) []act.Instance {
	t.Helper()
	in, err := w.ListInstances(t.Context(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func apply(t *testing.T, w act.Workloads, ns, comp, cluster string, n int32) {
	t.Helper()
	p, err := peering.Pin(peering.ClusterID(cluster))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ApplyInstance(t.Context(), ns, act.InstanceSpec{Component: comp, Cluster: cluster, Replicas: n, Pin: p}); err != nil {
		t.Fatal(err)
	}
}

func ready(t *testing.T, w act.Workloads, ns string) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	for _, in := range list(t, w, ns) {
		out[in.Component+"@"+in.Cluster] = in.Ready
	}
	return out
}

func TestStartDelayAndScaling(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	f := actfake.New(actfake.Options{Clock: clk, StartDelay: 10 * time.Second})
	f.AddTemplate("xr", "render")
	apply(t, f, "xr", "render", "a", 2)
	clk.Step(9 * time.Second)
	if r := ready(t, f, "xr")["render@a"]; r != 0 {
		t.Fatalf("ready after 9 s = %d, want 0", r)
	}
	clk.Step(time.Second)
	if r := ready(t, f, "xr")["render@a"]; r != 2 {
		t.Fatalf("ready after 10 s = %d, want 2", r)
	}
	apply(t, f, "xr", "render", "a", 5) // 3 more
	clk.Step(5 * time.Second)
	if r := ready(t, f, "xr")["render@a"]; r != 2 {
		t.Fatalf("ready 5 s after scaling up = %d, want the 2 old ones", r)
	}
	apply(t, f, "xr", "render", "a", 3) // drops 2 not-ready replicas first
	if r := ready(t, f, "xr")["render@a"]; r != 2 {
		t.Fatalf("ready after scaling down to 3 = %d, want 2 (not-ready replicas go first)", r)
	}
	clk.Step(5 * time.Second)
	if r := ready(t, f, "xr")["render@a"]; r != 3 {
		t.Fatalf("ready = %d, want 3", r)
	}
	// A template change restarts every replica.
	if err := f.UpdateTemplate("xr", "render"); err != nil {
		t.Fatal(err)
	}
	apply(t, f, "xr", "render", "a", 3)
	if r := ready(t, f, "xr")["render@a"]; r != 0 {
		t.Fatalf("ready right after a rewrite = %d, want 0", r)
	}
	if err := f.UpdateTemplate("xr", "missing"); !errors.Is(err, act.ErrNotFound) {
		t.Errorf("UpdateTemplate(missing) = %v, want ErrNotFound", err)
	}
}

func TestNegativeStartDelayIsImmediate(t *testing.T) {
	f := actfake.New(actfake.Options{Clock: clocktesting.NewFakeClock(t0), StartDelay: -1})
	f.AddTemplate("xr", "render")
	apply(t, f, "xr", "render", "a", 2)
	if r := ready(t, f, "xr")["render@a"]; r != 2 {
		t.Fatalf("ready = %d, want 2 at once", r)
	}
}

func TestRunnableAndSetNotReady(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	var mu sync.Mutex
	peered := map[string]bool{"a": true}
	var f *actfake.Fake
	f = actfake.New(actfake.Options{Clock: clk, Runnable: func(ns, cluster string) bool {
		_ = f.Writes() // may call back into the fake
		mu.Lock()
		defer mu.Unlock()
		return ns == "xr" && peered[cluster]
	}})
	f.AddTemplate("xr", "render")
	apply(t, f, "xr", "render", "a", 1)
	apply(t, f, "xr", "render", "b", 2)
	f.SetNotReady("xr", "render", "c", true) // before it exists
	apply(t, f, "xr", "render", "c", 1)
	clk.Step(actfake.DefaultStartDelay)
	got := ready(t, f, "xr")
	if got["render@a"] != 1 || got["render@b"] != 0 || got["render@c"] != 0 {
		t.Fatalf("ready = %v, want a 1, b 0 (not runnable), c 0 (held)", got)
	}
	mu.Lock()
	peered["b"], peered["c"] = true, true
	mu.Unlock()
	f.SetNotReady("xr", "render", "c", false)
	got = ready(t, f, "xr")
	if got["render@b"] != 2 || got["render@c"] != 1 {
		t.Fatalf("ready = %v after peering b and c and releasing c, want b 2, c 1", got)
	}
}

func TestDeleteTemplateCollectsInstances(t *testing.T) {
	f := actfake.New(actfake.Options{Clock: clocktesting.NewFakeClock(t0)})
	f.AddTemplate("xr", "render")
	f.AddTemplate("xr", "encode")
	apply(t, f, "xr", "render", "a", 1)
	apply(t, f, "xr", "encode", "a", 1)
	f.DeleteTemplate("xr", "render")
	in := list(t, f, "xr")
	if len(in) != 1 || in[0].Component != "encode" {
		t.Fatalf("instances after deleting render's template: %+v", in)
	}
	err := f.ApplyInstance(t.Context(), "xr", act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 1})
	if !errors.Is(err, act.ErrNotFound) {
		t.Errorf("ApplyInstance without the template = %v, want ErrNotFound", err)
	}
}

func TestCallsAndInstanceNameCollision(t *testing.T) {
	f := actfake.New(actfake.Options{Clock: clocktesting.NewFakeClock(t0)})
	f.AddTemplate("xr", "a-b")
	f.AddTemplate("xr", "a")
	apply(t, f, "xr", "a-b", "c", 1)
	// "a" on "b-c" is also named a-b-c.
	err := f.ApplyInstance(t.Context(), "xr", act.InstanceSpec{Component: "a", Cluster: "b-c", Replicas: 1})
	if !errors.Is(err, act.ErrInvalid) {
		t.Fatalf("ApplyInstance onto another instance's name = %v, want ErrInvalid", err)
	}
	calls := f.Calls()
	if len(calls) != 2 || calls[0].Op != "ApplyInstance" || calls[0].Component != "a-b" || calls[1].Cluster != "b-c" {
		t.Fatalf("Calls = %v", calls)
	}
	if s := calls[0].String(); s != "ApplyInstance xr/a-b@c x1" {
		t.Errorf("Call.String = %q", s)
	}
}

func TestFakeConcurrent(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	f := actfake.New(actfake.Options{Clock: clk})
	f.AddTemplate("xr", "render")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			cl := fmt.Sprintf("c%d", i%4)
			for n := range int32(20) {
				_ = f.ApplyInstance(context.Background(), "xr", act.InstanceSpec{Component: "render", Cluster: cl, Replicas: n%3 + 1})
				_, _ = f.ListInstances(context.Background(), "xr")
				if n%7 == 0 {
					_ = f.DeleteInstance(context.Background(), "xr", "render", cl)
				}
				clk.Step(time.Second)
			}
		})
	}
	wg.Wait()
	if len(f.Calls()) != 8*20*2+8*3 {
		t.Errorf("%d calls logged, want %d", len(f.Calls()), 8*20*2+8*3)
	}
}

func TestWrapFaults(t *testing.T) {
	ctx := t.Context()
	f := actfake.New(actfake.Options{Clock: clocktesting.NewFakeClock(t0)})
	f.AddTemplate("xr", "render")
	spec := act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 1}

	t.Run("FailEvery", func(t *testing.T) {
		w := actfake.Wrap(f, actfake.Faults{FailEvery: 2})
		var errs []bool
		for range 4 {
			_, err := w.ListInstances(ctx, "xr")
			errs = append(errs, errors.Is(err, actfake.ErrInjected))
		}
		if fmt.Sprint(errs) != "[false true false true]" {
			t.Errorf("injected = %v, want every 2nd", errs)
		}
		if len(w.Calls()) != 4 {
			t.Errorf("%d calls logged, want 4", len(w.Calls()))
		}
	})
	t.Run("FailOnceBefore", func(t *testing.T) {
		before := f.Writes()
		w := actfake.Wrap(f, actfake.Faults{FailOnce: func(c actfake.Call) bool { return c.Op == "ApplyInstance" }})
		if err := w.ApplyInstance(ctx, "xr", spec); !errors.Is(err, actfake.ErrInjected) {
			t.Fatalf("first apply = %v, want ErrInjected", err)
		}
		if f.Writes() != before {
			t.Fatalf("a call failed before it ran wrote")
		}
		if err := w.ApplyInstance(ctx, "xr", spec); err != nil {
			t.Fatalf("second apply = %v, want it through", err)
		}
		if f.Writes() != before+1 {
			t.Fatalf("the second apply did not write")
		}
	})
	t.Run("After", func(t *testing.T) {
		before := f.Writes()
		w := actfake.Wrap(f, actfake.Faults{After: true, Err: func(c actfake.Call) error {
			if c.Op == "DeleteInstance" {
				return errors.New("response lost")
			}
			return nil
		}})
		if err := w.DeleteInstance(ctx, "xr", "render", "a"); err == nil {
			t.Fatal("delete with an injected error succeeded")
		}
		if f.Writes() != before+1 || len(list(t, f, "xr")) != 0 {
			t.Fatal("the delete did not happen before the injected failure")
		}
		w.SetFaults(actfake.Faults{})
		if err := w.DeleteInstance(ctx, "xr", "render", "a"); err != nil {
			t.Fatalf("delete after SetFaults: %v", err)
		}
	})
	t.Run("Hang", func(t *testing.T) {
		w := actfake.Wrap(f, actfake.Faults{Hang: true})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		if err := w.EnsureNamespace(ctx, "other"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung call = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("NilInner", func(t *testing.T) {
		if err := actfake.Wrap(nil, actfake.Faults{}).EnsureNamespace(ctx, "xr"); !errors.Is(err, act.ErrInvalid) {
			t.Fatalf("nil inner = %v, want ErrInvalid", err)
		}
	})
}
