package reconcilers_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// This file holds the TEST-ONLY PROVIDERS. They are not Cluster API code: each plays
// one provider just far enough to honour its side of the Cluster API v1beta2
// contract, so that the real core reconcilers (Cluster, Machine, MachineSet,
// MachineDeployment, ClusterCache; see reconcilers_test.go) have something to drive.
//
//   - infraProvider (testInfra, ContinuumTestCluster, ContinuumTestMachine): an
//     infrastructure provider whose "machines" are Nodes created in the workload
//     apiserver, after a provisioning delay.
//   - kcpPlayer: plays the kubeadm control-plane provider (it reconciles the real
//     KubeadmControlPlane CRD objects the backend renders, but is NOT Cluster API's
//     KCP controller): it writes the <cluster>-kubeconfig Secret, creates the
//     control-plane Machines and reports the contract's status from them.
//   - kubeadmConfigPlayer: plays the kubeadm bootstrap provider for the
//     KubeadmConfigs the real MachineSet reconciler clones from the backend's
//     KubeadmConfigTemplate: a data Secret once the control plane is initialized.

// Test infrastructure provider kinds (testdata/crds, contract label v1beta2: v1alpha1).
const (
	infraVersion        = "v1alpha1"
	infraAPIVersion     = capi.InfrastructureGroup + "/" + infraVersion
	kindCluster         = "ContinuumTestCluster"
	kindMachine         = "ContinuumTestMachine"
	kindMachineTemplate = "ContinuumTestMachineTemplate"
	// providerName is the Infrastructure.Provider name the backend is given.
	providerName = "continuum-test"
	// providerIDPrefix starts the provider IDs of test machines and their Nodes.
	providerIDPrefix = "continuum-test://"

	// Played provisioning times: infrastructure (network, load balancer) and one
	// machine (VM boot plus kubeadm init/join). Short, but at least a second each so
	// that the timeline's milestones (second resolution) come in order.
	infraClusterDelay = 1 * time.Second
	machineDelay      = 2 * time.Second

	annProvisioningStarted = "test.continuum.xr/provisioning-started"
	cpFinalizer            = "test.continuum.xr/control-plane"
)

// testInfra is the capi.InfrastructureProvider of the test provider.
type testInfra struct{}

var _ capi.InfrastructureProvider = testInfra{}

func (testInfra) APIVersion() string          { return infraAPIVersion }
func (testInfra) ClusterKind() string         { return kindCluster }
func (testInfra) MachineTemplateKind() string { return kindMachineTemplate }
func (testInfra) Cluster(provision.ClusterSpec) (*unstructured.Unstructured, error) {
	return newObject(kindCluster, map[string]any{"region": "test"}), nil
}
func (testInfra) MachineTemplate(_ provision.ClusterSpec, controlPlane bool) (*unstructured.Unstructured, error) {
	role := "worker"
	if controlPlane {
		role = "control-plane"
	}
	return newObject(kindMachineTemplate, map[string]any{"template": map[string]any{"spec": map[string]any{"role": role}}}), nil
}

func newObject(kind string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": infraAPIVersion, "kind": kind}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	return u
}

// providers holds what the test providers share: the management client (the
// manager's) and the workload apiserver.
type providers struct {
	c client.Client
	// workload is an admin client of the workload apiserver, where Nodes appear.
	workload client.Client
	// workloadKubeconfig is what the control plane writes to <cluster>-kubeconfig.
	workloadKubeconfig []byte
	// endpoint is the workload apiserver's host and port.
	host string
	port int32
}

func (p *providers) setup(mgr ctrl.Manager, workloadHost string) error {
	u, err := url.Parse(workloadHost)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return err
	}
	p.host, p.port = host, int32(n)

	if err := ctrl.NewControllerManagedBy(mgr).Named("test-infra-cluster").
		For(newObject(kindCluster, nil)).
		Complete(reconcile.Func(p.reconcileInfraCluster)); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("test-infra-machine").
		For(newObject(kindMachine, nil)).
		Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			m := o.(*clusterv1.Machine)
			if m.Spec.InfrastructureRef.Kind != kindMachine {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.InfrastructureRef.Name}}}
		})).
		Complete(reconcile.Func(p.reconcileInfraMachine)); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("test-kubeadm-control-plane").
		For(&controlplanev1.KubeadmControlPlane{}).
		Owns(&clusterv1.Machine{}).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			c := o.(*clusterv1.Cluster)
			if c.Spec.ControlPlaneRef.Kind != "KubeadmControlPlane" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Spec.ControlPlaneRef.Name}}}
		})).
		Complete(reconcile.Func(p.reconcileControlPlane)); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("test-kubeadm-config").
		For(&bootstrapv1.KubeadmConfig{}).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list bootstrapv1.KubeadmConfigList
			if err := p.c.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{clusterv1.ClusterNameLabel: o.GetName()}); err != nil {
				return nil
			}
			var reqs []reconcile.Request
			for _, c := range list.Items {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
			}
			return reqs
		})).
		Complete(reconcile.Func(p.reconcileKubeadmConfig))
}

