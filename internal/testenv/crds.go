package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// CRDSet selects which real CustomResourceDefinitions [Start] installs. Values are
// bit flags and can be combined with |.
type CRDSet uint

const (
	// CAPICRDs are the Cluster API CRDs: core (Cluster, Machine, MachineDeployment,
	// ClusterClass, ClusterResourceSet, IPAM, ...), kubeadm bootstrap and kubeadm
	// control plane, from the sigs.k8s.io/cluster-api module.
	CAPICRDs CRDSet = 1 << iota
	// LiqoCRDs are all Liqo CRDs (authentication, core, ipam, networking,
	// offloading) from the github.com/liqotech/liqo module.
	LiqoCRDs
	// ProviderCRDs are the Cluster API provider CRDs continuum renders objects for:
	// the k3s control plane and bootstrap (github.com/k3s-io/cluster-api-k3s), Docker
	// (CAPD, from sigs.k8s.io/cluster-api/test) and OpenStack (CAPO) clusters and
	// machine templates. They go with CAPICRDs.
	ProviderCRDs

	// AllCRDs selects every CRD set.
	AllCRDs = CAPICRDs | LiqoCRDs | ProviderCRDs
)

// Provider modules and versions for ProviderCRDs.
const (
	K3sModule        = "github.com/k3s-io/cluster-api-k3s"
	K3sVersion       = "v0.3.1"
	CAPDModule       = "sigs.k8s.io/cluster-api/test"
	OpenStackModule  = "sigs.k8s.io/cluster-api-provider-openstack"
	OpenStackVersion = "v0.14.7"
)

// Module versions the CRDs are read from. They match the API types the SDK compiles
// against (sigs.k8s.io/cluster-api/api and github.com/liqotech/liqo in go.mod).
const (
	CAPIModule    = "sigs.k8s.io/cluster-api"
	CAPIVersion   = "v1.14.2"
	LiqoModule    = "github.com/liqotech/liqo"
	LiqoVersion   = "v1.0.1"
	liqoCRDFolder = "deployments/liqo/charts/liqo-crds/crds"
)

var capiCRDFolders = []string{
	"core/config/crd/bases",
	"bootstrap/kubeadm/config/crd/bases",
	"controlplane/kubeadm/config/crd/bases",
}

// CRDPaths returns the CRD folders of a set, inside the Go module cache. Modules are
// located with `go mod download -json <module>@<version>` (which downloads them
// through the module proxy when they are not cached yet); the CRDs are never copied
// into the repository.
func CRDPaths(ctx context.Context, set CRDSet) ([]string, error) {
	if set&^AllCRDs != 0 {
		return nil, fmt.Errorf("testenv: unknown CRD set bits %#x", uint(set&^AllCRDs))
	}
	var paths []string
	if set&CAPICRDs != 0 {
		dir, err := ModuleDir(ctx, CAPIModule, CAPIVersion)
		if err != nil {
			return nil, err
		}
		for _, f := range capiCRDFolders {
			paths = append(paths, filepath.Join(dir, filepath.FromSlash(f)))
		}
	}
	if set&LiqoCRDs != 0 {
		dir, err := ModuleDir(ctx, LiqoModule, LiqoVersion)
		if err != nil {
			return nil, err
		}
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(liqoCRDFolder)))
	}
	if set&ProviderCRDs != 0 {
		p, err := providerCRDPaths(ctx)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p...)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("testenv: CRD folder: %w", err)
		}
	}
	return paths, nil
}

var moduleDirs struct {
	sync.Mutex
	m map[string]string
}

// ModuleDir returns the folder of module@version in the Go module cache, from
// `go mod download -json` run in the repository root. Successful lookups are cached
// for the life of the process.
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	key := module + "@" + version
	moduleDirs.Lock()
	dir, ok := moduleDirs.m[key]
	moduleDirs.Unlock()
	if ok {
		return dir, nil
	}

	repo, err := RepoRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("testenv: locating module %s: the go command is not in PATH: %w", key, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", key)
	cmd.Dir = repo
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	// On failure go still prints JSON with an Error field; prefer that message.
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil && runErr == nil {
		return "", fmt.Errorf("testenv: go mod download -json %s: decoding output: %w", key, err)
	}
	switch {
	case info.Error != "":
		return "", fmt.Errorf("testenv: go mod download %s: %s", key, info.Error)
	case runErr != nil:
		return "", fmt.Errorf("testenv: go mod download %s: %w: %s", key, runErr, strings.TrimSpace(stderr.String()))
	case info.Dir == "":
		return "", fmt.Errorf("testenv: go mod download %s printed no Dir", key)
	}

	moduleDirs.Lock()
	if moduleDirs.m == nil {
		moduleDirs.m = make(map[string]string)
	}
	moduleDirs.m[key] = info.Dir
	moduleDirs.Unlock()
	return info.Dir, nil
}

// providerCRDPaths returns the provider CRD files from their modules in the module
// cache.
func providerCRDPaths(ctx context.Context) ([]string, error) {
	k3s, err := ModuleDir(ctx, K3sModule, K3sVersion)
	if err != nil {
		return nil, err
	}
	capd, err := ModuleDir(ctx, CAPDModule, CAPIVersion)
	if err != nil {
		return nil, err
	}
	capo, err := ModuleDir(ctx, OpenStackModule, OpenStackVersion)
	if err != nil {
		return nil, err
	}
	docker := filepath.Join(capd, "infrastructure", "docker", "config", "crd", "bases")
	openstack := filepath.Join(capo, "config", "crd", "bases")
	// The control-plane folder of cluster-api-k3s also holds stale copies of the
	// bootstrap CRDs: take only its own file.
	return []string{
		filepath.Join(k3s, "controlplane", "config", "crd", "bases", "controlplane.cluster.x-k8s.io_kthreescontrolplanes.yaml"),
		filepath.Join(k3s, "bootstrap", "config", "crd", "bases"),
		filepath.Join(docker, "infrastructure.cluster.x-k8s.io_dockerclusters.yaml"),
		filepath.Join(docker, "infrastructure.cluster.x-k8s.io_dockermachinetemplates.yaml"),
		filepath.Join(openstack, "infrastructure.cluster.x-k8s.io_openstackclusters.yaml"),
		filepath.Join(openstack, "infrastructure.cluster.x-k8s.io_openstackmachinetemplates.yaml"),
	}, nil
}
