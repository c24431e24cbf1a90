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
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// vkLabel selects the virtual-kubelet Deployments Liqo creates in tenant namespaces.
const vkLabel = "offloading.liqo.io/component"

// vkPoll is how often the runner compares Liqo's virtual-kubelet Deployments with the
// processes it runs.
const vkPoll = 200 * time.Millisecond

// vkRunner plays the kubelet for Liqo's virtual-kubelet Deployments: envtest has no
// container runtime, so for every such Deployment (replicas > 0, not being deleted)
// it runs the virtual-kubelet binary with the Deployment's arguments, out of cluster,
// and stops it when the Deployment goes or changes. (The Deployment's pod itself is
// scheduled onto a KWOK node, which marks it Running: Liqo sees a healthy Deployment.)
type vkRunner struct {
	c      *RealCluster
	bin    string
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	running map[string]*vkProc // by namespace/name
}

type vkProc struct {
	p    *process
	args string // the Deployment's arguments it runs with
}

func newVKRunner(c *RealCluster, bin string) *vkRunner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &vkRunner{c: c, bin: bin, cancel: cancel, done: make(chan struct{}), running: map[string]*vkProc{}}
	go r.loop(ctx)
	return r
}

func (r *vkRunner) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(vkPoll)
	defer tick.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var vkVarRef = regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)

func (r *vkRunner) reconcile(ctx context.Context) {
	var deps appsv1.DeploymentList
	if err := r.c.Client.List(ctx, &deps, client.HasLabels{vkLabel}); err != nil {
		return // transient (or stopping); the next tick retries
	}
	want := map[string]*appsv1.Deployment{}
	for i := range deps.Items {
		d := &deps.Items[i]
		if d.Labels[vkLabel] != "virtual-kubelet" || d.DeletionTimestamp != nil ||
			(d.Spec.Replicas != nil && *d.Spec.Replicas == 0) || len(d.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		want[d.Namespace+"/"+d.Name] = d
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, vp := range r.running {
		d, ok := want[key]
		done, _ := vp.p.exited()
		if ok && !done && strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ") == vp.args {
			continue
		}
		_ = vp.p.stop()
		delete(r.running, key)
	}
	for key, d := range want {
		if _, ok := r.running[key]; ok || ctx.Err() != nil {
			continue
		}
		vp, err := r.start(d)
		if err != nil {
			r.noteError(key, err)
			continue
		}
		r.running[key] = vp
	}
}

// start runs one virtual kubelet for d with d's arguments and environment.
func (r *vkRunner) start(d *appsv1.Deployment) (*vkProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args, env := vkCommand(d, r.c.KubeconfigPath, port)
	tmp := filepath.Join(r.c.dir, "tmp-vk-"+d.Namespace+"-"+d.Name)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	env = append(env, "TMPDIR="+tmp, "KUBECONFIG="+r.c.KubeconfigPath)
	name := "virtual-kubelet-" + d.Namespace + "-" + d.Name
	p, err := startProcess(name, r.bin, filepath.Join(r.c.logDir, name+".log"), env, args...)
	if err != nil {
		return nil, err
	}
	return &vkProc{p: p, args: strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")}, nil
}

// vkCommand returns the arguments and environment of a virtual kubelet run out of
// cluster for Deployment d: the container's arguments with the pod-level references
// ($(POD_IP) and the like) filled in for a process on this host, plus the home
// kubeconfig and the listening port; the environment is the container's literal
// variables plus POD_IP, POD_NAME and POD_NAMESPACE.
func vkCommand(d *appsv1.Deployment, kubeconfig string, port int) (args, env []string) {
	ctr := d.Spec.Template.Spec.Containers[0]
	vars := map[string]string{"POD_IP": "127.0.0.1", "POD_NAME": d.Name + "-0", "POD_NAMESPACE": d.Namespace}
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

// noteError appends a start failure to the runner's log.
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
	var out []*process
	for _, vp := range r.running {
		out = append(out, vp.p)
	}
	return out
}

// stop ends the loop and every virtual kubelet.
func (r *vkRunner) stop() error {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for key, vp := range r.running {
		errs = append(errs, vp.p.stop())
		delete(r.running, key)
	}
	return errors.Join(errs...)
}
