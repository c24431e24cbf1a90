package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/continuum-xr/continuum/placement/placementtest"
)

// The logs and solution files below are excerpts of what CBC 2.10.8 printed in each case.
func TestParseCBC(t *testing.T) {
	cases := []struct {
		name, log, sol   string
		status           string
		objective, bound float64
		values           map[string]float64
	}{
		{"optimal", "Result - Optimal solution found\n\nObjective value:                2.00000000\nEnumerated nodes: 0\n",
			"Optimal - objective value 2.00000000\n      0 x_a                    0                       3\n      1 x_b                    1                       2\n",
			placementtest.StatusOptimal, 2, 2, map[string]float64{"x_a": 0, "x_b": 1}},
		{"stopped with a plan", "Result - Stopped on time limit\n\nObjective value:                233.12471000\nLower bound:                    137.379\nGap:                            0.70\n",
			"Stopped on time - objective value 233.12471000\n      0 x_0_3                      1                       0\n",
			placementtest.StatusFeasible, 233.12471, 137.379, map[string]float64{"x_0_3": 1}},
		{"stopped without a plan", "Result - Stopped on time limit\n\nNo feasible solution found\n",
			"Stopped on time (no integer solution - continuous used) - objective value 398.51020368\n      0 x_0_20                      1                       0\n",
			placementtest.StatusUnknown, 0, 0, nil},
		{"infeasible in the LP", "command line - cbc inf.lp solve solu inf.sol (default strategy 1)\nProblem is infeasible - 0.00 seconds\n",
			"Infeasible - objective value 3.00000000\n", placementtest.StatusInfeasible, 0, 0, nil},
		{"infeasible after search", "Result - Problem proven infeasible\n\nNo feasible solution found\n",
			"Infeasible - objective value 3.00000000\n", placementtest.StatusInfeasible, 0, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sol := filepath.Join(t.TempDir(), "m.sol")
			if err := os.WriteFile(sol, []byte(c.sol), 0o644); err != nil {
				t.Fatal(err)
			}
			res, values, err := parseCBC(c.log, sol)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.status || res.Objective != c.objective || res.Bound != c.bound {
				t.Errorf("got status %s objective %v bound %v, want %s %v %v", res.Status, res.Objective, res.Bound, c.status, c.objective, c.bound)
			}
			if len(values) != len(c.values) {
				t.Errorf("got values %v, want %v", values, c.values)
			}
			for k, v := range c.values {
				if values[k] != v {
					t.Errorf("%s = %v, want %v", k, values[k], v)
				}
			}
		})
	}
	if _, _, err := parseCBC("Result - Something new\n", filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("an unknown result was accepted")
	}
}
