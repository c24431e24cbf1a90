package provisiontest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/provision"
)

// Harness adapts one backend to the suite. A new Harness is made for every test.
type Harness interface {
	// Provisioner returns the backend under test.
	Provisioner() provision.Provisioner
	// Spec returns a valid spec for a new cluster with the given name and workers, in
	// a namespace of this harness. The suite may change its Labels.
	Spec(name string, workers int32) provision.ClusterSpec
	// Complete makes the cluster reach every milestone (Available): the fake steps
	// its clock, a real backend's harness plays the controllers. It may run
	// concurrently with WaitReady, and is called again after a Scale.
	Complete(ctx context.Context, ref provision.Ref) error
	// CompleteDeletion finishes a deletion started by Delete (a real backend's
	// harness plays the controllers that remove finalizers).
	CompleteDeletion(ctx context.Context, ref provision.Ref) error
	// WaitOptions returns the options the suite passes to WaitReady and
	// WaitDeleted (the fake's clock, for instance); Progress is set by the suite.
	WaitOptions() provision.WaitOptions
	// Close releases the harness's resources.
	Close()
}

// HarnessMaker makes a Harness for one test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the conformance suite of provision.Provisioner against the
// backend that newHarness adapts. The optional capabilities (provision.Scaler,
// provision.KubeconfigGetter) are tested when the backend has them.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"CreateGet", testCreateGet},
		{"CreateInvalid", testCreateInvalid},
		{"CreateExisting", testCreateExisting},
		{"Missing", testMissing},
		{"List", testList},
		{"WatchMissing", testWatchMissing},
		{"WaitReady", testWaitReady},
		{"WaitReadyTimeout", testWaitReadyTimeout},
		{"Scale", testScale},
		{"Kubeconfig", testKubeconfig},
		{"Delete", testDelete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newHarness(t.Context(), t)
			if err != nil {
				t.Fatalf("making harness: %v", err)
			}
			t.Cleanup(h.Close)
			tc.fn(t, h)
		})
	}
}

// timeout bounds each blocking step of the suite (against real servers, not a fake
// clock); it is a safety net, never an assertion about speed.
const timeout = 60 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t *testing.T, h Harness, spec provision.ClusterSpec) provision.Ref {
	t.Helper()
	if err := h.Provisioner().Create(ctxFor(t), spec); err != nil {
		t.Fatalf("Create(%s): %v", spec.Ref(), err)
	}
	return spec.Ref()
}

func testCreateGet(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	spec := h.Spec("alpha", 2)
	spec.Labels = provision.Labels{Owner: "cern", Tier: "edge", Region: "geneva"}
	ref := mustCreate(t, h, spec)
	c, err := h.Provisioner().Get(ctx, ref)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := spec.WithDefaults()
	if c.Ref() != ref {
		t.Errorf("Ref = %v, want %v", c.Ref(), ref)
	}
	got := c.Spec
	if got.Distribution != want.Distribution || got.KubernetesVersion != want.KubernetesVersion ||
		got.ControlPlaneReplicas != want.ControlPlaneReplicas || got.Workers != want.Workers || got.Labels != want.Labels {
		t.Errorf("Spec read back = %+v, want the created %+v", got, want)
	}
	if !slices.Equal(got.PodCIDRs, want.PodCIDRs) || !slices.Equal(got.ServiceCIDRs, want.ServiceCIDRs) {
		t.Errorf("CIDRs read back = %v/%v, want %v/%v", got.PodCIDRs, got.ServiceCIDRs, want.PodCIDRs, want.ServiceCIDRs)
	}
	if provision.IsReady(c) {
		t.Errorf("a cluster just created is ready: %+v", c)
	}
	if c.Phase != provision.PhasePending && c.Phase != provision.PhaseProvisioning {
		t.Errorf("Phase = %s, want Pending or Provisioning", c.Phase)
	}
	if c.Workers.Desired != 2 {
		t.Errorf("Workers.Desired = %d, want 2", c.Workers.Desired)
	}
	if c.Timeline.Created.IsZero() {
		t.Error("Timeline.Created is zero")
	}
	if _, ok := c.Timeline.At(provision.Available); ok {
		t.Errorf("Timeline has Available for a new cluster: %v", c.Timeline)
	}
}

func testCreateInvalid(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	spec := h.Spec("Not_A_Name", 1)
	spec.ControlPlaneReplicas = 2
	err := h.Provisioner().Create(ctx, spec)
	if !errors.Is(err, provision.ErrInvalid) {
		t.Fatalf("Create(invalid) = %v, want ErrInvalid", err)
	}
	l, ok := provision.AsErrorList(err)
	if !ok {
		t.Fatalf("Create(invalid) error %v holds no ErrorList", err)
	}
	if f := l.Fields(); !slices.Contains(f, "name") || !slices.Contains(f, "controlPlaneReplicas") {
		t.Errorf("fields = %v, want name and controlPlaneReplicas", f)
	}
	cs, err := h.Provisioner().List(ctx, provision.ListOptions{Namespace: spec.Ref().Namespace})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, c := range cs {
		if c.Spec.Name == spec.Name {
			t.Errorf("an invalid spec created %s", c.Ref())
		}
	}
}

