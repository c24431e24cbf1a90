package placement_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

// placePolicy places app on topo (with current, in mode) and returns the cluster of each
// replica ("comp#r") and the plan.
func placePolicy(t *testing.T, topo *topology.Topology, now time.Time, app placement.Application, mode placement.ReplaceMode, current ...placement.Assignment) (map[string]string, *placement.Plan, error) {
	t.Helper()
	plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo, Now: now},
		&placement.Request{Apps: []placement.Application{app}, Current: current, Mode: mode, Explain: placement.ExplainFull})
	at := map[string]string{}
	if plan != nil {
		for _, a := range plan.Assignments {
			at[a.Component+"#"+string(rune('0'+a.Replica))] = a.Cluster
		}
	}
	return at, plan, err
}

// edit returns topo with the options applied to the named cluster.
func edit(t *testing.T, topo *topology.Topology, cluster string, opts ...tt.ClusterOption) *topology.Topology {
	t.Helper()
	spec := topo.Spec()
	for i := range spec.Clusters {
		if spec.Clusters[i].Name == cluster {
			for _, o := range opts {
				o(&spec.Clusters[i])
			}
		}
	}
	out, err := topology.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ruledOut(plan *placement.Plan, comp, cluster string) placement.Rejection {
	for _, e := range plan.Explanations {
		if e.Component != comp {
			continue
		}
		for _, r := range e.RuledOut {
			if r.Cluster == cluster {
				return r
			}
		}
	}
	return placement.Rejection{}
}

// TestLabelSelectorExcludesTheBestCluster: cheap is where x goes without the selector
// (the cheapest); the selector rules it out and the explanation names the expression.
func TestLabelSelectorExcludesTheBestCluster(t *testing.T) {
	topo := edit(t, testContinuum(t), "cheap", tt.Labels("gpu.vendor", "amd"))
	topo = edit(t, topo, "near", tt.Labels("gpu.vendor", "nvidia"))
	free := pt.NewApp("a").Component("x", "1", "1Gi").Build()
	if at, _, err := placePolicy(t, topo, time.Time{}, free, ""); err != nil || at["x#0"] != "cheap" {
		t.Fatalf("without a selector x -> %q (%v), want cheap", at["x#0"], err)
	}
	app := pt.NewApp("a").Component("x", "1", "1Gi", pt.Selector(pt.In("gpu.vendor", "nvidia"))).Build()
	at, plan, err := placePolicy(t, topo, time.Time{}, app, "")
	if err != nil {
		t.Fatal(err)
	}
	if at["x#0"] != "near" {
		t.Errorf("x -> %q, want near (the only nvidia cluster)", at["x#0"])
	}
	r := ruledOut(plan, "x", "cheap")
	if r.Constraint != "labels" || r.Reason != "label selector: gpu.vendor in (nvidia) not matched" {
		t.Errorf("cheap ruled out by %q: %q", r.Constraint, r.Reason)
	}
	if r := ruledOut(plan, "x", "near2"); r.Constraint != "labels" {
		t.Errorf("near2 (no labels) ruled out by %q, want labels", r.Constraint)
	}
	// Nothing matches: the shortfall says what labels a new cluster needs.
	none := pt.NewApp("a").Component("x", "1", "1Gi", pt.Selector(pt.In("gpu.vendor", "intel"))).Build()
	_, _, err = placePolicy(t, topo, time.Time{}, none, "")
	var ue *placement.UnplaceableError
	if !errors.As(err, &ue) || len(ue.Shortfall) != 1 || ue.Reasons["labels"] != 3 ||
		!strings.HasSuffix(ue.Shortfall[0].Text, ", labels gpu.vendor in (intel)") || ue.Shortfall[0].Labels.String() != "gpu.vendor in (intel)" {
		t.Errorf("no cluster matches: %v", err)
	}
	// The other operators and matchLabels.
	sels := []struct {
		sel  placement.LabelSelector
		want string
	}{
		{placement.LabelSelector{MatchLabels: map[string]string{"gpu.vendor": "nvidia"}}, "near"},
		{placement.LabelSelector{MatchExpressions: []placement.LabelSelectorRequirement{{Key: "gpu.vendor", Operator: placement.SelectorNotIn, Values: []string{"amd"}}}}, "near"},
		{placement.LabelSelector{MatchExpressions: []placement.LabelSelectorRequirement{{Key: "gpu.vendor", Operator: placement.SelectorDoesNotExist}}}, "near2"},
		{placement.LabelSelector{MatchExpressions: []placement.LabelSelectorRequirement{{Key: "gpu.vendor", Operator: placement.SelectorExists}}}, "cheap"},
	}
	for _, s := range sels {
		at, _, err := placePolicy(t, topo, time.Time{}, pt.NewApp("a").Component("x", "1", "1Gi", pt.Selector(s.sel)).Build(), "")
		if err != nil || at["x#0"] != s.want {
			t.Errorf("selector %s: x -> %q (%v), want %s", s.sel.String(), at["x#0"], err, s.want)
		}
		// apimachinery's selector agrees with the engine's matching on every cluster.
		ks, err := s.sel.Selector()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range topo.Clusters() {
			if got, want := s.sel.Matches(c.Labels), ks.Matches(labelSet(c.Labels)); got != want {
				t.Errorf("selector %s on %s: Matches %v, apimachinery %v", s.sel.String(), c.Name, got, want)
			}
		}
	}
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// TestPreferredSelectorIsAWeightedCost: x costs 0.01/h on cheap and 0.1/h on near; a
// preferred term for near's label weighs weight/100 per replica, so weight 100 (1.0)
// moves x to near and weight 5 (0.05 < 0.09) does not.
func TestPreferredSelectorIsAWeightedCost(t *testing.T) {
	topo := edit(t, testContinuum(t), "near", tt.Labels("site", "geneva"))
	sel := placement.LabelSelector{MatchLabels: map[string]string{"site": "geneva"}}
	for _, tc := range []struct {
		weight int
		want   string
		cost   float64 // the preferred term's cost in the objective
	}{{100, "near", 0}, {5, "cheap", 0.05}} {
		at, plan, err := placePolicy(t, topo, time.Time{}, pt.NewApp("a").Component("x", "1", "1Gi", pt.Prefer(tc.weight, sel)).Build(), "")
		if err != nil {
			t.Fatal(err)
		}
		if at["x#0"] != tc.want {
			t.Errorf("weight %d: x -> %s, want %s", tc.weight, at["x#0"], tc.want)
		}
		if got := plan.Objective.Plugins[placement.ScorerPreferred]; abs(got-tc.cost) > 1e-9 {
			t.Errorf("weight %d: preferred cost %v, want %v", tc.weight, got, tc.cost)
		}
	}
}

// TestNoSelectTaint: no new replicas on a NoSelect cluster; a replica already there
// stays under Repair; a toleration lifts the taint.
func TestNoSelectTaint(t *testing.T) {
	topo := edit(t, testContinuum(t), "cheap", tt.Taint(topology.TaintUnschedulable, "", topology.NoSelect))
	app := pt.NewApp("a").Component("x", "1", "1Gi", pt.Replicas(2)).Build()
	at, plan, err := placePolicy(t, topo, time.Time{}, app, "")
	if err != nil {
		t.Fatal(err)
	}
	if at["x#0"] == "cheap" || at["x#1"] == "cheap" {
		t.Errorf("new replicas on the NoSelect cluster: %v", at)
	}
	if r := ruledOut(plan, "x", "cheap"); r.Constraint != "taints" || !strings.Contains(r.Reason, "continuum.xr/unschedulable:NoSelect not tolerated") {
		t.Errorf("cheap ruled out by %q: %q", r.Constraint, r.Reason)
	}
	// x[0] already runs on cheap: it stays; x[1] is new and goes elsewhere (the taints
	// scorer's cost, as near has room).
	cur := []placement.Assignment{{App: "a", Component: "x", Replica: 0, Cluster: "cheap"}}
	at, plan, err = placePolicy(t, topo, time.Time{}, app, placement.Repair, cur...)
	if err != nil {
		t.Fatal(err)
	}
	if at["x#0"] != "cheap" || at["x#1"] == "cheap" {
		t.Errorf("repair with x[0] on cheap: %v, want x[0] kept on cheap, x[1] elsewhere", at)
	}
	if plan.Moves != 0 {
		t.Errorf("moves = %d, want 0", plan.Moves)
	}
	tol := pt.NewApp("a").Component("x", "1", "1Gi", pt.Replicas(2), pt.Tolerate(topology.TaintUnschedulable, "")).Build()
	if at, _, err := placePolicy(t, topo, time.Time{}, tol, ""); err != nil || at["x#0"] != "cheap" || at["x#1"] != "cheap" {
		t.Errorf("tolerating: %v (%v), want both on cheap", at, err)
	}
}

// TestPreferNoSelectTaint: a cost of 1 per replica, enough to move x off cheap (0.09
// cheaper per hour); tolerated, no cost.
func TestPreferNoSelectTaint(t *testing.T) {
	topo := edit(t, testContinuum(t), "cheap", tt.Taint("maintenance", "soon", topology.PreferNoSelect))
	at, plan, err := placePolicy(t, topo, time.Time{}, pt.NewApp("a").Component("x", "1", "1Gi").Build(), "")
	if err != nil {
		t.Fatal(err)
	}
	if at["x#0"] != "near" || plan.Objective.Plugins[placement.ScorerTaints] != 0 {
		t.Errorf("x -> %s (taints cost %v), want near at no taint cost", at["x#0"], plan.Objective.Plugins)
	}
	at, plan, err = placePolicy(t, topo, time.Time{}, pt.NewApp("a").Component("x", "1", "1Gi", pt.Tolerate("maintenance", topology.PreferNoSelect)).Build(), "")
	if err != nil || at["x#0"] != "cheap" {
		t.Errorf("tolerating: x -> %s (%v), want cheap", at["x#0"], err)
	}
	_ = plan
}

// TestNoExecuteTaint: replicas on a NoExecute cluster move (the change names the
// taint); with tolerationSeconds they stay until the period has passed since the
// taint was added.
func TestNoExecuteTaint(t *testing.T) {
	added := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	base := testContinuum(t)
	topo, err := topology.Drain(base, "cheap", added)
	if err != nil {
		t.Fatal(err)
	}
	cur := []placement.Assignment{{App: "a", Component: "x", Replica: 0, Cluster: "cheap"}}
	app := pt.NewApp("a").Component("x", "1", "1Gi").Build()
	at, plan, err := placePolicy(t, topo, added.Add(time.Minute), app, placement.Repair, cur...)
	if err != nil {
		t.Fatal(err)
	}
	if at["x#0"] == "cheap" || plan.Moves != 1 || len(plan.Changes) != 1 || plan.Changes[0].Constraint != "taints" ||
		!strings.Contains(plan.Changes[0].Why, "continuum.xr/drain:NoExecute not tolerated") {
		t.Errorf("drained: %v, changes %+v, want x moved off cheap because of the taint", at, plan.Changes)
	}
	tol := pt.NewApp("a").Component("x", "1", "1Gi", pt.Tolerate(topology.TaintDrain, topology.NoExecute, 300), pt.Tolerate(topology.TaintUnschedulable, "")).Build()
	for _, tc := range []struct {
		now  time.Time
		want string
	}{{added.Add(299 * time.Second), "cheap"}, {added.Add(300 * time.Second), "near"}, {time.Time{}, "cheap"}} {
		at, plan, err := placePolicy(t, topo, tc.now, tol, placement.Repair, cur...)
		if err != nil {
			t.Fatal(err)
		}
		if at["x#0"] != tc.want {
			t.Errorf("now %v: x -> %s, want %s (changes %+v)", tc.now, at["x#0"], tc.want, plan.Changes)
		}
	}
	// Within the period, no new replica goes there.
	if at, _, err := placePolicy(t, topo, added.Add(time.Second), tol, ""); err != nil || at["x#0"] == "cheap" {
		t.Errorf("new replica within the toleration period: x -> %s (%v)", at["x#0"], err)
	}
}

// TestWeightsFlipAChoice: x sends 10 Mbit/s to users (11 ms RTT from cheap, 1 ms from
// near) and costs 0.01/h on cheap, 0.1/h on near. Default weights: cheap 0.12 vs near
// 0.11, near wins; network weight 0.5: cheap 0.065 vs near 0.105, cheap wins.
func TestWeightsFlipAChoice(t *testing.T) {
	topo := testContinuum(t)
	build := func(w *placement.AppWeights) placement.Application {
		b := pt.NewApp("a").Component("x", "1", "1Gi").Flow("x", "users", 10*topology.Mbps, 0)
		if w != nil {
			b.Weights(*w)
		}
		return b.Build()
	}
	half := 0.5
	for _, tc := range []struct {
		w         *placement.AppWeights
		want      string
		objective float64
	}{{nil, "near", 0.11}, {&placement.AppWeights{Network: &half}, "cheap", 0.065}} {
		at, plan, err := placePolicy(t, topo, time.Time{}, build(tc.w), "")
		if err != nil {
			t.Fatal(err)
		}
		if at["x#0"] != tc.want || abs(plan.Objective.Total-tc.objective) > 1e-9 {
			t.Errorf("weights %+v: x -> %s at %.4f, want %s at %.4f", tc.w, at["x#0"], plan.Objective.Total, tc.want, tc.objective)
		}
	}
	// Compute weight 2 doubles the compute term: cheap 0.13 vs near 0.21.
	two := 2.0
	if at, plan, err := placePolicy(t, topo, time.Time{}, build(&placement.AppWeights{Compute: &two}), ""); err != nil || at["x#0"] != "cheap" || abs(plan.Objective.Compute-0.02) > 1e-9 {
		t.Errorf("compute weight 2: x -> %s (%v)", at["x#0"], err)
	}
	// weights.scorers scale a scorer for this application: the preferred term of
	// weight 100 (cost 1) scaled by 0.05 no longer pays for near.
	sel := placement.LabelSelector{MatchLabels: map[string]string{"tier": "edge"}}
	topo2 := edit(t, testContinuum(t), "near", tt.Labels("tier", "edge"))
	pref := func(scale map[string]float64) placement.Application {
		b := pt.NewApp("a").Component("x", "1", "1Gi", pt.Prefer(100, sel))
		if scale != nil {
			b.Weights(placement.AppWeights{Scorers: scale})
		}
		return b.Build()
	}
	if at, _, err := placePolicy(t, topo2, time.Time{}, pref(nil), ""); err != nil || at["x#0"] != "near" {
		t.Errorf("preferred, unscaled: x -> %s (%v), want near", at["x#0"], err)
	}
	if at, _, err := placePolicy(t, topo2, time.Time{}, pref(map[string]float64{"preferred": 0.05}), ""); err != nil || at["x#0"] != "cheap" {
		t.Errorf("preferred scaled 0.05: x -> %s (%v), want cheap", at["x#0"], err)
	}
	_, _, err := placePolicy(t, topo2, time.Time{}, pref(map[string]float64{"nosuch": 1}), "")
	if !errors.Is(err, placement.ErrInvalid) || !strings.Contains(err.Error(), "apps[0].weights.scorers.nosuch") {
		t.Errorf("unknown scorer: %v, want an error naming apps[0].weights.scorers.nosuch", err)
	}
}

const policyApp = `apiVersion: continuum.xr/v1alpha1
kind: Application
metadata: {name: a}
weights: {network: 2, compute: 0, scorers: {preferred: 3}}
components:
  - name: x
    allowed:
      tiers: [edge]
      selector:
        matchLabels: {gpu.vendor: nvidia}
        matchExpressions:
          - {key: example.com/zone, operator: In, values: [eu-1, eu-2]}
          - {key: maintenance, operator: DoesNotExist}
    preferred:
      - weight: 40
        selector: {matchLabels: {site: geneva}}
    tolerations:
      - {key: continuum.xr/drain, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
      - {key: maintenance, value: planned}
`

func TestPolicyCodecRoundTrip(t *testing.T) {
	app, err := placement.DecodeApplication([]byte(policyApp))
	if err != nil {
		t.Fatal(err)
	}
	x := app.Components[0]
	if x.Allowed.Selector.String() != "gpu.vendor=nvidia,example.com/zone in (eu-1,eu-2),!maintenance" {
		t.Errorf("selector = %s", x.Allowed.Selector.String())
	}
	if len(x.Preferred) != 1 || x.Preferred[0].Weight != 40 || len(x.Tolerations) != 2 || *x.Tolerations[0].TolerationSeconds != 300 {
		t.Errorf("preferred %+v tolerations %+v", x.Preferred, x.Tolerations)
	}
	if w := app.Weights; w == nil || *w.Network != 2 || *w.Compute != 0 || w.Migration != nil || w.Scorers["preferred"] != 3 {
		t.Errorf("weights = %+v", app.Weights)
	}
	out, err := placement.EncodeApplication(app)
	if err != nil {
		t.Fatal(err)
	}
	back, err := placement.DecodeApplication(out)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, out)
	}
	out2, _ := placement.EncodeApplication(back)
	if string(out) != string(out2) {
		t.Errorf("round trip differs:\n%s\n---\n%s", out, out2)
	}
}

