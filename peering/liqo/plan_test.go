package liqo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
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
