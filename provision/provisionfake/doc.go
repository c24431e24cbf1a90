// Package provisionfake is an in-memory provision.Provisioner (with the Scaler and
// KubeconfigGetter capabilities) for tests of code that provisions clusters.
//
// Clusters go through the provisioning milestones on an injected clock
// (k8s.io/utils/clock; use clock/testing.FakeClock and Step it) following a Model
// whose defaults (PaperModel) follow the seed paper's experiment 1: about 103 s to
// Available for one node, 316 s for 25, growing with the logarithm of the node count
// because nodes bootstrap in parallel (the formula and its fit are on Model). Jitter
// is seeded (Options.Seed), so runs repeat exactly. Faults are injected per cluster
// with InjectFault (workers that never become ready; quota exceeded) and globally with
// Options.NodeQuota. Every call is recorded (Calls).
//
// # Errors
//
// The fake returns the provision sentinels (ErrNotFound, ErrAlreadyExists,
// ErrNotReady, ErrInvalid) like the real backend; messages start with
// "provisionfake:". Like Cluster API, a cluster over quota is accepted and then fails
// (PhaseFailed, InfrastructureReady False with reason QuotaExceeded).
//
// # Fault injection
//
// Wrap puts a Wrapper around any provision.Provisioner, real or fake, that injects
// faults per call (an error chosen by a function of the call, every n-th call failing
// with ErrInjected, or hanging until the context ends) and records its calls; with no
// faults it passes the conformance suite unchanged.
//
// # Concurrency
//
// A Fake is safe for concurrent use. Watchers are woken by clock callbacks; a
// FakeClock runs them inside Step, and the fake only schedules a goroutine there.
//
// # Testing
//
// The fake passes provisiontest.RunConformanceTests; it imports nothing from testing.
package provisionfake