// TestPolicyCodecErrors: a bad selector, preferred term, toleration or weight is an
// error naming the field.
func TestPolicyCodecErrors(t *testing.T) {
	tests := []struct{ from, to, field, want string }{
		{"operator: In, values: [eu-1, eu-2]", "operator: Near, values: [eu-1]", "components[0].allowed.selector.matchExpressions[0].operator", "must be In, NotIn, Exists or DoesNotExist"},
		{"operator: In, values: [eu-1, eu-2]", "operator: In", "components[0].allowed.selector.matchExpressions[0].values", "needs at least one value"},
		{"operator: DoesNotExist}", "operator: DoesNotExist, values: [a]}", "components[0].allowed.selector.matchExpressions[1].values", "must be empty"},
		{"key: example.com/zone", "key: \"bad key!\"", "components[0].allowed.selector.matchExpressions[0].key", "not a Kubernetes label key"},
		{"values: [eu-1, eu-2]", "values: [\"eu 1\"]", "components[0].allowed.selector.matchExpressions[0].values[0]", "not a Kubernetes label value"},
		{"{gpu.vendor: nvidia}", "{gpu.vendor: \"a b\"}", "components[0].allowed.selector.matchLabels.gpu.vendor", "not a Kubernetes label value"},
		{"matchLabels: {gpu.vendor: nvidia}", "matchLabel: {gpu.vendor: nvidia}", "components[0].allowed.selector.matchLabel", "unknown field"},
		{"weight: 40", "weight: 101", "components[0].preferred[0].weight", "outside [1, 100]"},
		{"weight: 40", "weight: 0", "components[0].preferred[0].weight", "outside [1, 100]"},
		{"operator: Exists, effect: NoExecute", "operator: Maybe, effect: NoExecute", "components[0].tolerations[0].operator", "must be Equal or Exists"},
		{"effect: NoExecute, tolerationSeconds", "effect: NoSelect, tolerationSeconds", "components[0].tolerations[0].tolerationSeconds", "only with effect NoExecute"},
		{"tolerationSeconds: 300", "tolerationSeconds: -1", "components[0].tolerations[0].tolerationSeconds", "outside"},
		{"effect: NoExecute,", "effect: NoSchedule,", "components[0].tolerations[0].effect", "must be NoSelect, PreferNoSelect or NoExecute"},
		{"{key: maintenance, value: planned}", "{value: planned}", "components[0].tolerations[1].key", "required with operator Equal"},
		{"{key: maintenance, value: planned}", "{key: maintenance, operator: Exists, value: planned}", "components[0].tolerations[1].value", "must be empty with operator Exists"},
		{"network: 2", "network: -2", "weights.network", ""},
		{"scorers: {preferred: 3}", "scorers: {preferred: -3}", "weights.scorers.preferred", ""},
		{"scorers: {preferred: 3}", "scorers: [preferred]", "weights.scorers", "must be an object"},
		{"network: 2", "netwerk: 2", "weights.netwerk", "unknown field"},
	}
	for _, tc := range tests {
		doc := strings.Replace(policyApp, tc.from, tc.to, 1)
		if doc == policyApp {
			t.Fatalf("%q not in the document", tc.from)
		}
		_, err := placement.DecodeApplication([]byte(doc))
		if !errors.Is(err, placement.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.to, err)
			continue
		}
		list, _ := placement.AsErrorList(err)
		found := false
		for _, fe := range list {
			if fe.Field == tc.field && strings.Contains(fe.Detail, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v\nwant %s: ...%s...", tc.to, err, tc.field, tc.want)
		}
	}
}

