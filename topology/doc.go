// Package topology is the cloud–edge continuum as data: clusters (owner, tier,
// region/zone, location, distribution, capacity and node pools, UDP exposure, CPU price,
// intra-cluster RTT, uplink), links between clusters (RTT median/p99/jitter, capacity,
// Liqo peering and its direction, tunnel overhead), user sites with their access links,
// and owners. It answers the network questions placement asks, in O(1):
//
//   - RTT and Path between any two endpoints (clusters or sites). Traffic between two
//     linked clusters takes their link; otherwise it takes the cheapest chain of links.
//     A cluster to itself costs its intra-cluster RTT (0.2 ms by default). A site reaches
//     a cluster through the access link that makes the whole trip cheapest.
//   - The bottleneck capacity of a path (Path.Bottleneck).
//   - The physical floor (2 x great-circle km x 4.9 us/km: nothing is faster) and the geo
//     estimate (0.5 ms + 2 x 2.1 x km x 4.9 us/km: what to assume without a measurement).
//
// All-pairs routes are computed once by New (Dijkstra from every cluster), so a query on
// a 1,000-cluster continuum is a table lookup.
//
// # Files
//
// Topologies are written as Kubernetes-style YAML or JSON (apiVersion
// continuum.xr/v1alpha1, kind Topology); see topologytest/paper-fig1.yaml for a complete
// example. Quantities are Kubernetes quantities ("64", "256Gi"), durations Go duration
// strings ("9.7ms"), bandwidths bits per second with SI prefixes ("10Gbps", "500Mbps").
// Each link is listed under one of its two clusters. Decode is strict and reports every
// problem of a file at once, each with its field path:
//
//	topology: invalid (2 problems):
//	  clusters[0].colour: unknown field (known: name, owner, tier, ...)
//	  clusters[3].links[0].rtt: 1.2ms is below the 4.6ms physical floor for 473 km
//
// # Errors
//
// Invalid input gives an ErrorList of *FieldError; errors.Is(err, ErrInvalid) holds.
// Queries return errors wrapping ErrNotFound (unknown cluster or site) or ErrUnreachable
// (no chain of links). These sentinels match the same kinds of the other continuum
// packages with errors.Is.
//
// # Concurrency
//
// A Topology is immutable after New and safe for concurrent use. Spec values are plain
// data; New and Spec() copy them deeply.
//
// # Testing
//
// Package topologytest has a fluent Builder for small continuums, the seed paper's Fig. 1
// continuum (PaperFig1), and a seeded generator of large ones (Random). The package
// imports nothing from k8s.io but k8s.io/apimachinery/pkg/api/resource (a test enforces
// it).
package topology
