// Package provisiontest is the conformance suite of provision.Provisioner: every
// backend, the in-memory provisionfake and the Cluster API backend against a real
// kube-apiserver alike, runs RunConformanceTests, so the fake cannot drift from the
// real thing.
//
// A backend supplies a HarnessMaker. The Harness says how to make time pass for a
// cluster (Complete, CompleteDeletion): the fake steps its clock; the capi backend's
// harness plays the Cluster API controllers by writing status as their contract
// documents. The suite covers Create/Get/List/Watch/Delete, the sentinel errors,
// WaitReady with its progress reports and phase timeline, a WaitReady that runs out of
// time, and the optional Scaler and KubeconfigGetter capabilities when present.
//
// # Errors
//
// The suite reports failures through testing.T; a HarnessMaker error fails the test.
//
// # Concurrency
//
// Each test gets its own Harness; Complete runs concurrently with WaitReady, so
// harnesses must be safe for that.
//
// # Testing
//
// provisionfake's tests run the suite on the fake; provision/capi's integration tests
// run it against envtest with the real CRDs.
package provisiontest
