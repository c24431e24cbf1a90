package reconcilers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ipamv1 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/core/reconcilers/cluster"
	"sigs.k8s.io/cluster-api/core/reconcilers/machine"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment"
	"sigs.k8s.io/cluster-api/core/reconcilers/machineset"
	"sigs.k8s.io/cluster-api/core/setup"
	"sigs.k8s.io/cluster-api/feature"
	"sigs.k8s.io/cluster-api/util/index"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// What is real and what is played in this test:
//
//   - REAL: two kube-apiservers (internal/testenv): "management" with every Cluster
//     API CRD of v1.14.2 and the test provider CRDs (testdata/crds), and "workload",
//     which plays the workload cluster; Cluster API's core reconcilers (Cluster,
//     Machine, MachineSet, MachineDeployment) and its ClusterCache, run in-process
//     in one controller-runtime manager set up like core/main.go of
//     sigs.k8s.io/cluster-api v1.14.2; the provision/capi backend under test.
//   - PLAYED (providers_test.go): the infrastructure provider (ContinuumTest*
//     kinds; Nodes in the workload apiserver), the kubeadm control-plane provider
//     (a small controller on the real KubeadmControlPlane CRD, not Cluster API's KCP)
//     and the kubeadm bootstrap provider (KubeadmConfig data Secrets).
//   - NOT RUN: webhooks (the backend renders the defaults they would set), the
//     ClusterClass/topology, MachinePool, MachineHealthCheck and ClusterResourceSet
//     reconcilers, and the garbage collector (envtest has none).

const controllerName = "cluster-api-controller-manager"

var (
	env *testenv.Env
	// mgmt is a watching client of the management apiserver for the backend.
	mgmt client.WithWatch
	// workload is an admin client of the workload apiserver.
	workload client.Client
)

func TestMain(m *testing.M) {
	var log logr.Logger = logr.Discard()
	if os.Getenv("CAPI_TEST_LOG") != "" {
		log = funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: 2})
	}
	ctrl.SetLogger(log)
	klog.SetLogger(log)
	testenv.Main(m, setupEnv)
}

// setupEnv starts the apiservers and the manager; the teardown stops them in the
// order that does not hang: manager, ClusterCache, apiservers.
func setupEnv(ctx context.Context) (func() error, error) {
	// Requeue at once: rate limiting makes create -> Available ~2.5x slower.
	if err := feature.MutableGates.Set(string(feature.ReconcilerRateLimiting) + "=false"); err != nil {
		return nil, err
	}
	e, err := testenv.Start(ctx, testenv.Options{
		Clusters: []string{"management", "workload"},
		CRDs:     testenv.CAPICRDs,
		CRDPaths: []string{"testdata/crds"},
	})
	if err != nil {
		return nil, err
	}
	if err := labelKubeadmCRDs(ctx, e.Cluster("management").Client); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	stop, err := startManager(e)
	if err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	env = e
	return func() error { stop(); return e.Stop() }, nil
}

// kubeadmCRDs are the kubeadm bootstrap and control-plane CRDs, which Cluster API
// treats as providers.
var kubeadmCRDs = []string{
	"kubeadmconfigs.bootstrap.cluster.x-k8s.io",
	"kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io",
	"kubeadmcontrolplanes.controlplane.cluster.x-k8s.io",
	"kubeadmcontrolplanetemplates.controlplane.cluster.x-k8s.io",
}

// labelKubeadmCRDs adds the contract label ("cluster.x-k8s.io/v1beta2: v1beta2") to
// the kubeadm CRDs. The CRD files in the module lack it: Cluster API's release
// manifests add it with kustomize, and without it the real reconcilers cannot resolve
// the backend's KubeadmControlPlane and KubeadmConfigTemplate references.
func labelKubeadmCRDs(ctx context.Context, c client.Client) error {
	patch := []byte(`{"metadata":{"labels":{"` + clusterv1.GroupVersion.String() + `":"v1beta2"}}}`)
	for _, name := range kubeadmCRDs {
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.Patch(ctx, crd, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("labelling CRD %s: %w", name, err)
		}
	}
	return nil
}

