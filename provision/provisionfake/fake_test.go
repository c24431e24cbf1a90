package provisionfake_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
	"github.com/continuum-xr/continuum/provision/provisiontest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	fake *provisionfake.Fake
	clk  *clocktesting.FakeClock
}

func (h *harness) Provisioner() provision.Provisioner { return h.fake }
func (h *harness) Spec(name string, workers int32) provision.ClusterSpec {
	return provision.ClusterSpec{Name: name, Namespace: "conformance", KubernetesVersion: "v1.33.1", Workers: workers}
}
func (h *harness) Complete(context.Context, provision.Ref) error {
	h.clk.Step(time.Hour)
	return nil
}
func (h *harness) CompleteDeletion(context.Context, provision.Ref) error {
	h.clk.Step(time.Hour)
	return nil
}
func (h *harness) WaitOptions() provision.WaitOptions { return provision.WaitOptions{Clock: h.clk} }
func (h *harness) Close()                             {}

func TestConformance(t *testing.T) {
	provisiontest.RunConformanceTests(t, func(context.Context, *testing.T) (provisiontest.Harness, error) {
		clk := clocktesting.NewFakeClock(t0)
		f, err := provisionfake.New(provisionfake.Options{Clock: clk, Seed: 1})
		return &harness{fake: f, clk: clk}, err
	})
}

func newFake(t *testing.T, opts provisionfake.Options) (*provisionfake.Fake, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	opts.Clock = clk
	f, err := provisionfake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, clk
}

func spec(name string, workers int32) provision.ClusterSpec {
	return provision.ClusterSpec{Name: name, KubernetesVersion: "v1.33.1", Workers: workers}
}

// readyAfter creates a cluster and returns its time from creation to Available, by
// stepping the fake clock second by second.
func readyAfter(t *testing.T, f *provisionfake.Fake, clk *clocktesting.FakeClock, s provision.ClusterSpec) *provision.Cluster {
	t.Helper()
	ctx := t.Context()
	if err := f.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	for range 3600 {
		clk.Step(time.Second)
		c, err := f.Get(ctx, s.Ref())
		if err != nil {
			t.Fatal(err)
		}
		if provision.IsReady(c) {
			return c
		}
	}
	t.Fatalf("%s not ready after an hour of fake time", s.Name)
	return nil
}

func TestPaperModelMatchesExperiment1(t *testing.T) {
	m := provisionfake.PaperModel()
	m.Jitter = 0
	f, clk := newFake(t, provisionfake.Options{Model: m})
	var prev time.Duration
	for _, tc := range []struct {
		nodes int32
		want  time.Duration // the paper's stated end points, and the model's fit between
	}{
		{1, 103 * time.Second}, {3, 176 * time.Second}, {5, 210 * time.Second},
		{10, 255 * time.Second}, {15, 282 * time.Second}, {20, 301 * time.Second}, {25, 316 * time.Second},
	} {
		c := readyAfter(t, f, clk, spec("n"+strings.Repeat("x", int(tc.nodes)), tc.nodes-1))
		got, _ := c.Timeline.After(provision.Available)
		if d := got - tc.want; d < -time.Second || d > time.Second {
			t.Errorf("%d nodes: Available after %v, want %v ± 1 s", tc.nodes, got, tc.want)
		}
		if got <= prev {
			t.Errorf("%d nodes: %v not longer than the smaller cluster's %v", tc.nodes, got, prev)
		}
		prev = got
		if ci, _ := c.Timeline.After(provision.ControlPlaneInitialized); ci != 85*time.Second {
			t.Errorf("%d nodes: control plane initialized after %v, want 85 s", tc.nodes, ci)
		}
	}
	// Sublinear: 25 nodes take far less than 25 times one node.
	if m.Total(25) > 4*m.Total(1) {
		t.Errorf("T(25) = %v is not sublinear in T(1) = %v", m.Total(25), m.Total(1))
	}
}

func TestJitterIsSeeded(t *testing.T) {
	times := func(seed uint64) time.Duration {
		f, clk := newFake(t, provisionfake.Options{Seed: seed})
		c := readyAfter(t, f, clk, spec("jit", 4))
		d, _ := c.Timeline.After(provision.Available)
		return d
	}
	a, b, c := times(7), times(7), times(8)
	if a != b {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same time %v", a)
	}
	nominal := provisionfake.PaperModel().Total(5)
	if lo, hi := nominal*85/100, nominal*115/100; a < lo || a > hi {
		t.Errorf("jittered %v outside ±15%% of nominal %v", a, nominal)
	}
}

