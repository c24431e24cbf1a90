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

// TestPureDependencies keeps the pure packages pure (DESIGN.md section 2): topology and
// placement may use from Kubernetes only k8s.io/apimachinery/pkg/api/resource (and what
// it pulls in) plus sigs.k8s.io/yaml, and never client-go, controller-runtime, Cluster
// API, Liqo, Prometheus or continuum's observe/act packages.
func TestPureDependencies(t *testing.T) {
	allowed := map[string]bool{}
	for _, d := range goListDeps(t, "k8s.io/apimachinery/pkg/api/resource", "sigs.k8s.io/yaml") {
		allowed[d] = true
	}
	forbidden := []string{
		"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "sigs.k8s.io/cluster-api",
		"github.com/liqotech/liqo", "github.com/prometheus/",
		"github.com/continuum-xr/continuum/peering", "github.com/continuum-xr/continuum/provision",
		"github.com/continuum-xr/continuum/metrics",
	}
	deps := goListDeps(t, "./topology/...", "./placement/...")
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
			t.Errorf("topology/placement depend on %s, which api/resource and sigs.k8s.io/yaml do not need", d)
		}
	}
	if !seen {
		t.Errorf("k8s.io/apimachinery/pkg/api/resource missing from the deps: is go list looking at the right packages?")
	}
}
