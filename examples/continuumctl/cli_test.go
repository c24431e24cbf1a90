package main

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestHelpForEveryVerbWithoutACluster walks the whole command tree: `VERB -h` and
// `VERB --help` print the verb's usage on stdout and exit 0 without building a client,
// whatever $KUBECONFIG says.
func TestHelpForEveryVerbWithoutACluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	never := clients{
		management: func(string) (client.WithWatch, error) {
			t.Errorf("help built a management client")
			return nil, nil
		},
		liqo: func(string) (client.WithWatch, string, []byte, error) {
			t.Errorf("help built a Liqo client")
			return nil, "", nil, nil
		},
	}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRootCmd(never, io.Discard, io.Discard), nil)
	for _, want := range [][]string{{"plan"}, {"provision", "create"}, {"provision", "kubeconfig"}, {"peer"}, {"offload"}, {"apply"}, {"remove"}, {"version"}} {
		found := false
		for _, p := range paths {
			found = found || strings.Join(p, " ") == strings.Join(want, " ")
		}
		if !found {
			t.Errorf("no verb %q in the command tree %v", want, paths)
		}
	}
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			var out, errOut strings.Builder
			code := execute(context.Background(), append(append([]string(nil), p...), h), &out, &errOut, never)
			if code != exitPlaced || !strings.Contains(out.String(), "Usage:") || errOut.Len() != 0 {
				t.Errorf("continuumctl %s %s: exit %d, stdout %q, stderr %q; want usage on stdout and exit 0",
					strings.Join(p, " "), h, code, out.String(), errOut.String())
			}
		}
	}
	// The case: help, not "no management cluster".
	var out, errOut strings.Builder
	execute(context.Background(), []string{"provision", "create", "-h"}, &out, &errOut, never)
	for _, flag := range []string{"--workers", "--distribution", "--dry-run", "-n, --namespace", "--kubeconfig"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("provision create -h lacks %s:\n%s", flag, out.String())
		}
	}
}

func TestLongFlagsCompletionAndVersion(t *testing.T) {
	// --flag style: the long names of the shorthands work as well.
	code, out, stderr := ctl(t, "plan", "--topology", topoFile, "--app", appFile, "--output", "json")
	if code != exitPlaced || !strings.HasPrefix(out, "{") {
		t.Errorf("plan with long flags: exit %d, stdout %.80q, stderr %s", code, out, stderr)
	}
	// Go's single-dash long flags are not accepted any more.
	if code, _, stderr := ctl(t, "plan", "-t", topoFile, "-a", appFile, "-explain"); code != exitBadInput || !strings.Contains(stderr, "--help") {
		t.Errorf("-explain: exit %d, stderr %q; want a usage error pointing at --help", code, stderr)
	}
	for shell, marker := range map[string]string{"bash": "__start_continuumctl", "zsh": "#compdef continuumctl"} {
		code, out, stderr := ctl(t, "completion", shell)
		if code != exitPlaced || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, %d bytes without %q, stderr %s", shell, code, len(out), marker, stderr)
		}
	}
	code, out, _ = ctl(t, "version")
	if c, o, _ := ctl(t, "--version"); c != exitPlaced || !strings.Contains(o, runtime.Version()) {
		t.Errorf("--version: exit %d, %q", c, o)
	}
	if code != exitPlaced || !strings.HasPrefix(out, "continuumctl ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version: exit %d, %q; want continuumctl, its version and %s", code, out, runtime.Version())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"explode"},
		{"provision"},
		{"provision", "explode", "x"},
		{"provision", "create"},
		{"plan", "extra-argument", "-t", topoFile, "-a", appFile},
		{"peer", "a"},
		{"completion", "tcsh"},
	} {
		code, out, stderr := ctl(t, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitBadInput || !strings.HasPrefix(lines[len(lines)-1], "continuumctl: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and a message", args, code, out, stderr, exitBadInput)
		}
	}
}
