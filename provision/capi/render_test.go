package capi_test

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

func TestRenderRejectsBadInfrastructure(t *testing.T) {
	base := provision.ClusterSpec{Name: "a", KubernetesVersion: "v1.33.1"}
	s := base
	s.Infrastructure.Provider = "vsphere"
	if _, err := capi.Render(s, nil); !errors.Is(err, provision.ErrInvalid) || !strings.Contains(err.Error(), "infrastructure.provider") {
		t.Errorf("unknown provider: %v", err)
	}
	s = base
	s.Infrastructure = provision.Infrastructure{Provider: "openstack", Parameters: map[string]string{"image": "u"}}
	if _, err := capi.Render(s, nil); !errors.Is(err, provision.ErrInvalid) || !strings.Contains(err.Error(), "flavor") {
		t.Errorf("openstack without flavor: %v", err)
	}
	s.Infrastructure.Parameters = map[string]string{"image": "u", "flavor": "f", "colour": "red"}
	if _, err := capi.Render(s, nil); !errors.Is(err, provision.ErrInvalid) || !strings.Contains(err.Error(), "infrastructure.parameters.colour") {
		t.Errorf("unknown parameter: %v", err)
	}
	if _, err := capi.Render(provision.ClusterSpec{}, nil); !errors.Is(err, provision.ErrInvalid) {
		t.Errorf("empty spec: %v", err)
	}
}

func TestRenderK3s(t *testing.T) {
	objs, err := capi.Render(provision.ClusterSpec{Name: "e", Distribution: provision.K3s, KubernetesVersion: "v1.33.1", Workers: 2,
		Labels: provision.Labels{Tier: "edge"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if got := strings.Join(kinds, ","); got != "Cluster,KThreesControlPlane,DockerCluster,DockerMachineTemplate,KThreesConfigTemplate,DockerMachineTemplate,MachineDeployment" {
		t.Errorf("kinds = %s", got)
	}
	out, err := yaml.Marshal(objs[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version: v1.33.1+k3s1", "continuum.xr/tier=edge", "kind: DockerMachineTemplate"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("KThreesControlPlane lacks %q:\n%s", want, out)
		}
	}
}
