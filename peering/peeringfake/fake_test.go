package peeringfake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/peeringfake"
	"github.com/continuum-xr/continuum/peering/peeringtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	fake *peeringfake.Fake
	clk  *clocktesting.FakeClock
	n    atomic.Int32
}

func (h *harness) Backend() peering.Interface       { return h.fake }
func (h *harness) Clusters() (home, a, b string)    { return "home", "edge-a", "edge-b" }
func (h *harness) WaitOptions() peering.WaitOptions { return peering.WaitOptions{Clock: h.clk} }
func (h *harness) Close()                           {}
func (h *harness) CompletePeering(context.Context, peering.Key) error {
	h.clk.Step(time.Hour)
	return nil
}
func (h *harness) CompleteOffloading(context.Context, peering.NamespaceRef) error {
	h.clk.Step(time.Hour)
	return nil
}
func (h *harness) Namespace(_ context.Context, cluster string) (string, error) {
	ns := fmt.Sprintf("app-%d", h.n.Add(1))
	return ns, h.fake.CreateNamespace(cluster, ns)
}

func newFake(t *testing.T) (*peeringfake.Fake, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	f, err := peeringfake.New(peeringfake.Options{
		Clock:    clk,
		Clusters: map[string]peering.ClusterID{"home": "", "edge-a": "id-a", "edge-b": "id-b"},
		Latency:  map[peering.Key]time.Duration{{Consumer: "edge-a", Provider: "home"}: 3 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, clk
}

func TestConformance(t *testing.T) {
	peeringtest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (peeringtest.Harness, error) {
		f, clk := newFake(t)
		return &harness{fake: f, clk: clk}, nil
	})
}

func req(c, p string) peering.PeerRequest {
	return peering.PeerRequest{Key: peering.Key{Consumer: c, Provider: p}, Resources: peering.Resources{CPU: resource.MustParse("2")}}
}

func TestPeeringStepsFollowTheModel(t *testing.T) {
	f, clk := newFake(t)
	ctx := t.Context()
	k := req("home", "edge-a").Key
	if err := f.Peer(ctx, req("home", "edge-a")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after         time.Duration
		net, auth, vn bool
	}{
		{0, false, false, false},
		{5 * time.Second, false, true, false},
		{10 * time.Second, true, true, false},
		{20 * time.Second, true, true, true},
	}
	prev := time.Duration(0)
	for _, s := range steps {
		clk.Step(s.after - prev)
		prev = s.after
		p, err := f.GetPeering(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if p.NetworkEstablished != s.net || p.AuthenticationAccepted != s.auth || p.VirtualNodeReady != s.vn {
			t.Errorf("after %s: %s, want net=%v auth=%v vn=%v", s.after, peering.Summary(p), s.net, s.auth, s.vn)
		}
		if (p.Latency > 0) != s.net {
			t.Errorf("after %s: latency %s reported before/after the network", s.after, p.Latency)
		}
	}
	// Options.Latency applies in either direction.
	if err := f.Peer(ctx, req("home", "edge-b")); err != nil {
		t.Fatal(err)
	}
	if err := f.Peer(ctx, req("home", "edge-a")); !errors.Is(err, peering.ErrAlreadyPeered) {
		t.Errorf("Peer again = %v, want ErrAlreadyPeered", err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := peering.EnsurePeered(short, f, req("edge-a", "home"), peering.WaitOptions{Clock: clk}); !errors.Is(err, peering.ErrNotReady) {
		t.Fatalf("EnsurePeered before the fake clock moves = %v, want ErrNotReady", err)
	}
	clk.Step(time.Minute)
	p, err := f.GetPeering(ctx, peering.Key{Consumer: "edge-a", Provider: "home"})
	if err != nil || p.Latency != 3*time.Millisecond || p.ProviderID != "home" || p.ConsumerID != "id-a" {
		t.Errorf("edge-a->home = %+v, %v; want latency 3ms and IDs id-a, home", p, err)
	}
}

func TestWaitPeeredTimesOutOnTheFakeClock(t *testing.T) {
	f, clk := newFake(t)
	f.InjectPeeringFault(peering.Key{Consumer: "home", Provider: "edge-a"}, peeringfake.PeeringFault{NoNetwork: true})
	if err := f.Peer(t.Context(), req("home", "edge-a")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	accepted := make(chan struct{})
	var once sync.Once
	go func() {
		_, err := peering.WaitPeered(t.Context(), f, peering.Key{Consumer: "home", Provider: "edge-a"}, peering.WaitOptions{
			Clock: clk, Timeout: 5 * time.Minute,
			Progress: func(msg string) {
				if strings.Contains(msg, "authentication accepted") {
					once.Do(func() { close(accepted) })
				}
			},
		})
		done <- err
	}()
	// Step in small increments until the wait has seen authentication accepted (5 s
	// after Peer), so the timeout's message reflects it, then until the wait's timer,
	// created concurrently, has fired.
	var err error
	step, seen := 10*time.Second, (<-chan struct{})(accepted)
	for stepped := false; !stepped; {
		select {
		case err = <-done:
			stepped = true
		case <-seen:
			step, seen = time.Hour, nil
		default:
			clk.Step(step)
			time.Sleep(time.Millisecond)
		}
	}
	if !errors.Is(err, peering.ErrNotReady) {
		t.Fatalf("WaitPeered = %v, want ErrNotReady", err)
	}
	for _, want := range []string{"waiting for the network", "authentication accepted", "gateway connection is in error"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestRefusedResources(t *testing.T) {
	f, clk := newFake(t)
	k := peering.Key{Consumer: "home", Provider: "edge-b"}
	f.InjectPeeringFault(k, peeringfake.PeeringFault{RefuseResources: true})
	if err := f.Peer(t.Context(), req("home", "edge-b")); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	p, err := f.GetPeering(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NetworkEstablished || p.ResourcesAccepted || p.VirtualNodeReady || peering.IsPeered(p) {
		t.Errorf("refused peering = %s, want network only", peering.Summary(p))
	}
}

func TestFailedRemoteNamespaces(t *testing.T) {
	f, clk := newFake(t)
	ctx := t.Context()
	for _, p := range []string{"edge-a", "edge-b"} {
		if err := f.Peer(ctx, req("home", p)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Step(time.Hour)
	if err := f.CreateNamespace("home", "xr"); err != nil {
		t.Fatal(err)
	}
	f.FailRemoteNamespaces("edge-b", true)
	ref := peering.NamespaceRef{Cluster: "home", Namespace: "xr"}
	if err := f.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Mapping: peering.DefaultName, Targets: []string{"edge-a", "edge-b"}}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	o, err := f.GetOffloading(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if o.Phase != peering.PhaseSomeFailed || !o.Remote["edge-a"].Ready || o.Remote["edge-b"].Ready {
		t.Errorf("offloading = %+v, want SomeFailed with edge-a ready only", o)
	}
	if got := o.Remote["edge-a"].Name; got != "xr-home" {
		t.Errorf("DefaultName remote namespace = %q, want xr-home", got)
	}
	// Dropping the failed target makes the rest ready: only targets may change.
	if err := f.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Mapping: peering.DefaultName, Targets: []string{"edge-a"}}); err != nil {
		t.Fatal(err)
	}
	o, err = peering.WaitOffloaded(ctx, f, ref, peering.WaitOptions{Clock: clk})
	if err != nil || !peering.IsOffloaded(o) {
		t.Errorf("WaitOffloaded after dropping edge-b = %+v, %v", o, err)
	}
	f.FailRemoteNamespaces("edge-b", true)
	if err := f.CreateNamespace("home", "all-fail"); err != nil {
		t.Fatal(err)
	}
	ref2 := peering.NamespaceRef{Cluster: "home", Namespace: "all-fail"}
	if err := f.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref2, Targets: []string{"edge-b"}}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	if _, err := peering.WaitOffloaded(ctx, f, ref2, peering.WaitOptions{Clock: clk}); !errors.Is(err, peering.ErrNotReady) {
		t.Errorf("WaitOffloaded(AllFailed) = %v, want ErrNotReady", err)
	}
}

func TestCallLogAndOptions(t *testing.T) {
	f, _ := newFake(t)
	_, _ = f.GetPeering(t.Context(), peering.Key{Consumer: "home", Provider: "edge-a"})
	_ = f.Unoffload(t.Context(), peering.NamespaceRef{Cluster: "home", Namespace: "x"})
	calls := f.Calls()
	if len(calls) != 2 || calls[0].Op != "GetPeering" || calls[1].Op != "Unoffload" || calls[1].Namespace.Namespace != "x" {
		t.Errorf("Calls = %+v", calls)
	}
	for name, opts := range map[string]peeringfake.Options{
		"no clusters": {},
		"bad id":      {Clusters: map[string]peering.ClusterID{"a": "A_B"}},
		"shared id":   {Clusters: map[string]peering.ClusterID{"a": "x", "b": "x"}},
		"bad latency": {Clusters: map[string]peering.ClusterID{"a": ""}, Latency: map[peering.Key]time.Duration{{Consumer: "a", Provider: "b"}: -1}},
	} {
		if _, err := peeringfake.New(opts); err == nil {
			t.Errorf("New(%s) = nil error", name)
		}
	}
}

func TestAddCluster(t *testing.T) {
	f, clk := newFake(t)
	ctx := t.Context()
	if err := f.Peer(ctx, req("home", "edge-new")); !errors.Is(err, peering.ErrNotFound) {
		t.Fatalf("Peer to an unknown cluster = %v, want ErrNotFound", err)
	}
	if err := f.CreateNamespace("edge-new", "xr"); !errors.Is(err, peering.ErrNotFound) {
		t.Fatalf("CreateNamespace on an unknown cluster = %v, want ErrNotFound", err)
	}
	if err := f.AddCluster("edge-new", "id-new"); err != nil {
		t.Fatal(err)
	}
	if err := f.AddCluster("edge-new", "id-new"); err != nil {
		t.Errorf("AddCluster again with the same ID = %v, want nil", err)
	}
	if id, ok := f.ClusterID("edge-new"); !ok || id != "id-new" {
		t.Errorf("ClusterID(edge-new) = %q, %v", id, ok)
	}
	for name, args := range map[string][2]string{
		"other id":   {"edge-new", "id-other"},
		"taken id":   {"edge-c", "id-a"},
		"bad name":   {"Edge_C", ""},
		"bad id":     {"edge-c", "ID_C"},
		"name as id": {"edge-d", "home"},
	} {
		if err := f.AddCluster(args[0], peering.ClusterID(args[1])); !errors.Is(err, peering.ErrInvalid) {
			t.Errorf("AddCluster(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if calls := f.Calls(); len(calls) != 1 || calls[0].Op != "Peer" {
		t.Errorf("calls = %+v, want the one Peer (AddCluster is not recorded)", calls)
	}
	// The new cluster peers, provides and offloads like the others.
	if err := f.Peer(ctx, req("home", "edge-new")); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	p, err := peering.PinTo(ctx, f, "home", "edge-new")
	if err != nil || p.NodeSelector[peering.LabelRemoteClusterID] != "id-new" {
		t.Fatalf("PinTo(edge-new) = %+v, %v", p, err)
	}
	if err := f.CreateNamespace("home", "xr"); err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: "home", Namespace: "xr"}
	if err := f.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: []string{"edge-new"}}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	if o, err := f.GetOffloading(ctx, ref); err != nil || !peering.IsOffloaded(o) {
		t.Errorf("offloading to the added cluster = %+v, %v", o, err)
	}
	// A cluster added with an empty ID gets its name.
	if err := f.AddCluster("edge-e", ""); err != nil {
		t.Fatal(err)
	}
	if id, _ := f.ClusterID("edge-e"); id != "edge-e" {
		t.Errorf("ClusterID(edge-e) = %q, want the name", id)
	}
}
