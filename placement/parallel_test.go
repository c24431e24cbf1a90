package placement_test

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
)

// TestPhasesSideBySideSameAnswer holds that running a tight instance's independent
// search phases on two goroutines (the two large-neighbourhood runs; the complete
// search beside violation search) changes nothing: on stored instances that take each
// of those paths, the plan (statistics included) with GOMAXPROCS=1 and with 2 is the
// same, byte for byte.
func TestPhasesSideBySideSameAnswer(t *testing.T) {
	names := []string{
		"tight-c15-n30-l85-s39", // dive, violation search and complete search all fail: undecided
		"tight-c25-n40-l85-s13", // violation search fails, the complete search finds the plan
		"tight-c20-n30-l60-s26", // violation search finds it; two neighbourhood runs
		"tight-c10-n15-l60-s21", // the dive finds it; two neighbourhood runs
	}
	// The phases each instance runs, so that the test notices when an engine change
	// moves an instance off the path it stands for.
	paths := map[string]string{
		"tight-c15-n30-l85-s39": "dive repair-violations complete-search repair-violations",
		"tight-c25-n40-l85-s13": "dive repair-violations complete-search improve",
		"tight-c20-n30-l60-s26": "dive repair-violations improve",
		"tight-c10-n15-l60-s21": "dive prove improve",
	}
	if testing.Short() {
		names = names[2:]
	}
	var found int
	for _, q := range loadQualitySet(t, tightSet) {
		if !slices.Contains(names, q.rec.Name) {
			continue
		}
		found++
		var plans [2][]byte
		for k, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			plan, err := placement.Place(context.Background(), q.in.Snapshot(), q.in.Request())
			runtime.GOMAXPROCS(old)
			if err != nil && plan == nil {
				t.Fatalf("%s: %v", q.rec.Name, err)
			}
			plans[k], _ = json.Marshal(plan)
			var ran []string
			for _, ph := range plan.Search.Phases {
				ran = append(ran, ph.Name)
			}
			if got := strings.Join(ran, " "); got != paths[q.rec.Name] {
				t.Errorf("%s: phases %q, want %q (pick an instance that takes that path)", q.rec.Name, got, paths[q.rec.Name])
			}
		}
		if string(plans[0]) != string(plans[1]) {
			t.Errorf("%s: the plan with GOMAXPROCS=2 differs from the one with 1:\n%s\n%s", q.rec.Name, plans[1], plans[0])
		}
	}
	if found != len(names) {
		t.Fatalf("found %d of the %d instances", found, len(names))
	}
}
