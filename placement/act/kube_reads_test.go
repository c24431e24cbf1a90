package act_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
)

// readLog records the reads made through a client, as "Get <kind>" and "List
// <kind>".
type readLog struct {
	mu    sync.Mutex
	reads []string
}

func (l *readLog) client(c client.WithWatch) client.WithWatch {
	add := func(op string, obj any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.reads = append(l.reads, fmt.Sprintf("%s %T", op, obj))
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			add("Get", obj)
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			add("List", list)
			return c.List(ctx, list, opts...)
		},
	})
}

func (l *readLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reads
	l.reads = nil
	return out
}

// ListInstances reads each kind with one List, however many instances and templates
// the namespace holds, and still tells Outdated instances by their own kind's
// template.
func TestKubeListInstancesReadsOncePerKind(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	ns := newNamespaceName()
	if err := ensureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var log readLog
	w, err := act.NewKubeWorkloads(log.client(admin), act.KubeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	for i := range n {
		comp := fmt.Sprintf("c%02d", i)
		if err := admin.Create(ctx, deploymentTemplate(ns, comp)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []string{"home", "edge"} {
			pin := peering.PinLocal()
			if cl != "home" {
				pin, _ = peering.Pin(peering.ClusterID(cl + "-id"))
			}
			if err := w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: comp, Cluster: cl, Replicas: 1, Pin: pin}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A StatefulSet template of c00 is not the template of its Deployment instances.
	if err := admin.Create(ctx, statefulSetTemplate(ns, "c00")); err != nil {
		t.Fatal(err)
	}
	if err := updateTemplate(ctx, ns, "c01", false); err != nil {
		t.Fatal(err)
	}
	if err := updateTemplate(ctx, ns, "c00", true); err != nil {
		t.Fatal(err)
	}
	log.take()
	in, err := w.ListInstances(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := log.take(), []string{"List *v1.DeploymentList", "List *v1.StatefulSetList"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ListInstances of %d instances read %q, want one List per kind %q", 2*n, got, want)
	}
	if len(in) != 2*n {
		t.Fatalf("ListInstances = %d instances, want %d (templates are not instances)", len(in), 2*n)
	}
	for _, x := range in {
		if want := x.Component == "c01"; x.Outdated != want {
			t.Errorf("%s@%s: Outdated = %v, want %v (only c01's Deployment template changed)", x.Component, x.Cluster, x.Outdated, want)
		}
	}
}
