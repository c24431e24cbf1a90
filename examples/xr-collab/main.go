// Command xr-collab is continuum's main example: the collaborative XR service of Fig. 1
// of "Cross-Cluster Networking to Support Extended Reality Services", placed on the
// built-in simulated continuum (a cloud in Frankfurt, edge clusters in Geneva and Milan,
// users at both edges). It prints
//
//  1. the plan: where every component runs, each chain's motion-to-photon latency
//     against its 15 ms budget, and the cost;
//
//  2. why one component went where it did: every cluster ruled out, with the numbers;
//
//  3. a what-if: the Geneva–Milan link degrades; what moves, and why;
//
//  4. an infeasible request (renderers that need 4 GPUs) and what to provision.
//
//     go run ./examples/xr-collab
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "xr-collab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	topo := topologytest.PaperFig1()
	app := placementtest.XRCollab()
	snap := &placement.Snapshot{Topology: topo}
	req := &placement.Request{Apps: []placement.Application{app}, Explain: placement.ExplainFull}

	// 1. The plan.
	plan, err := placement.Place(ctx, snap, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== 1. Plan for %q on the %q continuum\n\n", app.Metadata.Name, topo.Name())
	printPlan(w, plan)

	// 2. Why render-geneva runs where it does.
	fmt.Fprintf(w, "\n== 2. Why render-geneva runs on %s\n\n", clusterOf(plan, "render-geneva"))
	for _, e := range plan.Explanations {
		if e.Component != "render-geneva" {
			continue
		}
		for _, r := range e.RuledOut {
			fmt.Fprintf(w, "  %-10s ruled out by %-13s %s\n", r.Cluster, r.Constraint+":", r.Reason)
		}
		if e.ChosenScore != nil {
			fmt.Fprintf(w, "  chosen     %-10s cost %.3f (network %.3f, compute %.3f)\n", e.Chosen, e.ChosenScore.Total, e.ChosenScore.Network, e.ChosenScore.Compute)
		}
		if e.RunnerUp != nil {
			fmt.Fprintf(w, "  runner-up  %-10s cost %.3f\n", e.RunnerUp.Cluster, e.RunnerUp.Total)
		} else {
			fmt.Fprintln(w, "  runner-up  none: no other cluster is feasible")
		}
	}

	// 3. What-if: the Geneva–Milan link degrades to 20 ms (a measured RTT overrides the
	// topology). Repair re-places only what now violates a constraint.
	degraded := &placement.Snapshot{Topology: topo, RTT: map[placement.Pair]topology.Duration{
		placement.MakePair("gva-edge", "mil-edge"): topology.Millis(20)}}
	repair := &placement.Request{Apps: req.Apps, Current: plan.Assignments, Mode: placement.Repair, Explain: placement.ExplainFull}
	after, err := placement.Place(ctx, degraded, repair)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== 3. What if the gva-edge <-> mil-edge link degrades from %s to 20ms?\n\n", mustRTT(topo, "gva-edge", "mil-edge"))
	for i, a := range after.Assignments {
		before := plan.Assignments[i]
		if a.Cluster == before.Cluster {
			continue
		}
		fmt.Fprintf(w, "  %s moves %s -> %s", a.Component, before.Cluster, a.Cluster)
		for _, e := range after.Explanations {
			if e.Component != a.Component {
				continue
			}
			for _, r := range e.RuledOut {
				if r.Cluster == before.Cluster {
					fmt.Fprintf(w, ": on %s now %s (%s)", before.Cluster, r.Reason, r.Constraint)
				}
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  %d replica(s) moved; cost %.3f -> %.3f (migration %.3f)\n", after.Moves, plan.Objective.Total, after.Objective.Total, after.Objective.Migration)

	// 4. Infeasible: every renderer now needs 4 GPUs; the edges have 2 each.
	big := placementtest.XRCollab()
	for i := range big.Components {
		if c := &big.Components[i]; c.Name == "render-geneva" || c.Name == "render-milan" {
			c.Requests[topology.ResourceGPU] = *resourceQuantity("4")
		}
	}
	fmt.Fprintf(w, "\n== 4. Renderers that need 4 GPUs\n\n")
	_, err = placement.Place(ctx, snap, &placement.Request{Apps: []placement.Application{big}})
	var ue *placement.UnplaceableError
	if !errors.As(err, &ue) {
		return fmt.Errorf("expected an unplaceable result, got %v", err)
	}
	for _, d := range ue.Details {
		fmt.Fprintln(w, "  "+d)
	}
	for _, s := range ue.Shortfall {
		fmt.Fprintln(w, "  provision: "+s.Text)
	}
	return nil
}

func printPlan(w io.Writer, plan *placement.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  COMPONENT\tCLUSTER\tNODE POOL")
	for _, a := range plan.Assignments {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Component, a.Cluster, a.NodePool)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHAIN\tLATENCY\tBUDGET\tHOPS")
	for _, c := range plan.Chains {
		hops := ""
		for i, h := range c.Hops {
			if i > 0 {
				hops += " + "
			}
			hops += fmt.Sprintf("%.1f", h.Latency.Ms())
		}
		fmt.Fprintf(tw, "  %s\t%.1fms\t%.0fms\t%s\n", c.Name, c.Used.Ms(), c.Budget.Ms(), hops)
	}
	tw.Flush()
	o := plan.Objective
	fmt.Fprintf(w, "\n  cost %.3f = network %.3f (Gbit/s x ms) + compute %.3f (cores x price/h)\n", o.Total, o.Network, o.Compute)
}

func clusterOf(plan *placement.Plan, component string) string {
	for _, a := range plan.Assignments {
		if a.Component == component {
			return a.Cluster
		}
	}
	return ""
}

func mustRTT(topo *topology.Topology, a, b string) string {
	d, err := topo.RTT(a, b)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1fms", d.Ms())
}
