// Command buildtools builds the integration-test binaries (kube-apiserver,
// kube-controller-manager, kube-scheduler, etcd, prometheus, promtool, kwok and Liqo's
// liqo-controller-manager, crd-replicator, webhook and virtual-kubelet) from the pinned tool modules under internal/tools into the
// tool cache described in package testenv. It is what `make tools` runs:
//
//	go run ./internal/testenv/buildtools
//
// A tool whose cache folder already holds all its binaries and the completion marker
// is skipped. Otherwise its binaries are built with `go build` in the tool module into
// a temporary folder inside the cache root, which is then renamed into place, so an
// interrupted or concurrent run never leaves a half-filled folder behind. go's output
// is streamed to stderr. The exit status is non-zero if any tool failed to build.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/internal/testenv"
)

// firstBuild is the rough duration of a cold build on 2 cores, for the progress line.
var firstBuild = map[string]string{
	"kube-apiserver": "~7 min with the controller manager and scheduler",
	"etcd":           "~1 min",
	"prometheus":     "~6 min",
	"kwok":           "~2 min",
	"liqo":           "~3 min",
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "buildtools:", err)
		os.Exit(1)
	}
}

func run() error {
	start := time.Now()
	tools, err := testenv.Tools()
	if err != nil {
		return err
	}
	root, err := testenv.CacheRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("creating the tool cache: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not in PATH: %w", err)
	}

	var failed []string
	for _, t := range tools {
		if len(t.Missing()) == 0 {
			fmt.Printf("%s %s: cached in %s\n", t.Name, t.Version, t.Dir)
			continue
		}
		est := firstBuild[t.Name]
		if est == "" {
			est = "a few minutes"
		}
		fmt.Printf("building %s %s (first build takes %s on 2 cores)...\n", t.Name, t.Version, est)
		t0 := time.Now()
		if err := build(goBin, root, t); err != nil {
			fmt.Fprintf(os.Stderr, "buildtools: %s %s: %v\n", t.Name, t.Version, err)
			failed = append(failed, t.Name)
			continue
		}
		fmt.Printf("built %s in %.0fs into %s\n", t.Name, time.Since(t0).Seconds(), t.Dir)
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed to build %s (total %.0fs); see go's output above",
			strings.Join(failed, ", "), time.Since(start).Seconds())
	}
	fmt.Printf("tools ready in %s (total %.0fs)\n", root, time.Since(start).Seconds())
	return nil
}

// build compiles every binary of t into a temporary folder in root and renames the
// folder to t.Dir once the completion marker is written.
func build(goBin, root string, t testenv.Tool) (err error) {
	tmp, err := os.MkdirTemp(root, ".build-"+t.Name+"-")
	if err != nil {
		return fmt.Errorf("creating a build folder: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("removing %s: %w", tmp, rmErr)
		}
	}()
	for i, b := range t.Binaries {
		t0 := time.Now()
		fmt.Printf("  %s (%d/%d): go build %s\n", t.Name, i+1, len(t.Binaries), b.Package)
		// -mod=readonly and GOWORK=off: the tool module's own go.mod and go.sum (which
		// name the cache folder) pin everything, whatever GOFLAGS or a go.work say.
		cmd := exec.Command(goBin, "build", "-mod=readonly", "-o", filepath.Join(tmp, b.Name), b.Package)
		cmd.Dir = t.ModuleDir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b.Package, err)
		}
		fmt.Printf("  %s (%d/%d): %s built in %.0fs\n", t.Name, i+1, len(t.Binaries), b.Name, time.Since(t0).Seconds())
	}
	marker := fmt.Sprintf("tool: %s\nversion: %s\ngo: %s\nbuilt: %s\n",
		t.Name, t.Version, runtime.Version(), time.Now().UTC().Format(time.RFC3339))
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		return fmt.Errorf("making the build folder readable: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, testenv.CompleteMarker), []byte(marker), 0o644); err != nil {
		return fmt.Errorf("writing the completion marker: %w", err)
	}
	// A folder without the marker (e.g. filled by hand, or by an old builder) is replaced.
	if _, statErr := os.Stat(t.Dir); statErr == nil {
		if len(t.Missing()) == 0 {
			return nil // a concurrent run finished first
		}
		if err := os.RemoveAll(t.Dir); err != nil {
			return fmt.Errorf("removing incomplete %s: %w", t.Dir, err)
		}
	}
	if err := os.Rename(tmp, t.Dir); err != nil {
		if len(t.Missing()) == 0 {
			return nil // a concurrent run finished first
		}
		return fmt.Errorf("moving the binaries into place: %w", err)
	}
	return nil
}
