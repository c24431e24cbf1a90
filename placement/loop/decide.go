package loop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
)

// decide returns the plan to carry out (nil: keep what is in force), or clusters to
// provision.
func (l *Loop) decide(ctx context.Context, topo *topology.Topology, snap *placement.Snapshot, apps []placement.Application, r *Round, full bool) (*placement.Plan, []provision.ClusterSpec, error) {
	// Replicas on clusters that are gone are new replicas to the engine.
	var current []placement.Assignment
	gone := 0
	replicas := map[[2]string]int{}
	for _, a := range apps {
		for _, c := range a.Components {
			replicas[[2]string{a.Metadata.Name, c.Name}] = max(c.Replicas, 1)
		}
	}
	type replicaKey struct {
		app, comp string
		rep       int
	}
	kept := make(map[replicaKey]bool, len(l.current)) // what current holds
	for _, a := range l.current {
		// Instances read back beyond the application's replicas (old ones a
		// make-before-break has not stopped yet, after a crash) are not part of the
		// placement the engine re-places; Apply stops them.
		if n, ok := replicas[[2]string{a.App, a.Component}]; !ok || a.Replica < 0 || a.Replica >= n {
			continue
		}
		key := replicaKey{a.App, a.Component, a.Replica}
		if kept[key] {
			continue // a replica read back twice mid-migration: the first one stands
		}
		if _, ok := topo.ClusterIndex(a.Cluster); ok && !slices.Contains(r.Observed.Down, a.Cluster) {
			current = append(current, a)
			kept[key] = true
		} else {
			gone++
		}
	}
	req := &placement.Request{Apps: apps, Current: current, Hysteresis: l.opts.Hysteresis, Explain: placement.ExplainChosen,
		MaxNodes: l.opts.MaxNodes, Timeout: l.opts.Timeout, Seed: l.undecided}
	missing := len(current) < totalReplicas(apps)
	d := &r.Decision

	req.Mode = placement.Repair
	repair, err := l.now.place(ctx, l.opts.Engine, snap, apps, req)
	if errors.Is(err, placement.ErrUndecided) {
		// The engine ran out of its budget: nothing is proven, so nothing is
		// provisioned and the placement in force stays.
		d.Kind = DecideUndecided
		d.Reason = fmt.Sprintf("the engine found no complete placement within its budget (seed %d) and proved none impossible; "+
			"keeping the placement in force, provisioning nothing, the next round tries seed %d: %s", l.undecided, l.undecided+1, firstClause(err))
		l.undecided++
		for _, app := range apps {
			l.event(app, corev1.EventTypeWarning, "PlacementUndecided", "Decide", "%s", d.Reason)
		}
		return nil, nil, nil
	}
	l.undecided = 0
	if err != nil {
		var un *placement.UnplaceableError
		if !errors.As(err, &un) {
			return nil, nil, fmt.Errorf("loop: decide: %w", err)
		}
		plan, specs, err := l.shortfall(ctx, topo, apps, un, r)
		if err != nil {
			return nil, nil, err
		}
		if len(specs) == 0 {
			// drain.go: move what can move, report what stays.
			plan = cmp.Or(l.drainAround(ctx, snap, req, un, r), plan)
		}
		// The events say what was decided, after the drain had its say.
		d := &r.Decision
		for _, app := range apps {
			switch d.Kind {
			case DecideProvision:
				l.event(app, corev1.EventTypeNormal, "Provisioning", "Decide", "%s", d.Reason)
			case DecideUnplaceable:
				l.event(app, corev1.EventTypeWarning, "Unplaceable", "Decide", "%s", d.Reason)
			default: // a drain that leaves replicas on NoExecute clusters
				l.event(app, corev1.EventTypeWarning, "DrainBlocked", "Decide", "%s", d.Reason)
			}
		}
		return plan, specs, nil
	}
	d.Objective = repair.Objective.Total
	if missing {
		d.Kind, d.Moves, d.Changes = DecidePlace, repair.Moves, repair.Changes
		d.Reason = fmt.Sprintf("%d replica(s) had no cluster", totalReplicas(apps)-len(current))
		if gone > 0 {
			d.Reason += fmt.Sprintf(" (%d on clusters gone or down: %s)", gone, strings.Join(append(slices.Clone(r.Observed.Gone), r.Observed.Down...), ", "))
		}
		if l.scaleNote != "" && gone == 0 && len(l.current) > 0 {
			d.Kind, d.Reason = DecideScale, l.scaleNote
		}
		l.seen = 0
		return repair, nil, nil
	}
	if repair.Moves == 0 && surplus(l.current, apps) {
		d.Kind, d.Reason = DecideScale, cmp.Or(l.scaleNote, "replicas beyond a scaled component's count stop")
		l.seen = 0
		return repair, nil, nil
	}
	if repair.Moves > 0 {
		d.Violations = movedReplicas(current, repair)
		verdict, why := l.classifyViolation(ctx, snap, req)
		if verdict == "shift" {
			l.seen = 0
			d.Kind, d.Moves, d.Changes = DecideRepair, repair.Moves, repair.Changes
			d.Reason = "placement breaks a constraint (" + why + ", acted on at once): " + strings.Join(d.Violations, "; ")
			for _, app := range apps {
				l.event(app, corev1.EventTypeWarning, "SLOViolation", "Decide", "%s", d.Reason)
			}
			return repair, nil, nil
		}
		// Only a new observation confirms: a round that read the samples an
		// earlier round read (a full and a watch round on one tick) adds nothing.
		if l.seen == 0 || r.Observed.SampleTime.After(l.seenAt) {
			l.seen++
			l.seenAt = r.Observed.SampleTime
		}
		// drain.go: taints are declared, not measured, and need no confirming; a lone
		// spike (anticipate.go) never moves anything.
		if !declared(repair) && (l.seen < l.opts.Confirm || verdict == "spike") {
			d.Kind = DecideConfirming
			d.Reason = fmt.Sprintf("violation seen in %d/%d distinct observations (newest sample %s): %s",
				l.seen, l.opts.Confirm, l.seenAt.UTC().Format(time.RFC3339), strings.Join(d.Violations, "; "))
			if verdict == "spike" {
				d.Reason += "; " + why
			}
			return nil, nil, nil
		}
		l.seen = 0
		d.Kind, d.Moves, d.Changes = DecideRepair, repair.Moves, repair.Changes
		d.Reason = "placement breaks a constraint: " + strings.Join(d.Violations, "; ")
		for _, app := range apps {
			l.event(app, corev1.EventTypeWarning, "SLOViolation", "Decide", "%s", d.Reason)
		}
		return repair, nil, nil
	}
	l.seen = 0
	if plan := l.decideAhead(ctx, snap, req, current, r); plan != nil {
		for _, app := range apps {
			l.event(app, corev1.EventTypeNormal, "ForecastBreach", "Decide", "%s", d.Reason)
		}
		return plan, nil, nil
	}
	d.Previous = repair.Objective.Total
	if !full {
		d.Kind, d.Reason = DecideKeep, "every constraint holds"
		return l.keep(repair, apps, d), nil, nil
	}
	req.Mode = placement.Reoptimize
	re, err := l.worstRTT.place(ctx, l.opts.Engine, l.pessimistic(l.worst(snap)), apps, req)
	switch {
	case errors.Is(err, placement.ErrUnplaceable):
		// Judged by the worst RTTs of the last dwell nothing fits, though the
		// placement in force holds now: too early to move anything.
		d.Kind = DecideKeep
		d.Reason = fmt.Sprintf("every constraint holds; no placement holds under the worst RTTs of the last %s", l.opts.Dwell)
		return l.keep(repair, apps, d), nil, nil
	case errors.Is(err, placement.ErrUndecided):
		// The engine's budget ran out: nothing was proven either way.
		d.Kind = DecideKeep
		d.Reason = fmt.Sprintf("every constraint holds; under the worst RTTs of the last %s the engine found no complete placement within its budget (undecided)", l.opts.Dwell)
		return l.keep(repair, apps, d), nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("loop: decide: reoptimize: %w", err)
	}
	if re.Moves == 0 {
		d.Kind = DecideKeep
		d.Reason = fmt.Sprintf("every constraint holds; no placement better by more than %.0f%%", 100*l.opts.Hysteresis)
		return l.keep(repair, apps, d), nil, nil
	}
	now := l.opts.Clock.Now()
	for _, c := range movedComponents(current, re) {
		if t, ok := l.moved[c]; ok && now.Sub(t) < l.opts.Dwell {
			d.Kind = DecideKeep
			d.Reason = fmt.Sprintf("a better placement moves %s, which moved %s ago (dwell %s)", c, now.Sub(t).Round(time.Second), l.opts.Dwell)
			return l.keep(repair, apps, d), nil, nil
		}
	}
	if why := l.returning(current, re, now); why != "" {
		d.Kind, d.Reason = DecideKeep, why
		return l.keep(repair, apps, d), nil, nil
	}
	d.Kind, d.Moves, d.Objective, d.Changes = DecideReoptimize, re.Moves, re.Objective.Total, re.Changes
	d.Reason = fmt.Sprintf("objective %.2f -> %.2f (better by more than %.0f%%, migration included): %s",
		repair.Objective.Total, re.Objective.Total, 100*l.opts.Hysteresis, strings.Join(movedReplicas(current, re), "; "))
	return re, nil, nil
}

