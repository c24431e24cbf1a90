package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

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

// liqoOptions are the flags of the verbs that talk to Liqo: --cluster, --gateway and
// --liqo-namespace.
type liqoOptions struct {
	clusters, gateways []string
	liqoNS             string
}

// addFlags defines the flags on fs; clusterUsage describes --cluster.
func (o *liqoOptions) addFlags(fs *pflag.FlagSet, clusterUsage string) {
	fs.StringArrayVar(&o.clusters, "cluster", nil, clusterUsage)
	fs.StringArrayVar(&o.gateways, "gateway", nil, "NAME=ADDRESS where consumers reach a provider's gateway (repeat)")
	fs.StringVar(&o.liqoNS, "liqo-namespace", liqo.DefaultLiqoNamespace, "namespace Liqo runs in")
}

// backend builds the Liqo backend over the clusters given; verb names the verb in the
// error when no --cluster is given.
func (o *liqoOptions) backend(verb string, newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) (*liqo.Backend, map[string]client.WithWatch, error) {
	if len(o.clusters) == 0 {
		return nil, nil, errors.New(verb + " needs --cluster NAME=KUBECONFIG for every cluster involved")
	}
	return liqoBackend(o.clusters, o.gateways, o.liqoNS, newClient)
}

const liqoLong = `Every cluster involved needs a --cluster NAME=KUBECONFIG; a provider's gateway address
defaults to the host of its API server (--gateway NAME=ADDRESS to set it).`

