package experiment

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/provision"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 7 * time.Second, 9 * time.Second})
	// Mean 5, sum of squares 32, sample variance 32/7.
	if s.N != 8 || s.Mean != 5 || s.Min != 2 || s.Max != 9 || math.Abs(s.StdDev-math.Sqrt(32.0/7)) > 1e-12 {
		t.Errorf("Summarize: %+v", s)
	}
	if s := Summarize([]time.Duration{3 * time.Second}); s != (Stats{N: 1, Mean: 3, Min: 3, Max: 3}) {
		t.Errorf("one value: %+v", s)
	}
	if s := Summarize(nil); s != (Stats{}) {
		t.Errorf("none: %+v", s)
	}
}

func timeline(after ...time.Duration) provision.Timeline {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	reached := map[provision.Milestone]time.Time{}
	for i, d := range after {
		reached[provision.Milestones()[i]] = t0.Add(d)
	}
	return provision.NewTimeline(t0, reached)
}

func TestCheckTimeline(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		tl      provision.Timeline
		workers int
		want    string
	}{
		{timeline(1*s, 3*s, 3*s, 5*s, 5*s), 2, ""},
		{timeline(1*s, 3*s, 3*s, 5*s), 2, "Available missing"},
		{timeline(1*s, 3*s, 2*s, 5*s, 5*s), 2, "ControlPlaneAvailable before ControlPlaneInitialized"},
		{timeline(-s, 3*s, 3*s, 5*s, 5*s), 2, "InfrastructureReady before the creation"},
		// Without workers Cluster API reports WorkersAvailable almost at once.
		{timeline(1*s, 3*s, 3*s, 0, 3*s), 0, ""},
		{timeline(1*s, 3*s, 3*s, 0, 3*s), 1, "WorkersAvailable before ControlPlaneAvailable"},
		{timeline(1*s, 3*s, 3*s, 4*s, 3*s), 0, "WorkersAvailable after Available"},
	} {
		err := CheckTimeline(tc.tl, tc.workers)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckTimeline(%s, %d): %v, want %q", tc.tl, tc.workers, err, tc.want)
		}
	}
	if _, err := Aggregate([]Sample{{Nodes: 1, Distribution: provision.K3s, Timeline: timeline(s)}}); err == nil {
		t.Error("Aggregate accepted an incomplete timeline")
	}
}

func TestAggregateOrder(t *testing.T) {
	s := time.Second
	var samples []Sample
	for _, n := range []int{5, 1} {
		for _, d := range []provision.Distribution{provision.K3s, provision.Kubeadm} {
			for run, extra := range []time.Duration{0, 2 * s} {
				samples = append(samples, Sample{Nodes: n, Distribution: d, Run: run,
					Timeline: timeline(s, 2*s, 3*s, 4*s, time.Duration(n)*10*s+extra)})
			}
		}
	}
	rows, err := Aggregate(samples)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, string(r.Distribution)+"-"+nodes(r.Nodes))
		if want := float64(r.Nodes*10 + 1); r.Total.Mean != want || r.Total.N != 2 {
			t.Errorf("%s %d: total %+v, want mean %g over 2", r.Distribution, r.Nodes, r.Total, want)
		}
	}
	if strings.Join(got, ",") != "kubeadm-1 node,k3s-1 node,kubeadm-5 nodes,k3s-5 nodes" {
		t.Errorf("row order %q", got)
	}
}

func TestParse(t *testing.T) {
	if got, err := ParseSizes(" 25,1,3"); err != nil || len(got) != 3 || got[0] != 1 || got[2] != 25 {
		t.Errorf("ParseSizes: %v %v", got, err)
	}
	for _, bad := range []string{"", "1,,3", "-1", "1.5", "1,1", "100000"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
	if got, err := ParseDistributions("k3s, kubeadm"); err != nil || len(got) != 2 || got[0] != provision.K3s {
		t.Errorf("ParseDistributions: %v %v", got, err)
	}
	for _, bad := range []string{"", "k3s,k3s", "rke2"} {
		if _, err := ParseDistributions(bad); err == nil {
			t.Errorf("ParseDistributions(%q) accepted", bad)
		}
	}
	err := Config{Runs: 0}.Validate()
	for _, flag := range []string{"-runs", "-sizes", "-dist"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("Validate of the zero Config: %v, want %s named", err, flag)
		}
	}
}

func TestWritePlotRejects(t *testing.T) {
	dir := t.TempDir()
	rows := []Row{{Nodes: 1, Distribution: provision.K3s, Total: Stats{N: 1, Mean: 3, Min: 3, Max: 3}}}
	if err := WritePlot(filepath.Join(dir, "x.pdf"), rows, PlotOptions{}); err == nil {
		t.Error("WritePlot wrote a .pdf")
	}
	if err := WritePlot(filepath.Join(dir, "x.svg"), nil, PlotOptions{}); err == nil {
		t.Error("WritePlot wrote a plot of nothing")
	}
}
