package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// DefaultStartTimeout is how long each etcd and kube-apiserver process may take to
// start (and to stop) when [Options.StartTimeout] is zero. envtest's own default of
// 20 s is too short for several apiservers starting at once on 2 cores.
const DefaultStartTimeout = 60 * time.Second

// Options configures [Start]. The zero value starts one cluster named "management"
// without CRDs.
type Options struct {
	// Clusters names the clusters to start, one kube-apiserver + etcd each
	// (e.g. "management", "edge-1"). Names must be non-empty and unique.
	// Empty means one cluster named "management".
	Clusters []string
	// CRDs selects the real CRD sets installed in every cluster.
	CRDs CRDSet
	// CRDPaths lists extra CRD files or folders (YAML or JSON) installed in every
	// cluster, e.g. permissive test providers. A missing path is an error.
	CRDPaths []string
	// StartTimeout bounds the start and the stop of each etcd and kube-apiserver
	// process. Zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Cluster is one running kube-apiserver + etcd pair.
type Cluster struct {
	// Name is the name given in Options.Clusters.
	Name string
	// Config is an admin (system:masters) REST config for the apiserver.
	Config *rest.Config
	// Client is a controller-runtime client built from Config and the scheme of
	// [NewScheme]; it reads directly from the apiserver (no cache).
	Client client.Client
	// Kubeconfig is Config rendered as a kubeconfig file. It holds admin
	// credentials: never log it.
	Kubeconfig []byte
	// Env is the underlying envtest environment, e.g. for Env.AddUser to get
	// credentials of another user.
	Env *envtest.Environment

	dir string // certificates and etcd data, removed by stop
}

// Env is a set of running clusters started by [Start]. Stop it with [Env.Stop].
type Env struct {
	// Clusters are the running clusters, in the order of Options.Clusters.
	Clusters []*Cluster
	// Scheme is the scheme the clients use (see [NewScheme]); add types to it only
	// before the clients are used.
	Scheme *runtime.Scheme

	stopOnce sync.Once
	stopErr  error
}

// Cluster returns the cluster with the given name, or nil if there is none.
func (e *Env) Cluster(name string) *Cluster {
	for _, c := range e.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// UserClient adds a user named user, in no group, to c's apiserver and returns a
// client that acts as it, with the Env's scheme: RBAC tests bind a role to the user
// and check what the client may do. An earlier binding of the same name may still be
// in the authorizer's cache (with -count=N, say), so use a new name per run.
func (e *Env) UserClient(c *Cluster, user string) (client.WithWatch, error) {
	u, err := c.Env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return nil, fmt.Errorf("testenv: adding user %s to cluster %s: %w", user, c.Name, err)
	}
	return client.NewWithWatch(u.Config(), client.Options{Scheme: e.Scheme})
}

// Start starts one kube-apiserver + etcd per cluster (concurrently) with envtest,
// installs the selected CRDs into each, waits until they are served and lists every
// CRD resource once: the apiserver fills a resource's watch cache on its first
// request, which otherwise makes the first request per kind in a test take about a
// second. Each cluster keeps its certificates and etcd data in a temporary folder
// that Stop removes.
//
// The binaries come from the tool cache ([Binary]); when they are missing the error
// wraps [ErrBinariesMissing]. The environment variables KUBEBUILDER_ASSETS,
// TEST_ASSET_* and USE_EXISTING_CLUSTER that envtest honours are ignored. If any
// cluster fails to start, or ctx ends, the clusters already started are stopped
// before Start returns the error.
func Start(ctx context.Context, opts Options) (*Env, error) {
	names := opts.Clusters
	if len(names) == 0 {
		names = []string{"management"}
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			return nil, fmt.Errorf("testenv: Options.Clusters[%d]: empty name", i)
		}
		if seen[n] {
			return nil, fmt.Errorf("testenv: Options.Clusters[%d]: duplicate name %q", i, n)
		}
		seen[n] = true
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}

	apiserverPath, err := Binary("kube-apiserver")
	if err != nil {
		return nil, err
	}
	etcdPath, err := Binary("etcd")
	if err != nil {
		return nil, err
	}
	crdPaths, err := CRDPaths(ctx, opts.CRDs)
	if err != nil {
		return nil, err
	}
	for i, p := range opts.CRDPaths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("testenv: Options.CRDPaths[%d]: %w", i, err)
		}
	}
	crdPaths = append(crdPaths, opts.CRDPaths...)
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("testenv: starting clusters: %w", err)
	}

	env := &Env{Clusters: make([]*Cluster, len(names)), Scheme: scheme}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			env.Clusters[i], errs[i] = startCluster(name, apiserverPath, etcdPath, crdPaths, scheme, timeout, nil)
		})
	}
	wg.Wait()

	err = errors.Join(errs...)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("testenv: starting clusters: %w", ctx.Err())
	}
	if err != nil {
		started := env.Clusters[:0]
		for _, c := range env.Clusters {
			if c != nil {
				started = append(started, c)
			}
		}
		env.Clusters = started
		return nil, errors.Join(err, env.Stop())
	}
	return env, nil
}

