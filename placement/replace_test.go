package placement_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func TestDeterministicPureAndConcurrent(t *testing.T) {
	in := pt.Generate(11, pt.GenOptions{Clusters: 40, Components: 30, Shape: pt.XRChain})
	req := in.Request()
	before, _ := json.Marshal(req)
	var first []byte
	var wg sync.WaitGroup
	outs := make([][]byte, 4)
	for g := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plan, err := placement.Place(context.Background(), in.Snapshot(), req)
			if err != nil {
				t.Error(err)
				return
			}
			outs[g], _ = json.Marshal(plan)
		}()
	}
	wg.Wait()
	first = outs[0]
	for g, o := range outs {
		if !bytes.Equal(o, first) {
			t.Errorf("plan %d differs from plan 0", g)
		}
	}
	after, _ := json.Marshal(req)
	if !bytes.Equal(before, after) {
		t.Error("Place modified its request")
	}
}

func TestCancelledContext(t *testing.T) {
	in := pt.Generate(1, pt.GenOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := placement.Place(ctx, in.Snapshot(), in.Request()); err != context.Canceled {
		t.Errorf("Place on a cancelled context = %v, want context.Canceled", err)
	}
}

// repairContinuum: the renderer sits on edge-a; when edge-a's link to the users
// degrades, only the renderer must move.
func repairSetup(t *testing.T) (*topology.Topology, placement.Application) {
	topo := testContinuum(t)
	app := pt.NewApp("xr").
		Component("render", "2", "4Gi", pt.Processing(ms(4)), pt.State("2Gi")).
		Component("sync", "1", "1Gi", pt.State("1Gi")).
		Component("store", "1", "1Gi", pt.State("50Gi")).
		Flow("users", "render", topology.Gbps, 0).Flow("render", "sync", 100*topology.Mbps, 0).Flow("sync", "store", 10*topology.Mbps, 0).
		Chain("mtp", ms(10), "users", "render", "users").Build()
	return topo, app
}

func TestRepairMovesOnlyWhatViolates(t *testing.T) {
	topo, app := repairSetup(t)
	snap := &placement.Snapshot{Topology: topo}
	first, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	at := assignmentOf(first)
	if at[replicaKey{"xr", "render", 0}] != "near" {
		t.Fatalf("render on %s, want near: %v", at[replicaKey{"xr", "render", 0}], first.Assignments)
	}
	// The users' access to near degrades to 7ms and the near-near2 link to 5ms
	// (measured): users reach near in 7ms either way, render's chain becomes
	// 4 + 7 = 11ms > 10ms, and render must move to near2 (4 + 2 = 6ms).
	snap2 := &placement.Snapshot{Topology: topo, RTT: map[placement.Pair]topology.Duration{
		placement.MakePair("users", "near"): ms(7), placement.MakePair("near", "near2"): ms(5)}}
	for _, mode := range []placement.ReplaceMode{placement.Repair, placement.Reoptimize} {
		plan, err := placement.Place(context.Background(), snap2, &placement.Request{Apps: []placement.Application{app},
			Current: first.Assignments, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		got := assignmentOf(plan)
		if got[replicaKey{"xr", "render", 0}] != "near2" {
			t.Errorf("%s: render on %s, want near2", mode, got[replicaKey{"xr", "render", 0}])
		}
		if mode == placement.Repair {
			if plan.Moves != 1 {
				t.Errorf("repair moved %d replicas, want 1: %v", plan.Moves, plan.Assignments)
			}
			for _, c := range []string{"sync", "store"} {
				if got[replicaKey{"xr", c, 0}] != at[replicaKey{"xr", c, 0}] {
					t.Errorf("repair moved %s", c)
				}
			}
		}
		if plan.Objective.Migration <= 0 {
			t.Errorf("%s: migration term %.3f, want > 0 (render's 2Gi moved)", mode, plan.Objective.Migration)
		}
	}
}

func TestHysteresisKeepsCurrent(t *testing.T) {
	topo, app := repairSetup(t)
	snap := &placement.Snapshot{Topology: topo}
	// A current placement that is feasible but not optimal: store on near2 instead of
	// the cheap cloud.
	first, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app}})
	if err != nil {
		t.Fatal(err)
	}
	current := append([]placement.Assignment(nil), first.Assignments...)
	for i := range current {
		if current[i].Component == "store" {
			current[i].Cluster = "near2"
		}
	}
	w := placement.Weights{Network: 1, Compute: 1, Migration: 0.001}
	keep, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app},
		Current: current, Hysteresis: 0.5, Weights: &w})
	if err != nil {
		t.Fatal(err)
	}
	if !keep.Search.KeptCurrent || keep.Moves != 0 || !reflect.DeepEqual(assignmentOf(keep), assignmentOf(&placement.Plan{Assignments: current})) {
		t.Errorf("hysteresis 50%%: kept=%v moves=%d, want the current placement kept", keep.Search.KeptCurrent, keep.Moves)
	}
	move, err := placement.Place(context.Background(), snap, &placement.Request{Apps: []placement.Application{app},
		Current: current, Hysteresis: 0, Weights: &w})
	if err != nil {
		t.Fatal(err)
	}
	if move.Search.KeptCurrent || move.Moves != 1 {
		t.Errorf("no hysteresis: kept=%v moves=%d, want store moved back", move.Search.KeptCurrent, move.Moves)
	}
}

func TestMeasuredLinkRTTReroutes(t *testing.T) {
	topo := topologytest.PaperFig1()
	app := pt.NewApp("m").Component("a", "1", "1Gi", pt.Clusters("gva-venue")).Component("b", "1", "1Gi", pt.Clusters("fra-cloud")).
		Flow("a", "b", topology.Mbps, 0).Build()
	req := &placement.Request{Apps: []placement.Application{app}}
	plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo}, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Flows[0].RTT; got != ms(10.9) { // gva-venue -> gva-edge -> fra-cloud
		t.Fatalf("flow RTT = %v, want 10.9ms", got)
	}
	// gva-edge <-> fra-cloud measured at 30ms: the route now goes through mil-edge,
	// 0.9 + 6.1 + 10.7 = 17.7ms.
	snap := &placement.Snapshot{Topology: topo, RTT: map[placement.Pair]topology.Duration{placement.MakePair("fra-cloud", "gva-edge"): ms(30)}}
	plan, err = placement.Place(context.Background(), snap, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Flows[0].RTT; got != ms(17.7) {
		t.Errorf("flow RTT with the degraded link = %v, want 17.7ms (rerouted through mil-edge)", got)
	}
	// A measurement below the physical floor is an input error.
	snap.RTT[placement.MakePair("fra-cloud", "gva-edge")] = ms(1)
	_, err = placement.Place(context.Background(), snap, req)
	if list, ok := placement.AsErrorList(err); !ok || list[0].Field != "snapshot.rtt" || !strings.Contains(list[0].Detail, "physical floor") {
		t.Errorf("below-floor measurement: %v", err)
	}
}
