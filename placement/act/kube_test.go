package act_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/acttest"
)

var (
	env *testenv.Env
	// admin is a watching admin client of the one cluster, "home".
	admin client.WithWatch
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{Clusters: []string{"home"}})
		if err != nil {
			return nil, err
		}
		wc, err := client.NewWithWatch(e.Clusters[0].Config, client.Options{Scheme: e.Scheme})
		if err != nil {
			return nil, errors.Join(err, e.Stop())
		}
		env, admin = e, wc
		return e.Stop, nil
	})
}

// nsCounter names the namespaces of the tests: every test uses its own (namespaces
// are never deleted: envtest has no namespace controller to finish a deletion).
var nsCounter atomic.Int64

func newNamespaceName() string { return fmt.Sprintf("act-%d", nsCounter.Add(1)) }

// countingClient counts the writes made through it (Create, Update, Patch, Apply,
// Delete, DeleteAllOf and their subresource forms), for the idempotency tests.
func countingClient(c client.WithWatch, n *atomic.Int64) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			n.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			n.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			n.Add(1)
			return c.Patch(ctx, obj, p, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			n.Add(1)
			return c.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			n.Add(1)
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			n.Add(1)
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			n.Add(1)
			return c.SubResource(sub).Create(ctx, obj, subObj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			n.Add(1)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			n.Add(1)
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
}

// kubeHarness adapts KubeWorkloads to acttest. The Workloads run on c (the admin
// client or a user's); templates and statuses are written with the admin client.
type kubeHarness struct {
	w      *act.KubeWorkloads
	writes *atomic.Int64
	// statefulSets makes AddTemplate create StatefulSets instead of Deployments.
	statefulSets bool
}

func newKubeHarness(t *testing.T, c client.WithWatch, opts act.KubeOptions) *kubeHarness {
	t.Helper()
	var n atomic.Int64
	w, err := act.NewKubeWorkloads(countingClient(c, &n), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &kubeHarness{w: w, writes: &n}
}

// kubeSetup skips the test without a test cluster, else returns a harness with the
// default kinds and a new namespace that holds the template of component render.
func kubeSetup(t *testing.T) (context.Context, *kubeHarness, string) {
	t.Helper()
	testenv.Require(t)
	ctx := t.Context()
	h := newKubeHarness(t, admin, act.KubeOptions{})
	ns := newNamespaceName()
	if err := h.AddTemplate(ctx, ns, "render"); err != nil {
		t.Fatal(err)
	}
	return ctx, h, ns
}

func (h *kubeHarness) Workloads() act.Workloads { return h.w }
func (h *kubeHarness) NewNamespace() string     { return newNamespaceName() }
func (h *kubeHarness) Writes() int              { return int(h.writes.Load()) }

func (h *kubeHarness) AddTemplate(ctx context.Context, ns, component string) error {
	if err := ensureNamespace(ctx, ns); err != nil {
		return err
	}
	var obj client.Object = deploymentTemplate(ns, component)
	if h.statefulSets {
		obj = statefulSetTemplate(ns, component)
	}
	return admin.Create(ctx, obj)
}

func (h *kubeHarness) UpdateTemplate(ctx context.Context, ns, component string) error {
	return updateTemplate(ctx, ns, component, h.statefulSets)
}

func (h *kubeHarness) MakeReady(ctx context.Context, ns string) error {
	_, err := testenv.MarkWorkloadsReadyOnce(ctx, admin, testenv.ReadyOptions{Namespace: ns})
	return err
}

func ensureNamespace(ctx context.Context, ns string) error {
	err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// podTemplate is the pod template of every test template: a node selector of its
// own (which pinning keeps) and a label the selector uses.
func podTemplate(component string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": component}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Containers:   []corev1.Container{{Name: "main", Image: "registry.example.com/xr/" + component + ":1"}},
		},
	}
}

func deploymentTemplate(ns, component string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: component, Namespace: ns, Labels: map[string]string{"app": component, "team": "xr"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": component}},
			Template: podTemplate(component),
		},
	}
}

