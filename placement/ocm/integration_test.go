package ocm_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clusterv1 "open-cluster-management.io/api/cluster/v1"
	clusterv1beta1 "open-cluster-management.io/api/cluster/v1beta1"
	sdkv1beta1 "open-cluster-management.io/sdk-go/pkg/apis/cluster/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/ocm"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

// The OCM API module the CRDs are read from (the version in go.mod).
const (
	ocmAPIModule  = "open-cluster-management.io/api"
	ocmAPIVersion = "v1.0.0"
)

var hub struct {
	env *testenv.Env
	c   client.Client
}

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		dir, err := testenv.ModuleDir(ctx, ocmAPIModule, ocmAPIVersion)
		if err != nil {
			return nil, err
		}
		crds := []string{
			filepath.Join(dir, "cluster", "v1", "0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml"),
			filepath.Join(dir, "cluster", "v1beta1", "0000_02_clusters.open-cluster-management.io_placements.crd.yaml"),
			filepath.Join(dir, "cluster", "v1beta1", "0000_03_clusters.open-cluster-management.io_placementdecisions.crd.yaml"),
		}
		env, err := testenv.Start(ctx, testenv.Options{Clusters: []string{"hub"}, CRDPaths: crds})
		if err != nil {
			return nil, err
		}
		scheme := runtime.NewScheme()
		for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, clusterv1.Install, clusterv1beta1.Install} {
			if err := add(scheme); err != nil {
				return nil, fmt.Errorf("scheme: %w (stop: %v)", err, env.Stop())
			}
		}
		c, err := client.New(env.Cluster("hub").Config, client.Options{Scheme: scheme})
		if err != nil {
			return nil, fmt.Errorf("client: %w (stop: %v)", err, env.Stop())
		}
		hub.env, hub.c = env, c
		return env.Stop, nil
	})
}

// decisionGetter is the PlacementDecisionGetter of sdk-go's tracker over the hub.
type decisionGetter struct{ c client.Client }

