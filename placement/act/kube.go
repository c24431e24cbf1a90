package act

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/peering"
)

// Labels and annotations KubeWorkloads puts on every instance (on the object, on its
// pod template, and the labels also in its selector).
const (
	// LabelComponent holds the instance's component.
	LabelComponent = "continuum.io/component"
	// LabelCluster holds the cluster the instance runs on.
	LabelCluster = "continuum.io/cluster"
	// LabelManagedBy is "continuum" (ManagedByValue) on every instance; ListInstances
	// selects by it, and a workload that has it is never taken for a template.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on instances.
	ManagedByValue = "continuum"
	// AnnotationTemplateGeneration holds the metadata.generation of the template the
	// instance was copied from; an instance whose value differs from the template's
	// generation is Outdated.
	AnnotationTemplateGeneration = "continuum.io/template-generation"
	// DefaultFieldManager is the field manager of KubeWorkloads' writes when
	// KubeOptions.FieldManager is empty.
	DefaultFieldManager = "continuum-act"
	// maxInstanceName is the longest instance name: a DNS label, so that names
	// derived from it (ReplicaSets, pods, StatefulSet pods) stay valid.
	maxInstanceName = 63
)

// ClusterRoleYAML is the ClusterRole "continuum-act" (rbac.yaml): the permissions
// KubeWorkloads needs on the home cluster with the default kinds (Deployments and
// StatefulSets), and no more; an integration test runs the conformance suite as a
// user bound to exactly this role. Bind it with a ClusterRoleBinding (EnsureNamespace
// creates namespaces), or copy its workload rules into a Role per namespace when the
// namespaces already exist. Custom kinds need the same verbs on their resources.
// Decode it with sigs.k8s.io/yaml into an rbacv1.ClusterRole.
//
//go:embed rbac.yaml
var ClusterRoleYAML []byte

// Kind describes a workload kind KubeWorkloads runs instances of: how to make its
// objects and read and change the parts act uses. Deployments and StatefulSets are
// built in; users describe their own kinds (an operator's CRD, a typed or
// unstructured object) with a Kind of their own, registered in the client's scheme
// when typed. See the example of Kind.
//
// Methods get objects made by New (lists by NewList) and must not panic on an object
// with missing parts: return nil, 0 or do nothing instead.
type Kind interface {
	// Name is the kind's name in messages, e.g. "Deployment".
	Name() string
	// New returns an empty object of the kind.
	New() client.Object
	// NewList returns an empty list of the kind (its items are read with
	// meta.ExtractList).
	NewList() client.ObjectList
	// PodTemplate returns the pod template inside obj; act changes it in place
	// (labels, pinning). Nil if obj has none (act then refuses the object).
	PodTemplate(obj client.Object) *corev1.PodTemplateSpec
	// Selector returns the label selector inside obj, allocating it when obj has
	// none; act adds the instance labels to its MatchLabels in place.
	Selector(obj client.Object) *metav1.LabelSelector
	// Replicas returns the desired replicas (the API's default when unset).
	Replicas(obj client.Object) int32
	// SetReplicas sets the desired replicas.
	SetReplicas(obj client.Object, n int32)
	// ReadyReplicas returns how many replicas are ready and run the current pod
	// template, as obj's status says; 0 when the status does not describe the
	// current spec (status.observedGeneration < metadata.generation).
	ReadyReplicas(obj client.Object) int32
}

// Deployments is the Kind of apps/v1 Deployments.
func Deployments() Kind {
	return appsKind[*appsv1.Deployment]{name: "Deployment",
		newObj:  func() *appsv1.Deployment { return &appsv1.Deployment{} },
		newList: func() client.ObjectList { return &appsv1.DeploymentList{} },
		fields: func(d *appsv1.Deployment) appsFields {
			st := d.Status
			return appsFields{&d.Spec.Template, &d.Spec.Selector, &d.Spec.Replicas, st.ObservedGeneration, st.ReadyReplicas, st.Replicas, st.UpdatedReplicas}
		}}
}

