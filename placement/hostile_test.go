package placement_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

// hasProblem reports whether err is an ErrorList with a problem at field whose detail
// contains detail.
func hasProblem(err error, field, detail string) bool {
	list, _ := placement.AsErrorList(err)
	for _, fe := range list {
		if fe.Field == field && strings.Contains(fe.Detail, detail) {
			return true
		}
	}
	return false
}

func wantProblem(t *testing.T, err error, field, detail string) {
	t.Helper()
	if !errors.Is(err, placement.ErrInvalid) || !hasProblem(err, field, detail) {
		t.Errorf("want a problem at %s containing %q, got: %v", field, detail, err)
	}
}

// TestHostileApplications: each document was accepted (or panicked, or overflowed)
// before; now each is refused with its field path.
func TestHostileApplications(t *testing.T) {
	comp := func(extra string) string {
		return appHeader + "components:\n  - name: a\n" + extra + "  - name: b\n"
	}
	tests := []struct{ name, doc, field, detail string }{
		{"coLocate and antiAffinity", comp("    coLocate: [b]\n    antiAffinity: [b]\n"), "components[0].antiAffinity[0]", "coLocate"},
		{"cpu 1e16", comp("    requests: {cpu: \"1e16\"}\n"), "components[0].requests.cpu", "limit"},
		{"cpu 2^63-1", comp("    requests: {cpu: \"9223372036854775807\"}\n"), "components[0].requests.cpu", "limit"},
		{"cpu 2^64", comp("    requests: {cpu: \"18446744073709551616\"}\n"), "components[0].requests.cpu", "limit"},
		{"cpu 1e400", comp("    requests: {cpu: \"1e400\"}\n"), "components[0].requests.cpu", ""},
		{"cpu 1e308 number", comp("    requests: {cpu: 1e308}\n"), "components[0].requests.cpu", "exponent"},
		{"cpu 1e20 number", comp("    requests: {cpu: 1e20}\n"), "components[0].requests.cpu", "limit"},
		{"memory 8Ei", comp("    requests: {memory: 8Ei}\n"), "components[0].requests.memory", "limit"},
		{"cpu nan", comp("    requests: {cpu: .nan}\n"), "components[0].requests.cpu", "not a finite number"},
		{"bad resource name", comp("    requests: {\"c p u!\": 1}\n"), "components[0].requests", "not a resource name"},
		{"processing time", comp("    processingTime: 2562047h\n"), "components[0].processingTime", "limit"},
		{"state size", comp("    stateSize: 8Ei\n"), "components[0].stateSize", "limit"},
		{"bandwidth overflow", comp("") + "flows: [{from: a, to: b, bandwidth: 5000000Tbps}]\n", "flows[0].bandwidth", "limit"},
		{"bandwidth unlimited", comp("") + "flows: [{from: a, to: b, bandwidth: unlimited}]\n", "flows[0].bandwidth", "finite rate"},
		{"bandwidth hex", comp("") + "flows: [{from: a, to: b, bandwidth: 0x1p4Gbps}]\n", "flows[0].bandwidth", "not a bandwidth"},
		{"maxRTT 1000h", comp("") + "flows: [{from: a, to: b, maxRTT: 1000h}]\n", "flows[0].maxRTT", "limit"},
		{"budget 1000h", comp("") + "chains: [{name: c, path: [a, b], budget: 1000h}]\n", "chains[0].budget", "limit of 1h"},
		{"budget 1ns", comp("") + "chains: [{name: c, path: [a, b], budget: 1ns}]\n", "chains[0].budget", "below the minimum"},
		{"replica pairs", comp("    replicas: 10000\n") + "  - {name: c, replicas: 10000}\nflows: [{from: a, to: c}]\n", "flows[0]", "replica pairs"},
		{"selector without key", comp("    allowed: {selector: {matchExpressions: [{operator: Exists}]}}\n"), "components[0].allowed.selector.matchExpressions[0].key", "required"},
		{"selector values not a list", comp("    allowed: {selector: {matchExpressions: [{key: k, operator: In, values: v}]}}\n"), "components[0].allowed.selector.matchExpressions[0].values", "list"},
		{"selector key 300 bytes", comp("    allowed: {selector: {matchLabels: {" + strings.Repeat("k", 300) + ": v}}}\n"), "components[0].allowed.selector.matchLabels", "not a Kubernetes label key"},
		{"preferred selector null", comp("    preferred: [{weight: 1, selector: 7}]\n"), "components[0].preferred[0].selector", "must be an object"},
		{"toleration seconds huge", comp("    tolerations: [{key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 9999999999}]\n"), "components[0].tolerations[0].tolerationSeconds", ""},
		{"toleration key bad", comp("    tolerations: [{key: \"a/b/c\", operator: Exists}]\n"), "components[0].tolerations[0].key", "not a Kubernetes label key"},
		{"weight nan", appHeader + "weights: {network: .nan}\ncomponents: [{name: a}]\n", "weights.network", "not a finite number"},
		{"weight huge", appHeader + "weights: {compute: 1e300}\ncomponents: [{name: a}]\n", "weights.compute", ""},
		{"long chain", comp("") + "chains: [{name: c, path: [" + strings.Repeat("a, ", 100) + "b], budget: 1s}]\n", "chains[0].path", "limit of 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := placement.DecodeApplication([]byte(tc.doc))
			wantProblem(t, err, tc.field, tc.detail)
		})
	}
}

