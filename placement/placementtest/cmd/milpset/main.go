// Command milpset generates tight placement instances (placementtest.GenerateTight),
// solves each as a MILP with CBC (placementtest.MILP in CPLEX LP format), checks every
// solution against the engine's own model, and stores instance and result as testdata
// for the quality tests in package placement. Tests read the stored results; they never
// need CBC.
//
// The stored sets were made with these runs, from the repository root (CBC 2.10.8 from
// the Debian package coinor-cbc; records that exist are skipped, -force solves them
// again); docs/placement-quality.md has the details:
//
//	go run ./placement/placementtest/cmd/milpset -out placement/testdata/tight -first 1 -count 39 -sec 20
//	go run ./placement/placementtest/cmd/milpset -out placement/testdata/tight -first 40 -count 70 -sec 20 \
//	    -sizes 5x8,6x10,8x12,8x16,10x15,10x20,12x20,15x25,20x30,25x40
//	go run ./placement/placementtest/cmd/milpset -out placement/testdata/tight-holdout -first 100001 -count 45 -sec 20 \
//	    -sizes 5x8,6x10,8x12,10x15,10x20,12x20,15x25,20x30,25x40
//
// Instance i of a run has seed first+i, size sizes[i mod len(sizes)] and load
// loads[(i / len(sizes)) mod len(loads)]. A solve that hits the time limit is stored
// with status feasible (and its bound) or unknown, never dropped.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "milpset:", err)
		os.Exit(1)
	}
}

type config struct {
	out, cbc, work string
	first, count   int
	sizes          []placementtest.TightOptions
	loads          []float64
	seconds        int
	parallel       int
	force          bool
}

