package testenv

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// newTestRunner is a virtual-kubelet runner over a fake client whose "virtual
// kubelet" is a shell script that sleeps (its arguments ignored). Its reconcile is
// called by the test, not by a loop.
func newTestRunner(t *testing.T, funcs interceptor.Funcs) (*vkRunner, client.Client) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the stand-in virtual kubelet is a POSIX shell script")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "virtual-kubelet")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nexec sleep 300\n"), 0o755))
	scheme, err := NewScheme()
	require.NoError(t, err)
	c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(funcs).Build()
	rc := &RealCluster{Cluster: &Cluster{Name: "t", Client: c, dir: dir}, logDir: filepath.Join(dir, "logs"),
		KubeconfigPath: filepath.Join(dir, "admin.kubeconfig")}
	r := &vkRunner{c: rc, bin: bin, cancel: func() {}, done: make(chan struct{}),
		running: map[string]*process{}, stopping: map[string]bool{}}
	close(r.done)
	t.Cleanup(func() { assert.NoError(t, r.stop()) })
	return r, c
}

func vkPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "liqo-tenant-w1", Labels: map[string]string{vkLabel: "virtual-kubelet"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vk", Args: []string{"--nodename=w1"}}}},
	}
}

// TestVKRunnerHoldsPodUntilProcessExits: the runner runs a process for a
// virtual-kubelet pod and holds a finalizer on it; when the pod is deleted the
// process is stopped first and only then the pod goes, as with a kubelet (Liqo
// deletes the virtual Node once the pod is gone; a process still running would
// re-create it).
func TestVKRunnerHoldsPodUntilProcessExits(t *testing.T) {
	// When the runner writes the pod without its finalizer, the process it ran must
	// have exited already.
	var (
		mu       sync.Mutex
		watched  *process
		released []bool // for each release of the watched process's pod: had it exited?
	)
	funcs := interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
		if pod, ok := obj.(*corev1.Pod); ok && !controllerutil.ContainsFinalizer(pod, vkFinalizer) {
			mu.Lock()
			if watched != nil {
				done, _ := watched.exited()
				released = append(released, done)
			}
			mu.Unlock()
		}
		return c.Update(ctx, obj, opts...)
	}}
	r, c := newTestRunner(t, funcs)
	ctx := context.Background()
	pod := vkPod("vk-w1-abc")
	require.NoError(t, c.Create(ctx, pod))
	require.NoError(t, c.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "liqo-tenant-w1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}}))

	r.reconcile(ctx)
	procs := r.processes()
	require.Len(t, procs, 1, "one process, for the labelled pod only")
	p := procs[0]
	done, _ := p.exited()
	require.False(t, done)
	var got corev1.Pod
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(pod), &got))
	assert.True(t, controllerutil.ContainsFinalizer(&got, vkFinalizer), "finalizers %v", got.Finalizers)

	// The process dies: it is run again (restartPolicy Always).
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
	r.reconcile(ctx)
	procs = r.processes()
	require.Len(t, procs, 1)
	require.NotSame(t, p, procs[0])
	p = procs[0]

	// Deleted: the pod stays (finalizer) until the process has exited.
	mu.Lock()
	watched = p
	mu.Unlock()
	require.NoError(t, c.Delete(ctx, &got))
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(pod), &got))
	require.NotNil(t, got.DeletionTimestamp)
	r.reconcile(ctx)
	r.wg.Wait()
	done, _ = p.exited()
	assert.True(t, done, "the process still runs after its pod was released")
	err := c.Get(ctx, client.ObjectKeyFromObject(pod), &got)
	assert.True(t, apierrors.IsNotFound(err), "the pod after its process stopped: %v (finalizers %v)", err, got.Finalizers)
	assert.Empty(t, r.processes())
	mu.Lock()
	assert.Equal(t, []bool{true}, released, "released once, after the process had exited")
	mu.Unlock()
}

// TestVKRunnerSkipsDeletingPods: a pod already being deleted when the runner first
// sees it gets no process.
func TestVKRunnerSkipsDeletingPods(t *testing.T) {
	r, c := newTestRunner(t, interceptor.Funcs{})
	ctx := context.Background()
	pod := vkPod("vk-w1-old")
	pod.Finalizers = []string{"example.test/keep"}
	require.NoError(t, c.Create(ctx, pod))
	require.NoError(t, c.Delete(ctx, pod))
	r.reconcile(ctx)
	r.wg.Wait()
	assert.Empty(t, r.processes())
	var got corev1.Pod
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(pod), &got))
	assert.Equal(t, []string{"example.test/keep"}, got.Finalizers)
}

// TestVKRunnerLoopFollowsWatch: the runner's loop, over a client that watches, runs
// a process for a pod created after it started and stops it when the pod is
// deleted; stop ends the loop and its watch.
func TestVKRunnerLoopFollowsWatch(t *testing.T) {
	r0, c := newTestRunner(t, interceptor.Funcs{})
	ctx, cancel := context.WithCancel(context.Background())
	r := &vkRunner{c: r0.c, wc: c.(client.WithWatch), bin: r0.bin, cancel: cancel, done: make(chan struct{}),
		running: map[string]*process{}, stopping: map[string]bool{}}
	go r.loop(ctx)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			assert.NoError(t, r.stop())
		}
	})
	pod := vkPod("vk-w1-late")
	require.NoError(t, c.Create(ctx, pod))
	require.Eventually(t, func() bool { return len(r.processes()) == 1 }, 30*time.Second, 10*time.Millisecond, "no process for the new pod")
	p := r.processes()[0]
	var got corev1.Pod
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(pod), &got))
	require.NoError(t, c.Delete(ctx, &got))
	require.Eventually(t, func() bool {
		err := c.Get(ctx, client.ObjectKeyFromObject(pod), &got)
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 10*time.Millisecond, "the deleted pod was never released")
	done, _ := p.exited()
	assert.True(t, done, "the pod was released while its process ran")
	stopped = true
	require.NoError(t, r.stop())
	select {
	case <-r.done:
	default:
		t.Error("stop returned before the loop ended")
	}
}
