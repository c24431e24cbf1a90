package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/placement/loop"
)

// TestSimulatedHour runs the manager with the loop on sim for a simulated hour and
// checks, with its own observers: the degraded link is repaired by moving
// session-sync off gva-edge, it moves back after the link recovers, and after every
// tick each component that had a ready replica still has one.
func TestSimulatedHour(t *testing.T) {
	var mu sync.Mutex
	var decisions []loop.Decision
	var out strings.Builder
	c, err := newSimController(simOptions{out: &out, onRound: func(r *loop.Round) {
		mu.Lock()
		defer mu.Unlock()
		if r.Decision.Kind != loop.DecideKeep && r.Err == nil {
			decisions = append(decisions, r.Decision)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	had := map[string]bool{}
	var zero []string
	c.world.AfterTick(func(time.Time) {
		for _, comp := range c.app.Components {
			n := c.world.ReadyReplicas(c.app.Metadata.Name, comp.Name)
			if had[comp.Name] && n == 0 {
				zero = append(zero, fmt.Sprintf("%s at +%s", comp.Name, c.world.Elapsed()))
			}
			had[comp.Name] = had[comp.Name] || n > 0
		}
	})
	if err := c.run(context.Background(), time.Hour); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(zero) > 0 {
		t.Errorf("components without a ready replica: %v", zero)
	}
	for _, comp := range c.app.Components {
		if !had[comp.Name] {
			t.Errorf("%s never had a ready replica", comp.Name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	repaired, back := false, false
	for _, d := range decisions {
		kinds = append(kinds, string(d.Kind))
		for _, ch := range d.Changes {
			if ch.Component != "session-sync" {
				continue
			}
			repaired = repaired || (d.Kind == loop.DecideRepair && ch.From == "gva-edge" && ch.Constraint != "")
			back = back || (d.Kind == loop.DecideReoptimize && ch.To == "gva-edge")
		}
	}
	if !repaired || !back {
		t.Errorf("decisions %v: want a repair moving session-sync off gva-edge for a broken constraint, and a re-optimisation moving it back\n%s",
			kinds, out.String())
	}
	if !strings.Contains(out.String(), "no component was ever without a ready replica") {
		t.Errorf("the program's summary lacks its own make-before-break verdict:\n%s", out.String())
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--topology", "t.yaml"}, "need --kubeconfig"},
		{[]string{"--kubeconfig", "k"}, "--topology: required"},
		{[]string{"--kubeconfig", "k", "--topology", "t.yaml"}, "--app"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--kubeconfig", "k", "--topology", "/nonexistent.yaml", "--app", "a.yaml"}, "nonexistent.yaml"},
	} {
		err := run(context.Background(), tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}
