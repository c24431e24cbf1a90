package sim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// drainRun runs the loop on the paper's continuum with app for 20 simulated minutes,
// draining gva-edge at +5m while users are connected. It checks on every tick that
// no component drops to zero ready replicas, and on every round that the plan carried
// out keeps every chain and flow budget; it returns the rounds and the instances at
// the end (component -> clusters with ready pods).
func drainRun(t *testing.T, app placement.Application, so sim.Options, provision func(context.Context, *topology.Topology, *placement.UnplaceableError) ([]provision.ClusterSpec, error)) ([]loop.Round, map[string][]string) {
	t.Helper()
	so.Topology = topologytest.PaperFig1()
	w, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	wiring, err := w.Wire([]placement.Application{app}, sim.WireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rounds []loop.Round
	opts := wiring.Loop
	opts.Provision = provision
	opts.OnRound = func(r *loop.Round) {
		rounds = append(rounds, *r)
		if r.Plan == nil {
			return
		}
		for _, c := range r.Plan.Chains {
			if c.Used > c.Budget {
				t.Errorf("round %d carried out a plan breaking chain %s: %s > %s", r.Number, c.Name, c.Used, c.Budget)
			}
		}
		for _, f := range r.Plan.Flows {
			if f.MaxRTT > 0 && f.RTT > f.MaxRTT {
				t.Errorf("round %d carried out a plan breaking flow %s->%s: %s > %s", r.Number, f.From, f.To, f.RTT, f.MaxRTT)
			}
		}
	}
	l, err := loop.New(wiring.Actor, []placement.Application{app}, opts)
	if err != nil {
		t.Fatal(err)
	}
	placed := false
	cancel := w.AfterTick(func(now time.Time) {
		ready := 0
		for _, c := range app.Components {
			n := w.ReadyReplicas(app.Metadata.Name, c.Name)
			if n > 0 {
				ready++
			}
			if placed && n == 0 {
				t.Errorf("t=+%s: %s has no ready replica", w.Elapsed(), c.Name)
			}
		}
		placed = placed || ready == len(app.Components)
	})
	defer cancel()
	if err := w.At(5*time.Minute, sim.DrainCluster("gva-edge")); err != nil {
		t.Fatal(err)
	}
	if err := w.RunFor(context.Background(), 20*time.Minute, l.Start); err != nil {
		t.Fatal(err)
	}
	ins, err := w.Instances(context.Background(), app.Metadata.Name)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string][]string{}
	for _, in := range ins {
		if in.Replicas > 0 {
			at[in.Component] = append(at[in.Component], in.Cluster)
		}
	}
	return rounds, at
}

// TestDrainEdgeWithUsersConnected: gva-edge is drained while users in Geneva are
// connected. session-sync moves off it make-before-break; render-geneva has nowhere
// else within 5 ms of Geneva, so it stays, and the loop says so and why.
func TestDrainEdgeWithUsersConnected(t *testing.T) {
	app := placementtest.XRCollab()
	rounds, at := drainRun(t, app, sim.Options{}, nil)
	before := ""
	for _, r := range rounds {
		if r.At.Sub(rounds[0].At) < 5*time.Minute && r.Plan != nil {
			for _, a := range r.Plan.Assignments {
				if a.Component == "session-sync" {
					before = a.Cluster
				}
			}
		}
	}
	if before != "gva-edge" {
		t.Fatalf("session-sync starts on %q, the test expects gva-edge", before)
	}
	repairsAtOnce(t, rounds)
	if got := at["session-sync"]; len(got) != 1 || got[0] == "gva-edge" {
		t.Errorf("session-sync runs on %v after the drain, want one cluster other than gva-edge", got)
	}
	if got := at["render-geneva"]; len(got) != 1 || got[0] != "gva-edge" {
		t.Errorf("render-geneva runs on %v, want it kept on gva-edge (nowhere else within 5ms)", got)
	}
	found := false
	for _, r := range rounds {
		if strings.Contains(r.Decision.Reason, "drain:") && strings.Contains(r.Decision.Reason, "xr-collab/render-geneva[0] stays") &&
			strings.Contains(r.Decision.Reason, "site-latency") {
			found = true
		}
	}
	if !found {
		var reasons []string
		for _, r := range rounds {
			reasons = append(reasons, fmt.Sprintf("%s: %s", r.Decision.Kind, r.Decision.Reason))
		}
		t.Errorf("no round says render-geneva stays and why:\n%s", strings.Join(reasons, "\n"))
	}
}

