package liqo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/peering"
)

// targetsOf returns the cluster IDs in the selector of a NamespaceOffloading
// (liqo.io/remote-cluster-id In [...]).
func targetsOf(o *offloadingv1beta1.NamespaceOffloading) map[peering.ClusterID]bool {
	ids := map[peering.ClusterID]bool{}
	for _, t := range o.Spec.ClusterSelector.NodeSelectorTerms {
		for _, r := range t.MatchExpressions {
			if r.Key == labelRemoteClusterID && r.Operator == corev1.NodeSelectorOpIn {
				for _, v := range r.Values {
					ids[peering.ClusterID(v)] = true
				}
			}
		}
	}
	return ids
}

func (b *Backend) getOffloading(ctx context.Context, ref peering.NamespaceRef) (*offloadingv1beta1.NamespaceOffloading, client.WithWatch, error) {
	c, err := b.client(ref.Cluster)
	if err != nil {
		return nil, nil, err
	}
	var o offloadingv1beta1.NamespaceOffloading
	err = c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: OffloadingName}, &o)
	switch {
	case apierrors.IsNotFound(err):
		return nil, c, fmt.Errorf("liqo: offloading %s: %w", ref, peering.ErrNotFound)
	case err != nil:
		return nil, c, fmt.Errorf("liqo: offloading %s: %w", ref, err)
	}
	return &o, c, nil
}

// GetOffloading reads the NamespaceOffloading "offloading" of the namespace: its
// strategies, targets (cluster IDs mapped back to names; an unknown ID stays as is),
// Liqo's phase and the conditions per remote cluster. Current holds when Liqo's
// status.observedGeneration matches the spec.
func (b *Backend) GetOffloading(ctx context.Context, ref peering.NamespaceRef) (*peering.Offloading, error) {
	o, _, err := b.getOffloading(ctx, ref)
	if err != nil {
		return nil, err
	}
	ids, err := b.ids(ctx)
	if err != nil {
		return nil, fmt.Errorf("liqo: offloading %s: %w", ref, err)
	}
	names := map[peering.ClusterID]string{}
	for n, id := range ids {
		names[id] = n
	}
	nameOf := func(id peering.ClusterID) string {
		if n, ok := names[id]; ok {
			return n
		}
		return string(id)
	}
	spec := peering.OffloadSpec{NamespaceRef: ref, Mapping: peering.MappingStrategy(o.Spec.NamespaceMappingStrategy), Pods: peering.PodStrategy(o.Spec.PodOffloadingStrategy)}
	if spec.Mapping == peering.SelectedName {
		spec.RemoteNamespace = o.Spec.RemoteNamespaceName
	}
	for id := range targetsOf(o) {
		spec.Targets = append(spec.Targets, nameOf(id))
	}
	slices.Sort(spec.Targets)
	out := &peering.Offloading{
		Spec:    spec,
		Phase:   peering.OffloadingPhase(o.Status.OffloadingPhase),
		Remote:  map[string]peering.RemoteNamespace{},
		Current: o.Status.ObservedGeneration == o.Generation && o.DeletionTimestamp == nil,
	}
	for id, conds := range o.Status.RemoteNamespacesConditions {
		r := peering.RemoteNamespace{Name: o.Status.RemoteNamespaceName}
		for _, c := range conds {
			switch c.Type {
			case offloadingv1beta1.NamespaceOffloadingRequired:
				r.Required = c.Status == corev1.ConditionTrue
			case offloadingv1beta1.NamespaceReady:
				r.Ready = c.Status == corev1.ConditionTrue
				if !r.Ready {
					r.Message = c.Message
				}
			}
		}
		out.Remote[nameOf(peering.ClusterID(id))] = r
	}
	return out, nil
}

// WatchOffloading watches the namespace's NamespaceOffloadings and sends the
// offloading's state after each change.
func (b *Backend) WatchOffloading(ctx context.Context, ref peering.NamespaceRef) (<-chan peering.OffloadingChange, error) {
	c, err := b.client(ref.Cluster)
	if err != nil {
		return nil, err
	}
	sources := []watchSource{{c, &offloadingv1beta1.NamespaceOffloadingList{}, []client.ListOption{client.InNamespace(ref.Namespace)}}}
	return watchState(ctx, sources, func(ctx context.Context) (peering.OffloadingChange, error) {
		o, err := b.GetOffloading(ctx, ref)
		switch {
		case errors.Is(err, peering.ErrNotFound):
			return peering.OffloadingChange{Gone: true}, nil
		case err != nil:
			return peering.OffloadingChange{}, err
		}
		return peering.OffloadingChange{Offloading: o}, nil
	}, func(err error) peering.OffloadingChange { return peering.OffloadingChange{Err: err} },
		func(a, b peering.OffloadingChange) bool {
			return a.Gone == b.Gone && (a.Offloading == nil) == (b.Offloading == nil) &&
				(a.Offloading == nil || peering.OffloadingSummary(a.Offloading) == peering.OffloadingSummary(b.Offloading) &&
					a.Offloading.Current == b.Offloading.Current && a.Offloading.Phase == b.Offloading.Phase &&
					slices.Equal(a.Offloading.Spec.Targets, b.Offloading.Spec.Targets))
		})
}