func statefulSetTemplate(ns, component string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: component, Namespace: ns, Labels: map[string]string{"app": component}},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](0),
			ServiceName: component,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": component}},
			Template:    podTemplate(component),
		},
	}
}

// updateTemplate changes the template's pod template (an annotation), which grows
// its generation.
func updateTemplate(ctx context.Context, ns, component string, statefulSet bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var obj client.Object
		var pt *corev1.PodTemplateSpec
		if statefulSet {
			s := &appsv1.StatefulSet{}
			obj, pt = s, &s.Spec.Template
		} else {
			d := &appsv1.Deployment{}
			obj, pt = d, &d.Spec.Template
		}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: component}, obj); err != nil {
			return err
		}
		if pt.Annotations == nil {
			pt.Annotations = map[string]string{}
		}
		pt.Annotations["acttest.continuum.io/revision"] = strconv.FormatInt(obj.GetGeneration()+1, 10)
		return admin.Update(ctx, obj)
	})
}

// TestKubeConformance runs the Workloads conformance suite against KubeWorkloads on a
// real kube-apiserver, with Deployment templates.
func TestKubeConformance(t *testing.T) {
	testenv.Require(t)
	acttest.RunWorkloadsConformance(t, func(t *testing.T) acttest.Harness {
		return newKubeHarness(t, admin, act.KubeOptions{})
	})
}

// TestKubeConformanceStatefulSets runs the suite with StatefulSet templates.
func TestKubeConformanceStatefulSets(t *testing.T) {
	testenv.Require(t)
	acttest.RunWorkloadsConformance(t, func(t *testing.T) acttest.Harness {
		h := newKubeHarness(t, admin, act.KubeOptions{})
		h.statefulSets = true
		return h
	})
}

// TestKubeInstanceObject checks the instance object field by field, and that the
// template is never written.
func TestKubeInstanceObject(t *testing.T) {
	ctx, h, ns := kubeSetup(t)
	var tmpl appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render"}, &tmpl); err != nil {
		t.Fatal(err)
	}
	pin, _ := peering.Pin("edge-1-id")
	for _, s := range []act.InstanceSpec{
		{Component: "render", Cluster: "edge-1", Replicas: 3, Pin: pin},
		{Component: "render", Cluster: "home", Replicas: 1, Pin: peering.PinLocal()},
	} {
		if err := h.w.ApplyInstance(ctx, ns, s); err != nil {
			t.Fatal(err)
		}
	}
	var d appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render-edge-1"}, &d); err != nil {
		t.Fatal(err)
	}
	ours := map[string]string{act.LabelComponent: "render", act.LabelCluster: "edge-1", act.LabelManagedBy: act.ManagedByValue}
	for k, v := range ours {
		if d.Labels[k] != v || d.Spec.Template.Labels[k] != v || d.Spec.Selector.MatchLabels[k] != v {
			t.Errorf("label %s=%s missing on the object, pod template or selector: %v / %v / %v", k, v, d.Labels, d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
		}
	}
	if d.Labels["team"] != "xr" || d.Spec.Template.Labels["app"] != "render" || d.Spec.Selector.MatchLabels["app"] != "render" {
		t.Errorf("the template's labels were not kept: %v / %v / %v", d.Labels, d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
	}
	if got := d.Spec.Template.Spec.NodeSelector; got["kubernetes.io/os"] != "linux" || got[peering.LabelRemoteClusterID] != "edge-1-id" || len(got) != 2 {
		t.Errorf("nodeSelector = %v, want the template's plus the pin", got)
	}
	if d.Spec.Template.Spec.Affinity != nil {
		t.Errorf("a remote instance has an affinity: %+v", d.Spec.Template.Spec.Affinity)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
	}
	if got, want := d.Annotations[act.AnnotationTemplateGeneration], strconv.FormatInt(tmpl.Generation, 10); got != want {
		t.Errorf("template generation annotation = %q, want %q", got, want)
	}
	if len(d.OwnerReferences) != 1 {
		t.Fatalf("owner references = %+v, want one to the template", d.OwnerReferences)
	}
	ref := d.OwnerReferences[0]
	if ref.UID != tmpl.UID || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != "render" || ptr.Deref(ref.Controller, false) {
		t.Errorf("owner reference = %+v, want a non-controller reference to the template %s", ref, tmpl.UID)
	}
	if d.ManagedFields[0].Manager != act.DefaultFieldManager {
		t.Errorf("field manager = %q, want %q", d.ManagedFields[0].Manager, act.DefaultFieldManager)
	}
	var local appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render-home"}, &local); err != nil {
		t.Fatal(err)
	}
	aff := local.Spec.Template.Spec.Affinity
	if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
		len(aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) != 1 {
		t.Fatalf("local instance affinity = %+v, want one required term", aff)
	}
	if _, ok := local.Spec.Template.Spec.NodeSelector[peering.LabelRemoteClusterID]; ok {
		t.Errorf("the local instance has a remote cluster ID: %v", local.Spec.Template.Spec.NodeSelector)
	}
	// The template was never written.
	var after appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render"}, &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != tmpl.ResourceVersion || *after.Spec.Replicas != 0 {
		t.Errorf("the template changed: resourceVersion %s -> %s, replicas %d", tmpl.ResourceVersion, after.ResourceVersion, *after.Spec.Replicas)
	}
}

