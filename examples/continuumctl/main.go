// Command continuumctl is kubectl-like tooling built on the continuum SDK. Its verbs:
// plan places applications on a continuum and prints the plan; provision creates,
// scales, waits for and deletes workload clusters through Cluster API (see
// `continuumctl provision` for its usage; `provision create NAME --dry-run -o yaml`
// prints the objects, like `clusterctl generate cluster`); peer, unpeer, offload,
// unoffload and peerings drive Liqo on the clusters given with --cluster
// NAME=KUBECONFIG (`peer C P --dry-run -o yaml` prints each side's objects).
//
//	continuumctl plan -t topology.yaml -a app.yaml [-a more.yaml] [--current plan.json]
//	                  [--strategy default|exact] [--mode reoptimize|repair]
//	                  [-o table|json|yaml|dot] [--explain]
//
// For example, from the repository root:
//
//	go run ./examples/continuumctl plan -t topology/topologytest/paper-fig1.yaml \
//	    -a placement/placementtest/xr-collab.yaml -o dot | dot -Tpng > plan.png
//
// Exit codes: 0 placed, 2 infeasible (the partial plan and the shortfall are still
// printed), 1 bad input or usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// Exit codes.
const (
	exitPlaced     = 0
	exitBadInput   = 1
	exitInfeasible = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "provision" {
		return runProvision(ctx, args[1:], stdout, stderr, managementClient)
	}
	if len(args) > 0 && (args[0] == "apply" || args[0] == "remove") {
		return runApply(ctx, args[0], args[1:], stdout, stderr, liqoClient)
	}
	if len(args) > 0 {
		if _, ok := peeringVerbs[args[0]]; ok {
			return runPeering(ctx, args[0], args[1:], stdout, stderr, liqoClient)
		}
	}
	if len(args) == 0 || args[0] != "plan" {
		fmt.Fprintln(stderr, provisionUsage)
		fmt.Fprintln(stderr, peeringUsage)
		fmt.Fprintln(stderr, applyUsage)
		fmt.Fprintln(stderr, "usage: continuumctl plan -t topology.yaml -a app.yaml [-a ...] [--current plan.json] [--strategy default|exact] [--mode reoptimize|repair] [-o table|json|yaml|dot] [--explain]")
		return exitBadInput
	}
	fs := flag.NewFlagSet("continuumctl plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var apps multiFlag
	topoPath := fs.String("t", "", "topology file (YAML or JSON)")
	fs.Var(&apps, "a", "application file (YAML or JSON); repeat for several placed together")
	current := fs.String("current", "", "the plan in force (JSON, as printed by -o json) for re-placement")
	strategy := fs.String("strategy", string(placement.StrategyDefault), "default or exact")
	mode := fs.String("mode", string(placement.Reoptimize), "with --current: reoptimize or repair")
	hysteresis := fs.Float64("hysteresis", 0, "with --current and reoptimize: keep the current plan unless the cost improves by more than this fraction")
	output := fs.String("o", "table", "output: table, json, yaml or dot")
	explain := fs.Bool("explain", false, "explain every cluster ruled out for every replica")
	if err := fs.Parse(args[1:]); err != nil {
		return exitBadInput
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "continuumctl:", err)
		return exitBadInput
	}
	if *topoPath == "" || len(apps) == 0 {
		return fail(errors.New("plan needs -t topology.yaml and at least one -a app.yaml"))
	}
	switch *output {
	case "table", "json", "yaml", "dot":
	default:
		return fail(fmt.Errorf("-o %q: want table, json, yaml or dot", *output))
	}
	topo, err := topology.Load(*topoPath)
	if err != nil {
		return fail(err)
	}
	req := &placement.Request{Strategy: placement.Strategy(*strategy), Mode: placement.ReplaceMode(*mode), Hysteresis: *hysteresis}
	if *explain {
		req.Explain = placement.ExplainFull
	}
	for _, path := range apps {
		app, err := placement.LoadApplication(path)
		if err != nil {
			return fail(err)
		}
		req.Apps = append(req.Apps, app)
	}
	if *current != "" {
		cur, err := placement.LoadPlan(*current)
		if err != nil {
			return fail(err)
		}
		req.Current = cur.Assignments
	}
	plan, err := placement.Place(ctx, &placement.Snapshot{Topology: topo}, req)
	var ue *placement.UnplaceableError
	switch {
	case errors.As(err, &ue):
	case err != nil:
		return fail(err)
	}
	if err := write(stdout, *output, topo, plan, ue, *explain); err != nil {
		return fail(err)
	}
	if ue != nil {
		fmt.Fprintln(stderr, "continuumctl:", ue)
		return exitInfeasible
	}
	return exitPlaced
}

