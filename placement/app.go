package placement

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

// APIVersion and Kind head every application file.
const (
	APIVersion = "continuum.xr/v1alpha1"
	Kind       = "Application"
)

// Protocol is a transport protocol.
type Protocol string

// Protocols.
const (
	TCP Protocol = "TCP"
	UDP Protocol = "UDP"
)

// Application is a service graph: components, the flows between them (and to users at
// sites), and end-to-end chains with latency budgets.
type Application struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	// Home is the cluster whose namespace holds the application; components elsewhere
	// run there through Liqo (the home cluster peers with each provider and offloads the
	// namespace). Empty: the engine does not constrain it, and Act picks the cluster of
	// the first component.
	Home string `json:"home,omitempty"`
	// Weights scale this application's terms of the objective and its scorers; nil
	// leaves them as the request weighs them.
	Weights    *AppWeights `json:"weights,omitempty"`
	Components []Component `json:"components"`
	Flows      []Flow      `json:"flows,omitempty"`
	Chains     []Chain     `json:"chains,omitempty"`
}

// Metadata names an application. The namespace defaults to the name.
type Metadata struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Component is one deployable part of an application.
type Component struct {
	// Name is a DNS-1123 label, unique in the application.
	Name string `json:"name"`
	// Replicas is the number of copies; each is placed on its own (zero means 1).
	Replicas int `json:"replicas,omitempty"`
	// Requests are per replica: cpu, memory, gpu and extended resources.
	Requests topology.ResourceList `json:"requests,omitempty"`
	// Ports the component serves. An exposed UDP port faces users: such a component
	// runs only on clusters that can expose UDP.
	Ports []Port `json:"ports,omitempty"`
	// ProcessingTime is the time the component adds to every chain through it.
	ProcessingTime topology.Duration `json:"processingTime,omitempty"`
	// Allowed restricts where the component may run; empty lists allow everything.
	Allowed Allowed `json:"allowed,omitempty"`
	// Preferred are soft label selectors: each term a cluster does not match costs
	// its weight / 100 per replica (the "preferred" scorer), like Kubernetes'
	// preferred node affinity and OCM's prioritizers.
	Preferred []PreferredTerm `json:"preferred,omitempty"`
	// Tolerations let the component run on clusters with matching taints.
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// Spread puts every replica on a different cluster.
	Spread bool `json:"spread,omitempty"`
	// AntiAffinity names components that must not share a cluster with this one.
	AntiAffinity []string `json:"antiAffinity,omitempty"`
	// CoLocate names components that must run on the same cluster as this one.
	CoLocate []string `json:"coLocate,omitempty"`
	// NodePool selects node pools by label: the replica must fit in one pool whose
	// labels include all of these.
	NodePool map[string]string `json:"nodePool,omitempty"`
	// StateSize is the state moved when a replica migrates (the migration cost term).
	StateSize resource.Quantity `json:"stateSize,omitempty"`
	// Scale, when set, lets the loop (placement/loop) set Replicas from the demand
	// at the sites the component serves; the engine places the Replicas it is given.
	Scale *Scale `json:"scale,omitempty"`
}

// ScaleMetric is the demand a scaled component follows.
type ScaleMetric string

// The demand metrics.
const (
	// ScaleUsers: users connected at a site.
	ScaleUsers ScaleMetric = "users"
	// ScaleRequests: requests per second from a site.
	ScaleRequests ScaleMetric = "requests"
)

// Scale says how a component's replicas follow demand: the loop keeps
// ceil(demand / PerReplica) replicas within [Min, Max], where demand is the Metric
// summed over Sites.
type Scale struct {
	// Min and Max bound the replicas; Min at least 1, Max at least Min.
	Min int `json:"min"`
	Max int `json:"max"`
	// Metric is the demand followed; empty means users.
	Metric ScaleMetric `json:"metric,omitempty"`
	// PerReplica is the demand one replica serves (users, or requests per second).
	PerReplica float64 `json:"perReplica"`
	// Sites whose demand counts; empty means every site the component has a flow
	// with.
	Sites []string `json:"sites,omitempty"`
}

// Port is a port a component serves.
type Port struct {
	Name     string   `json:"name,omitempty"`
	Port     int      `json:"port"`
	Protocol Protocol `json:"protocol,omitempty"` // TCP when empty
	// Expose makes the port reachable by users at sites.
	Expose bool `json:"expose,omitempty"`
}

// Allowed lists the clusters a component may use, by tier, owner, region or name, and
// by a label selector over the clusters' labels. A cluster must pass every non-empty
// list and the selector.
type Allowed struct {
	Tiers    []topology.Tier `json:"tiers,omitempty"`
	Owners   []string        `json:"owners,omitempty"`
	Regions  []string        `json:"regions,omitempty"`
	Clusters []string        `json:"clusters,omitempty"`
	// Selector is a Kubernetes label selector over cluster labels (the "labels"
	// filter); nil selects every cluster.
	Selector *LabelSelector `json:"selector,omitempty"`
}

// Flow is traffic between two components, or between a component and the users at a
// site. From and To name a component of the application or a site of the topology.
type Flow struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Bandwidth is the flow's total rate; it is split evenly over the replica pairs.
	Bandwidth topology.Bandwidth `json:"bandwidth,omitempty"`
	// MaxRTT bounds the round-trip time between every pair of replicas (or replica and
	// site); zero means no bound.
	MaxRTT topology.Duration `json:"maxRTT,omitempty"`
	// Protocol is TCP when empty. A UDP flow to a site needs a cluster that can expose
	// UDP to users.
	Protocol Protocol `json:"protocol,omitempty"`
}

// Chain is an end-to-end path through sites and components with one latency budget,
// e.g. [geneva, renderer, geneva] within 15 ms. Its latency counts RTT/2 per hop plus
// each component's processing time; with replicas, each hop counts its worst replica
// pair, so the budget holds for every replica.
type Chain struct {
	Name   string            `json:"name"`
	Path   []string          `json:"path"`
	Budget topology.Duration `json:"budget"`
}

// replicas returns the component's replica count with the default applied.
func (c *Component) replicas() int { return max(c.Replicas, 1) }

// faces users with UDP through an exposed port.
func (c *Component) exposesUDP() bool {
	for _, p := range c.Ports {
		if p.Expose && p.Protocol == UDP {
			return true
		}
	}
	return false
}
