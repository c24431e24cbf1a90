package liqo_test

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/liqoplay"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// written names every object Peer writes on one side.
type written struct {
	c    client.Client
	objs []client.Object
}

func peerObjects(p *liqoplay.Player, k peering.Key) (provider, consumer written) {
	cid, pid := p.ID(k.Consumer), p.ID(k.Provider)
	pns, cns := liqo.TenantNamespace(cid), liqo.TenantNamespace(pid)
	key := func(o client.Object, ns, name string) client.Object { o.SetNamespace(ns); o.SetName(name); return o }
	provider = written{admin[k.Provider], []client.Object{
		key(&corev1.Namespace{}, "", pns),
		key(&networkingv1beta1.Configuration{}, pns, string(cid)),
		key(&corev1.Secret{}, pns, "gateway-keys"),
		key(&networkingv1beta1.PublicKey{}, pns, string(cid)),
		key(&networkingv1beta1.GatewayServer{}, pns, string(cid)),
		key(&authv1beta1.Tenant{}, pns, string(cid)),
		key(&corev1.ServiceAccount{}, pns, "liqo-consumer"),
		key(&rbacv1.RoleBinding{}, pns, "liqo-remote-controlplane"),
	}}
	consumer = written{admin[k.Consumer], []client.Object{
		key(&corev1.Namespace{}, "", cns),
		key(&networkingv1beta1.Configuration{}, cns, string(pid)),
		key(&corev1.Secret{}, cns, "gateway-keys"),
		key(&networkingv1beta1.PublicKey{}, cns, string(pid)),
		key(&networkingv1beta1.GatewayClient{}, cns, string(pid)),
		key(&corev1.Secret{}, cns, "liqo-identity-controlplane"),
		key(&authv1beta1.ResourceSlice{}, cns, string(pid)),
	}}
	return provider, consumer
}

// versions reads every object and returns its resourceVersion, by kind and name.
func versions(t *testing.T, sides ...written) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range sides {
		for _, o := range s.objs {
			if err := s.c.Get(t.Context(), client.ObjectKeyFromObject(o), o); err != nil {
				t.Fatalf("reading %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
			}
			out[fmt.Sprintf("%T %s/%s", o, o.GetNamespace(), o.GetName())] = o.GetResourceVersion()
		}
	}
	return out
}