// TestKubeKeepsOthersAnnotations: an update keeps what others (the Deployment
// controller, a user) annotated, and a template deleted and created again gets the
// owner reference replaced.
func TestKubeKeepsOthersAnnotations(t *testing.T) {
	ctx, h, ns := kubeSetup(t)
	spec := act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 1}
	if err := h.w.ApplyInstance(ctx, ns, spec); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "render-a"}
	var d appsv1.Deployment
	if err := admin.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	d.Annotations["deployment.kubernetes.io/revision"] = "1"
	if err := admin.Update(ctx, &d); err != nil {
		t.Fatal(err)
	}
	// Recreate the template: a new UID.
	if err := admin.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "render"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddTemplate(ctx, ns, "render"); err != nil {
		t.Fatal(err)
	}
	spec.Replicas = 2
	if err := h.w.ApplyInstance(ctx, ns, spec); err != nil {
		t.Fatal(err)
	}
	var tmpl appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render"}, &tmpl); err != nil {
		t.Fatal(err)
	}
	if err := admin.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "1" || *d.Spec.Replicas != 2 {
		t.Errorf("after the update: annotations %v, replicas %d", d.Annotations, *d.Spec.Replicas)
	}
	if len(d.OwnerReferences) != 1 || d.OwnerReferences[0].UID != tmpl.UID {
		t.Errorf("owner references %+v, want only the new template %s", d.OwnerReferences, tmpl.UID)
	}
}

// TestKubeRetriesConflicts: an Update that conflicts is retried from a fresh read;
// one that always conflicts gives up with the conflict.
func TestKubeRetriesConflicts(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	ns := newNamespaceName()
	if err := ensureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, deploymentTemplate(ns, "render")); err != nil {
		t.Fatal(err)
	}
	var conflicts atomic.Int64
	limit := int64(2)
	c := interceptor.NewClient(admin, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if conflicts.Add(1) <= limit {
				// Someone else writes in between: the real conflict.
				var d appsv1.Deployment
				if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), &d); err != nil {
					return err
				}
				d.Annotations["other"] = strconv.FormatInt(conflicts.Load(), 10)
				if err := admin.Update(ctx, &d); err != nil {
					return err
				}
			}
			return c.Update(ctx, obj, opts...)
		},
	})
	w, err := act.NewKubeWorkloads(c, act.KubeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 2}); err != nil {
		t.Fatalf("ApplyInstance with 2 conflicts: %v", err)
	}
	if in, err := w.ListInstances(ctx, ns); err != nil || len(in) != 1 || in[0].Replicas != 2 {
		t.Fatalf("ListInstances = %+v, %v", in, err)
	}
	conflicts.Store(0)
	limit = 1000
	err = w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 3})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "attempts") || !strings.Contains(err.Error(), ns+"/render-a") {
		t.Fatalf("ApplyInstance with endless conflicts = %v, want a conflict naming the object and the attempts", err)
	}
	if n := conflicts.Load(); n != 5 {
		t.Errorf("%d update attempts, want 5", n)
	}
}

