package reconcilers

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
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

// This file holds the PLAYED PROVIDERS. They are not Cluster API code: each plays
// one provider just far enough to honour its side of the Cluster API contract, so
// that the real core reconcilers (Cluster, Machine, MachineSet, MachineDeployment,
// ClusterCache; see env.go) have something to drive.
//
//   - The infrastructure provider (Infrastructure, ContinuumTestCluster,
//     ContinuumTestMachine): "machines" are Nodes created in the workload apiserver
//     after a provisioning delay.
//   - The control-plane provider, for both distributions: it reconciles the real
//     KubeadmControlPlane (v1beta2 contract) and KThreesControlPlane (k3s's CRD,
//     v1beta1 contract) objects the backend renders, but is neither Cluster API's KCP
//     controller nor k3s's: it writes the <cluster>-kubeconfig Secret, creates the
//     control-plane Machines and reports the contract's status from them.
//   - The bootstrap provider, for both distributions: a data Secret for each
//     KubeadmConfig or KThreesConfig the real MachineSet reconciler clones from the
//     backend's template, once the control plane is initialized.

// Played infrastructure provider kinds (crds/, contract label v1beta2: v1alpha1).
const (
	infraVersion        = "v1alpha1"
	infraAPIVersion     = capi.InfrastructureGroup + "/" + infraVersion
	kindCluster         = "ContinuumTestCluster"
	kindMachine         = "ContinuumTestMachine"
	kindMachineTemplate = "ContinuumTestMachineTemplate"

	annProvisioningStarted = "test.continuum.xr/provisioning-started"
	cpFinalizer            = "test.continuum.xr/control-plane"
)

// Contract versions a provider's CRD declares with its contract label.
const (
	contractV1Beta2 = "v1beta2"
	contractV1Beta1 = "v1beta1"
)

// Infrastructure is the capi.InfrastructureProvider of the played infrastructure
// provider, registered as ProviderName by Env.Backend.
type Infrastructure struct{}

var _ capi.InfrastructureProvider = Infrastructure{}

// APIVersion returns the played provider's API version.
func (Infrastructure) APIVersion() string { return infraAPIVersion }

// ClusterKind returns ContinuumTestCluster.
func (Infrastructure) ClusterKind() string { return kindCluster }

// MachineTemplateKind returns ContinuumTestMachineTemplate.
func (Infrastructure) MachineTemplateKind() string { return kindMachineTemplate }

// Cluster returns an infrastructure cluster with no settings.
func (Infrastructure) Cluster(provision.ClusterSpec) (*unstructured.Unstructured, error) {
	return newObject(infraAPIVersion, kindCluster, map[string]any{"region": "test"}), nil
}

// MachineTemplate returns a machine template that records the machines' role.
func (Infrastructure) MachineTemplate(_ provision.ClusterSpec, controlPlane bool) (*unstructured.Unstructured, error) {
	role := "worker"
	if controlPlane {
		role = "control-plane"
	}
	return newObject(infraAPIVersion, kindMachineTemplate, map[string]any{"template": map[string]any{"spec": map[string]any{"role": role}}}), nil
}

func newObject(apiVersion, kind string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	return u
}

// controlPlaneKind is a control-plane kind the played control plane reconciles.
type controlPlaneKind struct {
	apiVersion, kind string
	// contract is the Cluster API contract version its CRD declares.
	contract string
	// infraRefPath is the path of the machine template's infrastructure reference,
	// whose kind and name are read.
	infraRefPath []string
}

var controlPlaneKinds = []controlPlaneKind{
	{apiVersion: controlplanev1.GroupVersion.String(), kind: "KubeadmControlPlane", contract: contractV1Beta2,
		infraRefPath: []string{"spec", "machineTemplate", "spec", "infrastructureRef"}},
	{apiVersion: capi.K3sControlPlaneAPIVersion, kind: capi.K3sControlPlaneKind, contract: contractV1Beta1,
		infraRefPath: []string{"spec", "machineTemplate", "infrastructureRef"}},
}

// bootstrapKind is a bootstrap config kind the played bootstrap provider reconciles.
type bootstrapKind struct {
	apiVersion, kind, contract string
}

var bootstrapKinds = []bootstrapKind{
	{apiVersion: bootstrapv1.GroupVersion.String(), kind: "KubeadmConfig", contract: contractV1Beta2},
	{apiVersion: capi.K3sBootstrapAPIVersion, kind: "KThreesConfig", contract: contractV1Beta1},
}

