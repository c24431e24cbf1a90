package act_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
)

// replicaSets is a Kind written the way a user writes one for a workload kind of
// their own: here apps/v1 ReplicaSets (an operator's CRD works the same way, with
// its Go types registered in the client's scheme, or with unstructured objects).
// Every method tolerates an object of another type or with missing parts.
type replicaSets struct{}

func (replicaSets) Name() string               { return "ReplicaSet" }
func (replicaSets) New() client.Object         { return &appsv1.ReplicaSet{} }
func (replicaSets) NewList() client.ObjectList { return &appsv1.ReplicaSetList{} }

func (replicaSets) PodTemplate(o client.Object) *corev1.PodTemplateSpec {
	if rs, ok := o.(*appsv1.ReplicaSet); ok {
		return &rs.Spec.Template
	}
	return nil
}

func (replicaSets) Selector(o client.Object) *metav1.LabelSelector {
	rs, ok := o.(*appsv1.ReplicaSet)
	if !ok {
		return nil
	}
	if rs.Spec.Selector == nil {
		rs.Spec.Selector = &metav1.LabelSelector{}
	}
	return rs.Spec.Selector
}

func (replicaSets) Replicas(o client.Object) int32 {
	if rs, ok := o.(*appsv1.ReplicaSet); ok {
		return ptr.Deref(rs.Spec.Replicas, 1)
	}
	return 0
}

func (replicaSets) SetReplicas(o client.Object, n int32) {
	if rs, ok := o.(*appsv1.ReplicaSet); ok {
		rs.Spec.Replicas = &n
	}
}

func (replicaSets) ReadyReplicas(o client.Object) int32 {
	rs, ok := o.(*appsv1.ReplicaSet)
	if !ok || rs.Status.ObservedGeneration < rs.Generation {
		return 0 // the status describes an older spec
	}
	return min(rs.Status.ReadyReplicas, ptr.Deref(rs.Spec.Replicas, 1))
}

// fakeClient is a controller-runtime fake client with the built-in types, for tests
// that need no apiserver.
func fakeClient(t testing.TB, objs ...client.Object) client.WithWatch {
	t.Helper()
	return fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(objs...).Build()
}

// A user's own workload kind: ReplicaSets, looked up after Deployments and
// StatefulSets. The template "sync" (replicas 0) is copied into one instance per
// cluster; the client here is controller-runtime's fake client, a real cluster's
// client works the same.
func ExampleKind() {
	ctx := context.Background()
	template := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "sync", Namespace: "xr"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sync"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "sync"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "sync", Image: "registry.example.com/xr/sync:1"}}},
			},
		},
	}
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(template).Build()
	w, err := act.NewKubeWorkloads(c, act.KubeOptions{
		Kinds: []act.Kind{act.Deployments(), act.StatefulSets(), replicaSets{}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	pin, _ := peering.Pin("edge-1-id")
	for _, s := range []act.InstanceSpec{
		{Component: "sync", Cluster: "edge-1", Replicas: 2, Pin: pin},
		{Component: "sync", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
	} {
		if err := w.ApplyInstance(ctx, "xr", s); err != nil {
			fmt.Println(err)
			return
		}
	}
	instances, err := w.ListInstances(ctx, "xr")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range instances {
		fmt.Printf("%s on %s: %d replicas, remote %q, local only %v\n",
			in.Component, in.Cluster, in.Replicas, in.Pin.NodeSelector[peering.LabelRemoteClusterID], in.Pin.NotOnVirtualNodes)
	}
	var rs appsv1.ReplicaSet
	if err := c.Get(ctx, client.ObjectKey{Namespace: "xr", Name: "sync-edge-1"}, &rs); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rs.Spec.Selector.MatchLabels)
	// Output:
	// sync on edge-1: 2 replicas, remote "edge-1-id", local only false
	// sync on home: 1 replicas, remote "", local only true
	// map[app:sync app.kubernetes.io/managed-by:continuum continuum.io/cluster:edge-1 continuum.io/component:sync]
}