// TestKubeNotOurs: an object with the instance's name that act did not write is
// never overwritten nor deleted, and objects labelled like instances but of another
// component are not taken for templates.
func TestKubeNotOurs(t *testing.T) {
	ctx, h, ns := kubeSetup(t)
	other := deploymentTemplate(ns, "render-b")
	other.Spec.Replicas = ptr.To[int32](4)
	if err := admin.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	err := h.w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "b", Replicas: 1})
	if !errors.Is(err, act.ErrInvalid) || !strings.Contains(err.Error(), ns+"/render-b") {
		t.Fatalf("ApplyInstance onto a foreign object = %v, want ErrInvalid naming it", err)
	}
	if err := h.w.DeleteInstance(ctx, ns, "render", "b"); err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKeyFromObject(other), &d); err != nil || *d.Spec.Replicas != 4 {
		t.Fatalf("the foreign object was touched: %v, %v", err, d.Spec.Replicas)
	}
	// An instance is never a template: component "render-a" has none, although the
	// instance of render on a is named render-a.
	if err := h.w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	err = h.w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render-a", Cluster: "c", Replicas: 1})
	if !errors.Is(err, act.ErrNotFound) || !strings.Contains(err.Error(), "Deployment or StatefulSet") {
		t.Fatalf("ApplyInstance of a component whose name is an instance = %v, want ErrNotFound listing the kinds", err)
	}
}

// TestMarkWorkloadsReady runs the status helper in the background with a delay and
// a hold, as a make-before-break test would.
func TestMarkWorkloadsReady(t *testing.T) {
	ctx, h, ns := kubeSetup(t)
	var errs atomic.Int64
	stop := testenv.MarkWorkloadsReady(ctx, admin, testenv.ReadyOptions{
		Namespace: ns,
		Delay:     300 * time.Millisecond,
		Hold:      func(o client.Object) bool { return o.GetLabels()[act.LabelCluster] == "b" },
		OnError:   func(error) { errs.Add(1) },
	})
	defer stop()
	start := time.Now()
	for _, cl := range []string{"a", "b"} {
		if err := h.w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: cl, Replicas: 2}); err != nil {
			t.Fatal(err)
		}
	}
	ready := func() map[string]int32 {
		in, err := h.w.ListInstances(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int32{}
		for _, x := range in {
			out[x.Cluster] = x.Ready
		}
		return out
	}
	for ready()["a"] != 2 {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("render@a never became ready: %v", ready())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("render@a became ready before the delay")
	}
	time.Sleep(200 * time.Millisecond)
	if r := ready()["b"]; r != 0 {
		t.Errorf("held render@b has %d ready replicas", r)
	}
	var d appsv1.Deployment
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render-b"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Status.ObservedGeneration != d.Generation || d.Status.Replicas != 2 || d.Status.ReadyReplicas != 0 {
		t.Errorf("held status = %+v, want observed, 2 replicas, none ready", d.Status)
	}
	stop()
	stop() // twice is fine
	if n := errs.Load(); n != 0 {
		t.Errorf("%d errors reported", n)
	}
	// After stop, nothing marks new generations.
	if err := h.w.ApplyInstance(ctx, ns, act.InstanceSpec{Component: "render", Cluster: "a", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if r := ready()["a"]; r != 0 {
		t.Errorf("render@a has %d ready replicas after the helper stopped and it was scaled", r)
	}
}

// TestKubeCustomKind runs instances of a kind the user describes (ReplicaSets, see
// the example), looked up after Deployments.
func TestKubeCustomKind(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	h := newKubeHarness(t, admin, act.KubeOptions{Kinds: []act.Kind{act.Deployments(), replicaSets{}}})
	ns := newNamespaceName()
	if err := ensureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "sync", Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sync"}}, Template: podTemplate("sync")},
	}
	if err := admin.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	pin, _ := peering.Pin("edge-1-id")
	spec := act.InstanceSpec{Component: "sync", Cluster: "edge-1", Replicas: 2, Pin: pin}
	if err := h.w.ApplyInstance(ctx, ns, spec); err != nil {
		t.Fatal(err)
	}
	before := h.Writes()
	if err := h.w.ApplyInstance(ctx, ns, spec); err != nil || h.Writes() != before {
		t.Fatalf("second apply: %v, %d writes", err, h.Writes()-before)
	}
	var inst appsv1.ReplicaSet
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "sync-edge-1"}, &inst); err != nil {
		t.Fatal(err)
	}
	inst.Status = appsv1.ReplicaSetStatus{ObservedGeneration: inst.Generation, Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	if err := admin.Status().Update(ctx, &inst); err != nil {
		t.Fatal(err)
	}
	in, err := h.w.ListInstances(ctx, ns)
	if err != nil || len(in) != 1 || in[0].Ready != 2 || !act.SamePin(in[0].Pin, pin) {
		t.Fatalf("ListInstances = %+v, %v", in, err)
	}
	if err := h.w.DeleteInstance(ctx, ns, "sync", "edge-1"); err != nil {
		t.Fatal(err)
	}
	if in, err := h.w.ListInstances(ctx, ns); err != nil || len(in) != 0 {
		t.Fatalf("after delete: %+v, %v", in, err)
	}
}

