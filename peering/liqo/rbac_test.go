package liqo_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// TestRBACExactRole runs the backend as a user bound on every cluster to exactly
// liqo.RBACYAML: forbidden before the binding; after it, the whole lifecycle (peer
// home -> a and home -> b, list, watch-based waits, offload to {a, b}, pin,
// unoffload, unpeer), with liqoplay playing Liqo as admin; and still forbidden
// what the role does not grant (reading Secrets).
func TestRBACExactRole(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	p, err := seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A user and bindings per run: with -count=N the previous run's bindings may
	// still be in the authorizer's cache.
	rbacUser := fmt.Sprintf("continuum-peering-test-%d", p.Generation())
	role, err := liqo.ClusterRole()
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]client.WithWatch{}
	for _, c := range env.Clusters {
		if users[c.Name], err = env.UserClient(c, rbacUser); err != nil {
			t.Fatal(err)
		}
	}
	b := newBackend(t, users)
	if err := b.Peer(ctx, request("home", "a")); !apierrors.IsForbidden(err) {
		t.Fatalf("Peer without the role = %v, want Forbidden", err)
	}
	for name, c := range admin {
		r := role.DeepCopy()
		r.Name = rbacUser
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: rbacUser},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: rbacUser}},
		}
		if err := c.Create(ctx, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.Create(ctx, binding); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { // t.Context() has ended when cleanups run
			_ = c.Delete(context.Background(), binding)
			_ = c.Delete(context.Background(), r)
		})
		if err := testenv.WaitAllowed(ctx, c, testenv.Subject{User: rbacUser}, "", r.Rules); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	for _, prov := range []string{"a", "b"} {
		req := request("home", prov)
		done := make(chan error, 1)
		if err := b.Peer(ctx, req); err != nil {
			t.Fatalf("Peer(%s) with the role: %v", req.Key, err)
		}
		go func() { done <- p.CompletePeering(ctx, req.Key) }()
		if _, err := peering.WaitPeered(ctx, b, req.Key, peering.WaitOptions{}); err != nil {
			t.Fatalf("WaitPeered(%s): %v", req.Key, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if ps, err := b.ListPeerings(ctx, peering.ListOptions{}); err != nil || len(ps) != 2 {
		t.Fatalf("ListPeerings = %d peerings, %v; want 2", len(ps), err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xr-"}}
	if err := admin["home"].Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: "home", Namespace: ns.Name}
	if err := b.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: []string{"a", "b"}}); err != nil {
		t.Fatalf("Offload: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.CompleteOffloading(ctx, ref) }()
	if _, err := peering.WaitOffloaded(ctx, b, ref, peering.WaitOptions{}); err != nil {
		t.Fatalf("WaitOffloaded: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := peering.PinTo(ctx, b, "home", "a"); err != nil {
		t.Fatalf("PinTo: %v", err)
	}
	if err := b.Unoffload(ctx, ref); err != nil {
		t.Fatalf("Unoffload: %v", err)
	}
	for _, prov := range []string{"a", "b"} {
		if err := b.Unpeer(ctx, peering.Key{Consumer: "home", Provider: prov}); err != nil {
			t.Fatalf("Unpeer(home->%s): %v", prov, err)
		}
	}
	// Not granted: reading Secrets.
	if err := users["home"].List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the backend's user = %v, want Forbidden", err)
	}
	if err := users["home"].Get(ctx, client.ObjectKey{Namespace: liqo.TenantNamespace(p.ID("a")), Name: "gateway-keys"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("get a key Secret as the backend's user = %v, want Forbidden", err)
	}
}
