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
// service, a store; chains and flows to sites) with the default strategy and the default
// explanation level. Targets on a 2-core machine: <= 1 ms, <= 20 ms, <= 2 s per op.
func BenchmarkPlace(b *testing.B) {
	for _, size := range []struct{ clusters, components int }{{100, 10}, {1000, 100}, {1000, 10000}} {
		in := pt.Generate(1, pt.GenOptions{Clusters: size.clusters, Components: size.components, Planted: true})
		b.Run(fmt.Sprintf("clusters=%d/components=%d", size.clusters, size.components), func(b *testing.B) {
			b.ReportAllocs()
			req := in.Request()
			for b.Loop() {
				if _, err := placement.Place(context.Background(), in.Snapshot(), req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(countReplicas(in.Apps))*float64(b.N)/b.Elapsed().Seconds(), "replicas/s")
		})
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
	snap := in.Snapshot()
	snap.RTT = map[placement.Pair]topology.Duration{placement.MakePair(link.A, link.B): 2 * link.EffectiveRTT()}
	req := in.Request()
	req.Current, req.Mode = first.Assignments, placement.Repair
	b.Run("clusters=100/components=1000", func(b *testing.B) {
		b.ReportAllocs()
		var moves int
		for b.Loop() {
			plan, err := placement.Place(context.Background(), snap, req)
			if err != nil {
				b.Fatal(err)
			}
			moves = plan.Moves
		}
		b.ReportMetric(float64(moves), "moves")
	})
}
