// Command ocm-bench runs continuum's placement engine and the placement scheduler of
// Open Cluster Management v1.0.0 side by side on the same generated continuums, and
// prints a markdown table: time per component placed (interleaved rounds, medians) and
// how many of OCM's choices break a latency, bandwidth, chain, capacity or policy
// constraint, judged by continuum's engine (Repair lists what a placement breaks).
//
// OCM's scheduler runs as a library, as its own tests drive it: NewPluginScheduler over
// fake listers, Schedule once per Placement (one Placement per component). It is a
// module of its own because OCM v1.0.0 builds against Kubernetes v0.32 libraries.
//
//	go run . [-short] [-rounds 5] [-sizes 100x10,100x100,1000x100,1000x1000]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type size struct{ clusters, components int }

type options struct {
	rounds int
	sizes  []size
}

func parseFlags(w io.Writer, args []string) (options, error) {
	fs := flag.NewFlagSet("ocm-bench", flag.ContinueOnError)
	fs.SetOutput(w)
	short := fs.Bool("short", false, "one small size, 2 rounds (CI)")
	rounds := fs.Int("rounds", 5, "timed rounds per size (the median is reported)")
	sizes := fs.String("sizes", "100x10,100x100,1000x100,1000x1000", "clusters x components, comma-separated")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{rounds: *rounds}
	if *short {
		o.rounds, *sizes = 2, "100x10"
	}
	if o.rounds < 1 || o.rounds > 1000 {
		return o, fmt.Errorf("ocm-bench: -rounds: %d is not in [1, 1000]", o.rounds)
	}
	for _, f := range strings.Split(*sizes, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(f), "x")
		c, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || c < 2 || c > 10000 || n < 1 || n > 10000 {
			return o, fmt.Errorf("ocm-bench: -sizes: %q is not CLUSTERSxCOMPONENTS (2..10000 x 1..10000)", f)
		}
		o.sizes = append(o.sizes, size{c, n})
	}
	return o, nil
}

// row is one size's result.
type row struct {
	size
	components  int // as generated (approximately the size asked for)
	ocm, cont   time.Duration
	ratio       float64 // median of the per-round ratios OCM / continuum
	ocmVerdict  verdict
	contVerdict verdict
}

func run(ctx context.Context, w io.Writer, args []string) error {
	o, err := parseFlags(w, args)
	if err != nil {
		return err
	}
	var rows []row
	for _, sz := range o.sizes {
		r, err := measure(ctx, sz, o.rounds)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	fmt.Fprint(w, table(rows, o.rounds))
	return nil
}

// measure runs both schedulers on one generated instance: a warm-up run of each, then
// rounds timed in turn (OCM first in odd rounds, continuum first in even ones), then
// both results judged by continuum's checker.
func measure(ctx context.Context, sz size, rounds int) (row, error) {
	inst := newInstance(sz.clusters, sz.components)
	r := row{size: sz, components: len(inst.components)}
	ocmAs, _, err := inst.ocm(ctx)
	if err != nil {
		return r, err
	}
	plan, err := inst.continuum(ctx)
	if err != nil {
		return r, err
	}
	var ocmT, contT []time.Duration
	var ratios []float64
	for i := range rounds {
		var to, tc time.Duration
		timeOCM := func() (err error) {
			_, to, err = inst.ocm(ctx)
			return err
		}
		timeCont := func() error {
			start := time.Now()
			_, err := inst.continuum(ctx)
			tc = time.Since(start)
			return err
		}
		first, second := timeOCM, timeCont
		if i%2 == 1 {
			first, second = timeCont, timeOCM
		}
		if err := first(); err != nil {
			return r, err
		}
		if err := second(); err != nil {
			return r, err
		}
		ocmT, contT = append(ocmT, to), append(contT, tc)
		ratios = append(ratios, float64(to)/float64(tc))
	}
	n := time.Duration(r.components)
	r.ocm, r.cont, r.ratio = median(ocmT)/n, median(contT)/n, median(ratios)
	if r.ocmVerdict, err = inst.judge(ctx, ocmAs); err != nil {
		return r, err
	}
	if r.contVerdict, err = inst.judge(ctx, plan.Assignments); err != nil {
		return r, err
	}
	return r, nil
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// undecidedNote marks a judgement whose Repair search ran out of budget.
func undecidedNote(v verdict) string {
	if v.undecided {
		return ", at least: the judge's search was undecided"
	}
	return ""
}

func table(rows []row, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| clusters x components | OCM per component | continuum per component | OCM / continuum | replicas | broken by OCM's choice: latency / bandwidth / chain / capacity / policy | by continuum's |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		v := r.ocmVerdict
		fmt.Fprintf(&b, "| %d x %d | %s | %s | %.2fx | %d | %d / %d / %d / %d / %d (%d replicas, %.0f%%)%s | %d%s |\n",
			r.clusters, r.components, us(r.ocm), us(r.cont), r.ratio, v.replicas,
			v.latency, v.bandwidth, v.chain, v.capacity, v.policy, v.broken(),
			100*float64(v.broken())/float64(max(v.replicas, 1)), undecidedNote(v), r.contVerdict.broken(), undecidedNote(r.contVerdict))
	}
	fmt.Fprintf(&b, "\nMedians of %d interleaved rounds (ratio: median of the per-round ratios); OCM's time is its Schedule calls only. "+
		"Broken: replicas that continuum's Repair must move off OCM's choice, by the first constraint each breaks "+
		"(latency: a site's or flow's RTT bound; chain: an end-to-end budget; capacity: CPU, memory or GPU; policy: allowed lists, UDP, spread, affinity).\n", rounds)
	return b.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f us", float64(d)/float64(time.Microsecond)) }
