package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// TestCordonDrainUncordon edits a copy of the paper's topology: cordoning gva-edge
// keeps the placement in force under --mode repair but leaves nowhere for a new
// render-geneva; draining makes even the repair unplaceable, naming the taint;
// uncordoning restores the first plan.
func TestCordonDrainUncordon(t *testing.T) {
	dir := t.TempDir()
	topo := filepath.Join(dir, "topo.yaml")
	data, err := os.ReadFile(topoFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(topo, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, planJSON, stderr := ctl(t, "plan", "-t", topo, "-a", appFile, "-o", "json")
	if code != exitPlaced {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	current := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(current, []byte(planJSON), 0o644); err != nil {
		t.Fatal(err)
	}

	// --dry-run prints and leaves the file alone.
	code, out, stderr := ctl(t, "cordon", "gva-edge", "-t", topo, "--dry-run")
	if code != 0 || !strings.Contains(out, "key: "+topology.TaintUnschedulable) {
		t.Fatalf("cordon --dry-run: exit %d, %s%s", code, out, stderr)
	}
	if now, _ := os.ReadFile(topo); string(now) != string(data) {
		t.Error("cordon --dry-run changed the file")
	}
	if code, out, stderr = ctl(t, "cordon", "gva-edge", "-t", topo); code != 0 || !strings.Contains(out, "cluster/gva-edge cordoned") {
		t.Fatalf("cordon: exit %d, %s%s", code, out, stderr)
	}
	code, out, stderr = ctl(t, "plan", "-t", topo, "-a", appFile, "--explain")
	if code != exitInfeasible || !strings.Contains(stderr+out, "continuum.xr/unschedulable:NoSelect not tolerated") {
		t.Errorf("plan on a cordoned gva-edge: exit %d, want 2 naming the taint:\n%s%s", code, out, stderr)
	}
	code, out, stderr = ctl(t, "plan", "-t", topo, "-a", appFile, "--current", current, "--mode", "repair", "-o", "json")
	var plan placement.Plan
	if code != exitPlaced || json.Unmarshal([]byte(out), &plan) != nil || plan.Moves != 0 {
		t.Errorf("repair on a cordoned gva-edge: exit %d, moves %d, want the placement in force kept\n%s", code, plan.Moves, stderr)
	}

	if code, out, stderr = ctl(t, "drain", "gva-edge", "-t", topo); code != 0 || !strings.Contains(out, "cluster/gva-edge drained") {
		t.Fatalf("drain: exit %d, %s%s", code, out, stderr)
	}
	spec, err := topology.DecodeSpec(mustRead(t, topo))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range spec.Clusters {
		if c.Name == "gva-edge" && (len(c.Taints) != 2 || c.Taints[1].Effect != topology.NoExecute || c.Taints[1].Added.IsZero()) {
			t.Errorf("drained gva-edge taints %+v", c.Taints)
		}
	}
	code, out, stderr = ctl(t, "plan", "-t", topo, "-a", appFile, "--current", current, "--mode", "repair", "--explain")
	if code != exitInfeasible || !strings.Contains(stderr+out, "continuum.xr/drain:NoExecute not tolerated") {
		t.Errorf("repair on a drained gva-edge: exit %d, want 2 naming the drain taint:\n%s%s", code, out, stderr)
	}

	if code, _, stderr = ctl(t, "uncordon", "gva-edge", "-t", topo); code != 0 {
		t.Fatalf("uncordon: exit %d: %s", code, stderr)
	}
	if code, out, _ = ctl(t, "plan", "-t", topo, "-a", appFile, "-o", "json"); code != exitPlaced || out != planJSON {
		t.Errorf("plan after uncordon: exit %d, differs from the first plan: %v", code, out != planJSON)
	}
	for _, args := range [][]string{{"cordon", "nowhere", "-t", topo}, {"drain", "gva-edge"}, {"uncordon"}} {
		if code, _, stderr := ctl(t, args...); code != exitBadInput || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 1 with a message", args, code, stderr)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlanOutputOCM: -o ocm prints a Placement per component and the decisions, with
// the clusters of the plan.
func TestPlanOutputOCM(t *testing.T) {
	code, out, stderr := ctl(t, "plan", "-t", topoFile, "-a", appFile, "-o", "ocm")
	if code != exitPlaced {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	docs := strings.Split(out, "---\n")
	kinds := map[string]int{}
	decided := map[string]string{}
	for _, d := range docs {
		var obj struct {
			Kind     string
			Metadata struct {
				Name   string
				Labels map[string]string
			}
			Status struct {
				Decisions []struct{ ClusterName string }
			}
		}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatalf("%v in:\n%s", err, d)
		}
		kinds[obj.Kind]++
		if obj.Kind == "PlacementDecision" {
			for _, c := range obj.Status.Decisions {
				decided[obj.Metadata.Labels["continuum.xr/component"]] += c.ClusterName
			}
		}
	}
	if kinds["Placement"] != 5 || kinds["PlacementDecision"] != 5 {
		t.Errorf("kinds %v, want 5 Placements and 5 PlacementDecisions", kinds)
	}
	if decided["render-geneva"] != "gva-edge" || decided["asset-pipeline"] != "fra-cloud" {
		t.Errorf("decisions %v", decided)
	}
}
