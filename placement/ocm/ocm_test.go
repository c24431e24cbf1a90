package ocm_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "open-cluster-management.io/api/cluster/v1"
	clusterv1beta1 "open-cluster-management.io/api/cluster/v1beta1"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/ocm"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

// TestObjectsSplitsDecisionsAt100: a component on 250 clusters gets three
// PlacementDecisions of 100, 100 and 50 clusters, each labelled for OCM's consumers.
func TestObjectsSplitsDecisionsAt100(t *testing.T) {
	app := pt.NewApp("xr").Component("edge", "1", "1Gi", pt.Replicas(250), pt.Selector(pt.In("gpu.vendor", "nvidia")),
		pt.Tolerate(topology.TaintDrain, topology.NoExecute, 60)).Component("idle", "1", "1Gi").Build()
	var as []placement.Assignment
	for i := range 250 {
		as = append(as, placement.Assignment{App: "xr", Component: "edge", Replica: i, Cluster: fmt.Sprintf("c%03d", 249-i)})
	}
	set, err := ocm.Objects(app, as, ocm.ObjectsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Placements) != 2 || len(set.Decisions) != 3 {
		t.Fatalf("%d placements, %d decisions; want 2 and 3", len(set.Placements), len(set.Decisions))
	}
	pl := set.Placements[0]
	if pl.Name != "xr-edge" || pl.Namespace != "xr" || *pl.Spec.NumberOfClusters != 250 ||
		pl.Annotations[clusterv1beta1.PlacementDisableAnnotation] != "true" {
		t.Errorf("placement %s/%s clusters %d annotations %v", pl.Namespace, pl.Name, *pl.Spec.NumberOfClusters, pl.Annotations)
	}
	if sel := pl.Spec.Predicates[0].RequiredClusterSelector.LabelSelector; len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Operator != metav1.LabelSelectorOpIn {
		t.Errorf("predicate %+v", sel)
	}
	if tl := pl.Spec.Tolerations; len(tl) != 1 || tl[0].Effect != clusterv1.TaintEffectNoSelect || *tl[0].TolerationSeconds != 60 {
		t.Errorf("tolerations %+v: want NoExecute mapped to OCM's NoSelect with 60 s", tl)
	}
	sizes, seen := []int{}, map[string]bool{}
	for i, d := range set.Decisions {
		sizes = append(sizes, len(d.Status.Decisions))
		if d.Name != fmt.Sprintf("xr-edge-decision-%d", i+1) || d.Labels[clusterv1beta1.PlacementLabel] != "xr-edge" ||
			d.Labels[clusterv1beta1.DecisionGroupIndexLabel] != "0" {
			t.Errorf("decision %d: %s labels %v", i, d.Name, d.Labels)
		}
		for _, c := range d.Status.Decisions {
			if seen[c.ClusterName] {
				t.Errorf("cluster %s decided twice", c.ClusterName)
			}
			seen[c.ClusterName] = true
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" || len(seen) != 250 || set.Decisions[0].Status.Decisions[0].ClusterName != "c000" {
		t.Errorf("decision sizes %v, %d clusters; want [100 100 50], 250, sorted from c000", sizes, len(seen))
	}
	if *set.Placements[1].Spec.NumberOfClusters != 0 {
		t.Errorf("idle has no replica placed: numberOfClusters %d", *set.Placements[1].Spec.NumberOfClusters)
	}
	if _, err := ocm.Objects(app, []placement.Assignment{{App: "xr", Component: "nope", Cluster: "c"}}, ocm.ObjectsOptions{}); !errors.Is(err, placement.ErrInvalid) ||
		!strings.Contains(err.Error(), "assignments[0].component") {
		t.Errorf("unknown component: %v", err)
	}
}

func TestClusterFromManagedCluster(t *testing.T) {
	added := metav1.NewTime(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC))
	mc := &clusterv1.ManagedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "gva-edge", Labels: map[string]string{"gpu.vendor": "nvidia", ocm.LabelOwner: "operator-b",
			ocm.LabelTier: "edge", "bad label!": "x"}},
		Spec: clusterv1.ManagedClusterSpec{Taints: []clusterv1.Taint{
			{Key: "maintenance", Effect: clusterv1.TaintEffectNoSelectIfNew},
			{Key: "gone", Effect: clusterv1.TaintEffectNoSelect, TimeAdded: added}}},
		Status: clusterv1.ManagedClusterStatus{
			Allocatable:   clusterv1.ResourceList{"cpu": resource.MustParse("32"), "memory": resource.MustParse("128Gi"), "nvidia.com/gpu": resource.MustParse("2")},
			ClusterClaims: []clusterv1.ManagedClusterClaim{{Name: ocm.ClaimRegion, Value: "eu-west"}, {Name: "platform.open-cluster-management.io", Value: "k3s"}},
		},
	}
	c, err := ocm.Cluster(mc, ocm.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "gva-edge" || c.Owner != "operator-b" || c.Tier != topology.TierEdge || c.Region != "eu-west" {
		t.Errorf("cluster %+v", c)
	}
	if c.Labels["gpu.vendor"] != "nvidia" || c.Labels["platform.open-cluster-management.io"] != "k3s" || c.Labels["bad label!"] != "" {
		t.Errorf("labels %v", c.Labels)
	}
	if q := c.Capacity["nvidia.com/gpu"]; q.Value() != 2 || c.Capacity.MilliCPU() != 32000 {
		t.Errorf("capacity %v", c.Capacity)
	}
	if len(c.Taints) != 2 || c.Taints[0].Effect != topology.NoSelect || c.Taints[1].Effect != topology.NoExecute || !c.Taints[1].Added.Equal(added.Time) {
		t.Errorf("taints %+v", c.Taints)
	}
	// The cluster is valid in a topology.
	if _, err := topology.New(topology.Spec{APIVersion: topology.APIVersion, Kind: topology.Kind, Clusters: []topology.Cluster{c}}); err != nil {
		t.Errorf("topology.New: %v", err)
	}
	mc.Spec.Taints[0].Effect = "NoSchedule"
	if _, err := ocm.Cluster(mc, ocm.ReadOptions{}); !errors.Is(err, topology.ErrInvalid) || !strings.Contains(err.Error(), "spec.taints[0].effect") {
		t.Errorf("unknown effect: %v", err)
	}
}
