// Package peeringtest is the conformance suite of peering.Interface:
// RunConformanceTests runs the same tests against every backend, the in-memory
// peeringfake in unit tests and peering/liqo against real kube-apiservers, so the
// fake cannot drift from the real backend.
//
// A backend takes part through a Harness: the clusters to use, a way to make
// namespaces, and the steps that Liqo's controllers take in a real deployment
// (completing a peering, reporting an offloading ready), which a fake performs by
// stepping its clock and a real backend's harness by writing the status Liqo would
// write, or by waiting while Liqo's own controllers do it (internal/liqoreal). A
// Harness whose backend measures no latency (Liqo with networking disabled)
// implements WithoutLatency.
//
// # Errors
//
// The suite reports failures through testing.T; it returns nothing.
//
// # Concurrency
//
// Tests of the suite run one after the other, each with a new Harness; a Harness
// need not be safe for concurrent use beyond WaitPeered running next to
// CompletePeering and WaitOffloaded next to CompleteOffloading.
//
// # Testing
//
// The suite runs in peering/peeringfake's and peering/liqo's tests (the Liqo backend
// with internal/liqoplay playing Liqo) and in internal/liqoreal's (the same backend
// against Liqo v1.0.1's real controllers).
package peeringtest
