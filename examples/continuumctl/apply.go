package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/topology"
)

const applyUsage = `usage: continuumctl apply  -a app.yaml (-p plan.json | -t topology.yaml) --cluster NAME=KUBECONFIG [--cluster ...]
                          [--dry-run] [-o text|json] [--timeout 15m] [--poll 2s] [--gateway NAME=ADDRESS ...]
       continuumctl remove -a app.yaml --cluster NAME=KUBECONFIG [--cluster ...] [--dry-run]
apply carries a plan out through Liqo, make-before-break: the home cluster (app.home) peers
with every cluster that runs a component, offloads the namespace there, and runs one
workload per component and cluster, copied from the template Deployment or StatefulSet named
after the component in the namespace. --dry-run prints the steps without writing.`

// runApply runs apply and remove; newClient builds a cluster's client from its
// kubeconfig (tests inject one).
func runApply(ctx context.Context, verb string, args []string, stdout, stderr io.Writer,
	newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "continuumctl:", err)
		return exitBadInput
	}
	fs := flag.NewFlagSet("continuumctl "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	clusters, gateways, liqoNS := liqoFlags(fs, "NAME=KUBECONFIG of a cluster (repeat; the home cluster and every cluster of the plan)")
	appPath := fs.String("a", "", "application file (YAML or JSON)")
	planPath := fs.String("p", "", "plan to carry out (JSON, as printed by continuumctl plan -o json)")
	topoPath := fs.String("t", "", "topology to place the application on when no -p is given")
	dryRun := fs.Bool("dry-run", false, "print the steps instead of running them")
	output := fs.String("o", "text", "text or json")
	timeout := fs.Duration("timeout", 15*time.Minute, "bound on each wait (peering, offloading, replicas)")
	poll := fs.Duration("poll", 2*time.Second, "how often replicas are read while waiting")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(stderr, applyUsage)
		return exitBadInput
	}
	switch {
	case fs.NArg() > 0:
		return fail(fmt.Errorf("%s: unexpected argument %q", verb, fs.Arg(0)))
	case *appPath == "":
		return fail(errors.New(verb + " needs -a app.yaml"))
	case *output != "text" && *output != "json":
		return fail(fmt.Errorf("-o %q: want text or json", *output))
	case len(*clusters) == 0:
		return fail(errors.New(verb + " needs --cluster NAME=KUBECONFIG for the home cluster and every cluster of the plan"))
	case *timeout <= 0 || *poll <= 0:
		return fail(errors.New("--timeout and --poll must be > 0"))
	}
	app, err := placement.LoadApplication(*appPath)
	if err != nil {
		return fail(err)
	}
	if app.Home == "" {
		return fail(fmt.Errorf("%s: home: set the home cluster of the application", *appPath))
	}
	req := act.Request{App: app, Home: app.Home}
	if verb == "apply" {
		if req.Assignments, err = assignments(ctx, app, *planPath, *topoPath); err != nil {
			return fail(err)
		}
	}
	b, clients, err := liqoBackend(*clusters, *gateways, *liqoNS, newClient)
	if err != nil {
		return fail(err)
	}
	home, ok := clients[app.Home]
	if !ok {
		return fail(fmt.Errorf("--cluster: the home cluster %s is not given", app.Home))
	}
	w, err := act.NewKubeWorkloads(home, act.KubeOptions{})
	if err != nil {
		return fail(err)
	}
	opts := act.Options{Peering: b, Timeout: *timeout, PollInterval: *poll}
	if !*dryRun && *output == "text" {
		opts.Observe = func(e act.StepEvent) {
			switch {
			case e.Done && e.Err != nil:
				fmt.Fprintf(stdout, "  failed after %s: %v\n", e.Took.Round(time.Millisecond), e.Err)
			case e.Done:
				fmt.Fprintf(stdout, "  done in %s\n", e.Took.Round(time.Millisecond))
			case e.Message != "":
				fmt.Fprintf(stdout, "  ... %s\n", e.Message)
			default:
				fmt.Fprintf(stdout, "- %s\n", e.Step)
			}
		}
	}
	a, err := act.New(w, opts)
	if err != nil {
		return fail(err)
	}
	if verb == "remove" {
		req.Assignments = nil
	}
	if *dryRun {
		steps, err := a.Plan(ctx, req)
		if err != nil {
			return fail(err)
		}
		return printSteps(stdout, stderr, steps, *output)
	}
	res, err := a.Apply(ctx, req)
	if *output == "json" && res != nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res.Steps); err != nil {
			return fail(err)
		}
	}
	if err != nil {
		return fail(err)
	}
	if *output == "text" {
		if len(res.Steps) == 0 {
			fmt.Fprintln(stdout, "nothing to do: the plan is in force")
		} else {
			fmt.Fprintf(stdout, "%d step(s) done\n", len(res.Steps))
		}
	}
	return exitPlaced
}

func printSteps(stdout, stderr io.Writer, steps []act.Step, output string) int {
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if steps == nil {
			steps = []act.Step{}
		}
		if err := enc.Encode(steps); err != nil {
			fmt.Fprintln(stderr, "continuumctl:", err)
			return exitBadInput
		}
		return exitPlaced
	}
	if len(steps) == 0 {
		fmt.Fprintln(stdout, "nothing to do: the plan is in force")
		return exitPlaced
	}
	for i, s := range steps {
		fmt.Fprintf(stdout, "%2d. %s\n", i+1, s)
	}
	return exitPlaced
}

// assignments reads the plan to carry out, or places the application on the topology.
func assignments(ctx context.Context, app placement.Application, planPath, topoPath string) ([]placement.Assignment, error) {
	switch {
	case planPath != "" && topoPath != "":
		return nil, errors.New("give either -p plan.json or -t topology.yaml, not both")
	case planPath != "":
		data, err := os.ReadFile(planPath)
		if err != nil {
			return nil, err
		}
		var plan placement.Plan
		if err := json.Unmarshal(data, &plan); err != nil {
			return nil, fmt.Errorf("%s: not a plan in JSON: %w", planPath, err)
		}
		if !plan.Feasible {
			return nil, fmt.Errorf("%s: the plan is not feasible; apply carries out feasible plans only", planPath)
		}
		return plan.Assignments, nil
	case topoPath != "":
		topo, err := topology.Load(topoPath)
		if err != nil {
			return nil, err
		}
		plan, err := placement.Place(ctx, &placement.Snapshot{Topology: topo}, &placement.Request{Apps: []placement.Application{app}})
		if err != nil {
			return nil, err
		}
		return plan.Assignments, nil
	}
	return nil, errors.New("apply needs -p plan.json or -t topology.yaml")
}