// clusterOf returns the Cluster named by obj's cluster-name label, or nil while
// there is none.
func (p *providers) clusterOf(ctx context.Context, obj client.Object) (*clusterv1.Cluster, error) {
	name := obj.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil, nil
	}
	var cl clusterv1.Cluster
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, &cl); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return &cl, nil
}

// reconcileInfraCluster plays the infrastructure cluster: once the real Cluster
// reconciler has made the Cluster its owner, and infraClusterDelay after creation,
// it sets spec.controlPlaneEndpoint (the workload apiserver) and
// status.initialization.provisioned.
func (p *providers) reconcileInfraCluster(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	u := newObject(kindCluster, nil)
	if err := p.c.Get(ctx, req.NamespacedName, u); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if u.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	if done, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "provisioned"); done {
		return reconcile.Result{}, nil
	}
	if _, ok := ownerKind(u, "Cluster"); !ok {
		return reconcile.Result{}, nil // the owner reference's update brings us back
	}
	if wait := infraClusterDelay - time.Since(u.GetCreationTimestamp().Time); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	spec := fmt.Appendf(nil, `{"spec":{"controlPlaneEndpoint":{"host":%q,"port":%d}}}`, p.host, p.port)
	if err := p.c.Patch(ctx, u, client.RawPatch(types.MergePatchType, spec)); err != nil {
		return reconcile.Result{}, err
	}
	status := []byte(`{"status":{"initialization":{"provisioned":true}}}`)
	return reconcile.Result{}, p.c.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, status))
}

// reconcileInfraMachine plays an infrastructure machine: once the real Machine
// reconciler has made the Machine its owner and the bootstrap data exists, it
// "boots" for machineDelay, then creates a Node in the workload apiserver (Ready,
// no pressure) and sets spec.providerID and status.initialization.provisioned.
// Nodes are left to Cluster API, which deletes them with their Machine.
func (p *providers) reconcileInfraMachine(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	u := newObject(kindMachine, nil)
	if err := p.c.Get(ctx, req.NamespacedName, u); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if u.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	if done, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "provisioned"); done {
		return reconcile.Result{}, nil
	}
	machineName, ok := ownerKind(u, "Machine")
	if !ok {
		return reconcile.Result{}, nil
	}
	var m clusterv1.Machine
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: machineName}, &m); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if m.Spec.Bootstrap.DataSecretName == nil {
		return reconcile.Result{}, nil // the Machine watch brings us back
	}
	started, err := time.Parse(time.RFC3339Nano, u.GetAnnotations()[annProvisioningStarted])
	if err != nil {
		started = time.Now()
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, annProvisioningStarted, started.Format(time.RFC3339Nano))
		if err := p.c.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return reconcile.Result{}, err
		}
	}
	if wait := machineDelay - time.Since(started); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}

	providerID := providerIDPrefix + u.GetNamespace() + "/" + u.GetName()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace() + "-" + u.GetName()}, Spec: corev1.NodeSpec{ProviderID: providerID}}
	if err := p.workload.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return reconcile.Result{}, err
	}
	now := metav1.Now()
	node.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: now, LastTransitionTime: now},
	}
	node.Status.NodeInfo.KubeletVersion = m.Spec.Version
	if err := p.workload.Status().Update(ctx, node); err != nil {
		return reconcile.Result{}, fmt.Errorf("node %s status: %w", node.Name, err)
	}

	spec := fmt.Appendf(nil, `{"spec":{"providerID":%q}}`, providerID)
	if err := p.c.Patch(ctx, u, client.RawPatch(types.MergePatchType, spec)); err != nil {
		return reconcile.Result{}, err
	}
	status := []byte(`{"status":{"initialization":{"provisioned":true}}}`)
	return reconcile.Result{}, p.c.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, status))
}

