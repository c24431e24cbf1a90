// Package continuum is a Go SDK for placing extended-reality (XR) services across the
// cloud–edge continuum of Kubernetes clusters: it decides which cluster runs each
// component of a service graph so that end-to-end latency budgets (15 ms
// motion-to-photon), bandwidth, UDP exposure and ownership policies hold at low cost,
// and carries the decision out with Cluster API (clusters) and Liqo (peerings, namespace
// offloading). It follows the architecture of "Cross-Cluster Networking to Support
// Extended Reality Services" (Cluster API + Liqo + an Observe–Orient–Decide–Act loop).
//
// This root package holds only documentation. The SDK is a set of small packages:
//
//	topology    the continuum as data: clusters, node pools, links, sites, owners;
//	            RTT/path/bandwidth queries; strict YAML/JSON codec.
//	metrics     Observe: latency and resource samples with timestamps (Prometheus/Thanos,
//	            Liqo's measured latency, an active UDP prober); metrics/forecast
//	            forecasts a series (Holt) and tells its spikes from its shifts.
//	placement   Decide: a pure, deterministic, explainable placement engine.
//	placement/act   carry a plan out: provision, peer, offload, start, make-before-break.
//	placement/loop  the Observe–Orient–Decide–Act loop, a controller-runtime Runnable.
//	placement/sim   the simulated continuum the loop runs on in tests: every fake on one
//	            fake clock, scripted events.
//	peering     Act through Liqo: peerings, namespace offloading, pod pinning.
//	provision   Act through Cluster API: create, scale, delete kubeadm and k3s clusters.
//	examples    runnable programs: go run ./examples/<name>.
//
// Dependencies point one way: topology is imported by the others; placement (the
// engine) never imports peering, provision, client-go, controller-runtime, Cluster API
// or Liqo; placement/act and placement/loop, which carry decisions out, do. A test in
// this package fails if topology or the engine's packages grow such imports.
//
// # Testing ladder
//
//  1. Unit tests on pure code, with fixture builders (topology/topologytest).
//  2. Conformance suites, one per interface, passed by the in-memory fakes and by the
//     real backends alike.
//  3. Integration against real servers that the tests start themselves: kube-apiserver
//     and etcd (through controller-runtime envtest) with the real Cluster API and Liqo
//     CRDs from the Go module cache, and a real Prometheus. The binaries are built from
//     the Go module proxy by `make tools` into a cache outside the checkout. Without
//     them the integration tests skip, naming `make tools`; with CI=true they fail.
//  4. Examples run in CI. 5. Fuzz targets for decoders; everything runs with -race.
//
// # Errors
//
// Each package declares sentinels (topology.ErrNotFound, topology.ErrInvalid, ...)
// backed by shared kinds, so errors.Is matches a sentinel of one package against the
// same kind from another. Errors wrap with %w, start with the package name, and name the
// field or object at fault; input errors list every problem at once with field paths.
// Secrets never appear in errors or logs.
package continuum
