package liqo_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/liqoplay"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// TestPlansWriteNothing: PlanPeer and PlanOffload return the objects Peer and Offload
// would write, with placeholders for key material and tokens, and write nothing.
func TestPlansWriteNothing(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, admin)
	req := request("home", "a")
	prov, cons, err := b.PlanPeer(ctx, req)
	if err != nil {
		t.Fatalf("PlanPeer: %v", err)
	}
	if len(prov) == 0 || len(cons) == 0 {
		t.Fatalf("PlanPeer returned %d provider and %d consumer objects", len(prov), len(cons))
	}
	last, ok := cons[len(cons)-1].(*authv1beta1.ResourceSlice)
	if !ok || last.Name != string(p.ID("a")) {
		t.Errorf("last consumer object = %T %v, want the ResourceSlice named after the provider", cons[len(cons)-1], cons[len(cons)-1].GetName())
	}
	for _, o := range append(prov, cons...) {
		if s, ok := o.(*corev1.Secret); ok {
			for k, v := range s.Data {
				if !strings.Contains(string(v), "<generated when peering>") {
					t.Errorf("Secret %s/%s key %s carries real material in a plan", s.Namespace, s.Name, k)
				}
			}
		}
	}
	if _, err := b.GetPeering(ctx, req.Key); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("after PlanPeer, GetPeering = %v, want ErrNotFound (nothing written)", err)
	}
	var nss corev1.NamespaceList
	if err := admin["a"].List(ctx, &nss); err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		if strings.HasSuffix(ns.Name, string(p.ID("home"))) {
			t.Errorf("PlanPeer created namespace %s on the provider", ns.Name)
		}
	}

	// PlanOffload needs the peering; after it, it plans the NamespaceOffloading.
	if err := b.Peer(ctx, req); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Unpeer(context.Background(), req.Key) })
	if err := p.CompletePeering(ctx, req.Key); err != nil {
		t.Fatal(err)
	}
	h := &harness{b: b, player: p}
	ns, err := h.Namespace(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	spec := peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: "home", Namespace: ns}, Targets: []string{"a"}}
	obj, err := b.PlanOffload(ctx, spec)
	if err != nil {
		t.Fatalf("PlanOffload: %v", err)
	}
	nso, ok := obj.(*offloadingv1beta1.NamespaceOffloading)
	if !ok || nso.Name != "offloading" || nso.Spec.ClusterSelector.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != string(p.ID("a")) {
		t.Fatalf("planned %#v", obj)
	}
	if _, err := b.GetOffloading(ctx, spec.NamespaceRef); !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("after PlanOffload, GetOffloading = %v, want ErrNotFound", err)
	}
}

// TestNetworkingDisabled: with Options.NetworkingDisabled the backend writes Liqo's
// authentication and offloading objects only (no Configuration, key Secret,
// PublicKey or gateway), needs no gateway addresses, and a peering is established
// without any Connection (it has no latency then).
func TestNetworkingDisabled(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seedWith(ctx, liqoplay.Options{NetworkingDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	eps := endpoints()
	for name, ep := range eps {
		ep.GatewayAddresses = nil
		eps[name] = ep
	}
	withNet, err := liqo.New(admin, liqo.Options{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	req := request("home", "a")
	if err := withNet.Peer(ctx, req); !errors.Is(err, peering.ErrInvalid) || !strings.Contains(err.Error(), "gateway addresses") {
		t.Fatalf("Peer with networking and no gateway addresses = %v, want ErrInvalid naming them", err)
	}
	b, err := liqo.New(admin, liqo.Options{Endpoints: eps, NetworkingDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	prov, cons, err := b.PlanPeer(ctx, req)
	if err != nil {
		t.Fatalf("PlanPeer: %v", err)
	}
	// Liqo's networking types by their Go package (%T prints the package's name,
	// v1beta1, which several Liqo API groups share).
	netPkg := reflect.TypeFor[networkingv1beta1.GatewayServer]().PkgPath()
	isNetworking := func(o client.Object) bool { return reflect.TypeOf(o).Elem().PkgPath() == netPkg }
	if !isNetworking(&networkingv1beta1.GatewayServer{}) || isNetworking(&corev1.Secret{}) {
		t.Fatal("the networking-type check does not tell networking objects apart")
	}
	var kinds []string
	for _, o := range append(prov, cons...) {
		kinds = append(kinds, fmt.Sprintf("%T", o))
		if isNetworking(o) {
			t.Errorf("networking object %T %s planned with networking disabled", o, o.GetName())
		}
		if s, ok := o.(*corev1.Secret); ok && s.Name == "gateway-keys" {
			t.Errorf("key Secret planned with networking disabled")
		}
	}
	t.Logf("objects: %v", kinds)
	if err := b.Peer(ctx, req); err != nil {
		t.Fatalf("Peer: %v", err)
	}
	t.Cleanup(func() { _ = b.Unpeer(context.Background(), req.Key) })
	if err := p.CompletePeering(ctx, req.Key); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetPeering(ctx, req.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !peering.IsPeered(got) || !got.NetworkEstablished || got.Latency != 0 {
		t.Errorf("peering = %+v; want ready, network established, no latency", got)
	}
}
