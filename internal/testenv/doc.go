// Package testenv starts the real servers that continuum's integration tests run
// against: one or more kube-apiservers (with etcd, through controller-runtime's
// envtest) standing for several Kubernetes clusters, with the real Cluster API and
// Liqo CRDs installed, and a Prometheus server with backfilled data; and, with
// [StartReal], real clusters that run pods and Liqo's own controllers.
//
// It is the third rung of the testing ladder in the design handbook: unit tests and
// conformance suites run against fakes; the same conformance suites then run against
// the real backends talking to these servers, so the fakes cannot drift from reality.
//
// # Binaries
//
// Nothing is downloaded outside the Go module proxy. kube-apiserver,
// kube-controller-manager, kube-scheduler (one module, Kubernetes v1.37.2), etcd,
// prometheus and promtool, KWOK v0.8.0 and Liqo v1.0.1's liqo-controller-manager,
// crd-replicator, webhook (built as liqo-webhook) and virtual-kubelet (Liqo's go.mod
// replaces virtual-kubelet with its fork; the tool module repeats the replace) are
// built from pinned tool modules under internal/tools (each its own
// go.mod, so their dependency graphs never reach the SDK's go.mod) by
//
//	make tools    # go run ./internal/testenv/buildtools
//
// into a cache folder per tool version ([ToolDir]):
//
//	<root>/<tool>-<version>-<hash12>/
//
// where root is $CONTINUUM_TOOLS_DIR or else os.UserCacheDir()/continuum/tools, version
// is the pinned version from the tool module's go.mod and hash12 the first 12 hex
// digits of sha256(go.mod + go.sum + Go version). Changing a pin, a dependency or the
// Go toolchain thus selects a new folder; old folders can be deleted by hand. A folder
// counts only once the builder has written its [CompleteMarker]. The first build took
// 20 minutes on 2 idle cores with an empty Go build cache and the modules already
// downloaded (measured: the builder itself 2.4 min; kube-apiserver, controller manager
// and scheduler 7.1; etcd 0.5; Prometheus and promtool 5.4; KWOK 1.4; Liqo's four
// commands 2.9); later runs find everything cached. The tool modules are found from this
// package's source location ([RepoRoot]).
//
// The CRDs are read from the Go module cache (sigs.k8s.io/cluster-api and
// github.com/liqotech/liqo at the versions of the SDK's API types, located with
// `go mod download -json`), never copied into the repository; see [CRDPaths].
//
// # Real clusters
//
// [StartReal] starts N clusters, each: kube-apiserver + etcd (envtest, with a client
// CA whose key kube-controller-manager gets, so that CSRs are signed),
// kube-controller-manager (every controller: Deployments, ReplicaSets, garbage
// collection, namespace finalisation, CSR signing), kube-scheduler, and KWOK with the
// given number of fake nodes of the given capacity (annotated kwok.x-k8s.io/node=fake;
// KWOK's fast stages make them Ready and run the pods bound to them). With
// RealOptions.Liqo it installs what Liqo's Helm chart would (the CRDs, namespace
// liqo, the cluster-ID ConfigMap with the cluster's name as ID, the chart's
// ClusterRoles, runtime class, virtual-kubelet options template and webhook
// configurations pointing at 127.0.0.1) and runs Liqo's webhook, controller manager
// and CRD replicator out of cluster with the admin kubeconfig, and a runner that
// plays the kubelet for the pods of the virtual-kubelet Deployments Liqo creates
// (envtest has no container runtime; it follows a watch of those pods, with a 2 s
// resync): it runs a virtual-kubelet process per pod and
// holds a finalizer on the pod until that process has exited, so that, as with a
// kubelet, Liqo never sees a virtual kubelet's pod gone while it still runs (it
// would re-create the virtual Node Liqo has just deleted). KWOK keeps a node Lease
// per fake node (--node-lease-duration-seconds), as a kubelet does; without one the
// node lifecycle controller marks the nodes NotReady after its grace period.
// kube-controller-manager keeps Kubernetes' default client rate limit (20
// requests/s) unless RealOptions.ControllerManagerQPS raises it; with the default,
// a burst of new Deployments becomes ready at the controllers' write rate, not the
// machine's speed.
//
// Liqo's networking is disabled (--networking-enabled=false: no IPAM, gateways,
// fabric or Connections; pod IPs are not reflected): WireGuard cannot run here. So
// the networking objects of a declarative peering (Configuration, gateway key
// Secret, PublicKey, GatewayServer, GatewayClient), the ipam Networks' CIDRs and
// the Connections' status and latency are checked only against Liqo's CRD schemas
// (the CRDs are installed) and internal/liqoplay, never against Liqo's networking
// controllers; see internal/liqoreal and peering/liqo.
//
// Every process this package starts (controller manager, scheduler, KWOK, Liqo's
// processes, virtual kubelets) logs to its own file under RealEnv.LogDir (a folder per
// cluster; $CONTINUUM_TEST_LOGS chooses the parent); envtest's kube-apiserver and etcd
// keep no log. Stop stops the virtual kubelets first, then the other processes
// together, then the apiserver and etcd, and removes the data, and the logs unless
// KeepLogs was called; [RealEnv.KeepLogsOnFailure] calls it when a test fails and
// [RealEnv.Check] names the processes of this package that exited. A failed start keeps the logs
// and names their folder. Real clusters cost seconds to start and hundreds of MB
// each ([ChildrenRSS] measures them; [RealEnv.SampleCPU] and [MachineBusy] tell
// where an operation's CPU goes, per process kind and cluster): start them once per
// test package, a namespace per test. [WaitAllowed] waits until a freshly bound role is in force.
//
// # Skip or fail
//
// Integration tests share their servers: a package starts them once in TestMain with
// [Main] and every integration test begins with [Require]. When the binaries are
// missing, Require skips the test with "integration test skipped: test binaries
// missing; run `make tools`"; when the environment variable CI is true, the package
// fails instead, so CI never passes by skipping. -short skips integration tests.
// Unit tests in the same package run in every case.
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) {
//		testenv.Main(m, func(ctx context.Context) (func() error, error) {
//			var err error
//			env, err = testenv.Start(ctx, testenv.Options{
//				Clusters: []string{"management", "edge-1"},
//				CRDs:     testenv.AllCRDs,
//			})
//			if err != nil {
//				return nil, err
//			}
//			return env.Stop, nil
//		})
//	}
//
//	func TestSomething(t *testing.T) {
//		testenv.Require(t)
//		c := env.Cluster("edge-1").Client
//		...
//	}
//
// # Errors
//
// Errors start with "testenv: " and wrap their cause; a missing binary wraps
// [ErrBinariesMissing]. Starting and stopping never leave processes behind on an
// error path: [Start] stops the clusters it already started, [StartPrometheus] kills
// its process and removes its data folder, and Main runs teardown after the tests and
// on SIGINT/SIGTERM. A test binary killed by go test's -timeout cannot run teardown:
// the prometheus child dies with it (Linux parent-death signal), but envtest's
// kube-apiserver and etcd run in their own process group and must then be killed by
// hand.
//
// # Logging
//
// envtest logs through controller-runtime's global logger, which testenv leaves
// alone. A test package that runs longer than 30 s without calling
// sigs.k8s.io/controller-runtime/pkg/log.SetLogger gets a warning with a stack trace;
// set one in TestMain (logr.Discard() or a real one) before calling Main.
//
// # Concurrency
//
// [Env], [Cluster] and [Prometheus] are safe for concurrent use by tests; Stop may be
// called more than once. The clusters of one [Env] are independent apiservers that
// share nothing; tests sharing one apiserver should use a namespace each. Nothing
// here is a fake: there are no controllers, no garbage collector and no namespace
// finalisation (see the notes on Liqo and Cluster API for what that implies).
package testenv
