package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ipamv1alpha1 "github.com/liqotech/liqo/apis/ipam/v1alpha1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
)

// seedLiqo writes what Liqo's installation and IPAM provide on a cluster (this test
// plays that part of Liqo): the cluster-ID ConfigMap and the pod/external CIDRs.
func seedLiqo(t *testing.T, c client.Client, id string, n int) {
	t.Helper()
	ctx := t.Context()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "liqo"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "liqo-clusterid-configmap", Namespace: "liqo",
		Labels: map[string]string{"app.kubernetes.io/name": "clusterid-configmap"}}, Data: map[string]string{"CLUSTER_ID": id}}
	if err := c.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for j, kind := range []string{"pod-cidr", "external-cidr"} {
		cidr := networkingv1beta1.CIDR("10." + string(rune('0'+n)) + string(rune('0'+j)) + ".0.0/16")
		nw := &ipamv1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Name: kind, Namespace: "liqo",
			Labels: map[string]string{"ipam.liqo.io/network-type": kind}}, Spec: ipamv1alpha1.NetworkSpec{CIDR: cidr}}
		if err := c.Create(ctx, nw); apierrors.IsAlreadyExists(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		nw.Status.CIDR = cidr
		if err := c.Status().Update(ctx, nw); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPeerDryRunAppliesToRealCRDs: `peer --dry-run -o yaml` prints each side's
// objects, they are accepted by real apiservers with the Liqo CRDs, `peerings` then
// lists the peering, and `unpeer` removes it.
func TestPeerDryRunAppliesToRealCRDs(t *testing.T) {
	testenv.Require(t)
	dir := t.TempDir()
	flags := []string{}
	for i, name := range []string{"management", "edge"} {
		cl := env.Cluster(name)
		seedLiqo(t, cl.Client, name+"-id", i+1)
		kc := filepath.Join(dir, name+".kubeconfig")
		if err := os.WriteFile(kc, cl.Kubeconfig, 0o600); err != nil {
			t.Fatal(err)
		}
		flags = append(flags, "--cluster", name+"="+kc)
	}
	run := func(verb string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(append([]string{verb}, args...), flags...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("peer", "management", "edge", "--cpu", "4", "--memory", "8Gi", "--dry-run", "-o", "yaml")
	if code != exitPlaced {
		t.Fatalf("peer --dry-run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# provider edge", "# consumer management", "kind: GatewayServer", "serviceType: NodePort",
		"authzPolicy: TolerateNoHandshake", "kind: ResourceSlice", "name: edge-id"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q", want)
		}
	}
	// Apply each side's objects to its cluster: the real CRDs must accept them.
	sides := strings.SplitN(out, "\n---\n# consumer management", 2)
	if len(sides) != 2 {
		t.Fatalf("no consumer section in:\n%s", out)
	}
	_, sides[1], _ = strings.Cut(sides[1], "\n") // the rest of the comment line
	for i, side := range sides {
		name := []string{"edge", "management"}[i]
		if n := createAll(t, env.Cluster(name).Client, side, "dry-run for "+name); n == 0 {
			t.Errorf("no objects for %s", name)
		}
	}
	if code, out, errOut := run("peerings"); code != exitPlaced || !strings.Contains(out, "management  edge      false") {
		t.Errorf("peerings: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run("unpeer", "management", "edge"); code != exitPlaced || !strings.Contains(out, "removed") {
		t.Errorf("unpeer: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run("peerings"); code != exitPlaced || strings.Contains(out, "edge") {
		t.Errorf("peerings after unpeer:\n%s", out)
	}
}

func TestPeeringBadInput(t *testing.T) {
	never := func(string) (client.WithWatch, string, []byte, error) { return nil, "", nil, errors.New("unreachable") }
	for _, args := range [][]string{
		{"peer", "a"},
		{"peer", "a", "b"},
		{"peer", "a", "b", "--cluster", "novalue"},
		{"offload", "a", "ns", "--cluster", "a=x"},
	} {
		var errOut bytes.Buffer
		if code := execute(context.Background(), args, io.Discard, &errOut, clients{liqo: never}); code != exitBadInput || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
