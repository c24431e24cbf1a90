package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// newProvisionCmd returns `continuumctl provision` and its verbs; newClient builds
// the management cluster's client, only when a verb needs it (never for help or a dry
// run).
func newProvisionCmd(newClient func(kubeconfig string) (client.WithWatch, error)) *cobra.Command {
	var ns, kubeconfig string
	cmd := &cobra.Command{
		Use:   "provision VERB NAME",
		Short: "Create, scale, wait for and delete workload clusters through Cluster API",
		Long: `provision drives Cluster API on a management cluster (--kubeconfig, else
$KUBECONFIG): create, scale, wait for and delete kubeadm or k3s workload clusters, and
print a workload cluster's kubeconfig. 'provision create NAME --dry-run -o yaml' prints
the objects without any cluster, like 'clusterctl generate cluster'.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.PersistentFlags().StringVarP(&ns, "namespace", "n", provision.DefaultNamespace, "namespace on the management cluster")
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the management cluster")
	// backend connects to the management cluster.
	backend := func() (*capi.Backend, error) {
		c, err := newClient(kubeconfig)
		if err != nil {
			return nil, err
		}
		return capi.New(c, capi.Options{})
	}
	waitOpts := func(w io.Writer, ref provision.Ref, timeout time.Duration) provision.WaitOptions {
		return provision.WaitOptions{Timeout: timeout, Progress: func(p provision.Progress) {
			fmt.Fprintf(w, "%s/%s: %s\n", ref.Namespace, ref.Name, p.Message)
		}}
	}

	var spec provision.ClusterSpec
	var params []string
	var dryRun bool
	var output string
	var controlPlanes, workers int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a workload cluster (or print its objects with --dry-run)",
		Example: `  continuumctl provision create gva-edge --distribution k3s --workers 2 --owner operator-b --tier edge
  continuumctl provision create fra-cloud --provider openstack --param image=... --param flavor=m1.large
  continuumctl provision create lab --dry-run -o yaml | kubectl apply -f -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Name, spec.Namespace = args[0], ns
			spec.ControlPlaneReplicas, spec.Workers = int32(controlPlanes), int32(workers)
			if len(params) > 0 {
				spec.Infrastructure.Parameters = map[string]string{}
				for _, p := range params {
					k, v, ok := strings.Cut(p, "=")
					if !ok || k == "" {
						return fmt.Errorf("--param %q: want key=value", p)
					}
					spec.Infrastructure.Parameters[k] = v
				}
			}
			if dryRun {
				objs, err := capi.Render(spec, capi.DefaultProviders())
				if err != nil {
					return err
				}
				return writeObjects(cmd.OutOrStdout(), objs, output)
			}
			b, err := backend()
			if err != nil {
				return err
			}
			if err := b.Create(cmd.Context(), spec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %s/%s created; `continuumctl provision wait %s -n %s` follows it\n", ns, spec.Name, spec.Name, ns)
			return nil
		},
	}
	fs := create.Flags()
	fs.StringVar((*string)(&spec.Distribution), "distribution", string(provision.Kubeadm), "kubeadm or k3s")
	fs.StringVar(&spec.KubernetesVersion, "version", "v1.33.1", "Kubernetes version")
	fs.IntVar(&controlPlanes, "control-planes", 1, "control-plane machines (odd)")
	fs.IntVar(&workers, "workers", 1, "worker machines")
	fs.StringArrayVar(&spec.PodCIDRs, "pod-cidr", nil, "pod CIDR (repeat for dual stack); keep them disjoint across the continuum")
	fs.StringArrayVar(&spec.ServiceCIDRs, "service-cidr", nil, "service CIDR (repeat for dual stack)")
	fs.StringVar(&spec.Infrastructure.Provider, "provider", "docker", "infrastructure provider: docker or openstack")
	fs.StringArrayVar(&params, "param", nil, "provider parameter key=value (repeat), e.g. image=..., flavor=...")
	fs.StringVar(&spec.Infrastructure.ClusterClass, "class", "", "create from this ClusterClass (topology mode)")
	fs.StringVar(&spec.Labels.Owner, "owner", "", "owner label")
	fs.StringVar(&spec.Labels.Tier, "tier", "", "tier label")
	fs.StringVar(&spec.Labels.Region, "region", "", "region label")
	fs.BoolVar(&dryRun, "dry-run", false, "print the objects instead of creating them")
	fs.StringVarP(&output, "output", "o", "yaml", "with --dry-run: yaml or json")

	var scaleWorkers int
	scale := &cobra.Command{
		Use:   "scale NAME --workers N",
		Short: "Set a workload cluster's worker count",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if scaleWorkers < 0 {
				return errors.New("scale needs --workers N")
			}
			b, err := backend()
			if err != nil {
				return err
			}
			return provision.Scale(cmd.Context(), b, provision.Ref{Namespace: ns, Name: args[0]}, int32(scaleWorkers))
		},
	}
	scale.Flags().IntVar(&scaleWorkers, "workers", -1, "worker machines")

	var wait bool
	var deleteTimeout, waitTimeout time.Duration
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a workload cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backend()
			if err != nil {
				return err
			}
			ref := provision.Ref{Namespace: ns, Name: args[0]}
			if wait {
				return provision.DeleteAndWait(cmd.Context(), b, ref, waitOpts(cmd.OutOrStdout(), ref, deleteTimeout))
			}
			return b.Delete(cmd.Context(), ref)
		},
	}
	del.Flags().BoolVar(&wait, "wait", false, "wait until the cluster is gone")
	del.Flags().DurationVar(&deleteTimeout, "timeout", 30*time.Minute, "with --wait: wait at most this long")

	waitCmd := &cobra.Command{
		Use:   "wait NAME",
		Short: "Print progress until a workload cluster is Available, then its phase timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backend()
			if err != nil {
				return err
			}
			ref := provision.Ref{Namespace: ns, Name: args[0]}
			cl, err := provision.WaitReady(cmd.Context(), b, ref, waitOpts(cmd.OutOrStdout(), ref, waitTimeout))
			if err != nil {
				return err
			}
			for _, e := range cl.Timeline.Events {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-24s %s\n", e.Milestone, e.After.Round(time.Second))
			}
			return nil
		},
	}
	waitCmd.Flags().DurationVar(&waitTimeout, "timeout", 30*time.Minute, "wait at most this long")

	kc := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Print a workload cluster's kubeconfig",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backend()
			if err != nil {
				return err
			}
			cfg, err := provision.Kubeconfig(cmd.Context(), b, provision.Ref{Namespace: ns, Name: args[0]})
			if err != nil {
				return err
			}
			return writeKubeconfig(cmd.OutOrStdout(), args[0], cfg)
		},
	}
	cmd.AddCommand(create, scale, del, waitCmd, kc)
	return cmd
}

// writeObjects prints objects as a YAML stream (or a JSON list), like
// `clusterctl generate cluster`.
func writeObjects(w io.Writer, objs []runtime.Object, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(objs)
	case "yaml":
		for i, o := range objs {
			y, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(w, "---")
			}
			if _, err := w.Write(y); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("-o %q: want yaml or json", format)
}

// writeKubeconfig prints cfg as a kubeconfig file: the user asked for it, so the
// credentials go to stdout, never to logs.
func writeKubeconfig(w io.Writer, name string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData, InsecureSkipTLSVerify: cfg.Insecure}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
		Username: cfg.Username, Password: cfg.Password}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	out, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// managementClient builds a watching client of the management cluster from a
// kubeconfig file with the CAPI and core types.
func managementClient(kubeconfig string) (client.WithWatch, error) {
	if kubeconfig == "" {
		return nil, errors.New("no management cluster: pass --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	scheme, err := capi.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}