func TestWaitReadyProgressOnFakeClock(t *testing.T) {
	m := provisionfake.PaperModel()
	m.Jitter = 0
	f, clk := newFake(t, provisionfake.Options{Model: m})
	ctx := t.Context()
	s := spec("prog", 3)
	if err := f.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		msgs []string
	)
	done := make(chan error, 1)
	go func() {
		_, err := provision.WaitReady(ctx, f, s.Ref(), provision.WaitOptions{Progress: func(p provision.Progress) {
			mu.Lock()
			msgs = append(msgs, p.Message)
			mu.Unlock()
		}})
		done <- err
	}()
	// Step through the schedule one second at a time so every milestone is seen.
	for range 400 {
		clk.Step(time.Second)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			goto finished
		default:
		}
		time.Sleep(time.Millisecond) // let the watcher observe this second
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
finished:
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"waiting for infrastructure", "control plane initialized after 85 s, 0/3 workers ready", "3/3 workers ready"} {
		if !strings.Contains(all, want) {
			t.Errorf("progress lacks %q; got:\n%s", want, all)
		}
	}
}

func TestStuckWorkerNeverReady(t *testing.T) {
	f, clk := newFake(t, provisionfake.Options{})
	s := spec("stuck", 3)
	f.InjectFault(s.Ref(), provisionfake.Fault{StuckWorkers: 1})
	if err := f.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	clk.Step(24 * time.Hour)
	c, err := f.Get(t.Context(), s.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if provision.IsReady(c) || c.Workers.Ready != 2 || c.IsTrue(string(provision.WorkersAvailable)) {
		t.Errorf("stuck worker: ready %v, %d/3 workers ready, WorkersAvailable %v", provision.IsReady(c), c.Workers.Ready, c.IsTrue(string(provision.WorkersAvailable)))
	}
	if !c.IsTrue(string(provision.ControlPlaneAvailable)) {
		t.Error("the control plane should still become available")
	}
	// WaitReady times out in fake time, saying how far it got.
	errc := make(chan error, 1)
	go func() {
		_, err := provision.WaitReady(t.Context(), f, s.Ref(), provision.WaitOptions{Timeout: 10 * time.Minute, Clock: clk})
		errc <- err
	}()
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clk.Step(10 * time.Minute)
	err = <-errc
	if !errors.Is(err, provision.ErrNotReady) || !strings.Contains(err.Error(), "2/3 workers ready") {
		t.Errorf("WaitReady = %v, want ErrNotReady saying 2/3 workers ready", err)
	}
	// Scaling down to the ready workers makes it available.
	if err := f.Scale(t.Context(), s.Ref(), 2); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Minute)
	c, _ = f.Get(t.Context(), s.Ref())
	if !provision.IsReady(c) {
		t.Errorf("after scaling away the stuck worker: %s", provision.Summary(c))
	}
}

func TestQuotaExceeded(t *testing.T) {
	f, clk := newFake(t, provisionfake.Options{NodeQuota: 5})
	ctx := t.Context()
	if err := f.Create(ctx, spec("fits", 3)); err != nil {
		t.Fatal(err)
	}
	if err := f.Create(ctx, spec("too-big", 1)); err != nil {
		t.Fatal(err) // like Cluster API: accepted, then the infrastructure fails
	}
	clk.Step(time.Hour)
	c, err := f.Get(ctx, spec("too-big", 0).Ref())
	if err != nil {
		t.Fatal(err)
	}
	if c.Phase != provision.PhaseFailed || !strings.Contains(c.Message, "quota exceeded") {
		t.Errorf("over quota: phase %s, message %q", c.Phase, c.Message)
	}
	cond, _ := c.Condition(string(provision.InfrastructureReady))
	if cond.Status != provision.ConditionFalse || cond.Reason != "QuotaExceeded" {
		t.Errorf("InfrastructureReady = %+v, want False/QuotaExceeded", cond)
	}
	_, err = provision.WaitReady(ctx, f, c.Ref(), provision.WaitOptions{})
	if !errors.Is(err, provision.ErrNotReady) || !strings.Contains(err.Error(), "failed") {
		t.Errorf("WaitReady(failed) = %v, want ErrNotReady saying failed", err)
	}
	// Injected quota failure on a cluster that would fit.
	f2, _ := newFake(t, provisionfake.Options{})
	f2.InjectFault(spec("q", 0).Ref(), provisionfake.Fault{QuotaExceeded: true})
	if err := f2.Create(ctx, spec("q", 0)); err != nil {
		t.Fatal(err)
	}
	if c, _ := f2.Get(ctx, spec("q", 0).Ref()); c.Phase != provision.PhaseFailed {
		t.Errorf("injected quota: phase %s", c.Phase)
	}
	// Scaling beyond the quota: the extra worker never becomes ready.
	if err := f.Scale(ctx, spec("fits", 0).Ref(), 5); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	c, _ = f.Get(ctx, spec("fits", 0).Ref())
	if c.Workers.Ready != 4 || provision.IsReady(c) {
		t.Errorf("scale past quota: %s", provision.Summary(c))
	}
}

