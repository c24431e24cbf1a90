// Package liqoreal holds the integration tests that run continuum against Liqo
// v1.0.1's own controllers instead of internal/liqoplay: real clusters from
// internal/testenv (kube-apiserver + etcd, kube-controller-manager, kube-scheduler,
// KWOK nodes, Liqo's controller manager, CRD replicator, webhook and virtual
// kubelets), started once for the package.
//
// The tests run the peering conformance suite (peering/peeringtest) against the
// Liqo backend on these clusters, offload a namespace and check that a pod pinned to
// a virtual node runs on a KWOK node of the provider, and drive an xr-collab-like
// application (render, stream, media, state, analytics; not placementtest.XRCollab) with the
// placement loop from placement to a make-before-break repair,
// with ready replicas as Kubernetes reports them.
//
// Liqo's networking is disabled here (no WireGuard, no gateways): the backend peers
// with peering/liqo's Options.NetworkingDisabled, Liqo creates no Connection (the
// loop's Liqo latency source answers ErrNoData for every pair), and the loop's
// latency comes from the next source, a table the test controls standing in for
// the prober. BenchmarkApplyReal measures act's first apply and re-apply of 100
// components on these clusters, and logs where the CPU goes; the environment variable
// CONTINUUM_LIQOREAL_KCM_QPS raises the clusters' kube-controller-manager client rate
// limit (Kubernetes' default otherwise) to compare both. The networking objects of the
// backend's declarative peering (Configuration, key Secret, PublicKey,
// GatewayServer, GatewayClient) and metrics/liqo's reading of Connections are checked
// only against Liqo's CRD schemas and internal/liqoplay (peering/liqo's and
// metrics/liqo's own tests), never against Liqo's networking controllers.
//
// The package has no non-test code besides this documentation.
package liqoreal
