package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

const peeringUsage = `usage: continuumctl VERB ... --cluster NAME=KUBECONFIG [--cluster ...] [--gateway NAME=ADDRESS ...]
  peer CONSUMER PROVIDER      [--cpu 4] [--memory 8Gi] [--pods 110] [--dry-run -o yaml|json]
  unpeer CONSUMER PROVIDER
  offload CLUSTER NAMESPACE   --to A,B [--pod-strategy LocalAndRemote|Local|Remote] [--dry-run -o yaml|json]
  unoffload CLUSTER NAMESPACE
  peerings                    [--consumer C] [--provider P]
Every cluster involved needs a --cluster NAME=KUBECONFIG; a provider's gateway address
defaults to the host of its API server (--gateway NAME=ADDRESS to set it).`

// peeringVerbs are the verbs runPeering handles.
var peeringVerbs = map[string]int{"peer": 2, "unpeer": 2, "offload": 2, "unoffload": 2, "peerings": 0}

// liqoBackend builds the Liqo backend over the clusters given as NAME=KUBECONFIG, with
// the gateway addresses given as NAME=ADDRESS; it returns the clients too.
func liqoBackend(clusters, gateways []string, liqoNS string,
	newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) (*liqo.Backend, map[string]client.WithWatch, error) {
	clients := map[string]client.WithWatch{}
	endpoints := map[string]liqo.Endpoint{}
	for _, c := range clusters {
		name, path, ok := strings.Cut(c, "=")
		if !ok || name == "" || path == "" {
			return nil, nil, fmt.Errorf("--cluster %q: want NAME=KUBECONFIG", c)
		}
		cl, host, ca, err := newClient(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--cluster %s: %w", name, err)
		}
		clients[name] = cl
		ep := liqo.Endpoint{APIServer: host, CAData: ca}
		if u, err := url.Parse(host); err == nil && u.Hostname() != "" {
			ep.GatewayAddresses = []string{u.Hostname()}
		}
		endpoints[name] = ep
	}
	for _, g := range gateways {
		name, addr, ok := strings.Cut(g, "=")
		ep, known := endpoints[name]
		if !ok || !known || addr == "" {
			return nil, nil, fmt.Errorf("--gateway %q: want NAME=ADDRESS for a cluster given with --cluster", g)
		}
		ep.GatewayAddresses = []string{addr}
		endpoints[name] = ep
	}
	b, err := liqo.New(clients, liqo.Options{LiqoNamespace: liqoNS, Endpoints: endpoints})
	return b, clients, err
}

// liqoFlags defines the flags of the verbs that talk to Liqo: --cluster (described
// by clusterUsage), --gateway and --liqo-namespace.
func liqoFlags(fs *flag.FlagSet, clusterUsage string) (clusters, gateways *multiFlag, liqoNS *string) {
	clusters, gateways = new(multiFlag), new(multiFlag)
	fs.Var(clusters, "cluster", clusterUsage)
	fs.Var(gateways, "gateway", "NAME=ADDRESS where consumers reach a provider's gateway (repeat)")
	liqoNS = fs.String("liqo-namespace", liqo.DefaultLiqoNamespace, "namespace Liqo runs in")
	return clusters, gateways, liqoNS
}