func run() error {
	var c config
	var sizes, loads string
	flag.StringVar(&c.out, "out", "", "folder to write the records to (required)")
	flag.StringVar(&c.cbc, "cbc", "/usr/bin/cbc", "the CBC binary")
	flag.StringVar(&c.work, "work", "", "folder for the LP and solution files (default: a temporary one, removed)")
	flag.IntVar(&c.first, "first", 1, "seed of the first instance")
	flag.IntVar(&c.count, "count", 10, "number of instances")
	flag.StringVar(&sizes, "sizes", "5x6,5x10,6x8,8x12,8x16,10x12,10x15,10x20,12x20,15x20,15x30,20x30,25x40,30x50",
		"clusters x components of the instances, in turn")
	flag.StringVar(&loads, "loads", "0.85,0.6", "CPU and memory demand over capacity, in turn after each round of sizes")
	flag.IntVar(&c.seconds, "sec", 120, "CBC time limit per instance, seconds")
	flag.IntVar(&c.parallel, "parallel", 2, "solves at once (CBC is single-threaded)")
	flag.BoolVar(&c.force, "force", false, "solve again instances whose record exists")
	flag.Parse()
	if c.out == "" {
		return errors.New("-out: required")
	}
	if c.count < 1 || c.parallel < 1 || c.seconds < 1 {
		return errors.New("-count, -parallel and -sec must be >= 1")
	}
	for _, s := range strings.Split(sizes, ",") {
		var o placementtest.TightOptions
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "%dx%d", &o.Clusters, &o.Components); err != nil || o.Clusters < 2 || o.Components < 1 {
			return fmt.Errorf("-sizes: %q is not clusters (>= 2) x components (>= 1), e.g. 10x20", s)
		}
		c.sizes = append(c.sizes, o)
	}
	for _, s := range strings.Split(loads, ",") {
		l, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || l <= 0 || l > 1 {
			return fmt.Errorf("-loads: %q is not a fraction in (0, 1]", s)
		}
		c.loads = append(c.loads, l)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if c.work != "" {
		if err := os.MkdirAll(c.work, 0o755); err != nil {
			return err
		}
	} else {
		dir, err := os.MkdirTemp("", "milpset-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.work = dir
	}
	version, err := cbcVersion(c.cbc)
	if err != nil {
		return err
	}
	jobs := make(chan int)
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for range c.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				line, err := c.one(i, version)
				mu.Lock()
				if err != nil {
					failed = append(failed, err.Error())
					fmt.Println("FAIL", err)
				} else if line != "" {
					fmt.Println(line)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range c.count {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(failed) > 0 {
		return fmt.Errorf("%d instance(s) failed:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	return nil
}

func cbcVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "-quit").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("running %s: %w (install the Debian package coinor-cbc)", bin, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Version:"); ok {
			return "cbc " + strings.TrimSpace(v), nil
		}
	}
	return "cbc", nil
}

// one generates, solves, checks and stores instance i.
func (c *config) one(i int, version string) (string, error) {
	seed := uint64(c.first + i)
	o := c.sizes[i%len(c.sizes)]
	o.Load = c.loads[(i/len(c.sizes))%len(c.loads)]
	t := placementtest.GenerateTight(seed, o)
	if _, err := os.Stat(filepath.Join(c.out, t.Name+".json")); err == nil && !c.force {
		return "", nil
	}
	m, err := placementtest.NewMILP(t.Instance)
	if err != nil {
		return "", err
	}
	lp := filepath.Join(c.work, t.Name+".lp")
	sol := filepath.Join(c.work, t.Name+".sol")
	f, err := os.Create(lp)
	if err != nil {
		return "", err
	}
	if err := m.WriteLP(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	os.Remove(sol)
	args := []string{lp, "sec", strconv.Itoa(c.seconds), "ratioGap", "1e-9", "allowableGap", "1e-9", "solve", "solu", sol}
	start := time.Now()
	log, err := exec.CommandContext(context.Background(), c.cbc, args...).CombinedOutput()
	secs := time.Since(start).Seconds()
	if err != nil {
		return "", fmt.Errorf("%s: cbc: %w\n%s", t.Name, err, log)
	}
	res, values, err := parseCBC(string(log), sol)
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	res.Name = fmt.Sprintf("%s sec %d ratioGap 1e-9", version, c.seconds)
	res.Seconds = math.Round(secs*1000) / 1000
	b, y, rows := m.Size()
	res.Size = [3]int{b, y, rows}
	if res.Status == placementtest.StatusOptimal || res.Status == placementtest.StatusFeasible {
		if res.Assignment, err = m.Assignment(values); err != nil {
			return "", fmt.Errorf("%s: %w", t.Name, err)
		}
		if err := check(t.Instance, m, res); err != nil {
			return "", fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	rec, err := placementtest.NewOracleRecord(seed, o, t.Instance, res)
	if err != nil {
		return "", err
	}
	if err := placementtest.WriteOracleRecord(c.out, rec); err != nil {
		return "", err
	}
	return fmt.Sprintf("%-28s %5d bin %7d cont %6d rows  %-10s obj %12.4f bound %12.4f  %7.1fs",
		t.Name, b, y, rows, res.Status, res.Objective, res.Bound, secs), nil
}

// check holds a solver's plan against the model (the model's cost of the decoded plan
// equals the solver's objective) and against the engine (Place in Repair mode with the
// plan as current keeps it whole: the engine's own model accepts it).
func check(in placementtest.Instance, m *placementtest.MILP, res placementtest.SolverResult) error {
	cost, err := m.Cost(res.Assignment)
	if err != nil {
		return err
	}
	if math.Abs(cost-res.Objective) > 1e-6*max(1, math.Abs(cost)) {
		return fmt.Errorf("the decoded plan costs %v in the model, the solver says %v", cost, res.Objective)
	}
	req := in.Request()
	req.Current, req.Mode = res.Assignment, placement.Repair
	plan, err := placement.Place(context.Background(), in.Snapshot(), req)
	if err != nil {
		return fmt.Errorf("the engine rejects the solver's plan: %w", err)
	}
	if !plan.Feasible || plan.Moves != 0 {
		return fmt.Errorf("the engine repairs the solver's plan with %d moves (feasible %v)", plan.Moves, plan.Feasible)
	}
	if math.Abs(plan.Objective.Total-res.Objective) > 1e-6*max(1, math.Abs(res.Objective)) {
		return fmt.Errorf("the engine prices the solver's plan at %v, the solver at %v", plan.Objective.Total, res.Objective)
	}
	return nil
}

// parseCBC reads CBC's log (status, objective, lower bound) and its solution file
// (one "index name value reduced-cost" line per non-zero variable after a status line).
func parseCBC(log, solFile string) (placementtest.SolverResult, map[string]float64, error) {
	var res placementtest.SolverResult
	num := func(line, prefix string) (float64, bool) {
		v, ok := strings.CutPrefix(line, prefix)
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	}
	result := ""
	haveBound, noSolution := false, false
	for _, l := range strings.Split(log, "\n") {
		l = strings.TrimSpace(l)
		// After a time limit without an integer solution CBC's solution file holds the
		// LP relaxation: never read it as a plan.
		noSolution = noSolution || strings.HasPrefix(l, "No feasible solution found")
		if r, ok := strings.CutPrefix(l, "Result - "); ok {
			result = r
		}
		if v, ok := num(l, "Objective value:"); ok {
			res.Objective = v
		}
		if v, ok := num(l, "Lower bound:"); ok {
			res.Bound, haveBound = v, true
		}
	}
	switch {
	case strings.HasPrefix(result, "Optimal solution found"):
		res.Status = placementtest.StatusOptimal
	case strings.Contains(result, "infeasible") || strings.Contains(log, "\nProblem is infeasible"):
		res.Status = placementtest.StatusInfeasible
		return res, nil, nil
	case strings.HasPrefix(result, "Stopped"):
		res.Status = placementtest.StatusUnknown
	default:
		return res, nil, fmt.Errorf("unknown CBC result %q", result)
	}
	if noSolution {
		res.Status, res.Objective, res.Bound = placementtest.StatusUnknown, 0, 0
		return res, nil, nil
	}
	data, err := os.ReadFile(solFile)
	if err != nil {
		if res.Status == placementtest.StatusUnknown {
			res.Objective = 0
			return res, nil, nil
		}
		return res, nil, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	values := map[string]float64{}
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			low := strings.ToLower(line)
			if strings.Contains(low, "infeasible") || strings.Contains(low, "no feasible") || strings.Contains(low, "no integer solution") {
				res.Status, res.Objective = placementtest.StatusUnknown, 0
				return res, nil, nil
			}
			if i := strings.LastIndex(line, "objective value"); i >= 0 {
				if v, err := strconv.ParseFloat(strings.TrimSpace(line[i+len("objective value"):]), 64); err == nil {
					res.Objective = v
				}
			}
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "**"))
		if len(fields) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return res, nil, fmt.Errorf("solution line %q: %w", line, err)
		}
		values[fields[1]] = v
	}
	if res.Status == placementtest.StatusUnknown {
		res.Status = placementtest.StatusFeasible
		if !haveBound {
			return res, nil, errors.New("CBC stopped with a solution but printed no lower bound")
		}
	} else {
		res.Bound = res.Objective
	}
	return res, values, nil
}
