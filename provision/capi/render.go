package capi

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/continuum-xr/continuum/provision"
)

// Names and labels of the objects the backend writes.
const (
	// LabelDistribution records the distribution on the Cluster.
	LabelDistribution = "continuum.xr/distribution"
	// LabelInfrastructure records the infrastructure provider on the Cluster.
	LabelInfrastructure = "continuum.xr/infrastructure"
	// LabelManagedBy marks every object the backend writes.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "continuum"

	// k3s API versions and kinds (github.com/k3s-io/cluster-api-k3s v0.3.x).
	K3sControlPlaneAPIVersion = "controlplane.cluster.x-k8s.io/v1beta2"
	K3sControlPlaneKind       = "KThreesControlPlane"
	K3sBootstrapAPIVersion    = "bootstrap.cluster.x-k8s.io/v1beta2"
	K3sConfigTemplateKind     = "KThreesConfigTemplate"

	// WorkerClass is the MachineDeployment class used in ClusterClass mode.
	WorkerClass = "default-worker"
)

// MachineDeploymentName returns the name of a cluster's worker MachineDeployment.
func MachineDeploymentName(cluster string) string { return cluster + "-md-0" }

// KubeconfigSecretName returns the name of the Secret holding a cluster's admin
// kubeconfig, written by the control-plane provider.
func KubeconfigSecretName(cluster string) string { return cluster + "-kubeconfig" }