// Offload writes the NamespaceOffloading "offloading" in the namespace, selecting
// the targets' cluster IDs. Every target needs a ready peering from spec.Cluster.
// Liqo's webhook (which does not run everywhere) forbids changing the strategies,
// so the backend refuses that itself (ErrInvalid); only targets may change. The
// same spec again writes nothing.
func (b *Backend) Offload(ctx context.Context, spec peering.OffloadSpec) error {
	_, err := b.offload(ctx, spec, false)
	return err
}

// PlanOffload is Offload's dry run: it checks the offloading could be made, writes
// nothing, and returns the NamespaceOffloading Offload would write (nil when the
// current one already matches).
func (b *Backend) PlanOffload(ctx context.Context, spec peering.OffloadSpec) (client.Object, error) {
	obj, err := b.offload(ctx, spec, true)
	if obj == nil {
		return nil, err
	}
	return obj, err
}

func (b *Backend) offload(ctx context.Context, spec peering.OffloadSpec, dryRun bool) (*offloadingv1beta1.NamespaceOffloading, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.WithDefaults()
	c, err := b.client(spec.Cluster)
	if err != nil {
		return nil, fmt.Errorf("liqo: offload %s: %w", spec.NamespaceRef, err)
	}
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: spec.Namespace}, &ns); apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("liqo: offload %s: no namespace %s: %w", spec.NamespaceRef, spec.Namespace, peering.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("liqo: offload %s: %w", spec.NamespaceRef, err)
	}
	var ids []string
	for _, t := range spec.Targets {
		k := peering.Key{Consumer: spec.Cluster, Provider: t}
		p, err := b.GetPeering(ctx, k)
		switch {
		case errors.Is(err, peering.ErrNotFound):
			return nil, fmt.Errorf("liqo: offload %s: target %s: no peering %s: %w", spec.NamespaceRef, t, k, peering.ErrNotPeered)
		case err != nil:
			return nil, fmt.Errorf("liqo: offload %s: target %s: %w", spec.NamespaceRef, t, err)
		case !peering.IsPeered(p):
			return nil, fmt.Errorf("liqo: offload %s: target %s: peering not ready (%s): %w", spec.NamespaceRef, t, peering.Summary(p), peering.ErrNotPeered)
		}
		ids = append(ids, string(p.ProviderID))
	}
	slices.Sort(ids)
	want := offloadingv1beta1.NamespaceOffloadingSpec{
		NamespaceMappingStrategy: offloadingv1beta1.NamespaceMappingStrategyType(spec.Mapping),
		RemoteNamespaceName:      spec.RemoteNamespace,
		PodOffloadingStrategy:    offloadingv1beta1.PodOffloadingStrategyType(spec.Pods),
		ClusterSelector: corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: labelRemoteClusterID, Operator: corev1.NodeSelectorOpIn, Values: ids},
		}}}},
	}
	cur, _, err := b.getOffloading(ctx, spec.NamespaceRef)
	switch {
	case err == nil:
		if cur.Spec.NamespaceMappingStrategy != want.NamespaceMappingStrategy || cur.Spec.PodOffloadingStrategy != want.PodOffloadingStrategy || cur.Spec.RemoteNamespaceName != want.RemoteNamespaceName {
			return nil, fmt.Errorf("liqo: offload %s: Liqo does not allow changing the strategies (now mapping %s, pods %s); unoffload first: %w",
				spec.NamespaceRef, cur.Spec.NamespaceMappingStrategy, cur.Spec.PodOffloadingStrategy, peering.ErrInvalid)
		}
		cur := slices.Sorted(func(yield func(string) bool) {
			for id := range targetsOf(cur) {
				if !yield(string(id)) {
					return
				}
			}
		})
		if slices.Equal(cur, ids) {
			return nil, nil // nothing to write
		}
	case !errors.Is(err, peering.ErrNotFound):
		return nil, err
	}
	obj := &offloadingv1beta1.NamespaceOffloading{ObjectMeta: metav1.ObjectMeta{Name: OffloadingName, Namespace: spec.Namespace}, Spec: want}
	if dryRun {
		return obj, nil
	}
	if err := b.apply(ctx, c, obj); err != nil {
		return nil, fmt.Errorf("liqo: offload %s: %w", spec.NamespaceRef, err)
	}
	return obj, nil
}

// Unoffload deletes the namespace's NamespaceOffloading. Liqo then deletes the
// remote namespaces and everything running in them (the backend logs that warning
// through the context's logger) and last the NamespaceOffloading, which Unoffload
// waits for, bounded by ctx and Options.UnpeerTimeout: when the wait ends first the
// error wraps ErrNotReady, and calling Unoffload again resumes it.
func (b *Backend) Unoffload(ctx context.Context, ref peering.NamespaceRef) error {
	o, c, err := b.getOffloading(ctx, ref)
	if err != nil {
		return err
	}
	ctrllog.FromContext(ctx).Info("unoffloading: Liqo deletes the remote namespaces and everything in them", "namespace", ref.String())
	if err := deleteIgnoringMissing(ctx, c, o); err != nil {
		return fmt.Errorf("liqo: unoffload %s: %w", ref, err)
	}
	// Liqo keeps the NamespaceOffloading (a finalizer) until it has removed the
	// remote namespaces; like liqoctl unoffload, wait for that.
	if err := b.waitGone(ctx, c, o); err != nil {
		return fmt.Errorf("liqo: unoffload %s: %w", ref, err)
	}
	return nil
}
