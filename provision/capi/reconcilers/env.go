package reconcilers

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
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
	"github.com/continuum-xr/continuum/provision/capi"
)

// Names and defaults of the played providers.
const (
	// ProviderName is the Infrastructure.Provider name under which Env.Backend
	// registers the played infrastructure provider.
	ProviderName = "continuum-test"
	// ProviderIDPrefix starts the provider IDs of played machines and their Nodes.
	ProviderIDPrefix = "continuum-test://"
	// DefaultInfraDelay is how long the played infrastructure takes to provision a
	// cluster (network, load balancer) when Options.InfraDelay is zero.
	DefaultInfraDelay = 1 * time.Second
	// DefaultMachineDelay is how long a played machine takes to boot and join (VM boot
	// plus kubeadm init/join or k3s server/agent) when Options.MachineDelay is zero.
	// Both defaults are at least a second so that the timeline's milestones (second
	// resolution, from condition transition times) come in order.
	DefaultMachineDelay = 2 * time.Second
)

// controllerName is the manager's name, as Cluster API's core/main.go names it.
const controllerName = "cluster-api-controller-manager"

// Names of the two apiservers.
const (
	managementServer = "management"
	workloadServer   = "workload"
)

//go:embed crds/*.yaml
var crdFiles embed.FS

// Options configures Start. The zero value means the defaults.
type Options struct {
	// InfraDelay is the played infrastructure's provisioning time; zero means
	// DefaultInfraDelay.
	InfraDelay time.Duration
	// MachineDelay is each played machine's provisioning time; zero means
	// DefaultMachineDelay.
	MachineDelay time.Duration
}

// Env is a running set-up: the management and workload apiservers, and Cluster API's
// real core reconcilers with the played providers in one controller-runtime manager.
// Stop it with Stop.
type Env struct {
	// Servers are the two apiservers, "management" and "workload".
	Servers *testenv.Env
	// Management is a watching client of the management apiserver (scheme of
	// testenv.NewScheme) for the backend.
	Management client.WithWatch
	// Workload is an admin client of the workload apiserver, where the played
	// machines' Nodes appear.
	Workload client.Client

	stopManager func()
	stopOnce    sync.Once
	stopErr     error
}

// Start starts the two apiservers (with every Cluster API v1.14.2 CRD, the k3s
// provider's control-plane and bootstrap CRDs, and the played infrastructure CRDs),
// labels the kubeadm and k3s CRDs with their contract versions, and starts the
// manager; it returns once the manager's caches are synced.
//
// It turns Cluster API's ReconcilerRateLimiting feature gate off (process-wide), so
// that reconcilers requeue at once. Controller names are process-global in
// controller-runtime: call Start once per process. The binaries come from
// internal/testenv; when they are missing the error wraps testenv.ErrBinariesMissing
// (run `make tools`). On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.InfraDelay < 0 || opts.MachineDelay < 0 {
		return nil, fmt.Errorf("reconcilers: Options: negative delay (InfraDelay %s, MachineDelay %s)", opts.InfraDelay, opts.MachineDelay)
	}
	if opts.InfraDelay == 0 {
		opts.InfraDelay = DefaultInfraDelay
	}
	if opts.MachineDelay == 0 {
		opts.MachineDelay = DefaultMachineDelay
	}
	// Requeue at once: rate limiting makes create -> Available ~2.5x slower.
	if err := feature.MutableGates.Set(string(feature.ReconcilerRateLimiting) + "=false"); err != nil {
		return nil, fmt.Errorf("reconcilers: feature gate: %w", err)
	}
	crdDir, err := os.MkdirTemp("", "continuum-reconcilers-crds-")
	if err != nil {
		return nil, fmt.Errorf("reconcilers: %w", err)
	}
	defer os.RemoveAll(crdDir)
	if err := writeCRDs(crdDir); err != nil {
		return nil, err
	}
	k3s, err := k3sCRDPaths(ctx)
	if err != nil {
		return nil, err
	}
	servers, err := testenv.Start(ctx, testenv.Options{
		Clusters: []string{managementServer, workloadServer},
		CRDs:     testenv.CAPICRDs,
		CRDPaths: append(k3s, crdDir),
	})
	if err != nil {
		return nil, err
	}
	e := &Env{Servers: servers, Workload: servers.Cluster(workloadServer).Client}
	if err := labelProviderCRDs(ctx, servers.Cluster(managementServer).Client); err != nil {
		return nil, errors.Join(err, servers.Stop())
	}
	if e.Management, err = client.NewWithWatch(servers.Cluster(managementServer).Config, client.Options{Scheme: servers.Scheme}); err != nil {
		return nil, errors.Join(fmt.Errorf("reconcilers: management client: %w", err), servers.Stop())
	}
	if e.stopManager, err = startManager(servers, opts); err != nil {
		return nil, errors.Join(err, servers.Stop())
	}
	return e, nil
}

