// Package ocm connects continuum to Open Cluster Management (OCM): continuum becomes
// the placement engine an OCM user plugs in, and OCM's inventory becomes continuum's
// clusters.
//
// Objects writes a plan (placement.Plan's Assignments) as OCM objects: for each
// component a Placement (cluster.open-cluster-management.io/v1beta1) that OCM's own
// scheduler leaves alone (PlacementDisableAnnotation: continuum schedules it, OCM's
// external-scheduler pattern), with the component's label selector as its predicate
// and its tolerations, and the PlacementDecisions that list the clusters the
// component runs on: at most MaxDecisionsPerObject (100) clusters each, labelled with
// the Placement's name (PlacementLabel) and the default decision group
// (DecisionGroupIndexLabel "0", DecisionGroupNameLabel ""), so that OCM's consumers
// (ManifestWorkReplicaSet, Argo CD's OCM integration, sdk-go's
// PlacementDecisionClustersTracker) see continuum's choice. Apply writes them to a
// hub, idempotently. `continuumctl plan -o ocm` prints them.
//
// Cluster and ReadClusters read ManagedClusters (cluster.open-cluster-management.io/v1)
// into topology clusters: labels, cluster claims (as labels; the region claim as the
// region), allocatable resources as capacity, and taints.
//
// Taint effects map between the two (TaintEffectToOCM, TaintEffectFromOCM):
// continuum's NoSelect (no new replicas, those there stay) is OCM's NoSelectIfNew;
// PreferNoSelect is PreferNoSelect; continuum's NoExecute (replicas leave) is OCM's
// NoSelect.
//
// # Errors
//
// Bad input wraps placement.ErrInvalid or topology.ErrInvalid and names the field;
// API errors are wrapped with the object they concern (apierrors.IsConflict and
// friends see through). Messages start with "ocm:".
//
// # Concurrency
//
// The functions keep no state; Apply on one set from two goroutines races like any
// two writers (conflicts are returned).
//
// # Testing
//
// Objects and Cluster are pure: test them with placementtest fixtures. The package's
// integration test runs Apply and ReadClusters on a real kube-apiserver with OCM's
// CRDs from the open-cluster-management.io/api module in the Go module cache
// (internal/testenv), and checks the decisions through sdk-go's
// PlacementDecisionClustersTracker.
package ocm
