package capi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/continuum-xr/continuum/provision"
)

// InfrastructureGroup is the API group of Cluster API infrastructure providers.
const InfrastructureGroup = "infrastructure.cluster.x-k8s.io"

// InfrastructureProvider renders the infrastructure objects of a cluster for one
// Cluster API infrastructure provider. Objects are unstructured so that no provider's
// Go module is needed.
type InfrastructureProvider interface {
	// APIVersion is the provider's API version ("infrastructure.cluster.x-k8s.io/v1beta2").
	APIVersion() string
	// ClusterKind and MachineTemplateKind are the kinds of the infrastructure cluster
	// and of the machine templates.
	ClusterKind() string
	MachineTemplateKind() string
	// Cluster returns the infrastructure cluster object (name and namespace are set
	// by the caller). Bad or missing parameters give an error naming them.
	Cluster(spec provision.ClusterSpec) (*unstructured.Unstructured, error)
	// MachineTemplate returns the machine template for the control plane or workers.
	MachineTemplate(spec provision.ClusterSpec, controlPlane bool) (*unstructured.Unstructured, error)
}

// Docker is the Cluster API Docker provider (CAPD, infrastructure.cluster.x-k8s.io/v1beta2),
// for development and CI. Parameter "customImage" sets the node image (default: CAPD's
// kindest/node for the Kubernetes version).
type Docker struct{}

var _ InfrastructureProvider = Docker{}

// APIVersion returns infrastructure.cluster.x-k8s.io/v1beta2.
func (Docker) APIVersion() string { return InfrastructureGroup + "/v1beta2" }

// ClusterKind returns DockerCluster.
func (Docker) ClusterKind() string { return "DockerCluster" }

// MachineTemplateKind returns DockerMachineTemplate.
func (Docker) MachineTemplateKind() string { return "DockerMachineTemplate" }

// Cluster returns a DockerCluster with CAPD's defaults.
func (d Docker) Cluster(spec provision.ClusterSpec) (*unstructured.Unstructured, error) {
	if err := onlyParams(spec, "customImage"); err != nil {
		return nil, err
	}
	return object(d.APIVersion(), d.ClusterKind(), map[string]any{}), nil
}

// MachineTemplate returns a DockerMachineTemplate.
func (d Docker) MachineTemplate(spec provision.ClusterSpec, _ bool) (*unstructured.Unstructured, error) {
	ms := map[string]any{}
	if img := spec.Infrastructure.Parameters["customImage"]; img != "" {
		ms["customImage"] = img
	}
	return object(d.APIVersion(), d.MachineTemplateKind(), map[string]any{"template": map[string]any{"spec": ms}}), nil
}

// OpenStack is the Cluster API OpenStack provider (CAPO v0.14,
// infrastructure.cluster.x-k8s.io/v1beta1), the seed paper's. Parameters:
//
//	image               Glance image name of the nodes (required)
//	flavor              Nova flavor of the workers (required)
//	controlPlaneFlavor  flavor of the control plane (default: flavor)
//	cloudName           entry of clouds.yaml (default "openstack")
//	identitySecret      Secret holding clouds.yaml (default "<cluster>-cloud-config");
//	                    the credentials stay in that Secret, never in the spec
//	externalNetworkID   external network for floating IPs (default: CAPO's choice)
//	nodeCIDR            subnet created for the nodes (default 10.6.0.0/24)
//	sshKeyName          Nova key pair injected into the nodes
type OpenStack struct{}

var _ InfrastructureProvider = OpenStack{}

// APIVersion returns infrastructure.cluster.x-k8s.io/v1beta1.
func (OpenStack) APIVersion() string { return InfrastructureGroup + "/v1beta1" }

// ClusterKind returns OpenStackCluster.
func (OpenStack) ClusterKind() string { return "OpenStackCluster" }

// MachineTemplateKind returns OpenStackMachineTemplate.
func (OpenStack) MachineTemplateKind() string { return "OpenStackMachineTemplate" }

// Cluster returns an OpenStackCluster with a managed network and security groups.
func (o OpenStack) Cluster(spec provision.ClusterSpec) (*unstructured.Unstructured, error) {
	p := spec.Infrastructure.Parameters
	if err := onlyParams(spec, "image", "flavor", "controlPlaneFlavor", "cloudName", "identitySecret", "externalNetworkID", "nodeCIDR", "sshKeyName"); err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range []string{"image", "flavor"} {
		if p[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("infrastructure.parameters: openstack needs %v", missing)
	}
	s := map[string]any{
		"identityRef": map[string]any{
			"type":      "Secret",
			"name":      or(p["identitySecret"], spec.Name+"-cloud-config"),
			"cloudName": or(p["cloudName"], "openstack"),
		},
		"managedSecurityGroups": map[string]any{"allowAllInClusterTraffic": true},
		"managedSubnets":        []any{map[string]any{"cidr": or(p["nodeCIDR"], "10.6.0.0/24")}},
		"apiServerLoadBalancer": map[string]any{"enabled": true},
	}
	if id := p["externalNetworkID"]; id != "" {
		s["externalNetwork"] = map[string]any{"id": id}
	}
	return object(o.APIVersion(), o.ClusterKind(), s), nil
}

// MachineTemplate returns an OpenStackMachineTemplate.
func (o OpenStack) MachineTemplate(spec provision.ClusterSpec, controlPlane bool) (*unstructured.Unstructured, error) {
	p := spec.Infrastructure.Parameters
	flavor := p["flavor"]
	if controlPlane {
		flavor = or(p["controlPlaneFlavor"], flavor)
	}
	ms := map[string]any{
		"flavor": flavor,
		"image":  map[string]any{"filter": map[string]any{"name": p["image"]}},
	}
	if k := p["sshKeyName"]; k != "" {
		ms["sshKeyName"] = k
	}
	return object(o.APIVersion(), o.MachineTemplateKind(), map[string]any{"template": map[string]any{"spec": ms}}), nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func object(apiVersion, kind string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "spec": spec}}
}

// onlyParams rejects parameters a provider does not know.
func onlyParams(spec provision.ClusterSpec, known ...string) error {
	for k := range spec.Infrastructure.Parameters {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return fmt.Errorf("infrastructure.parameters.%s: unknown parameter of %s (known: %v)", k, spec.Infrastructure.Provider, known)
		}
	}
	return nil
}
