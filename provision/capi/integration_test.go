package capi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/capiplay"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
	"github.com/continuum-xr/continuum/provision/provisiontest"
)

var (
	env *testenv.Env
	// wc is a watching client of the management cluster.
	wc client.WithWatch
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{CRDs: testenv.CAPICRDs | testenv.ProviderCRDs})
		if err != nil {
			return nil, err
		}
		c, err := client.NewWithWatch(e.Clusters[0].Config, client.Options{Scheme: e.Scheme})
		if err != nil {
			return nil, errors.Join(err, e.Stop())
		}
		env, wc = e, c
		return e.Stop, nil
	})
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "capi-"}}
	if err := wc.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newBackend(t *testing.T) *capi.Backend {
	t.Helper()
	b, err := capi.New(wc, capi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newPlayer plays the Cluster API controllers (internal/capiplay) on the management
// cluster; the kubeconfig Secrets point at the management apiserver itself, standing
// for the workload clusters.
func newPlayer() *capiplay.Player {
	return capiplay.New(wc, capiplay.Options{Kubeconfig: func(provision.Ref) []byte { return env.Clusters[0].Kubeconfig }})
}

type harness struct {
	b      *capi.Backend
	ns     string
	player *capiplay.Player
}

func (h *harness) Provisioner() provision.Provisioner { return h.b }
func (h *harness) Spec(name string, workers int32) provision.ClusterSpec {
	return provision.ClusterSpec{Name: name, Namespace: h.ns, KubernetesVersion: "v1.33.1", Workers: workers,
		Infrastructure: provision.Infrastructure{Provider: "docker"}}
}
func (h *harness) Complete(ctx context.Context, ref provision.Ref) error {
	return h.player.Complete(ctx, ref)
}
func (h *harness) CompleteDeletion(ctx context.Context, ref provision.Ref) error {
	return h.player.CompleteDeletion(ctx, ref)
}
func (h *harness) WaitOptions() provision.WaitOptions { return provision.WaitOptions{} }
func (h *harness) Close()                             {}

func TestConformance(t *testing.T) {
	testenv.Require(t)
	provisiontest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (provisiontest.Harness, error) {
		return &harness{b: newBackend(t), ns: newNamespace(t), player: newPlayer()}, nil
	})
}

// TestObjectsAcceptedByRealCRDs creates clusters of every distribution and provider:
// every object must be accepted by the real CRD schemas (CAPI core, kubeadm, k3s,
// CAPD, CAPO), and re-applying is idempotent.
func TestObjectsAcceptedByRealCRDs(t *testing.T) {
	testenv.Require(t)
	b := newBackend(t)
	ns := newNamespace(t)
	openstack := provision.Infrastructure{Provider: "openstack", Parameters: map[string]string{
		"image": "ubuntu-2404-kube-v1.33.1", "flavor": "m1.medium", "sshKeyName": "ops", "externalNetworkID": "8e6d1b1c-0000-4000-8000-000000000001"}}
	for _, tc := range []struct {
		name string
		spec provision.ClusterSpec
	}{
		{"kubeadm-docker", provision.ClusterSpec{Distribution: provision.Kubeadm, Workers: 2, ControlPlaneReplicas: 3}},
		{"k3s-docker", provision.ClusterSpec{Distribution: provision.K3s, Workers: 1, Infrastructure: provision.Infrastructure{Parameters: map[string]string{"customImage": "kindest/node:v1.33.1"}}}},
		{"kubeadm-openstack", provision.ClusterSpec{Distribution: provision.Kubeadm, Workers: 4, Infrastructure: openstack}},
		{"k3s-openstack", provision.ClusterSpec{Distribution: provision.K3s, Workers: 24, Infrastructure: openstack}},
		{"kubeadm-class", provision.ClusterSpec{Workers: 3, Infrastructure: provision.Infrastructure{ClusterClass: "quick-start"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Name, s.Namespace, s.KubernetesVersion = tc.name, ns, "v1.33.1"
			s.Labels = provision.Labels{Owner: "cern", Tier: "edge", Region: "geneva"}
			s.PodCIDRs, s.ServiceCIDRs = []string{"10.244.0.0/16"}, []string{"10.96.0.0/12"}
			if err := b.Create(t.Context(), s); err != nil {
				t.Fatalf("Create: %v", err)
			}
			c, err := b.Get(t.Context(), s.Ref())
			if err != nil {
				t.Fatal(err)
			}
			want := s.WithDefaults()
			if c.Spec.Distribution != want.Distribution || c.Spec.KubernetesVersion != want.KubernetesVersion ||
				c.Spec.Workers != want.Workers || c.Spec.ControlPlaneReplicas != want.ControlPlaneReplicas || c.Spec.Labels != want.Labels {
				t.Errorf("read back %+v, want %+v", c.Spec, want)
			}
			if tc.spec.Distribution == provision.K3s && !strings.HasSuffix(c.Spec.KubernetesVersion, "+k3s1") {
				t.Errorf("k3s version %q lacks +k3s1", c.Spec.KubernetesVersion)
			}
			// Every rendered object exists, with our field manager.
			objs, err := capi.Render(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				u := &unstructured.Unstructured{}
				gvk := o.GetObjectKind().GroupVersionKind()
				u.SetGroupVersionKind(gvk)
				mo, _ := meta.Accessor(o)
				if err := wc.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: mo.GetName()}, u); err != nil {
					t.Errorf("%s %s: %v", gvk.Kind, mo.GetName(), err)
					continue
				}
				if mf := u.GetManagedFields(); len(mf) == 0 || mf[0].Manager != capi.DefaultFieldManager {
					t.Errorf("%s %s: managed fields %v, want manager %s", gvk.Kind, mo.GetName(), mf, capi.DefaultFieldManager)
				}
			}
		})
	}
}

