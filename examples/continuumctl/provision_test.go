package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
)

// env is two real apiservers ("management" and "edge") with the Cluster API, provider
// and Liqo CRDs, started once for the package; the plan tests do not need them.
var env *testenv.Env

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{Clusters: []string{"management", "edge"}, CRDs: testenv.AllCRDs})
		if err != nil {
			return nil, err
		}
		env = e
		return e.Stop, nil
	})
}

// TestProvisionDryRunAppliesToRealCRDs: what `provision create --dry-run -o yaml`
// prints is accepted as is by a real apiserver with the real CRDs.
func TestProvisionDryRunAppliesToRealCRDs(t *testing.T) {
	testenv.Require(t)
	c := env.Clusters[0].Client
	for _, args := range [][]string{
		{"create", "gva-edge", "--distribution", "k3s", "--workers", "2", "--owner", "operator-b", "--tier", "edge", "--pod-cidr", "10.42.0.0/16", "--service-cidr", "10.43.0.0/16"},
		{"create", "fra-cloud", "--control-planes", "3", "--workers", "25", "--provider", "openstack",
			"--param", "image=ubuntu-2404-kube-v1.33.1", "--param", "flavor=m1.large", "--param", "externalNetworkID=8e6d1b1c-0000-4000-8000-000000000001"},
		{"create", "mil-edge", "--class", "quick-start", "--workers", "3"},
	} {
		var out, errOut bytes.Buffer
		if code := execute(context.Background(), append(append([]string{"provision"}, args...), "--dry-run", "-o", "yaml"), &out, &errOut, clients{}); code != exitPlaced {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		n := createAll(t, c, out.String(), fmt.Sprint(args))
		if n == 0 {
			t.Errorf("%v: no objects printed", args)
		}
	}
}

// TestProvisionLifecycle drives create, scale, kubeconfig and delete through the CLI
// against the real apiserver, with a kubeconfig file as a user would.
func TestProvisionLifecycle(t *testing.T) {
	testenv.Require(t)
	kc := filepath.Join(t.TempDir(), "mgmt.kubeconfig")
	if err := os.WriteFile(kc, env.Clusters[0].Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := execute(context.Background(), append(append([]string{"provision"}, args...), "--kubeconfig", kc), &out, &errOut, clients{management: managementClient})
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := run("create", "lab", "--workers", "1"); code != exitPlaced || !strings.Contains(out, "cluster default/lab created") {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run("create", "lab", "--workers", "1"); code != exitBadInput || !strings.Contains(errOut, "already exists") {
		t.Errorf("second create: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run("scale", "lab", "--workers", "3"); code != exitPlaced {
		t.Fatalf("scale: exit %d, %s", code, errOut)
	}
	var md unstructured.Unstructured
	md.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	md.SetKind("MachineDeployment")
	if err := env.Clusters[0].Client.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "lab-md-0"}, &md); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(md.Object, "spec", "replicas"); r != 3 {
		t.Errorf("MachineDeployment replicas = %d after scale, want 3", r)
	}
	if code, _, errOut := run("kubeconfig", "lab"); code != exitBadInput || !strings.Contains(errOut, "lab-kubeconfig") {
		t.Errorf("kubeconfig before the cluster is up: exit %d, %s; want a clear error naming the Secret", code, errOut)
	}
	if code, _, errOut := run("delete", "lab"); code != exitPlaced {
		t.Errorf("delete: exit %d, %s", code, errOut)
	}
}

func TestProvisionBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"create", "Bad_Name", "--dry-run"},
		{"create", "x", "--control-planes", "2", "--dry-run"},
		{"create", "x", "--param", "novalue", "--dry-run"},
		{"create", "x", "--provider", "vsphere", "--dry-run"},
		{"scale", "x"},
		{"explode", "x"},
		{"create"},
	} {
		var out, errOut bytes.Buffer
		if code := execute(context.Background(), append([]string{"provision"}, args...), &out, &errOut, clients{management: func(string) (client.WithWatch, error) {
			return nil, errors.New("no management cluster in this test")
		}}); code != exitBadInput || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d with a message", args, code, errOut.String(), exitBadInput)
		}
	}
	var errOut bytes.Buffer
	execute(context.Background(), []string{"provision", "create", "x", "--control-planes", "2", "--dry-run"}, io.Discard, &errOut, clients{})
	if !strings.Contains(errOut.String(), "controlPlaneReplicas") {
		t.Errorf("even control planes: %q, want the field named", errOut.String())
	}
}

// createAll creates every object of a YAML stream on c (what a user's kubectl create
// -f would do) and returns how many there were; a refused object fails the test.
func createAll(t *testing.T, c client.Client, stream, what string) int {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	n := 0
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			t.Fatalf("%s: output is not a YAML stream: %v", what, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := c.Create(t.Context(), &u); err != nil {
			t.Errorf("%s: the apiserver refused %s %s: %v", what, u.GetKind(), u.GetName(), err)
		}
		n++
	}
}
