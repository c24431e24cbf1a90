package loop

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// Draining: a cluster with a NoExecute taint (topology.Drain, continuumctl drain)
// sends the replicas there away. The engine's taints filter rules the cluster out for
// them, so the repair re-places them and Apply moves them make-before-break, like any
// repair, but at once: a taint is declared, not measured, so a repair that only moves
// replicas off tainted clusters is not confirmed over Options.Confirm observations. When some of them have
// nowhere else to go within their constraints, the repair is unplaceable as a whole;
// then, unless the provisioning policy offers clusters, drainAround re-places again
// with those replicas allowed to stay where they are: the others move, the stuck ones
// stay and the decision names each one and why, instead of evicting it.

// declared reports whether every replica a repair moves moves because of a taint: a
// drain is declared in the topology, not measured, so it needs no confirmation.
func declared(plan *placement.Plan) bool {
	if len(plan.Changes) == 0 {
		return false
	}
	for _, c := range plan.Changes {
		if c.Constraint != placement.FilterTaints {
			return false
		}
	}
	return true
}

// evicted lists the replicas in force on a cluster with a NoExecute taint their
// component does not tolerate at the snapshot's time, with the taints.
func evicted(snap *placement.Snapshot, apps []placement.Application, current []placement.Assignment) map[string][]topology.Taint {
	comps := map[[2]string]*placement.Component{}
	for i := range apps {
		for j := range apps[i].Components {
			comps[[2]string{apps[i].Metadata.Name, apps[i].Components[j].Name}] = &apps[i].Components[j]
		}
	}
	out := map[string][]topology.Taint{}
	for _, a := range current {
		c, ok := snap.Topology.Cluster(a.Cluster)
		comp := comps[[2]string{a.App, a.Component}]
		if !ok || comp == nil {
			continue
		}
		for _, t := range c.Taints {
			if t.Effect == topology.NoExecute && !placement.MayStay(comp, t, snap.Now) {
				out[replicaName(a)] = append(out[replicaName(a)], t)
			}
		}
	}
	return out
}

func replicaName(a placement.Assignment) string {
	return fmt.Sprintf("%s/%s[%d]", a.App, a.Component, a.Replica)
}

// drainAround answers an unplaceable repair in which replicas on NoExecute clusters
// have nowhere to go: it places again with those replicas' components tolerating the
// taints of their clusters, so that everything else moves and they stay. It returns
// nil when that does not apply or does not help.
func (l *Loop) drainAround(ctx context.Context, snap *placement.Snapshot, req *placement.Request, un *placement.UnplaceableError, r *Round) *placement.Plan {
	ev := evicted(snap, req.Apps, req.Current)
	if len(ev) == 0 {
		return nil
	}
	stuck := map[string]string{} // replica -> why
	for i, name := range un.Unplaced {
		if _, ok := ev[name]; ok {
			why := "fits nowhere else"
			if i < len(un.Details) {
				why = un.Details[i]
			}
			stuck[name] = why
		}
	}
	if len(stuck) == 0 {
		return nil
	}
	// Copies of the applications in which the stuck replicas' components tolerate
	// the NoExecute taints of the clusters they are on.
	apps := make([]placement.Application, len(req.Apps))
	for i, a := range req.Apps {
		apps[i] = a
		apps[i].Components = slices.Clone(a.Components)
		for j := range apps[i].Components {
			c := &apps[i].Components[j]
			for _, cur := range req.Current {
				if cur.App != a.Metadata.Name || cur.Component != c.Name || stuck[replicaName(cur)] == "" {
					continue
				}
				for _, t := range ev[replicaName(cur)] {
					c.Tolerations = append(slices.Clip(c.Tolerations), placement.Toleration{Key: t.Key, Operator: placement.TolerationEqual, Value: t.Value, Effect: topology.NoExecute})
				}
			}
		}
	}
	again := *req
	again.Apps = apps
	plan, err := l.opts.Engine.Place(ctx, snap, &again)
	if err != nil {
		return nil
	}
	d := &r.Decision
	names := slices.Sorted(maps.Keys(stuck))
	var stays []string
	for _, n := range names {
		stays = append(stays, n+" stays: "+stuck[n])
	}
	d.Kind, d.Moves, d.Changes, d.Objective = DecideRepair, plan.Moves, plan.Changes, plan.Objective.Total
	d.Violations = movedReplicas(req.Current, plan)
	d.Reason = fmt.Sprintf("drain: %d replica(s) move off NoExecute clusters, %d have nowhere to go within their constraints and stay: %s",
		plan.Moves, len(stuck), strings.Join(stays, "; "))
	if plan.Moves == 0 {
		d.Kind = DecideKeep
		return nil
	}
	return plan
}
