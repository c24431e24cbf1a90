package capi_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// TestRBACExactRole runs the backend as a user bound to exactly capi.ClusterRoleYAML:
// forbidden before the binding, the whole lifecycle (create, get, list, watch-based
// wait, scale, kubeconfig, delete) after it, and still forbidden what the role does not
// grant.
func TestRBACExactRole(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	uc, err := env.UserClient(env.Clusters[0], "continuum-provisioner-test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := capi.New(uc, capi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	spec := provision.ClusterSpec{Name: "rbac", Namespace: ns, KubernetesVersion: "v1.33.1", Workers: 2}
	if err := b.Create(ctx, spec); !apierrors.IsForbidden(err) {
		t.Fatalf("create without the role = %v, want Forbidden", err)
	}

	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(capi.ClusterRoleYAML, &role); err != nil {
		t.Fatalf("rbac.yaml: %v", err)
	}
	if err := wc.Create(ctx, &role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "continuum-provisioner-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "continuum-provisioner-test"}},
	}
	if err := wc.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // t.Context() has ended when cleanups run
		_ = wc.Delete(context.Background(), binding)
		_ = wc.Delete(context.Background(), &role)
	})
	if err := testenv.WaitAllowed(ctx, wc, testenv.Subject{User: "continuum-provisioner-test"}, "", role.Rules); err != nil {
		t.Fatal(err)
	}

	if err := b.Create(ctx, spec); err != nil {
		t.Fatalf("create with the role: %v", err)
	}
	if _, err := b.Get(ctx, spec.Ref()); err != nil {
		t.Fatalf("get: %v", err)
	}
	if list, err := b.List(ctx, provision.ListOptions{Namespace: ns}); err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %d clusters", err, len(list))
	}
	// The controllers' part is played with the admin client; the wait runs as the user.
	if err := newPlayer().Complete(ctx, spec.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, err := provision.WaitReady(ctx, b, spec.Ref(), provision.WaitOptions{}); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := b.Scale(ctx, spec.Ref(), 3); err != nil {
		t.Fatalf("scale: %v", err)
	}
	if _, err := b.Kubeconfig(ctx, spec.Ref()); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	if err := b.Delete(ctx, spec.Ref()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// Not granted: listing Secrets, deleting namespaces.
	if err := uc.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the provisioner = %v, want Forbidden", err)
	}
}
