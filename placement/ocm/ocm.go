package ocm

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	clusterv1 "open-cluster-management.io/api/cluster/v1"
	clusterv1beta1 "open-cluster-management.io/api/cluster/v1beta1"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// MaxDecisionsPerObject is how many clusters one PlacementDecision lists at most
// (OCM's rule; more go into further PlacementDecisions of the same Placement).
const MaxDecisionsPerObject = 100

// Labels continuum puts on the objects it writes.
const (
	// LabelApp and LabelComponent name the application and component of a
	// Placement (and of its PlacementDecisions).
	LabelApp       = "continuum.xr/app"
	LabelComponent = "continuum.xr/component"
	// LabelOwner and LabelTier on a ManagedCluster give the topology cluster's owner
	// and tier (ReadOptions has the defaults).
	LabelOwner = "continuum.xr/owner"
	LabelTier  = "continuum.xr/tier"
	// ClaimRegion is OCM's well-known cluster claim of the region.
	ClaimRegion = "region.open-cluster-management.io"
)

// ObjectsOptions configure Objects. The zero value is fine.
type ObjectsOptions struct {
	// Namespace of the objects; empty means the application's namespace (its name
	// when it has none). A Placement selects clusters through the ManagedClusterSets
	// bound to its namespace.
	Namespace string
	// ClusterSets, when set, is the Placement's spec.clusterSets.
	ClusterSets []string
}

// Set is a plan written as OCM objects: per component, a Placement whose scheduling
// continuum does (OCM's scheduler is told to leave it alone with
// PlacementDisableAnnotation) and its PlacementDecisions, each listing at most
// MaxDecisionsPerObject clusters, labelled as OCM's consumers expect (PlacementLabel,
// DecisionGroupIndexLabel "0", DecisionGroupNameLabel "").
type Set struct {
	Placements []*clusterv1beta1.Placement
	// Decisions are in Placement order, then in name order; their owner reference
	// to the Placement is set by Apply, which knows its UID.
	Decisions []*clusterv1beta1.PlacementDecision
}

// PlacementName returns the name of a component's Placement: app-component.
func PlacementName(app, component string) string { return app + "-" + component }

// DecisionName returns the name of the n-th PlacementDecision (from 1) of a
// Placement: placement-decision-n.
func DecisionName(placementName string, n int) string {
	return placementName + "-decision-" + strconv.Itoa(n)
}

// Objects writes the assignments of app (a plan's Assignments, or the placement in
// force) as OCM objects: a Placement per component, with the component's label
// selector and tolerations as its predicates and tolerations (for OCM's view; its
// scheduler does not run on it) and numberOfClusters the clusters the component runs
// on, and PlacementDecisions listing those clusters, sorted. A component without an
// assignment gets a Placement and no decision.
func Objects(app placement.Application, assignments []placement.Assignment, o ObjectsOptions) (*Set, error) {
	ns := cmp.Or(o.Namespace, app.Metadata.Namespace, app.Metadata.Name)
	if ns == "" {
		return nil, fmt.Errorf("ocm: objects: the application has no name: %w", placement.ErrInvalid)
	}
	clusters := map[string]map[string]int{} // component -> cluster -> replicas
	for i, a := range assignments {
		if a.App != app.Metadata.Name || a.Cluster == "" {
			continue
		}
		if !slices.ContainsFunc(app.Components, func(c placement.Component) bool { return c.Name == a.Component }) {
			return nil, fmt.Errorf("ocm: objects: assignments[%d].component: %s has no component %q: %w", i, app.Metadata.Name, a.Component, placement.ErrInvalid)
		}
		if clusters[a.Component] == nil {
			clusters[a.Component] = map[string]int{}
		}
		clusters[a.Component][a.Cluster]++
	}
	set := &Set{}
	for _, c := range app.Components {
		name := PlacementName(app.Metadata.Name, c.Name)
		if problems := validation.IsDNS1123Subdomain(DecisionName(name, 999)); len(problems) > 0 {
			return nil, fmt.Errorf("ocm: objects: component %s: object name %q: %s: %w", c.Name, name, strings.Join(problems, "; "), placement.ErrInvalid)
		}
		labels := map[string]string{LabelApp: app.Metadata.Name, LabelComponent: c.Name}
		n := int32(len(clusters[c.Name]))
		pl := &clusterv1beta1.Placement{
			TypeMeta: metav1.TypeMeta{APIVersion: clusterv1beta1.GroupVersion.String(), Kind: "Placement"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
				Annotations: map[string]string{clusterv1beta1.PlacementDisableAnnotation: "true"}},
			Spec: clusterv1beta1.PlacementSpec{ClusterSets: slices.Clone(o.ClusterSets), NumberOfClusters: &n,
				Tolerations: tolerations(c.Tolerations)},
		}
		if s := c.Allowed.Selector; s != nil {
			pl.Spec.Predicates = []clusterv1beta1.ClusterPredicate{{RequiredClusterSelector: clusterv1beta1.ClusterSelector{LabelSelector: labelSelector(s)}}}
		}
		set.Placements = append(set.Placements, pl)
		names := slices.Sorted(maps.Keys(clusters[c.Name]))
		for i := 0; i < len(names); i += MaxDecisionsPerObject {
			chunk := names[i:min(i+MaxDecisionsPerObject, len(names))]
			d := &clusterv1beta1.PlacementDecision{
				TypeMeta: metav1.TypeMeta{APIVersion: clusterv1beta1.GroupVersion.String(), Kind: "PlacementDecision"},
				ObjectMeta: metav1.ObjectMeta{Name: DecisionName(name, i/MaxDecisionsPerObject+1), Namespace: ns,
					Labels: map[string]string{clusterv1beta1.PlacementLabel: name, clusterv1beta1.DecisionGroupIndexLabel: "0",
						clusterv1beta1.DecisionGroupNameLabel: "", LabelApp: app.Metadata.Name, LabelComponent: c.Name}},
			}
			for _, cl := range chunk {
				d.Status.Decisions = append(d.Status.Decisions, clusterv1beta1.ClusterDecision{ClusterName: cl,
					Reason: fmt.Sprintf("continuum: %d replica(s) of %s placed here", clusters[c.Name][cl], c.Name)})
			}
			set.Decisions = append(set.Decisions, d)
		}
	}
	return set, nil
}

