package placement_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
)

// Plan.Explain builds, on request, the same explanation that ExplainFull builds
// eagerly, for every replica; the default level carries the summary only.
func TestExplainOnRequestEqualsFull(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		in := pt.Generate(seed, pt.GenOptions{Clusters: 30, Components: 8, Planted: true})
		full := in.Request()
		full.Explain = placement.ExplainFull
		want, err := placement.Place(context.Background(), in.Snapshot(), full)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := placement.Place(context.Background(), in.Snapshot(), in.Request())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(plan.Assignments, want.Assignments) {
			t.Fatalf("seed %d: the explanation level changed the plan", seed)
		}
		ruled := 0
		for _, e := range plan.Explanations {
			if len(e.RuledOut) > 0 {
				t.Fatalf("seed %d: ExplainAuto listed clusters for %s/%s[%d]; it gives the summary", seed, e.App, e.Component, e.Replica)
			}
		}
		for _, w := range want.Explanations {
			got, err := plan.Explain(w.App, w.Component, w.Replica)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("seed %d: Explain(%s, %s, %d) =\n%+v\nExplainFull gave\n%+v", seed, w.App, w.Component, w.Replica, got, w)
			}
			ruled += len(got.RuledOut)
		}
		if ruled == 0 {
			t.Fatalf("seed %d: no cluster ruled out anywhere: the comparison says nothing", seed)
		}
	}
}

// Explain agrees with the plan's assignments, concurrent calls agree (run with -race)
// and leave the plan's state as it was; decoded and nil plans and unknown replicas are
// errors.
func TestExplainConcurrentAndErrors(t *testing.T) {
	in := pt.Generate(4, pt.GenOptions{Clusters: 20, Components: 6, Planted: true})
	plan, err := placement.Place(context.Background(), in.Snapshot(), in.Request())
	if err != nil {
		t.Fatal(err)
	}
	a := plan.Assignments[0]
	first, err := plan.Explain(a.App, a.Component, a.Replica)
	if err != nil {
		t.Fatal(err)
	}
	if first.Chosen != a.Cluster {
		t.Fatalf("explained chosen %q, plan says %q", first.Chosen, a.Cluster)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, b := range plan.Assignments {
				e, err := plan.Explain(b.App, b.Component, b.Replica)
				if err != nil || e.Chosen != b.Cluster {
					t.Errorf("Explain(%s/%s[%d]) = %q, %v; plan says %q", b.App, b.Component, b.Replica, e.Chosen, err, b.Cluster)
				}
			}
		})
	}
	wg.Wait()
	again, _ := plan.Explain(a.App, a.Component, a.Replica)
	if !reflect.DeepEqual(first, again) {
		t.Fatal("explaining changed the plan's state")
	}
	if _, err := plan.Explain(a.App, a.Component, 99); err == nil {
		t.Fatal("no error for a replica the plan does not have")
	}
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := placement.DecodePlan(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decoded.Explain(a.App, a.Component, a.Replica); err == nil {
		t.Fatal("a decoded plan explained without engine state")
	}
	var none *placement.Plan
	if _, err := none.Explain(a.App, a.Component, a.Replica); err == nil {
		t.Fatal("a nil plan explained")
	}
}

// A plan from a Prepared problem explains its own inputs after the Prepared has moved
// on: Explain on the first plan, while and after a second call re-routes around a
// degraded link, gives what ExplainFull gave for the first inputs (run with -race: the
// plan must not share the Prepared's tables).
func TestExplainAfterPreparedMovesOn(t *testing.T) {
	in := pt.Generate(5, pt.GenOptions{Clusters: 30, Components: 8, Planted: true})
	full := in.Request()
	full.Explain = placement.ExplainFull
	want, err := placement.Place(context.Background(), in.Snapshot(), full)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := placement.Prepare(in.Snapshot(), in.Apps)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pp.Place(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, l := range in.Topology.Links() {
			pp.SetRTT(l.A, l.B, l.EffectiveRTT()*4) // every route is re-computed
			if _, err := pp.Place(context.Background(), &placement.Request{Current: plan.Assignments, Mode: placement.Repair}); err != nil && !errors.Is(err, placement.ErrUnplaceable) {
				t.Error(err)
				return
			}
		}
	})
	for _, w := range want.Explanations {
		got, err := plan.Explain(w.App, w.Component, w.Replica)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("Explain(%s, %s, %d) after the Prepared moved on =\n%+v\nExplainFull gave\n%+v", w.App, w.Component, w.Replica, got, w)
		}
	}
	wg.Wait()
}
