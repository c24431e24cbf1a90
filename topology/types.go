package topology

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// APIVersion and Kind head every topology file.
const (
	APIVersion = "continuum.xr/v1alpha1"
	Kind       = "Topology"
)

// Tier is a cluster's place in the continuum. Any DNS-label string is allowed; these are
// the usual ones.
type Tier string

// Usual tiers.
const (
	TierCloud Tier = "cloud"
	TierEdge  Tier = "edge"
	TierFar   Tier = "far-edge"
)

// Distribution is the Kubernetes distribution a cluster runs.
type Distribution string

// Supported distributions (Cluster API control plane providers).
const (
	Kubeadm Distribution = "kubeadm"
	K3s     Distribution = "k3s"
)

// ResourceName names a resource in a ResourceList: "cpu", "memory", "gpu", or an
// extended resource with a domain ("example.com/fpga", "nvidia.com/mig-1g.5gb").
type ResourceName string

// Well-known resources. GPU is the generic count of GPUs; vendor-specific resources use
// their full names.
const (
	ResourceCPU    ResourceName = "cpu"
	ResourceMemory ResourceName = "memory"
	ResourceGPU    ResourceName = "gpu"
)

// ResourceList maps resource names to Kubernetes quantities ("64", "256Gi", "500m").
type ResourceList map[ResourceName]resource.Quantity

// Get returns the quantity of name, zero when absent.
func (r ResourceList) Get(name ResourceName) resource.Quantity { return r[name] }

// MilliCPU returns the CPU quantity in millicores.
func (r ResourceList) MilliCPU() int64 { q := r[ResourceCPU]; return q.MilliValue() }

// Memory returns the memory quantity in bytes.
func (r ResourceList) Memory() int64 { q := r[ResourceMemory]; return q.Value() }

// GPU returns the GPU count.
func (r ResourceList) GPU() int64 { q := r[ResourceGPU]; return q.Value() }

// DeepCopy returns a copy that shares nothing with r.
func (r ResourceList) DeepCopy() ResourceList {
	if r == nil {
		return nil
	}
	out := make(ResourceList, len(r))
	for k, v := range r {
		out[k] = v.DeepCopy()
	}
	return out
}

// Spec is a topology as written: the document a file decodes into and New validates.
// Links are listed under one of their two clusters (either one, never both).
type Spec struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   Metadata  `json:"metadata,omitempty"`
	Owners     []Owner   `json:"owners,omitempty"`
	Clusters   []Cluster `json:"clusters"`
	Sites      []Site    `json:"sites,omitempty"`
}

