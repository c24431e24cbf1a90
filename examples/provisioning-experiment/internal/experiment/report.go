package experiment

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/continuum-xr/continuum/provision"
)

// Stats summarises a set of durations, in seconds.
type Stats struct {
	N int
	// Mean, StdDev (sample standard deviation, n-1; 0 for one value), Min and Max
	// are in seconds.
	Mean, StdDev, Min, Max float64
}

// Summarize returns the statistics of ds; the zero Stats for none.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := Stats{N: len(ds), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, d := range ds {
		x := d.Seconds()
		s.Mean += x
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
	}
	s.Mean /= float64(len(ds))
	if len(ds) > 1 {
		var ss float64
		for _, d := range ds {
			ss += (d.Seconds() - s.Mean) * (d.Seconds() - s.Mean)
		}
		s.StdDev = math.Sqrt(ss / float64(len(ds)-1))
	}
	// Rounding can leave the mean of equal values a hair outside [min, max].
	s.Mean = min(max(s.Mean, s.Min), s.Max)
	return s
}

// Row is the result of one size and distribution.
type Row struct {
	Nodes        int
	Distribution provision.Distribution
	// Total is the time to Available over the runs.
	Total Stats
	// Phases are the times from creation to each milestone, in
	// provision.Milestones order.
	Phases []Stats
}

// Aggregate groups samples by size and distribution, ordered by size and then by
// the order of Distributions. Every sample must hold a complete timeline in order
// (CheckTimeline; the sample's workers are its nodes less the control plane).
func Aggregate(samples []Sample) ([]Row, error) {
	type key struct {
		nodes int
		dist  provision.Distribution
	}
	groups := map[key][]Sample{}
	var keys []key
	for _, s := range samples {
		if err := CheckTimeline(s.Timeline, s.Nodes-1); err != nil {
			return nil, fmt.Errorf("%d nodes %s run %d: %w", s.Nodes, s.Distribution, s.Run, err)
		}
		k := key{s.Nodes, s.Distribution}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.nodes, b.nodes),
			cmp.Compare(slices.Index(Distributions(), a.dist), slices.Index(Distributions(), b.dist)))
	})
	rows := make([]Row, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		r := Row{Nodes: k.nodes, Distribution: k.dist}
		totals := make([]time.Duration, len(g))
		for i, s := range g {
			totals[i] = s.Total()
		}
		r.Total = Summarize(totals)
		for _, m := range provision.Milestones() {
			ds := make([]time.Duration, len(g))
			for i, s := range g {
				ds[i], _ = s.Timeline.After(m)
			}
			r.Phases = append(r.Phases, Summarize(ds))
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// phaseHeaders are the table's short names of provision.Milestones.
var phaseHeaders = map[provision.Milestone]string{
	provision.InfrastructureReady:     "INFRA",
	provision.ControlPlaneInitialized: "CP-INIT",
	provision.ControlPlaneAvailable:   "CP-AVAIL",
	provision.WorkersAvailable:        "WORKERS",
	provision.Available:               "AVAILABLE",
}

// WriteTable writes one line per row: size, distribution, runs, mean, standard
// deviation, min and max of the time to Available, then the mean time from creation
// to each milestone; every time in seconds.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "NODES\tDIST   \tRUNS\tMEAN\tSTDDEV\tMIN\tMAX\t |")
	for _, m := range provision.Milestones() {
		fmt.Fprintf(tw, "\t%s", phaseHeaders[m])
	}
	fmt.Fprintln(tw, "\t")
	for _, r := range rows {
		// Padded so that the right-aligned column reads left-aligned.
		fmt.Fprintf(tw, "%d\t%-7s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t |", r.Nodes, r.Distribution, r.Total.N,
			r.Total.Mean, r.Total.StdDev, r.Total.Min, r.Total.Max)
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "\t%.1f", p.Mean)
		}
		fmt.Fprintln(tw, "\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Times in seconds from the cluster's creation. Left: time to Available (all nodes Ready) over the runs;"+
		" right of |: mean time to each milestone (INFRA = InfrastructureReady, CP-INIT = ControlPlaneInitialized,"+
		" CP-AVAIL = ControlPlaneAvailable, WORKERS = WorkersAvailable).")
	return err
}

// WriteTimelines writes each sample's timeline, one line each, in the order given.
func WriteTimelines(w io.Writer, samples []Sample) error {
	for _, s := range samples {
		if _, err := fmt.Fprintf(w, "  %8s %-7s run %d: %s\n", nodes(s.Nodes), s.Distribution, s.Run, s.Timeline); err != nil {
			return err
		}
	}
	return nil
}

// WritePaperComparison writes how the measured means compare with the range the
// paper states (PaperMin to PaperMax over 1 to 25 nodes).
func WritePaperComparison(w io.Writer, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	lo, hi := rows[0], rows[0]
	for _, r := range rows {
		if r.Total.Mean < lo.Total.Mean {
			lo = r
		}
		if r.Total.Mean > hi.Total.Mean {
			hi = r
		}
	}
	_, err := fmt.Fprintf(w, "Paper (Cluster API v1.3.1 on OpenStack, 2 vCPU / 2 GB VMs): deployment times from %.0f s (%s) to %.0f s (%s)."+
		" Here: means from %.1f s (%s, %s) to %.1f s (%s, %s).\n",
		PaperMin.Seconds(), nodes(PaperMinNodes), PaperMax.Seconds(), nodes(PaperMaxNodes),
		lo.Total.Mean, nodes(lo.Nodes), lo.Distribution, hi.Total.Mean, nodes(hi.Nodes), hi.Distribution)
	return err
}

// WriteDistributionComparison writes the largest difference between the mean times
// of kubeadm and k3s at one size, against the spread of the runs there (the paper saw
// "no significant difference"). It writes nothing without both distributions.
func WriteDistributionComparison(w io.Writer, rows []Row) error {
	var worst struct {
		diff, sd float64
		nodes    int
	}
	pairs := 0
	for i, a := range rows {
		for _, b := range rows[i+1:] {
			if a.Nodes != b.Nodes || a.Distribution == b.Distribution {
				continue
			}
			pairs++
			if d := math.Abs(a.Total.Mean - b.Total.Mean); d >= worst.diff {
				worst.diff, worst.sd, worst.nodes = d, max(a.Total.StdDev, b.Total.StdDev), a.Nodes
			}
		}
	}
	if pairs == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "kubeadm vs k3s: the largest difference of means is %.1f s (%s), against a standard deviation of up to %.1f s there.\n",
		worst.diff, nodes(worst.nodes), worst.sd)
	return err
}

// nodes returns "1 node" or "n nodes".
func nodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}
