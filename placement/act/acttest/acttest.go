package acttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
)

// Harness adapts one implementation of act.Workloads to the suite. A new Harness is
// made for every test; release its resources with t.Cleanup in the maker.
type Harness interface {
	// Workloads returns the implementation under test.
	Workloads() act.Workloads
	// NewNamespace returns the name of a namespace no other test uses and that does
	// not exist yet.
	NewNamespace() string
	// AddTemplate makes the template of component exist in namespace, creating the
	// namespace if needed (KubeWorkloads: a workload named after the component,
	// replicas 0).
	AddTemplate(ctx context.Context, namespace, component string) error
	// UpdateTemplate changes the template's spec, so that its generation grows.
	UpdateTemplate(ctx context.Context, namespace, component string) error
	// MakeReady makes every replica of every instance in namespace ready (the
	// fake steps its clock; a real harness plays the workload controllers).
	MakeReady(ctx context.Context, namespace string) error
	// Writes returns how many writes the Workloads performed so far (not counting
	// the harness's own).
	Writes() int
}

// RunWorkloadsConformance runs the conformance suite of act.Workloads against the
// implementation that newHarness adapts.
func RunWorkloadsConformance(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"ListEmpty", testListEmpty},
		{"EnsureNamespaceTwice", testEnsureNamespaceTwice},
		{"ApplyWithoutTemplate", testApplyWithoutTemplate},
		{"ApplyInvalid", testApplyInvalid},
		{"NameTaken", testNameTaken},
		{"CreateList", testCreateList},
		{"ApplyTwiceWritesNothing", testApplyTwice},
		{"Scale", testScale},
		{"ChangePin", testChangePin},
		{"TemplateUpdate", testTemplateUpdate},
		{"Readiness", testReadiness},
		{"DeleteMissing", testDeleteMissing},
		{"Delete", testDelete},
		{"ConcurrentApply", testConcurrentApply},
		{"CanceledContext", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if h == nil {
				t.Fatal("newHarness returned nil")
			}
			tc.fn(t, h)
		})
	}
}

// timeout bounds each test against real servers; a safety net, never an assertion
// about speed.
const timeout = 60 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// Pinnings used by the tests: two remote clusters (IDs differ from the cluster
// names, as Liqo's cluster IDs do) and the home cluster.
func pinRemote(t *testing.T, id string) peering.Pinning {
	t.Helper()
	p, err := peering.Pin(peering.ClusterID(id))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setup makes a namespace with templates of the components.
func setup(t *testing.T, h Harness, components ...string) (context.Context, string) {
	t.Helper()
	ctx := ctxFor(t)
	ns := h.NewNamespace()
	for _, c := range components {
		if err := h.AddTemplate(ctx, ns, c); err != nil {
			t.Fatalf("AddTemplate(%s, %s): %v", ns, c, err)
		}
	}
	return ctx, ns
}

func mustApply(t *testing.T, ctx context.Context, h Harness, ns string, spec act.InstanceSpec) {
	t.Helper()
	if err := h.Workloads().ApplyInstance(ctx, ns, spec); err != nil {
		t.Fatalf("ApplyInstance(%s, %s on %s x%d): %v", ns, spec.Component, spec.Cluster, spec.Replicas, err)
	}
}

func mustList(t *testing.T, ctx context.Context, h Harness, ns string) []act.Instance {
	t.Helper()
	in, err := h.Workloads().ListInstances(ctx, ns)
	if err != nil {
		t.Fatalf("ListInstances(%s): %v", ns, err)
	}
	return in
}

// mustGet returns the one listed instance of component on cluster.
func mustGet(t *testing.T, ctx context.Context, h Harness, ns, component, cluster string) act.Instance {
	t.Helper()
	var found []act.Instance
	for _, in := range mustList(t, ctx, h, ns) {
		if in.Component == component && in.Cluster == cluster {
			found = append(found, in)
		}
	}
	if len(found) != 1 {
		t.Fatalf("ListInstances(%s) has %d instances of %s on %s, want 1", ns, len(found), component, cluster)
	}
	return found[0]
}

// samePinExactly compares the whole node selector, unlike act.SamePin.
func samePinExactly(a, b peering.Pinning) bool {
	return a.NotOnVirtualNodes == b.NotOnVirtualNodes && maps.Equal(a.NodeSelector, b.NodeSelector)
}

func describe(in []act.Instance) string {
	var b strings.Builder
	for i, x := range in {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s@%s x%d ready %d pin %v outdated %v", x.Component, x.Cluster, x.Replicas, x.Ready, x.Pin, x.Outdated)
	}
	return "[" + b.String() + "]"
}

func testListEmpty(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	ns := h.NewNamespace()
	in, err := h.Workloads().ListInstances(ctx, ns)
	if err != nil || len(in) != 0 {
		t.Fatalf("ListInstances(missing namespace) = %s, %v; want none, no error", describe(in), err)
	}
	if err := h.Workloads().EnsureNamespace(ctx, ns); err != nil {
		t.Fatalf("EnsureNamespace: %v", err)
	}
	if err := h.AddTemplate(ctx, ns, "render"); err != nil {
		t.Fatal(err)
	}
	if in := mustList(t, ctx, h, ns); len(in) != 0 {
		t.Fatalf("ListInstances(namespace with a template only) = %s, want none: templates are not instances", describe(in))
	}
	if _, err := h.Workloads().ListInstances(ctx, "Not_A_Namespace"); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("ListInstances(bad namespace name) = %v, want ErrInvalid", err)
	}
}

