package continuum_test

import (
	"os/exec"
	"strings"
	"testing"
)

func goListDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %v: %v\n%s", pkgs, err, out)
	}
	return strings.Fields(string(out))
}

func goListPackages(t *testing.T, patterns ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, patterns...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, out)
	}
	return strings.Fields(string(out))
}

// impure reports whether a package under placement carries decisions out.
func impure(pkg string) bool {
	for _, p := range []string{"/placement/act", "/placement/loop", "/placement/sim", "/placement/ocm"} {
		if strings.Contains(pkg+"/", "github.com/continuum-xr/continuum"+p+"/") {
			return true
		}
	}
	return false
}

// TestPureDependencies keeps the pure packages pure (DESIGN.md section 2): topology and
// placement may use from Kubernetes only k8s.io/apimachinery/pkg/api/resource and
// pkg/labels (label selectors and label syntax; and what they pull in) plus
// sigs.k8s.io/yaml, and never client-go, controller-runtime, Cluster
// API, Liqo, Prometheus or continuum's observe/act packages. The sub-packages that carry
// decisions out (placement/act, placement/loop, the simulated world placement/sim, the
// OCM bridge placement/ocm and
// theirs) are not pure by design.
func TestPureDependencies(t *testing.T) {
	allowed := map[string]bool{}
	for _, d := range goListDeps(t, "k8s.io/apimachinery/pkg/api/resource", "k8s.io/apimachinery/pkg/labels", "sigs.k8s.io/yaml") {
		allowed[d] = true
	}
	forbidden := []string{
		"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "sigs.k8s.io/cluster-api",
		"github.com/liqotech/liqo", "github.com/prometheus/",
		"github.com/continuum-xr/continuum/peering", "github.com/continuum-xr/continuum/provision",
		"github.com/continuum-xr/continuum/metrics",
	}
	var pure []string
	for _, p := range goListPackages(t, "./topology/...", "./placement/...") {
		if !impure(p) {
			pure = append(pure, p)
		}
	}
	if len(pure) < 4 {
		t.Fatalf("only %d pure packages found (%v): is go list looking at the right packages?", len(pure), pure)
	}
	deps := goListDeps(t, pure...)
	seen := false
	for _, d := range deps {
		if d == "k8s.io/apimachinery/pkg/api/resource" {
			seen = true
		}
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("topology/placement depend on %s (forbidden: %s)", d, f)
			}
		}
		if (strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/")) && !allowed[d] {
			t.Errorf("topology/placement depend on %s, which api/resource, pkg/labels and sigs.k8s.io/yaml do not need", d)
		}
	}
	if !seen {
		t.Errorf("k8s.io/apimachinery/pkg/api/resource missing from the deps: is go list looking at the right packages?")
	}
}
