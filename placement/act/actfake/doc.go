// Package actfake is an in-memory act.Workloads for tests of code that runs
// instances (the Actor, the loop, simulations of the continuum), and a fault
// injector around any act.Workloads.
//
// The Fake behaves like act.KubeWorkloads on a cluster with Liqo:
//
//   - a component needs a template (AddTemplate) before ApplyInstance runs it, like
//     the template workload KubeWorkloads copies; UpdateTemplate bumps its generation
//     so that its instances read as Outdated until applied again, and
//     DeleteTemplate removes its instances too (the garbage collector's part);
//   - the instance of component C on cluster K is named "<C>-<K>" (at most 63
//     characters); a name taken by a template or by another instance is refused
//     with an error wrapping act.ErrInvalid;
//   - replicas become ready on an injected clock: those a write adds (a new instance,
//     a scale-up) StartDelay after the write; a write that changes the pinning or
//     the template generation restarts every replica (a rolling update; only pods of
//     the current template count); a scale-down removes the replicas that are not
//     ready first;
//   - an instance's replicas are ready only while Options.Runnable says its cluster
//     can run pods of the namespace (a simulation wires it to the state of the
//     peering and the offloading: a pod pinned to a cluster that is not peered, or
//     to which the namespace is not offloaded, stays Pending) and SetNotReady does
//     not hold it; both are evaluated on every read;
//   - Pin is read back as KubeWorkloads reads it: the remote cluster ID of the node
//     selector (no other key) and the local-only rule; idempotency compares the
//     whole node selector, like KubeWorkloads;
//   - asking for what exists writes nothing: Writes counts the writes, for
//     idempotency tests, and Calls logs every call.
//
// # Fault injection
//
// Wrap puts a Wrapper around any act.Workloads, real or fake, that fails calls
// chosen by a function, every n-th call, or the first call a predicate picks, either
// before the call (nothing happened) or after it (the write happened but the caller
// sees an error, as when a response is lost), or hangs until the context ends: what
// crash and resume tests need. With no faults it passes the conformance suite
// unchanged.
//
// # Errors
//
// The Fake returns act's sentinels (ErrNotFound for a missing template, ErrInvalid
// for a bad argument) like KubeWorkloads; messages start with "actfake:". A canceled
// context fails a call before it does anything.
//
// # Concurrency
//
// A Fake and a Wrapper are safe for concurrent use. Options.Runnable and the
// Wrapper's fault functions are called without locks held, so they may call back
// into the Fake.
//
// # Testing
//
// The Fake and a Wrapper with no faults pass acttest.RunWorkloadsConformance; the
// package imports nothing from testing. Drive time with a
// k8s.io/utils/clock/testing.FakeClock (Options.Clock) and Step it by StartDelay.
package actfake
