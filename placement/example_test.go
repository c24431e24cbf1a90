package placement_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// Place a renderer near its users under a 15 ms motion-to-photon budget.
func ExamplePlace() {
	app := pt.NewApp("xr").
		Component("render", "4", "8Gi", pt.GPU("1"), pt.UDPPort(5004), pt.Processing(topology.Millis(5))).
		Component("store", "2", "16Gi").
		UDPFlow("geneva", "render", 2*topology.Gbps, 0).
		Flow("render", "store", 100*topology.Mbps, 0).
		Chain("motion-to-photon", topology.Millis(15), "geneva", "render", "geneva").
		Build()
	snap := &placement.Snapshot{Topology: topologytest.PaperFig1()}
	plan, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Assignments {
		fmt.Printf("%s -> %s\n", a.Component, a.Cluster)
	}
	c := plan.Chains[0]
	fmt.Printf("%s: %s of %s\n", c.Name, c.Used, c.Budget)
	// Output:
	// render -> gva-edge
	// store -> gva-edge
	// motion-to-photon: 6.2ms of 15ms
}

// sovereign is a user filter: clusters must carry a label.
type sovereign struct{}

func (sovereign) Name() string { return "sovereign" }

func (sovereign) Filter(c *placement.Candidate) string {
	if c.Component.Name == "store" && c.Cluster.Owner != "operator-b" {
		return "user data must stay with operator-b"
	}
	return ""
}

// carbon is a user scorer: a cost per replica by tier.
type carbon struct{}

func (carbon) Name() string { return "carbon" }

func (carbon) Score(c *placement.Candidate) float64 {
	if c.Cluster.Tier == topology.TierCloud {
		return 0.1
	}
	return 0.5
}

// A user adds a filter and a scorer in a few lines.
func ExampleNewEngine() {
	engine, err := placement.NewEngine(placement.Options{
		Filters: []placement.Filter{sovereign{}},
		Scorers: []placement.WeightedScorer{{Scorer: carbon{}, Weight: 1}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := pt.NewApp("xr").Component("store", "2", "16Gi").Build()
	plan, err := engine.Place(context.Background(), &placement.Snapshot{Topology: topologytest.PaperFig1()},
		&placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The plan carries a summary; the full explanation of a replica is built on request.
	e, err := plan.Explain("xr", "store", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("store ->", e.Chosen, "carbon", plan.Objective.Plugins["carbon"])
	for _, r := range e.RuledOut {
		fmt.Printf("  %s: %s (%s)\n", r.Cluster, r.Reason, r.Constraint)
	}
	// Output:
	// store -> gva-edge carbon 0.5
	//   fra-cloud: user data must stay with operator-b (sovereign)
	//   mil-edge: user data must stay with operator-b (sovereign)
}

// Nothing fits: the error says why and what to provision.
func ExampleUnplaceableError() {
	app := pt.NewApp("xr").
		Component("render", "4", "8Gi", pt.GPU("4"), pt.UDPPort(5004)).
		Flow("milan", "render", topology.Gbps, topology.Millis(3)).
		Build()
	_, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topologytest.PaperFig1()},
		&placement.Request{Apps: []placement.Application{app}})
	fmt.Println(strings.ReplaceAll(err.Error(), "; ", "\n"))
	// Output:
	// placement: 1 replica(s) fit nowhere (proof: no cluster passes the filters for xr/render (3 resources, 1 site-latency))
	// 0/4 clusters fit xr/render[0]: 3 resources, 1 site-latency
	// provision 4 CPU + 4 GPU + 8Gi memory on a cluster within 3.0ms RTT of site milan, able to expose UDP to users
}

func TestUserPluginsPassConformance(t *testing.T) {
	pt.CheckFilter(t, sovereign{})
	pt.CheckScorer(t, carbon{})
}

// flaky is a broken scorer: the conformance check must catch it.
type flaky struct{ n *int }

func (flaky) Name() string { return "flaky" }
func (f flaky) Score(*placement.Candidate) float64 {
	*f.n++
	return float64(*f.n % 2)
}

func TestConformanceCatchesNondeterminism(t *testing.T) {
	rec := &recordingTB{TB: t}
	n := 0
	pt.CheckScorer(rec, flaky{&n})
	if rec.errors == 0 {
		t.Error("CheckScorer accepted a scorer that answers differently each time")
	}
}

type recordingTB struct {
	testing.TB
	errors int
}

func (r *recordingTB) Errorf(string, ...any) { r.errors++ }
func (r *recordingTB) Helper()               {}