func (g decisionGetter) List(sel labels.Selector, ns string) ([]*clusterv1beta1.PlacementDecision, error) {
	var list clusterv1beta1.PlacementDecisionList
	if err := g.c.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	out := make([]*clusterv1beta1.PlacementDecision, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// seen returns the clusters an OCM consumer sees for the placement: sdk-go's
// PlacementDecisionClustersTracker over the decisions on the hub.
func seen(t *testing.T, ns, name string) sets.Set[string] {
	t.Helper()
	pl := &clusterv1beta1.Placement{}
	if err := hub.c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, pl); err != nil {
		t.Fatal(err)
	}
	tr := sdkv1beta1.NewPlacementDecisionClustersTracker(pl, decisionGetter{hub.c}, nil)
	if err := tr.Refresh(); err != nil {
		t.Fatal(err)
	}
	return tr.ExistingClusterGroupsBesides().GetClusters()
}

func managedCluster(t *testing.T, name string, lbls map[string]string, cpu string, taints ...clusterv1.Taint) {
	t.Helper()
	mc := &clusterv1.ManagedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Spec: clusterv1.ManagedClusterSpec{HubAcceptsClient: true, Taints: taints}}
	if err := hub.c.Create(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
	mc.Status = clusterv1.ManagedClusterStatus{
		Conditions:    []metav1.Condition{},
		Allocatable:   clusterv1.ResourceList{"cpu": resource.MustParse(cpu), "memory": resource.MustParse("64Gi")},
		ClusterClaims: []clusterv1.ManagedClusterClaim{{Name: ocm.ClaimRegion, Value: "eu"}},
	}
	if err := hub.c.Status().Update(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
}

// TestOCMRoundTrip: ManagedClusters on a real hub are read into a topology; continuum
// places an application with a label selector on it; the plan is applied as
// Placements and PlacementDecisions, and sdk-go's tracker sees the clusters continuum
// chose. Re-applying writes nothing; a component on 150 clusters gets two decisions,
// and shrinking it to 30 deletes the second.
func TestOCMRoundTrip(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	managedCluster(t, "cloud", map[string]string{ocm.LabelTier: "cloud", "gpu.vendor": "amd"}, "64")
	managedCluster(t, "edge-a", map[string]string{"gpu.vendor": "nvidia"}, "16")
	managedCluster(t, "edge-b", map[string]string{"gpu.vendor": "nvidia"}, "16",
		clusterv1.Taint{Key: "maintenance", Effect: clusterv1.TaintEffectNoSelectIfNew, TimeAdded: metav1.Now()})
	clusters, err := ocm.ReadClusters(ctx, hub.c, ocm.ReadOptions{DefaultOwner: "hub"})
	if err != nil {
		t.Fatal(err)
	}
	if len(clusters) != 3 || clusters[2].Name != "edge-b" || len(clusters[2].Taints) != 1 || clusters[2].Taints[0].Effect != topology.NoSelect ||
		clusters[0].Tier != topology.TierCloud || clusters[1].Capacity.MilliCPU() != 16000 {
		t.Fatalf("read %+v", clusters)
	}
	// The network is not in OCM: links are added here. cloud is cheaper.
	clusters[0].CPUPrice, clusters[1].CPUPrice, clusters[2].CPUPrice = 0.01, 0.1, 0.05
	clusters[0].Links = []topology.LinkSpec{{To: "edge-a", RTT: topology.Millis(9)}, {To: "edge-b", RTT: topology.Millis(10)}}
	clusters[1].Links = []topology.LinkSpec{{To: "edge-b", RTT: topology.Millis(2)}}
	topo, err := topology.New(topology.Spec{APIVersion: topology.APIVersion, Kind: topology.Kind, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	// render needs nvidia (not cloud), and edge-b takes no new replicas: edge-a.
	// store goes to the cheapest cluster, cloud.
	app := pt.NewApp("xr").Component("render", "2", "1Gi", pt.Replicas(2), pt.Selector(pt.In("gpu.vendor", "nvidia"))).
		Component("store", "1", "1Gi", pt.Tolerate("evacuate", topology.NoExecute, 60)).Build() // a toleration with a period (a pointer field) in the round trip
	plan, err := placement.Place(ctx, &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := ocm.Objects(app, plan.Assignments, ocm.ObjectsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "xr"}}); err != nil {
		t.Fatal(err)
	}
	if err := ocm.Apply(ctx, hub.c, set); err != nil {
		t.Fatal(err)
	}
	if got := sets.List(seen(t, "xr", "xr-render")); !slices.Equal(got, []string{"edge-a"}) {
		t.Errorf("the tracker sees render on %v, want [edge-a]", got)
	}
	if got := sets.List(seen(t, "xr", "xr-store")); !slices.Equal(got, []string{"cloud"}) {
		t.Errorf("the tracker sees store on %v, want [cloud]", got)
	}
	pl := &clusterv1beta1.Placement{}
	if err := hub.c.Get(ctx, client.ObjectKey{Namespace: "xr", Name: "xr-render"}, pl); err != nil {
		t.Fatal(err)
	}
	if pl.Status.NumberOfSelectedClusters != 1 || pl.Annotations[clusterv1beta1.PlacementDisableAnnotation] != "true" {
		t.Errorf("placement status %+v annotations %v", pl.Status, pl.Annotations)
	}
	// Re-applying writes nothing: every resourceVersion stays.
	before := versions(t, "xr")
	if err := ocm.Apply(ctx, hub.c, set); err != nil {
		t.Fatal(err)
	}
	if after := versions(t, "xr"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("re-applying changed objects:\n%v\n%v", before, after)
	}

	// OCM's rule of 100 decisions per object, on the real server.
	big := pt.NewApp("big").Component("edge", "1", "1Gi", pt.Replicas(150)).Build()
	assign := func(n int) []placement.Assignment {
		var as []placement.Assignment
		for i := range n {
			as = append(as, placement.Assignment{App: "big", Component: "edge", Replica: i, Cluster: fmt.Sprintf("site-%03d", i)})
		}
		return as
	}
	if err := hub.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "big"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{150, 30} {
		set, err := ocm.Objects(big, assign(n), ocm.ObjectsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ocm.Apply(ctx, hub.c, set); err != nil {
			t.Fatal(err)
		}
		var list clusterv1beta1.PlacementDecisionList
		if err := hub.c.List(ctx, &list, client.InNamespace("big")); err != nil {
			t.Fatal(err)
		}
		want := (n + 99) / 100
		if len(list.Items) != want {
			t.Errorf("%d clusters: %d PlacementDecisions, want %d", n, len(list.Items), want)
		}
		for _, d := range list.Items {
			if len(d.Status.Decisions) > ocm.MaxDecisionsPerObject || len(d.OwnerReferences) != 1 || d.OwnerReferences[0].Name != "big-edge" {
				t.Errorf("decision %s: %d clusters, owners %+v", d.Name, len(d.Status.Decisions), d.OwnerReferences)
			}
		}
		if got := seen(t, "big", "big-edge"); got.Len() != n {
			t.Errorf("%d clusters placed, the tracker sees %d", n, got.Len())
		}
	}
}

// versions returns the resourceVersions of the OCM objects of a namespace.
func versions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var pls clusterv1beta1.PlacementList
	var ds clusterv1beta1.PlacementDecisionList
	if err := hub.c.List(t.Context(), &pls, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := hub.c.List(t.Context(), &ds, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pls.Items {
		out["placement/"+p.Name] = p.ResourceVersion
	}
	for _, d := range ds.Items {
		out["decision/"+d.Name] = d.ResourceVersion
	}
	return out
}
