package topology_test

import (
	"errors"
	"testing"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// FuzzDecode feeds arbitrary documents to the decoder: it must never panic, every
// failure must be an ErrorList matching ErrInvalid, and every document it accepts must
// survive Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(topologytest.PaperFig1YAML())
	f.Add([]byte(good))
	f.Add([]byte(header + "clusters: [{name: a, owner: o, tier: edge, capacity: {cpu: -1}}]"))
	f.Add([]byte(`{"apiVersion":"continuum.xr/v1alpha1","kind":"Topology","clusters":[{"name":"a","owner":"o","tier":"edge","links":[{"to":"a","rtt":"1ms"}]}]}`))
	f.Add([]byte("clusters: [\n"))
	f.Add([]byte(header + "clusters: [{name: a, owner: o, tier: edge, labels: {k: v}, taints: [{key: k, value: v, effect: NoExecute, added: \"2026-12-06T08:00:00Z\"}]}]"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := topology.Decode(data)
		if err != nil {
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			if _, ok := topology.AsErrorList(err); !ok {
				t.Fatalf("error is not an ErrorList: %v", err)
			}
			return
		}
		out, err := topology.Encode(topo.Spec())
		if err != nil {
			t.Fatalf("Encode of an accepted document: %v", err)
		}
		back, err := topology.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(x)) failed: %v\n%s", err, out)
		}
		again, _ := topology.Encode(back.Spec())
		if string(again) != string(out) {
			t.Fatalf("round trip changed the document:\n%s\n---\n%s", out, again)
		}
		for i := range topo.NumClusters() {
			for j := range topo.NumClusters() {
				x, _ := topo.RTTAt(i, j)
				y, _ := back.RTTAt(i, j)
				if x != y {
					t.Fatalf("RTT(%d,%d) changed in the round trip: %v -> %v", i, j, x, y)
				}
			}
		}
	})
}
