package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleGoMod = `// comment
module example.com/tools/kube-apiserver

go 1.26.0

require k8s.io/kubernetes v1.37.2 // the pin

require (
	cel.dev/expr v0.25.1 // indirect
	github.com/prometheus/prometheus v0.316.0
)

replace k8s.io/api => k8s.io/api v0.37.2
`

func TestRequiredVersion(t *testing.T) {
	for module, want := range map[string]string{
		"k8s.io/kubernetes":                "v1.37.2",
		"cel.dev/expr":                     "v0.25.1",
		"github.com/prometheus/prometheus": "v0.316.0",
	} {
		got, err := requiredVersion([]byte(sampleGoMod), module)
		require.NoError(t, err, module)
		assert.Equal(t, want, got, module)
	}
	_, err := requiredVersion([]byte(sampleGoMod), "k8s.io/api") // only replaced
	assert.ErrorContains(t, err, "does not require k8s.io/api")
}

func TestToolDirName(t *testing.T) {
	gosum := []byte("k8s.io/kubernetes v1.37.2 h1:abc=\n")
	base, version, err := toolDirName("kube-apiserver", "k8s.io/kubernetes", []byte(sampleGoMod), gosum, "go1.26.8")
	require.NoError(t, err)
	assert.Equal(t, "v1.37.2", version)
	assert.Regexp(t, regexp.MustCompile(`^kube-apiserver-v1\.37\.2-[0-9a-f]{12}$`), base)

	again, _, err := toolDirName("kube-apiserver", "k8s.io/kubernetes", []byte(sampleGoMod), gosum, "go1.26.8")
	require.NoError(t, err)
	assert.Equal(t, base, again, "the name is deterministic")

	bumped := strings.Replace(sampleGoMod, "k8s.io/kubernetes v1.37.2", "k8s.io/kubernetes v1.37.3", 1)
	name, version, err := toolDirName("kube-apiserver", "k8s.io/kubernetes", []byte(bumped), gosum, "go1.26.8")
	require.NoError(t, err)
	assert.Equal(t, "v1.37.3", version)
	assert.True(t, strings.HasPrefix(name, "kube-apiserver-v1.37.3-"), name)
	assert.NotEqual(t, base[len(base)-12:], name[len(name)-12:], "a new version changes the hash")

	name, _, err = toolDirName("kube-apiserver", "k8s.io/kubernetes", []byte(sampleGoMod), append(gosum, 'x'), "go1.26.8")
	require.NoError(t, err)
	assert.NotEqual(t, base, name, "a go.sum change selects a new folder")

	name, _, err = toolDirName("kube-apiserver", "k8s.io/kubernetes", []byte(sampleGoMod), gosum, "go1.27.0")
	require.NoError(t, err)
	assert.NotEqual(t, base, name, "a new Go toolchain selects a new folder")

	_, _, err = toolDirName("etcd", "go.etcd.io/etcd/server/v3", []byte(sampleGoMod), gosum, "go1.26.8")
	assert.ErrorContains(t, err, "testenv: etcd tool module")
}

func TestToolsReadTheRealModules(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	tools, err := Tools()
	require.NoError(t, err)
	require.Len(t, tools, 5)
	want := map[string]string{
		"kube-apiserver": "v1.37.2",
		"etcd":           "v3.6.16",
		"prometheus":     "v0.316.0",
		// The binaries' pins must agree with the versions whose stage files, CRDs and
		// ClusterRoles testenv installs.
		"kwok": KWOKVersion,
		"liqo": LiqoVersion,
	}
	for _, tool := range tools {
		assert.Equal(t, want[tool.Name], tool.Version, tool.Name)
		assert.FileExists(t, filepath.Join(tool.ModuleDir, "go.mod"))
		dir, err := ToolDir(tool.Name)
		require.NoError(t, err)
		assert.Equal(t, tool.Dir, dir)
		assert.Equal(t, os.Getenv(EnvToolsDir), filepath.Dir(dir))
	}
	_, err = ToolDir("kubectl")
	assert.ErrorContains(t, err, `unknown tool "kubectl"`)
}

func TestCacheRoot(t *testing.T) {
	t.Setenv(EnvToolsDir, "")
	root, err := CacheRoot()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(root, filepath.Join("continuum", "tools")), root)

	dir := t.TempDir()
	t.Setenv(EnvToolsDir, dir)
	root, err = CacheRoot()
	require.NoError(t, err)
	assert.Equal(t, dir, root)
}