// reconcileControlPlane plays the control-plane provider on KubeadmControlPlane
// objects (NOT Cluster API's KCP controller). Once the Cluster's infrastructure is
// provisioned it writes the <cluster>-kubeconfig Secret (pointing at the workload
// apiserver), creates the missing control-plane Machines (each with a cloned
// infrastructure machine and ready-made bootstrap data), and reports the contract
// fields from those Machines: replicas, readyReplicas, availableReplicas,
// upToDateReplicas, versions, initialization.controlPlaneInitialized (a Machine got
// its Node) and condition Available (a majority of machines available). On deletion
// it deletes its Machines (envtest has no garbage collector), then lets go.
func (p *providers) reconcileControlPlane(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var kcp controlplanev1.KubeadmControlPlane
	if err := p.c.Get(ctx, req.NamespacedName, &kcp); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var machines clusterv1.MachineList
	if err := p.c.List(ctx, &machines, client.InNamespace(kcp.Namespace), client.MatchingLabels{
		clusterv1.ClusterNameLabel: kcp.Labels[clusterv1.ClusterNameLabel], clusterv1.MachineControlPlaneLabel: "",
	}); err != nil {
		return reconcile.Result{}, err
	}
	if kcp.DeletionTimestamp != nil {
		for i := range machines.Items {
			if err := p.c.Delete(ctx, &machines.Items[i]); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, err
			}
		}
		if len(machines.Items) > 0 {
			return reconcile.Result{}, nil // the Machines' deletion brings us back
		}
		patch := client.MergeFrom(kcp.DeepCopy())
		controllerutil.RemoveFinalizer(&kcp, cpFinalizer)
		return reconcile.Result{}, client.IgnoreNotFound(p.c.Patch(ctx, &kcp, patch))
	}
	cl, err := p.clusterOf(ctx, &kcp)
	if err != nil || cl == nil {
		return reconcile.Result{}, err
	}
	if _, ok := ownerKind(&kcp, "Cluster"); !ok {
		return reconcile.Result{}, nil
	}
	if controllerutil.AddFinalizer(&kcp, cpFinalizer) {
		if err := p.c.Update(ctx, &kcp); err != nil {
			return reconcile.Result{}, err
		}
	}
	if !ptr.Deref(cl.Status.Initialization.InfrastructureProvisioned, false) || !cl.Spec.ControlPlaneEndpoint.IsValid() {
		return reconcile.Result{}, nil // the Cluster watch brings us back
	}

	// The admin kubeconfig, as kubeadm's control plane writes it.
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: capi.KubeconfigSecretName(cl.Name),
			Labels: map[string]string{clusterv1.ClusterNameLabel: cl.Name}},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": p.workloadKubeconfig},
	}
	if err := controllerutil.SetControllerReference(&kcp, sec, p.c.Scheme()); err != nil {
		return reconcile.Result{}, err
	}
	if err := p.c.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return reconcile.Result{}, err
	}

	replicas := ptr.Deref(kcp.Spec.Replicas, 1)
	for n := int32(len(machines.Items)); n < replicas; n++ {
		if err := p.createControlPlaneMachine(ctx, cl, &kcp); err != nil {
			return reconcile.Result{}, err
		}
	}

	var ready, available int32
	initialized := ptr.Deref(kcp.Status.Initialization.ControlPlaneInitialized, false)
	for i := range machines.Items {
		m := &machines.Items[i]
		initialized = initialized || m.Status.NodeRef.IsDefined()
		if conditions.IsTrue(m, clusterv1.MachineReadyCondition) {
			ready++
		}
		if conditions.IsTrue(m, clusterv1.MachineAvailableCondition) {
			available++
		}
	}
	patch := client.MergeFrom(kcp.DeepCopy())
	current := int32(len(machines.Items))
	kcp.Status.Replicas, kcp.Status.ReadyReplicas, kcp.Status.AvailableReplicas, kcp.Status.UpToDateReplicas = &current, &ready, &available, &current
	kcp.Status.Versions = []clusterv1.StatusVersion{{Version: kcp.Spec.Version, Replicas: current}}
	kcp.Status.ObservedGeneration = kcp.Generation
	if initialized {
		kcp.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	}
	cond := metav1.Condition{Type: controlplanev1.KubeadmControlPlaneAvailableCondition, Status: metav1.ConditionFalse,
		Reason: "NotAvailable", Message: fmt.Sprintf("%d of %d control plane machines available", available, replicas), ObservedGeneration: kcp.Generation}
	if initialized && available > replicas/2 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Available", ""
	}
	meta.SetStatusCondition(&kcp.Status.Conditions, cond)
	return reconcile.Result{}, p.c.Status().Patch(ctx, &kcp, patch)
}