// startCluster starts one kube-apiserver + etcd; authn replaces envtest's client
// certificate authenticator when not nil.
func startCluster(name, apiserverPath, etcdPath string, crdPaths []string, scheme *runtime.Scheme, timeout time.Duration, authn envtest.Authn) (*Cluster, error) {
	// Our own folder for certificates and etcd data: envtest leaks its temporary
	// folders when a start attempt is retried.
	dir, err := os.MkdirTemp("", "continuum-envtest-")
	if err != nil {
		return nil, fmt.Errorf("testenv: cluster %q: %w", name, err)
	}
	certDir, dataDir := filepath.Join(dir, "certs"), filepath.Join(dir, "etcd")
	for _, d := range []string{certDir, dataDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, errors.Join(fmt.Errorf("testenv: cluster %q: %w", name, err), removeDir(dir))
		}
	}
	noExisting := false
	te := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{Path: apiserverPath, CertDir: certDir},
			Etcd:      &envtest.Etcd{Path: etcdPath, DataDir: dataDir},
		},
		Scheme:                   scheme,
		CRDDirectoryPaths:        crdPaths,
		ErrorIfCRDPathMissing:    true,
		UseExistingCluster:       &noExisting,
		ControlPlaneStartTimeout: timeout,
		ControlPlaneStopTimeout:  timeout,
	}
	if authn != nil {
		te.ControlPlane.APIServer.SecureServing.Authn = authn
	}
	c := &Cluster{Name: name, Env: te, dir: dir}
	cfg, err := te.Start()
	if err != nil {
		// Start leaves processes running when a late step (CRDs) fails.
		return nil, errors.Join(fmt.Errorf("testenv: starting cluster %q: %w", name, err), c.stop())
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		err = fmt.Errorf("creating client: %w", err)
	} else {
		err = warmUp(cfg, te.CRDs, timeout)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("testenv: cluster %q: %w", name, err), c.stop())
	}
	c.Config, c.Client, c.Kubeconfig = cfg, cl, te.KubeConfig
	return c, nil
}

// stop stops the cluster's processes and removes its folder.
func (c *Cluster) stop() error {
	var err error
	if stopErr := c.Env.Stop(); stopErr != nil {
		err = fmt.Errorf("testenv: stopping cluster %q: %w", c.Name, stopErr)
	}
	return errors.Join(err, removeDir(c.dir))
}

// Stop stops every cluster (concurrently) and removes their data. It is safe to call
// more than once; later calls return the first call's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		errs := make([]error, len(e.Clusters))
		var wg sync.WaitGroup
		for i, c := range e.Clusters {
			wg.Go(func() { errs[i] = c.stop() })
		}
		wg.Wait()
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// warmUp lists every served version of every installed CRD once, concurrently. The
// apiserver creates a CRD's storage and watch cache on its first request, which then
// waits about a second for the cache to become fresh; doing that here costs one
// second per cluster instead of one second per kind in the tests.
func warmUp(cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition, timeout time.Duration) error {
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{} // served but deprecated versions warn
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating a dynamic client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var gvrs []schema.GroupVersionResource
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				gvrs = append(gvrs, schema.GroupVersionResource{Group: crd.Spec.Group, Version: v.Name, Resource: crd.Spec.Names.Plural})
			}
		}
	}
	errs := make([]error, len(gvrs))
	var wg sync.WaitGroup
	for i, gvr := range gvrs {
		wg.Go(func() {
			if _, err := dc.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				errs[i] = fmt.Errorf("listing %s: %w", gvr, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