// Render returns the objects that provision spec, in apply order: the Cluster first,
// then the control plane, the infrastructure, the bootstrap template and the
// MachineDeployment (ClusterClass mode: the Cluster alone). kubeadm objects are typed
// Cluster API v1beta2 objects; k3s and infrastructure objects are unstructured.
// providers maps Infrastructure.Provider names to providers (nil means
// DefaultProviders). Render is what `--dry-run -o yaml` prints.
func Render(spec provision.ClusterSpec, providers map[string]InfrastructureProvider) ([]runtime.Object, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("provision/capi: %w", err)
	}
	s := spec.WithDefaults()
	if providers == nil {
		providers = DefaultProviders()
	}
	labels := s.Labels.Map()
	labels[clusterv1.ClusterNameLabel] = s.Name
	labels[LabelManagedBy] = ManagedBy
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: maps.Clone(labels)}
	}
	version := s.KubernetesVersion

	cluster := &clusterv1.Cluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster"},
		ObjectMeta: meta(s.Name),
		Spec: clusterv1.ClusterSpec{ClusterNetwork: clusterv1.ClusterNetwork{
			Pods:     clusterv1.NetworkRanges{CIDRBlocks: s.PodCIDRs},
			Services: clusterv1.NetworkRanges{CIDRBlocks: s.ServiceCIDRs},
		}},
	}
	cluster.Labels[LabelDistribution] = string(s.Distribution)
	delete(cluster.Labels, clusterv1.ClusterNameLabel)

	if cc := s.Infrastructure.ClusterClass; cc != "" {
		cluster.Spec.Topology = clusterv1.Topology{
			ClassRef:     clusterv1.ClusterClassRef{Name: cc},
			Version:      version,
			ControlPlane: clusterv1.ControlPlaneTopology{Replicas: &s.ControlPlaneReplicas},
			Workers: clusterv1.WorkersTopology{MachineDeployments: []clusterv1.MachineDeploymentTopology{{
				Class: WorkerClass, Name: "md-0", Replicas: &s.Workers,
			}}},
		}
		return []runtime.Object{cluster}, nil
	}

	pname := s.Infrastructure.Provider
	if pname == "" {
		pname = DefaultProvider
	}
	prov, ok := providers[pname]
	if !ok {
		return nil, fmt.Errorf("provision/capi: infrastructure.provider: unknown provider %q (known: %s): %w",
			pname, strings.Join(slices.Sorted(maps.Keys(providers)), ", "), provision.ErrInvalid)
	}
	s.Infrastructure.Provider = pname
	cluster.Labels[LabelInfrastructure] = pname
	infraRef := func(kind, name string) clusterv1.ContractVersionedObjectReference {
		return clusterv1.ContractVersionedObjectReference{APIGroup: InfrastructureGroup, Kind: kind, Name: name}
	}
	cluster.Spec.InfrastructureRef = infraRef(prov.ClusterKind(), s.Name)

	infraCluster, err := prov.Cluster(s)
	if err != nil {
		return nil, fmt.Errorf("provision/capi: %s: %w: %w", pname, err, provision.ErrInvalid)
	}
	cpTemplate, err := prov.MachineTemplate(s, true)
	if err != nil {
		return nil, fmt.Errorf("provision/capi: %s: %w: %w", pname, err, provision.ErrInvalid)
	}
	mdTemplate, err := prov.MachineTemplate(s, false)
	if err != nil {
		return nil, fmt.Errorf("provision/capi: %s: %w: %w", pname, err, provision.ErrInvalid)
	}
	setMeta(infraCluster, meta(s.Name))
	setMeta(cpTemplate, meta(s.Name+"-control-plane"))
	setMeta(mdTemplate, meta(MachineDeploymentName(s.Name)))

	nodeLabels := nodeLabelArg(s.Labels)
	var controlPlane, bootstrap runtime.Object
	var bootstrapRef clusterv1.ContractVersionedObjectReference
	switch s.Distribution {
	case provision.K3s:
		cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: K3sControlPlaneKind, Name: s.Name}
		agent := map[string]any{}
		if nodeLabels != "" {
			var ls []any
			for _, l := range strings.Split(nodeLabels, ",") {
				ls = append(ls, l)
			}
			agent["nodeLabels"] = ls
		}
		cp := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": K3sControlPlaneAPIVersion, "kind": K3sControlPlaneKind,
			"spec": map[string]any{
				"replicas": int64(s.ControlPlaneReplicas),
				"version":  version,
				"machineTemplate": map[string]any{"infrastructureRef": map[string]any{
					"apiVersion": prov.APIVersion(), "kind": prov.MachineTemplateKind(), "name": cpTemplate.GetName(),
				}},
				"kthreesConfigSpec": map[string]any{"agentConfig": agent, "serverConfig": map[string]any{}},
			},
		}}
		setMeta(cp, meta(s.Name))
		bt := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": K3sBootstrapAPIVersion, "kind": K3sConfigTemplateKind,
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"agentConfig": agent}}},
		}}
		setMeta(bt, meta(MachineDeploymentName(s.Name)))
		controlPlane, bootstrap = cp, bt
		bootstrapRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: K3sConfigTemplateKind, Name: bt.GetName()}
	default:
		cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: s.Name}
		reg := bootstrapv1.NodeRegistrationOptions{}
		if nodeLabels != "" {
			reg.KubeletExtraArgs = []bootstrapv1.Arg{{Name: "node-labels", Value: &nodeLabels}}
		}
		kcp := &controlplanev1.KubeadmControlPlane{
			TypeMeta:   metav1.TypeMeta{APIVersion: controlplanev1.GroupVersion.String(), Kind: "KubeadmControlPlane"},
			ObjectMeta: meta(s.Name),
			Spec: controlplanev1.KubeadmControlPlaneSpec{
				Replicas: &s.ControlPlaneReplicas,
				Version:  version,
				MachineTemplate: controlplanev1.KubeadmControlPlaneMachineTemplate{Spec: controlplanev1.KubeadmControlPlaneMachineTemplateSpec{
					InfrastructureRef: infraRef(prov.MachineTemplateKind(), cpTemplate.GetName()),
				}},
				KubeadmConfigSpec: bootstrapv1.KubeadmConfigSpec{
					InitConfiguration: bootstrapv1.InitConfiguration{NodeRegistration: reg},
					JoinConfiguration: bootstrapv1.JoinConfiguration{NodeRegistration: reg},
				},
			},
		}
		kct := &bootstrapv1.KubeadmConfigTemplate{
			TypeMeta:   metav1.TypeMeta{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfigTemplate"},
			ObjectMeta: meta(MachineDeploymentName(s.Name)),
			Spec: bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: bootstrapv1.KubeadmConfigSpec{
				JoinConfiguration: bootstrapv1.JoinConfiguration{NodeRegistration: reg},
			}}},
		}
		controlPlane, bootstrap = kcp, kct
		bootstrapRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate", Name: kct.Name}
	}

	mdName := MachineDeploymentName(s.Name)
	selector := map[string]string{clusterv1.ClusterNameLabel: s.Name, clusterv1.MachineDeploymentNameLabel: mdName}
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	md := &clusterv1.MachineDeployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineDeployment"},
		ObjectMeta: meta(mdName),
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: s.Name,
			Replicas:    &s.Workers,
			Selector:    metav1.LabelSelector{MatchLabels: selector},
			Rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
				Type:          clusterv1.RollingUpdateMachineDeploymentStrategyType,
				RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxSurge: &one, MaxUnavailable: &zero},
			}},
			Template: clusterv1.MachineTemplateSpec{
				ObjectMeta: clusterv1.ObjectMeta{Labels: maps.Clone(selector)},
				Spec: clusterv1.MachineSpec{
					ClusterName:       s.Name,
					Version:           version,
					Bootstrap:         clusterv1.Bootstrap{ConfigRef: bootstrapRef},
					InfrastructureRef: infraRef(prov.MachineTemplateKind(), mdTemplate.GetName()),
				},
			},
		},
	}
	return []runtime.Object{cluster, controlPlane, infraCluster, cpTemplate, bootstrap, mdTemplate, md}, nil
}

func setMeta(u *unstructured.Unstructured, m metav1.ObjectMeta) {
	u.SetName(m.Name)
	u.SetNamespace(m.Namespace)
	u.SetLabels(m.Labels)
}

// nodeLabelArg returns the ownership labels as a kubelet --node-labels value.
func nodeLabelArg(l provision.Labels) string {
	m := l.Map()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// toUnstructured converts a rendered object for apply, dropping empty status and
// creation timestamp.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy(), nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("provision/capi: converting %T: %w", obj, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}, nil
}