func testCreateExisting(t *testing.T, h Harness) {
	spec := h.Spec("beta", 0)
	mustCreate(t, h, spec)
	if err := h.Provisioner().Create(ctxFor(t), spec); !errors.Is(err, provision.ErrAlreadyExists) {
		t.Fatalf("second Create = %v, want ErrAlreadyExists", err)
	}
}

func testMissing(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	ref := h.Spec("nope", 0).Ref()
	if _, err := h.Provisioner().Get(ctx, ref); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if err := h.Provisioner().Delete(ctx, ref); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
	}
	if _, err := provision.WaitReady(ctx, h.Provisioner(), ref, h.WaitOptions()); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("WaitReady(missing) = %v, want ErrNotFound", err)
	}
	if err := provision.Scale(ctx, h.Provisioner(), ref, 1); err != nil && !errors.Is(err, provision.ErrNotFound) && !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Scale(missing) = %v, want ErrNotFound", err)
	}
}

func testList(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	a, b := h.Spec("list-a", 0), h.Spec("list-b", 1)
	a.Labels.Owner, b.Labels.Owner = "owner-a", "owner-b"
	mustCreate(t, h, a)
	mustCreate(t, h, b)
	ns := a.Ref().Namespace
	all, err := h.Provisioner().List(ctx, provision.ListOptions{Namespace: ns})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Spec.Name)
	}
	if !slices.Equal(names, []string{"list-a", "list-b"}) {
		t.Errorf("List(namespace %s) = %v, want [list-a list-b] in order", ns, names)
	}
	only, err := h.Provisioner().List(ctx, provision.ListOptions{Namespace: ns, Labels: provision.Labels{Owner: "owner-b"}})
	if err != nil {
		t.Fatalf("List(owner): %v", err)
	}
	if len(only) != 1 || only[0].Spec.Name != "list-b" {
		t.Errorf("List(owner-b) = %d clusters, want only list-b", len(only))
	}
	none, err := h.Provisioner().List(ctx, provision.ListOptions{Namespace: ns, Labels: provision.Labels{Tier: "nowhere"}})
	if err != nil || len(none) != 0 {
		t.Errorf("List(tier nowhere) = %d clusters, %v; want none", len(none), err)
	}
}

func testWatchMissing(t *testing.T, h Harness) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	ch, err := h.Provisioner().Watch(ctx, h.Spec("ghost", 0).Ref())
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	first, ok := <-ch
	if !ok || !first.Gone || first.Err != nil {
		t.Errorf("first change of a missing cluster = %+v (open %v), want Gone", first, ok)
	}
	cancel()
	for range ch { // the channel must close once ctx ends
	}
}

// waitReady runs WaitReady while the harness completes the cluster.
func waitReady(t *testing.T, h Harness, ref provision.Ref) (*provision.Cluster, []string) {
	t.Helper()
	ctx := ctxFor(t)
	var (
		mu   sync.Mutex
		msgs []string
	)
	opts := h.WaitOptions()
	opts.Progress = func(p provision.Progress) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, p.Message)
	}
	errc := make(chan error, 1)
	go func() { errc <- h.Complete(ctx, ref) }()
	c, err := provision.WaitReady(ctx, h.Provisioner(), ref, opts)
	if cerr := <-errc; cerr != nil {
		t.Fatalf("Complete: %v", cerr)
	}
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return c, slices.Clone(msgs)
}

func testWaitReady(t *testing.T, h Harness) {
	ref := mustCreate(t, h, h.Spec("gamma", 3))
	c, msgs := waitReady(t, h, ref)
	if !provision.IsReady(c) || c.Phase != provision.PhaseAvailable {
		t.Fatalf("WaitReady returned a cluster not ready: phase %s", c.Phase)
	}
	if c.Workers.Ready != 3 || c.Workers.Desired != 3 {
		t.Errorf("Workers = %+v, want 3 desired and ready", c.Workers)
	}
	if c.ControlPlane.Ready < 1 {
		t.Errorf("ControlPlane = %+v, want a ready machine", c.ControlPlane)
	}
	if len(msgs) == 0 {
		t.Error("WaitReady reported no progress")
	}
	var got []provision.Milestone
	prev := c.Timeline.Created
	for _, e := range c.Timeline.Events {
		got = append(got, e.Milestone)
		if e.At.Before(c.Timeline.Created) || e.After != e.At.Sub(c.Timeline.Created) {
			t.Errorf("event %+v inconsistent with creation at %v", e, c.Timeline.Created)
		}
		if e.Milestone != provision.WorkersAvailable && e.At.Before(prev) {
			t.Errorf("%s at %v is before the previous milestone at %v", e.Milestone, e.At, prev)
		}
		if e.Milestone != provision.WorkersAvailable {
			prev = e.At
		}
	}
	if !slices.Equal(got, provision.Milestones()) {
		t.Errorf("timeline milestones = %v, want all of %v", got, provision.Milestones())
	}
	avail, _ := c.Timeline.At(provision.Available)
	if w, ok := c.Timeline.At(provision.WorkersAvailable); ok && avail.Before(w) {
		t.Errorf("Available at %v before WorkersAvailable at %v", avail, w)
	}
	// Get agrees with WaitReady.
	g, err := h.Provisioner().Get(ctxFor(t), ref)
	if err != nil || !provision.IsReady(g) {
		t.Errorf("Get after WaitReady: ready %v, err %v", provision.IsReady(g), err)
	}
}