// Backend returns a provision/capi backend writing through Management, with the
// played infrastructure provider registered as ProviderName besides opts.Providers
// (nil: capi.DefaultProviders).
func (e *Env) Backend(opts capi.Options) (*capi.Backend, error) {
	providers := map[string]capi.InfrastructureProvider{ProviderName: Infrastructure{}}
	if opts.Providers == nil {
		opts.Providers = capi.DefaultProviders()
	}
	for name, p := range opts.Providers {
		if name != ProviderName {
			providers[name] = p
		}
	}
	opts.Providers = providers
	return capi.New(e.Management, opts)
}

// Stop stops the manager, Cluster API's ClusterCache and the apiservers, in the order
// that does not hang. It may be called more than once.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		e.stopManager()
		e.stopErr = e.Servers.Stop()
	})
	return e.stopErr
}

// writeCRDs writes the played infrastructure CRDs to dir.
func writeCRDs(dir string) error {
	files, err := fs.Glob(crdFiles, "crds/*.yaml")
	if err != nil {
		return fmt.Errorf("reconcilers: %w", err)
	}
	for _, f := range files {
		data, err := crdFiles.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reconcilers: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			return fmt.Errorf("reconcilers: %w", err)
		}
	}
	return nil
}

// k3sCRDPaths returns the k3s provider's own CRD files (KThreesControlPlane,
// KThreesConfig, KThreesConfigTemplate) in the Go module cache. Each folder of that
// module holds stale copies of the other's CRDs: take only the files it owns.
func k3sCRDPaths(ctx context.Context) ([]string, error) {
	dir, err := testenv.ModuleDir(ctx, testenv.K3sModule, testenv.K3sVersion)
	if err != nil {
		return nil, fmt.Errorf("reconcilers: k3s CRDs: %w", err)
	}
	return []string{
		filepath.Join(dir, "controlplane", "config", "crd", "bases", "controlplane.cluster.x-k8s.io_kthreescontrolplanes.yaml"),
		filepath.Join(dir, "bootstrap", "config", "crd", "bases", "bootstrap.cluster.x-k8s.io_kthreesconfigs.yaml"),
		filepath.Join(dir, "bootstrap", "config", "crd", "bases", "bootstrap.cluster.x-k8s.io_kthreesconfigtemplates.yaml"),
	}, nil
}

// contractLabels are the contract labels Cluster API's and k3s's release manifests
// add to the provider CRDs with kustomize; the CRD files in the modules lack them,
// and without them the real reconcilers cannot resolve the backend's control-plane
// and bootstrap references. kubeadm implements the v1beta2 contract; k3s v0.3 the
// v1beta1 contract with its own API versions v1beta1 and v1beta2.
var contractLabels = map[string][2]string{
	"kubeadmconfigs.bootstrap.cluster.x-k8s.io":                  {clusterv1.GroupVersion.String(), "v1beta2"},
	"kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io":          {clusterv1.GroupVersion.String(), "v1beta2"},
	"kubeadmcontrolplanes.controlplane.cluster.x-k8s.io":         {clusterv1.GroupVersion.String(), "v1beta2"},
	"kubeadmcontrolplanetemplates.controlplane.cluster.x-k8s.io": {clusterv1.GroupVersion.String(), "v1beta2"},
	"kthreescontrolplanes.controlplane.cluster.x-k8s.io":         {clusterv1.GroupVersion.Group + "/v1beta1", "v1beta1_v1beta2"},
	"kthreesconfigs.bootstrap.cluster.x-k8s.io":                  {clusterv1.GroupVersion.Group + "/v1beta1", "v1beta1_v1beta2"},
	"kthreesconfigtemplates.bootstrap.cluster.x-k8s.io":          {clusterv1.GroupVersion.Group + "/v1beta1", "v1beta1_v1beta2"},
}

