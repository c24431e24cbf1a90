package act_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/acttest"
)

// TestRBACExactRole runs KubeWorkloads as a user bound to exactly
// act.ClusterRoleYAML: forbidden before the binding; after it, the whole Workloads
// conformance suite (templates and statuses written as admin, as the user and the
// controllers would); and still forbidden what the role does not grant.
func TestRBACExactRole(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(act.ClusterRoleYAML, &role); err != nil {
		t.Fatalf("rbac.yaml: %v", err)
	}
	if role.Name != "continuum-act" {
		t.Errorf("ClusterRole name = %q, want continuum-act", role.Name)
	}
	// A user, role and binding per run: with -count=N an earlier run's binding may
	// still be in the authorizer's cache.
	name := fmt.Sprintf("continuum-act-test-%d", nsCounter.Add(1))
	user, err := env.Clusters[0].Env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := user.Config()
	cfg.QPS, cfg.Burst = 1000, 2000 // like the admin config; the default 5 QPS throttles the suite
	uc, err := client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := act.NewKubeWorkloads(uc, act.KubeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.EnsureNamespace(ctx, newNamespaceName()); !apierrors.IsForbidden(err) {
		t.Fatalf("EnsureNamespace without the role = %v, want Forbidden", err)
	}
	if _, err := w.ListInstances(ctx, "default"); !apierrors.IsForbidden(err) {
		t.Fatalf("ListInstances without the role = %v, want Forbidden", err)
	}

	role.Name = name
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
	}
	if err := admin.Create(ctx, &role); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // t.Context() has ended when cleanups run
		_ = admin.Delete(context.Background(), binding)
		_ = admin.Delete(context.Background(), &role)
	})
	// The authorizer learns of the binding through an informer: wait for it.
	if err := testenv.WaitAllowed(ctx, admin, testenv.Subject{User: name}, "", role.Rules); err != nil {
		t.Fatal(err)
	}

	for _, statefulSets := range []bool{false, true} {
		t.Run(fmt.Sprintf("statefulSets=%v", statefulSets), func(t *testing.T) {
			acttest.RunWorkloadsConformance(t, func(t *testing.T) acttest.Harness {
				h := newKubeHarness(t, uc, act.KubeOptions{})
				h.statefulSets = statefulSets
				return h
			})
		})
	}

	// Not granted: pods, secrets, deleting namespaces, ReplicaSets.
	if err := uc.List(ctx, &corev1.PodList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list pods as the user = %v, want Forbidden", err)
	}
	if err := uc.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the user = %v, want Forbidden", err)
	}
	if err := uc.List(ctx, &appsv1.ReplicaSetList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list replicasets as the user = %v, want Forbidden", err)
	}
	ns := newNamespaceName()
	if err := w.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := uc.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); !apierrors.IsForbidden(err) {
		t.Errorf("delete a namespace as the user = %v, want Forbidden", err)
	}
}
