package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/decode"
)

// DefaultRealStartTimeout bounds the start of one real cluster (apiserver, controller
// manager, scheduler, KWOK nodes Ready and, with Liqo, its webhook serving) when
// [RealOptions.StartTimeout] is zero. Several clusters starting at once on a loaded
// 2-core machine take tens of seconds each; the bound is a safety net, not a target.
const DefaultRealStartTimeout = 5 * time.Minute

// EnvLogDir is the environment variable naming a folder for the logs of real
// clusters' processes; each [StartReal] makes a folder inside it. Unset means the
// system's temporary folder.
const EnvLogDir = "CONTINUUM_TEST_LOGS"

// Default capacity of a KWOK node.
var defaultNodeCapacity = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("16"),
	corev1.ResourceMemory: resource.MustParse("64Gi"),
	corev1.ResourcePods:   resource.MustParse("110"),
}

// RealOptions configures [StartReal].
type RealOptions struct {
	// Clusters describes the clusters to start; at least one. Names must be unique
	// DNS labels (with Liqo, a cluster's name is also its Liqo cluster ID).
	Clusters []RealClusterSpec
	// Liqo installs and runs Liqo v1.0.1's control plane in every cluster, with its
	// networking disabled (see the package documentation).
	Liqo bool
	// StartTimeout bounds the start of each cluster; zero means
	// DefaultRealStartTimeout.
	StartTimeout time.Duration
	// ControllerManagerQPS raises kube-controller-manager's client rate limit
	// (--kube-api-qps, with --kube-api-burst at 1.5 times it, the ratio of the
	// defaults); zero keeps Kubernetes' defaults of 20 requests/s, burst 30. The
	// Deployment, ReplicaSet and garbage collection controllers share that limit, so
	// with the defaults a burst of new Deployments becomes ready at about 20 writes/s
	// per cluster whatever the CPU; large production clusters often raise it.
	// Benchmarks that measure how fast pods become ready say which they used.
	ControllerManagerQPS int
}

// RealClusterSpec describes one real cluster.
type RealClusterSpec struct {
	// Name names the cluster (a DNS label).
	Name string
	// Nodes is the number of KWOK nodes; zero means one.
	Nodes int
	// NodeCapacity is each KWOK node's capacity and allocatable; nil means 16 CPUs,
	// 64 GiB and 110 pods.
	NodeCapacity corev1.ResourceList
}

// RealCluster is one running real cluster: kube-apiserver + etcd (envtest),
// kube-controller-manager, kube-scheduler, KWOK and its nodes, and optionally Liqo.
type RealCluster struct {
	*Cluster
	// LiqoClusterID is the cluster's Liqo cluster ID (its name) when Liqo runs.
	LiqoClusterID string
	// KubeconfigPath is the admin kubeconfig on disk (admin credentials).
	KubeconfigPath string
	// Nodes are the names of the KWOK nodes.
	Nodes []string

	spec     RealClusterSpec
	index    int
	logDir   string
	caFile   string // the apiserver's serving CA
	mu       sync.Mutex
	procs    []*process
	vk       *vkRunner
	stopOnce sync.Once
	stopErr  error
}

// RealEnv is a set of running real clusters started by [StartReal]. Stop it with
// [RealEnv.Stop].
type RealEnv struct {
	// Clusters are the running clusters, in the order of RealOptions.Clusters.
	Clusters []*RealCluster
	// Scheme is the clients' scheme ([NewScheme]).
	Scheme *runtime.Scheme
	// LogDir holds one folder per cluster with a log file per process. Stop removes
	// it unless [RealEnv.KeepLogs] was called.
	LogDir string
	// StartDuration is how long StartReal took.
	StartDuration time.Duration

	keepLogs atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// Cluster returns the cluster with the given name, or nil.
func (e *RealEnv) Cluster(name string) *RealCluster {
	for _, c := range e.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// KeepLogs makes Stop leave LogDir in place.
func (e *RealEnv) KeepLogs() { e.keepLogs.Store(true) }

// KeepLogsOnFailure keeps the logs when t fails and says where they are.
func (e *RealEnv) KeepLogsOnFailure(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			e.KeepLogs()
			t.Logf("testenv: processes' logs kept in %s", e.LogDir)
			if err := e.Check(); err != nil {
				t.Log(err)
			}
		}
	})
}

