package testenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// vkLabel selects the pods of the virtual-kubelet Deployments Liqo creates in tenant
// namespaces (value virtual-kubelet).
const vkLabel = "offloading.liqo.io/component"

// vkFinalizer is the finalizer the runner puts on a virtual-kubelet pod while its
// process runs: the pod object outlives the process, as with a kubelet.
const vkFinalizer = "testenv.continuum.test/virtual-kubelet-process"

// The runner compares Liqo's virtual-kubelet pods with the processes it runs on every
// change its watch of those pods reports, and every vkResync besides (a process
// that exited is restarted then; a watch that failed is opened again after
// vkRewatch). It used to list the pods every 200 ms: on the benchmark's four
// clusters that was a sixth of each provider's API requests during an apply.
const (
	vkResync  = 2 * time.Second
	vkRewatch = 200 * time.Millisecond
)

// vkRunner plays the kubelet for the pods of Liqo's virtual-kubelet Deployments:
// envtest has no container runtime, so for every such pod (not being deleted) it runs
// the virtual-kubelet binary with the pod's arguments, out of cluster. (The pod
// itself is scheduled onto a KWOK node, which marks it Running: Liqo sees a healthy
// Deployment.)
//
// A kubelet removes a deleted pod's object only after its containers have stopped,
// and Liqo relies on it: when a peering ends it deletes the virtual-kubelet
// Deployment, waits until no virtual-kubelet pod is left, then deletes the virtual
// Node. KWOK deletes a pod's object at once; a virtual kubelet still running then
// re-creates its Node ("new node created"), and the next peering of the pair is
// refused by Liqo's webhook ("node w1 already exists"). So the runner holds a
// finalizer on each pod whose process it runs and removes it only once the process
// has exited.
type vkRunner struct {
	c      *RealCluster
	wc     client.WithWatch // watches the virtual-kubelet pods
	bin    string
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup // processes being stopped

	mu       sync.Mutex
	running  map[string]*process // by pod namespace/name
	stopping map[string]bool     // pods whose process is being stopped
}

func newVKRunner(c *RealCluster, bin string) (*vkRunner, error) {
	wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: c.Client.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("testenv: cluster %q: a watching client for the virtual-kubelet runner: %w", c.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &vkRunner{c: c, wc: wc, bin: bin, cancel: cancel, done: make(chan struct{}),
		running: map[string]*process{}, stopping: map[string]bool{}}
	go r.loop(ctx)
	return r, nil
}

func (r *vkRunner) loop(ctx context.Context) {
	defer close(r.done)
	wake := make(chan struct{}, 1)
	var watcher sync.WaitGroup
	defer watcher.Wait()
	watcher.Go(func() { r.watch(ctx, wake) })
	tick := time.NewTicker(vkResync)
	defer tick.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
		}
	}
}

// watch watches the virtual-kubelet pods and signals wake on every event (a full
// wake channel already holds the signal), opening the watch again when it ends,
// until ctx ends.
func (r *vkRunner) watch(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		if w, err := r.wc.Watch(ctx, &corev1.PodList{}, client.MatchingLabels{vkLabel: "virtual-kubelet"}); err == nil {
			r.follow(ctx, w, wake)
			w.Stop()
		}
		// Wait before opening it again, after an error and after a watch that ended
		// (one the apiserver closes at once would otherwise be reopened in a spin).
		select {
		case <-ctx.Done():
		case <-time.After(vkRewatch):
		}
	}
}

// follow signals wake on every event of w until w ends or ctx does (not every
// watch ends with its context).
func (r *vkRunner) follow(ctx context.Context, w watch.Interface, wake chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.ResultChan():
			if !ok {
				return
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
}

var vkVarRef = regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)

func (r *vkRunner) reconcile(ctx context.Context) {
	var pods corev1.PodList
	if err := r.c.Client.List(ctx, &pods, client.MatchingLabels{vkLabel: "virtual-kubelet"}); err != nil {
		return // transient (or stopping); the next event or resync retries
	}
	seen := map[string]bool{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		key := pod.Namespace + "/" + pod.Name
		seen[key] = true
		r.mu.Lock()
		p, running := r.running[key]
		stopping := r.stopping[key]
		r.mu.Unlock()
		switch {
		case stopping:
		case pod.DeletionTimestamp != nil:
			if running || controllerutil.ContainsFinalizer(pod, vkFinalizer) {
				r.stopAndRelease(ctx, key, p, pod)
			}
		case running:
			if done, _ := p.exited(); done && ctx.Err() == nil {
				// restartPolicy Always: run it again.
				if np, err := r.start(pod); err != nil {
					r.noteError(key, err)
				} else {
					r.mu.Lock()
					r.running[key] = np
					r.mu.Unlock()
				}
			}
		case len(pod.Spec.Containers) > 0 && ctx.Err() == nil:
			// The finalizer first: the apiserver refuses it once the pod is being
			// deleted, so a process never runs for a pod that can vanish under it.
			if err := r.holdPod(ctx, pod); err != nil {
				if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) && ctx.Err() == nil {
					r.noteError(key, fmt.Errorf("adding finalizer: %w", err))
				}
				continue
			}
			np, err := r.start(pod)
			if err != nil {
				r.noteError(key, err)
				continue
			}
			r.mu.Lock()
			r.running[key] = np
			r.mu.Unlock()
		}
	}
	// A pod gone without us (force-deleted): its process must not outlive it.
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, p := range r.running {
		if !seen[key] && !r.stopping[key] {
			delete(r.running, key)
			r.stopping[key] = true
			r.wg.Go(func() {
				_ = p.stop()
				r.mu.Lock()
				delete(r.stopping, key)
				r.mu.Unlock()
			})
		}
	}
}

