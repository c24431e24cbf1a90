package placement_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// FuzzDecodePlan: the plan decoder never panics, its errors are ErrorLists matching
// ErrInvalid, and what it accepts is a list of distinct replicas that encodes and
// decodes back to itself.
func FuzzDecodePlan(f *testing.F) {
	f.Add([]byte(`{"feasible": true, "assignments": [{"app": "x", "component": "a", "replica": 0, "cluster": "a", "nodePool": "p"}], "moves": 0, "objective": {}, "search": {}}`))
	f.Add([]byte(`{"assignments": [{"app": "x", "component": "a", "replica": 0}, {"app": "x", "component": "a", "replica": 0}]}`))
	f.Add([]byte("assignments:\n- {app: x, component: a, replica: 1, cluster: .nan}\n"))
	f.Add([]byte(`{"assignments": null, "flows": {}}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		plan, err := placement.DecodePlan(data)
		if err != nil {
			if _, ok := placement.AsErrorList(err); !ok || !errors.Is(err, placement.ErrInvalid) {
				t.Fatalf("error is not an ErrorList matching ErrInvalid: %v", err)
			}
			return
		}
		seen := map[placement.Assignment]bool{}
		for _, a := range plan.Assignments {
			key := placement.Assignment{App: a.App, Component: a.Component, Replica: a.Replica}
			if a.Replica < 0 || seen[key] {
				t.Fatalf("accepted a negative or repeated replica: %+v", a)
			}
			seen[key] = true
		}
		js, err := json.Marshal(plan)
		if err != nil {
			t.Fatalf("an accepted plan does not encode: %v", err)
		}
		back, err := placement.DecodePlan(js)
		if err != nil {
			t.Fatalf("DecodePlan of its own output: %v\n%s", err, js)
		}
		if !slices.Equal(back.Assignments, plan.Assignments) || back.Feasible != plan.Feasible {
			t.Fatalf("round trip changed the plan: %+v -> %+v", plan.Assignments, back.Assignments)
		}
	})
}

// bytesReader hands out the fuzz input a byte at a time, zeros when it runs out.
type bytesReader struct {
	data []byte
	i    int
}

func (r *bytesReader) next() int {
	if r.i >= len(r.data) {
		return 0
	}
	r.i++
	return int(r.data[r.i-1])
}

// in returns a value in [0, n).
func (r *bytesReader) in(n int) int { return r.next() % n }

// fuzzInstance builds a small continuum and application from fuzz bytes: 2 to 4
// clusters, some links (capacities and RTTs from the bytes), a site, 1 to 4 components
// with replicas, requests, allowed clusters, spread, anti-affinity and co-location, flows
// and a chain, and a current plan that may be wrong. Values outside the ranges appear
// too, to reach the validation.
func fuzzInstance(data []byte) (topology.Spec, placement.Request) {
	r := &bytesReader{data: data}
	names := []string{"c0", "c1", "c2", "c3"}
	n := 2 + r.in(3)
	spec := topology.Spec{}
	for i := range n {
		c := topology.Cluster{Name: names[i], Owner: "o", Tier: topology.TierEdge, CPUPrice: float64(r.in(5)),
			UDPExposure: r.in(2) == 0,
			Capacity: topology.ResourceList{
				topology.ResourceCPU:    *resource.NewMilliQuantity(int64(r.in(8)*500), resource.DecimalSI),
				topology.ResourceMemory: *resource.NewQuantity(int64(r.in(4))<<30, resource.BinarySI),
				topology.ResourceGPU:    *resource.NewQuantity(int64(r.in(3)), resource.DecimalSI),
			}}
		if r.in(4) == 0 {
			c.Uplink = topology.Bandwidth(1+r.in(20)) * topology.Gbps
		}
		for j := i + 1; j < n; j++ {
			if r.in(3) == 0 {
				continue
			}
			l := topology.LinkSpec{To: names[j], RTT: topology.Duration(1+r.in(40)) * topology.Millisecond / 2}
			if r.in(3) == 0 {
				l.Capacity = topology.Bandwidth(1+r.in(20)) * topology.Gbps
			}
			c.Links = append(c.Links, l)
		}
		spec.Clusters = append(spec.Clusters, c)
	}
	spec.Sites = []topology.Site{{Name: "users", Access: []topology.AccessLink{{Cluster: names[r.in(n)], RTT: topology.Duration(1+r.in(10)) * topology.Millisecond}}}}

	app := placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind, Metadata: placement.Metadata{Name: "x"}}
	comps := []string{"a", "b", "c", "d"}
	k := 1 + r.in(4)
	for i := range k {
		c := placement.Component{Name: comps[i], Replicas: r.in(4),
			Requests: topology.ResourceList{
				topology.ResourceCPU:    *resource.NewMilliQuantity(int64(r.in(6)*250), resource.DecimalSI),
				topology.ResourceMemory: *resource.NewQuantity(int64(r.in(3))<<29, resource.BinarySI),
			},
			ProcessingTime: topology.Duration(r.in(4)) * topology.Millisecond,
			Spread:         r.in(4) == 0}
		if r.in(5) == 0 {
			c.Requests[topology.ResourceGPU] = *resource.NewQuantity(1, resource.DecimalSI)
		}
		if r.in(4) == 0 {
			c.Allowed.Clusters = []string{names[r.in(n)]}
		}
		if r.in(5) == 0 {
			c.Ports = []placement.Port{{Port: 4000, Protocol: placement.UDP, Expose: true}}
		}
		if r.in(4) == 0 {
			c.AntiAffinity = []string{comps[r.in(k)]}
		}
		if r.in(4) == 0 {
			c.CoLocate = []string{comps[r.in(k)]}
		}
		app.Components = append(app.Components, c)
	}
	ends := append(comps[:k:k], "users")
	for range r.in(4) {
		f := placement.Flow{From: ends[r.in(len(ends))], To: ends[r.in(len(ends))],
			Bandwidth: topology.Bandwidth(r.in(12)) * topology.Gbps, MaxRTT: topology.Duration(r.in(30)) * topology.Millisecond}
		if r.in(4) == 0 {
			f.Protocol = placement.UDP
		}
		app.Flows = append(app.Flows, f)
	}
	if r.in(2) == 0 {
		path := []string{"users"}
		for range 1 + r.in(3) {
			path = append(path, comps[r.in(k)])
		}
		app.Chains = []placement.Chain{{Name: "mtp", Path: append(path, "users"), Budget: topology.Duration(1+r.in(40)) * topology.Millisecond}}
	}
	req := placement.Request{Apps: []placement.Application{app}, MaxNodes: 500}
	if r.in(2) == 0 {
		req.Strategy = placement.StrategyExact
	}
	for range r.in(4) {
		req.Current = append(req.Current, placement.Assignment{App: []string{"x", "y"}[r.in(2)], Component: append(comps[:k:k], "ghost")[r.in(k+1)],
			Replica: r.in(5) - 1, Cluster: append(names[:n:n], "")[r.in(n+1)]})
	}
	if r.in(2) == 0 {
		req.Mode = placement.Repair
	}
	return spec, req
}

// FuzzPlace: on small instances built from the fuzz bytes, Place never panics, stops
// within its node budget, fails only with ErrInvalid or ErrUnplaceable, and every plan
// it calls feasible passes the independent checker (oracle_test.go).
func FuzzPlace(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("placement fuzz seed: two clusters, a chain"))
	f.Add([]byte{2, 1, 0, 7, 3, 1, 2, 0, 0, 1, 5, 9, 3, 3, 2, 1, 1, 0, 0, 0, 4, 4, 1, 0, 2, 3, 0, 1, 1, 2, 3})
	f.Add([]byte{0xff, 0xfe, 0xfd, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0})
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, req := fuzzInstance(data)
		topo, err := topology.New(spec)
		if err != nil {
			t.Fatalf("the generator made an invalid topology: %v", err)
		}
		plan, err := placement.Place(context.Background(), &placement.Snapshot{Topology: topo}, &req)
		var ue *placement.UnplaceableError
		switch {
		case errors.Is(err, placement.ErrInvalid):
			if _, ok := placement.AsErrorList(err); !ok {
				t.Fatalf("invalid input without an ErrorList: %v", err)
			}
			return
		case errors.As(err, &ue):
			if plan == nil || plan.Feasible {
				t.Fatalf("unplaceable with plan %+v", plan)
			}
		case err != nil:
			t.Fatalf("unexpected error: %v", err)
		}
		if plan.Search.Nodes > req.MaxNodes+1000 {
			t.Errorf("the search took %d nodes with MaxNodes %d", plan.Search.Nodes, req.MaxNodes)
		}
		if _, err := json.Marshal(plan); err != nil {
			t.Fatalf("the plan does not encode: %v", err)
		}
		if !plan.Feasible {
			return
		}
		o := oracle{topo: topo, apps: req.Apps, w: placement.DefaultWeights()}
		if ok, _, why := o.evaluate(assignmentOf(plan)); !ok {
			t.Fatalf("Place calls a plan feasible that breaks %s:\n%s", why, fmt.Sprint(plan.Assignments))
		}
	})
}