// Check returns an error naming every process of every cluster that has exited,
// with the end of its log; nil when all run.
func (e *RealEnv) Check() error {
	var errs []error
	for _, c := range e.Clusters {
		c.mu.Lock()
		procs := slices.Clone(c.procs)
		c.mu.Unlock()
		if c.vk != nil {
			procs = append(procs, c.vk.processes()...)
		}
		for _, p := range procs {
			if done, err := p.exited(); done {
				errs = append(errs, fmt.Errorf("testenv: %s/%s exited (%v); log %s ends:\n%s", c.Name, p.name, err, p.logPath, p.tail(20)))
			}
		}
	}
	return errors.Join(errs...)
}

// StartReal starts the clusters of opts concurrently and returns when every cluster's
// KWOK nodes are Ready and, with Liqo, its webhook serves. On any error, or when ctx
// ends, everything started is stopped and the logs are kept (the error names the
// folder).
func StartReal(ctx context.Context, opts RealOptions) (*RealEnv, error) {
	t0 := time.Now()
	if len(opts.Clusters) == 0 {
		return nil, errors.New("testenv: RealOptions.Clusters: name at least one cluster")
	}
	seen := map[string]bool{}
	for i, c := range opts.Clusters {
		switch {
		case !decode.IsDNSLabel(c.Name):
			return nil, fmt.Errorf("testenv: RealOptions.Clusters[%d].Name: %q is not a DNS label", i, c.Name)
		case seen[c.Name]:
			return nil, fmt.Errorf("testenv: RealOptions.Clusters[%d].Name: duplicate %q", i, c.Name)
		case c.Nodes < 0:
			return nil, fmt.Errorf("testenv: RealOptions.Clusters[%d].Nodes: %d is negative", i, c.Nodes)
		}
		seen[c.Name] = true
	}
	if opts.ControllerManagerQPS < 0 {
		return nil, fmt.Errorf("testenv: RealOptions.ControllerManagerQPS: %d is negative", opts.ControllerManagerQPS)
	}
	if opts.StartTimeout < 0 {
		return nil, fmt.Errorf("testenv: RealOptions.StartTimeout: %v is negative", opts.StartTimeout)
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = DefaultRealStartTimeout
	}
	bins, err := realBinaries(opts.Liqo)
	if err != nil {
		return nil, err
	}
	crds := CRDSet(0)
	if opts.Liqo {
		crds = LiqoCRDs
	}
	crdPaths, err := CRDPaths(ctx, crds)
	if err != nil {
		return nil, err
	}
	stages, err := kwokStages(ctx)
	if err != nil {
		return nil, err
	}
	var liqoDir string
	if opts.Liqo {
		if liqoDir, err = ModuleDir(ctx, LiqoModule, LiqoVersion); err != nil {
			return nil, err
		}
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	logDir, err := os.MkdirTemp(os.Getenv(EnvLogDir), "continuum-real-")
	if err != nil {
		return nil, fmt.Errorf("testenv: making the log folder: %w", err)
	}
	stagesPath := filepath.Join(logDir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesPath, stages, 0o644); err != nil {
		return nil, fmt.Errorf("testenv: writing KWOK's stages: %w", err)
	}

	env := &RealEnv{Clusters: make([]*RealCluster, len(opts.Clusters)), Scheme: scheme, LogDir: logDir}
	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(opts.Clusters))
	var wg sync.WaitGroup
	for i, spec := range opts.Clusters {
		if spec.Nodes == 0 {
			spec.Nodes = 1
		}
		if spec.NodeCapacity == nil {
			spec.NodeCapacity = defaultNodeCapacity
		}
		c := &RealCluster{spec: spec, index: i, logDir: filepath.Join(logDir, spec.Name)}
		env.Clusters[i] = c
		wg.Go(func() {
			errs[i] = c.start(startCtx, bins, crdPaths, stagesPath, liqoDir, scheme, opts, timeout)
		})
	}
	wg.Wait()
	err = errors.Join(errs...)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		env.KeepLogs()
		return nil, errors.Join(fmt.Errorf("testenv: starting real clusters (logs kept in %s): %w", logDir, err), env.Stop())
	}
	env.StartDuration = time.Since(t0)
	return env, nil
}

