package placement_test

import (
	"context"
	"fmt"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// Per-application weights in the application file: the store talks to the renderer
// at 100 Mbit/s. Weighed as usual, the traffic keeps it next to the renderer in
// Geneva; with the network weighed 0.05, the cheaper CPUs of Frankfurt win.
func ExampleAppWeights() {
	const doc = `apiVersion: continuum.xr/v1alpha1
kind: Application
metadata: {name: xr}
%s
components:
  - {name: render, requests: {cpu: "4", memory: 8Gi, gpu: "1"}, processingTime: 5ms,
     ports: [{port: 5004, protocol: UDP, expose: true}]}
  - {name: store, requests: {cpu: "2", memory: 16Gi}}
flows:
  - {from: geneva, to: render, bandwidth: 2Gbps, protocol: UDP}
  - {from: render, to: store, bandwidth: 100Mbps}
chains:
  - {name: motion-to-photon, path: [geneva, render, geneva], budget: 15ms}
`
	snap := &placement.Snapshot{Topology: topologytest.PaperFig1()}
	for _, weights := range []string{"", "weights: {network: 0.05}"} {
		app, err := placement.DecodeApplication(fmt.Appendf(nil, doc, weights))
		if err != nil {
			fmt.Println(err)
			return
		}
		plan, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-26q store -> %s (network %.3f, compute %.3f)\n", weights, plan.Assignments[1].Cluster, plan.Objective.Network, plan.Objective.Compute)
	}
	// By hand: render stays in Geneva (2 Gbit/s x 1.2 ms to its users). Store in Geneva
	// costs 0.1 Gbit/s x 0.2 ms + 2 cores x 0.09; in Frankfurt 0.1 x 10.0 ms (9.7 ms
	// link + 0.3 ms tunnel) + 2 x 0.04. Network weight 1: 0.02 + 0.18 < 1.0 + 0.08;
	// weight 0.05: 0.001 + 0.18 > 0.05 + 0.08.

	// Output:
	// ""                         store -> gva-edge (network 2.420, compute 0.540)
	// "weights: {network: 0.05}" store -> fra-cloud (network 0.170, compute 0.440)
}