func (p *providers) createControlPlaneMachine(ctx context.Context, cl *clusterv1.Cluster, kcp *controlplanev1.KubeadmControlPlane) error {
	name := kcp.Name + "-" + utilrand.String(5)
	labels := map[string]string{clusterv1.ClusterNameLabel: cl.Name, clusterv1.MachineControlPlaneLabel: ""}
	ref := kcp.Spec.MachineTemplate.Spec.InfrastructureRef
	tmpl := newObject(ref.Kind, nil)
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: kcp.Namespace, Name: ref.Name}, tmpl); err != nil {
		return fmt.Errorf("control-plane machine template: %w", err)
	}
	spec, _, _ := unstructured.NestedMap(tmpl.Object, "spec", "template", "spec")
	infra := newObject(kindMachine, spec)
	infra.SetNamespace(kcp.Namespace)
	infra.SetName(name)
	infra.SetLabels(labels)
	if err := controllerutil.SetControllerReference(kcp, infra, p.c.Scheme()); err != nil {
		return err
	}
	// Bootstrap data of "kubeadm init/join" for this machine.
	data := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: kcp.Namespace, Name: name, Labels: labels},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": []byte("#!/bin/sh\n# played kubeadm init\n"), "format": []byte("cloud-config")},
	}
	if err := controllerutil.SetControllerReference(kcp, data, p.c.Scheme()); err != nil {
		return err
	}
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: kcp.Namespace, Name: name, Labels: labels},
		Spec: clusterv1.MachineSpec{
			ClusterName:       cl.Name,
			Version:           kcp.Spec.Version,
			Bootstrap:         clusterv1.Bootstrap{DataSecretName: &data.Name},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: capi.InfrastructureGroup, Kind: kindMachine, Name: name},
		},
	}
	if err := controllerutil.SetControllerReference(kcp, m, p.c.Scheme()); err != nil {
		return err
	}
	for _, o := range []client.Object{infra, data, m} {
		if err := p.c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating control-plane %T %s: %w", o, name, err)
		}
	}
	return nil
}

// reconcileKubeadmConfig plays the kubeadm bootstrap provider for workers: once the
// control plane is initialized (kubeadm join needs one), it writes the bootstrap
// data Secret and status.initialization.dataSecretCreated + status.dataSecretName.
func (p *providers) reconcileKubeadmConfig(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var cfg bootstrapv1.KubeadmConfig
	if err := p.c.Get(ctx, req.NamespacedName, &cfg); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if cfg.DeletionTimestamp != nil || ptr.Deref(cfg.Status.Initialization.DataSecretCreated, false) {
		return reconcile.Result{}, nil
	}
	cl, err := p.clusterOf(ctx, &cfg)
	if err != nil || cl == nil || !ptr.Deref(cl.Status.Initialization.ControlPlaneInitialized, false) {
		return reconcile.Result{}, err // the Cluster watch brings us back
	}
	data := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name, Labels: map[string]string{clusterv1.ClusterNameLabel: cl.Name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": []byte("#!/bin/sh\n# played kubeadm join\n"), "format": []byte("cloud-config")},
	}
	if err := controllerutil.SetControllerReference(&cfg, data, p.c.Scheme()); err != nil {
		return reconcile.Result{}, err
	}
	if err := p.c.Create(ctx, data); err != nil && !apierrors.IsAlreadyExists(err) {
		return reconcile.Result{}, err
	}
	patch := client.MergeFrom(cfg.DeepCopy())
	cfg.Status.Initialization.DataSecretCreated = ptr.To(true)
	cfg.Status.DataSecretName = data.Name
	cfg.Status.ObservedGeneration = cfg.Generation
	return reconcile.Result{}, p.c.Status().Patch(ctx, &cfg, patch)
}