// Metadata names a topology document.
type Metadata struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Owner is an administrative domain that owns clusters (a cloud provider, an operator, a
// university). When Spec.Owners is non-empty it is the closed set of owners clusters may
// name; when empty, owners are whatever the clusters name.
type Owner struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"displayName,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Cluster is one Kubernetes cluster of the continuum.
type Cluster struct {
	// Name is a DNS-1123 label, unique among clusters and sites.
	Name string `json:"name"`
	// Owner is the administrative domain that runs the cluster. Required.
	Owner string `json:"owner"`
	// Tier is the cluster's place in the continuum (cloud, edge, ...). Required.
	Tier Tier `json:"tier"`
	// Region and Zone are free-form placement domains used by policies.
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
	// Location enables the physical-floor check and the geo estimate.
	Location *Location `json:"location,omitempty"`
	// Distribution is kubeadm or k3s; empty means kubeadm.
	Distribution Distribution `json:"distribution,omitempty"`
	// Capacity is what workloads may use. When empty and NodePools are given it is their
	// sum; when both are given the pools must fit in it.
	Capacity  ResourceList `json:"capacity,omitempty"`
	NodePools []NodePool   `json:"nodePools,omitempty"`
	// UDPExposure says whether the cluster can expose UDP services to users (a
	// LoadBalancer or NodePort reachable from the sites).
	UDPExposure bool `json:"udpExposure,omitempty"`
	// CPUPrice is the price of one CPU core for one hour, in any currency used
	// consistently across the topology.
	CPUPrice float64 `json:"cpuPrice,omitempty"`
	// IntraRTT is the round-trip time between two pods of the cluster; zero means 0.2 ms.
	IntraRTT Duration `json:"intraRTT,omitempty"`
	// Uplink is the total inter-cluster traffic (in plus out) the cluster can carry;
	// zero means unlimited.
	Uplink Bandwidth `json:"uplink,omitempty"`
	// Labels are Kubernetes labels (keys and values in Kubernetes label syntax) for
	// policies and label selectors.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints keep components away unless they tolerate them (see Taint).
	Taints []Taint `json:"taints,omitempty"`
	// Links join this cluster to others.
	Links []LinkSpec `json:"links,omitempty"`
}

// NodePool is a group of alike nodes in a cluster, with its own capacity and labels
// (e.g. a GPU pool with gpu.type: a100).
type NodePool struct {
	Name     string            `json:"name"`
	Capacity ResourceList      `json:"capacity"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// PeeringDirection says which way a Liqo peering runs over a link, seen from the cluster
// that lists the link: Outgoing means this cluster is the consumer and the link's other
// end the provider (this cluster offloads to it).
type PeeringDirection string

// Peering directions.
const (
	PeeringNone          PeeringDirection = ""
	PeeringOutgoing      PeeringDirection = "outgoing"
	PeeringIncoming      PeeringDirection = "incoming"
	PeeringBidirectional PeeringDirection = "bidirectional"
)

// LinkSpec is a link as written under a cluster: to another cluster.
type LinkSpec struct {
	// To is the other cluster.
	To string `json:"to"`
	// RTT is the median round-trip time. Required, > 0, and not below the physical floor
	// when both clusters are located.
	RTT Duration `json:"rtt"`
	// P99 and Jitter are optional; P99 must not be below RTT.
	P99    Duration `json:"p99,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
	// Capacity is the link's bandwidth in both directions together; zero means unlimited.
	Capacity Bandwidth `json:"capacity,omitempty"`
	// Peering is the Liqo peering over this link, if any.
	Peering PeeringDirection `json:"peering,omitempty"`
	// Tunnel is the overhead of the Liqo (WireGuard) tunnel, where known.
	Tunnel *TunnelOverhead `json:"tunnel,omitempty"`
}

// TunnelOverhead is what a Liqo WireGuard tunnel adds on a link.
type TunnelOverhead struct {
	// RTT is added to the link's RTT for traffic through the tunnel (gateway hops,
	// encryption). Path RTTs include it.
	RTT Duration `json:"rtt,omitempty"`
	// BytesPerPacket is the encapsulation overhead (WireGuard over IPv4: 60 bytes).
	BytesPerPacket int `json:"bytesPerPacket,omitempty"`
}

// Site is where users are: a city, a campus, a venue.
type Site struct {
	Name     string    `json:"name"`
	Location *Location `json:"location,omitempty"`
	Region   string    `json:"region,omitempty"`
	// Access lists the clusters users at the site reach directly, with the access
	// network's round-trip time and capacity.
	Access []AccessLink `json:"access"`
}

// AccessLink joins a site to a cluster.
type AccessLink struct {
	Cluster  string    `json:"cluster"`
	RTT      Duration  `json:"rtt"`
	P99      Duration  `json:"p99,omitempty"`
	Jitter   Duration  `json:"jitter,omitempty"`
	Capacity Bandwidth `json:"capacity,omitempty"`
}

// TaintEffect is what a taint does to components that do not tolerate it. The effects
// are those of Open Cluster Management's cluster taints, named for continuum's
// replicas: NoSelect is OCM's NoSelectIfNew, NoExecute OCM's NoSelect.
type TaintEffect string

// Taint effects.
const (
	// NoSelect: no new replicas; replicas already on the cluster may stay (cordon).
	NoSelect TaintEffect = "NoSelect"
	// PreferNoSelect: a cost on every replica placed on the cluster.
	PreferNoSelect TaintEffect = "PreferNoSelect"
	// NoExecute: replicas must leave, at once or when the toleration's
	// tolerationSeconds have passed since the taint was added (drain).
	NoExecute TaintEffect = "NoExecute"
)

// Taint marks a cluster so that only components that tolerate it run there.
type Taint struct {
	// Key is a Kubernetes label key ("continuum.xr/drain"). Required.
	Key string `json:"key"`
	// Value is a Kubernetes label value; optional.
	Value string `json:"value,omitempty"`
	// Effect is NoSelect, PreferNoSelect or NoExecute. Required.
	Effect TaintEffect `json:"effect"`
	// Added is when the taint was put on the cluster (RFC 3339 in files): a NoExecute
	// toleration period counts from it. Zero: unknown, and a toleration with
	// tolerationSeconds holds (its period cannot start).
	Added time.Time `json:"added,omitzero"`
}
