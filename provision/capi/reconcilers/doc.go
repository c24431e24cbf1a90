// Package reconcilers runs Cluster API's REAL core reconcilers
// (sigs.k8s.io/cluster-api v1.14.2, core/reconcilers/{cluster,machine,machineset,
// machinedeployment} and controllers/clustercache) in-process against test
// kube-apiservers, with small played providers, so that the provision/capi backend can
// be driven end to end without a cloud: Start returns an Env, Env.Backend a backend
// wired to it. Its integration test uses it, and so does the real-reconciler program
// of the provisioning experiment (examples/provisioning-experiment/real).
//
// It is a separate Go module so that the main Cluster API module and its ~230
// dependencies never enter the SDK's go.mod; it replaces the SDK with the checkout
// (../../..) and may import its internal packages (internal/testenv), being rooted
// under github.com/continuum-xr/continuum. `make test` and `make lint` run it.
//
// What runs for real and what is played:
//
//   - Real: two kube-apiservers with etcd (internal/testenv): "management", with
//     every Cluster API v1.14.2 CRD and the k3s provider's control-plane and
//     bootstrap CRDs (github.com/k3s-io/cluster-api-k3s v0.3.1, from the Go module
//     cache), and "workload", which plays the workload clusters and is reached, as
//     in production, through each cluster's <cluster>-kubeconfig Secret by Cluster
//     API's ClusterCache. Cluster API's core reconcilers and ClusterCache, in one
//     controller-runtime manager set up like core/main.go.
//   - Played (providers.go), each honouring its side of the contract: an
//     infrastructure provider (ContinuumTestCluster, ContinuumTestMachine and
//     ContinuumTestMachineTemplate in crds/: permissive CRDs with the contract label,
//     embedded and installed by Start) whose machines "boot" for Options.MachineDelay
//     and then appear as Ready Nodes, with the machine's provider ID, in the workload
//     apiserver; a control-plane provider reconciling the real KubeadmControlPlane
//     (v1beta2 contract) and KThreesControlPlane (v1beta1 contract) objects the
//     backend renders (neither Cluster API's KCP controller nor k3s's: it writes the
//     kubeconfig Secret, creates the control-plane Machines and reports replicas,
//     initialization and the Available condition from them); and a bootstrap
//     provider writing KubeadmConfig and KThreesConfig data Secrets.
//   - Not run: webhooks (the backend renders the defaults they would set),
//     ClusterClass/topology, MachinePool, MachineHealthCheck, ClusterResourceSet,
//     the garbage collector and the namespace controller (envtest has none). The
//     kubeadm and k3s CRD files lack the contract labels that the providers' release
//     manifests add with kustomize; Start adds them.
//
// # Errors
//
// Errors start with "reconcilers:" or "testenv:". Without the test binaries (`make
// tools`) Start's error wraps testenv.ErrBinariesMissing; callers skip on it.
//
// # Concurrency
//
// Start sets process-wide state (Cluster API's ReconcilerRateLimiting feature gate,
// off; controller names, which controller-runtime wants unique per process): call it
// once per process, and set controller-runtime's and klog's loggers before it (the
// controllers read them from their goroutines). An Env is safe for concurrent use;
// use a namespace per cluster. Stop may be called more than once.
//
// # Testing
//
// The integration test (TestMain starts one Env through testenv.Main) drives a kubeadm
// cluster through create, scale and delete and a k3s cluster through create and
// delete, with no status written by hand. Set CAPI_TEST_LOG=1 to see the
// controllers' logs.
package reconcilers
