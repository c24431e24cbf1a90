package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

const provisionUsage = `usage: continuumctl provision VERB NAME [flags]
  create NAME      [-n ns] [--distribution kubeadm|k3s] [--version v1.33.1] [--control-planes 1]
                   [--workers N] [--pod-cidr CIDR]... [--service-cidr CIDR]... [--provider docker|openstack]
                   [--param key=value]... [--class CLUSTERCLASS] [--owner O] [--tier T] [--region R]
                   [--dry-run -o yaml|json]
  scale NAME       --workers N
  delete NAME      [--wait] [--timeout 30m]
  wait NAME        [--timeout 30m]     (prints progress until the cluster is Available)
  kubeconfig NAME  (prints the workload cluster's kubeconfig)
every verb: [-n namespace] [--kubeconfig management.kubeconfig] (else $KUBECONFIG)`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runProvision runs `continuumctl provision ...`; newClient builds the management
// cluster's client (tests inject one).
func runProvision(ctx context.Context, args []string, stdout, stderr io.Writer, newClient func(kubeconfig string) (client.WithWatch, error)) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, provisionUsage)
		return exitBadInput
	}
	verb, name := args[0], args[1]
	fs := flag.NewFlagSet("continuumctl provision "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("n", provision.DefaultNamespace, "namespace on the management cluster")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the management cluster")
	timeout := fs.Duration("timeout", 30*time.Minute, "wait at most this long")
	var spec provision.ClusterSpec
	var params, podCIDRs, serviceCIDRs multiFlag
	var dryRun, wait bool
	var output string
	var controlPlanes, workers int
	switch verb {
	case "create":
		fs.StringVar((*string)(&spec.Distribution), "distribution", string(provision.Kubeadm), "kubeadm or k3s")
		fs.StringVar(&spec.KubernetesVersion, "version", "v1.33.1", "Kubernetes version")
		fs.IntVar(&controlPlanes, "control-planes", 1, "control-plane machines (odd)")
		fs.IntVar(&workers, "workers", 1, "worker machines")
		fs.Var(&podCIDRs, "pod-cidr", "pod CIDR (repeat for dual stack); keep them disjoint across the continuum")
		fs.Var(&serviceCIDRs, "service-cidr", "service CIDR (repeat for dual stack)")
		fs.StringVar(&spec.Infrastructure.Provider, "provider", "docker", "infrastructure provider: docker or openstack")
		fs.Var(&params, "param", "provider parameter key=value (repeat), e.g. image=..., flavor=...")
		fs.StringVar(&spec.Infrastructure.ClusterClass, "class", "", "create from this ClusterClass (topology mode)")
		fs.StringVar(&spec.Labels.Owner, "owner", "", "owner label")
		fs.StringVar(&spec.Labels.Tier, "tier", "", "tier label")
		fs.StringVar(&spec.Labels.Region, "region", "", "region label")
		fs.BoolVar(&dryRun, "dry-run", false, "print the objects instead of creating them")
		fs.StringVar(&output, "o", "yaml", "with --dry-run: yaml or json")
	case "scale":
		fs.IntVar(&workers, "workers", -1, "worker machines")
	case "delete":
		fs.BoolVar(&wait, "wait", false, "wait until the cluster is gone")
	case "wait", "kubeconfig":
	default:
		fmt.Fprintln(stderr, provisionUsage)
		return exitBadInput
	}
	if err := fs.Parse(args[2:]); err != nil {
		return exitBadInput
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "continuumctl:", err)
		return exitBadInput
	}
	ref := provision.Ref{Namespace: *ns, Name: name}
	if verb == "create" {
		spec.Name, spec.Namespace = name, *ns
		spec.ControlPlaneReplicas, spec.Workers = int32(controlPlanes), int32(workers)
		spec.PodCIDRs, spec.ServiceCIDRs = podCIDRs, serviceCIDRs
		if len(params) > 0 {
			spec.Infrastructure.Parameters = map[string]string{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fail(fmt.Errorf("--param %q: want key=value", p))
				}
				spec.Infrastructure.Parameters[k] = v
			}
		}
		if dryRun {
			objs, err := capi.Render(spec, capi.DefaultProviders())
			if err != nil {
				return fail(err)
			}
			if err := writeObjects(stdout, objs, output); err != nil {
				return fail(err)
			}
			return exitPlaced
		}
	}
	if verb == "scale" && workers < 0 {
		return fail(errors.New("scale needs --workers N"))
	}
	c, err := newClient(*kubeconfig)
	if err != nil {
		return fail(err)
	}
	b, err := capi.New(c, capi.Options{})
	if err != nil {
		return fail(err)
	}
	waitOpts := provision.WaitOptions{Timeout: *timeout, Progress: func(p provision.Progress) {
		fmt.Fprintf(stdout, "%s/%s: %s\n", ref.Namespace, ref.Name, p.Message)
	}}
	switch verb {
	case "create":
		err = b.Create(ctx, spec)
		if err == nil {
			fmt.Fprintf(stdout, "cluster %s/%s created; `continuumctl provision wait %s -n %s` follows it\n", ref.Namespace, ref.Name, name, ref.Namespace)
		}
	case "scale":
		err = provision.Scale(ctx, b, ref, int32(workers))
	case "delete":
		if wait {
			err = provision.DeleteAndWait(ctx, b, ref, waitOpts)
		} else {
			err = b.Delete(ctx, ref)
		}
	case "wait":
		var cl *provision.Cluster
		if cl, err = provision.WaitReady(ctx, b, ref, waitOpts); err == nil {
			for _, e := range cl.Timeline.Events {
				fmt.Fprintf(stdout, "  %-24s %s\n", e.Milestone, e.After.Round(time.Second))
			}
		}
	case "kubeconfig":
		var cfg *rest.Config
		if cfg, err = provision.Kubeconfig(ctx, b, ref); err == nil {
			err = writeKubeconfig(stdout, name, cfg)
		}
	}
	if err != nil {
		return fail(err)
	}
	return exitPlaced
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
