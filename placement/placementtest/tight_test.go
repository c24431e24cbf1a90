package placementtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

func TestGenerateTightDeterministic(t *testing.T) {
	o := placementtest.TightOptions{Clusters: 12, Components: 20, Load: 0.85}
	a, b := placementtest.GenerateTight(7, o), placementtest.GenerateTight(7, o)
	c := placementtest.GenerateTight(8, o)
	enc := func(x placementtest.Tight) []byte {
		js, err := json.Marshal(struct {
			T    topology.Spec
			Apps []placement.Application
			P    []placement.Assignment
		}{x.Topology.Spec(), x.Apps, x.Planted})
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	if !bytes.Equal(enc(a), enc(b)) {
		t.Error("the same seed gave two different instances")
	}
	if bytes.Equal(enc(a), enc(c)) {
		t.Error("seeds 7 and 8 gave the same instance")
	}
}

// TestGenerateTightShape checks the class's promises over many instances: the planted
// plan is feasible in the engine's own model, demand is Load of the capacity, 30-50 %
// of flows have a maximum RTT, about 20 % of components are pinned to 2-3 clusters,
// prices are 1-3 per core.
func TestGenerateTightShape(t *testing.T) {
	var flows, bounded, comps, pinned int
	for seed := uint64(1); seed <= 24; seed++ {
		o := placementtest.TightOptions{Clusters: 5 + int(seed%6)*5, Components: 6 + int(seed%5)*11, Load: []float64{0.6, 0.85}[seed%2]}
		tt := placementtest.GenerateTight(seed, o)
		var capCPU, capMem, reqCPU, reqMem float64
		for _, c := range tt.Topology.Clusters() {
			capCPU += float64(c.Capacity.MilliCPU())
			capMem += float64(c.Capacity.Memory())
			if c.CPUPrice < 1 || c.CPUPrice > 3 {
				t.Errorf("%s: %s costs %v per core", tt.Name, c.Name, c.CPUPrice)
			}
		}
		n := 0
		for _, a := range tt.Apps {
			for _, c := range a.Components {
				n++
				reqCPU += float64(c.Requests.MilliCPU())
				reqMem += float64(c.Requests.Memory())
				if k := len(c.Allowed.Clusters); k > 0 {
					pinned++
					if k < 2 || k > 3 {
						t.Errorf("%s: %s pinned to %d clusters", tt.Name, c.Name, k)
					}
				}
			}
			for _, f := range a.Flows {
				flows++
				if f.MaxRTT > 0 {
					bounded++
				}
				if f.Bandwidth < 100*topology.Mbps || f.Bandwidth > 20*topology.Gbps {
					t.Errorf("%s: flow %s->%s of %v", tt.Name, f.From, f.To, f.Bandwidth)
				}
			}
		}
		comps += n
		if n != o.Components || tt.Topology.NumClusters() != o.Clusters {
			t.Errorf("%s: %d components on %d clusters, want %d on %d", tt.Name, n, tt.Topology.NumClusters(), o.Components, o.Clusters)
		}
		if l := reqCPU / capCPU; math.Abs(l-o.Load) > 0.05 {
			t.Errorf("%s: CPU demand is %.3f of capacity, want about %v", tt.Name, l, o.Load)
		}
		if l := reqMem / capMem; math.Abs(l-o.Load) > 0.05 {
			t.Errorf("%s: memory demand is %.3f of capacity, want about %v", tt.Name, l, o.Load)
		}
		req := tt.Request()
		req.Current, req.Mode = tt.Planted, placement.Repair
		plan, err := placement.Place(context.Background(), tt.Snapshot(), req)
		if err != nil || !plan.Feasible || plan.Moves != 0 {
			t.Errorf("%s: the planted plan is not kept whole by Repair: err %v, moves %d", tt.Name, err, plan.Moves)
		}
	}
	if share := float64(bounded) / float64(flows); share < 0.25 || share > 0.55 {
		t.Errorf("%.2f of flows have a maximum RTT, want 0.3-0.5", share)
	}
	if share := float64(pinned) / float64(comps); share < 0.12 || share > 0.28 {
		t.Errorf("%.2f of components are pinned, want about 0.2", share)
	}
}

func TestMILPRejectsWhatItCannotModel(t *testing.T) {
	tt := placementtest.GenerateTight(3, placementtest.TightOptions{Clusters: 5, Components: 6})
	tt.Apps[0].Components[1].Replicas = 2
	_, err := placementtest.NewMILP(tt.Instance)
	if err == nil || !strings.Contains(err.Error(), "apps[0].components[1].replicas") {
		t.Errorf("replicas 2: got %v, want an error naming apps[0].components[1].replicas", err)
	}
}

func TestMILPWriteLP(t *testing.T) {
	tt := placementtest.GenerateTight(3, placementtest.TightOptions{Clusters: 6, Components: 8})
	m, err := placementtest.NewMILP(tt.Instance)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.WriteLP(&buf); err != nil {
		t.Fatal(err)
	}
	lp := buf.String()
	bin, cont, rows := m.Size()
	for _, want := range []string{"Minimize\n obj:", "\nSubject To\n", "\nBinaries\n", "\nEnd\n", " one_0:", " x_0_"} {
		if !strings.Contains(lp, want) {
			t.Errorf("the LP lacks %q", want)
		}
	}
	if bin == 0 || cont == 0 || rows == 0 {
		t.Errorf("size %d binaries, %d continuous, %d rows", bin, cont, rows)
	}
	if got := strings.Count(lp, "\n ") - strings.Count(lp, "\n  "); got < rows+1 {
		t.Errorf("the LP has %d row lines, want at least %d", got, rows+1)
	}
	ok, cost, why, err := m.Check(tt.Planted)
	if err != nil || !ok || cost <= 0 {
		t.Errorf("the planted plan: ok %v cost %v (%s) err %v", ok, cost, why, err)
	}
}

func TestGenerateTightSmallest(t *testing.T) {
	for _, o := range []placementtest.TightOptions{{Clusters: 1, Components: 1}, {Clusters: 2, Components: 1, Load: 2}, {Clusters: 3, Components: 40}} {
		tt := placementtest.GenerateTight(1, o)
		req := tt.Request()
		req.Current, req.Mode = tt.Planted, placement.Repair
		if plan, err := placement.Place(context.Background(), tt.Snapshot(), req); err != nil || plan.Moves != 0 {
			t.Errorf("%+v: the planted plan is not kept whole: %v", o, err)
		}
	}
}