// TestNewKubeWorkloadsOptions checks the constructor's refusals.
func TestNewKubeWorkloadsOptions(t *testing.T) {
	if _, err := act.NewKubeWorkloads(nil, act.KubeOptions{}); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("nil client = %v, want ErrInvalid", err)
	}
	c := fakeClient(t)
	if _, err := act.NewKubeWorkloads(c, act.KubeOptions{Kinds: []act.Kind{}}); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("empty kinds = %v, want ErrInvalid", err)
	}
	if _, err := act.NewKubeWorkloads(c, act.KubeOptions{Kinds: []act.Kind{act.Deployments(), act.Deployments()}}); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("duplicate kinds = %v, want ErrInvalid", err)
	}
	if _, err := act.NewKubeWorkloads(c, act.KubeOptions{Kinds: []act.Kind{nil}}); !errors.Is(err, act.ErrInvalid) {
		t.Errorf("nil kind = %v, want ErrInvalid", err)
	}
}

// TestKindsOnOddObjects: the built-in kinds never panic on objects with missing
// parts or of another type.
func TestKindsOnOddObjects(t *testing.T) {
	for _, k := range []act.Kind{act.Deployments(), act.StatefulSets(), replicaSets{}} {
		for _, o := range []client.Object{k.New(), &corev1.Pod{}} {
			_ = k.PodTemplate(o)
			_ = k.Selector(o)
			_ = k.Replicas(o)
			k.SetReplicas(o, 2)
			_ = k.ReadyReplicas(o)
		}
		if got := k.Replicas(k.New()); got != 1 {
			t.Errorf("%s: Replicas(unset) = %d, want the API default 1", k.Name(), got)
		}
		if k.Selector(k.New()) == nil {
			t.Errorf("%s: Selector(unset) = nil, want an allocated selector", k.Name())
		}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3}
	if r := act.Deployments().ReadyReplicas(d); r != 0 {
		t.Errorf("ReadyReplicas with a stale status = %d, want 0", r)
	}
	d.Status.ObservedGeneration = 3
	if r := act.Deployments().ReadyReplicas(d); r != 3 {
		t.Errorf("ReadyReplicas = %d, want 3", r)
	}
	// A rollout: 4 pods, 2 of the current template, 3 ready: at least 1 new one is.
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3}
	if r := act.Deployments().ReadyReplicas(d); r != 1 {
		t.Errorf("ReadyReplicas during a rollout = %d, want 1 (old pods counted as the ready ones)", r)
	}
	// Scale-down in progress: never more than desired.
	s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1)},
		Status: appsv1.StatefulSetStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3}}
	if r := act.StatefulSets().ReadyReplicas(s); r != 1 {
		t.Errorf("StatefulSet ReadyReplicas while scaling down = %d, want 1", r)
	}
}