// hostileSnap is two clusters a and b 5 ms apart and a site near a.
func hostileSnap(t *testing.T) *placement.Snapshot {
	topo := tt.New().
		Cluster("a", tt.Capacity("16", "64Gi"), tt.Price(1)).
		Cluster("b", tt.Capacity("16", "64Gi"), tt.Price(2), tt.Pool("p", "16", "64Gi")).
		Cluster("c", tt.Capacity("16", "64Gi")).
		Link("a", "b", ms(5), tt.LinkCapacity(topology.Gbps)).
		Link("b", "c", ms(5)).
		Site("users", nil, tt.Access("a", ms(1))).
		MustBuild(t)
	return &placement.Snapshot{Topology: topo}
}

// TestHostileRequests: the Go API checks what the decoder checks, and what only a
// request can get wrong (totals, measurements, the current plan).
func TestHostileRequests(t *testing.T) {
	ctx := context.Background()
	snap := hostileSnap(t)
	place := func(req *placement.Request) error {
		_, err := placement.Place(ctx, snap, req)
		return err
	}
	// A co-located pair that is also anti-affine panicked in the search.
	app := pt.NewApp("x").Component("a", "1", "1Gi", pt.CoLocate("b"), pt.AntiAffinity("b")).Component("b", "1", "1Gi").Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].components[0].antiAffinity[0]", "coLocate")
	// Through a chain of co-location too.
	app = pt.NewApp("x").Component("a", "1", "1Gi", pt.CoLocate("b")).Component("b", "1", "1Gi", pt.CoLocate("c")).
		Component("c", "1", "1Gi", pt.AntiAffinity("a")).Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].components[2].antiAffinity[0]", "coLocate")

	// A request of 1e16 CPUs wrapped around in milli-units and fitted an 8-CPU cluster.
	app = pt.NewApp("x").Component("a", "1e16", "1Gi").Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].components[0].requests.cpu", "limit")
	app = pt.NewApp("x").Component("a", "1", "8Ei").Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].components[0].requests.memory", "limit")

	// Two flows of 5,000,000 Tbit/s summed past int64 and fitted a 1 Gbit/s link.
	app = pt.NewApp("x").Component("a", "1", "1Gi").Component("b", "1", "1Gi").
		Flow("a", "b", 5_000_000*topology.Tbps, 0).Flow("b", "a", 5_000_000*topology.Tbps, 0).Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].flows[0].bandwidth", "limit")

	// The total of all flows is bounded, so no link load can overflow.
	var apps []placement.Application
	for i := range 2 {
		b := pt.NewApp(fmt.Sprintf("x%d", i)).Component("a", "1", "1Gi").Component("b", "1", "1Gi")
		for range 600 {
			b.Flow("a", "b", topology.MaxBandwidth, 0)
		}
		apps = append(apps, b.Build())
	}
	wantProblem(t, place(&placement.Request{Apps: apps}), "apps", "the flows total")
	// However many: 100 applications of 1,000 flows of 1 Pbit/s each sum past int64.
	for i := 2; i < 100; i++ {
		b := pt.NewApp(fmt.Sprintf("x%d", i)).Component("a", "1", "1Gi").Component("b", "1", "1Gi")
		for range placement.MaxFlows {
			b.Flow("a", "b", topology.MaxBandwidth, 0)
		}
		apps = append(apps, b.Build())
	}
	wantProblem(t, place(&placement.Request{Apps: apps}), "apps", "the flows total")

	// Sizes: replicas in all.
	app = pt.NewApp("x").Component("a", "1m", "1", pt.Replicas(10000)).Component("b", "1m", "1", pt.Replicas(10000)).
		Component("c", "1m", "1", pt.Replicas(10000)).Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps", "replicas in all")
	// A flow between two 10,000-replica components: 10^8 pairs before.
	app = pt.NewApp("x").Component("a", "1m", "1", pt.Replicas(10000)).Component("b", "1m", "1", pt.Replicas(10000)).
		Flow("a", "b", topology.Gbps, 0).Build()
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{app}}), "apps[0].flows[0]", "replica pairs")

	// Measurements: a negative RTT on a pair without a direct link was accepted.
	ok := pt.NewApp("x").Component("a", "1", "1Gi").Build()
	bad := *snap
	bad.RTT = map[placement.Pair]topology.Duration{placement.MakePair("a", "c"): -ms(1)}
	_, err := placement.Place(ctx, &bad, &placement.Request{Apps: []placement.Application{ok}})
	wantProblem(t, err, "snapshot.rtt[a<->c]", "negative")
	bad.RTT = map[placement.Pair]topology.Duration{placement.MakePair("a", "b"): 2_000_000 * 3600 * topology.Second}
	_, err = placement.Place(ctx, &bad, &placement.Request{Apps: []placement.Application{ok}})
	wantProblem(t, err, "snapshot.rtt[a<->b]", "limit")
	bad.RTT = nil
	bad.Free = map[string]topology.ResourceList{"a": {"cpu": resource.MustParse("1e16")}}
	_, err = placement.Place(ctx, &bad, &placement.Request{Apps: []placement.Application{ok}})
	wantProblem(t, err, "snapshot.free.a.cpu", "limit")

	// Weights: finite and bounded, so the objective is too.
	wantProblem(t, place(&placement.Request{Apps: []placement.Application{ok}, Weights: &placement.Weights{Network: 1, Compute: 1e308, Migration: 1}}),
		"weights.compute", "finite number in [0, 1e+06]")
}

