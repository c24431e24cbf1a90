package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
)

const applyApp = `apiVersion: continuum.xr/v1alpha1
kind: Application
metadata: {name: shop, namespace: APPNS}
home: management
components:
  - {name: web, requests: {cpu: "1"}}
  - {name: render, replicas: 2, requests: {cpu: "1"}}
`

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func template(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "example.org/" + name}}},
			},
		},
	}
}

// TestApplyDryRunAndApplyOnRealAPIServers: apply --dry-run lists the Liqo steps of a
// plan spread over two clusters and writes nothing; a plan that keeps everything at
// home is carried out for real (instances created from the templates, replicas made
// ready by the test's stand-in for the controller manager), a second apply has nothing
// to do, and remove stops every instance.
func TestApplyDryRunAndApplyOnRealAPIServers(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	dir := t.TempDir()
	var flags []string
	for i, name := range []string{"management", "edge"} {
		cl := env.Cluster(name)
		seedLiqo(t, cl.Client, name+"-id", i+1)
		flags = append(flags, "--cluster", name+"="+writeFile(t, dir, name+".kubeconfig", string(cl.Kubeconfig)))
	}
	ns := "shop-apply"
	app := writeFile(t, dir, "app.yaml", strings.ReplaceAll(applyApp, "APPNS", ns))
	spread := writeFile(t, dir, "spread.json", `{"feasible": true, "assignments": [
		{"app": "shop", "component": "web", "replica": 0, "cluster": "management"},
		{"app": "shop", "component": "render", "replica": 0, "cluster": "edge"},
		{"app": "shop", "component": "render", "replica": 1, "cluster": "edge"}]}`)
	home := writeFile(t, dir, "home.json", `{"feasible": true, "assignments": [
		{"app": "shop", "component": "web", "replica": 0, "cluster": "management"},
		{"app": "shop", "component": "render", "replica": 0, "cluster": "management"},
		{"app": "shop", "component": "render", "replica": 1, "cluster": "management"}]}`)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append(args, flags...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run("apply", "-a", app, "-p", spread, "--dry-run")
	if code != exitPlaced {
		t.Fatalf("apply --dry-run: exit %d: %s", code, errOut)
	}
	want := []string{"namespace", "peer edge", "wait-peered edge", "offload to [edge]", "wait-offloaded [edge]",
		"start web on management: 0 -> 1 replicas", "start render on edge: 0 -> 2 replicas", "wait-ready web", "wait-ready render"}
	last := -1
	for _, w := range want {
		i := strings.Index(out, w)
		if i < 0 || i < last {
			t.Errorf("dry run lacks %q after the previous step, in order:\n%s", w, out)
			continue
		}
		last = i
	}
	mgmt := env.Cluster("management").Client
	if err := mgmt.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run created namespace %s (get: %v)", ns, err)
	}

	// The user's templates, then a plan that runs at home.
	if err := mgmt.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"web", "render"} {
		if err := mgmt.Create(ctx, template(ns, c)); err != nil {
			t.Fatal(err)
		}
	}
	stop := testenv.MarkWorkloadsReady(ctx, mgmt, testenv.ReadyOptions{Namespace: ns})
	defer stop()
	code, out, errOut = run("apply", "-a", app, "-p", home, "--poll", "50ms", "--timeout", "1m")
	if code != exitPlaced {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"- start render on management: 0 -> 2 replicas", "- wait-ready web", "2/2 replicas of render ready", "step(s) done"} {
		if !strings.Contains(out, w) {
			t.Errorf("apply output lacks %q:\n%s", w, out)
		}
	}
	var d appsv1.Deployment
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: ns, Name: "render-management"}, &d); err != nil {
		t.Fatalf("instance render-management: %v", err)
	}
	if got := ptr.Deref(d.Spec.Replicas, -1); got != 2 {
		t.Errorf("render-management replicas = %d, want 2", got)
	}
	if code, out, errOut = run("apply", "-a", app, "-p", home); code != exitPlaced || !strings.Contains(out, "nothing to do") {
		t.Errorf("second apply: exit %d, want nothing to do:\n%s%s", code, out, errOut)
	}
	if code, out, errOut = run("remove", "-a", app, "--dry-run"); code != exitPlaced || !strings.Contains(out, "stop render on management: 2 -> 0") {
		t.Errorf("remove --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = run("remove", "-a", app); code != exitPlaced {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errOut)
	}
	var list appsv1.DeploymentList
	if err := mgmt.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/managed-by": "continuum"}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("%d instances left after remove", len(list.Items))
	}
}

func TestApplyBadInput(t *testing.T) {
	dir := t.TempDir()
	app := writeFile(t, dir, "app.yaml", strings.ReplaceAll(applyApp, "APPNS", "x"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apply"}, "needs -a app.yaml"},
		{[]string{"apply", "-a", app}, "needs --cluster"},
		{[]string{"apply", "-a", app, "--cluster", "management=/nonexistent", "-o", "xml"}, `-o "xml"`},
		{[]string{"apply", "-a", app, "--cluster", "management=/nonexistent"}, "apply needs -p plan.json or -t topology.yaml"},
		{[]string{"apply", "-a", app, "--cluster", "management=/nonexistent", "-p", "a", "-t", "b"}, "not both"},
		{[]string{"apply", "-a", filepath.Join(dir, "missing.yaml"), "--cluster", "m=/x", "-p", "a"}, "missing.yaml"},
		{[]string{"apply", "-a", app, "--cluster", "management", "-p", writeFile(t, dir, "p.json", `{"feasible": true, "assignments": []}`)}, "want NAME=KUBECONFIG"},
		{[]string{"apply", "-a", app, "--cluster", "m=/x", "-p", writeFile(t, dir, "bad.json", `{"feasible": false}`)}, "not feasible"},
		{[]string{"apply", "-a", app, "--cluster", "m=/x", "--timeout", "0s", "-p", "x"}, "--timeout and --poll"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		if code != exitBadInput || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut.String(), exitBadInput, tc.want)
		}
	}
}
