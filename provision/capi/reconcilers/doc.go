// Package reconcilers holds only an integration test of the provision/capi backend
// against Cluster API's REAL core reconcilers (sigs.k8s.io/cluster-api v1.14.2,
// core/reconcilers/{cluster,machine,machineset,machinedeployment} and
// controllers/clustercache), run in-process against a test kube-apiserver.
//
// It is a separate Go module so that the main Cluster API module and its ~230
// dependencies never enter the SDK's go.mod; it replaces the SDK with the checkout
// (../../..) and may import its internal packages (internal/testenv), being rooted
// under github.com/continuum-xr/continuum. `make test` and `make lint` run it.
//
// What runs for real and what is played:
//
//   - Real: two kube-apiservers with etcd (internal/testenv): "management", with
//     every Cluster API v1.14.2 CRD, and "workload", which plays the workload
//     cluster and is reached, as in production, through the <cluster>-kubeconfig
//     Secret by Cluster API's ClusterCache. Cluster API's core reconcilers and
//     ClusterCache, in one controller-runtime manager set up like core/main.go. The
//     backend (Create, WaitReady through Watch, Scale, Kubeconfig, Delete).
//   - Played by test-only providers (providers_test.go), each honouring its side of
//     the v1beta2 contract: an infrastructure provider (ContinuumTestCluster,
//     ContinuumTestMachine and ContinuumTestMachineTemplate in testdata/crds:
//     permissive CRDs with the contract label) whose machines "boot" for a short
//     delay and then appear as Ready Nodes, with the machine's provider ID, in the
//     workload apiserver; a control-plane provider reconciling the real
//     KubeadmControlPlane CRD (not Cluster API's KCP controller: it writes the
//     kubeconfig Secret, creates the control-plane Machines and reports replicas,
//     initialization and the Available condition from them); and a bootstrap
//     provider writing KubeadmConfig data Secrets.
//   - Not run: webhooks (the backend renders the defaults they would set),
//     ClusterClass/topology, MachinePool, MachineHealthCheck, ClusterResourceSet,
//     the garbage collector (envtest has none). The kubeadm CRD files lack the
//     contract label that Cluster API's release manifests add; the test adds it.
//
// Set CAPI_TEST_LOG=1 to see the controllers' logs.
package reconcilers