// output is what -o json and -o yaml print: the plan and, when infeasible, why.
type output struct {
	*placement.Plan
	Unplaceable *placement.UnplaceableError `json:"unplaceable,omitempty"`
}

func write(w io.Writer, format string, topo *topology.Topology, plan *placement.Plan, ue *placement.UnplaceableError, explain bool) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(output{plan, ue})
	case "yaml":
		js, err := json.Marshal(output{plan, ue})
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case "dot":
		return writeDOT(w, topo, plan)
	}
	return writeTable(w, plan, ue, explain)
}

func writeTable(w io.Writer, plan *placement.Plan, ue *placement.UnplaceableError, explain bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tCOMPONENT\tREPLICA\tCLUSTER\tNODE POOL")
	for _, a := range plan.Assignments {
		cluster := a.Cluster
		if cluster == "" {
			cluster = "(unplaced)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", a.App, a.Component, a.Replica, cluster, a.NodePool)
	}
	fmt.Fprintln(tw)
	if len(plan.Chains) > 0 {
		fmt.Fprintln(tw, "APP\tCHAIN\tLATENCY\tBUDGET\t")
		for _, c := range plan.Chains {
			fmt.Fprintf(tw, "%s\t%s\t%.1fms\t%.1fms\t\n", c.App, c.Name, c.Used.Ms(), c.Budget.Ms())
		}
		fmt.Fprintln(tw)
	}
	if len(plan.Flows) > 0 {
		fmt.Fprintln(tw, "APP\tFLOW\tRTT\tMAX RTT\tBANDWIDTH")
		for _, f := range plan.Flows {
			max := "-"
			if f.MaxRTT > 0 {
				max = fmt.Sprintf("%.1fms", f.MaxRTT.Ms())
			}
			fmt.Fprintf(tw, "%s\t%s -> %s\t%.1fms\t%s\t%s\n", f.App, f.From, f.To, f.RTT.Ms(), max, f.Bandwidth)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	o := plan.Objective
	fmt.Fprintf(w, "feasible: %v  cost: %.4f (network %.4f, compute %.4f, migration %.4f)  moves: %d  search: %s, %d nodes",
		plan.Feasible, o.Total, o.Network, o.Compute, o.Migration, plan.Moves, plan.Search.Strategy, plan.Search.Nodes)
	if plan.Search.Optimal {
		fmt.Fprint(w, ", proven optimal")
	}
	fmt.Fprintln(w)
	if explain {
		for _, e := range plan.Explanations {
			fmt.Fprintf(w, "\n%s/%s[%d] -> %s\n", e.App, e.Component, e.Replica, orNone(e.Chosen))
			if e.ChosenScore != nil {
				fmt.Fprintf(w, "  chosen %s: cost %.4f (network %.4f, compute %.4f, migration %.4f)\n", e.ChosenScore.Cluster,
					e.ChosenScore.Total, e.ChosenScore.Network, e.ChosenScore.Compute, e.ChosenScore.Migration)
			}
			if e.RunnerUp != nil {
				fmt.Fprintf(w, "  runner-up %s: cost %.4f (network %.4f, compute %.4f, migration %.4f)\n", e.RunnerUp.Cluster,
					e.RunnerUp.Total, e.RunnerUp.Network, e.RunnerUp.Compute, e.RunnerUp.Migration)
			}
			for _, r := range e.RuledOut {
				fmt.Fprintf(w, "  %s: %s (%s)\n", r.Cluster, r.Reason, r.Constraint)
			}
		}
	}
	if ue != nil {
		fmt.Fprintln(w)
		for _, d := range ue.Details {
			fmt.Fprintln(w, d)
		}
		for _, s := range ue.Shortfall {
			fmt.Fprintln(w, "provision:", s.Text)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(unplaced)"
	}
	return s
}

// writeDOT draws the continuum with the placement on it: clusters as boxes holding the
// components placed there, links labelled with RTT and use, sites as ellipses, flows
// as dashed edges.
func writeDOT(w io.Writer, topo *topology.Topology, plan *placement.Plan) error {
	var b strings.Builder
	b.WriteString("graph continuum {\n  graph [rankdir=LR, fontname=Helvetica, compound=true];\n  node [fontname=Helvetica];\n  edge [fontname=Helvetica, fontsize=10];\n")
	byCluster := map[string][]placement.Assignment{}
	for _, a := range plan.Assignments {
		byCluster[a.Cluster] = append(byCluster[a.Cluster], a)
	}
	id := func(kind, name string) string { return fmt.Sprintf("%q", kind+":"+name) }
	for _, c := range topo.Clusters() {
		fmt.Fprintf(&b, "  subgraph %q {\n    label=%q; style=rounded;\n", "cluster_"+c.Name, fmt.Sprintf("%s (%s, %s)", c.Name, c.Tier, c.Owner))
		fmt.Fprintf(&b, "    %s [label=%q, shape=point, width=0.05];\n", id("c", c.Name), c.Name)
		for _, a := range byCluster[c.Name] {
			fmt.Fprintf(&b, "    %s [label=%q, shape=box, style=filled, fillcolor=lightblue];\n",
				id("r", fmt.Sprintf("%s/%s/%d", a.App, a.Component, a.Replica)), fmt.Sprintf("%s[%d]", a.Component, a.Replica))
		}
		b.WriteString("  }\n")
	}
	for _, s := range topo.Sites() {
		fmt.Fprintf(&b, "  %s [label=%q, shape=ellipse, style=filled, fillcolor=lightyellow];\n", id("s", s.Name), s.Name)
		for _, a := range s.Access {
			fmt.Fprintf(&b, "  %s -- %s [label=%q, lhead=%q];\n", id("s", s.Name), id("c", a.Cluster), fmt.Sprintf("%.1fms", a.RTT.Ms()), "cluster_"+a.Cluster)
		}
	}
	used := map[string]placement.Utilisation{}
	for _, u := range plan.Links {
		used[u.Name] = u
	}
	for _, l := range topo.Links() {
		label := fmt.Sprintf("%.1fms", l.EffectiveRTT().Ms())
		if u, ok := used[l.A+"<->"+l.B]; ok {
			label += fmt.Sprintf("\\n%s used", u.Used)
		}
		fmt.Fprintf(&b, "  %s -- %s [label=\"%s\", ltail=%q, lhead=%q, penwidth=2];\n", id("c", l.A), id("c", l.B), label, "cluster_"+l.A, "cluster_"+l.B)
	}
	for _, f := range plan.Flows {
		from, to := endpointID(plan, f.App, f.From), endpointID(plan, f.App, f.To)
		fmt.Fprintf(&b, "  %s -- %s [style=dashed, color=gray40, label=%q];\n", from, to, f.Bandwidth.String())
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// endpointID names a flow end in the graph: replica 0 of a component, or a site.
func endpointID(plan *placement.Plan, app, name string) string {
	for _, a := range plan.Assignments {
		if a.App == app && a.Component == name {
			return fmt.Sprintf("%q", "r:"+fmt.Sprintf("%s/%s/%d", a.App, a.Component, a.Replica))
		}
	}
	return fmt.Sprintf("%q", "s:"+name)
}
