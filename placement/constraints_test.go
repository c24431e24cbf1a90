package placement_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

var ms = topology.Millis

// testContinuum: "cheap" is a cheap cloud far from the users; "near" and "near2" are
// dearer edge clusters close to them. Without constraints everything goes to cheap.
func testContinuum(t *testing.T, opts ...func(*tt.Builder)) *topology.Topology {
	b := tt.New().
		Cluster("cheap", tt.Tier(topology.TierCloud), tt.Price(0.01), tt.Capacity("16", "64Gi"), tt.Owner("cloud"), tt.Region("eu-central")).
		Cluster("near", tt.Price(0.1), tt.Capacity("32", "128Gi"), tt.Resource("gpu", "8"), tt.UDP(), tt.Owner("edge-op"), tt.Region("eu-west"),
			tt.Uplink(40*topology.Gbps)).
		Cluster("near2", tt.Price(0.2), tt.Capacity("32", "128Gi"), tt.UDP(), tt.Owner("edge-op"), tt.Region("eu-west")).
		Link("cheap", "near", ms(10), tt.LinkCapacity(10*topology.Gbps)).
		Link("near", "near2", ms(1)).
		Site("users", nil, tt.Access("near", ms(1)), tt.Access("near2", ms(2)))
	for _, o := range opts {
		o(b)
	}
	return b.MustBuild(t)
}

type constraintCase struct {
	name        string
	app         placement.Application
	topo        func(*tt.Builder)
	want        map[string]string // component -> cluster
	notTogether [2]string         // components that must be on different clusters
	rejects     [3]string         // component, cluster, constraint in its explanation
}