// TestDrainEdgeEverythingMoves: with render-geneva allowed 8 ms to Geneva (mil-edge
// is within reach), the drain empties gva-edge.
func TestDrainEdgeEverythingMoves(t *testing.T) {
	app := placementtest.XRCollab()
	for i := range app.Flows {
		if app.Flows[i].From == "geneva" {
			app.Flows[i].MaxRTT = topology.Millis(8)
		}
	}
	rounds, at := drainRun(t, app, sim.Options{}, nil)
	repairsAtOnce(t, rounds)
	for comp, clusters := range at {
		for _, c := range clusters {
			if c == "gva-edge" {
				t.Errorf("%s still runs on the drained gva-edge (%v)", comp, clusters)
			}
		}
	}
	if len(at["render-geneva"]) != 1 {
		t.Errorf("render-geneva on %v, want one cluster", at["render-geneva"])
	}
}

// TestDrainEdgeProvisions: with a provisioning policy, the render-geneva that has
// nowhere to go gets a new edge cluster in Geneva; once it is ready, the drain
// empties gva-edge. Nothing was evicted meanwhile (drainRun checks every tick).
func TestDrainEdgeProvisions(t *testing.T) {
	geneva := topology.Location{Lat: 46.2044, Lon: 6.1432}
	gpuNode := topology.ResourceList{topology.ResourceCPU: resource.MustParse("8"), topology.ResourceMemory: resource.MustParse("32Gi"),
		topology.ResourceGPU: resource.MustParse("1")}
	var asked []string
	policy := func(_ context.Context, topo *topology.Topology, short *placement.UnplaceableError) ([]provision.ClusterSpec, error) {
		if _, ok := topo.Cluster("gen-edge"); ok || len(asked) > 0 {
			return nil, nil
		}
		for _, s := range short.Shortfall {
			if len(s.Near) > 0 && s.Near[0].Site == "geneva" {
				asked = append(asked, s.Component)
				return []provision.ClusterSpec{{Name: "gen-edge", Distribution: provision.K3s, KubernetesVersion: "v1.33.1", Workers: 2,
					Labels: provision.Labels{Owner: "operator-b", Tier: "edge", Region: "geneva"}}}, nil
			}
		}
		return nil, nil
	}
	rounds, at := drainRun(t, placementtest.XRCollab(), sim.Options{Regions: map[string]topology.Location{"geneva": geneva}, NodeCapacity: gpuNode}, policy)
	if len(asked) != 1 || asked[0] != "render-geneva" {
		t.Errorf("provisioning asked for %v, want once for render-geneva", asked)
	}
	if got := at["render-geneva"]; len(got) != 1 || got[0] != "gen-edge" {
		t.Errorf("render-geneva on %v, want the new gen-edge", got)
	}
	for comp, clusters := range at {
		if slices.Contains(clusters, "gva-edge") {
			t.Errorf("%s still runs on the drained gva-edge (%v)", comp, clusters)
		}
	}
	provisioned := false
	for _, r := range rounds {
		provisioned = provisioned || r.Decision.Kind == loop.DecideProvision
	}
	if !provisioned {
		t.Error("no round decided to provision")
	}
}

// repairsAtOnce: the first round after the drain (+5m, watch rounds every 10 s)
// repairs: a declared taint needs no confirmation.
func repairsAtOnce(t *testing.T, rounds []loop.Round) {
	t.Helper()
	for _, r := range rounds {
		if d := r.At.Sub(rounds[0].At); d >= 5*time.Minute {
			if r.Decision.Kind != loop.DecideRepair || d > 5*time.Minute+20*time.Second {
				t.Errorf("first round after the drain, at +%s: %s (%s); want a repair within 20 s", d, r.Decision.Kind, r.Decision.Reason)
			}
			return
		}
	}
	t.Error("no round after the drain")
}

// TestDrainTolerationPeriod: every component tolerates the drain for 120 s; the
// loop (through its prepared problem, which must carry the clock's time) keeps them
// on gva-edge until the period has passed, then moves them.
func TestDrainTolerationPeriod(t *testing.T) {
	app := placementtest.XRCollab()
	for i := range app.Flows {
		if app.Flows[i].From == "geneva" {
			app.Flows[i].MaxRTT = topology.Millis(8)
		}
	}
	secs := int64(120)
	for i := range app.Components {
		app.Components[i].Tolerations = []placement.Toleration{{Key: topology.TaintDrain, Operator: placement.TolerationExists,
			Effect: topology.NoExecute, TolerationSeconds: &secs}}
	}
	rounds, at := drainRun(t, app, sim.Options{}, nil)
	var first time.Duration
	for _, r := range rounds {
		if d := r.At.Sub(rounds[0].At); d >= 5*time.Minute && r.Decision.Kind == loop.DecideRepair {
			first = d
			break
		}
	}
	if first < 7*time.Minute || first > 7*time.Minute+20*time.Second {
		t.Errorf("first repair after the drain at +%s, want when the 120 s toleration ends (+7m, within 20 s)", first)
	}
	for comp, clusters := range at {
		if slices.Contains(clusters, "gva-edge") {
			t.Errorf("%s still runs on the drained gva-edge (%v)", comp, clusters)
		}
	}
}
