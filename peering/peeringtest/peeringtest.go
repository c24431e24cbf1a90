package peeringtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/peering"
)

// Harness adapts one backend to the suite. A new Harness is made for every test.
type Harness interface {
	// Backend returns the backend under test.
	Backend() peering.Interface
	// Clusters returns three clusters the backend knows: home (the consumer that
	// offloads) and two providers a and b. No peering between them exists when a
	// test starts.
	Clusters() (home, a, b string)
	// Namespace creates a new namespace on cluster and returns its name.
	Namespace(ctx context.Context, cluster string) (string, error)
	// CompletePeering does what Liqo does after Peer until the peering is ready
	// (the fake steps its clock; a real backend's harness plays Liqo). It may run
	// concurrently with WaitPeered.
	CompletePeering(ctx context.Context, k peering.Key) error
	// CompleteOffloading does what Liqo does after Offload until the remote
	// namespaces are ready. It may run concurrently with WaitOffloaded.
	CompleteOffloading(ctx context.Context, ref peering.NamespaceRef) error
	// WaitOptions returns the options the suite passes to the wait functions (the
	// fake's clock, for instance); Progress and Timeout are set by the suite.
	WaitOptions() peering.WaitOptions
	// Close releases the harness's resources and removes what Liqo's part left.
	Close()
}

// WithoutLatency is implemented by a Harness whose backend measures no latency on an
// established peering (Liqo with its networking disabled has no Connection to read
// it from). The suite then wants the latency to be zero instead of positive.
type WithoutLatency interface {
	NoLatency() bool
}

// HarnessMaker makes a Harness for one test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the conformance suite of peering.Interface against the
// backend that newHarness adapts.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"PeerAndWait", testPeerAndWait},
		{"PeerInvalid", testPeerInvalid},
		{"PeerTwice", testPeerTwice},
		{"Missing", testMissing},
		{"List", testList},
		{"WaitPeeredEndsWithContext", testWaitPeeredContext},
		{"OffloadNeedsPeering", testOffloadNeedsPeering},
		{"OffloadPinUnoffloadUnpeer", testOffloadLifecycle},
		{"OffloadInvalid", testOffloadInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newHarness(t.Context(), t)
			if err != nil {
				t.Fatalf("making harness: %v", err)
			}
			t.Cleanup(h.Close)
			t.Cleanup(func() { unpeerAll(h) })
			tc.fn(t, h)
		})
	}
}

// timeout bounds each blocking step (a safety net against real servers, never an
// assertion about speed).
const timeout = 60 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// unpeerAll removes what a test left, so that the next test starts without
// peerings (on a real backend the clusters are shared).
func unpeerAll(h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ps, err := h.Backend().ListPeerings(ctx, peering.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range ps {
		_ = h.Backend().Unpeer(ctx, p.Key)
	}
}

func request(consumer, provider string) peering.PeerRequest {
	return peering.PeerRequest{
		Key:       peering.Key{Consumer: consumer, Provider: provider},
		Resources: peering.Resources{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), Pods: 110},
	}
}

func mustPeer(t *testing.T, h Harness, consumer, provider string) peering.Key {
	t.Helper()
	req := request(consumer, provider)
	if err := h.Backend().Peer(ctxFor(t), req); err != nil {
		t.Fatalf("Peer(%s): %v", req.Key, err)
	}
	return req.Key
}

