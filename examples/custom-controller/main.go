// Command custom-controller is a controller-runtime manager that embeds continuum's
// placement loop (placement/loop) as a Runnable: the shape of an operator that keeps
// XR services placed across a continuum of clusters.
//
// By default it runs on the simulated continuum (placement/sim), with no cluster: the
// paper's Fig. 1 continuum and its collaborative XR service, for a simulated hour in a
// few seconds; the Geneva-Milan link degrades at +10m (on a full round's tick) and
// recovers at +25m, and the loop repairs the placement make-before-break, then moves
// back once the link has held for the dwell time:
//
//	go run ./examples/custom-controller [--duration 1h] [--verbose]
//
// On real clusters, the manager runs against the application's home cluster (with
// leader election) and act peers and offloads through Liqo on the clusters given:
//
//	go run ./examples/custom-controller --kubeconfig home.kubeconfig \
//	    --topology continuum.yaml --app app.yaml \
//	    --cluster gva-edge=gva.kubeconfig --cluster fra-cloud=fra.kubeconfig
//
// The home cluster holds the application's namespace and one Deployment (or
// StatefulSet) per component, the template act copies to each cluster the plan picks.
// Latency comes from Liqo's Connections on the clusters given, the rest from the
// topology file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-controller:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	duration time.Duration
	verbose  bool
	// Real clusters.
	kubeconfig, topology, liqoNamespace, leaderNamespace string
	apps, clusters                                       multi
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("custom-controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", time.Hour, "on sim: how much simulated time to run")
	fs.BoolVar(&o.verbose, "verbose", false, "on sim: print every round, also those that keep the placement")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "the home cluster's kubeconfig: run on real clusters instead of sim")
	fs.StringVar(&o.topology, "topology", "", "with --kubeconfig: the continuum (YAML or JSON)")
	fs.Var(&o.apps, "app", "with --kubeconfig: an application file (repeat); all need the same home cluster")
	fs.Var(&o.clusters, "cluster", "with --kubeconfig: NAME=KUBECONFIG of a cluster act peers with (repeat)")
	fs.StringVar(&o.liqoNamespace, "liqo-namespace", "liqo", "with --kubeconfig: the namespace Liqo runs in")
	fs.StringVar(&o.leaderNamespace, "leader-election-namespace", "default", "with --kubeconfig: where the leader election Lease lives")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0:
		return o, fmt.Errorf("--duration: must be > 0, got %s", o.duration)
	case o.kubeconfig == "" && (o.topology != "" || len(o.apps) > 0 || len(o.clusters) > 0):
		return o, errors.New("--topology, --app and --cluster need --kubeconfig (without it the controller runs on sim)")
	case o.kubeconfig != "" && o.topology == "":
		return o, errors.New("--topology: required with --kubeconfig")
	case o.kubeconfig != "" && len(o.apps) == 0:
		return o, errors.New("--app: at least one application is required with --kubeconfig")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args, stdout)
	if err != nil {
		return err
	}
	if o.kubeconfig != "" {
		// controller-runtime's own log (manager, leader election) goes to stderr.
		ctrllog.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{}))
		return runReal(ctx, o, stdout)
	}
	ctrllog.SetLogger(logr.Discard()) // on sim the manager has nothing to say
	c, err := newSimController(simOptions{verbose: o.verbose, out: stdout})
	if err != nil {
		return err
	}
	return c.run(ctx, o.duration)
}
