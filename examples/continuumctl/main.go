// Command continuumctl is kubectl-like tooling built on the continuum SDK, with
// cobra-style verbs and --flags like kubectl, clusterctl and liqoctl. Its verbs: plan
// places applications on a continuum and prints the plan; provision creates, scales,
// waits for and deletes workload clusters through Cluster API (`provision create NAME
// --dry-run -o yaml` prints the objects, like `clusterctl generate cluster`); peer,
// unpeer, offload, unoffload and peerings drive Liqo on the clusters given with
// --cluster NAME=KUBECONFIG (`peer C P --dry-run -o yaml` prints each side's objects);
// apply and remove carry a plan out; completion bash|zsh prints a shell completion
// script; version prints the build. Every verb answers -h/--help without any cluster.
//
//	continuumctl plan -t topology.yaml -a app.yaml [-a more.yaml] [--current plan.json]
//	                  [--strategy default|exact] [--mode reoptimize|repair]
//	                  [-o table|json|yaml|dot|ocm] [--explain]
//	continuumctl cordon|drain|uncordon CLUSTER -t topology.yaml [--dry-run]
//
// For example, from the repository root:
//
//	go run ./examples/continuumctl plan -t topology/topologytest/paper-fig1.yaml \
//	    -a placement/placementtest/xr-collab.yaml -o dot | dot -Tpng > plan.png
//
// Exit codes: 0 placed (or done), 2 proven infeasible (the partial plan, its changes and
// the shortfall are still printed), 3 undecided (plan's search budget ran out first: the
// best partial plan is printed, no shortfall), 1 bad input or usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// Exit codes.
const (
	exitPlaced     = 0
	exitBadInput   = 1
	exitInfeasible = 2
	exitUndecided  = 3
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// clients builds the clients of the clusters a verb talks to from kubeconfig files;
// tests inject their own.
type clients struct {
	// management is the Cluster API management cluster's client (provision).
	management func(kubeconfig string) (client.WithWatch, error)
	// liqo is a cluster's client with Liqo's types, its API server URL and CA (peer,
	// offload, apply, ...).
	liqo func(kubeconfig string) (client.WithWatch, string, []byte, error)
}

// run runs continuumctl with args and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return execute(ctx, args, stdout, stderr, clients{management: managementClient, liqo: liqoClient})
}