// newPeeringCmds returns the Liqo verbs: peer, unpeer, offload, unoffload and peerings;
// newClient builds a cluster's client from its kubeconfig (tests inject one).
func newPeeringCmds(newClient func(kubeconfig string) (client.WithWatch, string, []byte, error)) []*cobra.Command {
	const clusterUsage = "NAME=KUBECONFIG of a cluster (repeat)"

	var peerOpts liqoOptions
	var cpu, memory, peerOutput string
	var pods int64
	var peerDryRun bool
	peer := &cobra.Command{
		Use:   "peer CONSUMER PROVIDER --cluster NAME=KUBECONFIG ...",
		Short: "Peer a consumer cluster with a provider through Liqo (declarative peering)",
		Long:  "peer writes Liqo's declarative peering objects on both clusters.\n" + liqoLong,
		Example: `  continuumctl peer gva-edge fra-cloud --cluster gva-edge=gva.kubeconfig --cluster fra-cloud=fra.kubeconfig --cpu 4 --memory 8Gi
  continuumctl peer gva-edge fra-cloud --cluster ... --dry-run -o yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, _, err := peerOpts.backend("peer", newClient)
			if err != nil {
				return err
			}
			req := peering.PeerRequest{Key: peering.Key{Consumer: args[0], Provider: args[1]}, Resources: peering.Resources{Pods: pods}}
			for _, q := range []struct {
				flag, v string
				to      *resource.Quantity
			}{{"--cpu", cpu, &req.Resources.CPU}, {"--memory", memory, &req.Resources.Memory}} {
				if q.v == "" {
					continue
				}
				v, err := resource.ParseQuantity(q.v)
				if err != nil {
					return fmt.Errorf("%s %q: not a quantity", q.flag, q.v)
				}
				*q.to = v
			}
			stdout := cmd.OutOrStdout()
			if peerDryRun {
				prov, cons, err := b.PlanPeer(cmd.Context(), req)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "# provider %s: %d objects\n", req.Provider, len(prov))
				if err := writeObjects(stdout, clientObjects(prov), peerOutput); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "---\n# consumer %s: %d objects\n", req.Consumer, len(cons))
				return writeObjects(stdout, clientObjects(cons), peerOutput)
			}
			if err := b.Peer(cmd.Context(), req); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "peering %s written; Liqo connects the clusters\n", req.Key)
			return nil
		},
	}
	peerOpts.addFlags(peer.Flags(), clusterUsage)
	peer.Flags().StringVar(&cpu, "cpu", "", "CPU the consumer asks for")
	peer.Flags().StringVar(&memory, "memory", "", "memory the consumer asks for")
	peer.Flags().Int64Var(&pods, "pods", 0, "pods the consumer asks for")
	peer.Flags().BoolVar(&peerDryRun, "dry-run", false, "print the objects instead of writing them")
	peer.Flags().StringVarP(&peerOutput, "output", "o", "yaml", "with --dry-run: yaml or json")

	var unpeerOpts liqoOptions
	unpeer := &cobra.Command{
		Use:   "unpeer CONSUMER PROVIDER --cluster NAME=KUBECONFIG ...",
		Short: "Remove a Liqo peering",
		Long:  "unpeer removes the peering of a consumer with a provider.\n" + liqoLong,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, _, err := unpeerOpts.backend("unpeer", newClient)
			if err != nil {
				return err
			}
			k := peering.Key{Consumer: args[0], Provider: args[1]}
			if err := b.Unpeer(cmd.Context(), k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "peering %s removed\n", k)
			return nil
		},
	}
	unpeerOpts.addFlags(unpeer.Flags(), clusterUsage)

	var offOpts liqoOptions
	var to []string
	var podStrategy, offOutput string
	var offDryRun bool
	offload := &cobra.Command{
		Use:   "offload CLUSTER NAMESPACE --to A,B --cluster NAME=KUBECONFIG ...",
		Short: "Offload a namespace of a cluster to its providers through Liqo",
		Long:  "offload extends a namespace of CLUSTER to the clusters given with --to, with the same name.\n" + liqoLong,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(to) == 0 {
				return errors.New("offload needs --to A,B")
			}
			b, _, err := offOpts.backend("offload", newClient)
			if err != nil {
				return err
			}
			spec := peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: args[0], Namespace: args[1]},
				Pods: peering.PodStrategy(podStrategy), Targets: to}
			stdout := cmd.OutOrStdout()
			if offDryRun {
				obj, err := b.PlanOffload(cmd.Context(), spec)
				if err != nil {
					return err
				}
				if obj == nil {
					fmt.Fprintln(stdout, "# nothing to write: the namespace is offloaded so already")
					return nil
				}
				return writeObjects(stdout, clientObjects([]client.Object{obj}), offOutput)
			}
			if err := b.Offload(cmd.Context(), spec); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "namespace %s offloaded to %s\n", spec.NamespaceRef, strings.Join(to, ","))
			return nil
		},
	}
	offOpts.addFlags(offload.Flags(), clusterUsage)
	offload.Flags().StringSliceVar(&to, "to", nil, "target clusters, comma-separated")
	offload.Flags().StringVar(&podStrategy, "pod-strategy", string(peering.LocalAndRemote), "pod offloading strategy: LocalAndRemote, Local or Remote")
	offload.Flags().BoolVar(&offDryRun, "dry-run", false, "print the object instead of writing it")
	offload.Flags().StringVarP(&offOutput, "output", "o", "yaml", "with --dry-run: yaml or json")

	var unoffOpts liqoOptions
	unoffload := &cobra.Command{
		Use:   "unoffload CLUSTER NAMESPACE --cluster NAME=KUBECONFIG ...",
		Short: "Stop offloading a namespace (Liqo removes the remote namespaces and what runs in them)",
		Long:  "unoffload stops offloading a namespace of CLUSTER.\n" + liqoLong,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, _, err := unoffOpts.backend("unoffload", newClient)
			if err != nil {
				return err
			}
			ref := peering.NamespaceRef{Cluster: args[0], Namespace: args[1]}
			if err := b.Unoffload(cmd.Context(), ref); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "namespace %s unoffloaded: Liqo removes the remote namespaces and what runs in them\n", ref)
			return nil
		},
	}
	unoffOpts.addFlags(unoffload.Flags(), clusterUsage)

	var listOpts liqoOptions
	var consumer, provider string
	peerings := &cobra.Command{
		Use:   "peerings --cluster NAME=KUBECONFIG ...",
		Short: "List the Liqo peerings among the clusters given",
		Long:  "peerings lists the peerings among the clusters given and their state.\n" + liqoLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, _, err := listOpts.backend("peerings", newClient)
			if err != nil {
				return err
			}
			list, err := b.ListPeerings(cmd.Context(), peering.ListOptions{Consumer: consumer, Provider: provider})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CONSUMER\tPROVIDER\tPEERED\tSTATUS")
			for _, p := range list {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", p.Consumer, p.Provider, peering.IsPeered(p), peering.Summary(p))
			}
			return tw.Flush()
		},
	}
	listOpts.addFlags(peerings.Flags(), clusterUsage)
	peerings.Flags().StringVar(&consumer, "consumer", "", "only peerings of this consumer")
	peerings.Flags().StringVar(&provider, "provider", "", "only peerings of this provider")
	return []*cobra.Command{peer, unpeer, offload, unoffload, peerings}
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
