package topology_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/topology"
)

func TestTaintsDecodeAndEncode(t *testing.T) {
	doc := strings.Replace(good, "tier: edge", `tier: edge
    labels: {gpu.vendor: nvidia, example.com/zone: eu-1}
    taints:
      - {key: continuum.xr/drain, effect: NoExecute, added: "2026-12-06T08:00:00Z"}
      - {key: maintenance, value: planned, effect: PreferNoSelect}`, 1)
	spec, err := topology.DecodeSpec([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	ts := spec.Clusters[0].Taints
	if len(ts) != 2 || ts[0].Effect != topology.NoExecute || ts[1].String() != "maintenance=planned:PreferNoSelect" {
		t.Fatalf("taints = %+v", ts)
	}
	if want := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC); !ts[0].Added.Equal(want) {
		t.Errorf("added = %v, want %v", ts[0].Added, want)
	}
	out, err := topology.Encode(spec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := topology.DecodeSpec(out)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, out)
	}
	if got := back.Clusters[0].Taints; len(got) != 2 || !got[0].Added.Equal(ts[0].Added) || got[1] != ts[1] {
		t.Errorf("round trip: %+v, want %+v", got, ts)
	}
	if strings.Contains(string(out), "added: \"0001") {
		t.Errorf("a zero Added time is written:\n%s", out)
	}
}

// TestTaintAndLabelErrors: every bad taint or label is an error naming its field.
func TestTaintAndLabelErrors(t *testing.T) {
	tests := []struct{ insert, field, want string }{
		{"taints: [{key: a, effect: NoSchedule}]", "clusters[0].taints[0].effect", "must be NoSelect, PreferNoSelect or NoExecute"},
		{"taints: [{key: a}]", "clusters[0].taints[0].effect", "required"},
		{"taints: [{effect: NoSelect}]", "clusters[0].taints[0].key", "required"},
		{"taints: [{key: -bad-, effect: NoSelect}]", "clusters[0].taints[0].key", "not a Kubernetes label key"},
		{"taints: [{key: a, value: has space, effect: NoSelect}]", "clusters[0].taints[0].value", "not a Kubernetes label value"},
		{"taints: [{key: a, effect: NoSelect}, {key: a, effect: NoSelect}]", "clusters[0].taints[1].key", "duplicate taint"},
		{"taints: [{key: a, effect: NoSelect, added: yesterday}]", "clusters[0].taints[0].added", "cannot parse"},
		{"taints: [{key: a, effect: NoSelect, colour: red}]", "clusters[0].taints[0].colour", "unknown field"},
		{"labels: {\"bad key!\": x}", "clusters[0].labels", "not a Kubernetes label key"},
		{"labels: {gpu: \"two words\"}", "clusters[0].labels.gpu", "not a Kubernetes label value"},
	}
	for _, tt := range tests {
		doc := strings.Replace(good, "tier: edge", "tier: edge\n    "+tt.insert, 1)
		_, err := topology.Decode([]byte(doc))
		if !errors.Is(err, topology.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.insert, err)
			continue
		}
		list, _ := topology.AsErrorList(err)
		found := false
		for _, fe := range list {
			if fe.Field == tt.field && strings.Contains(fe.Detail, tt.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v, want %s: ...%s...", tt.insert, err, tt.field, tt.want)
		}
	}
}

func TestCordonDrainUncordon(t *testing.T) {
	topo, err := topology.Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	c1, err := topology.Cordon(topo, "a")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c1.Cluster("a")
	if len(a.Taints) != 1 || a.Taints[0].String() != topology.TaintUnschedulable+":NoSelect" {
		t.Fatalf("cordoned taints = %v", a.Taints)
	}
	if orig, _ := topo.Cluster("a"); len(orig.Taints) != 0 {
		t.Errorf("Cordon changed its input: %v", orig.Taints)
	}
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	d1, err := topology.Drain(c1, "a", at)
	if err != nil {
		t.Fatal(err)
	}
	// Draining again later keeps the first time: toleration periods do not restart.
	d2, err := topology.Drain(d1, "a", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a, _ = d2.Cluster("a")
	if len(a.Taints) != 2 || a.Taints[1].Effect != topology.NoExecute || !a.Taints[1].Added.Equal(at) {
		t.Fatalf("drained taints = %+v, want cordon + NoExecute added at %v", a.Taints, at)
	}
	u, err := topology.Uncordon(d2, "a")
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := u.Cluster("a"); len(a.Taints) != 0 {
		t.Errorf("after Uncordon: %v", a.Taints)
	}
	if _, err := topology.Cordon(topo, "nowhere"); !errors.Is(err, topology.ErrNotFound) {
		t.Errorf("Cordon(unknown) = %v, want ErrNotFound", err)
	}
	spec := topo.Spec()
	if err := spec.SetTaint("a", topology.Taint{Key: "k", Effect: "Sometimes"}); !errors.Is(err, topology.ErrInvalid) {
		t.Errorf("SetTaint(bad effect) = %v, want ErrInvalid", err)
	}
}

func TestTolerates(t *testing.T) {
	taint := topology.Taint{Key: "k", Value: "v", Effect: topology.NoExecute}
	tests := []struct {
		key, op, value string
		effect         topology.TaintEffect
		want           bool
	}{
		{"k", "Equal", "v", topology.NoExecute, true},
		{"k", "", "v", "", true},
		{"k", "Equal", "w", topology.NoExecute, false},
		{"k", "Exists", "", topology.NoExecute, true},
		{"k", "Exists", "", topology.NoSelect, false},
		{"", "Exists", "", "", true},
		{"", "Equal", "", "", false},
		{"other", "Exists", "", "", false},
	}
	for _, tt := range tests {
		if got := taint.Tolerates(tt.key, tt.op, tt.value, tt.effect); got != tt.want {
			t.Errorf("Tolerates(%q %s %q %q) = %v, want %v", tt.key, tt.op, tt.value, tt.effect, got, tt.want)
		}
	}
}
