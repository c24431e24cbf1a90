package placement_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

// TestDocPointsAtFilesThatExist: every .yaml file the package doc names exists, from
// the repository root.
func TestDocPointsAtFilesThatExist(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`[\w./-]+\.ya?ml`).FindAllString(string(doc), -1)
	if len(names) == 0 {
		t.Fatal("the package doc names no example file")
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("..", n)); err != nil {
			t.Errorf("the package doc points at %s: %v", n, err)
		}
	}
}

// capacitySeen is a filter that records what Candidate.Capacity returns.
type capacitySeen map[string]int64

func (capacitySeen) Name() string { return "capacity-seen" }
func (s capacitySeen) Filter(c *placement.Candidate) string {
	for _, r := range []string{"cpu", "memory", "gpu"} {
		s[c.Cluster.Name+"/"+r] = c.Capacity(topology.ResourceName(r))
	}
	return ""
}

// TestCandidateCapacityIsInMilliUnits: Candidate.Capacity is documented in thousandths
// of the unit (Quantity.MilliValue).
func TestCandidateCapacityIsInMilliUnits(t *testing.T) {
	topo := tt.New().Cluster("a", tt.Capacity("4", "1Gi"), tt.Resource("gpu", "2")).MustBuild(t)
	seen := capacitySeen{}
	e, err := placement.NewEngine(placement.Options{Filters: []placement.Filter{seen}})
	if err != nil {
		t.Fatal(err)
	}
	app := pt.NewApp("x").Component("c", "1", "1Mi").Build()
	if _, err := e.Place(context.Background(), &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app}}); err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string]int64{"a/cpu": 4000, "a/memory": 1 << 30 * 1000, "a/gpu": 2000} {
		if seen[r] != want {
			t.Errorf("Capacity(%s) = %d, want %d", r, seen[r], want)
		}
	}
}
