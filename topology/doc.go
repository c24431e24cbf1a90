// Package topology is the cloud–edge continuum as data: clusters (owner, tier,
// region/zone, location, distribution, capacity and node pools, UDP exposure, CPU price,
// intra-cluster RTT, uplink), links between clusters (RTT median/p99/jitter, capacity,
// Liqo peering and its direction, tunnel overhead), user sites with their access links,
// and owners. It answers the network questions placement asks, in O(1) (see Routes for
// continuums above AllPairsMax clusters):
//
//   - RTT and Path between any two endpoints (clusters or sites). Traffic between two
//     linked clusters takes their link; otherwise it takes the cheapest chain of links.
//     A cluster to itself costs its intra-cluster RTT (0.2 ms by default). A site reaches
//     a cluster through the access link that makes the whole trip cheapest.
//   - The bottleneck capacity of a path (Path.Bottleneck).
//   - The physical floor (2 x great-circle km x 4.9 us/km: nothing is faster) and the geo
//     estimate (0.5 ms + 2 x 2.1 x km x 4.9 us/km: what to assume without a measurement).
//
// Clusters carry Kubernetes labels (keys and values in Kubernetes' label syntax,
// checked with apimachinery's rules) for label selectors, and taints that keep
// components away unless they tolerate them: NoSelect (no new replicas), PreferNoSelect
// (a cost) and NoExecute (replicas leave, after a toleration's period counted from the
// taint's Added time), OCM's effects named for replicas (package placement applies
// them). Cordon, Drain and Uncordon return a topology with a cluster cordoned
// (TaintUnschedulable) or drained (TaintDrain), like kubectl's verbs;
// Spec.SetTaint and RemoveTaints edit a spec.
//
// # Routes
//
// Up to AllPairsMax (2,000) clusters, New computes all-pairs routes (Dijkstra from every
// cluster, then the site rows), so a query is a table lookup: 12 bytes per pair of
// clusters, 12 MB at 1,000 and 48 MB at 2,000 clusters.
//
// Above AllPairsMax that table would grow as n^2 (1.2 GB at 10,000 clusters, and 14 s
// or more to fill), so New computes no route: the routes from a cluster (its row: the
// RTT to every cluster and the predecessor on the cheapest-path tree) are computed on
// the first query that needs them, by the same Dijkstra and the same tie-breaking, and
// kept in a cache bounded by RowCacheBytes (64 MB: 559 rows at 10,000 clusters),
// evicted by CLOCK (second chance, an approximation of least recently used). A site's
// row is built from the rows of its access clusters and cached the same way. Answers
// are identical to the all-pairs table's: same RTT, same route among equal-cost ones,
// same bottleneck (a test compares every RTT and route, and thousands of paths, on
// random continuums of up to 300 clusters with many ties). A query whose row is cached
// costs one atomic load and no allocation; RTTAt also answers from the other end's row
// when that one is cached (RTTs are symmetric; routes always come from their first
// end's row). A query whose row is not cached computes it: an engine that asks about
// more sources at once than the cache holds recomputes rows. Measured on 10,000 generated clusters (2 cores,
// loaded; BenchmarkNew, BenchmarkRTTLarge): New 0.19 s and 60 MB allocated; as a
// separate process that first decodes the 4.6 MB file, New 0.2 s and 217 MB peak RSS,
// most of it the decoder's (with the all-pairs table: 43 s and 1.37 GB); a cached
// RTTAt 17 ns; computing a row 3–5 ms; all 10,000 destinations from each of 100
// sources, rows included, 0.8 us per query.
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
// # Ranges and limits
//
// Every number is checked against a documented range, by the decoder and by New alike,
// with the field path of any value outside it:
//
//   - Round-trip times of links and access links (and measured ones, in placement):
//     MinRTT (1 us) to MaxDuration (10 s); the intra-cluster RTT 0 (default) or in that
//     range; p99, jitter and tunnel overhead 0 to 10 s; tunnel bytes per packet 0 to
//     65,535.
//   - Resources per cluster, node pool (and replica, in placement): cpu and gpu 0 to
//     10^6, memory and every extended resource 0 to 2^50 (1 PiB of memory); a cluster's
//     capacity summed from its node pools too. Names are cpu, memory, gpu or
//     domain/name (CheckResource).
//   - Bandwidths: 0 to MaxBandwidth (1 Pbit/s), or unlimited for a capacity. Numbers in
//     bandwidths are plain decimals ("1.5e3Mbps"; no hex, sign, Inf or NaN).
//   - Prices per core-hour: finite, 0 to 10^6. Latitude and longitude in their ranges.
//     YAML's .nan and .inf are refused wherever they appear, with their path.
//   - Sizes: MaxClusters (10,000) clusters, MaxSites (1,000) sites, MaxOwners owners,
//     MaxNodePools pools per cluster, MaxLinks links and MaxLinks access links in all,
//     MaxLabels labels per map, MaxTaints taints per cluster; strings at most 1,024 bytes; names DNS-1123 labels
//     (metadata.name too, when set). A list over its limit is refused before its
//     elements are read.
//   - Files: Load reads at most 64 MiB (LoadWith's LoadOptions.MaxFileSize changes it),
//     so an endless file such as /dev/zero ends with an error.
//
// With these ranges no sum overflows: a route has at most MaxClusters-1 links of at most
// 20 s each (RTT plus tunnel), 2 x 10^13 ns in all, far below the int64 limit; route
// sums saturate besides, so an overflow cannot happen even in principle.
//
// Memory stays bounded (see Routes): at most 48 MB of all-pairs tables, or the row
// cache above AllPairsMax. Measured with /usr/bin/time on continuumctl plan and a small
// application (2 cores, when the limit was 1,000 clusters): a 0.83 MB file of 1,000
// clusters, 29,558 links and 100 sites costs 1.0 s of CPU and 94 MB of peak memory;
// 1,000 clusters in a line with 1,000 sites of 20 access links each (0.67 MB), 0.9 s and
// 86 MB. Messages quote long values cut to their first and last bytes and their length,
// and list at most 50 problems (then count the rest).
//
// Precondition of the index accessors: ClusterAt, SiteAt and LinkAt take indices in
// range and panic otherwise, like a slice (Cluster, Site and Link are the checked
// look-ups by name); RTTAt, SiteRTTAt, RouteAt and SiteRouteAt report "no route" for an
// index out of range.
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
// A Topology is immutable after New and safe for concurrent use (above AllPairsMax,
// its row cache is synchronised inside: concurrent queries share rows). Spec values are plain
// data; New and Spec() copy them deeply.
//
// # Testing
//
// Package topologytest has a fluent Builder for small continuums, the seed paper's Fig. 1
// continuum (PaperFig1), and a seeded generator of large ones (Random); its Labels and
// Taint options label and taint clusters. The package imports nothing from k8s.io but
// k8s.io/apimachinery's api/resource and util/validation (label syntax; a test enforces
// it).
package topology
