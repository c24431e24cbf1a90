package looptest

import (
	"testing"
	"time"
)

// The topology has the scenario's clusters, and every link carries its declared RTT.
func TestTopologyDeclaredRTTs(t *testing.T) {
	topo := Topology(t)
	var names []string
	for _, c := range topo.Clusters() {
		names = append(names, c.Name)
	}
	if len(names) != len(Clusters) {
		t.Fatalf("clusters %v, want %v", names, Clusters)
	}
	for k, v := range Declared {
		l, ok := topo.Link(k[0], k[1])
		if !ok {
			t.Errorf("no link %s-%s", k[0], k[1])
			continue
		}
		if want := time.Duration(v * float64(time.Millisecond)); time.Duration(l.RTT) != want {
			t.Errorf("link %s-%s RTT %v, want %v", k[0], k[1], time.Duration(l.RTT), want)
		}
	}
}

func TestStateEqual(t *testing.T) {
	if !WantPlaced.Equal(WantPlaced) || WantPlaced.Equal(WantMigrated) || WantRemoved.Equal(WantPlaced) {
		t.Error("Equal: a state must equal itself and differ from the others")
	}
	if !(State{Offload: []string{}}).Equal(WantRemoved) {
		t.Error("an empty target list equals none")
	}
}
