// Command provisioning-experiment reproduces experiment 5.1 of the seed paper
// ("Cross-Cluster Networking to Support Extended Reality Services", Fig. 3): the
// time Cluster API takes to deploy clusters of 1, 3, 5, 10, 15, 20 and 25 nodes (one
// control plane and n-1 workers), kubeadm against k3s, 10 runs each, reported as mean
// and standard deviation of the time until every node is Ready (the cluster's
// Available milestone), with the time to each provisioning milestone.
//
// It comes in two programs that share their statistics, table and plot
// (internal/experiment):
//
// The fake-model program, this one, runs the experiment on provision/provisionfake
// with a fake clock that it steps, so the full configuration (140 clusters) takes
// well under a second of wall time. The fake's model is fitted to the two numbers the
// paper states (103 s for 1 node, 316 s for 25; logarithmic in between, 5 % jitter)
// and does not tell kubeadm from k3s, so its agreement with the paper holds by
// construction: it shows the shape of the experiment and what the SDK measures, not
// new data. The default is the paper's configuration; -short (3 sizes, 3 runs) is
// what CI runs:
//
//	go run ./examples/provisioning-experiment
//	go run ./examples/provisioning-experiment -o docs/img/provisioning-experiment.svg
//	go run ./examples/provisioning-experiment -short -o /tmp/fig3.png
//	go run ./examples/provisioning-experiment -sizes 1,5,25 -runs 20 -dist k3s -seed 7
//
// The real-reconciler program, examples/provisioning-experiment/real (a nested Go
// module, because it links the main Cluster API module, which the SDK's go.mod must
// not require), runs the same measurement against Cluster API v1.14.2's real core
// reconcilers in-process, on two test kube-apiservers, with played infrastructure,
// control-plane and bootstrap providers (provision/capi/reconcilers); by default 1
// and 3 nodes, 2 runs, both distributions, printing every run's timeline. It needs
// the test binaries (`make tools`, built once into the user cache) and says so and
// stops without them (fails under CI=true):
//
//	make tools
//	cd examples/provisioning-experiment/real && go run .
//	cd examples/provisioning-experiment/real && go run . -short -o /tmp/fig3-real.svg
//
// Flags of this program: -sizes, -dist, -runs and -o (shared with the real program),
// -seed (the first run's jitter seed; run i uses seed+i) and -short.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/continuum-xr/continuum/examples/provisioning-experiment/internal/experiment"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
)

const (
	// stepSize is how far the fake clock moves per step. The timelines hold the
	// model's exact times whatever the step.
	stepSize = time.Second
	// maxFakeTime bounds a run in fake time: a cluster not ready by then is an error.
	maxFakeTime = time.Hour
	// wallTimeout bounds a run in wall time, should a watcher never report.
	wallTimeout = time.Minute
)

// epoch is the fake clock's start; any fixed time does.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// shortConfig is the configuration of -short: the two sizes the paper states a time
// for, and one between, 3 runs.
var shortConfig = experiment.Config{Sizes: []int{1, 3, 25}, Runs: 3}

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "provisioning-experiment:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	cfg  experiment.Config
	seed uint64
}

func parseFlags(w io.Writer, args []string) (options, error) {
	o := options{cfg: experiment.Config{Sizes: experiment.PaperSizes(), Distributions: experiment.Distributions(), Runs: experiment.PaperRuns}}
	fs := flag.NewFlagSet("provisioning-experiment", flag.ContinueOnError)
	fs.SetOutput(w)
	o.cfg.RegisterFlags(fs)
	fs.Uint64Var(&o.seed, "seed", 1, "jitter seed of the first run (run i uses seed+i)")
	short := fs.Bool("short", false, fmt.Sprintf("short configuration: sizes %v, %d runs (explicit -sizes and -runs win)", shortConfig.Sizes, shortConfig.Runs))
	if err := o.cfg.Parse(fs, args, short, shortConfig); err != nil {
		return options{}, err
	}
	return o, nil
}