// realBins are the paths of the binaries a real cluster runs.
type realBins map[string]string

func realBinaries(withLiqo bool) (realBins, error) {
	names := []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok"}
	if withLiqo {
		names = append(names, "liqo-controller-manager", "crd-replicator", "liqo-webhook", "virtual-kubelet")
	}
	bins := realBins{}
	var errs []error
	for _, n := range names {
		p, err := Binary(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bins[n] = p
	}
	return bins, errors.Join(errs...)
}

// start runs one cluster's processes and waits until they serve.
func (c *RealCluster) start(ctx context.Context, bins realBins, crdPaths []string, stagesPath, liqoDir string, scheme *runtime.Scheme, opts RealOptions, timeout time.Duration) error {
	ca, err := newCertAuthority(c.spec.Name + "-client-ca")
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: client CA: %w", c.spec.Name, err)
	}
	cl, err := startCluster(c.spec.Name, bins["kube-apiserver"], bins["etcd"], crdPaths, scheme, timeout, &signingAuthn{ca: ca})
	if err != nil {
		return err
	}
	c.Cluster = cl
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	c.KubeconfigPath = filepath.Join(cl.dir, "admin.kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, cl.Kubeconfig, 0o600); err != nil {
		return fmt.Errorf("testenv: cluster %q: writing its kubeconfig: %w", c.Name, err)
	}
	c.caFile = filepath.Join(cl.dir, "serving-ca.crt")
	if err := os.WriteFile(c.caFile, cl.Config.CAData, 0o644); err != nil {
		return fmt.Errorf("testenv: cluster %q: writing its serving CA: %w", c.Name, err)
	}
	certDir := cl.Env.ControlPlane.APIServer.CertDir
	kc := "--kubeconfig=" + c.KubeconfigPath
	kcmArgs := []string{kc, "--authentication-kubeconfig=" + c.KubeconfigPath, "--authorization-kubeconfig=" + c.KubeconfigPath,
		"--leader-elect=false", "--secure-port=0", "--cluster-name=" + c.Name,
		"--cluster-signing-cert-file=" + filepath.Join(certDir, clientCACert),
		"--cluster-signing-key-file=" + filepath.Join(certDir, clientCAKey),
		"--service-account-private-key-file=" + filepath.Join(certDir, "sa-signer.key"),
		"--root-ca-file=" + c.caFile, "--use-service-account-credentials=false", "--controllers=*",
	}
	if qps := opts.ControllerManagerQPS; qps > 0 {
		kcmArgs = append(kcmArgs, "--kube-api-qps="+strconv.Itoa(qps), "--kube-api-burst="+strconv.Itoa(qps*3/2))
	}
	if err := c.run("kube-controller-manager", bins["kube-controller-manager"], nil, kcmArgs...); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", bins["kube-scheduler"], nil,
		kc, "--authentication-kubeconfig="+c.KubeconfigPath, "--authorization-kubeconfig="+c.KubeconfigPath,
		"--leader-elect=false", "--secure-port=0",
	); err != nil {
		return err
	}
	if err := c.createNodes(ctx); err != nil {
		return err
	}
	kwokPort, err := freePort()
	if err != nil {
		return err
	}
	if err := c.run("kwok", bins["kwok"], nil,
		kc, "--config="+stagesPath, "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		fmt.Sprintf("--cidr=10.%d.0.0/16", 100+c.index), fmt.Sprintf("--node-ip=10.%d.0.1", 100+c.index),
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort),
		// KWOK keeps its nodes' Leases only with a lease duration, which defaults to
		// 40 s in a KwokConfiguration but to 0 (no Leases) when the configuration
		// file holds only stages, as ours does. Without Leases the heartbeat stage
		// (every 10 min) is all the node lifecycle controller sees: it marks the
		// nodes NotReady after its grace period, and their pods not ready, every
		// minute or so.
		"--node-lease-duration-seconds=40",
	); err != nil {
		return err
	}
	if opts.Liqo {
		if err := c.startLiqo(ctx, bins, liqoDir); err != nil {
			return err
		}
	}
	return c.waitNodesReady(ctx)
}