// players holds what the played providers share: the management client (the
// manager's), the workload apiserver and the played delays.
type players struct {
	c client.Client
	// reader reads from the apiserver, not the manager's cache: the control plane
	// counts its Machines with it, since a cache that has not seen a Machine just
	// created would make it create a second one.
	reader client.Reader
	// workload is an admin client of the workload apiserver, where Nodes appear.
	workload client.Client
	// workloadKubeconfig is what the control plane writes to <cluster>-kubeconfig.
	workloadKubeconfig []byte
	// host and port are the workload apiserver's endpoint.
	host string
	port int32
	// infraDelay and machineDelay are the played provisioning times.
	infraDelay, machineDelay time.Duration
}

// setup registers the played providers' controllers with mgr.
func (p *players) setup(mgr ctrl.Manager, workloadHost string) error {
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
		For(newObject(infraAPIVersion, kindCluster, nil)).
		Complete(reconcile.Func(p.reconcileInfraCluster)); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("test-infra-machine").
		For(newObject(infraAPIVersion, kindMachine, nil)).
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
	for _, k := range controlPlaneKinds {
		if err := ctrl.NewControllerManagedBy(mgr).Named("test-"+strings.ToLower(k.kind)).
			For(newObject(k.apiVersion, k.kind, nil)).
			Owns(&clusterv1.Machine{}).
			Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
				c := o.(*clusterv1.Cluster)
				if c.Spec.ControlPlaneRef.Kind != k.kind {
					return nil
				}
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Spec.ControlPlaneRef.Name}}}
			})).
			Complete(p.controlPlaneReconciler(k)); err != nil {
			return err
		}
	}
	for _, k := range bootstrapKinds {
		if err := ctrl.NewControllerManagedBy(mgr).Named("test-"+strings.ToLower(k.kind)).
			For(newObject(k.apiVersion, k.kind, nil)).
			Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
				list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": k.apiVersion, "kind": k.kind + "List"}}
				if err := p.c.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{clusterv1.ClusterNameLabel: o.GetName()}); err != nil {
					return nil
				}
				var reqs []reconcile.Request
				for i := range list.Items {
					reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
				}
				return reqs
			})).
			Complete(p.bootstrapReconciler(k)); err != nil {
			return err
		}
	}
	return nil
}

