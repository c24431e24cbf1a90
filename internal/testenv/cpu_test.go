package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProcStat(t *testing.T) {
	dir := t.TempDir()
	// A stat line as proc(5) documents it, with a command name holding a space and
	// a parenthesis: utime 250 and stime 50 ticks are 3 s at USER_HZ 100.
	line := "4242 (kube ap)i) S 17 4242 17 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 900 1000000 5000 18446744073709551615\n"
	path := filepath.Join(dir, "stat")
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	pid, ppid, cpu, ok := procStat(path)
	if !ok || pid != 4242 || ppid != 17 || cpu != 3*time.Second {
		t.Errorf("procStat = %d, %d, %v, %v; want 4242, 17, 3s, true", pid, ppid, cpu, ok)
	}
	for _, bad := range []string{"", "4242 (x S 17", "4242 (x) S 17 1 2", "x (y) S 17 4242 17 0 -1 0 0 0 0 0 1 1 0"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := procStat(path); ok {
			t.Errorf("procStat(%q) accepted a malformed line", bad)
		}
	}
	if _, _, _, ok := procStat(filepath.Join(dir, "missing")); ok {
		t.Error("procStat of a missing file reported ok")
	}
}

// The process's own stat file parses and names this process and its parent.
func TestProcStatSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid, ppid, _, ok := procStat("/proc/self/stat")
	if !ok || pid != os.Getpid() || ppid != os.Getppid() {
		t.Errorf("procStat(/proc/self/stat) = %d, %d, %v; want %d, %d, true", pid, ppid, ok, os.Getpid(), os.Getppid())
	}
}

func TestCPUSampleSince(t *testing.T) {
	s := time.Second
	before := CPUSample{
		{PID: 1, Kind: "test", CPU: 10 * s},
		{PID: 2, Kind: "etcd", Cluster: "a", CPU: 4 * s},
		{PID: 3, Kind: "etcd", Cluster: "b", CPU: 1 * s},
		{PID: 4, Kind: "kwok", Cluster: "a", CPU: 9 * s}, // ends before the second sample
		{PID: 5, Kind: "etcd", Cluster: "b", CPU: 7 * s}, // its PID is reused by another kind
	}
	after := CPUSample{
		{PID: 1, Kind: "test", CPU: 11 * s},
		{PID: 2, Kind: "etcd", Cluster: "a", CPU: 6 * s},
		{PID: 3, Kind: "etcd", Cluster: "b", CPU: 4 * s},
		{PID: 5, Kind: "virtual-kubelet", Cluster: "a", CPU: 2 * s},
		{PID: 6, Kind: "virtual-kubelet", Cluster: "b", CPU: 1 * s}, // started in between
	}
	got := after.Since(before)
	want := []CPUUse{
		{Kind: "etcd", CPU: 5 * s, ByCluster: map[string]time.Duration{"a": 2 * s, "b": 3 * s}, Procs: 2},
		{Kind: "virtual-kubelet", CPU: 3 * s, ByCluster: map[string]time.Duration{"a": 2 * s, "b": 1 * s}, Procs: 2},
		{Kind: "test", CPU: 1 * s, ByCluster: map[string]time.Duration{"": 1 * s}, Procs: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Since = %+v; want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.CPU != w.CPU || g.Procs != w.Procs || len(g.ByCluster) != len(w.ByCluster) {
			t.Errorf("Since[%d] = %+v; want %+v", i, g, w)
			continue
		}
		for c, d := range w.ByCluster {
			if g.ByCluster[c] != d {
				t.Errorf("Since[%d].ByCluster[%q] = %v; want %v", i, c, g.ByCluster[c], d)
			}
		}
	}
	table := FormatCPU(got, []string{"a", "b"})
	for _, line := range []string{"etcd                         2     5.00    2.00    3.00", "total                              9.00"} {
		if !strings.Contains(table, line) {
			t.Errorf("FormatCPU lacks %q:\n%s", line, table)
		}
	}
}