// run starts a process of the cluster, logging to <logDir>/<name>.log.
func (c *RealCluster) run(name, path string, env []string, args ...string) error {
	p, err := startProcess(name, path, filepath.Join(c.logDir, name+".log"), env, args...)
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return nil
}

// kwokAnnotation marks the nodes KWOK manages (and keeps it off Liqo's virtual nodes).
const kwokAnnotation = "kwok.x-k8s.io/node"

func (c *RealCluster) createNodes(ctx context.Context) error {
	for j := range c.spec.Nodes {
		name := fmt.Sprintf("%s-node-%d", c.Name, j)
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
				Annotations: map[string]string{kwokAnnotation: "fake"},
			},
			Status: corev1.NodeStatus{Capacity: c.spec.NodeCapacity.DeepCopy(), Allocatable: c.spec.NodeCapacity.DeepCopy()},
		}
		if err := c.Client.Create(ctx, n); err != nil {
			return fmt.Errorf("testenv: cluster %q: creating node %s: %w", c.Name, name, err)
		}
		c.Nodes = append(c.Nodes, name)
	}
	return nil
}

// waitNodesReady waits until every KWOK node is Ready, failing early when a process
// of the cluster has exited.
func (c *RealCluster) waitNodesReady(ctx context.Context) error {
	return pollUntil(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := c.exitedErr(); err != nil {
			return false, err
		}
		var nodes corev1.NodeList
		if err := c.Client.List(ctx, &nodes, client.MatchingLabels{"type": "kwok"}); err != nil {
			return false, nil // transient; the deadline reports it
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == c.spec.Nodes, nil
	}, func() string {
		return fmt.Sprintf("testenv: cluster %q: waiting for %d KWOK nodes to be Ready", c.Name, c.spec.Nodes)
	})
}

// exitedErr reports a process of the cluster that has exited.
func (c *RealCluster) exitedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if done, err := p.exited(); done {
			return fmt.Errorf("testenv: cluster %q: %s exited (%v); its log ends:\n%s", c.Name, p.name, err, p.tail(30))
		}
	}
	return nil
}

// pollUntil calls cond every interval until it returns true or an error, or ctx
// ends (then the error says what was awaited).
func pollUntil(ctx context.Context, interval time.Duration, cond func() (bool, error), what func() string) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what(), ctx.Err())
		case <-tick.C:
		}
	}
}

// stop stops the cluster's processes (the virtual kubelets first, then the others
// together, the apiserver and etcd last) and removes its data.
func (c *RealCluster) stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.vk != nil {
			errs = append(errs, c.vk.stop())
		}
		c.mu.Lock()
		procs := slices.Clone(c.procs)
		c.mu.Unlock()
		var wg sync.WaitGroup
		perr := make([]error, len(procs))
		for i, p := range procs {
			wg.Go(func() { perr[i] = p.stop() })
		}
		wg.Wait()
		errs = append(errs, perr...)
		if c.Cluster != nil {
			errs = append(errs, c.Cluster.stop())
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// Stop stops every cluster (concurrently) and removes their data, and the logs
// unless KeepLogs was called. It is safe to call more than once.
func (e *RealEnv) Stop() error {
	e.stopOnce.Do(func() {
		errs := make([]error, len(e.Clusters))
		var wg sync.WaitGroup
		for i, c := range e.Clusters {
			if c != nil {
				wg.Go(func() { errs[i] = c.stop() })
			}
		}
		wg.Wait()
		if !e.keepLogs.Load() {
			errs = append(errs, removeDir(e.LogDir))
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// kwokStageFiles are the KWOK stages a real cluster runs: nodes become Ready at
// once and keep a lease; pods become Ready at once, Jobs' pods complete, and pods
// being deleted are removed.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// KWOK's module, where its stage files are read from.
const (
	KWOKModule  = "sigs.k8s.io/kwok"
	KWOKVersion = "v0.8.0"
)

func kwokStages(ctx context.Context) ([]byte, error) {
	dir, err := ModuleDir(ctx, KWOKModule, KWOKVersion)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, fmt.Errorf("testenv: reading KWOK's stage: %w", err)
		}
		out = append(out, strings.TrimSpace(string(data)))
	}
	return []byte(strings.Join(out, "\n---\n") + "\n"), nil
}
