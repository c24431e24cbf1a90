package reconcilers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// What is real and what is played in these tests (see the package doc and Start):
// real apiservers, Cluster API's real core reconcilers and ClusterCache, and the
// provision/capi backend under test; played infrastructure, control-plane (kubeadm
// and k3s) and bootstrap providers (providers.go).

var (
	env *Env
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
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := Start(ctx, Options{})
		if err != nil {
			return nil, err
		}
		env, mgmt, workload = e, e.Management, e.Workload
		return e.Stop, nil
	})
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
func checkMachinesAndNodes(t *testing.T, ref provision.Ref, cpKind string, wantCP, wantWorkers int) {
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
		if _, ok := ownerKind(&m, cpKind); !ok {
			t.Errorf("control-plane Machine %s: not owned by the %s", m.Name, cpKind)
		}
	}
	for _, m := range slices.Concat(cp, workers) {
		node, ok := byProviderID[m.Spec.ProviderID]
		switch {
		case !strings.HasPrefix(m.Spec.ProviderID, ProviderIDPrefix):
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
	b, err := env.Backend(capi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := provision.ClusterSpec{
		Name: "real", Namespace: newNamespace(t), Distribution: provision.Kubeadm, KubernetesVersion: "v1.33.1",
		ControlPlaneReplicas: 1, Workers: 2,
		Labels:         provision.Labels{Owner: "cern", Tier: "edge", Region: "geneva"},
		Infrastructure: provision.Infrastructure{Provider: ProviderName},
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
	checkMachinesAndNodes(t, ref, "KubeadmControlPlane", 1, 2)

	// The kubeconfig the played control plane wrote reaches the workload apiserver.
	cfg, err := b.Kubeconfig(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hostOf(cfg.Host), hostOf(env.Servers.Cluster(workloadServer).Config.Host); got != want {
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
	checkMachinesAndNodes(t, ref, "KubeadmControlPlane", 1, 3)

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

// TestRealReconcilersK3s drives a k3s cluster (1 control-plane machine, 1 worker)
// through create and delete: the real reconcilers resolve the k3s provider's
// KThreesControlPlane and KThreesConfigTemplate through its v1beta1 contract label,
// and the played control plane and bootstrap provider answer in that contract.
func TestRealReconcilersK3s(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	b, err := env.Backend(capi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := provision.ClusterSpec{
		Name: "real-k3s", Namespace: newNamespace(t), Distribution: provision.K3s, KubernetesVersion: "v1.33.1",
		Workers: 1, Infrastructure: provision.Infrastructure{Provider: ProviderName},
	}
	ref := spec.Ref()
	wait := provision.WaitOptions{Timeout: 3 * time.Minute}
	if err := b.Create(ctx, spec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	c, err := provision.WaitReady(ctx, b, ref, wait)
	if err != nil {
		dumpState(t, ref)
		t.Fatalf("WaitReady: %v", err)
	}
	t.Logf("timeline: %s", c.Timeline)
	if c.Spec.Distribution != provision.K3s || c.Spec.KubernetesVersion != "v1.33.1+k3s1" {
		t.Errorf("read back distribution %q version %q, want k3s v1.33.1+k3s1", c.Spec.Distribution, c.Spec.KubernetesVersion)
	}
	if c.ControlPlane.Available != 1 || c.Workers.Available != 1 {
		t.Errorf("control plane %+v, workers %+v", c.ControlPlane, c.Workers)
	}
	checkTimeline(t, c.Timeline)
	checkMachinesAndNodes(t, ref, capi.K3sControlPlaneKind, 1, 1)
	if err := provision.DeleteAndWait(ctx, b, ref, wait); err != nil {
		dumpState(t, ref)
		t.Fatalf("DeleteAndWait: %v", err)
	}
	if cp, workers := machines(t, ref); len(cp)+len(workers) > 0 {
		t.Errorf("%d Machines left after delete", len(cp)+len(workers))
	}
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
	// The played infrastructure takes DefaultInfraDelay and the machines
	// DefaultMachineDelay, so Available cannot come sooner (less a second of timestamp
	// truncation).
	if d, ok := tl.After(provision.Available); ok && d < DefaultInfraDelay+DefaultMachineDelay-time.Second {
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
