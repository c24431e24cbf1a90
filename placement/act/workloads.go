package act

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/peering"
)

// Sentinel errors, matching the same kinds of the other continuum packages with
// errors.Is.
var (
	// ErrNotFound: a workload template, namespace or instance does not exist.
	ErrNotFound = errkind.New(errkind.NotFound, "act: not found")
	// ErrInvalid: an argument breaks a rule; the message names the field.
	ErrInvalid = errkind.New(errkind.Invalid, "act: invalid")
	// ErrNotReady: something act waited for (a cluster, a peering, an offloading, an
	// instance's replicas) was not ready in time; the message says how far it got.
	ErrNotReady = errkind.New(errkind.NotReady, "act: not ready")
	// ErrNotPeered: a component would be pinned to a cluster the home cluster is not
	// peered with.
	ErrNotPeered = errkind.New(errkind.NotPeered, "act: not peered")
)

// Instance is the part of one component that runs on one cluster: a workload on the
// home cluster whose pods are pinned to that cluster (to a Liqo virtual node for a
// remote cluster, off every virtual node for the home cluster).
type Instance struct {
	// Component and Cluster say which part this is.
	Component string
	Cluster   string
	// Replicas is the desired number of pods; Ready how many of them are ready (as the
	// workload's own status says, for the current spec only).
	Replicas int32
	Ready    int32
	// Pin is the pinning read back from the pod template: the remote cluster ID
	// (peering.LabelRemoteClusterID in NodeSelector, nothing else) or the local-only
	// rule.
	Pin peering.Pinning
	// Outdated reports that the component's template changed since the instance was
	// written, so ApplyInstance would rewrite it.
	Outdated bool
}

// InstanceSpec asks for one instance.
type InstanceSpec struct {
	Component string
	Cluster   string
	// Replicas is the number of pods, at least 1 (use DeleteInstance for none).
	Replicas int32
	// Pin is merged into the pod template: what keeps the pods on Cluster.
	Pin peering.Pinning
}

// Validate names every bad field.
func (s InstanceSpec) Validate() error {
	errs := instanceRefErrs(s.Component, s.Cluster)
	if s.Replicas < 1 {
		errs = append(errs, fmt.Sprintf("replicas: must be >= 1, got %d (delete the instance instead)", s.Replicas))
	}
	if len(errs) > 0 {
		return fmt.Errorf("act: instance %s on %s: %s: %w", s.Component, s.Cluster, strings.Join(errs, "; "), ErrInvalid)
	}
	return nil
}

// instanceRefErrs names the bad fields of an instance's component and cluster.
func instanceRefErrs(component, cluster string) []string {
	var errs []string
	if !decode.IsDNSLabel(component) {
		errs = append(errs, fmt.Sprintf("component: %q is not a DNS label", component))
	}
	if !decode.IsDNSLabel(cluster) {
		errs = append(errs, fmt.Sprintf("cluster: %q is not a DNS label", cluster))
	}
	return errs
}

// Workloads runs the instances of an application's components in its namespace on
// the home cluster. With Liqo every pod of the application is created on the home
// cluster; the pinning decides where it really runs. Act reads and writes workloads
// only through this interface: KubeWorkloads is the implementation for Deployments,
// StatefulSets and kinds users describe with a Kind; actfake is the in-memory one.
//
// Every write is idempotent: asking for what exists writes nothing.
type Workloads interface {
	// EnsureNamespace creates the namespace unless it exists.
	EnsureNamespace(ctx context.Context, namespace string) error
	// ListInstances returns the instances in the namespace, sorted by component then
	// cluster (SortInstances). A missing namespace gives no instances and no error.
	ListInstances(ctx context.Context, namespace string) ([]Instance, error)
	// ApplyInstance creates the instance or updates its replicas and pinning. It
	// fails with an error wrapping ErrNotFound when the component has no template
	// (for KubeWorkloads: a workload named after the component), ErrInvalid for a bad
	// spec.
	ApplyInstance(ctx context.Context, namespace string, spec InstanceSpec) error
	// DeleteInstance removes the instance; a missing one is not an error.
	DeleteInstance(ctx context.Context, namespace, component, cluster string) error
}

// SortInstances sorts by component, then cluster.
func SortInstances(in []Instance) {
	slices.SortFunc(in, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Cluster, b.Cluster))
	})
}

// SamePin reports whether two pinnings pin to the same place: the same remote cluster
// ID and the same local-only rule (other node selector entries are not compared).
func SamePin(a, b peering.Pinning) bool {
	return a.NodeSelector[peering.LabelRemoteClusterID] == b.NodeSelector[peering.LabelRemoteClusterID] &&
		a.NotOnVirtualNodes == b.NotOnVirtualNodes
}