func testEnsureNamespaceTwice(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	ns := h.NewNamespace()
	w := h.Workloads()
	before := h.Writes()
	if err := w.EnsureNamespace(ctx, ns); err != nil {
		t.Fatalf("EnsureNamespace (first): %v", err)
	}
	if h.Writes() == before {
		t.Errorf("EnsureNamespace of a missing namespace wrote nothing")
	}
	mid := h.Writes()
	if err := w.EnsureNamespace(ctx, ns); err != nil {
		t.Fatalf("EnsureNamespace (second): %v", err)
	}
	if got := h.Writes() - mid; got != 0 {
		t.Errorf("EnsureNamespace of an existing namespace wrote %d times, want 0", got)
	}
	if err := w.EnsureNamespace(ctx, "Bad_Name"); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("EnsureNamespace(bad name) = %v, want ErrInvalid", err)
	}
}

func testApplyWithoutTemplate(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "encode")
	before := h.Writes()
	err := h.Workloads().ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1, Pin: pinRemote(t, "edge-1-id")})
	if !errors.Is(err, act.ErrNotFound) {
		t.Fatalf("ApplyInstance without a template = %v, want ErrNotFound", err)
	}
	if want := ns + "/render"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if got := h.Writes() - before; got != 0 {
		t.Errorf("a failed ApplyInstance wrote %d times", got)
	}
	// A missing namespace is no different.
	if err := h.Workloads().ApplyInstance(ctx, h.NewNamespace(), act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1}); !errors.Is(err, act.ErrNotFound) {
		t.Errorf("ApplyInstance in a missing namespace = %v, want ErrNotFound", err)
	}
	if in := mustList(t, ctx, h, ns); len(in) != 0 {
		t.Errorf("instances after failed applies: %s", describe(in))
	}
}

func testApplyInvalid(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	w := h.Workloads()
	before := h.Writes()
	err := w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "Edge_1", Replicas: 0})
	if !errors.Is(err, act.ErrInvalid) {
		t.Fatalf("ApplyInstance(bad cluster, 0 replicas) = %v, want ErrInvalid", err)
	}
	for _, field := range []string{"cluster", "replicas"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name the field %s", err, field)
		}
	}
	long := act.InstanceSpec{Component: "render-" + strings.Repeat("x", 40), Cluster: "edge-" + strings.Repeat("y", 20), Replicas: 1}
	if err := h.AddTemplate(ctx, ns, long.Component); err != nil {
		t.Fatal(err)
	}
	err = w.ApplyInstance(ctx, ns, long)
	if !errors.Is(err, act.ErrInvalid) {
		t.Fatalf("ApplyInstance(name longer than 63) = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), long.Component) || !strings.Contains(err.Error(), long.Cluster) {
		t.Errorf("error %q does not name the component and the cluster", err)
	}
	if err := w.ApplyInstance(ctx, "Bad_NS", act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1}); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("ApplyInstance(bad namespace) = %v, want ErrInvalid", err)
	}
	if err := w.DeleteInstance(ctx, ns, "render", "Edge_1"); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("DeleteInstance(bad cluster) = %v, want ErrInvalid", err)
	}
	if got := h.Writes() - before; got != 0 {
		t.Errorf("invalid calls wrote %d times", got)
	}
	if in := mustList(t, ctx, h, ns); len(in) != 0 {
		t.Errorf("instances after invalid applies: %s", describe(in))
	}
}

