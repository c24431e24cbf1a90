package liqoreal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
)

// wait bounds each step of the real-cluster tests: a safety net for a loaded 2-core
// machine (each step takes about a second), never an assertion about speed.
const wait = 3 * time.Minute

// eventually polls cond until it holds, failing t with the last state after wait. It
// runs in cleanups too, where t.Context() has ended.
func eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	testenv.Eventually(context.Background(), t, what, wait, cond)
}

// TestOffloadedPodRuns peers home -> w1 with the backend, offloads a namespace, and
// runs a pod pinned to w1's virtual node: Liqo reflects it to w1, where the
// scheduler puts it on a KWOK node and KWOK runs it, and home sees it Running.
// Deleting it on home deletes it on w1.
func TestOffloadedPodRuns(t *testing.T) {
	testenv.Require(t)
	env.KeepLogsOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	b := newBackend(t, "home", "w1")
	req := peering.PeerRequest{Key: peering.Key{Consumer: "home", Provider: "w1"},
		Resources: peering.Resources{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), Pods: 20}}

	start := time.Now()
	if err := b.Peer(ctx, req); err != nil {
		t.Fatalf("Peer: %v", err)
	}
	t.Cleanup(func() { cleanup(t, b, req.Key) })
	p, err := peering.WaitPeered(ctx, b, req.Key, peering.WaitOptions{Timeout: wait, Progress: func(m string) { t.Logf("peering: %s", m) }})
	if err != nil {
		t.Fatalf("WaitPeered: %v", err)
	}
	phase(t, "peered (virtual node Ready)", start)
	if p.ProviderID != "w1" || p.ConsumerID != "home" {
		t.Errorf("cluster IDs %s -> %s, want home -> w1", p.ConsumerID, p.ProviderID)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pod-"}}
	if err := admin["home"].Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ref := peering.NamespaceRef{Cluster: "home", Namespace: ns.Name}
	start = time.Now()
	if err := b.Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: []string{"w1"}}); err != nil {
		t.Fatalf("Offload: %v", err)
	}
	t.Cleanup(func() { unoffload(t, b, ref) })
	if _, err := peering.WaitOffloaded(ctx, b, ref, peering.WaitOptions{Timeout: wait}); err != nil {
		t.Fatalf("WaitOffloaded: %v", err)
	}
	phase(t, "offloaded", start)
	if err := admin["w1"].Get(ctx, client.ObjectKey{Name: ns.Name}, &corev1.Namespace{}); err != nil {
		t.Fatalf("the remote namespace on w1: %v", err)
	}

	pin, err := peering.PinTo(ctx, b, "home", "w1")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}}}
	pin.Apply(&pod.Spec)
	start = time.Now()
	if err := admin["home"].Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod Running on home's virtual node", func(ctx context.Context) (bool, string) {
		var got corev1.Pod
		if err := admin["home"].Get(ctx, client.ObjectKeyFromObject(pod), &got); err != nil {
			return false, err.Error()
		}
		return got.Status.Phase == corev1.PodRunning && got.Spec.NodeName != "" && !slices.Contains(env.Cluster("home").Nodes, got.Spec.NodeName),
			fmt.Sprintf("phase %s on %q", got.Status.Phase, got.Spec.NodeName)
	})
	phase(t, "pod Running (seen on home)", start)
	var remote corev1.PodList
	if err := admin["w1"].List(ctx, &remote, client.InNamespace(ns.Name)); err != nil {
		t.Fatal(err)
	}
	if len(remote.Items) != 1 || remote.Items[0].Status.Phase != corev1.PodRunning || !slices.Contains(env.Cluster("w1").Nodes, remote.Items[0].Spec.NodeName) {
		var seen []string
		for _, p := range remote.Items {
			seen = append(seen, fmt.Sprintf("%s %s on %s", p.Name, p.Status.Phase, p.Spec.NodeName))
		}
		t.Fatalf("pods on w1: %v; want one Running on a KWOK node of w1 %v", seen, env.Cluster("w1").Nodes)
	}

	start = time.Now()
	if err := admin["home"].Delete(ctx, pod); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the remote pod deleted on w1", func(ctx context.Context) (bool, string) {
		var pods corev1.PodList
		if err := admin["w1"].List(ctx, &pods, client.InNamespace(ns.Name)); err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods", len(pods.Items))
	})
	phase(t, "pod deleted on both", start)
}

// unoffload removes the offloading of ref and waits until the NamespaceOffloading
// is gone (Liqo removes the remote namespaces first).
func unoffload(t testing.TB, b peering.Interface, ref peering.NamespaceRef) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Unoffload(ctx, ref); err != nil && !errors.Is(err, peering.ErrNotFound) {
		t.Errorf("Unoffload(%s): %v", ref, err)
		return
	}
	eventually(t, "the offloading of "+ref.String()+" gone", func(ctx context.Context) (bool, string) {
		_, err := b.GetOffloading(ctx, ref)
		if err == nil {
			return false, "still there"
		}
		return errors.Is(err, peering.ErrNotFound), err.Error()
	})
}

// cleanup unpeers k and waits until Liqo has removed the tenant namespaces on both
// clusters, so that the next test can peer the pair again.
func cleanup(t testing.TB, b peering.Interface, k peering.Key) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Unpeer(ctx, k); err != nil {
		t.Errorf("Unpeer(%s): %v", k, err)
	}
	waitNoTenants(t, k.Consumer, k.Provider)
}

// waitNoTenants waits until the named clusters have no Liqo tenant namespace left.
func waitNoTenants(t testing.TB, clusters ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("no tenant namespaces on %v", clusters), func(ctx context.Context) (bool, string) {
		var left []string
		for _, c := range clusters {
			var nss corev1.NamespaceList
			if err := admin[c].List(ctx, &nss, client.HasLabels{"liqo.io/tenant-namespace"}); err != nil {
				return false, err.Error()
			}
			for _, ns := range nss.Items {
				left = append(left, fmt.Sprintf("%s/%s (%s)", c, ns.Name, ns.Status.Phase))
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}