// newManagerScheme mirrors the scheme of core/main.go (current versions only), plus
// the kubeadm types the played providers reconcile.
func newManagerScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, clusterv1.AddToScheme, addonsv1.AddToScheme,
		ipamv1.AddToScheme, bootstrapv1.AddToScheme, controlplanev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func startManager(e *testenv.Env) (stop func(), err error) {
	mc, wl := e.Cluster("management"), e.Cluster("workload")
	// The ClusterCache refuses exec kubeconfigs; envtest's certificate user is fine.
	user, err := wl.Env.AddUser(envtest.User{Name: "capi-workload-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	if mgmt, err = client.NewWithWatch(mc.Config, client.Options{Scheme: e.Scheme}); err != nil {
		return nil, err
	}
	workload = wl.Client

	scheme, err := newManagerScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(mc.Config, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  setup.ManagerCacheOptions(scheme, controllerName, "", 10*time.Minute),
		Client:                 setup.ManagerClientOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(err error) (func(), error) { cancel(); return nil, err }

	if err := index.AddDefaultIndexes(ctx, mgr); err != nil {
		return fail(err)
	}
	secretClient, err := setup.CreateSecretCachingClient(mgr)
	if err != nil {
		return fail(err)
	}
	opts := controller.Options{MaxConcurrentReconciles: 10}
	cc, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		SecretClient: secretClient,
		Cache:        setup.ClusterCacheCacheOptions(),
		Client:       setup.ClusterCacheClientOptions(controllerName, 20, 30),
	}, opts)
	if err != nil {
		return fail(err)
	}
	// A failed connection (no kubeconfig Secret yet) is retried after 2 s, not 30 s.
	cc.(interface{ SetConnectionCreationRetryInterval(time.Duration) }).SetConnectionCreationRetryInterval(2 * time.Second)
	shutdownCache := cc.(interface{ Shutdown() }).Shutdown

	for _, r := range []interface {
		SetupWithManager(context.Context, ctrl.Manager, controller.Options) error
	}{
		&cluster.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cc,
			RemoteConnectionGracePeriod: 50 * time.Second},
		&machine.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cc,
			RemoteConditionsGracePeriod: 5 * time.Minute},
		// No preflight checks: they inspect the real KubeadmControlPlane's rollout.
		&machineset.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: cc},
		&machinedeployment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()},
	} {
		if err := r.SetupWithManager(ctx, mgr, opts); err != nil {
			shutdownCache()
			return fail(fmt.Errorf("%T: %w", r, err))
		}
	}
	p := &providers{c: mgr.GetClient(), workload: wl.Client, workloadKubeconfig: kubeconfig}
	if err := p.setup(mgr, wl.Config.Host); err != nil {
		shutdownCache()
		return fail(fmt.Errorf("test providers: %w", err))
	}

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		err := <-done
		shutdownCache()
		return nil, fmt.Errorf("manager caches did not sync: %v", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "manager:", err)
			}
			shutdownCache()
		})
	}, nil
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "capi-real-"}}
	if err := mgmt.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// machines returns the cluster's Machines: control plane and workers.
func machines(t *testing.T, ref provision.Ref) (cp, workers []clusterv1.Machine) {
	t.Helper()
	var list clusterv1.MachineList
	if err := mgmt.List(t.Context(), &list, client.InNamespace(ref.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: ref.Name}); err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Items {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
			cp = append(cp, m)
		} else {
			workers = append(workers, m)
		}
	}
	return cp, workers
}