// exitError ends a verb with an exit code other than exitBadInput; a nil err means the
// verb printed what it had to say already.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// execute builds the command tree over cl and runs args through it: errors are printed
// on stderr as "continuumctl: ..." and mapped to the exit codes.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, cl clients) int {
	root := newRootCmd(cl, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return exitPlaced
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(stderr, "continuumctl:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "continuumctl:", err)
	return exitBadInput
}

// newRootCmd returns continuumctl's command tree, writing to stdout and stderr.
func newRootCmd(cl clients, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "continuumctl",
		Short: "Place XR services across the cloud-edge continuum and carry the plans out",
		Long: `continuumctl places extended-reality services on a continuum of Kubernetes
clusters (plan), provisions clusters through Cluster API (provision), peers them and
offloads namespaces through Liqo (peer, offload, ...), and carries plans out (apply).

Exit codes: 0 placed or done, 2 infeasible (plan and shortfall still printed), 1 bad
input or usage.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return errors.New("a verb is needed (see above)")
		},
	}
	root.SetOut(stdout) // before the completion verbs, which keep the writer
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())
	})
	root.AddCommand(newPlanCmd(), newProvisionCmd(cl.management), newApplyCmd("apply", cl.liqo), newApplyCmd("remove", cl.liqo), newVersionCmd())
	root.AddCommand(newPeeringCmds(cl.liqo)...)
	// cordon, drain, uncordon (policy.go)
	root.AddCommand(newTaintCmds(time.Now)...)
	root.Flags().Bool("version", false, "print the version, as 'continuumctl version' does") // no -v: kubectl users read it as verbosity
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" { // cobra's: bash, zsh, fish, powershell; another shell is a usage error
			c.Args, c.RunE = cobra.ArbitraryArgs, groupRunE
		}
	}
	return root
}

// groupRunE is the RunE of a command that only holds verbs: without a verb or with an
// unknown one it is a usage error, not help with exit code 0.
func groupRunE(cmd *cobra.Command, args []string) error {
	var verbs []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			verbs = append(verbs, c.Name())
		}
	}
	if len(args) == 0 {
		return fmt.Errorf("%s needs a verb: %s (see '%s --help')", cmd.CommandPath(), strings.Join(verbs, ", "), cmd.CommandPath())
	}
	return fmt.Errorf("%s: unknown verb %q: want %s", cmd.CommandPath(), args[0], strings.Join(verbs, ", "))
}

// version is the build's version: the module version (or "(devel)"), the VCS revision
// when the build recorded one, and the Go version.
func version() string {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev != "" {
		v += " " + rev
	}
	return v + " " + runtime.Version()
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print continuumctl's version, VCS revision and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "continuumctl", version())
		},
	}
}

// planOptions are the flags of plan, all defined in addFlags.
type planOptions struct {
	topology, current, strategy, mode, output string
	apps                                      []string
	hysteresis                                float64
	explain                                   bool
	timeout                                   time.Duration
	maxNodes                                  int
	seed                                      uint64
}

func (o *planOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.topology, "topology", "t", "", "topology file (YAML or JSON)")
	fs.StringArrayVarP(&o.apps, "app", "a", nil, "application file (YAML or JSON); repeat for several placed together")
	fs.StringVar(&o.current, "current", "", "the plan in force (JSON, as printed by -o json) for re-placement")
	fs.StringVar(&o.strategy, "strategy", string(placement.StrategyDefault), "default or exact")
	fs.StringVar(&o.mode, "mode", string(placement.Reoptimize), "with --current: reoptimize or repair")
	fs.Float64Var(&o.hysteresis, "hysteresis", 0, "with --current and reoptimize: keep the current plan unless the cost improves by more than this fraction")
	fs.StringVarP(&o.output, "output", "o", "table", "output: table, json, yaml, dot or ocm (OCM Placements and PlacementDecisions)")
	fs.BoolVar(&o.explain, "explain", false, "explain every cluster ruled out for every replica")
	fs.DurationVar(&o.timeout, "timeout", 0, "wall-clock budget of the search (e.g. 2s); 0: none. When it runs out the best plan so far is printed (exit 3 when it is incomplete)")
	fs.IntVar(&o.maxNodes, "max-nodes", 0, "node budget of each search phase; 0: the engine's defaults")
	fs.Uint64Var(&o.seed, "seed", 0, "varies the search's random choices (0: the default ones); on an undecided answer (exit 3) another seed may place everything")
}

// request builds the placement request the flags describe, with the topology.
func (o *planOptions) request() (*topology.Topology, *placement.Request, error) {
	if o.topology == "" || len(o.apps) == 0 {
		return nil, nil, errors.New("plan needs -t topology.yaml and at least one -a app.yaml")
	}
	switch o.output {
	case "table", "json", "yaml", "dot", "ocm":
	default:
		return nil, nil, fmt.Errorf("-o %q: want table, json, yaml, dot or ocm", o.output)
	}
	topo, err := topology.Load(o.topology)
	if err != nil {
		return nil, nil, err
	}
	if o.timeout < 0 || o.maxNodes < 0 {
		return nil, nil, errors.New("--timeout and --max-nodes must not be negative")
	}
	req := &placement.Request{Strategy: placement.Strategy(o.strategy), Mode: placement.ReplaceMode(o.mode), Hysteresis: o.hysteresis,
		Timeout: o.timeout, MaxNodes: o.maxNodes, Seed: o.seed}
	if o.explain {
		req.Explain = placement.ExplainFull
	}
	for _, path := range o.apps {
		app, err := placement.LoadApplication(path)
		if err != nil {
			return nil, nil, err
		}
		req.Apps = append(req.Apps, app)
	}
	if o.current != "" {
		cur, err := placement.LoadPlan(o.current)
		if err != nil {
			return nil, nil, err
		}
		req.Current = cur.Assignments
	}
	return topo, req, nil
}

func newPlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan -t topology.yaml -a app.yaml [-a more.yaml]",
		Short: "Place applications on a continuum and print the plan",
		Long: `plan places applications on a continuum and prints the plan: every replica's
cluster, the chains' latency against their budgets, the flows, the objective by term
and, with --current, what moves.

Exit codes: 0 placed; 1 bad input (the message names the field); 2 proven infeasible
(the partial plan, the proof and what to provision are printed); 3 undecided: the
search budget (--timeout, --max-nodes) ran out before a complete plan was found and
nothing proves that none exists: the best partial plan is printed, nothing is said
about provisioning; retry with another --seed, raise the budget or try --strategy exact.`,
		Example: `  continuumctl plan -t topology/topologytest/paper-fig1.yaml -a placement/placementtest/xr-collab.yaml
  continuumctl plan -t topo.yaml -a app.yaml -o json > plan.json
  continuumctl plan -t topo.yaml -a app.yaml --current plan.json --mode repair
  continuumctl plan -t topo.yaml -a app.yaml -o dot | dot -Tpng > plan.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			topo, req, err := o.request()
			if err != nil {
				return err
			}
			plan, err := placement.Place(cmd.Context(), &placement.Snapshot{Topology: topo}, req)
			var ue *placement.UnplaceableError
			var und *placement.UndecidedError
			switch {
			case errors.As(err, &ue):
			case errors.As(err, &und):
			case err != nil:
				return err
			}
			if o.output == "ocm" {
				err = writeOCM(cmd.OutOrStdout(), req.Apps, plan) // policy.go
			} else {
				err = write(cmd.OutOrStdout(), o.output, topo, plan, ue, o.explain)
			}
			if err != nil {
				return err
			}
			switch {
			case ue != nil:
				return &exitError{code: exitInfeasible, err: ue}
			case und != nil:
				return &exitError{code: exitUndecided, err: und}
			}
			return nil
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
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
	if len(plan.Changes) > 0 {
		fmt.Fprintln(tw, "APP\tCOMPONENT\tREPLICA\tFROM\tTO\tWHY")
		for _, c := range plan.Changes {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", c.App, c.Component, c.Replica, c.From, orNone(c.To), c.Why)
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