// TestHostileCurrent: the plan in force is checked against the request.
func TestHostileCurrent(t *testing.T) {
	snap := hostileSnap(t)
	app := pt.NewApp("x").Component("a", "1", "1Gi").Component("b", "1", "1Gi", pt.Replicas(2)).Build()
	cur := []placement.Assignment{
		{App: "x", Component: "a", Replica: 0, Cluster: "a"},     // fine
		{App: "y", Component: "a", Replica: 0, Cluster: "a"},     // another application's plan
		{App: "x", Component: "ghost", Replica: 0, Cluster: "a"}, // unknown component
		{App: "x", Component: "a", Replica: 7, Cluster: "a"},     // replica 7 of 1
		{App: "x", Component: "b", Replica: -1, Cluster: "a"},    // negative replica
		{App: "x", Component: "a", Replica: 0, Cluster: "b"},     // one replica on two clusters
		{App: "x", Component: "b", Replica: 1, Cluster: "zz"},    // unknown cluster
		{App: "x", Component: "b", Replica: 0, Cluster: "b", NodePool: "nope"},
	}
	_, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}, Current: cur})
	list, _ := placement.AsErrorList(err)
	want := []string{"current[1].app", "current[2].component", "current[3].replica", "current[4].replica", "current[5]", "current[6].cluster", "current[7].nodePool"}
	if fmt.Sprint(list.Fields()) != fmt.Sprint(want) {
		t.Errorf("fields = %v, want %v\n%v", list.Fields(), want, err)
	}
	// The good entry alone is accepted.
	if _, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}, Current: cur[:1]}); err != nil {
		t.Errorf("a valid current plan: %v", err)
	}
}