func TestBinaryMissingNamesMakeTools(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "prometheus", "promtool", "kwok", "liqo-controller-manager", "crd-replicator", "liqo-webhook", "virtual-kubelet"} {
		_, err := Binary(name)
		require.ErrorIs(t, err, ErrBinariesMissing, name)
		assert.Contains(t, err.Error(), "make tools", name)
		assert.True(t, strings.HasPrefix(err.Error(), "testenv: "), err.Error())
	}
	_, err := Binary("kubectl")
	assert.ErrorContains(t, err, `unknown binary "kubectl"`)
	assert.NotErrorIs(t, err, ErrBinariesMissing)
}

func TestBinaryNeedsCompleteMarker(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	dir, err := ToolDir("prometheus")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range []string{"prometheus", "promtool"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
	}
	_, err = Binary("promtool")
	require.ErrorIs(t, err, ErrBinariesMissing, "an interrupted build does not count")
	assert.Contains(t, err.Error(), CompleteMarker)

	require.NoError(t, os.WriteFile(filepath.Join(dir, CompleteMarker), nil, 0o644))
	path, err := Binary("promtool")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "promtool"), path)

	_, err = Binary("etcd")
	assert.ErrorIs(t, err, ErrBinariesMissing, "other tools are still missing")
}

func TestDecide(t *testing.T) {
	missing := errors.Join(errors.New("x"), ErrBinariesMissing)
	other := errors.New("testenv: starting cluster: boom")
	for _, tc := range []struct {
		name    string
		err     error
		ci      bool
		want    verdict
		message string
	}{
		{"ok", nil, false, verdictRun, ""},
		{"ok under CI", nil, true, verdictRun, ""},
		{"missing binaries skip", missing, false, verdictSkip, "integration test skipped: test binaries missing; run `make tools`"},
		{"missing binaries fail under CI", missing, true, verdictFail, "CI=true; run `make tools`"},
		{"short skips even under CI", errShort, true, verdictSkip, "-short"},
		{"other errors fail", other, false, verdictFail, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := decide(tc.err, tc.ci)
			assert.Equal(t, tc.want, got)
			assert.Contains(t, msg, tc.message)
		})
	}
}

func TestIsCI(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "": false, "false": false, "yes": false} {
		t.Setenv(EnvCI, value)
		assert.Equal(t, want, isCI(), "CI=%q", value)
	}
}

func TestRequireWithoutMainChecksBinaries(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	t.Setenv(EnvCI, "")
	mainState.Lock()
	saved := mainState.ran
	mainState.ran = false
	mainState.Unlock()
	t.Cleanup(func() {
		mainState.Lock()
		mainState.ran = saved
		mainState.Unlock()
	})

	rec := &recordingTB{TB: t}
	func() {
		defer func() { _ = recover() }() // Skip ends with runtime.Goexit in real tests; here it panics
		Require(rec)
	}()
	assert.True(t, rec.skipped)
	want := "integration test skipped: test binaries missing; run `make tools`"
	if testing.Short() {
		want = "integration test skipped in -short mode"
	}
	assert.Contains(t, rec.msg, want)
}

// recordingTB records Skip and Fatal instead of stopping the goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

type stopTest struct{}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped, r.msg = true, strings.TrimSpace(strings.Join(toStrings(args), " "))
	panic(stopTest{})
}
func (r *recordingTB) Fatal(args ...any) {
	r.failed, r.msg = true, strings.TrimSpace(strings.Join(toStrings(args), " "))
	panic(stopTest{})
}

func toStrings(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			out[i] = s
		}
	}
	return out
}

func TestCRDPathsRejectsUnknownSets(t *testing.T) {
	_, err := CRDPaths(context.Background(), CRDSet(1<<7))
	assert.ErrorContains(t, err, "testenv: unknown CRD set")
	paths, err := CRDPaths(context.Background(), 0)
	require.NoError(t, err)
	assert.Empty(t, paths)
}

func TestStartValidatesOptions(t *testing.T) {
	_, err := Start(context.Background(), Options{Clusters: []string{"a", "a"}})
	assert.ErrorContains(t, err, `testenv: Options.Clusters[1]: duplicate name "a"`)
	_, err = Start(context.Background(), Options{Clusters: []string{""}})
	assert.ErrorContains(t, err, "empty name")
}

func TestStartWithoutBinaries(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	_, err := Start(context.Background(), Options{})
	assert.ErrorIs(t, err, ErrBinariesMissing)
	_, err = StartPrometheus(context.Background(), PrometheusOptions{})
	assert.ErrorIs(t, err, ErrBinariesMissing)
}

func TestLogBufferKeepsTheTail(t *testing.T) {
	b := &logBuffer{max: 8}
	_, _ = b.Write([]byte("0123456789"))
	assert.Equal(t, "23456789", b.String())
	_, _ = b.Write([]byte("ab"))
	assert.Equal(t, "456789ab", b.String())
}
