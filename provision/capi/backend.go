package capi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/provision"
)

// DefaultFieldManager is the server-side apply field manager when Options.FieldManager
// is empty.
const DefaultFieldManager = "continuum-provision"

// DefaultProvider is the infrastructure provider of a spec that names none.
const DefaultProvider = "docker"

// DefaultProviders returns the built-in infrastructure providers: "docker" (CAPD) and
// "openstack" (CAPO).
func DefaultProviders() map[string]InfrastructureProvider {
	return map[string]InfrastructureProvider{"docker": Docker{}, "openstack": OpenStack{}}
}

// Options configures New. The zero value is usable.
type Options struct {
	// FieldManager is the server-side apply field manager; empty means
	// DefaultFieldManager.
	FieldManager string
	// Providers maps Infrastructure.Provider names to providers; nil means
	// DefaultProviders.
	Providers map[string]InfrastructureProvider
	// Log receives one line per write (never a kubeconfig); the zero value discards.
	Log logr.Logger
}

// Backend provisions clusters through Cluster API on a management cluster. It is a
// provision.Provisioner with the Scaler and KubeconfigGetter capabilities, and is
// safe for concurrent use.
type Backend struct {
	c         client.WithWatch
	fm        string
	providers map[string]InfrastructureProvider
	log       logr.Logger
}

var (
	_ provision.Provisioner      = (*Backend)(nil)
	_ provision.Scaler           = (*Backend)(nil)
	_ provision.KubeconfigGetter = (*Backend)(nil)
)

// New returns a backend writing through c, a client of the management cluster whose
// scheme has the Cluster API core v1beta2 types and client-go's (for Secrets).
func New(c client.WithWatch, opts Options) (*Backend, error) {
	if c == nil {
		return nil, errors.New("provision/capi: New: nil client")
	}
	for _, gvk := range []schema.GroupVersionKind{clusterv1.GroupVersion.WithKind("Cluster"), corev1.SchemeGroupVersion.WithKind("Secret")} {
		if !c.Scheme().Recognizes(gvk) {
			return nil, fmt.Errorf("provision/capi: New: the client's scheme lacks %s", gvk)
		}
	}
	b := &Backend{c: c, fm: cmp.Or(opts.FieldManager, DefaultFieldManager), providers: opts.Providers, log: opts.Log}
	if b.providers == nil {
		b.providers = DefaultProviders()
	}
	return b, nil
}

// Create renders spec (see Render) and applies the objects with server-side apply.
func (b *Backend) Create(ctx context.Context, spec provision.ClusterSpec) error {
	objs, err := Render(spec, b.providers)
	if err != nil {
		return err
	}
	ref := spec.Ref()
	var existing clusterv1.Cluster
	switch err := b.c.Get(ctx, key(ref), &existing); {
	case err == nil:
		return fmt.Errorf("provision/capi: create %s: %w", ref, provision.ErrAlreadyExists)
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("provision/capi: create %s: %w", ref, err)
	}
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		if err := b.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(b.fm), client.ForceOwnership); err != nil {
			return fmt.Errorf("provision/capi: create %s: applying %s %s: %w", ref, u.GetKind(), u.GetName(), err)
		}
		b.log.Info("applied", "kind", u.GetKind(), "namespace", u.GetNamespace(), "name", u.GetName())
	}
	return nil
}

// Delete deletes the Cluster; Cluster API then deletes its machines and every object
// it owns. See provision.DeleteAndWait to wait for it to go.
func (b *Backend) Delete(ctx context.Context, ref provision.Ref) error {
	cl := &clusterv1.Cluster{}
	cl.Name, cl.Namespace = ref.Name, ref.Namespace
	err := b.c.Delete(ctx, cl, client.PropagationPolicy("Background"))
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("provision/capi: delete %s: %w", ref, provision.ErrNotFound)
	case err != nil:
		return fmt.Errorf("provision/capi: delete %s: %w", ref, err)
	}
	b.log.Info("deleted", "kind", "Cluster", "namespace", ref.Namespace, "name", ref.Name)
	return nil
}

