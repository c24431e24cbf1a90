package continuum_test

import (
	"slices"
	"strings"
	"testing"
)

// TestTopLevelLayout keeps the module's top level to the layout of the design card:
// every Go package lives in the root (documentation only) or under one of placement,
// peering, provision, metrics, topology, examples and internal. The simulated continuum,
// for one, is placement/sim, the world the placement loop runs on.
func TestTopLevelLayout(t *testing.T) {
	const module = "github.com/continuum-xr/continuum"
	allowed := []string{"placement", "peering", "provision", "metrics", "topology", "examples", "internal"}
	pkgs := goListPackages(t, "./...")
	if len(pkgs) < 10 {
		t.Fatalf("only %d packages listed (%v): is go list looking at the module?", len(pkgs), pkgs)
	}
	for _, p := range pkgs {
		if p == module {
			continue
		}
		rest, ok := strings.CutPrefix(p, module+"/")
		if !ok {
			t.Errorf("package %s is outside the module %s", p, module)
			continue
		}
		if top, _, _ := strings.Cut(rest, "/"); !slices.Contains(allowed, top) {
			t.Errorf("package %s sits in top-level folder %q; the design card allows only the root and %v", p, top, allowed)
		}
	}
}
