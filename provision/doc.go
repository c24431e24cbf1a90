// Package provision creates, scales and deletes workload clusters through Cluster API
// (kubeadm and k3s) and times each phase of their provisioning.
//
// The interfaces are split by role, and callers take the smallest: a Reader gets,
// lists and watches clusters (phase, v1beta2-style conditions, machine counts and a
// Timeline of milestones); a Writer creates and deletes them; a Provisioner is both.
// Optional capabilities are found by type assertion, each with a helper that checks
// for it, like io/fs: Scaler (Scale) and KubeconfigGetter (Kubeconfig). Behaviour
// shared by every backend is written once here, over the interfaces:
//
//   - WaitReady watches a cluster (no polling) until it is Available for its current
//     spec, reporting progress ("control plane initialized after 84 s, 2/3 workers
//     ready") through a callback; WaitDeleted and DeleteAndWait wait for a deletion.
//   - Timeline records when each milestone was first reached (InfrastructureReady,
//     ControlPlaneInitialized, ControlPlaneAvailable, WorkersAvailable, Available),
//     measured from creation: the provisioning time of the seed paper's experiment 1.
//   - ClusterSpec.Validate checks a spec and names every bad field; CheckDisjoint
//     checks that pod and service networks do not overlap across the continuum, as
//     Liqo needs.
//
// Backends: provision/capi (Cluster API v1beta2 on a management cluster) and
// provision/provisionfake (in memory, on an injected clock, with a provisioning-time
// model from the paper).
//
// # Errors
//
// ErrNotFound, ErrAlreadyExists, ErrNotReady and ErrInvalid are backed by the shared
// kinds of internal/errkind, so errors.Is matches them against the same kinds of other
// continuum packages. An invalid spec gives an ErrorList of *FieldError. WaitReady's
// errors say how far the cluster got. A missing optional capability gives
// errors.ErrUnsupported. Kubeconfigs and other credentials never appear in errors.
//
// # Concurrency
//
// The functions here are safe for concurrent use when the backend is; both backends
// are. WaitReady calls Progress from the waiting goroutine.
//
// # Testing
//
// provisiontest.RunConformanceTests is the suite every backend passes:
// provisionfake in unit tests, provision/capi against a real kube-apiserver with the
// real CRDs.
package provision