// StatefulSets is the Kind of apps/v1 StatefulSets.
func StatefulSets() Kind {
	return appsKind[*appsv1.StatefulSet]{name: "StatefulSet",
		newObj:  func() *appsv1.StatefulSet { return &appsv1.StatefulSet{} },
		newList: func() client.ObjectList { return &appsv1.StatefulSetList{} },
		fields: func(s *appsv1.StatefulSet) appsFields {
			st := s.Status
			return appsFields{&s.Spec.Template, &s.Spec.Selector, &s.Spec.Replicas, st.ObservedGeneration, st.ReadyReplicas, st.Replicas, st.UpdatedReplicas}
		}}
}

// appsFields are where an apps/v1 workload keeps what a Kind reads and writes.
type appsFields struct {
	template             *corev1.PodTemplateSpec
	selector             **metav1.LabelSelector
	replicas             **int32
	observed             int64
	ready, pods, updated int32
}

// appsKind is a Kind for an apps/v1 workload type T, described by where its fields
// are. Every method tolerates an object of another type, or a nil one.
type appsKind[T interface {
	client.Object
	comparable
}] struct {
	name    string
	newObj  func() T
	newList func() client.ObjectList
	fields  func(T) appsFields
}

func (k appsKind[T]) Name() string               { return k.name }
func (k appsKind[T]) New() client.Object         { return k.newObj() }
func (k appsKind[T]) NewList() client.ObjectList { return k.newList() }

func (k appsKind[T]) get(o client.Object) (appsFields, bool) {
	var zero T
	t, ok := o.(T)
	if !ok || t == zero {
		return appsFields{}, false
	}
	return k.fields(t), true
}

func (k appsKind[T]) PodTemplate(o client.Object) *corev1.PodTemplateSpec {
	f, ok := k.get(o)
	if !ok {
		return nil
	}
	return f.template
}

func (k appsKind[T]) Selector(o client.Object) *metav1.LabelSelector {
	f, ok := k.get(o)
	if !ok {
		return nil
	}
	if *f.selector == nil {
		*f.selector = &metav1.LabelSelector{}
	}
	return *f.selector
}

func (k appsKind[T]) Replicas(o client.Object) int32 {
	f, ok := k.get(o)
	if !ok {
		return 0
	}
	return replicasOrDefault(*f.replicas)
}

func (k appsKind[T]) SetReplicas(o client.Object, n int32) {
	if f, ok := k.get(o); ok {
		*f.replicas = &n
	}
}

func (k appsKind[T]) ReadyReplicas(o client.Object) int32 {
	f, ok := k.get(o)
	if !ok || f.observed < o.GetGeneration() {
		return 0
	}
	return currentReady(f.ready, f.pods, f.updated, replicasOrDefault(*f.replicas))
}

