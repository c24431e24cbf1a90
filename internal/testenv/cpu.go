package testenv

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, which is
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// ProcCPU is the CPU time one process has used since it started.
type ProcCPU struct {
	// PID is the process ID.
	PID int
	// Kind is the process's executable name: kube-apiserver, etcd,
	// kube-controller-manager, kube-scheduler, kwok, liqo-controller-manager,
	// crd-replicator, liqo-webhook, virtual-kubelet; "test" for this process.
	Kind string
	// Cluster is the name of the real cluster the process belongs to; empty for this
	// process and for children of no cluster of the environment.
	Cluster string
	// CPU is user plus system time.
	CPU time.Duration
}

// CPUSample is the CPU time of every process of an environment at one moment, read
// from /proc; [CPUSample.Since] tells where the CPU went between two samples.
type CPUSample []ProcCPU

// SampleCPU reads the CPU time of this process and of each of its direct children
// (every process the environment started: envtest's apiservers and etcds, the
// controllers, KWOK, the virtual kubelets), each attributed to the cluster whose
// folder its command line or environment names. It is for reports (where an
// operation's CPU goes), not for assertions; elsewhere than on Linux it returns an
// error.
func (e *RealEnv) SampleCPU() (CPUSample, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return nil, fmt.Errorf("testenv: no /proc to read CPU times from (%v)", err)
	}
	self := os.Getpid()
	var out CPUSample
	for _, f := range stats {
		pid, ppid, cpu, ok := procStat(f)
		switch {
		case !ok:
			continue // gone, or unreadable
		case pid == self:
			out = append(out, ProcCPU{PID: pid, Kind: "test", CPU: cpu})
			continue
		case ppid != self:
			continue
		}
		dir := filepath.Dir(f)
		kind := strconv.Itoa(pid)
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
			kind = filepath.Base(exe)
		}
		out = append(out, ProcCPU{PID: pid, Kind: kind, Cluster: e.clusterOf(dir), CPU: cpu})
	}
	return out, nil
}

// clusterOf returns the name of the cluster whose folder the command line or
// environment of the process at procDir names, or "".
func (e *RealEnv) clusterOf(procDir string) string {
	var text []byte
	for _, f := range []string{"cmdline", "environ"} {
		data, err := os.ReadFile(filepath.Join(procDir, f))
		if err == nil {
			text = append(append(text, data...), 0)
		}
	}
	for _, c := range e.Clusters {
		if c == nil || c.Cluster == nil {
			continue
		}
		if bytes.Contains(text, []byte(c.dir+string(filepath.Separator))) || bytes.Contains(text, []byte(c.logDir+string(filepath.Separator))) {
			return c.Name
		}
	}
	return ""
}

// procStat reads a /proc/<pid>/stat file: the process ID, its parent's and
// utime+stime.
func procStat(path string) (pid, ppid int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, false
	}
	// "pid (comm) state ppid ... utime stime ...": comm may hold spaces and
	// parentheses, so split after its last ')'.
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 1 || end < open {
		return 0, 0, 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(data[:open])))
	if err != nil {
		return 0, 0, 0, false
	}
	// After comm: state(0) ppid(1) ... utime(11) stime(12).
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 13 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	utime, err2 := strconv.ParseInt(fields[11], 10, 64)
	stime, err3 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return pid, ppid, time.Duration(utime+stime) * (time.Second / clockTicks), true
}

// CPUUse is the CPU time used by the processes of one kind, summed over the
// clusters, between two samples.
type CPUUse struct {
	Kind string
	// CPU is the total; ByCluster splits it by cluster name ("" for processes of no
	// cluster).
	CPU       time.Duration
	ByCluster map[string]time.Duration
	// Procs is how many processes of the kind the later sample holds.
	Procs int
}

// Since returns the CPU time each kind of process used from the earlier sample to
// s, largest first. A process that started in between counts from zero; one that
// ended in between is missing from s and not counted (its last interval is lost).
func (s CPUSample) Since(earlier CPUSample) []CPUUse {
	before := map[int]ProcCPU{}
	for _, p := range earlier {
		before[p.PID] = p
	}
	byKind := map[string]*CPUUse{}
	for _, p := range s {
		d := p.CPU
		if b, ok := before[p.PID]; ok && b.Kind == p.Kind {
			d -= b.CPU
		}
		u := byKind[p.Kind]
		if u == nil {
			u = &CPUUse{Kind: p.Kind, ByCluster: map[string]time.Duration{}}
			byKind[p.Kind] = u
		}
		u.CPU += d
		u.ByCluster[p.Cluster] += d
		u.Procs++
	}
	out := make([]CPUUse, 0, len(byKind))
	for _, u := range byKind {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b CPUUse) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), strings.Compare(a.Kind, b.Kind))
	})
	return out
}

// FormatCPU renders uses as a table: one line per kind with its total and its split
// over clusters (in the order of clusters), then the total.
func FormatCPU(uses []CPUUse, clusters []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %5s %8s", "process", "procs", "cpu-s")
	for _, c := range clusters {
		fmt.Fprintf(&b, " %7s", c)
	}
	b.WriteString("\n")
	var total time.Duration
	for _, u := range uses {
		total += u.CPU
		fmt.Fprintf(&b, "%-24s %5d %8.2f", u.Kind, u.Procs, u.CPU.Seconds())
		for _, c := range clusters {
			fmt.Fprintf(&b, " %7.2f", u.ByCluster[c].Seconds())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%-24s %5s %8.2f\n", "total", "", total.Seconds())
	return b.String()
}

// MachineBusy returns the CPU time every process of the machine has used since boot
// (user, nice, system, irq, softirq and steal time of /proc/stat, summed over the
// cores): the difference between two calls, next to [CPUSample.Since], says how much
// of the machine the environment had (other work shares the cores). Elsewhere than on
// Linux it returns an error.
func MachineBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("testenv: no /proc/stat to read CPU times from: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("testenv: /proc/stat: unexpected first line %q", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("testenv: /proc/stat: field %d of %q: %w", i, line, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}
