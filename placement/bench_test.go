package placement_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

// BenchmarkPlace places generated XR applications (per-site renderers, a session
// service, a store; chains and flows to sites) with the default strategy, without
// explanations and with the default summary (chosen cluster and runner-up per replica).
// Targets on a 2-core machine (issue 17): 100 x 10 <= 0.5 ms without and <= 1 ms with
// the summary, 1,000 x 100 <= 10 ms, 1,000 x 10,000 <= 1 s.
func BenchmarkPlace(b *testing.B) {
	for _, size := range []struct{ clusters, components int }{{100, 10}, {1000, 100}, {1000, 10000}} {
		in := pt.Generate(1, pt.GenOptions{Clusters: size.clusters, Components: size.components, Planted: true})
		for _, level := range []struct {
			name  string
			level placement.ExplainLevel
		}{{"none", placement.ExplainNone}, {"summary", placement.ExplainChosen}} {
			b.Run(fmt.Sprintf("clusters=%d/components=%d/explain=%s", size.clusters, size.components, level.name), func(b *testing.B) {
				b.ReportAllocs()
				req := in.Request()
				req.Explain = level.level
				for b.Loop() {
					if _, err := placement.Place(context.Background(), in.Snapshot(), req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(countReplicas(in.Apps))*float64(b.N)/b.Elapsed().Seconds(), "replicas/s")
			})
		}
	}
}

// BenchmarkReplace: one link's RTT doubles (a measured override) and Repair re-places
// what violates a constraint, from the plan in force. Target <= 5 ms per op.
func BenchmarkReplace(b *testing.B) {
	in := pt.Generate(2, pt.GenOptions{Clusters: 100, Components: 1000, Planted: true})
	first, err := placement.Place(context.Background(), in.Snapshot(), in.Request())
	if err != nil {
		b.Fatal(err)
	}
	// Double the RTT of the busiest cluster-to-cluster link of the plan in force.
	var link topology.Link
	var used topology.Bandwidth = -1
	for _, u := range first.Links {
		ends := strings.SplitN(u.Name, "<->", 2)
		if l, ok := in.Topology.Link(ends[0], ends[1]); ok && u.Used > used {
			link, used = l, u.Used
		}
	}
	if used < 0 {
		b.Fatal("the plan uses no cluster link")
	}
	// Each operation is one event: the link's measured RTT alternates between two
	// degraded values (so every call sees a change and re-routes), then Repair.
	event := func(n int) topology.Duration {
		return topology.Duration(float64(link.EffectiveRTT()) * (2 + 0.1*float64(n%2)))
	}
	req := in.Request()
	req.Current, req.Mode = first.Assignments, placement.Repair
	b.Run("clusters=100/components=1000/stateless", func(b *testing.B) {
		b.ReportAllocs()
		var moves, n int
		for b.Loop() {
			snap := in.Snapshot()
			snap.RTT = map[placement.Pair]topology.Duration{placement.MakePair(link.A, link.B): event(n)}
			n++
			plan, err := placement.Place(context.Background(), snap, req)
			if err != nil {
				b.Fatal(err)
			}
			moves = plan.Moves
		}
		b.ReportMetric(float64(moves), "moves")
	})
	b.Run("clusters=100/components=1000/prepared", func(b *testing.B) {
		pp, err := placement.Prepare(in.Snapshot(), in.Apps)
		if err != nil {
			b.Fatal(err)
		}
		preq := &placement.Request{Current: first.Assignments, Mode: placement.Repair}
		b.ReportAllocs()
		var moves, n int
		for b.Loop() {
			pp.SetRTT(link.A, link.B, event(n))
			n++
			plan, err := pp.Place(context.Background(), preq)
			if err != nil {
				b.Fatal(err)
			}
			moves = plan.Moves
		}
		b.ReportMetric(float64(moves), "moves")
	})
}
