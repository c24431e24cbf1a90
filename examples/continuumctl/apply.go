package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/topology"
)

const applyLong = `apply carries a plan out through Liqo, make-before-break: the home cluster (app.home)
peers with every cluster that runs a component, offloads the namespace there, and runs
one workload per component and cluster, copied from the template Deployment or
StatefulSet named after the component in the namespace. --dry-run prints the steps
without writing.`

// newApplyCmd returns apply or remove (verb); newClient builds a cluster's client from
// its kubeconfig (tests inject one).
func newApplyCmd(verb string, newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) *cobra.Command {
	var lo liqoOptions
	var appPath, planPath, topoPath, output string
	var dryRun bool
	var timeout, poll time.Duration
	cmd := &cobra.Command{
		Use:   "apply -a app.yaml (-p plan.json | -t topology.yaml) --cluster NAME=KUBECONFIG ...",
		Short: "Carry a plan out through Liqo, make-before-break",
		Long:  applyLong,
		Example: `  continuumctl plan -t topo.yaml -a app.yaml -o json > plan.json
  continuumctl apply -a app.yaml -p plan.json --cluster home=home.kubeconfig --cluster edge=edge.kubeconfig --dry-run`,
		Args: cobra.NoArgs,
	}
	if verb == "remove" {
		cmd.Use = "remove -a app.yaml --cluster NAME=KUBECONFIG ..."
		cmd.Short = "Take an application down: stop every workload continuum runs for it"
		cmd.Long = "remove takes an application down, the steps apply would take for an empty plan."
		cmd.Example = ""
	}
	fs := cmd.Flags()
	lo.addFlags(fs, "NAME=KUBECONFIG of a cluster (repeat; the home cluster and every cluster of the plan)")
	fs.StringVarP(&appPath, "app", "a", "", "application file (YAML or JSON)")
	if verb == "apply" {
		fs.StringVarP(&planPath, "plan", "p", "", "plan to carry out (JSON, as printed by continuumctl plan -o json)")
		fs.StringVarP(&topoPath, "topology", "t", "", "topology to place the application on when no -p is given")
	}
	fs.BoolVar(&dryRun, "dry-run", false, "print the steps instead of running them")
	fs.StringVarP(&output, "output", "o", "text", "text or json")
	fs.DurationVar(&timeout, "timeout", 15*time.Minute, "bound on each wait (peering, offloading, replicas)")
	fs.DurationVar(&poll, "poll", 2*time.Second, "how often replicas are read while waiting")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stdout := cmd.Context(), cmd.OutOrStdout()
		switch {
		case appPath == "":
			return errors.New(verb + " needs -a app.yaml")
		case output != "text" && output != "json":
			return fmt.Errorf("-o %q: want text or json", output)
		case len(lo.clusters) == 0:
			return errors.New(verb + " needs --cluster NAME=KUBECONFIG for the home cluster and every cluster of the plan")
		case timeout <= 0 || poll <= 0:
			return errors.New("--timeout and --poll must be > 0")
		}
		app, err := placement.LoadApplication(appPath)
		if err != nil {
			return err
		}
		if app.Home == "" {
			return fmt.Errorf("%s: home: set the home cluster of the application", appPath)
		}
		req := act.Request{App: app, Home: app.Home}
		if verb == "apply" {
			if req.Assignments, err = assignments(ctx, app, planPath, topoPath); err != nil {
				return err
			}
		}
		b, clients, err := lo.backend(verb, newClient)
		if err != nil {
			return err
		}
		home, ok := clients[app.Home]
		if !ok {
			return fmt.Errorf("--cluster: the home cluster %s is not given", app.Home)
		}
		w, err := act.NewKubeWorkloads(home, act.KubeOptions{})
		if err != nil {
			return err
		}
		opts := act.Options{Peering: b, Timeout: timeout, PollInterval: poll}
		if !dryRun && output == "text" {
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
			return err
		}
		if dryRun {
			steps, err := a.Plan(ctx, req)
			if err != nil {
				return err
			}
			return printSteps(stdout, steps, output)
		}
		res, err := a.Apply(ctx, req)
		if output == "json" && res != nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res.Steps); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		if output == "text" {
			if len(res.Steps) == 0 {
				fmt.Fprintln(stdout, "nothing to do: the plan is in force")
			} else {
				fmt.Fprintf(stdout, "%d step(s) done\n", len(res.Steps))
			}
		}
		return nil
	}
	return cmd
}

func printSteps(stdout io.Writer, steps []act.Step, output string) error {
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if steps == nil {
			steps = []act.Step{}
		}
		return enc.Encode(steps)
	}
	if len(steps) == 0 {
		fmt.Fprintln(stdout, "nothing to do: the plan is in force")
		return nil
	}
	for i, s := range steps {
		fmt.Fprintf(stdout, "%2d. %s\n", i+1, s)
	}
	return nil
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
