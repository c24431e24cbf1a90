// Package peering connects clusters through Liqo, in Liqo's vocabulary: a consumer
// cluster peers with a provider cluster (asking for resources), which then appears on
// the consumer as a virtual node; a namespace of the consumer is offloaded to a set of
// providers, with the same name on every cluster by default; and a pod is pinned to
// one provider's virtual node, or kept on the local cluster.
//
// The interfaces are split by role, and callers take the smallest: a PeeringReader
// gets, lists and watches peerings with Liqo's status (network established,
// authentication and resources accepted, virtual node ready, measured latency); a
// Peerer peers and unpeers; an OffloadingReader reads and watches offloaded
// namespaces with their state per remote cluster; an Offloader offloads and
// unoffloads. Interface is all four. Behaviour shared by every backend is written
// once here, over the interfaces:
//
//   - WaitPeered and WaitOffloaded watch (no polling) until a peering or an
//     offloading is ready, reporting a one-line progress message through a
//     callback, on an injected clock with an optional timeout.
//   - EnsurePeered peers unless already peered, then waits: running it again writes
//     nothing.
//   - Pin and PinLocal are pure: what a pod spec needs to run on one remote cluster
//     (nodeSelector liqo.io/remote-cluster-id) or on the local cluster only (a node
//     affinity keeping it off virtual nodes). PinTo first checks that the peering is
//     ready, refusing a pod pinned to a cluster that is not peered.
//
// Backends: peering/liqo (Liqo v1 CRDs through one controller-runtime client per
// cluster) and peering/peeringfake (in memory, on an injected clock).
//
// # Errors
//
// ErrNotFound, ErrNotPeered, ErrAlreadyPeered, ErrNotReady and ErrInvalid are backed
// by the shared kinds of internal/errkind, so errors.Is matches them against the same
// kinds of other continuum packages. Messages start with "peering:" and name the bad
// field of an invalid input. Wait errors say how far the peering or offloading got.
// Credentials never appear in errors.
//
// # Concurrency
//
// The functions here are safe for concurrent use when the backend is; both backends
// are. Progress callbacks run on the waiting goroutine.
//
// # Testing
//
// peeringtest.RunConformanceTests is the suite every backend passes: peeringfake in
// unit tests, peering/liqo against real kube-apiservers with the real Liqo CRDs.
package peering