// TestDecodePlan: the strict plan decoder reads back what Place writes, and names the
// field of every problem.
func TestDecodePlan(t *testing.T) {
	snap := hostileSnap(t)
	app := pt.NewApp("x").Component("a", "1", "1Gi").Component("b", "1", "1Gi", pt.Replicas(2)).Flow("a", "b", topology.Gbps, 0).Build()
	plan, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	back, err := placement.DecodePlan(js)
	if err != nil {
		t.Fatalf("DecodePlan of Place's plan: %v", err)
	}
	if fmt.Sprint(back.Assignments) != fmt.Sprint(plan.Assignments) || !back.Feasible {
		t.Errorf("assignments %v, want %v", back.Assignments, plan.Assignments)
	}
	tests := []struct{ name, doc, field, detail string }{
		{"null", "null", "", "empty document"},
		{"a list", "[1]", "", "must be an object"},
		{"misspelt field", `{"assignments": [{"app": "x", "component": "a", "replica": 0, "clustr": "a"}]}`, "assignments[0].clustr", "unknown field"},
		{"unknown section", `{"assignments": [], "extra": 1}`, "extra", "unknown field"},
		{"no assignments", `{"feasible": true}`, "assignments", "required"},
		{"null assignments", `{"assignments": null}`, "assignments", "null"},
		{"null item", `{"assignments": [null]}`, "assignments[0]", "null"},
		{"replica type", `{"assignments": [{"app": "x", "component": "a", "replica": "0"}]}`, "assignments[0].replica", "must be an integer"},
		{"replica huge", `{"assignments": [{"app": "x", "component": "a", "replica": 1e30}]}`, "assignments[0].replica", "not an integer"},
		{"replica negative", `{"assignments": [{"app": "x", "component": "a", "replica": -1}]}`, "assignments[0].replica", "negative"},
		{"replica missing", `{"assignments": [{"app": "x", "component": "a"}]}`, "assignments[0].replica", "required"},
		{"twice", `{"assignments": [{"app": "x", "component": "a", "replica": 0, "cluster": "a"}, {"app": "x", "component": "a", "replica": 0, "cluster": "b"}]}`, "assignments[1]", "given twice"},
		{"duplicate key", `{"assignments": [], "assignments": []}`, "", "already set"},
		{"wrong kind", `{"assignments": [], "objective": []}`, "objective", "must be an object"},
		{"two documents", "assignments: []\n---\nassignments: []\n", "", "more than one document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := placement.DecodePlan([]byte(tc.doc))
			wantProblem(t, err, tc.field, tc.detail)
		})
	}
}

// nilFilter is a filter whose methods panic: a typed nil pointer.
type nilFilter struct{ name string }

func (f *nilFilter) Name() string                       { return f.name }
func (f *nilFilter) Filter(*placement.Candidate) string { return "" }

// TestPublicAPIBadArguments: bad arguments give errors, not panics.
func TestPublicAPIBadArguments(t *testing.T) {
	if err := placement.Register(nil); err == nil {
		t.Error("Register(nil) accepted")
	}
	if err := placement.Register((*nilFilter)(nil)); err == nil {
		t.Error("Register of a typed nil accepted")
	}
	if _, err := placement.NewEngine(placement.Options{Filters: []placement.Filter{nil}}); err == nil {
		t.Error("NewEngine with a nil filter accepted")
	}
	if _, err := placement.NewEngine(placement.Options{Scorers: []placement.WeightedScorer{{Weight: math.NaN()}}}); err == nil {
		t.Error("NewEngine with a nil scorer and a NaN weight accepted")
	}
	snap := hostileSnap(t)
	req := &placement.Request{Apps: []placement.Application{pt.NewApp("x").Component("a", "1", "1Gi").Build()}}
	var e *placement.Engine
	if _, err := e.Place(context.Background(), snap, req); !errors.Is(err, placement.ErrInvalid) {
		t.Errorf("(*Engine)(nil).Place: %v", err)
	}
	//lint:ignore SA1012 a nil context is the bad argument under test
	if _, err := placement.Place(nil, snap, req); !errors.Is(err, placement.ErrInvalid) { //nolint:staticcheck
		t.Errorf("Place(nil ctx): %v", err)
	}
	if _, err := placement.Place(context.Background(), nil, req); !errors.Is(err, placement.ErrInvalid) {
		t.Errorf("Place(nil snapshot): %v", err)
	}
	if _, err := placement.Place(context.Background(), &placement.Snapshot{Topology: &topology.Topology{}}, req); !errors.Is(err, placement.ErrInvalid) {
		t.Errorf("Place on a zero Topology: %v", err)
	}
	bad := *req
	bad.Explain = 42
	if _, err := placement.Place(context.Background(), snap, &bad); !hasProblem(err, "explain", "not an explanation level") {
		t.Errorf("Explain 42: %v", err)
	}
}

