package peering

import (
	"fmt"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/internal/decode"
)

// MappingStrategy says how an offloaded namespace is named on the remote clusters
// (Liqo's namespaceMappingStrategy).
type MappingStrategy string

// The mapping strategies of Liqo.
const (
	// EnforceSameName gives the remote namespace the local name (the default here:
	// the design's "same name on every cluster").
	EnforceSameName MappingStrategy = "EnforceSameName"
	// DefaultName gives it "<name>-<local cluster ID>", which never conflicts.
	DefaultName MappingStrategy = "DefaultName"
	// SelectedName gives it OffloadSpec.RemoteNamespace.
	SelectedName MappingStrategy = "SelectedName"
)

// PodStrategy says where the namespace's pods may run (Liqo's
// podOffloadingStrategy).
type PodStrategy string

// The pod offloading strategies of Liqo.
const (
	// Local: on the local cluster only (no pod is offloaded).
	Local PodStrategy = "Local"
	// Remote: on the target clusters only.
	Remote PodStrategy = "Remote"
	// LocalAndRemote: on the local cluster and the targets (the default); pods are
	// placed by pinning (see Pin).
	LocalAndRemote PodStrategy = "LocalAndRemote"
)

// NamespaceRef names a namespace of one cluster.
type NamespaceRef struct {
	// Cluster is the cluster the namespace lives in (the consumer that offloads).
	Cluster string
	// Namespace is the namespace's name.
	Namespace string
}

// String returns "cluster/namespace".
func (r NamespaceRef) String() string { return r.Cluster + "/" + r.Namespace }

// OffloadSpec asks for a namespace of a cluster to be offloaded to peered providers.
type OffloadSpec struct {
	NamespaceRef
	// Mapping is the namespace mapping strategy; empty means EnforceSameName.
	Mapping MappingStrategy
	// RemoteNamespace is the remote name with SelectedName; it must be empty
	// otherwise.
	RemoteNamespace string
	// Pods is the pod offloading strategy; empty means LocalAndRemote.
	Pods PodStrategy
	// Targets are the provider clusters to offload to (names, as in Key). Each must
	// be peered with Cluster as consumer. At least one.
	Targets []string
}

// WithDefaults returns spec with the empty fields defaulted and Targets sorted and
// deduplicated.
func (s OffloadSpec) WithDefaults() OffloadSpec {
	if s.Mapping == "" {
		s.Mapping = EnforceSameName
	}
	if s.Pods == "" {
		s.Pods = LocalAndRemote
	}
	s.Targets = slices.Compact(slices.Sorted(slices.Values(s.Targets)))
	return s
}

// Validate checks the spec (after defaults) and names every bad field.
func (s OffloadSpec) Validate() error {
	var errs []string
	if !decode.IsDNSLabel(s.Cluster) {
		errs = append(errs, fmt.Sprintf("cluster: %q is not a DNS label", s.Cluster))
	}
	if !decode.IsDNSLabel(s.Namespace) {
		errs = append(errs, fmt.Sprintf("namespace: %q is not a DNS label", s.Namespace))
	}
	switch s.Mapping {
	case "", EnforceSameName, DefaultName:
		if s.RemoteNamespace != "" {
			errs = append(errs, "remoteNamespace: set only with mapping SelectedName")
		}
	case SelectedName:
		if !decode.IsDNSLabel(s.RemoteNamespace) {
			errs = append(errs, fmt.Sprintf("remoteNamespace: %q is not a DNS label (mapping SelectedName needs one)", s.RemoteNamespace))
		}
	default:
		errs = append(errs, fmt.Sprintf("mapping: %q is not one of EnforceSameName, DefaultName, SelectedName", s.Mapping))
	}
	switch s.Pods {
	case "", Local, Remote, LocalAndRemote:
	default:
		errs = append(errs, fmt.Sprintf("pods: %q is not one of Local, Remote, LocalAndRemote", s.Pods))
	}
	if len(s.Targets) == 0 {
		errs = append(errs, "targets: name at least one provider cluster")
	}
	for i, t := range s.Targets {
		switch {
		case !decode.IsDNSLabel(t):
			errs = append(errs, fmt.Sprintf("targets[%d]: %q is not a DNS label", i, t))
		case t == s.Cluster:
			errs = append(errs, fmt.Sprintf("targets[%d]: %q is the namespace's own cluster", i, t))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("peering: offload %s: %s: %w", s.NamespaceRef, strings.Join(errs, "; "), ErrInvalid)
	}
	return nil
}

// OffloadingPhase is Liqo's NamespaceOffloading status.offloadingPhase.
type OffloadingPhase string

// The phases of Liqo.
const (
	PhaseInProgress        OffloadingPhase = "InProgress"
	PhaseReady             OffloadingPhase = "Ready"
	PhaseNoClusterSelected OffloadingPhase = "NoClusterSelected"
	PhaseSomeFailed        OffloadingPhase = "SomeFailed"
	PhaseAllFailed         OffloadingPhase = "AllFailed"
	PhaseTerminating       OffloadingPhase = "Terminating"
)

// RemoteNamespace is the state of the offloaded namespace on one remote cluster.
type RemoteNamespace struct {
	// Name is the namespace's name on the remote cluster.
	Name string
	// Required: Liqo selected this cluster (condition OffloadingRequired True).
	Required bool
	// Ready: the remote namespace exists and is usable (condition Ready True).
	Ready bool
	// Message is Liqo's explanation when not ready.
	Message string
}

// Offloading is an offloaded namespace as an OffloadingReader sees it.
type Offloading struct {
	// Spec is the spec, with defaults, as read back.
	Spec OffloadSpec
	// Phase is Liqo's offloading phase; empty until Liqo reports one.
	Phase OffloadingPhase
	// Remote is the state per remote cluster, keyed by cluster name (as in
	// Spec.Targets); clusters Liqo has not reported on are missing.
	Remote map[string]RemoteNamespace
	// Current reports that the status was computed for the current spec.
	Current bool
}

// IsOffloaded reports whether every target has a ready remote namespace and Liqo's
// phase is Ready for the current spec.
func IsOffloaded(o *Offloading) bool {
	if o == nil || o.Phase != PhaseReady || !o.Current {
		return false
	}
	for _, t := range o.Spec.Targets {
		r, ok := o.Remote[t]
		if !ok || !r.Required || !r.Ready {
			return false
		}
	}
	return true
}

// OffloadingSummary describes an offloading in one line, the message WaitOffloaded
// reports: "phase InProgress, 1/2 remote namespaces ready (waiting for edge-2)".
func OffloadingSummary(o *Offloading) string {
	if o == nil {
		return "no offloading"
	}
	phase := string(o.Phase)
	if phase == "" {
		phase = "not reported"
	}
	var waiting []string
	for _, t := range o.Spec.Targets {
		if r := o.Remote[t]; !r.Required || !r.Ready {
			w := t
			if r.Message != "" {
				w += ": " + r.Message
			}
			waiting = append(waiting, w)
		}
	}
	s := fmt.Sprintf("phase %s, %d/%d remote namespaces ready", phase, len(o.Spec.Targets)-len(waiting), len(o.Spec.Targets))
	if len(waiting) > 0 {
		s += " (waiting for " + strings.Join(waiting, ", ") + ")"
	}
	return s
}

// OffloadingChange is one state of a watched offloading.
type OffloadingChange struct {
	// Offloading is the state; nil when Gone or Err is set.
	Offloading *Offloading
	// Gone reports that the namespace is not offloaded.
	Gone bool
	// Err reports that the watch broke; the channel closes after it.
	Err error
}