// clusterOf returns the Cluster named by obj's cluster-name label, or nil while
// there is none.
func (p *players) clusterOf(ctx context.Context, obj client.Object) (*clusterv1.Cluster, error) {
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
// reconciler has made the Cluster its owner, and infraDelay after creation, it sets
// spec.controlPlaneEndpoint (the workload apiserver) and
// status.initialization.provisioned.
func (p *players) reconcileInfraCluster(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	u := newObject(infraAPIVersion, kindCluster, nil)
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
	if wait := p.infraDelay - time.Since(u.GetCreationTimestamp().Time); wait > 0 {
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
func (p *players) reconcileInfraMachine(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	u := newObject(infraAPIVersion, kindMachine, nil)
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
	if wait := p.machineDelay - time.Since(started); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}

	providerID := ProviderIDPrefix + u.GetNamespace() + "/" + u.GetName()
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

// controlPlaneReconciler plays the control-plane provider on objects of kind k
// (NOT Cluster API's KCP controller, nor k3s's). Once the Cluster's infrastructure is
// provisioned it writes the <cluster>-kubeconfig Secret (pointing at the workload
// apiserver), creates the missing control-plane Machines (each with a cloned
// infrastructure machine and ready-made bootstrap data), and reports the status
// fields of k's contract from those Machines: replicas, readiness and availability
// counts, initialization (a Machine got its Node) and condition Available (a
// majority of machines available). On deletion it deletes its Machines (envtest has
// no garbage collector), then lets go.
func (p *players) controlPlaneReconciler(k controlPlaneKind) reconcile.Func {
	return func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		cp := newObject(k.apiVersion, k.kind, nil)
		if err := p.c.Get(ctx, req.NamespacedName, cp); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		var machines clusterv1.MachineList
		if err := p.reader.List(ctx, &machines, client.InNamespace(cp.GetNamespace()), client.MatchingLabels{
			clusterv1.ClusterNameLabel: cp.GetLabels()[clusterv1.ClusterNameLabel], clusterv1.MachineControlPlaneLabel: "",
		}); err != nil {
			return reconcile.Result{}, err
		}
		if cp.GetDeletionTimestamp() != nil {
			for i := range machines.Items {
				if err := p.c.Delete(ctx, &machines.Items[i]); client.IgnoreNotFound(err) != nil {
					return reconcile.Result{}, err
				}
			}
			if len(machines.Items) > 0 {
				return reconcile.Result{}, nil // the Machines' deletion brings us back
			}
			patch := client.MergeFrom(cp.DeepCopy())
			controllerutil.RemoveFinalizer(cp, cpFinalizer)
			return reconcile.Result{}, client.IgnoreNotFound(p.c.Patch(ctx, cp, patch))
		}
		cl, err := p.clusterOf(ctx, cp)
		if err != nil || cl == nil {
			return reconcile.Result{}, err
		}
		if _, ok := ownerKind(cp, "Cluster"); !ok {
			return reconcile.Result{}, nil
		}
		if controllerutil.AddFinalizer(cp, cpFinalizer) {
			if err := p.c.Update(ctx, cp); err != nil {
				return reconcile.Result{}, err
			}
		}
		if cl.Status.Initialization.InfrastructureProvisioned == nil || !*cl.Status.Initialization.InfrastructureProvisioned ||
			!cl.Spec.ControlPlaneEndpoint.IsValid() {
			return reconcile.Result{}, nil // the Cluster watch brings us back
		}

		// The admin kubeconfig, as kubeadm's or k3s's control plane writes it.
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: capi.KubeconfigSecretName(cl.Name),
				Labels: map[string]string{clusterv1.ClusterNameLabel: cl.Name}},
			Type: clusterv1.ClusterSecretType,
			Data: map[string][]byte{"value": p.workloadKubeconfig},
		}
		if err := controllerutil.SetControllerReference(cp, sec, p.c.Scheme()); err != nil {
			return reconcile.Result{}, err
		}
		if err := p.c.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, err
		}

		replicas, found, err := unstructured.NestedInt64(cp.Object, "spec", "replicas")
		if err != nil {
			return reconcile.Result{}, err
		}
		if !found {
			replicas = 1
		}
		for n := int64(len(machines.Items)); n < replicas; n++ {
			if err := p.createControlPlaneMachine(ctx, cl, cp, k); err != nil {
				return reconcile.Result{}, err
			}
		}

		initPath := []string{"status", "initialization", "controlPlaneInitialized"}
		if k.contract == contractV1Beta1 {
			initPath = []string{"status", "initialized"}
		}
		initialized, _, _ := unstructured.NestedBool(cp.Object, initPath...)
		var ready, available int64
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
		isAvailable := initialized && available > replicas/2
		version, _, _ := unstructured.NestedString(cp.Object, "spec", "version")
		current := int64(len(machines.Items))

		patch := client.MergeFrom(cp.DeepCopy())
		status := map[string]any{"replicas": current, "readyReplicas": ready, "observedGeneration": cp.GetGeneration()}
		if k.contract == contractV1Beta1 {
			status["updatedReplicas"] = current
			status["unavailableReplicas"] = max(replicas-available, 0)
			status["version"] = version
			status["ready"] = isAvailable
		} else {
			status["availableReplicas"] = available
			status["upToDateReplicas"] = current
			status["versions"] = []any{map[string]any{"version": version, "replicas": current}}
		}
		for key, v := range status {
			if err := unstructured.SetNestedField(cp.Object, v, "status", key); err != nil {
				return reconcile.Result{}, err
			}
		}
		if initialized {
			if err := unstructured.SetNestedField(cp.Object, true, initPath...); err != nil {
				return reconcile.Result{}, err
			}
		}
		cond := metav1.Condition{Type: controlplanev1.KubeadmControlPlaneAvailableCondition, Status: metav1.ConditionFalse,
			Reason: "NotAvailable", Message: fmt.Sprintf("%d of %d control plane machines available", available, replicas), ObservedGeneration: cp.GetGeneration()}
		if isAvailable {
			cond.Status, cond.Reason = metav1.ConditionTrue, "Available"
		}
		if err := setCondition(cp, cond, k.contract); err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{}, p.c.Status().Patch(ctx, cp, patch)
	}
}

// setCondition sets cond in u's status.conditions the way meta.SetStatusCondition
// does (the transition time changes only with the status). Under the v1beta1
// contract conditions are Cluster API v1beta1 conditions, which have no
// observedGeneration.
func setCondition(u *unstructured.Unstructured, cond metav1.Condition, contract string) error {
	items, _, err := unstructured.NestedSlice(u.Object, "status", "conditions")
	if err != nil {
		return err
	}
	var conds []metav1.Condition
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		var c metav1.Condition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err != nil {
			return fmt.Errorf("reading %s status.conditions: %w", u.GetKind(), err)
		}
		conds = append(conds, c)
	}
	meta.SetStatusCondition(&conds, cond)
	out := make([]any, 0, len(conds))
	for i := range conds {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&conds[i])
		if err != nil {
			return err
		}
		if contract == contractV1Beta1 {
			delete(m, "observedGeneration")
		}
		out = append(out, m)
	}
	return unstructured.SetNestedSlice(u.Object, out, "status", "conditions")
}