func testWaitReadyTimeout(t *testing.T, h Harness) {
	ref := mustCreate(t, h, h.Spec("delta", 1))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	c, err := provision.WaitReady(ctx, h.Provisioner(), ref, h.WaitOptions())
	if !errors.Is(err, provision.ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady on a cluster nobody completes = %v, want ErrNotReady and DeadlineExceeded", err)
	}
	if c == nil || c.Spec.Name != "delta" {
		t.Errorf("WaitReady returned %v, want the last state seen", c)
	}
}

func testScale(t *testing.T, h Harness) {
	if _, ok := h.Provisioner().(provision.Scaler); !ok {
		t.Skip("the backend has no Scaler capability")
	}
	ctx := ctxFor(t)
	ref := mustCreate(t, h, h.Spec("epsilon", 1))
	before, _ := waitReady(t, h, ref)
	if err := provision.Scale(ctx, h.Provisioner(), ref, 3); err != nil {
		t.Fatalf("Scale to 3: %v", err)
	}
	c, err := h.Provisioner().Get(ctx, ref)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if c.Workers.Desired != 3 || c.Spec.Workers != 3 {
		t.Errorf("after Scale(3): Workers.Desired %d, Spec.Workers %d", c.Workers.Desired, c.Spec.Workers)
	}
	if provision.IsReady(c) {
		t.Errorf("ready right after a scale-up from %d to 3 workers: %s", before.Workers.Ready, provision.Summary(c))
	}
	after, _ := waitReady(t, h, ref)
	if after.Workers.Ready != 3 {
		t.Errorf("after scale-up: %d workers ready, want 3", after.Workers.Ready)
	}
	if err := provision.Scale(ctx, h.Provisioner(), ref, -1); !errors.Is(err, provision.ErrInvalid) {
		t.Errorf("Scale(-1) = %v, want ErrInvalid", err)
	}
	if err := provision.Scale(ctx, h.Provisioner(), h.Spec("nope", 0).Ref(), 2); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Scale(missing) = %v, want ErrNotFound", err)
	}
}

func testKubeconfig(t *testing.T, h Harness) {
	if _, ok := h.Provisioner().(provision.KubeconfigGetter); !ok {
		t.Skip("the backend has no KubeconfigGetter capability")
	}
	ctx := ctxFor(t)
	ref := mustCreate(t, h, h.Spec("zeta", 0))
	if _, err := provision.Kubeconfig(ctx, h.Provisioner(), ref); !errors.Is(err, provision.ErrNotReady) {
		t.Errorf("Kubeconfig before the control plane is initialized = %v, want ErrNotReady", err)
	}
	waitReady(t, h, ref)
	cfg, err := provision.Kubeconfig(ctx, h.Provisioner(), ref)
	if err != nil {
		t.Fatalf("Kubeconfig: %v", err)
	}
	if cfg.Host == "" {
		t.Error("Kubeconfig gave no host")
	}
	if _, err := provision.Kubeconfig(ctx, h.Provisioner(), h.Spec("nope", 0).Ref()); !errors.Is(err, provision.ErrNotFound) && !errors.Is(err, provision.ErrNotReady) {
		t.Errorf("Kubeconfig(missing) = %v, want ErrNotFound or ErrNotReady", err)
	}
}

func testDelete(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	ref := mustCreate(t, h, h.Spec("eta", 1))
	waitReady(t, h, ref)
	if err := h.Provisioner().Delete(ctx, ref); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if c, err := h.Provisioner().Get(ctx, ref); err == nil && c.Phase != provision.PhaseDeleting {
		t.Errorf("after Delete: phase %s, want Deleting (or gone)", c.Phase)
	} else if err != nil && !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- h.CompleteDeletion(ctx, ref) }()
	if err := provision.WaitDeleted(ctx, h.Provisioner(), ref, h.WaitOptions()); err != nil {
		t.Fatalf("WaitDeleted: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("CompleteDeletion: %v", err)
	}
	if _, err := h.Provisioner().Get(ctx, ref); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Get after deletion = %v, want ErrNotFound", err)
	}
	// The name can be used again.
	mustCreate(t, h, h.Spec("eta", 0))
}
