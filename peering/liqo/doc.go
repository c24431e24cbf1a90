// Package liqo is the Liqo v1.0.1 backend of peering.Interface: one
// controller-runtime client per cluster, and Liqo's own objects as the only state.
//
// Peer takes Liqo's documented declarative path ("peering via CR"), the steps
// liqoctl peer takes. On the provider P, in the tenant namespace liqo-tenant-<C>:
// the networking Configuration (the consumer's pod and external CIDRs), the gateway
// key Secret (raw 32-byte X25519 keys from crypto/ecdh), the consumer's PublicKey, a
// GatewayServer (port 51840, NodePort, MTU 1340, template wireguard-server), a
// Tenant named after the consumer with authzPolicy TolerateNoHandshake, and the
// consumer's credentials: a ServiceAccount, a RoleBinding to the ClusterRole
// liqo-remote-controlplane and a token from the TokenRequest API. On the consumer C,
// in liqo-tenant-<P>: Configuration, key Secret, the provider's PublicKey, a
// GatewayClient dialing the provider's NodePort, the identity Secret holding the
// provider's kubeconfig, and last the ResourceSlice named after the provider, whose
// presence is what makes the peering exist. Inputs come from where Liqo keeps them:
// the cluster ID from the ConfigMap labelled app.kubernetes.io/name=clusterid-configmap
// (key CLUSTER_ID), the CIDRs from the ipam Networks labelled
// ipam.liqo.io/network-type=pod-cidr and external-cidr (status.cidr). Every object is
// written with server-side apply under one field manager. Unpeer deletes exactly
// those objects in Liqo's order (liqoctl unpeer): the ResourceSlice first, waiting
// until Liqo has removed it and its replica on the provider, then the provider's
// VirtualNodes, waiting until Liqo has removed them, then the credentials and the
// rest, then the two tenant namespaces.
//
// With Options.NetworkingDisabled (Liqo run with --networking-enabled=false, as
// `liqoctl peer --networking-disabled`), Peer writes no networking object, reads no
// CIDRs and needs no gateway addresses, and the network counts as established:
// authentication and offloading only, over whatever interconnect the clusters have.
//
// Status comes from what Liqo's controllers write: the network is established when
// the Connections on both sides are Connected (latency from the consumer's, if
// fresh on Options.Clock); authentication and resources are the ResourceSlice
// conditions Authentication and Resources Accepted; the virtual node is ready when
// the VirtualNode named after the provider exists and a Node labelled
// liqo.io/type=virtual-node, liqo.io/remote-cluster-id=<P> is Ready. Watches (no
// polling) follow those objects.
//
// Offload writes the NamespaceOffloading named "offloading" (Liqo's pod webhook
// looks it up by that name) with the mapping and pod strategies and a cluster
// selector liqo.io/remote-cluster-id In [IDs]; its status is Liqo's offloadingPhase
// and remoteNamespacesConditions. Because Liqo's webhooks may not run (they do not
// on a bare apiserver), the backend enforces their rules itself: the name, and
// strategies that cannot change.
//
// Limits: a peering the other way round of a peered pair is refused (Liqo shares
// one network per pair and this backend does not manage that sharing); the
// consumer's token is not re-issued before it expires (Options.TokenTTL); the
// gateway's NodePort comes from Options.GatewayNodePort, a hash by default.
//
// # Errors
//
// Errors start with "liqo:" and wrap the peering sentinels (ErrNotFound for an
// unknown cluster or a missing peering or offloading, ErrNotPeered, ErrAlreadyPeered,
// ErrInvalid, ErrNotReady when Liqo's inputs are missing) or the apiserver's error.
// Tokens, keys and kubeconfigs never appear in errors or logs: errors writing
// Secrets keep the apiserver's status (so apierrors.IsForbidden works) but not its
// message.
//
// # Concurrency
//
// A Backend is safe for concurrent use; it keeps no state besides its clients.
// Peer and Unpeer are serialised within a Backend, so a second Peer of one pair gets
// ErrAlreadyPeered; two processes peering one pair at once may interleave their
// keys, so peer one pair from one place. Watches run one goroutine per watched list
// and end with their context.
//
// # Testing
//
// internal/liqoreal runs the conformance suite, an offloaded pod and the placement
// loop against Liqo v1.0.1's own controllers, on real clusters (internal/testenv:
// kube-apiserver, kube-controller-manager, kube-scheduler, KWOK nodes, Liqo's
// controller manager, CRD replicator, webhook and virtual kubelets). Liqo's
// networking is disabled there (WireGuard cannot run on the test machines), so what
// is checked against Liqo's controllers is the NetworkingDisabled path:
// authentication (Tenant, credentials, identity Secret, ResourceSlice accepted),
// the VirtualNode and virtual Node, offloading, pods reflected and run on the
// provider, and Unpeer and Unoffload as Liqo tears down.
//
// Checked only against Liqo's CRD schemas and internal/liqoplay, never against
// Liqo's networking controllers: everything Peer writes with networking on (the
// Configuration, the gateway key Secret, PublicKey, GatewayServer and GatewayClient),
// the CIDRs read from the ipam Networks, and the network status and latency read
// from Connections (and so metrics/liqo's latency source). The integration tests
// here run on three real kube-apiservers with the real Liqo CRDs, so every object
// written passes the real schemas, and they assert what the schemas do not check and
// Liqo's gateways would choke on (32-byte keys, NodePort, the authz policy).
// internal/liqoplay plays Liqo's controllers there by seeding each cluster's
// cluster-ID ConfigMap and ipam Networks, and by writing the Connections,
// ResourceSlice conditions, ForeignClusters, VirtualNode, virtual Node and
// NamespaceOffloading status Liqo would write, with Status().Update() (step by step,
// or in the background with its Run, as the placement loop's integration test does).
// The package passes peeringtest.RunConformanceTests on the player with networking
// on and off, and internal/liqoreal passes the same suite on Liqo. RBACYAML is the
// ClusterRole the backend needs on every cluster; a test runs the backend as a user
// bound to exactly it.
package liqo
