package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// TestRunShort: the short run prints the table with one row for 100 clusters, in
// which continuum's own plan breaks nothing.
func TestRunShort(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-short"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "| clusters x components |") || !strings.HasPrefix(lines[2], "| 100 x ") {
		t.Fatalf("no table with a 100-cluster row:\n%s", out.String())
	}
	if cells := strings.Split(lines[2], "|"); strings.TrimSpace(cells[len(cells)-2]) != "0" {
		t.Errorf("continuum's plan breaks constraints by its own checker: %s", lines[2])
	}
}

// TestFlags: bad flags are refused with the flag's name.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "0"}, {"-sizes", "100"}, {"-sizes", "1x10"}, {"-sizes", "100x0"}} {
		_, err := parseFlags(&bytes.Buffer{}, args)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v", args, err)
		}
	}
	o, err := parseFlags(&bytes.Buffer{}, []string{"-rounds", "7", "-sizes", "30x5, 40x6"})
	if err != nil || o.rounds != 7 || !slices.Equal(o.sizes, []size{{30, 5}, {40, 6}}) {
		t.Errorf("parsed %+v, %v", o, err)
	}
}

// TestOCMHonoursSelectors: OCM's decisions respect what the Placements express (the
// Allowed lists and UDP exposure as label selectors, one cluster per replica as
// numberOfClusters), checked against the topology, not against the labels.
func TestOCMHonoursSelectors(t *testing.T) {
	inst := newInstance(100, 10)
	// Restrict one component to two named clusters and another to edge clusters that
	// expose UDP, so that the selectors have something to do.
	clusters := inst.in.Topology.Clusters()
	app := &inst.in.Apps[0]
	app.Components[0].Allowed.Clusters = []string{clusters[3].Name, clusters[7].Name}
	app.Components[1].Allowed.Tiers = []topology.Tier{topology.TierEdge}
	app.Components[1].Ports = []placement.Port{{Port: 4000, Protocol: placement.UDP, Expose: true}}
	inst = retranslate(inst)
	as, _, err := inst.ocm(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := replicas(inst.in.Apps); len(as) != want {
		t.Fatalf("%d assignments, want %d", len(as), want)
	}
	for _, a := range as {
		c, ok := inst.in.Topology.Cluster(a.Cluster)
		if !ok {
			t.Fatalf("%v: no such cluster", a)
		}
		switch {
		case a.App == app.Metadata.Name && a.Component == app.Components[0].Name:
			if c.Name != clusters[3].Name && c.Name != clusters[7].Name {
				t.Errorf("%v: not one of the allowed clusters", a)
			}
		case a.App == app.Metadata.Name && a.Component == app.Components[1].Name:
			if c.Tier != topology.TierEdge || !c.UDPExposure {
				t.Errorf("%v: %s is %s, UDP %v", a, c.Name, c.Tier, c.UDPExposure)
			}
		}
	}
}

// TestJudge: continuum's checker finds nothing wrong with continuum's own plan and
// finds capacity broken when every replica is put on the smallest cluster (whose CPU
// the replicas' requests exceed, computed here from the instance).
func TestJudge(t *testing.T) {
	ctx := context.Background()
	inst := newInstance(100, 10)
	plan, err := inst.continuum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := inst.judge(ctx, plan.Assignments)
	if err != nil || v.broken() != 0 || v.unplaced != 0 {
		t.Errorf("continuum's plan: %+v, %v", v, err)
	}
	var smallest topology.Cluster
	for _, c := range inst.in.Topology.Clusters() {
		if smallest.Name == "" || c.Capacity.MilliCPU() < smallest.Capacity.MilliCPU() {
			smallest = c
		}
	}
	var need int64
	for _, a := range inst.in.Apps {
		for _, c := range a.Components {
			need += int64(max(c.Replicas, 1)) * c.Requests.MilliCPU()
		}
	}
	if need <= smallest.Capacity.MilliCPU() {
		t.Fatalf("the instance fits on its smallest cluster (%d <= %d millicores): no test", need, smallest.Capacity.MilliCPU())
	}
	bad := slices.Clone(plan.Assignments)
	for i := range bad {
		bad[i].Cluster = smallest.Name
	}
	v, err = inst.judge(ctx, bad)
	if err != nil || v.capacity == 0 || v.broken() > v.replicas {
		t.Errorf("all on %s (%d millicores for %d): %+v, %v", smallest.Name, smallest.Capacity.MilliCPU(), need, v, err)
	}
}

// retranslate rebuilds the OCM side of inst after its applications changed.
func retranslate(inst instance) instance {
	fresh := newInstance(inst.in.Topology.NumClusters(), 1)
	fresh.in = inst.in
	fresh.components = nil
	for _, app := range inst.in.Apps {
		for _, comp := range app.Components {
			fresh.components = append(fresh.components, translate(app.Metadata.Name, comp))
		}
	}
	return fresh
}

func replicas(apps []placement.Application) int {
	n := 0
	for _, a := range apps {
		for _, c := range a.Components {
			n += max(c.Replicas, 1)
		}
	}
	return n
}

// ExampleTable shows the table's layout.
func Example_table() {
	fmt.Print(table([]row{{size: size{100, 10}, components: 12, ocm: 1500000, cont: 1000000, ratio: 1.5,
		ocmVerdict: verdict{replicas: 12, latency: 1, capacity: 2}}}, 5))
	// Output:
	// | clusters x components | OCM per component | continuum per component | OCM / continuum | replicas | broken by OCM's choice: latency / bandwidth / chain / capacity / policy | by continuum's |
	// |---|---|---|---|---|---|---|
	// | 100 x 12 | 1500.0 us | 1000.0 us | 1.50x | 12 | 1 / 0 / 0 / 2 / 0 (3 replicas, 25%) | 0 |
	//
	// Medians of 5 interleaved rounds (ratio: median of the per-round ratios); OCM's time is its Schedule calls only. Broken: replicas that continuum's Repair must move off OCM's choice, by the first constraint each breaks (latency: a site's or flow's RTT bound; chain: an end-to-end budget; capacity: CPU, memory or GPU; policy: allowed lists, UDP, spread, affinity).
}
