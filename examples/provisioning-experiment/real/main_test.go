package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/examples/provisioning-experiment/internal/experiment"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi/reconcilers"
)

func TestMain(m *testing.M) {
	setLoggers(os.Getenv("CAPI_TEST_LOG") != "")
	os.Exit(m.Run())
}

// TestRealRun runs 1 and 3 nodes, once each, against the real reconcilers (the
// reconcilers can start once per process: this is the only test that starts them)
// and checks that every run's timeline is complete and in order, and the plot.
func TestRealRun(t *testing.T) {
	testenv.Require(t)
	file := filepath.Join(t.TempDir(), "fig3-real.svg")
	o, err := parseFlags(&bytes.Buffer{}, []string{"-short", "-sizes", "1,3", "-o", file})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	samples, err := execute(t.Context(), &out, o)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2*len(experiment.Distributions()) {
		t.Fatalf("%d samples, want two per distribution", len(samples))
	}
	seen := map[string]bool{}
	for _, s := range samples {
		seen[fmt.Sprint(s.Nodes, s.Distribution, s.Run)] = true
		if s.Nodes > 1 {
			// With workers, Cluster API's milestones come strictly in order.
			for i, e := range s.Timeline.Events {
				if i > 0 && e.After < s.Timeline.Events[i-1].After {
					t.Errorf("%d nodes %s: %s before %s", s.Nodes, s.Distribution, e.Milestone, s.Timeline.Events[i-1].Milestone)
				}
			}
		}
		if len(s.Timeline.Events) != len(provision.Milestones()) {
			t.Errorf("%s: timeline %s, want every milestone", s.Distribution, s.Timeline)
		}
		if err := experiment.CheckTimeline(s.Timeline, s.Nodes-1); err != nil {
			t.Errorf("%s: %v", s.Distribution, err)
		}
		// The played infrastructure and machine delays come one after the other
		// (less a second of timestamp truncation); a healthy run takes seconds.
		if min := reconcilers.DefaultInfraDelay + reconcilers.DefaultMachineDelay - 1e9; s.Total() < min || s.Total() > waitTimeout {
			t.Errorf("%s: time to Available %s, want between %s and %s", s.Distribution, s.Total(), min, waitTimeout)
		}
		if !strings.Contains(out.String(), s.Timeline.String()) {
			t.Errorf("output lacks the %s timeline %q", s.Distribution, s.Timeline)
		}
	}
	for _, n := range []int{1, 3} {
		for _, d := range experiment.Distributions() {
			if !seen[fmt.Sprint(n, d, 0)] {
				t.Errorf("no sample of %d nodes %s in run 0 (have %v)", n, d, seen)
			}
		}
	}
	for _, want := range []string{"NODES", "Played:", "Plot written to " + file} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &root); err != nil || root.XMLName.Local != "svg" {
		t.Errorf("plot is not an SVG document: root %q, %v", root.XMLName.Local, err)
	}
}

// TestSkipsWithoutBinaries points the tool cache at an empty folder: the run says
// what to do and succeeds, unless CI=true, when it fails. Start fails before it
// registers any controller, so TestRealRun can still start the reconcilers.
func TestSkipsWithoutBinaries(t *testing.T) {
	t.Setenv(testenv.EnvToolsDir, t.TempDir())
	t.Setenv(testenv.EnvCI, "false")
	var out bytes.Buffer
	if err := run(t.Context(), &out, []string{"-short"}); err != nil {
		t.Fatalf("run without binaries: %v", err)
	}
	if !strings.Contains(out.String(), "Skipped: the real run needs the test binaries") || !strings.Contains(out.String(), "make tools") {
		t.Errorf("output:\n%s", out.String())
	}
	t.Setenv(testenv.EnvCI, "true")
	if err := run(t.Context(), &out, []string{"-short"}); err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("run without binaries under CI=true: %v, want an error naming make tools", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-runs", "-2"}, "-runs: -2 must be at least 1"},
		{[]string{"-sizes", "two"}, `-sizes: "two" is not a number of nodes`},
		{[]string{"-dist", "k0s"}, `-dist: "k0s" is not one of`},
		{[]string{"-o", "fig.gif"}, "-o: "},
		{[]string{"-short", "x"}, `unexpected argument "x"`},
	} {
		if err := run(t.Context(), &bytes.Buffer{}, tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
