package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
)

const (
	topoFile = "../../topology/topologytest/paper-fig1.yaml"
	appFile  = "../../placement/placementtest/xr-collab.yaml"
)

func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPlanTableAndJSON(t *testing.T) {
	code, out, stderr := ctl(t, "plan", "-t", topoFile, "-a", appFile)
	if code != exitPlaced {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, "xr-collab  render-geneva   0        gva-edge") || !strings.Contains(out, "feasible: true") {
		t.Errorf("table output:\n%s", out)
	}
	code, out, _ = ctl(t, "plan", "-t", topoFile, "-a", appFile, "-o", "json", "--strategy", "exact")
	out0 := out
	if code != exitPlaced {
		t.Fatalf("exit %d", code)
	}
	var plan placement.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("-o json is not a plan: %v", err)
	}
	if len(plan.Assignments) != 5 || plan.Objective.Total <= 0 || len(plan.Chains) != 3 || len(plan.Flows) != 6 || !plan.Search.Optimal {
		t.Errorf("plan JSON lacks content: %d assignments, total %v, %d chains, %d flows, optimal %v",
			len(plan.Assignments), plan.Objective.Total, len(plan.Chains), len(plan.Flows), plan.Search.Optimal)
	}
	// Feed it back as the current plan: nothing moves.
	cur := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(cur, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = ctl(t, "plan", "-t", topoFile, "-a", appFile, "--current", cur, "--mode", "repair")
	if code != exitPlaced || !strings.Contains(out, "moves: 0") {
		t.Errorf("re-placement from the current plan: exit %d\n%s", code, out)
	}
	// A current plan with the Geneva renderer on the Milan edge: repair moves it back
	// (its 5 ms flow to geneva breaks there) and the table says so.
	var moved placement.Plan
	if err := json.Unmarshal([]byte(out0), &moved); err != nil {
		t.Fatal(err)
	}
	for i, a := range moved.Assignments {
		if a.Component == "render-geneva" {
			moved.Assignments[i].Cluster = "mil-edge"
		}
	}
	data, err := json.Marshal(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cur, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = ctl(t, "plan", "-t", topoFile, "-a", appFile, "--current", cur, "--mode", "repair")
	if code != exitPlaced || !strings.Contains(out, "APP        COMPONENT      REPLICA  FROM      TO        WHY") ||
		!strings.Contains(out, "xr-collab  render-geneva  0        mil-edge  gva-edge  on mil-edge: ") || !strings.Contains(out, "moves: 1") {
		t.Errorf("repair of a misplaced renderer: exit %d, want its change listed\n%s", code, out)
	}
}

func TestPlanOutputsYAMLDotAndExplain(t *testing.T) {
	_, out, _ := ctl(t, "plan", "-t", topoFile, "-a", appFile, "-o", "yaml")
	if !strings.Contains(out, "assignments:") || !strings.Contains(out, "feasible: true") {
		t.Errorf("-o yaml:\n%s", out)
	}
	_, out, _ = ctl(t, "plan", "-t", topoFile, "-a", appFile, "-o", "dot")
	if !strings.HasPrefix(out, "graph continuum {") || !strings.Contains(out, `"r:xr-collab/render-geneva/0" [label="render-geneva[0]"`) ||
		strings.Count(out, "{") != strings.Count(out, "}") {
		t.Errorf("-o dot:\n%s", out)
	}
	_, out, _ = ctl(t, "plan", "-t", topoFile, "-a", appFile, "--explain")
	if !strings.Contains(out, "fra-cloud: flow to geneva: RTT 11.2ms > max 5.0ms (site-latency)") {
		t.Errorf("--explain:\n%s", out)
	}
}

func TestPlanExitCodes(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	data, _ := os.ReadFile(appFile)
	if err := os.WriteFile(big, []byte(strings.ReplaceAll(string(data), `gpu: "1"`, `gpu: "4"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := ctl(t, "plan", "-t", topoFile, "-a", big)
	if code != exitInfeasible || !strings.Contains(out, "(unplaced)") || !strings.Contains(out, "provision: 4 CPU + 4 GPU") ||
		!strings.Contains(stderr, "fit nowhere") {
		t.Errorf("infeasible: exit %d\n%s\n%s", code, out, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: continuum.xr/v1alpha1\nkind: Application\nmetadata: {name: x}\ncomponents: [{name: a, replicas: -1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "-t", topoFile, "-a", bad},
		{"plan", "-t", topoFile},
		{"plan", "-t", "missing.yaml", "-a", appFile},
		{"plan", "-t", topoFile, "-a", appFile, "-o", "xml"},
		{"apply"},
	} {
		if code, _, stderr := ctl(t, args...); code != exitBadInput || stderr == "" {
			t.Errorf("%v: exit %d (stderr %q), want %d with a message", args, code, stderr, exitBadInput)
		}
	}
	if _, _, stderr := ctl(t, "plan", "-t", topoFile, "-a", bad); !strings.Contains(stderr, "components[0].replicas: -1 is outside") {
		t.Errorf("bad app message: %s", stderr)
	}
}