func TestEachConstraintHolds(t *testing.T) {
	cases := []constraintCase{
		{name: "allowed tiers", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Tiers(topology.TierEdge)).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "allowed"}},
		{name: "allowed owners", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Owners("edge-op")).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "allowed"}},
		{name: "allowed regions", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Regions("eu-west")).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "allowed"}},
		{name: "allowed clusters", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near2")).Build(),
			want: map[string]string{"x": "near2"}, rejects: [3]string{"x", "cheap", "allowed"}},
		{name: "resources (GPU)", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.GPU("2")).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "resources"}},
		{name: "udp exposure", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.UDPPort(5004)).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "udp"}},
		{name: "udp flow to users", app: pt.NewApp("a").Component("x", "1", "1Gi").UDPFlow("users", "x", topology.Mbps, 0).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "udp"}},
		{name: "flow RTT to a site", app: pt.NewApp("a").Component("x", "1", "1Gi").Flow("users", "x", 0, ms(5)).Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "site-latency"}},
		{name: "chain through one component", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Processing(ms(5))).
			Chain("mtp", ms(15), "users", "x", "users").Build(),
			want: map[string]string{"x": "near"}, rejects: [3]string{"x", "cheap", "site-latency"}},
		{name: "shared capacity", app: pt.NewApp("a").Component("x", "12", "1Gi").Component("y", "12", "1Gi").Build(),
			want: map[string]string{"x": "cheap", "y": "near"}, rejects: [3]string{"y", "cheap", "capacity"}},
		{name: "spread", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Replicas(2), pt.Spread()).Build(),
			notTogether: [2]string{"x#0", "x#1"}},
		{name: "anti-affinity", app: pt.NewApp("a").Component("x", "1", "1Gi").Component("y", "1", "1Gi", pt.AntiAffinity("x")).Build(),
			notTogether: [2]string{"x", "y"}},
		{name: "co-locate", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.GPU("1")).Component("y", "1", "1Gi", pt.CoLocate("x")).Build(),
			want: map[string]string{"x": "near", "y": "near"}, rejects: [3]string{"y", "cheap", "co-locate"}},
		{name: "flow RTT between components", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near")).
			Component("y", "1", "1Gi").Flow("x", "y", 0, ms(2)).Build(),
			want: map[string]string{"x": "near", "y": "near"}, rejects: [3]string{"y", "cheap", "flow-rtt"}},
		{name: "link bandwidth", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near")).
			Component("y", "1", "1Gi").Flow("x", "y", 20*topology.Gbps, 0).Build(),
			want: map[string]string{"y": "near"}, rejects: [3]string{"y", "cheap", "bandwidth"}},
		{name: "uplink bandwidth", topo: func(b *tt.Builder) {
			b.Cluster("cheap2", tt.Tier(topology.TierCloud), tt.Price(0.001), tt.Capacity("16", "64Gi"), tt.Uplink(topology.Gbps)).
				Link("cheap2", "near", ms(3))
		}, app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near")).
			Component("y", "1", "1Gi").Flow("x", "y", 5*topology.Gbps, 0).Build(),
			want: map[string]string{"y": "near"}, rejects: [3]string{"y", "cheap2", "bandwidth"}},
		{name: "chain through two components", app: pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near"), pt.Processing(ms(2))).
			Component("y", "1", "1Gi", pt.Processing(ms(2))).Chain("c", ms(8), "users", "x", "y", "users").Build(),
			want: map[string]string{"y": "near"}, rejects: [3]string{"y", "cheap", "chain"}},
		{name: "node pool selector", topo: func(b *tt.Builder) {
			b.Cluster("pooled", tt.Price(0.5), tt.Capacity("32", "128Gi"), tt.Pool("cpu", "16", "64Gi"), tt.Pool("gpu", "16", "64Gi", "gpu.type", "a100")).
				Link("pooled", "near", ms(1))
		}, app: pt.NewApp("a").Component("x", "1", "1Gi", pt.NodePool("gpu.type", "a100")).Build(),
			want: map[string]string{"x": "pooled"}, rejects: [3]string{"x", "cheap", "resources"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*tt.Builder)
			if tc.topo != nil {
				opts = append(opts, tc.topo)
			}
			topo := testContinuum(t, opts...)
			plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo},
				&placement.Request{Apps: []placement.Application{tc.app}, Explain: placement.ExplainFull})
			if err != nil {
				t.Fatal(err)
			}
			at := map[string]string{}
			for _, a := range plan.Assignments {
				at[a.Component] = a.Cluster
				at[a.Component+"#"+string(rune('0'+a.Replica))] = a.Cluster
			}
			for comp, want := range tc.want {
				if at[comp] != want {
					t.Errorf("%s placed on %q, want %q (plan %v)", comp, at[comp], want, plan.Assignments)
				}
			}
			if tc.notTogether[0] != "" && at[tc.notTogether[0]] == at[tc.notTogether[1]] {
				t.Errorf("%s and %s share cluster %s", tc.notTogether[0], tc.notTogether[1], at[tc.notTogether[0]])
			}
			if tc.rejects[0] != "" {
				found := false
				for _, e := range plan.Explanations {
					if e.Component != tc.rejects[0] {
						continue
					}
					for _, r := range e.RuledOut {
						if r.Cluster == tc.rejects[1] {
							found = true
							if r.Constraint != tc.rejects[2] || r.Reason == "" {
								t.Errorf("%s on %s ruled out by %s (%s), want %s", tc.rejects[0], tc.rejects[1], r.Constraint, r.Reason, tc.rejects[2])
							}
						}
					}
				}
				if !found {
					t.Errorf("explanation of %s does not rule out %s: %+v", tc.rejects[0], tc.rejects[1], plan.Explanations)
				}
			}
			// The oracle agrees the plan is feasible (node pools are not modelled there).
			if tc.topo == nil {
				o := oracle{topo: topo, apps: []placement.Application{tc.app}, w: placement.DefaultWeights()}
				if ok, cost, why := o.evaluate(assignmentOf(plan)); !ok || abs(cost-plan.Objective.Total) > 1e-9 {
					t.Errorf("oracle: feasible=%v (%s) cost %.6f vs plan %.6f", ok, why, cost, plan.Objective.Total)
				}
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestUnplaceableSaysWhyAndWhatIsMissing(t *testing.T) {
	topo := testContinuum(t)
	app := pt.NewApp("xr").Component("render", "4", "8Gi", pt.GPU("16"), pt.Owners("edge-op")).
		Flow("users", "render", topology.Gbps, ms(1.5)).Build()
	plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app}})
	if !errors.Is(err, placement.ErrUnplaceable) {
		t.Fatalf("err = %v, want ErrUnplaceable", err)
	}
	var ue *placement.UnplaceableError
	if !errors.As(err, &ue) {
		t.Fatalf("not an *UnplaceableError: %T", err)
	}
	if plan == nil || plan.Feasible || plan.Assignments[0].Cluster != "" {
		t.Errorf("plan = %+v, want an infeasible plan with render unplaced", plan)
	}
	if ue.Reasons["resources"] != 2 || ue.Reasons["allowed"] != 1 {
		t.Errorf("reasons = %v, want resources:2 (near, near2) allowed:1 (cheap)", ue.Reasons)
	}
	if len(ue.Shortfall) != 1 {
		t.Fatalf("shortfall = %+v", ue.Shortfall)
	}
	sf := ue.Shortfall[0]
	want := "4 CPU + 16 GPU + 8Gi memory on a cluster within 1.5ms RTT of site users, owner edge-op"
	if sf.Text != want {
		t.Errorf("shortfall text = %q\nwant              %q", sf.Text, want)
	}
	if !strings.Contains(err.Error(), "0/3 clusters fit xr/render[0]: 2 resources, 1 allowed") {
		t.Errorf("error = %v", err)
	}
}
