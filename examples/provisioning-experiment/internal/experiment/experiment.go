// Package experiment is what the two programs of examples/provisioning-experiment
// share: the configuration of the seed paper's experiment 5.1 (cluster sizes,
// distributions, runs) and its flags, the measurement of one cluster (Create, then
// provision.WaitReady, then its Timeline), the statistics, the table and the plot in
// the style of the paper's Fig. 3.
//
// The fake-model program (examples/provisioning-experiment, main module) and the
// real-reconciler program (examples/provisioning-experiment/real, a nested module)
// both import it; Go's internal rule allows it, both import paths being rooted at
// examples/provisioning-experiment.
//
// # Errors
//
// Bad flag values give errors that name the flag ("-runs: 0 must be at least 1").
// A measured timeline that misses a milestone or goes backwards is an error, never a
// silently skewed mean.
package experiment

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/provision"
)

// The seed paper's experiment 5.1: "1, 3, 5, 10, 15, 20, and 25 nodes for each
// Kubernetes distribution", one control plane and n-1 workers, "10 times, with error
// bars indicating the standard deviation", and "total deployment times ranged from
// 103 to 316 seconds".
var paperSizes = []int{1, 3, 5, 10, 15, 20, 25}

const (
	// PaperRuns is how often the paper repeated each configuration.
	PaperRuns = 10
	// PaperMin and PaperMax are the range of deployment times the paper states (for 1
	// and 25 nodes; the other values of its Fig. 3 are not in its text).
	PaperMin = 103 * time.Second
	PaperMax = 316 * time.Second
	// PaperMinNodes and PaperMaxNodes are the sizes of PaperMin and PaperMax.
	PaperMinNodes = 1
	PaperMaxNodes = 25
	// MaxNodes bounds a cluster size flag (1 control plane + MaxWorkers workers).
	MaxNodes = provision.MaxWorkers + 1
	// KubernetesVersion is the version of every measured cluster (k3s gets +k3s1).
	KubernetesVersion = "v1.33.1"
)

// PaperSizes returns the cluster sizes (nodes) of the paper's experiment.
func PaperSizes() []int { return slices.Clone(paperSizes) }

// Distributions returns the distributions the paper compares: kubeadm and k3s.
func Distributions() []provision.Distribution {
	return []provision.Distribution{provision.Kubeadm, provision.K3s}
}

// Config is one experiment: every size for every distribution, Runs times.
type Config struct {
	// Sizes are the cluster sizes in nodes (1 control plane + n-1 workers).
	Sizes []int
	// Distributions are the distributions measured.
	Distributions []provision.Distribution
	// Runs is how often each size and distribution is measured.
	Runs int
	// Plot, when set, is the file the plot is written to (.svg or .png).
	Plot string
}

// RegisterFlags registers -sizes, -dist, -runs and -o on fs, filling c, whose
// current values are the defaults. Check the result with Validate after parsing.
// Parse parses args with fs (on which RegisterFlags registered c's flags), refuses
// positional arguments, and, when short is set after parsing, replaces the sizes and
// runs that were not given explicitly with those of the short configuration. It
// validates the result.
func (c *Config) Parse(fs *flag.FlagSet, args []string, short *bool, shortCfg Config) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	if short != nil && *short {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			c.Sizes = slices.Clone(shortCfg.Sizes)
		}
		if !set["runs"] {
			c.Runs = shortCfg.Runs
		}
	}
	return c.Validate()
}

func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("sizes", fmt.Sprintf("comma-separated cluster sizes in nodes, 1 control plane + n-1 workers (default %s)", formatInts(c.Sizes)),
		func(s string) error {
			sizes, err := ParseSizes(s)
			if err == nil {
				c.Sizes = sizes
			}
			return err
		})
	fs.Func("dist", fmt.Sprintf("comma-separated distributions, kubeadm and/or k3s (default %s)", formatDists(c.Distributions)),
		func(s string) error {
			dists, err := ParseDistributions(s)
			if err == nil {
				c.Distributions = dists
			}
			return err
		})
	fs.IntVar(&c.Runs, "runs", c.Runs, "runs per size and distribution")
	fs.StringVar(&c.Plot, "o", c.Plot, "write a plot like the paper's Fig. 3 to this `file` (.svg or .png)")
}

