package ocm

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/api/equality"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "open-cluster-management.io/api/cluster/v1"
	clusterv1beta1 "open-cluster-management.io/api/cluster/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/topology"
)

// Apply writes the set to an OCM hub, as the external scheduler of its Placements:
// each Placement is created or its spec, labels and annotations updated, and its
// status.numberOfSelectedClusters set; each PlacementDecision is created (owned by
// its Placement, as OCM's own are) or updated, and its status written; decisions of
// these Placements that the set no longer has are deleted. Re-applying the same set
// writes nothing. Conflicts are returned: the caller retries.
//
// RBAC on the hub, in the objects' namespace: placements and placementdecisions
// (get, list, create, update, delete) and their status subresources (update).
func Apply(ctx context.Context, c client.Client, set *Set) error {
	for _, want := range set.Placements {
		pl, err := applyPlacement(ctx, c, want)
		if err != nil {
			return err
		}
		var decisions []*clusterv1beta1.PlacementDecision
		for _, d := range set.Decisions {
			if d.Namespace == pl.Namespace && d.Labels[clusterv1beta1.PlacementLabel] == pl.Name {
				decisions = append(decisions, d)
			}
		}
		selected := 0
		for _, d := range decisions {
			selected += len(d.Status.Decisions)
			if err := applyDecision(ctx, c, pl, d); err != nil {
				return err
			}
		}
		var list clusterv1beta1.PlacementDecisionList
		if err := c.List(ctx, &list, client.InNamespace(pl.Namespace), client.MatchingLabels{clusterv1beta1.PlacementLabel: pl.Name}); err != nil {
			return fmt.Errorf("ocm: list the decisions of placement %s/%s: %w", pl.Namespace, pl.Name, err)
		}
		for i := range list.Items {
			old := &list.Items[i]
			if !slices.ContainsFunc(decisions, func(d *clusterv1beta1.PlacementDecision) bool { return d.Name == old.Name }) {
				if err := c.Delete(ctx, old); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("ocm: delete placement decision %s/%s: %w", old.Namespace, old.Name, err)
				}
			}
		}
		if pl.Status.NumberOfSelectedClusters != int32(selected) {
			pl.Status.NumberOfSelectedClusters = int32(selected)
			if err := c.Status().Update(ctx, pl); err != nil {
				return fmt.Errorf("ocm: update the status of placement %s/%s: %w", pl.Namespace, pl.Name, err)
			}
		}
	}
	return nil
}

func applyPlacement(ctx context.Context, c client.Client, want *clusterv1beta1.Placement) (*clusterv1beta1.Placement, error) {
	pl := &clusterv1beta1.Placement{}
	err := c.Get(ctx, client.ObjectKeyFromObject(want), pl)
	switch {
	case apierrors.IsNotFound(err):
		pl = want.DeepCopy()
		pl.Status = clusterv1beta1.PlacementStatus{}
		if err := c.Create(ctx, pl); err != nil {
			return nil, fmt.Errorf("ocm: create placement %s/%s: %w", want.Namespace, want.Name, err)
		}
		return pl, nil
	case err != nil:
		return nil, fmt.Errorf("ocm: get placement %s/%s: %w", want.Namespace, want.Name, err)
	}
	changed := false
	for k, v := range want.Labels {
		if pl.Labels[k] != v {
			pl.Labels = setKey(pl.Labels, k, v)
			changed = true
		}
	}
	for k, v := range want.Annotations {
		if pl.Annotations[k] != v {
			pl.Annotations = setKey(pl.Annotations, k, v)
			changed = true
		}
	}
	if !specEqual(pl.Spec, want.Spec) {
		pl.Spec = *want.Spec.DeepCopy()
		changed = true
	}
	if changed {
		if err := c.Update(ctx, pl); err != nil {
			return nil, fmt.Errorf("ocm: update placement %s/%s: %w", want.Namespace, want.Name, err)
		}
	}
	return pl, nil
}

// specEqual compares the fields Objects sets (the apiserver defaults others), by value
// (pointers followed, nil and empty lists alike).
func specEqual(a, b clusterv1beta1.PlacementSpec) bool {
	return slices.Equal(a.ClusterSets, b.ClusterSets) && ptr.Deref(a.NumberOfClusters, -1) == ptr.Deref(b.NumberOfClusters, -1) &&
		equality.Semantic.DeepEqual(a.Predicates, b.Predicates) && equality.Semantic.DeepEqual(a.Tolerations, b.Tolerations)
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func applyDecision(ctx context.Context, c client.Client, owner *clusterv1beta1.Placement, want *clusterv1beta1.PlacementDecision) error {
	ref := metav1.OwnerReference{APIVersion: clusterv1beta1.GroupVersion.String(), Kind: "Placement", Name: owner.Name, UID: owner.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	d := &clusterv1beta1.PlacementDecision{}
	err := c.Get(ctx, client.ObjectKeyFromObject(want), d)
	switch {
	case apierrors.IsNotFound(err):
		d = want.DeepCopy()
		d.OwnerReferences = []metav1.OwnerReference{ref}
		status := d.Status
		if err := c.Create(ctx, d); err != nil {
			return fmt.Errorf("ocm: create placement decision %s/%s: %w", want.Namespace, want.Name, err)
		}
		d.Status = status
		if err := c.Status().Update(ctx, d); err != nil {
			return fmt.Errorf("ocm: write the status of placement decision %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("ocm: get placement decision %s/%s: %w", want.Namespace, want.Name, err)
	}
	changed := !slices.ContainsFunc(d.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == owner.UID })
	if changed {
		d.OwnerReferences = append(d.OwnerReferences, ref)
	}
	for k, v := range want.Labels {
		if d.Labels[k] != v {
			d.Labels = setKey(d.Labels, k, v)
			changed = true
		}
	}
	if changed {
		if err := c.Update(ctx, d); err != nil {
			return fmt.Errorf("ocm: update placement decision %s/%s: %w", want.Namespace, want.Name, err)
		}
	}
	if !slices.Equal(d.Status.Decisions, want.Status.Decisions) {
		d.Status.Decisions = slices.Clone(want.Status.Decisions)
		if err := c.Status().Update(ctx, d); err != nil {
			return fmt.Errorf("ocm: write the status of placement decision %s/%s: %w", want.Namespace, want.Name, err)
		}
	}
	return nil
}

// ReadClusters lists the hub's ManagedClusters (those matching opts, e.g.
// client.MatchingLabels) and reads each with Cluster, in name order.
//
// RBAC on the hub: managedclusters (list), cluster-scoped.
func ReadClusters(ctx context.Context, r client.Reader, o ReadOptions, opts ...client.ListOption) ([]topology.Cluster, error) {
	var list clusterv1.ManagedClusterList
	if err := r.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("ocm: list managed clusters: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b clusterv1.ManagedCluster) int { return strings.Compare(a.Name, b.Name) })
	out := make([]topology.Cluster, 0, len(list.Items))
	for i := range list.Items {
		c, err := Cluster(&list.Items[i], o)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
