// Package liqoplay PLAYS LIQO'S CONTROLLERS on real kube-apiservers that have the Liqo
// v1.0.1 CRDs but none of Liqo's controllers (they need WireGuard and a virtual
// kubelet, so they cannot run on an envtest apiserver). It writes what Liqo writes,
// with admin clients, and statuses with Status().Update() (Update drops them):
//
//   - Seed: what Liqo's installation and IPAM provide on each cluster, the cluster-ID
//     ConfigMap (label app.kubernetes.io/name=clusterid-configmap, key CLUSTER_ID)
//     and the pod-cidr/external-cidr ipam Networks with status.cidr. Every Seed gives
//     each cluster a fresh cluster ID ("<name>-g<N>", N counting the seedings of the
//     process): deleted namespaces stay Terminating on envtest (no namespace
//     controller), so reusing an ID would make the next peering of a pair write into
//     a Terminating tenant namespace.
//   - CompletePeering: first checks what Liqo's gateways and authentication would
//     choke on although the schemas accept it (keys of 32 bytes, a NodePort gateway
//     server, a TolerateNoHandshake Tenant), then writes the Connections on both
//     sides (Connected, with the pair's latency), the ForeignClusters, the
//     ResourceSlice conditions Authentication and Resources Accepted, the VirtualNode
//     and a Ready virtual Node labelled like Liqo's.
//   - CompleteOffloading: the NamespaceOffloading status Liqo's controllers write:
//     phase Ready, observedGeneration and, per selected cluster, OffloadingRequired
//     and Ready True.
//   - Run: the background mode, for code that waits on Liqo like a real program
//     (the placement loop, benchmarks, examples). Every Options.Interval it lists the
//     ResourceSlices and NamespaceOffloadings of every cluster and completes each new
//     peering and each offloading whose status does not describe its spec (a remote
//     namespace becomes ready only where the namespace's cluster has a complete
//     peering with the target, as Liqo selects virtual nodes). It rewrites the
//     latency of every complete peering's Connections when SetLatency changed it or
//     when the last write is Options.Refresh old, as Liqo's gateway does.
//
// Latencies are formatted as Liqo formats them (pkg/utils/time.FormatLatency):
// whole milliseconds ("12ms"), or whole microseconds below 1 ms ("850μs").
//
// # Checked against Liqo
//
// internal/liqoreal runs the same peering conformance suite against Liqo v1.0.1's
// own controllers (networking disabled; peering/liqo runs it on the player with
// networking on and off). Differences it found, and where they were fixed:
//
//   - Liqo keeps a NamespaceOffloading (finalizer) until it has removed the remote
//     namespaces; the player's goes at once. The backend's Unoffload now waits for it
//     to be gone, which holds for both.
//   - Liqo's CRD replicator deletes a ResourceSlice's replica on the provider with
//     the consumer's credentials, and Liqo deletes the virtual Node only when its
//     VirtualNode is deleted; a Node left behind makes Liqo's webhook refuse the next
//     VirtualNode of the pair. The backend's Unpeer now deletes the slice, then the
//     VirtualNodes, waiting for each, before the credentials and namespaces
//     (liqoctl unpeer's order); the player's objects have no finalizers, so both pass.
//   - With networking disabled Liqo writes no Connection: Options.NetworkingDisabled
//     here and in the backend.
//
// Two faults of the real test clusters themselves looked like differences and were
// fixed in internal/testenv: a virtual kubelet that outlived its pod re-created the
// virtual Node Liqo had just deleted (the same "node already exists" refusal), and
// KWOK nodes without Leases turned NotReady every minute, their pods with them.
//
// The package imports no testing package, so benchmarks and example programs can use
// it. It never logs and never puts Secret data in errors (it reads the gateway key
// Secrets only to check key lengths).
//
// # Concurrency
//
// A Player is safe for concurrent use: SetLatency may be called while Run runs, and
// the foreground methods may be called besides Run (their writes are idempotent).
package liqoplay