func TestTimelineFromContractStatus(t *testing.T) {
	testenv.Require(t)
	b := newBackend(t)
	ns := newNamespace(t)
	s := provision.ClusterSpec{Name: "timed", Namespace: ns, KubernetesVersion: "1.33.1", Workers: 2}
	if err := b.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	errc := make(chan error, 1)
	go func() { errc <- newPlayer().Complete(t.Context(), s.Ref()) }()
	c, err := provision.WaitReady(t.Context(), b, s.Ref(), provision.WaitOptions{Progress: func(p provision.Progress) { msgs = append(msgs, p.Message) }})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range provision.Milestones() {
		if d, ok := c.Timeline.After(m); !ok || d != capiplay.DefaultOffsets()[m] {
			t.Errorf("%s after %v (reached %v), want %v", m, d, ok, capiplay.DefaultOffsets()[m])
		}
	}
	if last := msgs[len(msgs)-1]; last != "available after 176 s, 2/2 workers ready" {
		t.Errorf("last progress = %q", last)
	}
}

func TestKubeconfig(t *testing.T) {
	testenv.Require(t)
	b := newBackend(t)
	ns := newNamespace(t)
	s := provision.ClusterSpec{Name: "kc", Namespace: ns, KubernetesVersion: "v1.33.1"}
	if err := b.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	_, err := b.Kubeconfig(t.Context(), s.Ref())
	if !errors.Is(err, provision.ErrNotReady) || !strings.Contains(err.Error(), "kc-kubeconfig not found") {
		t.Errorf("missing Secret: %v, want ErrNotReady naming kc-kubeconfig", err)
	}
	const secret = "SECRET-TOKEN-do-not-print"
	bad := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "kc-kubeconfig", Namespace: ns},
		Data:       map[string][]byte{"value": []byte("apiVersion: v1\nkind: Config\nusers: [{name: x, user: {token: " + secret + "}}]\nclusters: 3\n")},
	}
	if err := wc.Create(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	_, err = b.Kubeconfig(t.Context(), s.Ref())
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "not a valid kubeconfig") {
		t.Errorf("bad Secret: %v; want a clear error without the content", err)
	}
	if err := wc.Delete(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	if err := newPlayer().Complete(t.Context(), s.Ref()); err != nil {
		t.Fatal(err)
	}
	cfg, err := b.Kubeconfig(t.Context(), s.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSuffix(cfg.Host, "/") != strings.TrimSuffix(env.Clusters[0].Config.Host, "/") {
		t.Errorf("host %q, want %q", cfg.Host, env.Clusters[0].Config.Host)
	}
}

// TestPlayerRunInBackground: with capiplay's Run in the background (and a
// provisioning delay), clusters the backend creates become Available by themselves,
// scaling is completed, and deletion too.
func TestPlayerRunInBackground(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	ns := newNamespace(t)
	player := capiplay.New(wc, capiplay.Options{Namespace: ns, Delay: 300 * time.Millisecond, Interval: 50 * time.Millisecond,
		Kubeconfig: func(provision.Ref) []byte { return env.Clusters[0].Kubeconfig },
		OnError:    func(err error) { t.Errorf("player: %v", err) }})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- player.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run = %v, want nil when its context ends", err)
		}
	}()
	b := newBackend(t)
	wait := provision.WaitOptions{Timeout: 30 * time.Second}
	s := provision.ClusterSpec{Name: "bg", Namespace: ns, KubernetesVersion: "v1.33.1", Workers: 2}
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if c, err := b.Get(ctx, s.Ref()); err != nil || provision.IsReady(c) {
		t.Fatalf("right after Create: ready %v, %v; want not ready yet (Delay)", c != nil && provision.IsReady(c), err)
	}
	c, err := provision.WaitReady(ctx, b, s.Ref(), wait)
	if err != nil {
		t.Fatalf("WaitReady with the player running: %v", err)
	}
	if c.Workers.Available != 2 {
		t.Errorf("workers available %d, want 2", c.Workers.Available)
	}
	if _, err := b.Kubeconfig(ctx, s.Ref()); err != nil {
		t.Errorf("Kubeconfig: %v", err)
	}
	if err := b.Scale(ctx, s.Ref(), 3); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := b.Get(ctx, s.Ref())
		if err != nil {
			t.Fatal(err)
		}
		if provision.IsReady(c) && c.Workers.Available == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Scale(3): %s", provision.Summary(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.Delete(ctx, s.Ref()); err != nil {
		t.Fatal(err)
	}
	if err := provision.WaitDeleted(ctx, b, s.Ref(), wait); err != nil {
		t.Fatalf("WaitDeleted with the player running: %v", err)
	}
}