// checkMachinesAndNodes checks that every Machine has a provider ID and a Node of
// that provider ID in the workload apiserver, set by the real Machine reconciler.
func checkMachinesAndNodes(t *testing.T, ref provision.Ref, wantCP, wantWorkers int) {
	t.Helper()
	cp, workers := machines(t, ref)
	if len(cp) != wantCP || len(workers) != wantWorkers {
		t.Errorf("%d control-plane and %d worker Machines, want %d and %d", len(cp), len(workers), wantCP, wantWorkers)
	}
	var nodes corev1.NodeList
	if err := workload.List(t.Context(), &nodes); err != nil {
		t.Fatal(err)
	}
	byProviderID := map[string]string{}
	for _, n := range nodes.Items {
		byProviderID[n.Spec.ProviderID] = n.Name
	}
	// Workers come from the real MachineSet reconciler, control-plane machines from
	// the played control plane.
	for _, m := range workers {
		if ms, ok := ownerKind(&m, "MachineSet"); !ok || !strings.HasPrefix(ms, capi.MachineDeploymentName(ref.Name)+"-") {
			t.Errorf("worker Machine %s: owner MachineSet %q", m.Name, ms)
		}
	}
	for _, m := range cp {
		if _, ok := ownerKind(&m, "KubeadmControlPlane"); !ok {
			t.Errorf("control-plane Machine %s: not owned by the KubeadmControlPlane", m.Name)
		}
	}
	for _, m := range slices.Concat(cp, workers) {
		node, ok := byProviderID[m.Spec.ProviderID]
		switch {
		case !strings.HasPrefix(m.Spec.ProviderID, providerIDPrefix):
			t.Errorf("Machine %s: providerID %q", m.Name, m.Spec.ProviderID)
		case !ok:
			t.Errorf("Machine %s: no workload Node with providerID %s", m.Name, m.Spec.ProviderID)
		case m.Status.NodeRef.Name != node:
			t.Errorf("Machine %s: nodeRef %q, want %q", m.Name, m.Status.NodeRef.Name, node)
		case m.Status.Phase != string(clusterv1.MachinePhaseRunning):
			t.Errorf("Machine %s: phase %s, want Running", m.Name, m.Status.Phase)
		}
	}
}