// TestPeerWritesLiqosObjects peers home -> a on real apiservers and checks every
// object of Liqo's declarative peering, including what the CRD schemas do not check
// (32-byte keys that pair up across the sides, NodePort, TolerateNoHandshake), that
// the consumer's kubeconfig authenticates on the provider as the consumer's
// ServiceAccount, that peering again writes nothing, and that Unpeer removes exactly
// what Peer wrote.
func TestPeerWritesLiqosObjects(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, admin)
	req := request("home", "a")
	if err := b.Peer(ctx, req); err != nil {
		t.Fatalf("Peer: %v", err)
	}
	prov, cons := peerObjects(p, req.Key)
	before := versions(t, prov, cons)
	cid, pid := p.ID("home"), p.ID("a")

	// Tenant namespaces.
	for _, s := range []struct {
		ns   *corev1.Namespace
		peer peering.ClusterID
	}{{prov.objs[0].(*corev1.Namespace), cid}, {cons.objs[0].(*corev1.Namespace), pid}} {
		if s.ns.Labels["liqo.io/remote-cluster-id"] != string(s.peer) || s.ns.Labels["liqo.io/tenant-namespace"] != "true" {
			t.Errorf("tenant namespace %s labels = %v", s.ns.Name, s.ns.Labels)
		}
	}
	// Configurations carry the peer's CIDRs (home: 10.10/16, 10.11/16; a: 10.20/16, 10.21/16).
	for _, s := range []struct {
		cfg      *networkingv1beta1.Configuration
		pod, ext networkingv1beta1.CIDR
	}{{prov.objs[1].(*networkingv1beta1.Configuration), "10.10.0.0/16", "10.11.0.0/16"}, {cons.objs[1].(*networkingv1beta1.Configuration), "10.20.0.0/16", "10.21.0.0/16"}} {
		r := s.cfg.Spec.Remote.CIDR
		if !slices.Equal(r.Pod, []networkingv1beta1.CIDR{s.pod}) || !slices.Equal(r.External, []networkingv1beta1.CIDR{s.ext}) {
			t.Errorf("Configuration %s/%s remote CIDRs = %+v, want pod %s external %s", s.cfg.Namespace, s.cfg.Name, r, s.pod, s.ext)
		}
	}
	// Keys: raw 32-byte X25519 keys; each side's PublicKey is the other's public key.
	pKeys, cKeys := prov.objs[2].(*corev1.Secret), cons.objs[2].(*corev1.Secret)
	for _, s := range []*corev1.Secret{pKeys, cKeys} {
		priv, pub := s.Data["privateKey"], s.Data["publicKey"]
		if len(priv) != 32 || len(pub) != 32 {
			t.Fatalf("key Secret %s: %d/%d bytes, want raw 32-byte keys", s.Namespace, len(priv), len(pub))
		}
		k, err := ecdh.X25519().NewPrivateKey(priv)
		if err != nil || !slices.Equal(k.PublicKey().Bytes(), pub) {
			t.Errorf("key Secret %s: the public key is not the private key's (%v)", s.Namespace, err)
		}
		if s.Labels["networking.liqo.io/gateway-resource"] != "true" || s.Labels["liqo.io/remote-cluster-id"] == "" {
			t.Errorf("key Secret %s labels = %v", s.Namespace, s.Labels)
		}
	}
	if got := prov.objs[3].(*networkingv1beta1.PublicKey).Spec.PublicKey; !slices.Equal(got, cKeys.Data["publicKey"]) {
		t.Errorf("provider's PublicKey (%d bytes) is not the consumer's public key", len(got))
	}
	if got := cons.objs[3].(*networkingv1beta1.PublicKey).Spec.PublicKey; !slices.Equal(got, pKeys.Data["publicKey"]) {
		t.Errorf("consumer's PublicKey (%d bytes) is not the provider's public key", len(got))
	}
	// Gateways: a NodePort server (the CRD would default ClusterIP) and a client
	// dialing its node port over UDP.
	gs := prov.objs[4].(*networkingv1beta1.GatewayServer).Spec
	if gs.Endpoint.Port != 51840 || gs.Endpoint.ServiceType != corev1.ServiceTypeNodePort || gs.Endpoint.NodePort == nil || gs.MTU != 1340 ||
		gs.SecretRef.Name != pKeys.Name || gs.ServerTemplateRef.Name != "wireguard-server" || gs.ServerTemplateRef.Namespace != "liqo" || gs.ServerTemplateRef.Kind != "WgGatewayServerTemplate" {
		t.Errorf("GatewayServer spec = %+v", gs)
	}
	gc := cons.objs[4].(*networkingv1beta1.GatewayClient).Spec
	if gs.Endpoint.NodePort == nil || gc.Endpoint.Port != *gs.Endpoint.NodePort || gc.Endpoint.Protocol == nil || *gc.Endpoint.Protocol != corev1.ProtocolUDP ||
		!slices.Equal(gc.Endpoint.Addresses, endpoints()["a"].GatewayAddresses) || gc.MTU != 1340 || gc.SecretRef.Name != cKeys.Name ||
		gc.ClientTemplateRef.Name != "wireguard-client" || gc.ClientTemplateRef.Kind != "WgGatewayClientTemplate" {
		t.Errorf("GatewayClient spec = %+v (server node port %v)", gc, gs.Endpoint.NodePort)
	}
	// Authentication: the Tenant tolerates the missing handshake (the CRD would
	// default KeysExchange); the consumer's account is bound to liqo-remote-controlplane.
	tenant := prov.objs[5].(*authv1beta1.Tenant)
	if string(tenant.Spec.ClusterID) != string(cid) || tenant.Spec.AuthzPolicy == nil || *tenant.Spec.AuthzPolicy != authv1beta1.TolerateNoHandshake {
		t.Errorf("Tenant spec = %+v", tenant.Spec)
	}
	rb := prov.objs[7].(*rbacv1.RoleBinding)
	if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "liqo-remote-controlplane" || len(rb.Subjects) != 1 ||
		rb.Subjects[0].Kind != "ServiceAccount" || rb.Subjects[0].Name != "liqo-consumer" || rb.Subjects[0].Namespace != liqo.TenantNamespace(cid) {
		t.Errorf("RoleBinding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	// Identity: the provider's kubeconfig, authenticating as the consumer's account.
	id := cons.objs[5].(*corev1.Secret)
	if id.Labels["liqo.io/remote-cluster-id"] != string(pid) || id.Labels["liqo.io/identity-type"] != "ControlPlane" ||
		id.Annotations["liqo.io/remote-tenant-namespace"] != liqo.TenantNamespace(cid) {
		t.Errorf("identity Secret labels %v annotations %v", id.Labels, id.Annotations)
	}
	kc, err := clientcmd.Load(id.Data["kubeconfig"])
	if err != nil {
		t.Fatal("the identity Secret's kubeconfig does not parse")
	}
	kctx := kc.Contexts[kc.CurrentContext]
	if kctx == nil || kctx.Namespace != liqo.TenantNamespace(cid) || kc.Clusters[kctx.Cluster].Server != env.Cluster("a").Config.Host {
		t.Errorf("kubeconfig context %+v does not point at a's tenant namespace for home", kctx)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(id.Data["kubeconfig"])
	if err != nil {
		t.Fatal("the identity Secret's kubeconfig gives no REST config")
	}
	asConsumer, err := client.New(rc, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := asConsumer.Create(ctx, review); err != nil {
		t.Fatalf("SelfSubjectReview with the consumer's kubeconfig: %v", err)
	}
	if want := "system:serviceaccount:" + liqo.TenantNamespace(cid) + ":liqo-consumer"; review.Status.UserInfo.Username != want {
		t.Errorf("the consumer's kubeconfig authenticates as %q, want %q", review.Status.UserInfo.Username, want)
	}
	// Offloading: the ResourceSlice.
	rs := cons.objs[6].(*authv1beta1.ResourceSlice)
	if rs.Labels["liqo.io/replication"] != "true" || rs.Labels["liqo.io/remoteID"] != string(pid) || rs.Labels["liqo.io/remote-cluster-id"] != string(pid) ||
		rs.Annotations["liqo.io/create-virtual-node"] != "true" || rs.Spec.Class != "default" || rs.Spec.ProviderClusterID == nil || string(*rs.Spec.ProviderClusterID) != string(pid) {
		t.Errorf("ResourceSlice = labels %v annotations %v spec %+v", rs.Labels, rs.Annotations, rs.Spec)
	}
	if cpu, pods := rs.Spec.Resources[corev1.ResourceCPU], rs.Spec.Resources[corev1.ResourcePods]; cpu.String() != "4" || pods.Value() != 110 {
		t.Errorf("ResourceSlice resources = %v", rs.Spec.Resources)
	}

	// Peering again writes nothing.
	if err := b.Peer(ctx, req); !errors.Is(err, peering.ErrAlreadyPeered) {
		t.Errorf("second Peer = %v, want ErrAlreadyPeered", err)
	}
	if after := versions(t, prov, cons); !mapsEqual(before, after) {
		t.Errorf("a second Peer changed objects:\nbefore %v\nafter  %v", before, after)
	}
	// The reverse direction of a peered pair is refused (one network per pair).
	if err := b.Peer(ctx, request("a", "home")); !errors.Is(err, peering.ErrInvalid) {
		t.Errorf("Peer(a->home) while home->a = %v, want ErrInvalid", err)
	}

	// Unpeer removes exactly what Peer wrote: every object, and the namespaces go
	// (they stay Terminating on envtest, which has no namespace controller).
	if err := b.Unpeer(ctx, req.Key); err != nil {
		t.Fatalf("Unpeer: %v", err)
	}
	for _, s := range []written{prov, cons} {
		for _, o := range s.objs {
			err := s.c.Get(ctx, client.ObjectKeyFromObject(o), o)
			if _, isNS := o.(*corev1.Namespace); isNS {
				if err == nil && o.GetDeletionTimestamp() == nil {
					t.Errorf("namespace %s not deleted", o.GetName())
				}
				continue
			}
			if !apierrors.IsNotFound(err) {
				t.Errorf("%T %s/%s after Unpeer: %v, want NotFound", o, o.GetNamespace(), o.GetName(), err)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPeerNeedsLiqosInputs: without the cluster-ID ConfigMap and the Networks that
// Liqo's installation and IPAM provide, Peer fails with ErrNotReady and writes
// nothing.
func TestPeerNeedsLiqosInputs(t *testing.T) {
	testenv.Require(t)
	b, err := liqo.New(admin, liqo.Options{LiqoNamespace: "liqo-not-installed", Endpoints: endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Peer(t.Context(), request("home", "a"))
	if !errors.Is(err, peering.ErrNotReady) || !strings.HasPrefix(err.Error(), "liqo: ") {
		t.Errorf("Peer without Liqo's inputs = %v, want a liqo: error wrapping ErrNotReady", err)
	}
	if _, err := b.ListPeerings(t.Context(), peering.ListOptions{}); !errors.Is(err, peering.ErrNotReady) {
		t.Errorf("ListPeerings without cluster IDs = %v, want ErrNotReady", err)
	}
}

// TestOffloadWritesNamespaceOffloading offloads to {a} then {a, b} and checks the
// NamespaceOffloading Liqo's webhook and controllers expect; re-offloading the same
// spec writes nothing; pinning to a names a's cluster ID; Unoffload deletes it.
func TestOffloadWritesNamespaceOffloading(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, admin)
	for _, prov := range []string{"a", "b"} {
		req := request("home", prov)
		if err := b.Peer(ctx, req); err != nil {
			t.Fatal(err)
		}
		if err := p.CompletePeering(ctx, req.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := peering.WaitPeered(ctx, b, req.Key, peering.WaitOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Unpeer(context.Background(), req.Key) }) // t.Context() has ended
	}
	h := &harness{b: b, player: p}
	ns, err := h.Namespace(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: "home", Namespace: ns}
	read := func() *offloadingv1beta1.NamespaceOffloading {
		t.Helper()
		var o offloadingv1beta1.NamespaceOffloading
		if err := admin["home"].Get(ctx, client.ObjectKey{Namespace: ns, Name: "offloading"}, &o); err != nil {
			t.Fatalf("reading the NamespaceOffloading: %v", err)
		}
		return &o
	}
	check := func(o *offloadingv1beta1.NamespaceOffloading, ids ...peering.ClusterID) {
		t.Helper()
		var want []string
		for _, id := range ids {
			want = append(want, string(id))
		}
		slices.Sort(want)
		terms := o.Spec.ClusterSelector.NodeSelectorTerms
		if o.Spec.NamespaceMappingStrategy != offloadingv1beta1.EnforceSameNameMappingStrategyType ||
			o.Spec.PodOffloadingStrategy != offloadingv1beta1.LocalAndRemotePodOffloadingStrategyType ||
			len(terms) != 1 || len(terms[0].MatchExpressions) != 1 ||
			terms[0].MatchExpressions[0].Key != "liqo.io/remote-cluster-id" || terms[0].MatchExpressions[0].Operator != corev1.NodeSelectorOpIn ||
			!slices.Equal(terms[0].MatchExpressions[0].Values, want) {
			t.Errorf("NamespaceOffloading spec = %+v, want EnforceSameName, LocalAndRemote, remote-cluster-id In %v", o.Spec, want)
		}
	}
	spec := peering.OffloadSpec{NamespaceRef: ref, Targets: []string{"a"}}
	if err := b.Offload(ctx, spec); err != nil {
		t.Fatalf("Offload({a}): %v", err)
	}
	first := read()
	check(first, p.ID("a"))
	if err := b.Offload(ctx, spec); err != nil {
		t.Fatalf("Offload({a}) again: %v", err)
	}
	if again := read(); again.ResourceVersion != first.ResourceVersion {
		t.Errorf("re-offloading the same spec wrote (resourceVersion %s -> %s)", first.ResourceVersion, again.ResourceVersion)
	}
	spec.Targets = []string{"b", "a"}
	if err := b.Offload(ctx, spec); err != nil {
		t.Fatalf("Offload({a, b}): %v", err)
	}
	check(read(), p.ID("a"), p.ID("b"))
	if err := p.CompleteOffloading(ctx, ref); err != nil {
		t.Fatal(err)
	}
	o, err := peering.WaitOffloaded(ctx, b, ref, peering.WaitOptions{})
	if err != nil {
		t.Fatalf("WaitOffloaded: %v", err)
	}
	if !slices.Equal(o.Spec.Targets, []string{"a", "b"}) || o.Remote["a"].Name != ns || !o.Remote["b"].Ready {
		t.Errorf("offloading read back = %+v", o)
	}
	pin, err := peering.PinTo(ctx, b, "home", "a")
	if err != nil || pin.NodeSelector["liqo.io/remote-cluster-id"] != string(p.ID("a")) {
		t.Errorf("PinTo(a) = %+v, %v; want node selector on %s", pin, err, p.ID("a"))
	}
	if err := b.Unoffload(ctx, ref); err != nil {
		t.Fatalf("Unoffload: %v", err)
	}
	if err := admin["home"].Get(ctx, client.ObjectKey{Namespace: ns, Name: "offloading"}, &offloadingv1beta1.NamespaceOffloading{}); !apierrors.IsNotFound(err) {
		t.Errorf("NamespaceOffloading after Unoffload: %v, want NotFound", err)
	}
}

// TestPlayerRunInBackground: with liqoplay's Run in the background and no step-by-step
// completion, a peering becomes ready by itself, reports the latency SetLatency sets
// (as Liqo formats it), and an offloading to two clusters becomes ready.
func TestPlayerRunInBackground(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run = %v, want nil when its context ends", err)
		}
	}()
	b := newBackend(t, admin)
	wait := peering.WaitOptions{Timeout: 30 * time.Second}
	req := request("home", "a")
	if err := b.Peer(ctx, req); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Unpeer(context.Background(), req.Key) })
	pr, err := peering.WaitPeered(ctx, b, req.Key, wait)
	if err != nil {
		t.Fatalf("WaitPeered with the player running: %v", err)
	}
	if pr.Latency != liqoplay.DefaultLatency {
		t.Errorf("latency %v, want the player's default %v", pr.Latency, liqoplay.DefaultLatency)
	}
	p.SetLatency("a", "home", 7400*time.Microsecond) // either order; Liqo reports whole ms
	deadline := time.Now().Add(10 * time.Second)
	for {
		pr, err := b.GetPeering(ctx, req.Key)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Latency == 7*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("latency %v after SetLatency(7.4ms), want 7ms", pr.Latency)
		}
		time.Sleep(50 * time.Millisecond)
	}

	reqB := request("home", "b")
	if err := b.Peer(ctx, reqB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Unpeer(context.Background(), reqB.Key) })
	if _, err := peering.WaitPeered(ctx, b, reqB.Key, wait); err != nil {
		t.Fatal(err)
	}
	h := &harness{b: b, player: p}
	ns, err := h.Namespace(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: "home", Namespace: ns}
	if err := b.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Unoffload(context.Background(), ref) })
	if _, err := peering.WaitOffloaded(ctx, b, ref, wait); err != nil {
		t.Fatalf("WaitOffloaded with the player running: %v", err)
	}
	if got := p.Peered(); !slices.Equal(got, []string{"home->a", "home->b"}) {
		t.Errorf("Peered() = %v", got)
	}
}