// Scale sets the replicas of the worker MachineDeployment (in ClusterClass mode, of
// the Cluster's topology) with a merge patch.
func (b *Backend) Scale(ctx context.Context, ref provision.Ref, workers int32) error {
	if workers < 0 || workers > provision.MaxWorkers {
		return fmt.Errorf("provision/capi: scale %s: workers %d must be between 0 and %d: %w", ref, workers, provision.MaxWorkers, provision.ErrInvalid)
	}
	var cl clusterv1.Cluster
	if err := b.c.Get(ctx, key(ref), &cl); err != nil {
		return b.notFound("scale", ref, err)
	}
	if cl.Spec.Topology.IsDefined() {
		patch := fmt.Appendf(nil, `{"spec":{"topology":{"workers":{"machineDeployments":[{"class":%q,"name":"md-0","replicas":%d}]}}}}`, WorkerClass, workers)
		if err := b.c.Patch(ctx, &cl, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("provision/capi: scale %s: %w", ref, err)
		}
		return nil
	}
	md := &clusterv1.MachineDeployment{}
	md.Name, md.Namespace = MachineDeploymentName(ref.Name), ref.Namespace
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, workers)
	if err := b.c.Patch(ctx, md, client.RawPatch(types.MergePatchType, patch)); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("provision/capi: scale %s: MachineDeployment %s not found: %w", ref, md.Name, provision.ErrNotFound)
		}
		return fmt.Errorf("provision/capi: scale %s: %w", ref, err)
	}
	b.log.Info("scaled", "namespace", ref.Namespace, "name", ref.Name, "workers", workers)
	return nil
}

// Kubeconfig reads the Secret <name>-kubeconfig (key "value") that the control-plane
// provider writes once the control plane is initialized. A missing Secret gives an
// error wrapping provision.ErrNotReady. Neither errors nor logs carry its content.
func (b *Backend) Kubeconfig(ctx context.Context, ref provision.Ref) (*rest.Config, error) {
	var cl clusterv1.Cluster
	if err := b.c.Get(ctx, key(ref), &cl); err != nil {
		return nil, b.notFound("kubeconfig of", ref, err)
	}
	name := KubeconfigSecretName(ref.Name)
	var sec corev1.Secret
	if err := b.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("provision/capi: kubeconfig of %s: Secret %s/%s not found (the control plane is not initialized yet, or its provider does not write it): %w",
				ref, ref.Namespace, name, provision.ErrNotReady)
		}
		return nil, fmt.Errorf("provision/capi: kubeconfig of %s: reading Secret %s: %w", ref, name, err)
	}
	data, ok := sec.Data["value"]
	if !ok || len(data) == 0 {
		return nil, fmt.Errorf("provision/capi: kubeconfig of %s: Secret %s/%s has no key \"value\": %w", ref, ref.Namespace, name, provision.ErrNotReady)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		// The parse error may quote the content: do not wrap it.
		return nil, fmt.Errorf("provision/capi: kubeconfig of %s: Secret %s/%s key \"value\" is not a valid kubeconfig", ref, ref.Namespace, name)
	}
	return cfg, nil
}

func (b *Backend) notFound(op string, ref provision.Ref, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("provision/capi: %s %s: %w", op, ref, provision.ErrNotFound)
	}
	return fmt.Errorf("provision/capi: %s %s: %w", op, ref, err)
}

func key(ref provision.Ref) client.ObjectKey {
	return client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
}

// Get reads the Cluster, its control plane and its MachineDeployment.
func (b *Backend) Get(ctx context.Context, ref provision.Ref) (*provision.Cluster, error) {
	var cl clusterv1.Cluster
	if err := b.c.Get(ctx, key(ref), &cl); err != nil {
		return nil, b.notFound("get", ref, err)
	}
	return b.read(ctx, &cl)
}

