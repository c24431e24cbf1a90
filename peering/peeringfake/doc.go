// Package peeringfake is an in-memory peering.Interface with Liqo's semantics, for
// tests of code that peers clusters, offloads namespaces and pins pods.
//
// The fake knows the clusters of Options.Clusters (name -> Liqo cluster ID), and
// those added later with AddCluster (a cluster provisioned while the test runs). A
// peering goes through Liqo's steps on an injected clock
// (k8s.io/utils/clock; use clock/testing.FakeClock and Step it) following a Model:
// network established, authentication and resources accepted, virtual node ready,
// then a measured latency. Offloading needs the namespace (CreateNamespace) and a
// ready peering from the namespace's cluster to every target; remote namespaces get
// the same name by default (EnforceSameName), "<name>-<cluster ID>" with
// DefaultName, and become ready after Model.Offload. Like Liqo, the strategies of an
// offloaded namespace cannot change, only its targets. Unpeer refuses while a
// namespace is offloaded to the provider. Faults are injected with
// InjectPeeringFault (no network; resources refused) and FailRemoteNamespaces. Every
// call is recorded (Calls).
//
// # Errors
//
// The fake returns the peering sentinels (ErrNotFound, ErrNotPeered,
// ErrAlreadyPeered, ErrNotReady, ErrInvalid) where the real backend does; messages
// start with "peeringfake:".
//
// # Concurrency
//
// A Fake is safe for concurrent use. Watchers are woken by clock callbacks; a
// FakeClock runs them inside Step, and they only poke a buffered channel.
//
// # Testing
//
// The fake passes peeringtest.RunConformanceTests; it imports nothing from testing.
package peeringfake