// holdPod adds the runner's finalizer to pod.
func (r *vkRunner) holdPod(ctx context.Context, pod *corev1.Pod) error {
	if controllerutil.ContainsFinalizer(pod, vkFinalizer) {
		return nil
	}
	return r.updatePod(ctx, pod, func(p *corev1.Pod) bool { return controllerutil.AddFinalizer(p, vkFinalizer) })
}

// stopAndRelease stops the process of a deleted pod (in the background) and then
// removes the runner's finalizer, letting the pod go.
func (r *vkRunner) stopAndRelease(ctx context.Context, key string, p *process, pod *corev1.Pod) {
	r.mu.Lock()
	delete(r.running, key)
	r.stopping[key] = true
	r.mu.Unlock()
	pod = pod.DeepCopy()
	r.wg.Go(func() {
		if p != nil {
			_ = p.stop()
		}
		err := r.updatePod(ctx, pod, func(p *corev1.Pod) bool { return controllerutil.RemoveFinalizer(p, vkFinalizer) })
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			r.noteError(key, fmt.Errorf("removing finalizer: %w", err))
		}
		r.mu.Lock()
		delete(r.stopping, key)
		r.mu.Unlock()
	})
}

// updatePod applies change to the current pod and writes it, retrying on conflicts;
// change reports whether it changed anything.
func (r *vkRunner) updatePod(ctx context.Context, pod *corev1.Pod, change func(*corev1.Pod) bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur corev1.Pod
		if err := r.c.Client.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err != nil {
			return err
		}
		if !change(&cur) {
			return nil
		}
		return r.c.Client.Update(ctx, &cur)
	})
}

// start runs one virtual kubelet for pod with its arguments and environment.
func (r *vkRunner) start(pod *corev1.Pod) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args, env := vkCommand(pod, r.c.KubeconfigPath, port)
	tmp := filepath.Join(r.c.dir, "tmp-vk-"+pod.Namespace+"-"+pod.Name)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	env = append(env, "TMPDIR="+tmp, "KUBECONFIG="+r.c.KubeconfigPath)
	name := "virtual-kubelet-" + pod.Namespace + "-" + pod.Name
	return startProcess(name, r.bin, filepath.Join(r.c.logDir, name+".log"), env, args...)
}

// vkCommand returns the arguments and environment of a virtual kubelet run out of
// cluster for pod: its first container's arguments with the pod-level references
// ($(POD_IP) and the like) filled in for a process on this host, plus the home
// kubeconfig and the listening port; the environment is the container's literal
// variables plus POD_IP, POD_NAME and POD_NAMESPACE.
func vkCommand(pod *corev1.Pod, kubeconfig string, port int) (args, env []string) {
	ctr := pod.Spec.Containers[0]
	vars := map[string]string{"POD_IP": "127.0.0.1", "POD_NAME": pod.Name, "POD_NAMESPACE": pod.Namespace}
	for _, e := range ctr.Env {
		if e.ValueFrom == nil {
			vars[e.Name] = e.Value
		}
	}
	for _, a := range ctr.Args {
		args = append(args, vkVarRef.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := vars[vkVarRef.FindStringSubmatch(m)[1]]; ok {
				return v
			}
			return m
		}))
	}
	args = append(args, "--home-kubeconfig="+kubeconfig, "--listen-port="+strconv.Itoa(port))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return args, env
}

// noteError appends a failure to the runner's log.
func (r *vkRunner) noteError(key string, err error) {
	f, ferr := os.OpenFile(filepath.Join(r.c.logDir, "virtual-kubelet-runner.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if ferr != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s: %v\n", time.Now().Format(time.RFC3339Nano), key, err)
}

// processes returns the virtual kubelets running now.
func (r *vkRunner) processes() []*process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.running))
}

// stop ends the loop and every virtual kubelet (the finalizers stay: the cluster is
// being stopped).
func (r *vkRunner) stop() error {
	r.cancel()
	<-r.done
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for key, p := range r.running {
		errs = append(errs, p.stop())
		delete(r.running, key)
	}
	return errors.Join(errs...)
}
