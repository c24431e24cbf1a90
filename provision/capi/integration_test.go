package capi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

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

// Milestone offsets the contract player writes, from the Cluster's creation.
var playerOffsets = map[provision.Milestone]time.Duration{
	provision.InfrastructureReady:     15 * time.Second,
	provision.ControlPlaneInitialized: 85 * time.Second,
	provision.ControlPlaneAvailable:   95 * time.Second,
	provision.WorkersAvailable:        170 * time.Second,
	provision.Available:               176 * time.Second,
}

const capiFinalizer = "cluster.cluster.x-k8s.io"

// contractPlayer is a test helper that PLAYS THE CLUSTER API CONTROLLERS (core, the
// control-plane provider and the infrastructure provider): it writes the status each
// of them writes per the documented v1beta2 contract. No real reconciler runs. It
// stamps condition transition times at fixed offsets from the Cluster's creation
// (playerOffsets) so timelines are deterministic.
type contractPlayer struct{ c client.Client }

// complete makes the cluster Available for its current spec.
func (p contractPlayer) complete(ctx context.Context, ref provision.Ref) error {
	var cl clusterv1.Cluster
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &cl); err != nil {
		return err
	}
	// Cluster API core adds its finalizer on the first reconcile.
	if controllerutil.AddFinalizer(&cl, capiFinalizer) {
		if err := p.c.Update(ctx, &cl); err != nil {
			return err
		}
	}
	// Infrastructure provider: status.initialization.provisioned.
	if r := cl.Spec.InfrastructureRef; r.Kind != "" {
		version := "v1beta2"
		if r.Kind == "OpenStackCluster" {
			version = "v1beta1"
		}
		status := map[string]any{"initialization": map[string]any{"provisioned": true}}
		if version == "v1beta1" {
			status = map[string]any{"ready": true}
		}
		if err := p.patchStatus(ctx, schema.GroupVersionKind{Group: r.APIGroup, Version: version, Kind: r.Kind}, ref.Namespace, r.Name, status); err != nil {
			return err
		}
	}
	// Control-plane provider: initialized, and the kubeconfig Secret (pointing at
	// the management apiserver itself, standing for the workload cluster).
	if r := cl.Spec.ControlPlaneRef; r.Kind != "" {
		status := map[string]any{"initialization": map[string]any{"controlPlaneInitialized": true}}
		if r.Kind == capi.K3sControlPlaneKind {
			status = map[string]any{"initialized": true, "ready": true}
		}
		if err := p.patchStatus(ctx, schema.GroupVersionKind{Group: r.APIGroup, Version: "v1beta2", Kind: r.Kind}, ref.Namespace, r.Name, status); err != nil {
			return err
		}
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: capi.KubeconfigSecretName(ref.Name), Namespace: ref.Namespace,
			Labels: map[string]string{clusterv1.ClusterNameLabel: ref.Name}},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": env.Clusters[0].Kubeconfig},
	}
	if err := p.c.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Core: the MachineDeployment's and the Cluster's status.
	workers := int32(0)
	var md clusterv1.MachineDeployment
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: capi.MachineDeploymentName(ref.Name)}, &md); err == nil {
		workers = *md.Spec.Replicas
		md.Status.Replicas, md.Status.ReadyReplicas, md.Status.AvailableReplicas = &workers, &workers, &workers
		md.Status.ObservedGeneration = md.Generation
		if err := p.c.Status().Update(ctx, &md); err != nil {
			return err
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	if t := cl.Spec.Topology; t.IsDefined() && len(t.Workers.MachineDeployments) > 0 {
		workers = *t.Workers.MachineDeployments[0].Replicas
	}
	cp := int32(1)
	t := true
	cl.Status.Initialization = clusterv1.ClusterInitializationStatus{InfrastructureProvisioned: &t, ControlPlaneInitialized: &t}
	cl.Status.ControlPlane = &clusterv1.ClusterControlPlaneStatus{DesiredReplicas: &cp, Replicas: &cp, ReadyReplicas: &cp, AvailableReplicas: &cp, UpToDateReplicas: &cp}
	cl.Status.Workers = &clusterv1.WorkersStatus{DesiredReplicas: &workers, Replicas: &workers, ReadyReplicas: &workers, AvailableReplicas: &workers, UpToDateReplicas: &workers}
	for _, m := range provision.Milestones() {
		meta.SetStatusCondition(&cl.Status.Conditions, metav1.Condition{
			Type: string(m), Status: metav1.ConditionTrue, Reason: string(m), ObservedGeneration: cl.Generation,
			LastTransitionTime: metav1.NewTime(cl.CreationTimestamp.Add(playerOffsets[m])),
		})
	}
	cl.Status.Phase = string(clusterv1.ClusterPhaseProvisioned)
	cl.Status.ObservedGeneration = cl.Generation
	return p.c.Status().Update(ctx, &cl)
}

// completeDeletion plays Cluster API's deletion: it deletes what the Cluster owns and
// removes the finalizer (envtest has no garbage collector).
func (p contractPlayer) completeDeletion(ctx context.Context, ref provision.Ref) error {
	var cl clusterv1.Cluster
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &cl); err != nil {
		return client.IgnoreNotFound(err)
	}
	md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: capi.MachineDeploymentName(ref.Name)}}
	if err := p.c.Delete(ctx, md); client.IgnoreNotFound(err) != nil {
		return err
	}
	for _, r := range []clusterv1.ContractVersionedObjectReference{cl.Spec.ControlPlaneRef, cl.Spec.InfrastructureRef} {
		if r.Kind == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: r.APIGroup, Version: "v1beta2", Kind: r.Kind})
		if r.Kind == "OpenStackCluster" {
			u.SetGroupVersionKind(schema.GroupVersionKind{Group: r.APIGroup, Version: "v1beta1", Kind: r.Kind})
		}
		u.SetNamespace(ref.Namespace)
		u.SetName(r.Name)
		if err := p.c.Delete(ctx, u); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	if err := p.c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: capi.KubeconfigSecretName(ref.Name)}}); client.IgnoreNotFound(err) != nil {
		return err
	}
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	return client.IgnoreNotFound(p.c.Patch(ctx, &cl, client.RawPatch(types.MergePatchType, patch)))
}

