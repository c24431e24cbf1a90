// Package peeringtest is the conformance suite of peering.Interface:
// RunConformanceTests runs the same tests against every backend, the in-memory
// peeringfake in unit tests and peering/liqo against real kube-apiservers, so the
// fake cannot drift from the real backend.
//
// A backend takes part through a Harness: the clusters to use, a way to make
// namespaces, and the steps that Liqo's controllers take in a real deployment
// (completing a peering, reporting an offloading ready), which a fake performs by
// stepping its clock and a real backend's harness by writing the status Liqo would
// write.
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
// The suite runs in peering/peeringfake's and peering/liqo's tests.
package peeringtest
