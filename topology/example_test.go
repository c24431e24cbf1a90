package topology_test

import (
	"fmt"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// The README's tour: decode a continuum, ask for an RTT and a path.
func ExampleDecode() {
	topo, err := topology.Decode([]byte(`
apiVersion: continuum.xr/v1alpha1
kind: Topology
clusters:
  - name: fra-cloud
    owner: cloud-a
    tier: cloud
    location: {lat: 50.1109, lon: 8.6821}
    capacity: {cpu: "256", memory: 1Ti, gpu: "8"}
    udpExposure: true
    cpuPrice: 0.04
    links:
      - {to: gva-edge, rtt: 9.7ms, capacity: 10Gbps, peering: incoming}
  - name: gva-edge
    owner: operator-b
    tier: edge
    distribution: k3s
    location: {lat: 46.2044, lon: 6.1432}
    capacity: {cpu: "32", memory: 128Gi}
sites:
  - name: geneva
    access: [{cluster: gva-edge, rtt: 1.2ms, capacity: 40Gbps}]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	rtt, _ := topo.RTT("geneva", "fra-cloud")
	path, _ := topo.Path("geneva", "fra-cloud")
	fmt.Println(rtt)
	fmt.Println(path, "bottleneck", path.Bottleneck)
	// Output:
	// 10.9ms
	// geneva -> gva-edge -> fra-cloud (10.9ms) bottleneck 10Gbps
}

// Invalid files are reported whole, each problem with its field path.
func ExampleDecode_errors() {
	_, err := topology.Decode([]byte(`
apiVersion: continuum.xr/v1alpha1
kind: Topology
clusters:
  - name: fra-cloud
    owner: cloud-a
    tier: cloud
    location: {lat: 50.1109, lon: 8.6821}
    links: [{to: gva-edge, rtt: 1.2ms}]
  - name: gva-edge
    tier: edge
    location: {lat: 46.2044, lon: 6.1432}
    capacity: {cpu: "-4"}
`))
	fmt.Println(err)
	// Output:
	// topology: invalid (3 problems):
	//   clusters[0].links[0].rtt: 1.2ms is below the 4.6ms physical floor for 473 km
	//   clusters[1].capacity.cpu: -4 is negative
	//   clusters[1].owner: required
}

// Builders make test continuums in a few lines.
func Example_builder() {
	topo, err := topologytest.New().
		Cluster("cloud", topologytest.Tier(topology.TierCloud), topologytest.Price(0.04)).
		Cluster("edge-a", topologytest.UDP()).
		Cluster("edge-b", topologytest.UDP()).
		Link("cloud", "edge-a", topology.Millis(8)).
		Link("edge-a", "edge-b", topology.Millis(3), topologytest.LinkCapacity(10*topology.Gbps)).
		Site("venue", nil, topologytest.Access("edge-b", topology.Millis(1))).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := topo.Path("venue", "cloud")
	fmt.Println(p, "bottleneck", p.Bottleneck)
	// Output: venue -> edge-b -> edge-a -> cloud (12.0ms) bottleneck 10Gbps
}

// A measured RTT for one link, applied without re-validating or re-routing the whole
// continuum: with the Geneva-Milan link degraded to 25 ms, users in Geneva reach Milan
// through Frankfurt. A figure New would refuse (a zero RTT) is an error.
func ExampleTopology_WithLinkRTTs() {
	topo := topologytest.PaperFig1()
	before, _ := topo.RTT("geneva", "mil-edge")
	measured, err := topo.WithLinkRTTs([]topology.LinkRTT{{A: "gva-edge", B: "mil-edge", RTT: topology.Millis(25)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	after, _ := measured.RTT("geneva", "mil-edge")
	path, _ := measured.Path("geneva", "mil-edge")
	fmt.Println(before, "->", after)
	fmt.Println(path.Nodes())
	_, err = topo.WithLinkRTTs([]topology.LinkRTT{{A: "gva-edge", B: "mil-edge"}})
	fmt.Println(err != nil)
	// Output:
	// 7.3ms -> 22.2ms
	// [geneva gva-venue gva-edge fra-cloud mil-edge]
	// true
}