// Validate checks c, naming the flag of a bad value.
func (c Config) Validate() error {
	var errs []error
	if c.Runs < 1 {
		errs = append(errs, fmt.Errorf("-runs: %d must be at least 1", c.Runs))
	}
	if len(c.Sizes) == 0 {
		errs = append(errs, errors.New("-sizes: no cluster size given"))
	}
	for _, n := range c.Sizes {
		if n < 1 || n > MaxNodes {
			errs = append(errs, fmt.Errorf("-sizes: %d must be between 1 and %d", n, MaxNodes))
		}
	}
	if len(c.Distributions) == 0 {
		errs = append(errs, errors.New("-dist: no distribution given"))
	}
	if c.Plot != "" {
		if err := CheckPlotFile(c.Plot); err != nil {
			errs = append(errs, fmt.Errorf("-o: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ParseSizes parses "1,3,5": distinct cluster sizes in nodes, each at least 1,
// returned sorted.
func ParseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a number of nodes", f)
		case n < 1 || n > MaxNodes:
			return nil, fmt.Errorf("%d nodes: must be between 1 and %d", n, MaxNodes)
		case slices.Contains(sizes, n):
			return nil, fmt.Errorf("%d nodes given twice", n)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return sizes, nil
}

// ParseDistributions parses "kubeadm,k3s".
func ParseDistributions(s string) ([]provision.Distribution, error) {
	var dists []provision.Distribution
	for f := range strings.SplitSeq(s, ",") {
		d := provision.Distribution(strings.TrimSpace(f))
		switch {
		case !slices.Contains(Distributions(), d):
			return nil, fmt.Errorf("%q is not one of %s", d, formatDists(Distributions()))
		case slices.Contains(dists, d):
			return nil, fmt.Errorf("%s given twice", d)
		}
		dists = append(dists, d)
	}
	return dists, nil
}

// CheckPlotFile checks that a plot can be written to file: its extension is .svg or
// .png.
func CheckPlotFile(file string) error {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".svg", ".png":
		return nil
	}
	return fmt.Errorf("%q: want a file ending in .svg or .png", file)
}

// String describes c: "sizes 1,3,25; kubeadm,k3s; 3 runs each".
func (c Config) String() string {
	runs := fmt.Sprintf("%d runs", c.Runs)
	if c.Runs == 1 {
		runs = "1 run"
	}
	return fmt.Sprintf("sizes %s; %s; %s each", formatInts(c.Sizes), formatDists(c.Distributions), runs)
}

func formatInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func formatDists(ds []provision.Distribution) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, ",")
}

// Spec returns the spec of a measured cluster: nodes nodes (1 control-plane machine
// and nodes-1 workers) of distribution d, KubernetesVersion.
func Spec(name, namespace string, nodes int, d provision.Distribution) provision.ClusterSpec {
	return provision.ClusterSpec{
		Name: name, Namespace: namespace, Distribution: d, KubernetesVersion: KubernetesVersion,
		ControlPlaneReplicas: 1, Workers: int32(nodes - 1),
	}
}

// Sample is one measured cluster.
type Sample struct {
	// Nodes is the cluster size; Distribution its distribution; Run the run number
	// (from 0).
	Nodes        int
	Distribution provision.Distribution
	Run          int
	// Timeline is when each milestone was reached; complete and in order (Wait
	// checks it with CheckTimeline).
	Timeline provision.Timeline
}

// Total returns the time to Available: the paper's deployment time ("until all
// nodes indicate Ready").
func (s Sample) Total() time.Duration {
	d, _ := s.Timeline.After(provision.Available)
	return d
}

// Measure creates the cluster of spec with p, waits with provision.WaitReady until it
// is ready and returns its sample. See Wait.
func Measure(ctx context.Context, p provision.Provisioner, spec provision.ClusterSpec, run int, opts provision.WaitOptions) (Sample, error) {
	if err := p.Create(ctx, spec); err != nil {
		return Sample{}, err
	}
	return Wait(ctx, p, spec, run, opts)
}

// Wait waits with provision.WaitReady until the cluster of spec is ready and returns
// its sample, or an error when it does not become ready or its timeline is not
// complete and in order (CheckTimeline with the spec's workers).
func Wait(ctx context.Context, r provision.Reader, spec provision.ClusterSpec, run int, opts provision.WaitOptions) (Sample, error) {
	c, err := provision.WaitReady(ctx, r, spec.Ref(), opts)
	if err != nil {
		return Sample{}, err
	}
	if err := CheckTimeline(c.Timeline, int(c.Spec.Workers)); err != nil {
		return Sample{}, fmt.Errorf("cluster %s: %w", spec.Ref(), err)
	}
	return Sample{Nodes: int(c.Spec.ControlPlaneReplicas + c.Spec.Workers), Distribution: c.Spec.Distribution, Run: run, Timeline: c.Timeline}, nil
}

// CheckTimeline reports a timeline of a cluster with that many workers that misses a
// milestone, or whose milestones are not reached in provision.Milestones order
// (non-decreasing times from creation). One exception is Cluster API's: a cluster
// without workers (a MachineDeployment of 0 replicas) waits for nothing and is
// WorkersAvailable almost at once, before its control plane, so then
// WorkersAvailable need only come no later than Available.
func CheckTimeline(tl provision.Timeline, workers int) error {
	var prev time.Duration
	var prevM provision.Milestone
	for _, m := range provision.Milestones() {
		d, ok := tl.After(m)
		switch {
		case !ok:
			return fmt.Errorf("timeline %q: %s missing", tl, m)
		case d < 0:
			return fmt.Errorf("timeline %q: %s before the creation", tl, m)
		case m == provision.WorkersAvailable && workers == 0:
			if avail, ok := tl.After(provision.Available); ok && d > avail {
				return fmt.Errorf("timeline %q: %s after %s", tl, m, provision.Available)
			}
			continue
		case d < prev:
			return fmt.Errorf("timeline %q: %s before %s", tl, m, prevM)
		}
		prev, prevM = d, m
	}
	return nil
}
