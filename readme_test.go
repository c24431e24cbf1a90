package continuum_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeImports are the packages README snippets may use, by the name they use.
var readmeImports = map[string]string{
	"context":     "context",
	"errors":      "errors",
	"fmt":         "fmt",
	"topology":    "github.com/continuum-xr/continuum/topology",
	"placement":   "github.com/continuum-xr/continuum/placement",
	"act":         "github.com/continuum-xr/continuum/placement/act",
	"loop":        "github.com/continuum-xr/continuum/placement/loop",
	"sim":         "github.com/continuum-xr/continuum/placement/sim",
	"metrics":     "github.com/continuum-xr/continuum/metrics",
	"liqo":        "github.com/continuum-xr/continuum/peering/liqo",
	"capi":        "github.com/continuum-xr/continuum/provision/capi",
	"provision":   "github.com/continuum-xr/continuum/provision",
	"client":      "sigs.k8s.io/controller-runtime/pkg/client",
	"manager":     "sigs.k8s.io/controller-runtime/pkg/manager",
	"ctrlmetrics": "sigs.k8s.io/controller-runtime/pkg/metrics",
}

// readmeGoBlocks returns the README's ```go blocks, in order.
func readmeGoBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?ms)^```go\n(.*?)^```").FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// readmeSource turns the README's Go snippets into one Go file: a snippet that
// declares something (func, type, var, const) stays at the top level; the others are
// the statements of one function, in order, as a reader runs them one after the
// other (a later snippet uses what an earlier one declared), with ctx in scope.
func readmeSource(blocks []string) string {
	var decls, stmts []string
	for _, b := range blocks {
		if regexp.MustCompile(`^(//.*\n)*(func|type|var|const) `).MatchString(b) {
			decls = append(decls, b)
		} else {
			stmts = append(stmts, b)
		}
	}
	body := strings.Join(decls, "\n") + "\n// tour is the statement snippets in order.\nfunc tour(ctx context.Context) error {\n" +
		strings.Join(stmts, "\n") + "\nreturn nil\n}\n"
	var imports []string
	for name, path := range readmeImports {
		if name == "context" || regexp.MustCompile(`\b`+name+`\.`).MatchString(body) {
			imports = append(imports, fmt.Sprintf("%s %q", name, path))
		}
	}
	slices.Sort(imports)
	return "package readme\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n" + body
}

// TestReadmeGoSnippetsCompile: every ```go block of the README compiles as written
// (go vet: types, unused variables, vet's checks), with no declaration added but
// ctx and the imports.
func TestReadmeGoSnippetsCompile(t *testing.T) {
	blocks := readmeGoBlocks(t)
	if len(blocks) < 3 {
		t.Fatalf("found %d Go blocks in README.md: is the extraction right?", len(blocks))
	}
	dir, err := os.MkdirTemp("internal", "readme-snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src := readmeSource(blocks)
	if err := os.WriteFile(filepath.Join(dir, "readme.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "vet", "./"+filepath.ToSlash(dir)).CombinedOutput()
	if err != nil {
		var numbered strings.Builder
		for i, l := range strings.Split(src, "\n") {
			fmt.Fprintf(&numbered, "%4d  %s\n", i+1, l)
		}
		t.Errorf("README.md's Go snippets do not compile: %v\n%s\nthe file, from the README's blocks:\n%s", err, out, numbered.String())
	}
}

// TestReadmeSnippetCheckCatchesErrors: the check above fails on a snippet with an
// unused variable and on one whose variable's type is never given.
func TestReadmeSnippetCheckCatchesErrors(t *testing.T) {
	for _, bad := range []string{
		"rtt := 3\n",                         // declared and not used
		"fmt.Println(homeClient.Scheme())\n", // undefined: its type is never given
	} {
		dir, err := os.MkdirTemp("internal", "readme-snippets-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "readme.go"), []byte(readmeSource([]string{bad})), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("go", "vet", "./"+filepath.ToSlash(dir)).CombinedOutput(); err == nil {
			t.Errorf("snippet %q compiled: the README check would let it through\n%s", bad, out)
		}
	}
}
