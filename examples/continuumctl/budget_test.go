package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
)

// writeTight writes a stored tight instance (feasible, proven by CBC; the greedy
// construction alone does not place it) as a topology file and one application file
// per application.
func writeTight(t *testing.T, name string) (string, []string) {
	t.Helper()
	recs, err := placementtest.LoadOracleSet("../../placement/testdata/tight")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, r := range recs {
		if r.Name != name {
			continue
		}
		in, err := r.Instance()
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(in.Topology.Spec())
		if err != nil {
			t.Fatal(err)
		}
		topo := filepath.Join(dir, "topology.json")
		if err := os.WriteFile(topo, js, 0o600); err != nil {
			t.Fatal(err)
		}
		var apps []string
		for _, a := range in.Apps {
			js, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, a.Metadata.Name+".json")
			if err := os.WriteFile(path, js, 0o600); err != nil {
				t.Fatal(err)
			}
			apps = append(apps, "-a", path)
		}
		return topo, apps
	}
	t.Fatalf("no stored instance %s", name)
	return "", nil
}

// TestPlanExitCodesOfVerdicts: the same feasible instance is undecided (exit 3, no
// shortfall, the budget named) with a budget too small to find a plan, and placed
// (exit 0) with the default budget; a negative budget is bad input (exit 1).
func TestPlanExitCodesOfVerdicts(t *testing.T) {
	topo, apps := writeTight(t, "tight-c5-n10-l85-s2")
	args := append([]string{"plan", "-t", topo, "--max-nodes", "1", "-o", "json"}, apps...)
	code, out, errOut := ctl(t, args...)
	if code != exitUndecided {
		t.Fatalf("--max-nodes 1: exit %d, want %d (undecided)\n%s", code, exitUndecided, errOut)
	}
	if !strings.Contains(errOut, "undecided") || strings.Contains(errOut, "provision") {
		t.Errorf("undecided stderr should say undecided and nothing about provisioning:\n%s", errOut)
	}
	var got placement.Plan
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Search.Verdict != placement.VerdictUndecided || got.Feasible {
		t.Errorf("json: err %v, verdict %q, feasible %v\n%s", err, got.Search.Verdict, got.Feasible, out)
	}
	code, _, errOut = ctl(t, append([]string{"plan", "-t", topo, "--timeout", "30s"}, apps...)...)
	if code != exitPlaced {
		t.Errorf("default budget: exit %d, want 0\n%s", code, errOut)
	}
	code, _, errOut = ctl(t, append([]string{"plan", "-t", topo, "--max-nodes", "-5"}, apps...)...)
	if code != exitBadInput || !strings.Contains(errOut, "max-nodes") {
		t.Errorf("--max-nodes -5: exit %d, want 1 naming the flag\n%s", code, errOut)
	}
}

// TestPlanSeedRetriesUndecided: a stored tight instance the default seed leaves
// undecided (exit 3; feasible per CBC) is placed with --seed 2 (exit 0, a plan with
// every replica); the seed is part of what makes a plan reproducible.
func TestPlanSeedRetriesUndecided(t *testing.T) {
	topo, apps := writeTight(t, "tight-c15-n30-l85-s39")
	code, _, errOut := ctl(t, append([]string{"plan", "-t", topo, "-o", "json"}, apps...)...)
	if code != exitUndecided {
		t.Fatalf("default seed: exit %d, want %d (undecided)\n%s", code, exitUndecided, errOut)
	}
	var plans [2]string
	for k := range plans {
		code, out, errOut := ctl(t, append([]string{"plan", "-t", topo, "--seed", "2", "-o", "json"}, apps...)...)
		if code != exitPlaced {
			t.Fatalf("--seed 2: exit %d, want 0\n%s", code, errOut)
		}
		var got placement.Plan
		if err := json.Unmarshal([]byte(out), &got); err != nil || !got.Feasible || got.Search.Verdict != placement.VerdictPlaced {
			t.Fatalf("--seed 2: err %v, feasible %v, verdict %q", err, got.Feasible, got.Search.Verdict)
		}
		plans[k] = out
	}
	if plans[0] != plans[1] {
		t.Error("--seed 2 twice gave two plans")
	}
}