// waitPeered completes the peering concurrently with WaitPeered, as Liqo does.
func waitPeered(t *testing.T, h Harness, k peering.Key) (*peering.Peering, []string) {
	t.Helper()
	ctx := ctxFor(t)
	var (
		mu   sync.Mutex
		msgs []string
	)
	opts := h.WaitOptions()
	opts.Progress = func(m string) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, m)
	}
	done := make(chan error, 1)
	go func() { done <- h.CompletePeering(ctx, k) }()
	p, err := peering.WaitPeered(ctx, h.Backend(), k, opts)
	if cerr := <-done; cerr != nil {
		t.Fatalf("CompletePeering(%s): %v", k, cerr)
	}
	if err != nil {
		t.Fatalf("WaitPeered(%s): %v", k, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return p, slices.Clone(msgs)
}

func peerReady(t *testing.T, h Harness, consumer, provider string) *peering.Peering {
	t.Helper()
	p, _ := waitPeered(t, h, mustPeer(t, h, consumer, provider))
	return p
}

func testPeerAndWait(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, _ := h.Clusters()
	req := request(home, a)
	if err := h.Backend().Peer(ctx, req); err != nil {
		t.Fatalf("Peer: %v", err)
	}
	p, err := h.Backend().GetPeering(ctx, req.Key)
	if err != nil {
		t.Fatalf("GetPeering: %v", err)
	}
	if p.Key != req.Key {
		t.Errorf("Key = %v, want %v", p.Key, req.Key)
	}
	if p.ConsumerID == "" || p.ProviderID == "" || p.ConsumerID == p.ProviderID {
		t.Errorf("cluster IDs = %q, %q; want two different non-empty IDs", p.ConsumerID, p.ProviderID)
	}
	if !p.Resources.Equal(req.Resources) {
		t.Errorf("Resources = %+v, want %+v", p.Resources, req.Resources)
	}
	if peering.IsPeered(p) || p.VirtualNodeReady {
		t.Errorf("a peering just requested is ready: %+v", p)
	}
	got, msgs := waitPeered(t, h, req.Key)
	if !peering.IsPeered(got) || !got.NetworkEstablished || !got.AuthenticationAccepted || !got.ResourcesAccepted || !got.VirtualNodeReady {
		t.Errorf("WaitPeered returned a peering that is not ready: %+v", got)
	}
	if nl, ok := h.(WithoutLatency); ok && nl.NoLatency() {
		if got.Latency != 0 {
			t.Errorf("Latency = %s from a backend that measures none, want 0", got.Latency)
		}
	} else if got.Latency <= 0 {
		t.Errorf("Latency = %s once the network is established, want > 0", got.Latency)
	}
	if len(msgs) == 0 || msgs[len(msgs)-1] != peering.Summary(got) {
		t.Errorf("progress = %q, want it to end with %q", msgs, peering.Summary(got))
	}
	again, err := h.Backend().GetPeering(ctx, req.Key)
	if err != nil || !peering.IsPeered(again) {
		t.Errorf("GetPeering after WaitPeered = %+v, %v; want ready", again, err)
	}
}

func testPeerInvalid(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, _ := h.Clusters()
	for name, req := range map[string]peering.PeerRequest{
		"self":         request(home, home),
		"no resources": {Key: peering.Key{Consumer: home, Provider: a}},
		"bad name":     request(home, "Not_A_Name"),
		"negative":     {Key: peering.Key{Consumer: home, Provider: a}, Resources: peering.Resources{Pods: -1}},
	} {
		if err := h.Backend().Peer(ctx, req); !errors.Is(err, peering.ErrInvalid) {
			t.Errorf("Peer(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if err := h.Backend().Peer(ctx, request(home, "no-such-cluster")); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("Peer(unknown provider) = %v, want ErrNotFound", err)
	}
	ps, err := h.Backend().ListPeerings(ctx, peering.ListOptions{})
	if err != nil {
		t.Fatalf("ListPeerings: %v", err)
	}
	if len(ps) != 0 {
		t.Errorf("invalid requests left peerings: %v", ps)
	}
}

func testPeerTwice(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, _ := h.Clusters()
	k := mustPeer(t, h, home, a)
	if err := h.Backend().Peer(ctx, request(home, a)); !errors.Is(err, peering.ErrAlreadyPeered) {
		t.Errorf("second Peer = %v, want ErrAlreadyPeered", err)
	}
	waitPeered(t, h, k)
	p, err := peering.EnsurePeered(ctx, h.Backend(), request(home, a), h.WaitOptions())
	if err != nil || !peering.IsPeered(p) {
		t.Errorf("EnsurePeered on a ready peering = %+v, %v; want it ready", p, err)
	}
	other := request(home, a)
	other.Resources.Pods = 3
	if _, err := peering.EnsurePeered(ctx, h.Backend(), other, h.WaitOptions()); !errors.Is(err, peering.ErrAlreadyPeered) {
		t.Errorf("EnsurePeered with other resources = %v, want ErrAlreadyPeered", err)
	}
}

func testMissing(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, _ := h.Clusters()
	k := peering.Key{Consumer: home, Provider: a}
	if _, err := h.Backend().GetPeering(ctx, k); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("GetPeering(missing) = %v, want ErrNotFound", err)
	}
	if err := h.Backend().Unpeer(ctx, k); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("Unpeer(missing) = %v, want ErrNotPeered", err)
	}
	if _, err := peering.WaitPeered(ctx, h.Backend(), k, h.WaitOptions()); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("WaitPeered(missing) = %v, want ErrNotFound", err)
	}
	if _, err := peering.PinTo(ctx, h.Backend(), home, a); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("PinTo(unpeered) = %v, want ErrNotPeered", err)
	}
	ref := peering.NamespaceRef{Cluster: home, Namespace: "not-offloaded"}
	if _, err := h.Backend().GetOffloading(ctx, ref); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("GetOffloading(missing) = %v, want ErrNotFound", err)
	}
	if err := h.Backend().Unoffload(ctx, ref); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("Unoffload(missing) = %v, want ErrNotFound", err)
	}
	if _, err := peering.WaitOffloaded(ctx, h.Backend(), ref, h.WaitOptions()); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("WaitOffloaded(missing) = %v, want ErrNotFound", err)
	}
}