func (p *players) createControlPlaneMachine(ctx context.Context, cl *clusterv1.Cluster, cp *unstructured.Unstructured, k controlPlaneKind) error {
	name := cp.GetName() + "-" + utilrand.String(5)
	labels := map[string]string{clusterv1.ClusterNameLabel: cl.Name, clusterv1.MachineControlPlaneLabel: ""}
	refKind, _, _ := unstructured.NestedString(cp.Object, append(k.infraRefPath, "kind")...)
	refName, _, _ := unstructured.NestedString(cp.Object, append(k.infraRefPath, "name")...)
	if refKind != kindMachineTemplate || refName == "" {
		return fmt.Errorf("%s %s: machine template %s %q is not the played infrastructure's", k.kind, cp.GetName(), refKind, refName)
	}
	tmpl := newObject(infraAPIVersion, refKind, nil)
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: cp.GetNamespace(), Name: refName}, tmpl); err != nil {
		return fmt.Errorf("control-plane machine template: %w", err)
	}
	spec, _, _ := unstructured.NestedMap(tmpl.Object, "spec", "template", "spec")
	infra := newObject(infraAPIVersion, kindMachine, spec)
	infra.SetNamespace(cp.GetNamespace())
	infra.SetName(name)
	infra.SetLabels(labels)
	if err := controllerutil.SetControllerReference(cp, infra, p.c.Scheme()); err != nil {
		return err
	}
	// Bootstrap data of "kubeadm init/join" (or "k3s server") for this machine.
	data := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: cp.GetNamespace(), Name: name, Labels: labels},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": []byte("#!/bin/sh\n# played control-plane bootstrap\n"), "format": []byte("cloud-config")},
	}
	if err := controllerutil.SetControllerReference(cp, data, p.c.Scheme()); err != nil {
		return err
	}
	version, _, _ := unstructured.NestedString(cp.Object, "spec", "version")
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: cp.GetNamespace(), Name: name, Labels: labels},
		Spec: clusterv1.MachineSpec{
			ClusterName:       cl.Name,
			Version:           version,
			Bootstrap:         clusterv1.Bootstrap{DataSecretName: &data.Name},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: capi.InfrastructureGroup, Kind: kindMachine, Name: name},
		},
	}
	if err := controllerutil.SetControllerReference(cp, m, p.c.Scheme()); err != nil {
		return err
	}
	for _, o := range []client.Object{infra, data, m} {
		if err := p.c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating control-plane %T %s: %w", o, name, err)
		}
	}
	return nil
}

// bootstrapReconciler plays the bootstrap provider of kind k for workers: once the
// control plane is initialized (kubeadm join and k3s agent need one), it writes the
// bootstrap data Secret, status.dataSecretName and the contract's "created" flag
// (status.initialization.dataSecretCreated, or status.ready under v1beta1).
func (p *players) bootstrapReconciler(k bootstrapKind) reconcile.Func {
	createdPath := []string{"status", "initialization", "dataSecretCreated"}
	if k.contract == contractV1Beta1 {
		createdPath = []string{"status", "ready"}
	}
	return func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		cfg := newObject(k.apiVersion, k.kind, nil)
		if err := p.c.Get(ctx, req.NamespacedName, cfg); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		if created, _, _ := unstructured.NestedBool(cfg.Object, createdPath...); created || cfg.GetDeletionTimestamp() != nil {
			return reconcile.Result{}, nil
		}
		cl, err := p.clusterOf(ctx, cfg)
		if err != nil || cl == nil || cl.Status.Initialization.ControlPlaneInitialized == nil || !*cl.Status.Initialization.ControlPlaneInitialized {
			return reconcile.Result{}, err // the Cluster watch brings us back
		}
		data := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: cfg.GetNamespace(), Name: cfg.GetName(), Labels: map[string]string{clusterv1.ClusterNameLabel: cl.Name}},
			Type:       clusterv1.ClusterSecretType,
			Data:       map[string][]byte{"value": []byte("#!/bin/sh\n# played worker join\n"), "format": []byte("cloud-config")},
		}
		if err := controllerutil.SetControllerReference(cfg, data, p.c.Scheme()); err != nil {
			return reconcile.Result{}, err
		}
		if err := p.c.Create(ctx, data); err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, err
		}
		patch := client.MergeFrom(cfg.DeepCopy())
		for _, f := range []struct {
			v    any
			path []string
		}{
			{true, createdPath},
			{data.Name, []string{"status", "dataSecretName"}},
			{cfg.GetGeneration(), []string{"status", "observedGeneration"}},
		} {
			if err := unstructured.SetNestedField(cfg.Object, f.v, f.path...); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{}, p.c.Status().Patch(ctx, cfg, patch)
	}
}

// ownerKind returns the name of o's owner of the given kind.
func ownerKind(o client.Object, kind string) (string, bool) {
	for _, r := range o.GetOwnerReferences() {
		if r.Kind == kind {
			return r.Name, true
		}
	}
	return "", false
}
