package loop_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/events"

	"github.com/continuum-xr/continuum/internal/looptest"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/topology"
)

// TestLoopRealDrain drains clusters through the loop on the real backends and real
// apiservers (the scenario of TestLoopRealBackends): draining w1 moves stream's two
// replicas to w2 make-before-break (every component keeps a ready replica
// throughout); draining w3, where analytics is the only cluster of its region, moves
// nothing: analytics stays, and the round says so and why.
func TestLoopRealDrain(t *testing.T) {
	s := newScenario(t)
	rec := events.NewFakeRecorder(100)
	l, _ := s.newLoop(loop.Options{Recorder: rec})
	roundsUntil(t, l, 40, succeeded(loop.DecidePlace))
	s.waitState("placing", looptest.WantPlaced, 60*time.Second, nil)
	s.sampler.Arm(true)

	// kubectl drain, for a cluster: the topology the loop reads now has w1 tainted
	// NoExecute. Hold w2's new instance not ready for a second: w1's must stay up.
	drained, err := topology.Drain(s.topo, "w1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.topo = drained // the loop runs in this goroutine (RunOnce): no race
	s.hold.Store(act.InstanceName("stream", "w2"), time.Now().Add(time.Second))
	rs := roundsUntil(t, l, 40, succeeded(loop.DecideRepair))
	if len(rs) != 1 {
		t.Errorf("the drain took %d rounds, want 1: a declared taint needs no confirmation", len(rs))
	}
	last := rs[len(rs)-1]
	if last.Decision.Moves != 2 || !strings.Contains(last.Decision.Reason, "w1 -> w2") {
		t.Errorf("drain repair: moves %d, reason %q; want stream's 2 replicas w1 -> w2", last.Decision.Moves, last.Decision.Reason)
	}
	for _, c := range last.Decision.Changes {
		if c.Constraint != "taints" || !strings.Contains(c.Why, topology.TaintDrain) {
			t.Errorf("change %+v: want the drain taint as the reason", c)
		}
	}
	s.waitState("draining w1", looptest.WantMigrated, 60*time.Second, func() { l.RunOnce(t.Context()) })

	// Drain w3: analytics may run in region mil only, so it has nowhere to go. The
	// loop keeps it there and names it, instead of evicting it.
	if s.topo, err = topology.Drain(s.topo, "w3", time.Now()); err != nil {
		t.Fatal(err)
	}
	r := l.RunOnce(t.Context())
	if r.Err != nil || r.Decision.Kind != loop.DecideKeep || !strings.Contains(r.Decision.Reason, s.name+"/analytics[0] stays") ||
		!strings.Contains(r.Decision.Reason, "allowed") {
		t.Errorf("draining w3: %s (%s) err=%v; want keep, naming analytics and why", r.Decision.Kind, r.Decision.Reason, r.Err)
	}
	// Its event says the drain is blocked, not that the applications fit nowhere.
	var seen []string
	for len(rec.Events) > 0 {
		seen = append(seen, <-rec.Events)
	}
	all := strings.Join(seen, "\n")
	if !strings.Contains(all, "DrainBlocked") || strings.Contains(all, "Unplaceable") {
		t.Errorf("events after draining w3:\n%s\nwant a DrainBlocked warning and no Unplaceable", all)
	}
	s.waitState("after draining w3", looptest.WantMigrated, 5*time.Second, nil)
	s.sampler.Arm(false)
	s.sampler.Assert(t)
}
