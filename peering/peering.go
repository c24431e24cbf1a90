package peering

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/internal/decode"
)

// ClusterID is a Liqo cluster ID: the DNS label Liqo keeps in the clusterid
// ConfigMap of each cluster, and the value of the liqo.io/remote-cluster-id label on
// virtual nodes.
type ClusterID string

// Key names a peering: the consumer cluster (which gets a virtual node and offloads
// to the provider) and the provider cluster (which runs the offloaded pods). Both are
// the names a backend knows its clusters by.
type Key struct {
	Consumer string
	Provider string
}

// String returns "consumer->provider".
func (k Key) String() string { return k.Consumer + "->" + k.Provider }

// Validate checks that both names are DNS labels and differ.
func (k Key) Validate() error {
	var errs []string
	if !decode.IsDNSLabel(k.Consumer) {
		errs = append(errs, fmt.Sprintf("consumer: %q is not a DNS label", k.Consumer))
	}
	if !decode.IsDNSLabel(k.Provider) {
		errs = append(errs, fmt.Sprintf("provider: %q is not a DNS label", k.Provider))
	}
	if len(errs) == 0 && k.Consumer == k.Provider {
		errs = append(errs, fmt.Sprintf("provider: %q peers with itself", k.Provider))
	}
	if len(errs) > 0 {
		return fmt.Errorf("peering: peering %s: %s: %w", k, strings.Join(errs, "; "), ErrInvalid)
	}
	return nil
}

// Resources is what a consumer asks of a provider: Liqo's ResourceSlice
// spec.resources, which bounds the virtual node's capacity.
type Resources struct {
	// CPU and Memory are Kubernetes quantities ("4", "8Gi"); zero means "not asked".
	CPU    resource.Quantity
	Memory resource.Quantity
	// Pods is the most pods; zero means "not asked".
	Pods int64
}

// IsZero reports whether nothing is asked.
func (r Resources) IsZero() bool { return r.CPU.IsZero() && r.Memory.IsZero() && r.Pods == 0 }

// Equal reports whether r and o ask the same (quantities compared by value).
func (r Resources) Equal(o Resources) bool {
	return r.CPU.Cmp(o.CPU) == 0 && r.Memory.Cmp(o.Memory) == 0 && r.Pods == o.Pods
}

// PeerRequest asks for a peering from Consumer to Provider.
type PeerRequest struct {
	Key
	// Resources are what the consumer asks the provider for. At least one must be set.
	Resources Resources
}

// Validate checks the request and names every bad field.
func (r PeerRequest) Validate() error {
	if err := r.Key.Validate(); err != nil {
		return err
	}
	var errs []string
	if r.Resources.IsZero() {
		errs = append(errs, "resources: ask for at least one of cpu, memory, pods")
	}
	if r.Resources.CPU.Sign() < 0 {
		errs = append(errs, "resources.cpu: must be >= 0")
	}
	if r.Resources.Memory.Sign() < 0 {
		errs = append(errs, "resources.memory: must be >= 0")
	}
	if r.Resources.Pods < 0 {
		errs = append(errs, "resources.pods: must be >= 0")
	}
	if len(errs) > 0 {
		return fmt.Errorf("peering: peer %s: %s: %w", r.Key, strings.Join(errs, "; "), ErrInvalid)
	}
	return nil
}

// Peering is a peering as a PeeringReader sees it, with Liqo's status.
type Peering struct {
	Key
	// ConsumerID and ProviderID are the Liqo cluster IDs of the two clusters.
	ConsumerID ClusterID
	ProviderID ClusterID
	// Resources are the resources asked for.
	Resources Resources
	// NetworkEstablished: the WireGuard tunnel is up (Liqo's Connection is Connected
	// on both sides).
	NetworkEstablished bool
	// AuthenticationAccepted: the provider accepted the consumer's identity
	// (ResourceSlice condition Authentication Accepted).
	AuthenticationAccepted bool
	// ResourcesAccepted: the provider granted the resources (ResourceSlice
	// condition Resources Accepted).
	ResourcesAccepted bool
	// VirtualNodeReady: the virtual node standing for the provider on the consumer
	// exists and is Ready.
	VirtualNodeReady bool
	// Latency is the round-trip time Liqo measured over the tunnel; zero when not
	// measured yet.
	Latency time.Duration
	// Deleting reports that Unpeer started and the peering is going away.
	Deleting bool
	// Message explains what the peering waits for or why it failed, when known.
	Message string
}

// IsPeered reports whether p is ready to offload to: network established,
// authentication and resources accepted, virtual node ready, not being deleted.
func IsPeered(p *Peering) bool {
	return p != nil && !p.Deleting && p.NetworkEstablished && p.AuthenticationAccepted && p.ResourcesAccepted && p.VirtualNodeReady
}

// Summary describes the peering's progress in one line, the message WaitPeered
// reports: "network established, authentication accepted, waiting for the virtual
// node, latency 3.2ms".
func Summary(p *Peering) string {
	if p == nil {
		return "no peering"
	}
	var parts []string
	step := func(ok bool, done, waiting string) {
		if ok {
			parts = append(parts, done)
		} else {
			parts = append(parts, waiting)
		}
	}
	step(p.NetworkEstablished, "network established", "waiting for the network")
	step(p.AuthenticationAccepted, "authentication accepted", "waiting for authentication")
	step(p.ResourcesAccepted, "resources accepted", "waiting for resources")
	step(p.VirtualNodeReady, "virtual node ready", "waiting for the virtual node")
	if p.Latency > 0 {
		parts = append(parts, "latency "+p.Latency.String())
	}
	if p.Deleting {
		parts = append(parts, "deleting")
	}
	if p.Message != "" && !IsPeered(p) {
		parts = append(parts, p.Message)
	}
	return strings.Join(parts, ", ")
}

// ListOptions filters ListPeerings. The zero value lists every peering.
type ListOptions struct {
	// Consumer and Provider, when set, keep the peerings with that consumer or
	// provider.
	Consumer string
	Provider string
}

// Matches reports whether p passes the filter.
func (o ListOptions) Matches(p *Peering) bool {
	return (o.Consumer == "" || o.Consumer == p.Consumer) && (o.Provider == "" || o.Provider == p.Provider)
}

// SortPeerings sorts peerings by consumer, then provider: the order of ListPeerings.
func SortPeerings(ps []*Peering) {
	slices.SortFunc(ps, func(a, b *Peering) int {
		return strings.Compare(a.Consumer+"\x00"+a.Provider, b.Consumer+"\x00"+b.Provider)
	})
}

// PeeringChange is one state of a watched peering.
type PeeringChange struct {
	// Peering is the peering's state; nil when Gone or Err is set.
	Peering *Peering
	// Gone reports that the peering does not exist (unpeered, or not peered yet).
	Gone bool
	// Err reports that the watch broke; the channel closes after it.
	Err error
}
