package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/examples/provisioning-experiment/internal/experiment"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
)

// TestRunWritesPlots runs the program's short configuration into a temporary folder,
// once per plot format, and checks the output and the file.
func TestRunWritesPlots(t *testing.T) {
	for _, name := range []string{"fig3.svg", "fig3.png"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), name)
			var out bytes.Buffer
			if err := run(t.Context(), &out, []string{"-short", "-o", file}); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, want := range []string{
				"18 clusters", "fitted to the only two numbers the paper states",
				"NODES", "STDDEV", "CP-INIT", "AVAILABLE",
				"Paper (Cluster API v1.3.1 on OpenStack", "from 103 s (1 node) to 316 s (25 nodes)",
				"Plot written to " + file,
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(name, ".png") {
				cfg, err := png.DecodeConfig(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("not a PNG: %v", err)
				}
				if cfg.Width < 200 || cfg.Height < 100 {
					t.Errorf("PNG of %dx%d pixels", cfg.Width, cfg.Height)
				}
				return
			}
			checkSVG(t, data)
		})
	}
}

// checkSVG wants well-formed XML whose root is an svg element, with text of the
// legend in it.
func checkSVG(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root string
	var chars strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			chars.Write(tok)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	for _, want := range []string{"kubeadm", "k3s", "cluster size"} {
		if !strings.Contains(chars.String(), want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
}

// TestNumbersConsistent measures the short configuration plus a middle size and
// checks the statistics against themselves and against the model.
func TestNumbersConsistent(t *testing.T) {
	cfg := experiment.Config{Sizes: []int{1, 5, 25}, Distributions: experiment.Distributions(), Runs: 4}
	samples, err := measure(t.Context(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(samples), len(cfg.Sizes)*len(cfg.Distributions)*cfg.Runs; got != want {
		t.Fatalf("%d samples, want %d", got, want)
	}
	m := provisionfake.PaperModel()
	for _, s := range samples {
		if err := experiment.CheckTimeline(s.Timeline, s.Nodes-1); err != nil {
			t.Errorf("%d nodes %s run %d: %v", s.Nodes, s.Distribution, s.Run, err)
		}
		// The fake's milestones are in order even without workers.
		for i, e := range s.Timeline.Events {
			if i > 0 && e.After < s.Timeline.Events[i-1].After {
				t.Errorf("%d nodes %s run %d: %s before %s in %s", s.Nodes, s.Distribution, s.Run,
					e.Milestone, s.Timeline.Events[i-1].Milestone, s.Timeline)
			}
		}
		// Every duration of the model varies by at most Jitter, so the total does too
		// (the workers finish last at every size here).
		var paper time.Duration
		switch s.Nodes {
		case experiment.PaperMinNodes:
			paper = experiment.PaperMin
		case experiment.PaperMaxNodes:
			paper = experiment.PaperMax
		default:
			continue
		}
		if d := (s.Total() - paper).Abs(); d > time.Duration(m.Jitter*float64(paper))+time.Second {
			t.Errorf("%d nodes %s run %d: time to Available %s, more than %.0f %% from the paper's %s",
				s.Nodes, s.Distribution, s.Run, s.Total(), 100*m.Jitter, paper)
		}
	}

	rows, err := experiment.Aggregate(samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(cfg.Sizes)*len(cfg.Distributions) {
		t.Fatalf("%d rows", len(rows))
	}
	one := map[provision.Distribution]float64{}
	for _, r := range rows {
		st := r.Total
		if st.N != cfg.Runs || st.StdDev < 0 || st.Min > st.Mean || st.Mean > st.Max || st.Min <= 0 {
			t.Errorf("%d nodes %s: inconsistent statistics %+v", r.Nodes, r.Distribution, st)
		}
		if st.StdDev == 0 {
			t.Errorf("%d nodes %s: no spread over %d seeded runs", r.Nodes, r.Distribution, cfg.Runs)
		}
		if len(r.Phases) != len(provision.Milestones()) {
			t.Fatalf("%d phases", len(r.Phases))
		}
		for i := 1; i < len(r.Phases); i++ {
			if r.Phases[i].Mean < r.Phases[i-1].Mean {
				t.Errorf("%d nodes %s: mean of %s (%.1f s) before %s (%.1f s)", r.Nodes, r.Distribution,
					provision.Milestones()[i], r.Phases[i].Mean, provision.Milestones()[i-1], r.Phases[i-1].Mean)
			}
		}
		if last := r.Phases[len(r.Phases)-1]; last != st {
			t.Errorf("%d nodes %s: Available phase %+v differs from the total %+v", r.Nodes, r.Distribution, last, st)
		}
		if r.Nodes == 1 {
			one[r.Distribution] = st.Mean
		} else if st.Mean < one[r.Distribution] {
			t.Errorf("%d nodes %s: mean %.1f s, faster than 1 node (%.1f s)", r.Nodes, r.Distribution, st.Mean, one[r.Distribution])
		}
	}
}

// TestDeterministic wants the same samples from the same seed and others from
// another.
func TestDeterministic(t *testing.T) {
	cfg := experiment.Config{Sizes: []int{3}, Distributions: []provision.Distribution{provision.K3s}, Runs: 2}
	a, err := measure(t.Context(), cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := measure(t.Context(), cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	c, err := measure(t.Context(), cfg, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different samples:\n%v\n%v", a, b)
	}
	if a[0].Total() == c[0].Total() {
		t.Errorf("seeds 5 and 6 gave the same time %s", a[0].Total())
	}
}

func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-runs", "0"}, "-runs: 0 must be at least 1"},
		{[]string{"-sizes", "1,x"}, `-sizes: "x" is not a number of nodes`},
		{[]string{"-sizes", "0"}, "-sizes: 0 nodes: must be between 1 and"},
		{[]string{"-sizes", "3,3"}, "-sizes: 3 nodes given twice"},
		{[]string{"-dist", "rke2"}, `-dist: "rke2" is not one of kubeadm,k3s`},
		{[]string{"-o", filepath.Join(dir, "fig.jpg")}, "-o: "},
		{[]string{"-seed", "-1"}, "-seed"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var out bytes.Buffer
		err := run(t.Context(), &out, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a bad flag still wrote %d files", len(entries))
	}
}

// TestShortOverrides wants explicit -sizes and -runs to win over -short.
func TestShortOverrides(t *testing.T) {
	o, err := parseFlags(&bytes.Buffer{}, []string{"-short", "-runs", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Runs != 2 || !reflect.DeepEqual(o.cfg.Sizes, shortConfig.Sizes) {
		t.Errorf("-short -runs 2: %+v", o.cfg)
	}
	o, err = parseFlags(&bytes.Buffer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Runs != experiment.PaperRuns || !reflect.DeepEqual(o.cfg.Sizes, experiment.PaperSizes()) || len(o.cfg.Distributions) != 2 {
		t.Errorf("defaults: %+v, want the paper's configuration", o.cfg)
	}
}
