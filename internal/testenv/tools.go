package testenv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ErrBinariesMissing reports that a test binary (kube-apiserver, etcd, prometheus,
// promtool, kube-controller-manager, kube-scheduler, kwok or a Liqo binary) has not
// been built into the tool cache. Errors returned by [Binary],
// [Start] and [StartPrometheus] wrap it; `make tools` fixes it.
var ErrBinariesMissing = errors.New("test binaries missing; run `make tools`")

// EnvToolsDir is the environment variable that overrides the tool cache root.
const EnvToolsDir = "CONTINUUM_TOOLS_DIR"

// CompleteMarker is the file the builder writes last into a tool folder. A folder
// without it (an interrupted build) is treated as missing.
const CompleteMarker = ".complete"

// Tool is one pinned tool module under internal/tools and the binaries built from it.
type Tool struct {
	// Name is the tool name: kube-apiserver, etcd, prometheus, kwok or liqo.
	Name string
	// Version is the pinned version read from the tool module's go.mod, e.g. v1.37.2.
	Version string
	// ModuleDir is the absolute path of the tool module (internal/tools/<name>).
	ModuleDir string
	// Dir is the cache folder the binaries live in:
	// <root>/<name>-<version>-<hash12>, see [ToolDir].
	Dir string
	// Binaries lists the binaries built from the module.
	Binaries []ToolBinary
}

// ToolBinary is one binary of a [Tool].
type ToolBinary struct {
	// Name is the file name of the binary in the tool folder, e.g. promtool.
	Name string
	// Package is the main package it is built from.
	Package string
}

// Missing returns the files (binaries, then the [CompleteMarker]) absent from the
// tool's folder. An empty result means the tool is ready to use.
func (t Tool) Missing() []string {
	var missing []string
	for _, b := range t.Binaries {
		if !isExecutable(filepath.Join(t.Dir, b.Name)) {
			missing = append(missing, b.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(t.Dir, CompleteMarker)); err != nil {
		missing = append(missing, CompleteMarker)
	}
	return missing
}

// toolSpec is the static description of a tool module.
type toolSpec struct {
	name     string
	pin      string // module whose require line gives the version
	binaries []ToolBinary
}

var toolSpecs = []toolSpec{
	{
		name: "kube-apiserver",
		pin:  "k8s.io/kubernetes",
		binaries: []ToolBinary{
			{Name: "kube-apiserver", Package: "k8s.io/kubernetes/cmd/kube-apiserver"},
			{Name: "kube-controller-manager", Package: "k8s.io/kubernetes/cmd/kube-controller-manager"},
			{Name: "kube-scheduler", Package: "k8s.io/kubernetes/cmd/kube-scheduler"},
		},
	},
	{
		name: "etcd",
		pin:  "go.etcd.io/etcd/server/v3",
		binaries: []ToolBinary{
			{Name: "etcd", Package: "go.etcd.io/etcd/server/v3"},
		},
	},
	{
		name: "prometheus",
		pin:  "github.com/prometheus/prometheus",
		binaries: []ToolBinary{
			{Name: "prometheus", Package: "github.com/prometheus/prometheus/cmd/prometheus"},
			{Name: "promtool", Package: "github.com/prometheus/prometheus/cmd/promtool"},
		},
	},
	{
		name: "kwok",
		pin:  "sigs.k8s.io/kwok",
		binaries: []ToolBinary{
			{Name: "kwok", Package: "sigs.k8s.io/kwok/cmd/kwok"},
		},
	},
	{
		name: "liqo",
		pin:  "github.com/liqotech/liqo",
		binaries: []ToolBinary{
			{Name: "liqo-controller-manager", Package: "github.com/liqotech/liqo/cmd/liqo-controller-manager"},
			{Name: "crd-replicator", Package: "github.com/liqotech/liqo/cmd/crd-replicator"},
			{Name: "liqo-webhook", Package: "github.com/liqotech/liqo/cmd/webhook"},
			{Name: "virtual-kubelet", Package: "github.com/liqotech/liqo/cmd/virtual-kubelet"},
		},
	},
}

// ToolNames returns the names of the tools, in build order.
func ToolNames() []string {
	names := make([]string, len(toolSpecs))
	for i, s := range toolSpecs {
		names[i] = s.name
	}
	return names
}

// CacheRoot returns the root of the tool cache: $CONTINUUM_TOOLS_DIR if set, else
// os.UserCacheDir()/continuum/tools. It does not create the folder.
func CacheRoot() (string, error) {
	if dir := os.Getenv(EnvToolsDir); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("testenv: %s=%q: %w", EnvToolsDir, dir, err)
		}
		return abs, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testenv: no user cache folder (set %s): %w", EnvToolsDir, err)
	}
	return filepath.Join(cache, "continuum", "tools"), nil
}

// RepoRoot returns the root folder of the continuum source tree (the folder holding
// the main go.mod). It is found from this source file's location, which works under
// `go test` and `go run`; builds with -trimpath fall back to searching upwards from
// the working directory.
func RepoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if isRepoRoot(root) {
			return root, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: finding the repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRepoRoot(dir) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("testenv: no %s go.mod above %s", modulePath, wd)
		}
	}
}

const modulePath = "github.com/continuum-xr/continuum"

func isRepoRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	return moduleLine(data) == modulePath
}

