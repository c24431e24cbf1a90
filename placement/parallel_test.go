package placement_test

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
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

// evenNameFilter is a user filter (not built in): clusters whose name ends in an even
// digit only. It keeps the candidates' computation on one goroutine.
type evenNameFilter struct{}

func (evenNameFilter) Name() string { return "even-name" }
func (evenNameFilter) Filter(c *placement.Candidate) string {
	if n := c.Cluster.Name; n != "" && (n[len(n)-1]-'0')%2 == 1 {
		return "odd name"
	}
	return ""
}

// TestCandidatesSideBySideSameAnswer holds that computing the components' candidates
// on more than one goroutine (large requests, built-in filters only) changes nothing:
// the plan, with every cluster of every replica explained, is the same byte for byte
// with GOMAXPROCS=1 and with 2, and also with a user filter (which keeps that work on
// one goroutine) and with some components restricted to a few tiers and clusters.
func TestCandidatesSideBySideSameAnswer(t *testing.T) {
	in := pt.Generate(3, pt.GenOptions{Clusters: 400, Components: 80, Planted: true})
	// Restrict some components, so that candidate lists differ in length between
	// components and the shared all-clusters row is not the only one.
	clusters := in.Topology.Clusters()
	for ai := range in.Apps {
		for ci := range in.Apps[ai].Components {
			c := &in.Apps[ai].Components[ci]
			switch (ai + ci) % 4 {
			case 1:
				c.Allowed.Tiers = []topology.Tier{clusters[(ai*7+ci)%len(clusters)].Tier}
			case 2:
				for k := range 5 {
					c.Allowed.Clusters = append(c.Allowed.Clusters, clusters[(ai*13+ci*5+k*31)%len(clusters)].Name)
				}
			}
		}
	}
	user, err := placement.NewEngine(placement.Options{Filters: []placement.Filter{evenNameFilter{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*placement.Engine{nil, user} {
		var plans [2][]byte
		for k, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			req := in.Request()
			req.Explain = placement.ExplainFull
			var plan *placement.Plan
			var err error
			if e == nil {
				plan, err = placement.Place(context.Background(), in.Snapshot(), req)
			} else {
				plan, err = e.Place(context.Background(), in.Snapshot(), req)
			}
			runtime.GOMAXPROCS(old)
			if plan == nil {
				t.Fatalf("user filter %v: %v", e != nil, err)
			}
			if len(plan.Explanations) == 0 {
				t.Fatalf("user filter %v: no explanations", e != nil)
			}
			plans[k], _ = json.Marshal(plan)
		}
		if string(plans[0]) != string(plans[1]) {
			t.Errorf("user filter %v: the plan with GOMAXPROCS=2 differs from the one with 1", e != nil)
		}
	}
}
