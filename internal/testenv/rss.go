package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ChildrenRSS returns the summed resident memory, in bytes, of this process's direct
// children (the apiservers, etcds, controllers, KWOK and virtual kubelets a test
// package started) and how many there are, read from /proc. It is for reports
// (the real clusters' footprint), not for assertions; elsewhere than on Linux it
// returns an error.
func ChildrenRSS() (total int64, n int, err error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return 0, 0, fmt.Errorf("testenv: no /proc to read memory from (%v)", err)
	}
	self := os.Getpid()
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the process has gone
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		if kb, ok := vmRSS(filepath.Join(filepath.Dir(f), "status")); ok {
			total += kb * 1024
			n++
		}
	}
	return total, n, nil
}

func vmRSS(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}