// testNameTaken: the instance of render on edge would be named render-edge, which
// is another component's template: it is refused and the template left alone.
func testNameTaken(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render", "render-edge")
	err := h.Workloads().ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "edge", Replicas: 1})
	if !errors.Is(err, act.ErrInvalid) {
		t.Fatalf("ApplyInstance onto the name of a template = %v, want ErrInvalid", err)
	}
	if in := mustList(t, ctx, h, ns); len(in) != 0 {
		t.Fatalf("instances after a refused apply: %s", describe(in))
	}
	// The template still works as one.
	mustApply(t, ctx, h, ns, act.InstanceSpec{Component: "render-edge", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()})
	// Deleting the instance that could not be made touches nothing.
	if err := h.Workloads().DeleteInstance(ctx, ns, "render", "edge"); err != nil {
		t.Fatalf("DeleteInstance(render on edge): %v", err)
	}
	mustGet(t, ctx, h, ns, "render-edge", "home")
	mustApply(t, ctx, h, ns, act.InstanceSpec{Component: "render-edge", Cluster: "b", Replicas: 1, Pin: pinRemote(t, "b")})
}

func testCreateList(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render", "encode")
	if err := h.Workloads().EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	specs := []act.InstanceSpec{
		{Component: "render", Cluster: "edge-2", Replicas: 2, Pin: pinRemote(t, "edge-2-id")},
		{Component: "encode", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
		{Component: "render", Cluster: "edge-1", Replicas: 3, Pin: pinRemote(t, "edge-1-id")},
		{Component: "render", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
	}
	for _, s := range specs {
		mustApply(t, ctx, h, ns, s)
	}
	got := mustList(t, ctx, h, ns)
	want := []act.InstanceSpec{specs[1], specs[2], specs[0], specs[3]} // sorted
	if len(got) != len(want) {
		t.Fatalf("ListInstances = %s, want %d instances", describe(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Component != w.Component || g.Cluster != w.Cluster || g.Replicas != w.Replicas {
			t.Errorf("instance %d = %s@%s x%d, want %s@%s x%d (sorted by component, cluster)", i, g.Component, g.Cluster, g.Replicas, w.Component, w.Cluster, w.Replicas)
		}
		if !samePinExactly(g.Pin, w.Pin) || !act.SamePin(g.Pin, w.Pin) {
			t.Errorf("instance %s@%s: Pin read back %+v, want %+v", g.Component, g.Cluster, g.Pin, w.Pin)
		}
		if g.Outdated {
			t.Errorf("instance %s@%s is Outdated right after it was written", g.Component, g.Cluster)
		}
		if g.Ready != 0 {
			t.Errorf("instance %s@%s has %d ready replicas before the harness made any ready", g.Component, g.Cluster, g.Ready)
		}
	}
	// A pinning with other node selector entries reads back as its remote cluster.
	p := pinRemote(t, "edge-3-id")
	p.NodeSelector["gpu.example.com/model"] = "l4"
	mustApply(t, ctx, h, ns, act.InstanceSpec{Component: "encode", Cluster: "edge-3", Replicas: 1, Pin: p})
	in := mustGet(t, ctx, h, ns, "encode", "edge-3")
	if want := pinRemote(t, "edge-3-id"); !samePinExactly(in.Pin, want) {
		t.Errorf("Pin read back %+v, want only the remote cluster ID %+v", in.Pin, want)
	}
}

func testApplyTwice(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	specs := []act.InstanceSpec{
		{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: pinRemote(t, "edge-1-id")},
		{Component: "render", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
	}
	for _, s := range specs {
		mustApply(t, ctx, h, ns, s)
	}
	first := mustList(t, ctx, h, ns)
	if err := h.MakeReady(ctx, ns); err != nil {
		t.Fatalf("MakeReady: %v", err)
	}
	before := h.Writes()
	for _, s := range []act.InstanceSpec{
		// Equal specs built anew (fresh maps).
		{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: pinRemote(t, "edge-1-id")},
		{Component: "render", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
	} {
		mustApply(t, ctx, h, ns, s)
	}
	if got := h.Writes() - before; got != 0 {
		t.Errorf("re-applying the same specs wrote %d times, want 0", got)
	}
	again := mustList(t, ctx, h, ns)
	if len(again) != len(first) {
		t.Fatalf("instances changed: %s, then %s", describe(first), describe(again))
	}
	for i := range again {
		if again[i].Replicas != first[i].Replicas || !act.SamePin(again[i].Pin, first[i].Pin) || again[i].Ready != again[i].Replicas {
			t.Errorf("instance %d = %s after re-apply, want it as before and ready (%s)", i, describe(again[i:i+1]), describe(first[i:i+1]))
		}
	}
}

func testScale(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	spec := act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: pinRemote(t, "edge-1-id")}
	for _, n := range []int32{2, 5, 1, 3} {
		spec.Replicas = n
		before := h.Writes()
		mustApply(t, ctx, h, ns, spec)
		if n != 2 && h.Writes() == before {
			t.Errorf("scaling to %d wrote nothing", n)
		}
		in := mustGet(t, ctx, h, ns, "render", "edge-1")
		if in.Replicas != n || !act.SamePin(in.Pin, spec.Pin) || in.Outdated {
			t.Errorf("after scaling to %d: %s", n, describe([]act.Instance{in}))
		}
	}
	if in := mustList(t, ctx, h, ns); len(in) != 1 {
		t.Errorf("scaling made %s, want one instance", describe(in))
	}
}

func testChangePin(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	for i, p := range []peering.Pinning{
		pinRemote(t, "edge-1-id"),
		pinRemote(t, "edge-1-id-new"), // the cluster got a new ID (re-installed Liqo)
		peering.PinLocal(),
		pinRemote(t, "edge-1-id"), // and back: no affinity left over
	} {
		before := h.Writes()
		mustApply(t, ctx, h, ns, act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: p})
		if h.Writes() == before {
			if i == 0 {
				t.Errorf("creating the instance wrote nothing")
			} else {
				t.Errorf("changing the pin to %+v wrote nothing", p)
			}
		}
		in := mustGet(t, ctx, h, ns, "render", "edge-1")
		if !samePinExactly(in.Pin, p) {
			t.Errorf("Pin read back %+v, want %+v (nothing of the previous pinning left)", in.Pin, p)
		}
		if in.Replicas != 2 {
			t.Errorf("Replicas = %d after a pin change, want 2", in.Replicas)
		}
	}
}

func testTemplateUpdate(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render", "encode")
	specs := []act.InstanceSpec{
		{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: pinRemote(t, "edge-1-id")},
		{Component: "encode", Cluster: "edge-1", Replicas: 1, Pin: pinRemote(t, "edge-1-id")},
	}
	for _, s := range specs {
		mustApply(t, ctx, h, ns, s)
	}
	if err := h.UpdateTemplate(ctx, ns, "render"); err != nil {
		t.Fatalf("UpdateTemplate: %v", err)
	}
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); !in.Outdated {
		t.Errorf("render@edge-1 is not Outdated after its template changed")
	}
	if in := mustGet(t, ctx, h, ns, "encode", "edge-1"); in.Outdated {
		t.Errorf("encode@edge-1 is Outdated after another component's template changed")
	}
	before := h.Writes()
	mustApply(t, ctx, h, ns, specs[0])
	if h.Writes() == before {
		t.Errorf("applying an Outdated instance wrote nothing")
	}
	in := mustGet(t, ctx, h, ns, "render", "edge-1")
	if in.Outdated || in.Replicas != 2 || !act.SamePin(in.Pin, specs[0].Pin) {
		t.Errorf("after re-applying: %s, want up to date, 2 replicas, same pin", describe([]act.Instance{in}))
	}
	if err := h.MakeReady(ctx, ns); err != nil {
		t.Fatalf("MakeReady: %v", err)
	}
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready != 2 {
		t.Errorf("Ready = %d after MakeReady, want 2", in.Ready)
	}
	before = h.Writes()
	mustApply(t, ctx, h, ns, specs[0])
	if got := h.Writes() - before; got != 0 {
		t.Errorf("re-applying an up-to-date instance wrote %d times", got)
	}
}

func testReadiness(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	spec := act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 2, Pin: pinRemote(t, "edge-1-id")}
	mustApply(t, ctx, h, ns, spec)
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready != 0 {
		t.Errorf("Ready = %d before the harness made replicas ready, want 0", in.Ready)
	}
	if err := h.MakeReady(ctx, ns); err != nil {
		t.Fatalf("MakeReady: %v", err)
	}
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready != 2 {
		t.Errorf("Ready = %d after MakeReady, want 2", in.Ready)
	}
	// Scale up: the added replicas are not ready yet, the old ones may still count.
	spec.Replicas = 4
	mustApply(t, ctx, h, ns, spec)
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready > 2 {
		t.Errorf("Ready = %d right after scaling 2 -> 4, want at most the 2 that were ready", in.Ready)
	}
	if err := h.MakeReady(ctx, ns); err != nil {
		t.Fatalf("MakeReady: %v", err)
	}
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready != 4 || in.Replicas != 4 {
		t.Errorf("after MakeReady: %s, want 4 of 4 ready", describe([]act.Instance{in}))
	}
	// Scale down: never more ready than desired.
	spec.Replicas = 1
	mustApply(t, ctx, h, ns, spec)
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready > 1 {
		t.Errorf("Ready = %d after scaling down to 1, want at most 1", in.Ready)
	}
	if err := h.MakeReady(ctx, ns); err != nil {
		t.Fatalf("MakeReady: %v", err)
	}
	if in := mustGet(t, ctx, h, ns, "render", "edge-1"); in.Ready != 1 {
		t.Errorf("Ready = %d after scaling down and MakeReady, want 1", in.Ready)
	}
}

func testDeleteMissing(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	w := h.Workloads()
	before := h.Writes()
	if err := w.DeleteInstance(ctx, ns, "render", "edge-1"); err != nil {
		t.Errorf("DeleteInstance(missing instance) = %v, want nil", err)
	}
	if err := w.DeleteInstance(ctx, h.NewNamespace(), "render", "edge-1"); err != nil {
		t.Errorf("DeleteInstance(missing namespace) = %v, want nil", err)
	}
	// The template is not an instance: deleting "render" on nothing never touches it.
	if got := h.Writes() - before; got != 0 {
		t.Errorf("deleting missing instances wrote %d times", got)
	}
	mustApply(t, ctx, h, ns, act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1, Pin: pinRemote(t, "edge-1-id")})
}

func testDelete(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render")
	a := act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1, Pin: pinRemote(t, "edge-1-id")}
	b := act.InstanceSpec{Component: "render", Cluster: "home", Replicas: 2, Pin: peering.PinLocal()}
	mustApply(t, ctx, h, ns, a)
	mustApply(t, ctx, h, ns, b)
	before := h.Writes()
	if err := h.Workloads().DeleteInstance(ctx, ns, "render", "edge-1"); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	if h.Writes() == before {
		t.Errorf("DeleteInstance of an existing instance wrote nothing")
	}
	in := mustList(t, ctx, h, ns)
	if len(in) != 1 || in[0].Cluster != "home" || in[0].Replicas != 2 {
		t.Fatalf("after deleting render@edge-1: %s, want only render@home x2", describe(in))
	}
	before = h.Writes()
	if err := h.Workloads().DeleteInstance(ctx, ns, "render", "edge-1"); err != nil {
		t.Errorf("DeleteInstance again = %v, want nil", err)
	}
	if got := h.Writes() - before; got != 0 {
		t.Errorf("deleting a deleted instance wrote %d times", got)
	}
	// It can come back.
	mustApply(t, ctx, h, ns, a)
	if in := mustList(t, ctx, h, ns); len(in) != 2 {
		t.Errorf("after applying the deleted instance again: %s, want 2 instances", describe(in))
	}
}