func TestScaleKeepsFirstTimeline(t *testing.T) {
	f, clk := newFake(t, provisionfake.Options{})
	c := readyAfter(t, f, clk, spec("tl", 1))
	first, _ := c.Timeline.At(provision.Available)
	if err := f.Scale(t.Context(), c.Ref(), 2); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Second)
	mid, _ := f.Get(t.Context(), c.Ref())
	if provision.IsReady(mid) || mid.Phase != provision.PhaseProvisioned {
		t.Errorf("during scale-up: ready %v phase %s, want not ready (WorkersAvailable False)", provision.IsReady(mid), mid.Phase)
	}
	if at, _ := mid.Timeline.At(provision.Available); !at.Equal(first) {
		t.Errorf("timeline Available moved from %v to %v", first, at)
	}
	clk.Step(time.Hour)
	end, _ := f.Get(t.Context(), c.Ref())
	if !provision.IsReady(end) || end.Workers.Ready != 2 {
		t.Errorf("after scale-up: %s", provision.Summary(end))
	}
	cond, _ := end.Condition(string(provision.Available))
	if !cond.LastTransitionTime.After(first) {
		t.Errorf("Available condition transition %v should be after the scale", cond.LastTransitionTime)
	}
}

func TestCallLogAndValidation(t *testing.T) {
	f, _ := newFake(t, provisionfake.Options{})
	ctx := t.Context()
	_ = f.Create(ctx, spec("a", 2))
	_, _ = f.Get(ctx, spec("a", 0).Ref())
	_ = f.Scale(ctx, spec("a", 0).Ref(), 4)
	_ = f.Delete(ctx, spec("a", 0).Ref())
	var ops []string
	for _, c := range f.Calls() {
		ops = append(ops, c.Op)
	}
	if got := strings.Join(ops, ","); got != "Create,Get,Scale,Delete" {
		t.Errorf("call log = %s", got)
	}
	if c := f.Calls()[2]; c.Workers != 4 || c.Ref.Name != "a" || c.Ref.Namespace != "default" {
		t.Errorf("Scale call = %+v", c)
	}
	if _, err := provisionfake.New(provisionfake.Options{Model: provisionfake.Model{Jitter: 2}}); err == nil || !strings.Contains(err.Error(), "Model.Jitter") {
		t.Errorf("New(bad jitter) = %v", err)
	}
	if _, err := provisionfake.New(provisionfake.Options{NodeQuota: -1}); err == nil {
		t.Error("New(negative quota) succeeded")
	}
	if err := f.Scale(ctx, spec("a", 0).Ref(), 2); !errors.Is(err, provision.ErrNotReady) {
		t.Errorf("Scale while deleting = %v, want ErrNotReady", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	f, clk := newFake(t, provisionfake.Options{})
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := spec("c"+string(rune('a'+i)), int32(i))
			if err := f.Create(ctx, s); err != nil {
				t.Error(err)
				return
			}
			_, _ = f.List(ctx, provision.ListOptions{})
			_ = f.Scale(ctx, s.Ref(), int32(i+1))
		})
		wg.Go(func() { clk.Step(time.Second) })
	}
	wg.Wait()
	clk.Step(time.Hour)
	cs, err := f.List(ctx, provision.ListOptions{})
	if err != nil || len(cs) != 8 {
		t.Fatalf("List = %d, %v", len(cs), err)
	}
	for _, c := range cs {
		if !provision.IsReady(c) {
			t.Errorf("%s: %s", c.Spec.Name, provision.Summary(c))
		}
	}
}