// TestHostileLongValues: a huge name is cut in the message.
func TestHostileLongValues(t *testing.T) {
	long := strings.Repeat("n", 5<<20)
	_, err := placement.DecodeApplication([]byte("apiVersion: continuum.xr/v1alpha1\nkind: Application\nmetadata: {name: " + long + "}\ncomponents: [{name: a}]\n"))
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
	app := pt.NewApp(long).Component("a", "1", "1Gi").Build()
	_, err = placement.Place(context.Background(), hostileSnap(t), &placement.Request{Apps: []placement.Application{app}})
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "5242880 bytes") {
		t.Errorf("Go API: error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}

// TestSumsAtTheLimits: with every value at its limit, the sums the engine keeps (link
// and uplink loads, the objective) are exact and finite: the limits rule overflow out.
func TestSumsAtTheLimits(t *testing.T) {
	// Bounds: an uplink in the middle of a route carries a flow twice (in and out).
	if 2*float64(placement.MaxTotalBandwidth)+float64(topology.MaxBandwidth) > math.MaxInt64/2 {
		t.Fatal("the bandwidth bound is too close to overflow")
	}
	topo := tt.New().
		Cluster("a", tt.Capacity("1000000", "1Pi"), tt.Price(topology.MaxPrice)).
		Cluster("b", tt.Capacity("1", "1Gi")).
		Cluster("c", tt.Capacity("1000000", "1Pi"), tt.Price(topology.MaxPrice)).
		Link("a", "b", topology.MaxDuration).Link("b", "c", topology.MaxDuration).
		MustBuild(t)
	b := pt.NewApp("x").Component("src", "1000000", "1Pi", pt.Clusters("a")).Component("dst", "1000000", "1Pi", pt.Clusters("c"))
	for range placement.MaxFlows {
		b.Flow("src", "dst", topology.MaxBandwidth, 0)
	}
	w := placement.Weights{Network: topology.MaxPrice, Compute: topology.MaxPrice, Migration: topology.MaxPrice}
	plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo},
		&placement.Request{Apps: []placement.Application{b.Build()}, Weights: &w, Explain: placement.ExplainNone})
	if err != nil {
		t.Fatal(err)
	}
	total := topology.Bandwidth(placement.MaxFlows) * topology.MaxBandwidth
	used := map[string]topology.Bandwidth{}
	for _, u := range append(plan.Links, plan.Uplinks...) {
		used[u.Name] = u.Used
	}
	want := map[string]topology.Bandwidth{"a<->b": total, "b<->c": total, "a": total, "b": 2 * total, "c": total}
	if fmt.Sprint(used) != fmt.Sprint(want) {
		t.Errorf("loads = %v, want %v", used, want)
	}
	// Compute: 2 replicas x 10^6 cores x price 10^6 x weight 10^6; network: 10^9 Gbit/s
	// x 20,000 ms (two links of 10 s) x weight 10^6.
	wantCompute, wantNetwork := 2e18, 1e9*20000*1e6
	o := plan.Objective
	if math.Abs(o.Compute-wantCompute) > 1e-9*wantCompute || math.Abs(o.Network-wantNetwork) > 1e-9*wantNetwork || math.IsInf(o.Total, 0) {
		t.Errorf("objective = %+v, want compute %g, network %g", o, wantCompute, wantNetwork)
	}
	if _, err := json.Marshal(plan); err != nil {
		t.Errorf("the plan does not encode: %v", err)
	}
}

// TestUnplaceableCoLocatedPartner: a component co-located with one that fits nowhere
// left a partial placement that local search tried to move as a set (index -1 in
// staticCost: a panic FuzzPlace found). Now it is an unplaceable result.
func TestUnplaceableCoLocatedPartner(t *testing.T) {
	topo := tt.New().Cluster("c0", tt.Capacity("1", "1Gi")).Cluster("c1", tt.Capacity("1", "1Gi")).
		Site("users", nil, tt.Access("c0", ms(9))).MustBuild(t)
	app := pt.NewApp("x").Component("a", "250m", "512Mi", pt.CoLocate("b")).Component("b", "1250m", "0").Build()
	for _, strategy := range []placement.Strategy{placement.StrategyDefault, placement.StrategyExact} {
		plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo},
			&placement.Request{Apps: []placement.Application{app}, Strategy: strategy, MaxNodes: 500})
		if !errors.Is(err, placement.ErrUnplaceable) || plan == nil || plan.Feasible {
			t.Errorf("%s: err %v, plan %+v; want unplaceable", strategy, err, plan)
		}
	}
}