func testConcurrentApply(t *testing.T, h Harness) {
	ctx, ns := setup(t, h, "render", "encode")
	w := h.Workloads()
	var specs []act.InstanceSpec
	want := map[string]int32{}
	for _, comp := range []string{"render", "encode"} {
		for i := range 4 {
			cl := fmt.Sprintf("edge-%d", i)
			specs = append(specs, act.InstanceSpec{Component: comp, Cluster: cl, Replicas: int32(i + 1), Pin: pinRemote(t, cl+"-id")})
			want[comp+"@"+cl] = int32(i + 1)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(specs)*2)
	for i, s := range specs {
		for j := range 2 { // each spec twice at once
			wg.Go(func() { errs[2*i+j] = w.ApplyInstance(ctx, ns, s) })
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent ApplyInstance(%s@%s): %v", specs[i/2].Component, specs[i/2].Cluster, err)
		}
	}
	in := mustList(t, ctx, h, ns)
	if len(in) != len(specs) {
		t.Fatalf("after concurrent applies: %s, want %d instances", describe(in), len(specs))
	}
	for _, x := range in {
		if w, ok := want[x.Component+"@"+x.Cluster]; !ok || x.Replicas != w {
			t.Errorf("%s@%s x%d, want x%d", x.Component, x.Cluster, x.Replicas, w)
		}
	}
}

func testCanceledContext(t *testing.T, h Harness) {
	_, ns := setup(t, h, "render")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	before := h.Writes()
	if err := h.Workloads().ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "edge-1", Replicas: 1}); err == nil {
		t.Errorf("ApplyInstance with a canceled context succeeded")
	}
	if err := h.Workloads().EnsureNamespace(ctx, h.NewNamespace()); err == nil {
		t.Errorf("EnsureNamespace with a canceled context succeeded")
	}
	if _, err := h.Workloads().ListInstances(ctx, ns); err == nil {
		t.Errorf("ListInstances with a canceled context succeeded")
	}
	if got := h.Writes() - before; got != 0 {
		t.Errorf("calls with a canceled context wrote %d times", got)
	}
}
