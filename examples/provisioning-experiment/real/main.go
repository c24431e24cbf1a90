// Command real runs the seed paper's experiment 5.1 (Fig. 3; see the doc of
// examples/provisioning-experiment) against Cluster API v1.14.2's REAL core
// reconcilers (Cluster, Machine, MachineSet, MachineDeployment and ClusterCache),
// in-process, on two test kube-apiservers with etcd: "management", with every
// Cluster API CRD and the k3s provider's, and "workload", where the machines' Nodes
// appear (provision/capi/reconcilers). The clusters are created and waited for with
// the SDK's provision/capi backend and provision.WaitReady, one at a time, and
// deleted after each measurement. Infrastructure, control plane (kubeadm and k3s)
// and bootstrap are played by small providers with fixed delays (1 s per cluster,
// 2 s per machine), so the times are Cluster API's reconciliation around those
// delays, at the one-second resolution of condition transition times: they show the
// real milestones in their real order, not the paper's VM boot times.
//
// It is a nested Go module because it links the main Cluster API module, which the
// SDK's go.mod must not require; run it from this folder:
//
//	make tools        # once per machine, from the repository root
//	go run .          # 1 and 3 nodes, kubeadm and k3s, 2 runs each
//	go run . -short   # 1 node, kubeadm and k3s, 1 run (what CI runs)
//	go run . -sizes 1,3,5 -runs 3 -dist k3s -o /tmp/fig3-real.svg
//
// Without the test binaries (kube-apiserver, etcd from `make tools`) it says so and
// exits 0 without measuring; with CI=true it fails instead, like the integration
// tests. -v prints the controllers' logs to stderr (CAPI_TEST_LOG=1 in its test).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/examples/provisioning-experiment/internal/experiment"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
	"github.com/continuum-xr/continuum/provision/capi/reconcilers"
)

// waitTimeout bounds each wait for a cluster; a healthy one takes seconds.
const waitTimeout = 3 * time.Minute

var (
	defaultConfig = experiment.Config{Sizes: []int{1, 3}, Distributions: experiment.Distributions(), Runs: 2}
	shortConfig   = experiment.Config{Sizes: []int{1}, Runs: 1}
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "provisioning-experiment/real:", err)
		os.Exit(1)
	}
}

type options struct {
	cfg     experiment.Config
	verbose bool
}

func parseFlags(w io.Writer, args []string) (options, error) {
	o := options{cfg: defaultConfig}
	fs := flag.NewFlagSet("provisioning-experiment/real", flag.ContinueOnError)
	fs.SetOutput(w)
	o.cfg.RegisterFlags(fs)
	short := fs.Bool("short", false, fmt.Sprintf("short configuration: sizes %v, %d run (explicit -sizes and -runs win)", shortConfig.Sizes, shortConfig.Runs))
	fs.BoolVar(&o.verbose, "v", false, "print the controllers' logs to stderr")
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
	setLoggers(o.verbose)
	_, err = execute(ctx, w, o)
	return err
}

var loggersOnce sync.Once

// setLoggers sets controller-runtime's and klog's process-wide loggers, once: the
// controllers' goroutines read them, so they never change afterwards.
func setLoggers(verbose bool) {
	loggersOnce.Do(func() {
		var log logr.Logger = logr.Discard()
		if verbose {
			log = funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: 2})
		}
		ctrl.SetLogger(log)
		klog.SetLogger(log)
	})
}

// execute starts the reconcilers, measures, prints and plots; it returns the samples
// (none when the test binaries are missing and CI is not set).
func execute(ctx context.Context, w io.Writer, o options) (samples []experiment.Sample, err error) {
	fmt.Fprintf(w, "Provisioning experiment (seed paper, Sec. 5.1, Fig. 3) against Cluster API v1.14.2's real core reconcilers, in-process: %s; one cluster at a time.\n", o.cfg)
	start := time.Now()
	env, err := reconcilers.Start(ctx, reconcilers.Options{})
	if errors.Is(err, testenv.ErrBinariesMissing) {
		if testenv.CI() {
			return nil, fmt.Errorf("test binaries missing and %s=true; run `make tools`: %w", testenv.EnvCI, err)
		}
		fmt.Fprintf(w, "Skipped: the real run needs the test binaries (kube-apiserver and etcd); run `make tools` once from the repository root.\n  %v\n", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.Stop()) }()
	fmt.Fprintf(w, "Test apiservers and reconcilers started in %s. Timeline of each run (from the Cluster's creation):\n", time.Since(start).Round(100*time.Millisecond))

	if samples, err = measure(ctx, env, o.cfg, w); err != nil {
		return nil, err
	}
	rows, err := experiment.Aggregate(samples)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nPlayed: infrastructure (%s per cluster), machines (%s each, in parallel), the kubeadm and k3s control planes and bootstrap;"+
		" real: everything Cluster API does around them. Times have the 1 s resolution of condition transition times and are not comparable with the paper's"+
		" %.0f to %.0f s, which include booting VMs on OpenStack.\n\n", reconcilers.DefaultInfraDelay, reconcilers.DefaultMachineDelay,
		experiment.PaperMin.Seconds(), experiment.PaperMax.Seconds())
	if slices.Contains(o.cfg.Sizes, 1) {
		fmt.Fprintln(w, "In Cluster API a cluster without workers (1 node) is WorkersAvailable almost at once, before its control plane:"+
			" a MachineDeployment of 0 replicas waits for nothing. provisionfake's model puts that milestone at control-plane availability instead.")
		fmt.Fprintln(w)
	}
	if err := experiment.WriteTable(w, rows); err != nil {
		return nil, err
	}
	if err := experiment.WriteDistributionComparison(w, rows); err != nil {
		return nil, err
	}
	if o.cfg.Plot != "" {
		title := "Time to Available, Cluster API v1.14 reconcilers with played providers"
		if err := experiment.WritePlot(o.cfg.Plot, rows, experiment.PlotOptions{Title: title}); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "Plot written to %s.\n", o.cfg.Plot)
	}
	return samples, nil
}

// measure provisions every configured cluster in turn, each in a namespace of its
// own, prints its timeline, and deletes it before the next.
func measure(ctx context.Context, env *reconcilers.Env, cfg experiment.Config, w io.Writer) ([]experiment.Sample, error) {
	b, err := env.Backend(capi.Options{})
	if err != nil {
		return nil, err
	}
	wait := provision.WaitOptions{Timeout: waitTimeout}
	var samples []experiment.Sample
	for run := range cfg.Runs {
		for _, n := range cfg.Sizes {
			for _, d := range cfg.Distributions {
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "provisioning-experiment-"}}
				if err := env.Management.Create(ctx, ns); err != nil {
					return nil, fmt.Errorf("creating a namespace: %w", err)
				}
				spec := experiment.Spec(fmt.Sprintf("%s-%d", d, n), ns.Name, n, d)
				spec.Infrastructure.Provider = reconcilers.ProviderName
				s, err := experiment.Measure(ctx, b, spec, run, wait)
				if err != nil {
					return nil, err
				}
				if err := experiment.WriteTimelines(w, []experiment.Sample{s}); err != nil {
					return nil, err
				}
				if err := provision.DeleteAndWait(ctx, b, spec.Ref(), wait); err != nil {
					return nil, err
				}
				// Namespaces are not finalised in envtest; deleting marks it at least.
				if err := env.Management.Delete(ctx, ns); client.IgnoreNotFound(err) != nil {
					return nil, fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
				}
				samples = append(samples, s)
			}
		}
	}
	return samples, nil
}