func (p contractPlayer) patchStatus(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, status map[string]any) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	patch := map[string]any{"status": status}
	data, err := jsonMarshal(patch)
	if err != nil {
		return err
	}
	if err := p.c.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("status of %s %s: %w", gvk.Kind, name, err)
	}
	return nil
}

type harness struct {
	b      *capi.Backend
	ns     string
	player contractPlayer
}

func (h *harness) Provisioner() provision.Provisioner { return h.b }
func (h *harness) Spec(name string, workers int32) provision.ClusterSpec {
	return provision.ClusterSpec{Name: name, Namespace: h.ns, KubernetesVersion: "v1.33.1", Workers: workers,
		Infrastructure: provision.Infrastructure{Provider: "docker"}}
}
func (h *harness) Complete(ctx context.Context, ref provision.Ref) error {
	return h.player.complete(ctx, ref)
}
func (h *harness) CompleteDeletion(ctx context.Context, ref provision.Ref) error {
	return h.player.completeDeletion(ctx, ref)
}
func (h *harness) WaitOptions() provision.WaitOptions { return provision.WaitOptions{} }
func (h *harness) Close()                             {}

func TestConformance(t *testing.T) {
	testenv.Require(t)
	provisiontest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (provisiontest.Harness, error) {
		return &harness{b: newBackend(t), ns: newNamespace(t), player: contractPlayer{c: wc}}, nil
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
	go func() { errc <- contractPlayer{c: wc}.complete(t.Context(), s.Ref()) }()
	c, err := provision.WaitReady(t.Context(), b, s.Ref(), provision.WaitOptions{Progress: func(p provision.Progress) { msgs = append(msgs, p.Message) }})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range provision.Milestones() {
		if d, ok := c.Timeline.After(m); !ok || d != playerOffsets[m] {
			t.Errorf("%s after %v (reached %v), want %v", m, d, ok, playerOffsets[m])
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
	if err := (contractPlayer{c: wc}).complete(t.Context(), s.Ref()); err != nil {
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
