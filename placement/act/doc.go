// Package act carries a placement plan out: it computes, from a Plan and the state of
// the clusters, the steps that make the clusters match the plan, and executes them
// make-before-break.
//
// What a plan means on Kubernetes with Liqo (DESIGN.md, "Liqo mapping"): the
// application lives in a namespace of its home cluster; the home cluster peers, as
// consumer, with every other cluster that runs one of its components; the namespace is
// offloaded, with the same name, to exactly those clusters; and each component runs
// as one instance per cluster (a workload on the home cluster whose pods are pinned to
// that cluster's virtual node, or kept off virtual nodes on the home cluster).
//
// The steps, in order (Actor.Plan lists them without writing; Actor.Apply runs them):
//
//  1. provision: create (or scale) the clusters the request asks for, and wait until
//     they are ready;
//  2. peer: home -> each cluster that will run a component, unless already peered;
//     wait until the peering is ready;
//  3. offload: the namespace to the clusters of the plan plus those that still run an
//     old instance (no target is dropped yet); wait until the namespace is ready on
//     the plan's clusters (a cluster only being vacated never blocks);
//  4. start: create or grow the instances of the plan; wait until every one of them
//     has all its replicas ready;
//  5. stop: shrink or delete the instances the plan no longer has; only now, so a
//     component never loses its last ready replica because of a migration;
//  6. narrow: offload the namespace to exactly the clusters of the plan (or stop
//     offloading it when everything runs at home).
//
// Act keeps no state of its own: every step is derived from what the clusters say, so
// a run that crashed at any step converges when rerun, and applying a plan that is
// already in force writes nothing. Peerings and provisioned clusters are never
// removed by Act (other applications may use them).
//
// # Errors
//
// ErrNotFound, ErrInvalid, ErrNotReady and ErrNotPeered are backed by the shared kinds
// of internal/errkind. Messages start with "act:" and name the step that failed; an
// Apply that fails leaves every old instance that has no ready replacement running.
//
// # Concurrency
//
// An Actor is safe for concurrent use on different applications; two Applies of the
// same application at once race (the loop runs one at a time).
//
// # Testing
//
// Build an Actor on the fakes (peeringfake, provisionfake, actfake) for unit tests;
// acttest.RunWorkloadsConformance is the suite every Workloads passes, actfake and
// KubeWorkloads on a real kube-apiserver alike.
package act
