package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/continuum-xr/continuum/metrics"
	liqometrics "github.com/continuum-xr/continuum/metrics/liqo"
	"github.com/continuum-xr/continuum/peering/liqo"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/topology"
)

// runReal runs the manager on the home cluster: the loop observes latency through
// Liqo's Connections, decides on the topology file, and acts through Liqo.
func runReal(ctx context.Context, o options, out io.Writer) error {
	topo, err := topology.Load(o.topology)
	if err != nil {
		return err
	}
	var apps []placement.Application
	for _, p := range o.apps {
		a, err := placement.LoadApplication(p)
		if err != nil {
			return err
		}
		if a.Home == "" || (len(apps) > 0 && a.Home != apps[0].Home) {
			return fmt.Errorf("%s: home: %q; every application needs the same, non-empty home cluster", p, a.Home)
		}
		apps = append(apps, a)
	}
	home := apps[0].Home
	scheme, err := liqo.NewScheme()
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
	}
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                  scheme,
		LeaderElection:          true,
		LeaderElectionID:        "continuum-custom-controller",
		LeaderElectionNamespace: o.leaderNamespace,
		Metrics:                 metricsserver.Options{BindAddress: ":8080"},
		HealthProbeBindAddress:  ":8081",
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	clients := map[string]client.WithWatch{}
	endpoints := map[string]liqo.Endpoint{}
	var readers []liqometrics.Cluster
	add := func(name, kubeconfig string) error {
		c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return fmt.Errorf("--cluster %s: %w", name, err)
		}
		cl, err := client.NewWithWatch(c, client.Options{Scheme: scheme})
		if err != nil {
			return fmt.Errorf("--cluster %s: %w", name, err)
		}
		clients[name] = cl
		ep := liqo.Endpoint{APIServer: c.Host, CAData: c.CAData}
		if u, err := url.Parse(c.Host); err == nil && u.Hostname() != "" {
			ep.GatewayAddresses = []string{u.Hostname()}
		}
		endpoints[name] = ep
		readers = append(readers, liqometrics.Cluster{Name: name, Reader: cl})
		return nil
	}
	if err := add(home, o.kubeconfig); err != nil {
		return err
	}
	for _, c := range o.clusters {
		name, path, ok := strings.Cut(c, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("--cluster %q: want NAME=KUBECONFIG", c)
		}
		if err := add(name, path); err != nil {
			return err
		}
	}
	backend, err := liqo.New(clients, liqo.Options{LiqoNamespace: o.liqoNamespace, Endpoints: endpoints})
	if err != nil {
		return err
	}
	workloads, err := act.NewKubeWorkloads(clients[home], act.KubeOptions{})
	if err != nil {
		return err
	}
	actor, err := act.New(workloads, act.Options{Peering: backend})
	if err != nil {
		return err
	}
	latency, err := liqometrics.New(readers, liqometrics.Options{})
	if err != nil {
		return err
	}
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(out, prefix, args) }, funcr.Options{})
	l, err := loop.New(actor, apps, loop.Options{
		Topology: func(context.Context) (*topology.Topology, error) { return topo, nil },
		Sources:  []metrics.Source{{Name: "liqo", Latency: latency}},
		Log:      log,
		Recorder: mgr.GetEventRecorder("continuum"),
	})
	if err != nil {
		return err
	}
	if err := mgr.Add(l); err != nil {
		return err
	}
	fmt.Fprintf(out, "custom-controller: managing %d application(s) from %s; leader election in %s\n", len(apps), home, o.leaderNamespace)
	return mgr.Start(ctx)
}
