package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanHostileInput: bad topologies, applications and current plans give exit 1 and
// a message naming the field, small whatever the input, and never a panic. Each case
// was accepted, hung, panicked or exited 2 before.
func TestPlanHostileInput(t *testing.T) {
	topo, err := os.ReadFile(topoFile)
	if err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile(appFile)
	if err != nil {
		t.Fatal(err)
	}
	line := "apiVersion: continuum.xr/v1alpha1\nkind: Topology\nclusters:\n" +
		"  - {name: a, owner: o, tier: edge, links: [{to: b, rtt: 2000000h}]}\n" +
		"  - {name: b, owner: o, tier: edge, links: [{to: c, rtt: 2000000h}]}\n" +
		"  - {name: c, owner: o, tier: edge}\n"
	edit := func(doc []byte, old, new string) string {
		if !strings.Contains(string(doc), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(doc), old, new, 1)
	}
	okCurrent := `{"assignments": [{"app": "xr-collab", "component": "render-geneva", "replica": 0, "cluster": "gva-edge"}]}`
	tests := []struct {
		name           string
		topo, app, cur string // "" means the fixture (no --current)
		want           string // in stderr
	}{
		{name: "route RTT overflow", topo: line, want: "clusters[0].links[0].rtt"},
		{name: "cluster cpu 1e16", topo: edit(topo, `cpu: "192"`, `cpu: "1e16"`), want: "clusters[0].nodePools[0].capacity.cpu"},
		{name: "cpuPrice 1e308", topo: edit(topo, "cpuPrice: 0.04", "cpuPrice: 1e308"), want: "clusters[0].cpuPrice"},
		{name: "cpuPrice nan", topo: edit(topo, "cpuPrice: 0.04", "cpuPrice: .nan"), want: "clusters[0].cpuPrice"},
		{name: "tunnel rtt", topo: edit(topo, "tunnel: {rtt: 0.3ms", "tunnel: {rtt: 1h"), want: "clusters[0].links[0].tunnel.rtt"},
		{name: "huge name", topo: edit(topo, "name: paper-fig1", "name: "+strings.Repeat("x", 2<<20)), want: "metadata.name"},
		{name: "co-located and anti-affine", app: edit(app, "    processingTime: 1ms\n", "    processingTime: 1ms\n    coLocate: [state-store]\n    antiAffinity: [state-store]\n"),
			want: "components[2].antiAffinity[0]"},
		{name: "request cpu 1e16", app: edit(app, `cpu: "32"`, `cpu: "1e16"`), want: "components[4].requests.cpu"},
		{name: "request memory 8Ei", app: edit(app, "memory: 64Gi", "memory: 8Ei"), want: "components[4].requests.memory"},
		{name: "resource name", app: edit(app, `requests: {cpu: "32"`, `requests: {"c p u!": 1, cpu: "32"`), want: "components[4].requests"},
		{name: "flow overflow", app: edit(app, "bandwidth: 1Gbps", "bandwidth: 5000000Tbps"), want: "flows[5].bandwidth"},
		{name: "flow unlimited", app: edit(app, "bandwidth: 1Gbps", "bandwidth: unlimited"), want: "flows[5].bandwidth"},
		{name: "replica pairs", app: edit([]byte(edit(app, "    stateSize: 20Gi\n", "    stateSize: 20Gi\n    replicas: 10000\n")), "    allowed: {tiers: [cloud]}\n", "    allowed: {tiers: [cloud]}\n    replicas: 10000\n"),
			want: "flows[5]"},
		{name: "processing time", app: edit(app, "processingTime: 1ms", "processingTime: 2562047h"), want: "components[2].processingTime"},
		{name: "current unknown component", cur: strings.Replace(okCurrent, "render-geneva", "ghost", 1), want: "current[0].component"},
		{name: "current replica out of range", cur: strings.Replace(okCurrent, `"replica": 0`, `"replica": 7`, 1), want: "current[0].replica"},
		{name: "current misspelt field", cur: strings.Replace(okCurrent, `"cluster"`, `"clustr"`, 1), want: "assignments[0].clustr"},
		{name: "current null", cur: "null", want: "empty document"},
		{name: "current twice", cur: strings.Replace(okCurrent, "}]", `}, {"app": "xr-collab", "component": "render-geneva", "replica": 0, "cluster": "fra-cloud"}]`, 1), want: "assignments[1]"},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"plan", "-t", topoFile, "-a", appFile}
			for _, f := range []struct {
				doc  string
				flag int // index in args of the path to replace, or -1 to append --current
			}{{tc.topo, 2}, {tc.app, 4}, {tc.cur, -1}} {
				if f.doc == "" {
					continue
				}
				path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+string(rune('a'+i%26))+".yaml")
				if err := os.WriteFile(path, []byte(f.doc), 0o600); err != nil {
					t.Fatal(err)
				}
				if f.flag < 0 {
					args = append(args, "--current", path)
				} else {
					args[f.flag] = path
				}
			}
			code, _, stderr := ctl(t, args...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %.500s; want exit %d naming %s", code, stderr, exitBadInput, tc.want)
			}
			if len(stderr) > 4000 {
				t.Errorf("stderr is %d bytes long", len(stderr))
			}
		})
	}
	// A good current plan still works.
	path := filepath.Join(dir, "current.json")
	if err := os.WriteFile(path, []byte(okCurrent), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := ctl(t, "plan", "-t", topoFile, "-a", appFile, "--current", path); code != exitPlaced {
		t.Errorf("a valid current plan: exit %d, %s", code, stderr)
	}
}

// TestPlanEndlessTopology: -t /dev/zero stops at the size limit with exit 1.
func TestPlanEndlessTopology(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	code, _, stderr := ctl(t, "plan", "-t", "/dev/zero", "-a", appFile)
	if code != exitBadInput || !strings.Contains(stderr, "limit") {
		t.Errorf("exit %d, stderr %.300s", code, stderr)
	}
}
