// Package acttest is the conformance suite of act.Workloads: every implementation,
// the in-memory actfake and act.KubeWorkloads against a real kube-apiserver alike,
// runs RunWorkloadsConformance, so the fake cannot drift from the real thing.
//
// An implementation takes part through a Harness: the Workloads under test, fresh
// namespaces, templates (which the user makes on a real cluster), a write counter
// for the idempotency tests, and a way to make the replicas of instances ready (the
// fake steps its clock; against envtest, where no controllers run, the harness
// writes the status the Deployment and StatefulSet controllers would write).
//
// The suite covers: listing an empty or missing namespace; EnsureNamespace twice;
// ApplyInstance without a template (ErrNotFound), with a bad spec or too long a name
// (ErrInvalid naming the fields), and onto a name another object holds; create and
// list (replicas, remote and local pinning read back, order); re-applying the same
// spec writes nothing; scaling up and down; changing the pinning; a template change
// (Outdated until applied again); readiness appearing only when the harness makes
// it; deleting a missing and an existing instance; concurrent applies; a canceled
// context.
//
// # Errors
//
// The suite reports failures through testing.T; it returns nothing.
//
// # Concurrency
//
// Every test gets its own Harness (and namespaces). One test applies instances from
// several goroutines at once; the harness itself is called from one goroutine.
//
// # Testing
//
// The suite runs in actfake's tests and in placement/act's integration tests.
package acttest