// TestRealReconcilers drives a kubeadm cluster (1 control-plane machine, 2 workers)
// through create, scale to 3 workers and delete with the backend, while Cluster
// API's real core reconcilers and the played providers do the work.
func TestRealReconcilers(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	b, err := capi.New(mgmt, capi.Options{Providers: map[string]capi.InfrastructureProvider{providerName: testInfra{}}})
	if err != nil {
		t.Fatal(err)
	}
	spec := provision.ClusterSpec{
		Name: "real", Namespace: newNamespace(t), Distribution: provision.Kubeadm, KubernetesVersion: "v1.33.1",
		ControlPlaneReplicas: 1, Workers: 2,
		Labels:         provision.Labels{Owner: "cern", Tier: "edge", Region: "geneva"},
		Infrastructure: provision.Infrastructure{Provider: providerName},
	}
	ref := spec.Ref()
	// Generous: a healthy run takes seconds.
	wait := provision.WaitOptions{Timeout: 3 * time.Minute}
	var msgs []string
	wait.Progress = func(p provision.Progress) { msgs = append(msgs, p.Message) }

	start := time.Now()
	if err := b.Create(ctx, spec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	c, err := provision.WaitReady(ctx, b, ref, wait)
	if err != nil {
		dumpState(t, ref)
		t.Fatalf("WaitReady after create: %v", err)
	}
	t.Logf("create -> Available: %v (wall); timeline: %s", time.Since(start).Round(time.Millisecond), c.Timeline)
	t.Logf("progress: %q", msgs)

	if c.Phase != provision.PhaseAvailable || c.ControlPlane.Available != 1 || c.Workers.Available != 2 {
		t.Errorf("after create: phase %s, control plane %+v, workers %+v", c.Phase, c.ControlPlane, c.Workers)
	}
	checkTimeline(t, c.Timeline)
	if len(msgs) < 3 {
		t.Errorf("progress messages %q: want the steps reported", msgs)
	}
	if last := msgs[len(msgs)-1]; !strings.HasPrefix(last, "available after ") || !strings.Contains(last, "2/2 workers ready") {
		t.Errorf("last progress %q", last)
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "waiting for infrastructure") }) {
		t.Errorf("progress %q: the start was not reported", msgs)
	}
	checkMachinesAndNodes(t, ref, 1, 2)

	// The kubeconfig the played control plane wrote reaches the workload apiserver.
	cfg, err := b.Kubeconfig(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hostOf(cfg.Host), hostOf(env.Cluster("workload").Config.Host); got != want {
		t.Errorf("kubeconfig host %s, want the workload apiserver's %s", got, want)
	}

	// Scale: the real MachineDeployment and MachineSet reconcilers create the Machine.
	msgs = nil
	start = time.Now()
	if err := provision.Scale(ctx, b, ref, 3); err != nil {
		t.Fatalf("Scale: %v", err)
	}
	c, err = provision.WaitReady(ctx, b, ref, wait)
	if err != nil {
		dumpState(t, ref)
		t.Fatalf("WaitReady after scale: %v", err)
	}
	t.Logf("scale 2 -> 3 workers: %v (wall); progress: %q", time.Since(start).Round(time.Millisecond), msgs)
	if c.Workers.Desired != 3 || c.Workers.Available != 3 {
		t.Errorf("after scale: workers %+v", c.Workers)
	}
	checkMachinesAndNodes(t, ref, 1, 3)

	// Delete: the real Cluster reconciler deletes the MachineDeployment, the control
	// plane and the infrastructure, then lets the Cluster go.
	start = time.Now()
	if err := provision.DeleteAndWait(ctx, b, ref, wait); err != nil {
		dumpState(t, ref)
		t.Fatalf("DeleteAndWait: %v", err)
	}
	t.Logf("delete -> gone: %v (wall)", time.Since(start).Round(time.Millisecond))
	if _, err := b.Get(ctx, ref); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("Get after delete: %v, want ErrNotFound", err)
	}
	if cp, workers := machines(t, ref); len(cp)+len(workers) > 0 {
		t.Errorf("%d Machines left after delete", len(cp)+len(workers))
	}
	var mds clusterv1.MachineDeploymentList
	if err := mgmt.List(ctx, &mds, client.InNamespace(ref.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(mds.Items) > 0 {
		t.Errorf("%d MachineDeployments left after delete", len(mds.Items))
	}
}

func ownerKind(o client.Object, kind string) (string, bool) {
	for _, r := range o.GetOwnerReferences() {
		if r.Kind == kind {
			return r.Name, true
		}
	}
	return "", false
}

// hostOf drops the scheme and trailing slash of a REST config's host.
func hostOf(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	return strings.TrimSuffix(h, "/")
}

// checkTimeline wants every milestone, in order, within the (generous) bounds the
// played delays allow.
func checkTimeline(t *testing.T, tl provision.Timeline) {
	t.Helper()
	var prev time.Duration
	for _, m := range provision.Milestones() {
		d, ok := tl.After(m)
		switch {
		case !ok:
			t.Errorf("timeline %s: %s missing", tl, m)
		case d < prev:
			t.Errorf("timeline %s: %s before the previous milestone", tl, m)
		case d > 2*time.Minute:
			t.Errorf("timeline %s: %s implausibly late", tl, m)
		}
		prev = d
	}
	// The played infrastructure takes infraClusterDelay and the machines
	// machineDelay, so Available cannot come sooner (less a second of timestamp
	// truncation).
	if d, ok := tl.After(provision.Available); ok && d < infraClusterDelay+machineDelay-time.Second {
		t.Errorf("timeline %s: Available implausibly early", tl)
	}
}

// dumpState logs the Cluster's conditions and Machines' phases to explain a failure.
func dumpState(t *testing.T, ref provision.Ref) {
	t.Helper()
	ctx := context.Background()
	var cl clusterv1.Cluster
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &cl); err == nil {
		for _, c := range cl.Status.Conditions {
			t.Logf("Cluster condition %s=%s (%s) %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	var list clusterv1.MachineList
	if err := mgmt.List(ctx, &list, client.InNamespace(ref.Namespace)); err == nil {
		for _, m := range list.Items {
			t.Logf("Machine %s phase %s providerID %q node %q", m.Name, m.Status.Phase, m.Spec.ProviderID, m.Status.NodeRef.Name)
		}
	}
}