func testList(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, b := h.Clusters()
	mustPeer(t, h, home, b)
	mustPeer(t, h, home, a)
	mustPeer(t, h, a, b)
	all, err := h.Backend().ListPeerings(ctx, peering.ListOptions{})
	if err != nil {
		t.Fatalf("ListPeerings: %v", err)
	}
	var keys []peering.Key
	for _, p := range all {
		keys = append(keys, p.Key)
	}
	want := []peering.Key{{Consumer: home, Provider: a}, {Consumer: home, Provider: b}, {Consumer: a, Provider: b}}
	slices.SortFunc(want, func(x, y peering.Key) int {
		return cmpKey(x, y)
	})
	if !slices.Equal(keys, want) {
		t.Errorf("ListPeerings = %v, want %v (sorted by consumer, provider)", keys, want)
	}
	toB, err := h.Backend().ListPeerings(ctx, peering.ListOptions{Provider: b})
	if err != nil {
		t.Fatalf("ListPeerings(provider): %v", err)
	}
	if len(toB) != 2 || toB[0].Provider != b || toB[1].Provider != b {
		t.Errorf("ListPeerings(provider %s) = %v, want the 2 peerings to it", b, toB)
	}
	fromHome, err := h.Backend().ListPeerings(ctx, peering.ListOptions{Consumer: home, Provider: a})
	if err != nil || len(fromHome) != 1 || fromHome[0].Key != (peering.Key{Consumer: home, Provider: a}) {
		t.Errorf("ListPeerings(%s->%s) = %v, %v; want exactly that peering", home, a, fromHome, err)
	}
}

func cmpKey(x, y peering.Key) int {
	if x.Consumer != y.Consumer {
		if x.Consumer < y.Consumer {
			return -1
		}
		return 1
	}
	switch {
	case x.Provider < y.Provider:
		return -1
	case x.Provider > y.Provider:
		return 1
	}
	return 0
}

func testWaitPeeredContext(t *testing.T, h Harness) {
	home, a, _ := h.Clusters()
	k := mustPeer(t, h, home, a)
	// CompletePeering is not called, so a fake or played backend never gets ready;
	// real Liqo would, but not within 300 ms of the request (about a second on a
	// 2-core machine; this case relies on that). The wait must end with the context
	// and say how far it got.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	p, err := peering.WaitPeered(ctx, h.Backend(), k, h.WaitOptions())
	if !errors.Is(err, peering.ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitPeered(never ready) = %v, want ErrNotReady and DeadlineExceeded", err)
	}
	if p == nil || peering.IsPeered(p) {
		t.Errorf("WaitPeered returned %+v, want the last state seen, not ready", p)
	}
}

func testOffloadNeedsPeering(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, b := h.Clusters()
	ns, err := h.Namespace(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	spec := peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: home, Namespace: ns}, Targets: []string{a}}
	if err := h.Backend().Offload(ctx, spec); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("Offload(unpeered target) = %v, want ErrNotPeered", err)
	}
	// A peering that is not ready yet is not enough either.
	mustPeer(t, h, home, a)
	if err := h.Backend().Offload(ctx, spec); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("Offload(target peering not ready) = %v, want ErrNotPeered", err)
	}
	// The reverse direction does not count: b consumes from home.
	peerReady(t, h, b, home)
	spec.Targets = []string{b}
	if err := h.Backend().Offload(ctx, spec); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("Offload(peered the other way) = %v, want ErrNotPeered", err)
	}
	if _, err := h.Backend().GetOffloading(ctx, spec.NamespaceRef); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("GetOffloading after refused offloads = %v, want ErrNotFound", err)
	}
}

