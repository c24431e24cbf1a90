package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	clusterv1beta1 "open-cluster-management.io/api/cluster/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/ocm"
	"github.com/continuum-xr/continuum/topology"
)

// newTaintCmds returns cordon, drain and uncordon: kubectl's verbs for clusters,
// editing a topology file (the loop reads the change from the topology it is given).
func newTaintCmds(now func() time.Time) []*cobra.Command {
	type verb struct {
		name, short, long string
		edit              func(t *topology.Topology, cluster string) (*topology.Topology, error)
	}
	verbs := []verb{
		{"cordon", "Mark a cluster of a topology file unschedulable: no new replicas (NoSelect taint)",
			"cordon puts the NoSelect taint " + topology.TaintUnschedulable + " on the cluster: the engine places no new\nreplicas there; replicas already there stay.",
			topology.Cordon},
		{"drain", "Cordon a cluster and make its replicas leave (NoExecute taint)",
			"drain cordons the cluster and puts the NoExecute taint " + topology.TaintDrain + " on it, added now:\nthe loop moves every replica off it make-before-break, within every budget; a replica\nwith nowhere else to go stays, and the loop says which and why. Components that\ntolerate the taint with tolerationSeconds leave when that period has passed.",
			func(t *topology.Topology, c string) (*topology.Topology, error) { return topology.Drain(t, c, now()) }},
		{"uncordon", "Remove the taints of cordon and drain from a cluster",
			"uncordon removes the taints cordon and drain put on the cluster (its other taints stay).",
			topology.Uncordon},
	}
	var cmds []*cobra.Command
	for _, v := range verbs {
		var file string
		var dryRun bool
		cmd := &cobra.Command{
			Use:   v.name + " CLUSTER -t topology.yaml [--dry-run]",
			Short: v.short,
			Long: v.long + `

The topology file is rewritten in continuum's canonical YAML (comments are not kept);
--dry-run prints the result instead.`,
			Example: "  continuumctl " + v.name + " gva-edge -t topology.yaml\n  continuumctl " + v.name + " gva-edge -t topology.yaml --dry-run",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if file == "" {
					return errors.New(v.name + " needs -t topology.yaml")
				}
				topo, err := topology.Load(file)
				if err != nil {
					return err
				}
				edited, err := v.edit(topo, args[0])
				if err != nil {
					return err
				}
				out, err := topology.Encode(edited.Spec())
				if err != nil {
					return err
				}
				if dryRun {
					_, err = cmd.OutOrStdout().Write(out)
					return err
				}
				info, err := os.Stat(file)
				if err != nil {
					return err
				}
				if err := os.WriteFile(file, out, info.Mode().Perm()); err != nil {
					return err
				}
				c, _ := edited.Cluster(args[0])
				fmt.Fprintf(cmd.OutOrStdout(), "cluster/%s %sed (taints: %v)\n", args[0], v.name, c.Taints)
				return nil
			},
		}
		cmd.Flags().StringVarP(&file, "topology", "t", "", "topology file (YAML or JSON), edited in place")
		cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the edited topology instead of writing the file")
		cmds = append(cmds, cmd)
	}
	return cmds
}

// writeOCM prints a plan as OCM objects (plan -o ocm): for each application, its
// Placements and PlacementDecisions, as a YAML stream.
func writeOCM(w io.Writer, apps []placement.Application, plan *placement.Plan) error {
	first := true
	for _, app := range apps {
		set, err := ocm.Objects(app, plan.Assignments, ocm.ObjectsOptions{})
		if err != nil {
			return err
		}
		var objs []any
		for _, p := range set.Placements {
			p.Status = clusterv1beta1.PlacementStatus{} // OCM's to fill (Apply writes numberOfSelectedClusters)
			objs = append(objs, p)
		}
		for _, d := range set.Decisions {
			objs = append(objs, d)
		}
		for _, o := range objs {
			js, err := json.Marshal(o)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(js, &m); err != nil {
				return err
			}
			if m["kind"] == "Placement" {
				delete(m, "status") // empty: written by the scheduler (Apply)
			}
			y, err := yaml.Marshal(m)
			if err != nil {
				return err
			}
			if !first {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			first = false
			if _, err := w.Write(y); err != nil {
				return err
			}
		}
	}
	return nil
}