// labelSelector converts continuum's selector to metav1's (same fields).
func labelSelector(s *placement.LabelSelector) metav1.LabelSelector {
	out := metav1.LabelSelector{MatchLabels: maps.Clone(s.MatchLabels)}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{Key: e.Key,
			Operator: metav1.LabelSelectorOperator(e.Operator), Values: slices.Clone(e.Values)})
	}
	return out
}

// Taint effects, continuum's and OCM's: continuum's NoSelect (no new replicas) is
// OCM's NoSelectIfNew, continuum's NoExecute (replicas leave) is OCM's NoSelect.
var (
	toOCM = map[topology.TaintEffect]clusterv1.TaintEffect{
		topology.NoSelect: clusterv1.TaintEffectNoSelectIfNew, topology.PreferNoSelect: clusterv1.TaintEffectPreferNoSelect,
		topology.NoExecute: clusterv1.TaintEffectNoSelect,
	}
	fromOCM = map[clusterv1.TaintEffect]topology.TaintEffect{
		clusterv1.TaintEffectNoSelectIfNew: topology.NoSelect, clusterv1.TaintEffectPreferNoSelect: topology.PreferNoSelect,
		clusterv1.TaintEffectNoSelect: topology.NoExecute,
	}
)

// TaintEffectToOCM and TaintEffectFromOCM map taint effects between continuum and OCM
// ("" when there is no counterpart).
func TaintEffectToOCM(e topology.TaintEffect) clusterv1.TaintEffect { return toOCM[e] }

// TaintEffectFromOCM: see TaintEffectToOCM.
func TaintEffectFromOCM(e clusterv1.TaintEffect) topology.TaintEffect { return fromOCM[e] }

func tolerations(ts []placement.Toleration) []clusterv1beta1.Toleration {
	var out []clusterv1beta1.Toleration
	for _, t := range ts {
		out = append(out, clusterv1beta1.Toleration{Key: t.Key, Operator: clusterv1beta1.TolerationOperator(cmp.Or(t.Operator, placement.TolerationEqual)), Value: t.Value,
			Effect: toOCM[t.Effect], TolerationSeconds: t.TolerationSeconds})
	}
	return out
}

// ReadOptions configure Cluster. The zero value is fine.
type ReadOptions struct {
	// DefaultOwner and DefaultTier are the owner and tier of a ManagedCluster without
	// the LabelOwner or LabelTier label; empty means "ocm" and edge.
	DefaultOwner string
	DefaultTier  topology.Tier
}

// Cluster reads a ManagedCluster into a topology cluster: its name; its labels (those
// in Kubernetes label syntax; owner and tier from LabelOwner and LabelTier, else the
// defaults); its cluster claims as labels too when their name and value are valid
// label syntax and no label has the name (the region claim, ClaimRegion, also sets
// Region); its allocatable resources as capacity (cpu, memory, and others under
// their names); its taints, with the effects mapped (TaintEffectFromOCM) and
// timeAdded as the added time. Links, sites and prices are not in a ManagedCluster:
// the caller adds them.
func Cluster(mc *clusterv1.ManagedCluster, o ReadOptions) (topology.Cluster, error) {
	c := topology.Cluster{Name: mc.Name, Owner: cmp.Or(o.DefaultOwner, "ocm"), Tier: cmp.Or(o.DefaultTier, topology.TierEdge)}
	for k, v := range mc.Labels {
		if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			continue
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	for _, cl := range mc.Status.ClusterClaims {
		if cl.Name == ClaimRegion {
			c.Region = cl.Value
		}
		if _, taken := c.Labels[cl.Name]; taken || len(validation.IsQualifiedName(cl.Name)) > 0 || len(validation.IsValidLabelValue(cl.Value)) > 0 {
			continue
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[cl.Name] = cl.Value
	}
	if v := mc.Labels[LabelOwner]; v != "" {
		c.Owner = v
	}
	if v := mc.Labels[LabelTier]; v != "" {
		c.Tier = topology.Tier(v)
	}
	for _, name := range slices.Sorted(maps.Keys(mc.Status.Allocatable)) {
		if c.Capacity == nil {
			c.Capacity = topology.ResourceList{}
		}
		c.Capacity[topology.ResourceName(name)] = mc.Status.Allocatable[name].DeepCopy()
	}
	for i, t := range mc.Spec.Taints {
		e, ok := fromOCM[t.Effect]
		if !ok {
			return topology.Cluster{}, fmt.Errorf("ocm: managed cluster %s: spec.taints[%d].effect: unknown effect %q: %w", mc.Name, i, t.Effect, topology.ErrInvalid)
		}
		c.Taints = append(c.Taints, topology.Taint{Key: t.Key, Value: t.Value, Effect: e, Added: t.TimeAdded.UTC()})
	}
	return c, nil
}