// runPeering runs the Liqo verbs; newClient builds a cluster's client from its
// kubeconfig (tests inject one).
func runPeering(ctx context.Context, verb string, args []string, stdout, stderr io.Writer,
	newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "continuumctl:", err)
		return exitBadInput
	}
	n := peeringVerbs[verb]
	if len(args) < n {
		fmt.Fprintln(stderr, peeringUsage)
		return exitBadInput
	}
	pos, rest := args[:n], args[n:]
	fs := flag.NewFlagSet("continuumctl "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	clusters, gateways, liqoNS := liqoFlags(fs, "NAME=KUBECONFIG of a cluster (repeat)")
	cpu := fs.String("cpu", "", "CPU the consumer asks for (peer)")
	memory := fs.String("memory", "", "memory the consumer asks for (peer)")
	pods := fs.Int64("pods", 0, "pods the consumer asks for (peer)")
	to := fs.String("to", "", "comma-separated target clusters (offload)")
	podStrategy := fs.String("pod-strategy", string(peering.LocalAndRemote), "pod offloading strategy (offload)")
	consumer := fs.String("consumer", "", "only peerings of this consumer (peerings)")
	provider := fs.String("provider", "", "only peerings of this provider (peerings)")
	dryRun := fs.Bool("dry-run", false, "print the objects instead of writing them (peer, offload)")
	output := fs.String("o", "yaml", "with --dry-run: yaml or json")
	if err := fs.Parse(rest); err != nil {
		return exitBadInput
	}
	if len(*clusters) == 0 {
		return fail(errors.New(verb + " needs --cluster NAME=KUBECONFIG for every cluster involved"))
	}
	b, _, err := liqoBackend(*clusters, *gateways, *liqoNS, newClient)
	if err != nil {
		return fail(err)
	}
	switch verb {
	case "peer":
		req := peering.PeerRequest{Key: peering.Key{Consumer: pos[0], Provider: pos[1]}, Resources: peering.Resources{Pods: *pods}}
		for _, q := range []struct {
			flag, v string
			to      *resource.Quantity
		}{{"--cpu", *cpu, &req.Resources.CPU}, {"--memory", *memory, &req.Resources.Memory}} {
			if q.v == "" {
				continue
			}
			v, err := resource.ParseQuantity(q.v)
			if err != nil {
				return fail(fmt.Errorf("%s %q: not a quantity", q.flag, q.v))
			}
			*q.to = v
		}
		if *dryRun {
			prov, cons, err := b.PlanPeer(ctx, req)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintf(stdout, "# provider %s: %d objects\n", req.Provider, len(prov))
			if err := writeObjects(stdout, clientObjects(prov), *output); err != nil {
				return fail(err)
			}
			fmt.Fprintf(stdout, "---\n# consumer %s: %d objects\n", req.Consumer, len(cons))
			if err := writeObjects(stdout, clientObjects(cons), *output); err != nil {
				return fail(err)
			}
			return exitPlaced
		}
		if err := b.Peer(ctx, req); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "peering %s written; Liqo connects the clusters\n", req.Key)
	case "unpeer":
		k := peering.Key{Consumer: pos[0], Provider: pos[1]}
		if err := b.Unpeer(ctx, k); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "peering %s removed\n", k)
	case "offload":
		if *to == "" {
			return fail(errors.New("offload needs --to A,B"))
		}
		spec := peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: pos[0], Namespace: pos[1]},
			Pods: peering.PodStrategy(*podStrategy), Targets: strings.Split(*to, ",")}
		if *dryRun {
			obj, err := b.PlanOffload(ctx, spec)
			if err != nil {
				return fail(err)
			}
			if obj == nil {
				fmt.Fprintln(stdout, "# nothing to write: the namespace is offloaded so already")
				return exitPlaced
			}
			if err := writeObjects(stdout, clientObjects([]client.Object{obj}), *output); err != nil {
				return fail(err)
			}
			return exitPlaced
		}
		if err := b.Offload(ctx, spec); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "namespace %s offloaded to %s\n", spec.NamespaceRef, *to)
	case "unoffload":
		ref := peering.NamespaceRef{Cluster: pos[0], Namespace: pos[1]}
		if err := b.Unoffload(ctx, ref); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "namespace %s unoffloaded: Liqo removes the remote namespaces and what runs in them\n", ref)
	case "peerings":
		list, err := b.ListPeerings(ctx, peering.ListOptions{Consumer: *consumer, Provider: *provider})
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CONSUMER\tPROVIDER\tPEERED\tSTATUS")
		for _, p := range list {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", p.Consumer, p.Provider, peering.IsPeered(p), peering.Summary(p))
		}
		if err := tw.Flush(); err != nil {
			return fail(err)
		}
	}
	return exitPlaced
}

// clientObjects returns objs with their apiVersion and kind set (typed objects leave
// them empty), ready to print.
func clientObjects(objs []client.Object) []runtime.Object {
	scheme, err := liqo.NewScheme()
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		if err == nil {
			if gvk, gerr := apiutil.GVKForObject(o, scheme); gerr == nil {
				o.GetObjectKind().SetGroupVersionKind(gvk)
			}
		}
		out[i] = o
	}
	return out
}

// liqoClient builds a cluster's client with Liqo's types from a kubeconfig file, and
// returns its API server URL and CA for the peering endpoints.
func liqoClient(kubeconfig string) (client.WithWatch, string, []byte, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, "", nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	scheme, err := liqo.NewScheme()
	if err != nil {
		return nil, "", nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	return c, cfg.Host, cfg.CAData, err
}