// List lists Clusters, filtering on the ownership labels on the server.
func (b *Backend) List(ctx context.Context, opts provision.ListOptions) ([]*provision.Cluster, error) {
	var list clusterv1.ClusterList
	lo := []client.ListOption{client.MatchingLabels(opts.Labels.Map())}
	if opts.Namespace != "" {
		lo = append(lo, client.InNamespace(opts.Namespace))
	}
	if err := b.c.List(ctx, &list, lo...); err != nil {
		return nil, fmt.Errorf("provision/capi: list: %w", err)
	}
	out := make([]*provision.Cluster, 0, len(list.Items))
	for i := range list.Items {
		c, err := b.read(ctx, &list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *provision.Cluster) int {
		return cmp.Or(cmp.Compare(a.Spec.Namespace, b.Spec.Namespace), cmp.Compare(a.Spec.Name, b.Spec.Name))
	})
	return out, nil
}

// read converts a Cluster (with its control plane and MachineDeployment) to a
// provision.Cluster.
func (b *Backend) read(ctx context.Context, cl *clusterv1.Cluster) (*provision.Cluster, error) {
	ref := provision.Ref{Namespace: cl.Namespace, Name: cl.Name}
	spec := provision.ClusterSpec{
		Name: cl.Name, Namespace: cl.Namespace,
		Distribution: provision.Distribution(cl.Labels[LabelDistribution]),
		PodCIDRs:     slices.Clone(cl.Spec.ClusterNetwork.Pods.CIDRBlocks),
		ServiceCIDRs: slices.Clone(cl.Spec.ClusterNetwork.Services.CIDRBlocks),
		Labels:       provision.LabelsFromMap(cl.Labels),
		Infrastructure: provision.Infrastructure{
			Provider:     cl.Labels[LabelInfrastructure],
			ClusterClass: cl.Spec.Topology.ClassRef.Name,
		},
	}
	if spec.Distribution == "" && cl.Spec.ControlPlaneRef.Kind == K3sControlPlaneKind {
		spec.Distribution = provision.K3s
	}
	if t := cl.Spec.Topology; t.IsDefined() {
		spec.KubernetesVersion = t.Version
		spec.ControlPlaneReplicas = deref(t.ControlPlane.Replicas)
		for _, md := range t.Workers.MachineDeployments {
			spec.Workers += deref(md.Replicas)
		}
	} else {
		if r := cl.Spec.ControlPlaneRef; r.Kind != "" {
			cp := &unstructured.Unstructured{}
			cp.SetGroupVersionKind(schema.GroupVersionKind{Group: r.APIGroup, Version: "v1beta2", Kind: r.Kind})
			if err := b.c.Get(ctx, client.ObjectKey{Namespace: cl.Namespace, Name: r.Name}, cp); err == nil {
				spec.KubernetesVersion, _, _ = unstructured.NestedString(cp.Object, "spec", "version")
				n, _, _ := unstructured.NestedInt64(cp.Object, "spec", "replicas")
				spec.ControlPlaneReplicas = int32(n)
			} else if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("provision/capi: reading the control plane of %s: %w", ref, err)
			}
		}
		var md clusterv1.MachineDeployment
		if err := b.c.Get(ctx, client.ObjectKey{Namespace: cl.Namespace, Name: MachineDeploymentName(cl.Name)}, &md); err == nil {
			spec.Workers = deref(md.Spec.Replicas)
		} else if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("provision/capi: reading the workers of %s: %w", ref, err)
		}
	}
	out := &provision.Cluster{Spec: spec, Generation: cl.Generation}
	for _, c := range cl.Status.Conditions {
		out.Conditions = append(out.Conditions, provision.Condition{
			Type: c.Type, Status: provision.ConditionStatus(c.Status), ObservedGeneration: c.ObservedGeneration,
			LastTransitionTime: c.LastTransitionTime.Time, Reason: c.Reason, Message: c.Message,
		})
	}
	out.ControlPlane.Desired = spec.ControlPlaneReplicas
	if s := cl.Status.ControlPlane; s != nil {
		out.ControlPlane.Current, out.ControlPlane.Ready, out.ControlPlane.Available = deref(s.Replicas), deref(s.ReadyReplicas), deref(s.AvailableReplicas)
	}
	out.Workers.Desired = spec.Workers
	if s := cl.Status.Workers; s != nil {
		out.Workers.Current, out.Workers.Ready, out.Workers.Available = deref(s.Replicas), deref(s.ReadyReplicas), deref(s.AvailableReplicas)
	}
	// status.initialization is authoritative for the first two milestones.
	init := cl.Status.Initialization
	if init.InfrastructureProvisioned == nil || !*init.InfrastructureProvisioned {
		dropTrue(out, provision.InfrastructureReady)
	}
	if init.ControlPlaneInitialized == nil || !*init.ControlPlaneInitialized {
		dropTrue(out, provision.ControlPlaneInitialized)
	}
	out.Timeline = provision.TimelineFromConditions(cl.CreationTimestamp.Time, out.Conditions)
	out.Phase = provision.PhaseOf(out, cl.DeletionTimestamp != nil, false)
	if c, ok := out.Condition(string(provision.Available)); ok && c.Status != provision.ConditionTrue {
		out.Message = c.Message
	}
	return out, nil
}

