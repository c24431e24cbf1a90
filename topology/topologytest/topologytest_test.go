package topologytest_test

import (
	"maps"
	"testing"

	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

func TestClusterLabels(t *testing.T) {
	topo := tt.New().
		Cluster("a", tt.Labels("continuum.xr/gpu", "a100"), tt.Labels("zone", "z1", "dedicated")).
		Cluster("b").
		MustBuild(t)
	a, ok := topo.Cluster("a")
	if !ok {
		t.Fatal("cluster a missing")
	}
	want := map[string]string{"continuum.xr/gpu": "a100", "zone": "z1", "dedicated": ""}
	if !maps.Equal(a.Labels, want) {
		t.Errorf("cluster a labels = %v, want %v", a.Labels, want)
	}
	if b, _ := topo.Cluster("b"); len(b.Labels) != 0 {
		t.Errorf("cluster b labels = %v, want none", b.Labels)
	}
}