// replicasOrDefault is the apps/v1 default of 1 for an unset replicas field.
func replicasOrDefault(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// currentReady counts the ready pods that run the current template, conservatively:
// while old pods remain (pods - updated), they are assumed to be the ready ones. The
// result lies in [0, desired].
func currentReady(ready, pods, updated, desired int32) int32 {
	old := max(pods-updated, 0)
	return min(max(ready-old, 0), max(desired, 0))
}

// KubeOptions configures NewKubeWorkloads. The zero value runs Deployments and
// StatefulSets with the field manager "continuum-act" on the real clock.
type KubeOptions struct {
	// Kinds are the workload kinds templates may have, looked up in this order
	// (the first kind with an object named after the component holds its template).
	// Nil means Deployments(), StatefulSets().
	Kinds []Kind
	// FieldManager names KubeWorkloads' writes in managedFields; empty means
	// DefaultFieldManager.
	FieldManager string
	// Clock times the backoff between retries of conflicting writes; nil means the
	// real clock.
	Clock clock.Clock
}

// KubeWorkloads is the Workloads of a Kubernetes cluster (the application's home
// cluster), over a controller-runtime client. It is safe for concurrent use.
//
// # Templates and instances
//
// For every component the user creates a template: a workload of one of the Kinds
// (a Deployment, say) named after the component, in the application's namespace,
// with replicas 0. Act never runs, changes or deletes a template; it copies it. The
// instance of component C on cluster K is a workload of the template's kind named
// "<C>-<K>" (at most 63 characters), whose spec is the template's with:
//
//   - the replicas of the InstanceSpec;
//   - the labels continuum.io/component=C, continuum.io/cluster=K and
//     app.kubernetes.io/managed-by=continuum on the object (after the template's
//     own labels) and on the pod template, and added to the selector, so the
//     selectors of instances never match each other's pods or the template's;
//   - the pinning (peering.Pinning.Apply) in the pod template;
//   - the annotation continuum.io/template-generation, the template's
//     metadata.generation when the instance was written (Outdated compares it);
//   - an owner reference to the template (not a controller reference): deleting the
//     template makes the cluster's garbage collector delete its instances.
//
// A Service that selects the template's pod labels thus reaches the pods of every
// instance, wherever they run.
//
// ApplyInstance writes only when the instance differs from that copy in its
// replicas, labels, selector, node selector, affinity, template generation or owner
// reference; otherwise it writes nothing. Writes are Create and Update with optimistic
// concurrency (the resourceVersion read); conflicts, races with another creator,
// timeouts and too many requests are retried, up to 5 attempts in all, with backoff
// from 50 ms. An Update
// replaces the spec and labels, and keeps the annotations and finalizers that others
// put on the instance. The API server refuses changes of immutable fields (a
// StatefulSet's volumeClaimTemplates, any selector): after such a template change,
// delete the instance and apply it again.
//
// An object named "<C>-<K>" that is not the instance of C on K (no managed-by label,
// other component or cluster) is never overwritten: ApplyInstance fails with an
// error wrapping ErrInvalid.
//
// # Readiness
//
// Instance.Ready is Kind.ReadyReplicas: for Deployments and StatefulSets the ready
// replicas that run the current pod template, counted only when the status describes
// the current spec (status.observedGeneration >= metadata.generation), and at most
// the desired replicas.
//
// # RBAC
//
// ClusterRoleYAML holds what KubeWorkloads needs with the default kinds.
type KubeWorkloads struct {
	c     client.Client
	kinds []Kind
	fm    string
	clk   clock.Clock
}

var _ Workloads = (*KubeWorkloads)(nil)

// NewKubeWorkloads returns the Workloads of the cluster c talks to.
func NewKubeWorkloads(c client.Client, opts KubeOptions) (*KubeWorkloads, error) {
	if c == nil {
		return nil, fmt.Errorf("act: NewKubeWorkloads: client is nil: %w", ErrInvalid)
	}
	kinds := opts.Kinds
	if kinds == nil {
		kinds = []Kind{Deployments(), StatefulSets()}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("act: NewKubeWorkloads: KubeOptions.Kinds: empty (nil means Deployments and StatefulSets): %w", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, k := range kinds {
		if k == nil || k.New() == nil || k.NewList() == nil {
			return nil, fmt.Errorf("act: NewKubeWorkloads: KubeOptions.Kinds[%d]: nil kind, object or list: %w", i, ErrInvalid)
		}
		if seen[k.Name()] {
			return nil, fmt.Errorf("act: NewKubeWorkloads: KubeOptions.Kinds[%d]: duplicate kind %q: %w", i, k.Name(), ErrInvalid)
		}
		seen[k.Name()] = true
	}
	fm := opts.FieldManager
	if fm == "" {
		fm = DefaultFieldManager
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &KubeWorkloads{c: c, kinds: slices.Clone(kinds), fm: fm, clk: clk}, nil
}

// InstanceName is the name of the workload of component on cluster: "<component>-<cluster>".
func InstanceName(component, cluster string) string { return component + "-" + cluster }

func kubeInstanceName(component, cluster string) (string, error) {
	name := InstanceName(component, cluster)
	if len(name) > maxInstanceName {
		return "", fmt.Errorf("act: instance of component %q on cluster %q: name %q has %d characters, more than %d: shorten the component or cluster name: %w",
			component, cluster, name, len(name), maxInstanceName, ErrInvalid)
	}
	return name, nil
}

func kubeCheckNamespace(op, namespace string) error {
	if !decode.IsDNSLabel(namespace) {
		return fmt.Errorf("act: %s: namespace: %q is not a DNS label: %w", op, namespace, ErrInvalid)
	}
	return nil
}

// EnsureNamespace creates the namespace unless it exists. See Workloads.
func (w *KubeWorkloads) EnsureNamespace(ctx context.Context, namespace string) error {
	if err := kubeCheckNamespace("ensure namespace", namespace); err != nil {
		return err
	}
	return w.retry(ctx, func() error {
		var ns corev1.Namespace
		err := w.c.Get(ctx, client.ObjectKey{Name: namespace}, &ns)
		switch {
		case err == nil:
			if ns.DeletionTimestamp != nil {
				return fmt.Errorf("act: namespace %s is being deleted: wait until it is gone, or use another name", namespace)
			}
			return nil
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("act: reading namespace %s: %w", namespace, err)
		}
		ns = corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		if err := w.c.Create(ctx, &ns, client.FieldOwner(w.fm)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("act: creating namespace %s: %w", namespace, err)
		}
		return nil
	})
}

// ListInstances returns the instances in the namespace. See Workloads. It reads each
// kind with one List of the namespace, which holds both the instances (the objects
// labeled managed-by continuum) and the templates (the others) their Outdated is
// computed from.
func (w *KubeWorkloads) ListInstances(ctx context.Context, namespace string) ([]Instance, error) {
	if err := kubeCheckNamespace("list instances", namespace); err != nil {
		return nil, err
	}
	var out []Instance
	for _, k := range w.kinds {
		objs, err := w.list(ctx, k, namespace)
		if err != nil {
			return nil, err
		}
		// The generation of every template of kind k, by component (the name).
		gens := map[string]int64{}
		for _, o := range objs {
			if !isInstance(o) {
				gens[o.GetName()] = o.GetGeneration()
			}
		}
		for _, o := range objs {
			labels := o.GetLabels()
			comp, cl := labels[LabelComponent], labels[LabelCluster]
			if !isInstance(o) || comp == "" || cl == "" {
				continue
			}
			in := Instance{Component: comp, Cluster: cl, Replicas: k.Replicas(o), Ready: k.ReadyReplicas(o)}
			if pt := k.PodTemplate(o); pt != nil {
				in.Pin = kubePinOf(&pt.Spec)
			}
			gen, ok := gens[comp]
			in.Outdated = ok && o.GetAnnotations()[AnnotationTemplateGeneration] != strconv.FormatInt(gen, 10)
			out = append(out, in)
		}
	}
	SortInstances(out)
	return out, nil
}

// list returns every object of kind k in the namespace: instances and templates.
func (w *KubeWorkloads) list(ctx context.Context, k Kind, namespace string) ([]client.Object, error) {
	list := k.NewList()
	if err := w.c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("act: listing %s objects in namespace %s: %w", k.Name(), namespace, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("act: listing %s objects in namespace %s: %w", k.Name(), namespace, err)
	}
	objs := make([]client.Object, 0, len(items))
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

func isInstance(o client.Object) bool { return o.GetLabels()[LabelManagedBy] == ManagedByValue }

// kubePinOf reads the pinning back from a pod spec: the remote cluster ID from the
// node selector (nothing else of it) and whether every required node selector term
// keeps the pod off virtual nodes.
func kubePinOf(spec *corev1.PodSpec) peering.Pinning {
	var p peering.Pinning
	if id := spec.NodeSelector[peering.LabelRemoteClusterID]; id != "" {
		p.NodeSelector = map[string]string{peering.LabelRemoteClusterID: id}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return p
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	p.NotOnVirtualNodes = len(terms) > 0 && !slices.ContainsFunc(terms, func(t corev1.NodeSelectorTerm) bool {
		return !slices.ContainsFunc(t.MatchExpressions, func(r corev1.NodeSelectorRequirement) bool {
			return r.Key == peering.LabelNodeType && r.Operator == corev1.NodeSelectorOpNotIn && slices.Equal(r.Values, []string{peering.NodeTypeVirtual})
		})
	})
	return p
}

// ApplyInstance creates or updates the instance. See Workloads and KubeWorkloads.
func (w *KubeWorkloads) ApplyInstance(ctx context.Context, namespace string, spec InstanceSpec) error {
	if err := kubeCheckNamespace("apply instance", namespace); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	name, err := kubeInstanceName(spec.Component, spec.Cluster)
	if err != nil {
		return err
	}
	return w.retry(ctx, func() error {
		k, tmpl, err := w.findTemplate(ctx, namespace, spec.Component)
		if err != nil {
			return err
		}
		want, err := w.instanceFrom(k, tmpl, name, spec)
		if err != nil {
			return err
		}
		where := fmt.Sprintf("%s %s/%s", k.Name(), namespace, name)
		have := k.New()
		err = w.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, have)
		switch {
		case apierrors.IsNotFound(err):
			if err := w.c.Create(ctx, want, client.FieldOwner(w.fm)); err != nil {
				return fmt.Errorf("act: creating %s: %w", where, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("act: reading %s: %w", where, err)
		}
		if l := have.GetLabels(); l[LabelManagedBy] != ManagedByValue || l[LabelComponent] != spec.Component || l[LabelCluster] != spec.Cluster {
			return fmt.Errorf("act: %s exists and is not the instance of %s on %s (labels %s=%q, %s=%q, %s=%q): rename it, or the component or cluster: %w",
				where, spec.Component, spec.Cluster, LabelManagedBy, l[LabelManagedBy], LabelComponent, l[LabelComponent], LabelCluster, l[LabelCluster], ErrInvalid)
		}
		if kubeUpToDate(k, have, want, tmpl.GetUID()) {
			return nil
		}
		want.SetResourceVersion(have.GetResourceVersion())
		ann := maps.Clone(have.GetAnnotations())
		if ann == nil {
			ann = map[string]string{}
		}
		maps.Copy(ann, want.GetAnnotations())
		want.SetAnnotations(ann)
		want.SetFinalizers(have.GetFinalizers())
		// Keep others' owner references; replace ours (also one to an earlier template
		// of the same name, deleted and created again).
		ours := want.GetOwnerReferences()
		refs := slices.DeleteFunc(slices.Clone(have.GetOwnerReferences()), func(r metav1.OwnerReference) bool {
			return slices.ContainsFunc(ours, func(o metav1.OwnerReference) bool { return r.Kind == o.Kind && r.Name == o.Name })
		})
		want.SetOwnerReferences(append(refs, ours...))
		if err := w.c.Update(ctx, want, client.FieldOwner(w.fm)); err != nil {
			return fmt.Errorf("act: updating %s: %w", where, err)
		}
		return nil
	})
}

// findTemplate returns the template of component: the object named component of
// the first kind that has one and that is not itself an instance.
func (w *KubeWorkloads) findTemplate(ctx context.Context, namespace, component string) (Kind, client.Object, error) {
	names := make([]string, 0, len(w.kinds))
	for _, k := range w.kinds {
		names = append(names, k.Name())
		t := k.New()
		err := w.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: component}, t)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("act: reading the template %s %s/%s: %w", k.Name(), namespace, component, err)
		case isInstance(t):
			continue
		}
		return k, t, nil
	}
	return nil, nil, fmt.Errorf("act: no template for component %s/%s: no %s named %q in namespace %s: create one (replicas 0) that act copies into the instances: %w",
		namespace, component, strings.Join(names, " or "), component, namespace, ErrNotFound)
}

// instanceFrom computes the instance of spec from the template tmpl of kind k.
func (w *KubeWorkloads) instanceFrom(k Kind, tmpl client.Object, name string, spec InstanceSpec) (client.Object, error) {
	where := fmt.Sprintf("%s %s/%s", k.Name(), tmpl.GetNamespace(), tmpl.GetName())
	gvk, err := apiutil.GVKForObject(tmpl, w.c.Scheme())
	if err != nil {
		return nil, fmt.Errorf("act: template %s: %w", where, err)
	}
	obj, err := kubeCopyWithoutMeta(k, tmpl, name)
	if err != nil {
		return nil, fmt.Errorf("act: copying the template %s: %w", where, err)
	}
	ours := map[string]string{LabelComponent: spec.Component, LabelCluster: spec.Cluster, LabelManagedBy: ManagedByValue}
	labels := maps.Clone(tmpl.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, ours)
	obj.SetLabels(labels)
	obj.SetAnnotations(map[string]string{AnnotationTemplateGeneration: strconv.FormatInt(tmpl.GetGeneration(), 10)})
	obj.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: tmpl.GetName(), UID: tmpl.GetUID(),
	}})
	pt := k.PodTemplate(obj)
	sel := k.Selector(obj)
	if pt == nil || sel == nil {
		return nil, fmt.Errorf("act: template %s has no pod template or selector: %w", where, ErrInvalid)
	}
	if pt.Labels == nil {
		pt.Labels = map[string]string{}
	}
	maps.Copy(pt.Labels, ours)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	maps.Copy(sel.MatchLabels, ours)
	spec.Pin.Apply(&pt.Spec)
	k.SetReplicas(obj, spec.Replicas)
	return obj, nil
}

// kubeCopyWithoutMeta returns a new object of kind k named name in the template's
// namespace with every top-level field of tmpl except metadata and status.
func kubeCopyWithoutMeta(k Kind, tmpl client.Object, name string) (client.Object, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tmpl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(m))
	for key, v := range m {
		if key != "metadata" && key != "status" {
			out[key] = v
		}
	}
	out["metadata"] = map[string]any{"name": name, "namespace": tmpl.GetNamespace()}
	obj := k.New()
	if u, ok := obj.(runtime.Unstructured); ok {
		u.SetUnstructuredContent(out)
		return obj, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(out, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// kubeUpToDate reports whether have already is want in everything ApplyInstance
// sets.
func kubeUpToDate(k Kind, have, want client.Object, tmplUID types.UID) bool {
	if k.Replicas(have) != k.Replicas(want) ||
		!maps.Equal(have.GetLabels(), want.GetLabels()) ||
		have.GetAnnotations()[AnnotationTemplateGeneration] != want.GetAnnotations()[AnnotationTemplateGeneration] ||
		!slices.ContainsFunc(have.GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == tmplUID }) {
		return false
	}
	hp, wp := k.PodTemplate(have), k.PodTemplate(want)
	if hp == nil || wp == nil {
		return false
	}
	return maps.Equal(hp.Labels, wp.Labels) &&
		maps.Equal(hp.Spec.NodeSelector, wp.Spec.NodeSelector) &&
		equality.Semantic.DeepEqual(hp.Spec.Affinity, wp.Spec.Affinity) &&
		equality.Semantic.DeepEqual(k.Selector(have), k.Selector(want))
}

// DeleteInstance deletes the instance of component on cluster, whatever its kind.
// See Workloads.
func (w *KubeWorkloads) DeleteInstance(ctx context.Context, namespace, component, cluster string) error {
	if err := kubeCheckNamespace("delete instance", namespace); err != nil {
		return err
	}
	if bad := instanceRefErrs(component, cluster); len(bad) > 0 {
		return fmt.Errorf("act: delete instance %s on %s: %s: %w", component, cluster, strings.Join(bad, "; "), ErrInvalid)
	}
	name, err := kubeInstanceName(component, cluster)
	if err != nil {
		return err
	}
	return w.retry(ctx, func() error {
		for _, k := range w.kinds {
			where := fmt.Sprintf("%s %s/%s", k.Name(), namespace, name)
			o := k.New()
			err := w.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, o)
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				return fmt.Errorf("act: reading %s: %w", where, err)
			}
			if l := o.GetLabels(); l[LabelManagedBy] != ManagedByValue || l[LabelComponent] != component || l[LabelCluster] != cluster {
				continue // not the instance: never delete what act did not write
			}
			uid := o.GetUID()
			err = w.c.Delete(ctx, o, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("act: deleting %s: %w", where, err)
			}
		}
		return nil
	})
}

// Retries of KubeWorkloads' writes.
const (
	kubeAttempts     = 5
	kubeFirstBackoff = 50 * time.Millisecond
)

// retry runs fn until it succeeds, fails with an error that is not worth retrying,
// runs out of attempts or ctx ends. Conflicts (an object changed since it was read,
// a delete precondition failed), AlreadyExists (another writer created it first),
// server and gateway timeouts and too many requests are retried after a backoff
// doubling from 50 ms.
func (w *KubeWorkloads) retry(ctx context.Context, fn func() error) error {
	d := kubeFirstBackoff
	for i := 1; ; i++ {
		err := fn()
		if err == nil || i == kubeAttempts || !kubeRetriable(err) {
			if err != nil && i > 1 && kubeRetriable(err) {
				return fmt.Errorf("%w (gave up after %d attempts)", err, i)
			}
			return err
		}
		t := w.clk.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C():
		}
		d *= 2
	}
}

func kubeRetriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err)
}