// dropTrue turns a True condition that status.initialization contradicts into Unknown.
func dropTrue(c *provision.Cluster, m provision.Milestone) {
	for i := range c.Conditions {
		if c.Conditions[i].Type == string(m) && c.Conditions[i].Status == provision.ConditionTrue {
			c.Conditions[i].Status = provision.ConditionUnknown
			c.Conditions[i].Message = "status.initialization does not agree yet"
		}
	}
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// Watch watches the Cluster and its MachineDeployment on the apiserver and sends the
// cluster's state after each event. Watches that expire are restarted.
func (b *Backend) Watch(ctx context.Context, ref provision.Ref) (<-chan provision.Change, error) {
	start := func() (watch.Interface, watch.Interface, error) {
		cw, err := b.c.Watch(ctx, &clusterv1.ClusterList{}, client.InNamespace(ref.Namespace),
			client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", ref.Name)})
		if err != nil {
			return nil, nil, fmt.Errorf("provision/capi: watching Cluster %s: %w", ref, err)
		}
		mw, err := b.c.Watch(ctx, &clusterv1.MachineDeploymentList{}, client.InNamespace(ref.Namespace),
			client.MatchingLabels{clusterv1.ClusterNameLabel: ref.Name})
		if err != nil {
			cw.Stop()
			return nil, nil, fmt.Errorf("provision/capi: watching MachineDeployments of %s: %w", ref, err)
		}
		return cw, mw, nil
	}
	cw, mw, err := start()
	if err != nil {
		return nil, err
	}
	out := make(chan provision.Change)
	go func() {
		defer close(out)
		defer func() { cw.Stop(); mw.Stop() }()
		var last *provision.Change
		send := func(ch provision.Change) bool {
			if last != nil && reflect.DeepEqual(*last, ch) {
				return true
			}
			select {
			case out <- ch:
				last = &ch
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			ch := provision.Change{}
			c, err := b.Get(ctx, ref)
			switch {
			case errors.Is(err, provision.ErrNotFound):
				ch.Gone = true
			case err != nil:
				if ctx.Err() == nil {
					send(provision.Change{Err: err})
				}
				return
			default:
				ch.Cluster = c
			}
			if !send(ch) {
				return
			}
			restart := false
			select {
			case <-ctx.Done():
				return
			case _, ok := <-cw.ResultChan():
				restart = !ok
			case _, ok := <-mw.ResultChan():
				restart = !ok
			}
			if restart {
				cw.Stop()
				mw.Stop()
				if cw, mw, err = start(); err != nil {
					if ctx.Err() == nil {
						send(provision.Change{Err: err})
					}
					cw, mw = watch.NewEmptyWatch(), watch.NewEmptyWatch()
					return
				}
			}
		}
	}()
	return out, nil
}