func testOffloadLifecycle(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, b := h.Clusters()
	pa := peerReady(t, h, home, a)
	peerReady(t, h, home, b)
	ns, err := h.Namespace(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: home, Namespace: ns}
	spec := peering.OffloadSpec{NamespaceRef: ref, Targets: []string{b, a}}
	if err := h.Backend().Offload(ctx, spec); err != nil {
		t.Fatalf("Offload: %v", err)
	}
	o, err := h.Backend().GetOffloading(ctx, ref)
	if err != nil {
		t.Fatalf("GetOffloading: %v", err)
	}
	want := spec.WithDefaults()
	if o.Spec.Mapping != peering.EnforceSameName || o.Spec.Pods != peering.LocalAndRemote || !slices.Equal(o.Spec.Targets, want.Targets) || o.Spec.NamespaceRef != ref {
		t.Errorf("Spec read back = %+v, want %+v", o.Spec, want)
	}
	if peering.IsOffloaded(o) {
		t.Errorf("an offloading just requested is ready: %+v", o)
	}
	var msgs []string
	opts := h.WaitOptions()
	opts.Progress = func(m string) { msgs = append(msgs, m) }
	done := make(chan error, 1)
	go func() { done <- h.CompleteOffloading(ctx, ref) }()
	o, err = peering.WaitOffloaded(ctx, h.Backend(), ref, opts)
	if cerr := <-done; cerr != nil {
		t.Fatalf("CompleteOffloading: %v", cerr)
	}
	if err != nil {
		t.Fatalf("WaitOffloaded: %v", err)
	}
	for _, c := range []string{a, b} {
		r := o.Remote[c]
		if !r.Required || !r.Ready || r.Name != ns {
			t.Errorf("Remote[%s] = %+v, want required, ready, named %s (EnforceSameName)", c, r, ns)
		}
	}
	if len(msgs) == 0 {
		t.Error("WaitOffloaded reported no progress")
	}
	// Idempotent: the same spec again is accepted and changes nothing.
	if err := h.Backend().Offload(ctx, spec); err != nil {
		t.Errorf("Offload(same spec again) = %v", err)
	}
	if again, err := h.Backend().GetOffloading(ctx, ref); err != nil || !peering.IsOffloaded(again) {
		t.Errorf("after re-offloading the same spec: %+v, %v; want still offloaded", again, err)
	}
	changed := spec
	changed.Pods = peering.Remote
	if err := h.Backend().Offload(ctx, changed); !errors.Is(err, peering.ErrInvalid) {
		t.Errorf("Offload(changed pod strategy) = %v, want ErrInvalid", err)
	}
	// Pinning to a peered cluster names its cluster ID.
	pin, err := peering.PinTo(ctx, h.Backend(), home, a)
	if err != nil {
		t.Fatalf("PinTo(%s): %v", a, err)
	}
	if got := pin.NodeSelector[peering.LabelRemoteClusterID]; got != string(pa.ProviderID) {
		t.Errorf("PinTo(%s) node selector = %q, want %q", a, got, pa.ProviderID)
	}
	// A peering in use cannot go.
	if err := h.Backend().Unpeer(ctx, pa.Key); !errors.Is(err, peering.ErrInvalid) {
		t.Errorf("Unpeer while offloaded = %v, want ErrInvalid", err)
	}
	if err := h.Backend().Unoffload(ctx, ref); err != nil {
		t.Fatalf("Unoffload: %v", err)
	}
	if _, err := h.Backend().GetOffloading(ctx, ref); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("GetOffloading after Unoffload = %v, want ErrNotFound", err)
	}
	if err := h.Backend().Unpeer(ctx, pa.Key); err != nil {
		t.Fatalf("Unpeer: %v", err)
	}
	if _, err := h.Backend().GetPeering(ctx, pa.Key); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("GetPeering after Unpeer = %v, want ErrNotFound", err)
	}
	if _, err := peering.PinTo(ctx, h.Backend(), home, a); !errors.Is(err, peering.ErrNotPeered) {
		t.Errorf("PinTo after Unpeer = %v, want ErrNotPeered", err)
	}
}

func testOffloadInvalid(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	home, a, _ := h.Clusters()
	peerReady(t, h, home, a)
	if err := h.Backend().Offload(ctx, peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: home, Namespace: "no-such-namespace"}, Targets: []string{a}}); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("Offload(missing namespace) = %v, want ErrNotFound", err)
	}
	ns, err := h.Namespace(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: home, Namespace: ns}
	for name, spec := range map[string]peering.OffloadSpec{
		"no targets":   {NamespaceRef: ref},
		"self target":  {NamespaceRef: ref, Targets: []string{home}},
		"bad mapping":  {NamespaceRef: ref, Targets: []string{a}, Mapping: "Same"},
		"bad pods":     {NamespaceRef: ref, Targets: []string{a}, Pods: "Everywhere"},
		"stray remote": {NamespaceRef: ref, Targets: []string{a}, RemoteNamespace: "x"},
	} {
		if err := h.Backend().Offload(ctx, spec); !errors.Is(err, peering.ErrInvalid) {
			t.Errorf("Offload(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := h.Backend().GetOffloading(ctx, ref); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("invalid offloads left an offloading: %v", err)
	}
}