// TestPolicyPluginsConform runs placementtest's plugin checks (conformance and
// effect) on the built-in policy filters and scorers, on a continuum whose clusters
// are labelled and tainted.
func TestPolicyPluginsConform(t *testing.T) {
	topo := edit(t, testContinuum(t), "cheap", tt.Labels("gpu.vendor", "amd", "site", "far"), tt.Taint("maintenance", "", topology.PreferNoSelect))
	topo = edit(t, topo, "near", tt.Labels("gpu.vendor", "nvidia", "site", "geneva"), tt.Taint(topology.TaintUnschedulable, "", topology.NoSelect))
	topo = edit(t, topo, "near2", tt.Taint(topology.TaintDrain, "", topology.NoExecute))
	app := pt.NewApp("a").
		Component("x", "1", "1Gi", pt.Selector(pt.In("gpu.vendor", "nvidia", "amd")), pt.Prefer(100, placement.LabelSelector{MatchLabels: map[string]string{"site": "geneva"}}),
			pt.Tolerate(topology.TaintUnschedulable, "")).
		Component("y", "1", "1Gi", pt.Replicas(2)).Build()
	in := pt.Instance{Name: "policy", Topology: topo, Apps: []placement.Application{app}}
	for _, name := range []string{placement.FilterLabels, placement.FilterTaints} {
		f, ok := placement.Lookup(name)
		if !ok {
			t.Fatalf("no built-in filter %q", name)
		}
		t.Run(name, func(t *testing.T) { pt.CheckFilter(t, f, in) })
	}
}