// moduleLine returns the module path declared in a go.mod file.
func moduleLine(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(stripComment(sc.Text()))
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// Tools returns every tool with its pinned version, module folder and cache folder.
func Tools() ([]Tool, error) {
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	root, err := CacheRoot()
	if err != nil {
		return nil, err
	}
	tools := make([]Tool, 0, len(toolSpecs))
	for _, s := range toolSpecs {
		t, err := loadTool(s, repo, root)
		if err != nil {
			return nil, err
		}
		tools = append(tools, t)
	}
	return tools, nil
}

func loadTool(s toolSpec, repo, root string) (Tool, error) {
	modDir := filepath.Join(repo, "internal", "tools", s.name)
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return Tool{}, fmt.Errorf("testenv: reading the %s tool module: %w", s.name, err)
	}
	gosum, err := os.ReadFile(filepath.Join(modDir, "go.sum"))
	if err != nil {
		return Tool{}, fmt.Errorf("testenv: reading the %s tool module: %w", s.name, err)
	}
	name, version, err := toolDirName(s.name, s.pin, gomod, gosum, runtime.Version())
	if err != nil {
		return Tool{}, err
	}
	return Tool{
		Name:      s.name,
		Version:   version,
		ModuleDir: modDir,
		Dir:       filepath.Join(root, name),
		Binaries:  slices.Clone(s.binaries),
	}, nil
}

// toolDirName returns the cache folder name <tool>-<version>-<hash12> and the version.
// hash12 is the first 12 hex digits of sha256(go.mod + go.sum + goVersion), so the
// folder changes whenever the pins, any dependency or the Go toolchain change.
func toolDirName(tool, pin string, gomod, gosum []byte, goVersion string) (name, version string, err error) {
	version, err = requiredVersion(gomod, pin)
	if err != nil {
		return "", "", fmt.Errorf("testenv: %s tool module: %w", tool, err)
	}
	h := sha256.New()
	h.Write(gomod)
	h.Write(gosum)
	h.Write([]byte(goVersion))
	return tool + "-" + version + "-" + hex.EncodeToString(h.Sum(nil))[:12], version, nil
}

// requiredVersion returns the version of module in the require directives of a go.mod.
func requiredVersion(gomod []byte, module string) (string, error) {
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(stripComment(sc.Text()))
		switch {
		case len(f) == 0:
			continue
		case inBlock && f[0] == ")":
			inBlock = false
			continue
		case f[0] == "require" && len(f) == 2 && f[1] == "(":
			inBlock = true
			continue
		case f[0] == "require" && len(f) == 3:
			f = f[1:]
		case !inBlock:
			continue
		}
		if len(f) == 2 && strings.Trim(f[0], `"`) == module {
			return strings.Trim(f[1], `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	return "", fmt.Errorf("go.mod does not require %s", module)
}

func stripComment(line string) string {
	if i := strings.Index(line, "//"); i >= 0 {
		return line[:i]
	}
	return line
}

// ToolDir returns the cache folder of a tool (kube-apiserver, etcd, prometheus, kwok
// or liqo):
// <root>/<tool>-<version>-<hash12>, where root is [CacheRoot], version is the pinned
// version in internal/tools/<tool>/go.mod and hash12 the first 12 hex digits of
// sha256(go.mod + go.sum + runtime.Version()). The folder may not exist yet.
func ToolDir(tool string) (string, error) {
	t, err := lookupTool(tool)
	if err != nil {
		return "", err
	}
	return t.Dir, nil
}

func lookupTool(tool string) (Tool, error) {
	i := slices.IndexFunc(toolSpecs, func(s toolSpec) bool { return s.name == tool })
	if i < 0 {
		return Tool{}, fmt.Errorf("testenv: unknown tool %q (want one of %s)", tool, strings.Join(ToolNames(), ", "))
	}
	repo, err := RepoRoot()
	if err != nil {
		return Tool{}, err
	}
	root, err := CacheRoot()
	if err != nil {
		return Tool{}, err
	}
	return loadTool(toolSpecs[i], repo, root)
}

// Binary returns the path of a built test binary: kube-apiserver,
// kube-controller-manager, kube-scheduler, etcd, prometheus, promtool, kwok,
// liqo-controller-manager, crd-replicator, liqo-webhook or virtual-kubelet. When the binary or its folder's [CompleteMarker] is absent the error
// wraps [ErrBinariesMissing] and names `make tools`.
func Binary(name string) (string, error) {
	for _, s := range toolSpecs {
		for _, b := range s.binaries {
			if b.Name != name {
				continue
			}
			t, err := lookupTool(s.name)
			if err != nil {
				return "", err
			}
			path := filepath.Join(t.Dir, name)
			if missing := t.Missing(); len(missing) > 0 {
				return "", fmt.Errorf("testenv: %s %s not built (no %s in %s): %w",
					t.Name, t.Version, strings.Join(missing, ", "), t.Dir, ErrBinariesMissing)
			}
			return path, nil
		}
	}
	return "", fmt.Errorf("testenv: unknown binary %q (want one of %s)", name, strings.Join(binaryNames(), ", "))
}

// binaryNames returns the names of every binary of every tool.
func binaryNames() []string {
	var names []string
	for _, s := range toolSpecs {
		for _, b := range s.binaries {
			names = append(names, b.Name)
		}
	}
	return names
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