func run(ctx context.Context, w io.Writer, args []string) error {
	o, err := parseFlags(w, args)
	if err != nil {
		return err
	}
	start := time.Now()
	samples, err := measure(ctx, o.cfg, o.seed)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	rows, err := experiment.Aggregate(samples)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Provisioning experiment (seed paper, Sec. 5.1, Fig. 3) on provisionfake: %d clusters (%s; seeds %d to %d) on a fake clock, in %s of wall time.\n",
		len(samples), o.cfg, o.seed, o.seed+uint64(o.cfg.Runs)-1, wall.Round(time.Millisecond))
	fmt.Fprintln(w, "Model: provisionfake.PaperModel is fitted to the only two numbers the paper states (103 s for 1 node, 316 s for 25; logarithmic in between, 5 % jitter) and treats kubeadm and k3s alike, so matching the paper is by construction, not a measurement.")
	fmt.Fprintln(w)
	if err := experiment.WriteTable(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := experiment.WritePaperComparison(w, rows); err != nil {
		return err
	}
	if err := experiment.WriteDistributionComparison(w, rows); err != nil {
		return err
	}
	if o.cfg.Plot != "" {
		title := "Time to Available by distribution and size (provisionfake, PaperModel)"
		if err := experiment.WritePlot(o.cfg.Plot, rows, experiment.PlotOptions{Title: title, PaperPoints: true}); err != nil {
			return err
		}
		fmt.Fprintf(w, "Plot written to %s.\n", o.cfg.Plot)
	}
	return nil
}

// measure runs the experiment: cfg.Runs runs, run i on a fresh fake seeded with
// seed+i that provisions every size and distribution at once.
func measure(ctx context.Context, cfg experiment.Config, seed uint64) ([]experiment.Sample, error) {
	var samples []experiment.Sample
	for i := range cfg.Runs {
		s, err := measureRun(ctx, cfg, seed+uint64(i), i)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		samples = append(samples, s...)
	}
	return samples, nil
}

// measureRun creates every cluster of one run on a fresh fake at the same fake time,
// waits for each with provision.WaitReady in its own goroutine, and steps the clock
// until all are ready.
func measureRun(ctx context.Context, cfg experiment.Config, seed uint64, run int) ([]experiment.Sample, error) {
	clk := clocktesting.NewFakeClock(epoch)
	f, err := provisionfake.New(provisionfake.Options{Clock: clk, Seed: seed})
	if err != nil {
		return nil, err
	}
	var specs []provision.ClusterSpec
	for _, n := range cfg.Sizes {
		for _, d := range cfg.Distributions {
			spec := experiment.Spec(fmt.Sprintf("%s-%d", d, n), "", n, d)
			if err := f.Create(ctx, spec); err != nil {
				return nil, err
			}
			specs = append(specs, spec)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, wallTimeout)
	defer cancel()
	samples := make([]experiment.Sample, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() {
			samples[i], errs[i] = experiment.Wait(ctx, f, spec, run, provision.WaitOptions{Clock: clk})
		})
	}
	stepErr := step(ctx, f, clk, specs)
	if stepErr != nil {
		cancel() // the waiters would wait for ever
	}
	wg.Wait()
	if stepErr != nil {
		return nil, stepErr
	}
	return samples, errors.Join(errs...)
}

// step moves the fake clock stepSize at a time until every cluster is ready as Get
// reports it (synchronously: the pace never depends on when the watchers run), or
// fails after maxFakeTime.
func step(ctx context.Context, f *provisionfake.Fake, clk *clocktesting.FakeClock, specs []provision.ClusterSpec) error {
	deadline := clk.Now().Add(maxFakeTime)
	for {
		var waiting []string
		for _, s := range specs {
			c, err := f.Get(ctx, s.Ref())
			if err != nil {
				return err
			}
			if !provision.IsReady(c) {
				waiting = append(waiting, fmt.Sprintf("%s: %s", s.Name, provision.Summary(c)))
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if !clk.Now().Before(deadline) {
			return fmt.Errorf("%d of %d clusters not ready after %s of fake time: %s", len(waiting), len(specs), maxFakeTime, strings.Join(waiting, "; "))
		}
		clk.Step(stepSize)
	}
}