// keep returns the plan of a round that keeps the placement in force: nil, unless an
// application's placement in force is not known to be carried out (read back from
// its instances after a restart, or its last Apply failed): then the repair plan,
// which keeps every replica where it is, so that Apply finishes what an interrupted
// Apply left (an old instance not yet stopped, an offloading not yet narrowed).
func (l *Loop) keep(repair *placement.Plan, apps []placement.Application, d *Decision) *placement.Plan {
	var names []string
	for _, a := range apps {
		if l.unsettled[a.Metadata.Name] {
			names = append(names, a.Metadata.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	d.Reason += "; carrying the placement in force out again for " + strings.Join(names, ", ") + " (read back after a restart, or its last act failed)"
	return repair
}

// shortfall records an unplaceable round's decision: provisioning when the policy
// proposes clusters, else unplaceable. The caller emits the events once the drain has
// had its say.
func (l *Loop) shortfall(ctx context.Context, topo *topology.Topology, apps []placement.Application, un *placement.UnplaceableError, r *Round) (*placement.Plan, []provision.ClusterSpec, error) {
	d := &r.Decision
	d.Kind = DecideUnplaceable
	d.Reason = strings.Join(un.Details, "; ")
	if l.opts.Provision != nil {
		specs, err := l.opts.Provision(ctx, topo, un)
		if err != nil {
			return nil, nil, fmt.Errorf("loop: decide: provision policy: %w", err)
		}
		if len(specs) > 0 {
			d.Kind, d.Provision = DecideProvision, specs
			names := make([]string, len(specs))
			for i, s := range specs {
				names[i] = fmt.Sprintf("%s (%s, %d workers)", s.Name, s.Distribution, s.Workers)
			}
			d.Reason = fmt.Sprintf("%s; provisioning %s", d.Reason, strings.Join(names, ", "))
		}
	}
	if d.Kind == DecideProvision {
		return nil, d.Provision, nil
	}
	return nil, nil, nil
}

func totalReplicas(apps []placement.Application) int {
	n := 0
	for _, a := range apps {
		for _, c := range a.Components {
			n += max(c.Replicas, 1)
		}
	}
	return n
}

// move is a replica of a plan that runs on another cluster than in the placement in
// force.
type move struct {
	placement.Assignment
	From string
}

func (m move) String() string {
	return fmt.Sprintf("%s/%s[%d] %s -> %s", m.App, m.Component, m.Replica, m.From, m.Cluster)
}

// moves lists the replicas of next that change cluster from current (new replicas are
// not moves).
func moves(current, next []placement.Assignment) []move {
	type key struct {
		app, comp string
		rep       int
	}
	cur := make(map[key]string, len(current))
	for _, a := range current {
		cur[key{a.App, a.Component, a.Replica}] = a.Cluster
	}
	var out []move
	for _, a := range next {
		if from, ok := cur[key{a.App, a.Component, a.Replica}]; ok && from != a.Cluster {
			out = append(out, move{a, from})
		}
	}
	return out
}

// movedReplicas names the replicas of the plan that change cluster: "app/comp[0] a -> b".
func movedReplicas(current []placement.Assignment, plan *placement.Plan) []string {
	var out []string
	for _, m := range moves(current, plan.Assignments) {
		out = append(out, m.String())
	}
	return out
}

// movedComponents names, sorted and once each, the components ("app/comp") with a
// replica that changes cluster.
func movedComponents(current []placement.Assignment, plan *placement.Plan) []string {
	var out []string
	for _, m := range moves(current, plan.Assignments) {
		out = append(out, m.App+"/"+m.Component)
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// markMoved stamps the components of app whose replicas change cluster in next, and
// returns how many replicas of app move.
func (l *Loop) markMoved(app string, next []placement.Assignment, now time.Time) int {
	n := 0
	for _, m := range moves(l.current, next) {
		if m.App == app {
			l.moved[m.App+"/"+m.Component] = now
			l.left(m, now)
			n++
		}
	}
	return n
}

func eventReason(k DecisionKind) string {
	switch k {
	case DecidePlace:
		return "Placed"
	case DecideRepair:
		return "Migrated"
	case DecideReoptimize:
		return "Reoptimized"
	case DecideAnticipate:
		return "Anticipated"
	case DecideScale:
		return "Scaled"
	}
	return "Acted"
}

// event records an Event in the application's namespace on its home cluster.
func (l *Loop) event(app placement.Application, typ, reason, action, note string, args ...any) {
	if l.opts.Recorder == nil {
		return
	}
	ns := app.Metadata.Namespace
	if ns == "" {
		ns = app.Metadata.Name
	}
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: ns, Namespace: ns}
	l.opts.Recorder.Eventf(ref, nil, typ, reason, action, note, args...)
}

// firstClause returns an error's message up to its first "; " (the summary).
func firstClause(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "; "); i >= 0 {
		return msg[:i]
	}
	return msg
}