// labelProviderCRDs adds contractLabels to the provider CRDs.
func labelProviderCRDs(ctx context.Context, c client.Client) error {
	for name, kv := range contractLabels {
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, kv[0], kv[1])
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.Patch(ctx, crd, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("reconcilers: labelling CRD %s: %w", name, err)
		}
	}
	return nil
}

// newManagerScheme mirrors the scheme of Cluster API's core/main.go (current versions
// only); the played providers read their kinds as unstructured objects.
func newManagerScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, clusterv1.AddToScheme, addonsv1.AddToScheme, ipamv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// startManager sets up the manager like Cluster API's core/main.go: indexes,
// ClusterCache, the Cluster, Machine, MachineSet and MachineDeployment reconcilers,
// plus the played providers; it starts it and waits for its caches. The returned stop
// cancels the manager, waits for it and shuts the ClusterCache down.
func startManager(servers *testenv.Env, opts Options) (stop func(), err error) {
	mc, wl := servers.Cluster(managementServer), servers.Cluster(workloadServer)
	// The ClusterCache refuses exec kubeconfigs; envtest's certificate user is fine.
	user, err := wl.Env.AddUser(envtest.User{Name: "capi-workload-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("reconcilers: workload user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("reconcilers: workload kubeconfig: %w", err)
	}
	scheme, err := newManagerScheme()
	if err != nil {
		return nil, fmt.Errorf("reconcilers: scheme: %w", err)
	}
	mgr, err := ctrl.NewManager(mc.Config, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  setup.ManagerCacheOptions(scheme, controllerName, "", 10*time.Minute),
		Client:                 setup.ManagerClientOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("reconcilers: manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(err error) (func(), error) { cancel(); return nil, fmt.Errorf("reconcilers: %w", err) }

	if err := index.AddDefaultIndexes(ctx, mgr); err != nil {
		return fail(err)
	}
	secretClient, err := setup.CreateSecretCachingClient(mgr)
	if err != nil {
		return fail(err)
	}
	copts := controller.Options{MaxConcurrentReconciles: 10}
	cc, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		SecretClient: secretClient,
		Cache:        setup.ClusterCacheCacheOptions(),
		Client:       setup.ClusterCacheClientOptions(controllerName, 20, 30),
	}, copts)
	if err != nil {
		return fail(err)
	}
	// A failed connection (no kubeconfig Secret yet) is retried after 2 s, not 30 s.
	retry, ok := cc.(interface{ SetConnectionCreationRetryInterval(time.Duration) })
	shutdown, ok2 := cc.(interface{ Shutdown() })
	if !ok || !ok2 {
		return fail(fmt.Errorf("the ClusterCache %T lacks SetConnectionCreationRetryInterval or Shutdown", cc))
	}
	retry.SetConnectionCreationRetryInterval(2 * time.Second)

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
		if err := r.SetupWithManager(ctx, mgr, copts); err != nil {
			shutdown.Shutdown()
			return fail(fmt.Errorf("%T: %w", r, err))
		}
	}
	p := &players{c: mgr.GetClient(), reader: mgr.GetAPIReader(), workload: wl.Client, workloadKubeconfig: kubeconfig,
		infraDelay: opts.InfraDelay, machineDelay: opts.MachineDelay}
	if err := p.setup(mgr, wl.Config.Host); err != nil {
		shutdown.Shutdown()
		return fail(fmt.Errorf("played providers: %w", err))
	}

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		err := <-done
		shutdown.Shutdown()
		return nil, fmt.Errorf("reconcilers: manager caches did not sync: %v", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "reconcilers: manager:", err)
			}
			shutdown.Shutdown()
		})
	}, nil
}
