package peering

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/continuum-xr/continuum/internal/decode"
)

// Labels Liqo puts on the virtual node of each provider cluster.
const (
	// LabelRemoteClusterID is the provider's cluster ID on its virtual node.
	LabelRemoteClusterID = "liqo.io/remote-cluster-id"
	// LabelNodeType is "virtual-node" on every virtual node.
	LabelNodeType = "liqo.io/type"
	// NodeTypeVirtual is the value of LabelNodeType on virtual nodes.
	NodeTypeVirtual = "virtual-node"
)

// Pinning is what a pod template needs to run on one remote cluster, or on the local
// cluster only. Liqo's pod webhook adds the toleration of virtual nodes itself.
type Pinning struct {
	// NodeSelector is merged into the pod's nodeSelector.
	NodeSelector map[string]string
	// NotOnVirtualNodes adds a required node affinity that keeps the pod off every
	// virtual node (local only).
	NotOnVirtualNodes bool
}

// Pin returns the pinning to the remote cluster id: nodeSelector
// liqo.io/remote-cluster-id=<id>. An id that is not a DNS label is an error wrapping
// ErrInvalid.
func Pin(id ClusterID) (Pinning, error) {
	if !decode.IsDNSLabel(string(id)) {
		return Pinning{}, fmt.Errorf("peering: pin: cluster ID %q is not a DNS label: %w", id, ErrInvalid)
	}
	return Pinning{NodeSelector: map[string]string{LabelRemoteClusterID: string(id)}}, nil
}

// PinLocal returns the pinning to the local cluster: a required node affinity
// liqo.io/type NotIn [virtual-node].
func PinLocal() Pinning { return Pinning{NotOnVirtualNodes: true} }

// Apply merges the pinning into spec: the node selector entries replace the same
// keys, and the local-only rule is added to every required node selector term (terms
// are ORed, so it must hold in each). It never removes anything else.
func (p Pinning) Apply(spec *corev1.PodSpec) {
	if len(p.NodeSelector) > 0 {
		if spec.NodeSelector == nil {
			spec.NodeSelector = map[string]string{}
		}
		maps.Copy(spec.NodeSelector, p.NodeSelector)
	}
	if !p.NotOnVirtualNodes {
		return
	}
	req := corev1.NodeSelectorRequirement{Key: LabelNodeType, Operator: corev1.NodeSelectorOpNotIn, Values: []string{NodeTypeVirtual}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	sel := na.RequiredDuringSchedulingIgnoredDuringExecution
	if len(sel.NodeSelectorTerms) == 0 {
		sel.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range sel.NodeSelectorTerms {
		t := &sel.NodeSelectorTerms[i]
		if !slices.ContainsFunc(t.MatchExpressions, func(r corev1.NodeSelectorRequirement) bool {
			return r.Key == req.Key && r.Operator == req.Operator && slices.Equal(r.Values, req.Values)
		}) {
			t.MatchExpressions = append(t.MatchExpressions, req)
		}
	}
}

// PinTo returns the pinning of a pod of consumer to provider, after checking that
// the peering consumer->provider is ready: a pod pinned to a cluster that is not
// peered would stay Pending, so it is refused with an error wrapping ErrNotPeered.
func PinTo(ctx context.Context, r PeeringReader, consumer, provider string) (Pinning, error) {
	k := Key{Consumer: consumer, Provider: provider}
	if err := k.Validate(); err != nil {
		return Pinning{}, err
	}
	p, err := r.GetPeering(ctx, k)
	switch {
	case isNotFound(err):
		return Pinning{}, fmt.Errorf("peering: pin to %s: no peering %s: %w", provider, k, ErrNotPeered)
	case err != nil:
		return Pinning{}, fmt.Errorf("peering: pin to %s: %w", provider, err)
	case !IsPeered(p):
		return Pinning{}, fmt.Errorf("peering: pin to %s: peering %s is not ready (%s): %w", provider, k, Summary(p), ErrNotPeered)
	}
	return Pin(p.ProviderID)
}
