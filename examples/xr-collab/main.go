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
//  3. an infeasible request (renderers that need 4 GPUs) and what to provision;
//
//  4. the Observe–Orient–Decide–Act loop running on the simulated continuum (package
//     sim: Cluster API, Liqo, workloads and metrics faked consistently on one fake
//     clock): the first placement carried out through Liqo; the Geneva–Milan link
//     degrades and the loop migrates make-before-break; the link recovers and the
//     hysteresis decides whether to move back; users in Lyon join and the loop
//     provisions a k3s edge cluster there, peers it and places their renderer on it.
//     Each round says what was observed, decided and done, and how long it took in
//     simulated time.
//
//     go run ./examples/xr-collab [-v]
package main

import (
	"context"
	"errors"
	"flag"
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
	var opts loopOptions
	flag.BoolVar(&opts.verbose, "v", false, "print every round of the loop, also those that change nothing")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "xr-collab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, opts loopOptions) error {
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

	// 3. Infeasible: every renderer now needs 4 GPUs; the edges have 2 each.
	big := placementtest.XRCollab()
	for i := range big.Components {
		if c := &big.Components[i]; c.Name == "render-geneva" || c.Name == "render-milan" {
			c.Requests[topology.ResourceGPU] = *resourceQuantity("4")
		}
	}
	fmt.Fprintf(w, "\n== 3. Renderers that need 4 GPUs\n\n")
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

	// 4. The whole loop on the simulated continuum.
	return runLoop(ctx, w, opts)
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
