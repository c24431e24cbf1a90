package topology_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func ms(f float64) topology.Duration { return topology.Millis(f) }

func TestPaperFig1RTTsAndPaths(t *testing.T) {
	topo := topologytest.PaperFig1()
	tests := []struct {
		a, b  string
		rtt   topology.Duration
		nodes []string
	}{
		{"fra-cloud", "gva-edge", ms(10.0), []string{"fra-cloud", "gva-edge"}}, // 9.7 + 0.3 tunnel
		{"gva-edge", "fra-cloud", ms(10.0), []string{"gva-edge", "fra-cloud"}},
		{"gva-edge", "mil-edge", ms(6.1), []string{"gva-edge", "mil-edge"}},
		{"gva-venue", "fra-cloud", ms(10.9), []string{"gva-venue", "gva-edge", "fra-cloud"}},
		{"fra-cloud", "gva-venue", ms(10.9), []string{"fra-cloud", "gva-edge", "gva-venue"}},
		{"gva-venue", "mil-edge", ms(7.0), []string{"gva-venue", "gva-edge", "mil-edge"}},
		{"gva-venue", "gva-venue", ms(0.1), []string{"gva-venue"}}, // its intraRTT
		{"fra-cloud", "fra-cloud", ms(0.2), []string{"fra-cloud"}}, // the default intraRTT
		{"geneva", "fra-cloud", ms(11.2), []string{"geneva", "gva-edge", "fra-cloud"}},
		{"fra-cloud", "geneva", ms(11.2), []string{"fra-cloud", "gva-edge", "geneva"}},
		{"geneva", "gva-venue", ms(0.6), []string{"geneva", "gva-venue"}},
		{"geneva", "gva-edge", ms(1.2), []string{"geneva", "gva-edge"}},
		{"geneva", "mil-edge", ms(7.3), []string{"geneva", "gva-edge", "mil-edge"}},
		{"milan", "fra-cloud", ms(12.2), []string{"milan", "mil-edge", "fra-cloud"}},
		{"geneva", "milan", ms(8.8), []string{"geneva", "gva-edge", "mil-edge", "milan"}},
		{"milan", "milan", 0, []string{"milan"}},
	}
	for _, tc := range tests {
		rtt, err := topo.RTT(tc.a, tc.b)
		if err != nil {
			t.Fatalf("RTT(%s, %s): %v", tc.a, tc.b, err)
		}
		if rtt != tc.rtt {
			t.Errorf("RTT(%s, %s) = %v, want %v", tc.a, tc.b, rtt, tc.rtt)
		}
		p, err := topo.Path(tc.a, tc.b)
		if err != nil {
			t.Fatalf("Path(%s, %s): %v", tc.a, tc.b, err)
		}
		if !reflect.DeepEqual(p.Nodes(), tc.nodes) {
			t.Errorf("Path(%s, %s) = %v, want %v", tc.a, tc.b, p.Nodes(), tc.nodes)
		}
		var sum topology.Duration
		for _, h := range p.Hops {
			sum += h.RTT
		}
		if len(p.Hops) > 0 && sum != p.RTT {
			t.Errorf("Path(%s, %s): hops sum to %v, path RTT %v", tc.a, tc.b, sum, p.RTT)
		}
		if p.RTT != rtt {
			t.Errorf("Path(%s, %s).RTT = %v, RTT() = %v", tc.a, tc.b, p.RTT, rtt)
		}
	}
}

func TestPaperFig1Bottleneck(t *testing.T) {
	topo := topologytest.PaperFig1()
	for _, tc := range []struct {
		a, b string
		want topology.Bandwidth
	}{
		{"geneva", "fra-cloud", 10 * topology.Gbps},
		{"geneva", "gva-venue", 40 * topology.Gbps},
		{"fra-cloud", "fra-cloud", topology.Unlimited},
	} {
		p, err := topo.Path(tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if p.Bottleneck != tc.want {
			t.Errorf("Path(%s, %s).Bottleneck = %v, want %v", tc.a, tc.b, p.Bottleneck, tc.want)
		}
	}
}

func TestPaperFig1Model(t *testing.T) {
	topo := topologytest.PaperFig1()
	if got := topo.NumClusters(); got != 4 {
		t.Fatalf("NumClusters = %d, want 4", got)
	}
	var names []string
	for _, c := range topo.Clusters() {
		names = append(names, c.Name)
	}
	if want := []string{"fra-cloud", "gva-edge", "gva-venue", "mil-edge"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Clusters() = %v, want name order %v", names, want)
	}
	fra, _ := topo.Cluster("fra-cloud")
	if got := fra.Capacity.MilliCPU(); got != 256_000 {
		t.Errorf("fra-cloud CPU summed from node pools = %dm, want 256000m", got)
	}
	if got := fra.Capacity.GPU(); got != 8 {
		t.Errorf("fra-cloud GPUs = %d, want 8", got)
	}
	if fra.Distribution != topology.Kubeadm || fra.IntraRTT != topology.DefaultIntraRTT || fra.Uplink != 100*topology.Gbps {
		t.Errorf("fra-cloud defaults/fields = %v %v %v", fra.Distribution, fra.IntraRTT, fra.Uplink)
	}
	venue, _ := topo.Cluster("gva-venue")
	if venue.UDPExposure || venue.Distribution != topology.K3s {
		t.Errorf("gva-venue = udp %v dist %v, want false k3s", venue.UDPExposure, venue.Distribution)
	}
	l, ok := topo.Link("gva-edge", "fra-cloud")
	if !ok {
		t.Fatal("no link fra-cloud<->gva-edge")
	}
	if l.A != "fra-cloud" || l.B != "gva-edge" || !l.Peered("gva-edge", "fra-cloud") || l.Peered("fra-cloud", "gva-edge") {
		t.Errorf("link %+v: want A=fra-cloud, gva-edge consumer of fra-cloud only", l)
	}
	// Declared under gva-venue as outgoing: venue consumes gva-edge; normalised A=gva-edge.
	l, _ = topo.Link("gva-venue", "gva-edge")
	if l.A != "gva-edge" || l.Peering != topology.PeeringIncoming || !l.Peered("gva-venue", "gva-edge") {
		t.Errorf("venue link %+v: want A=gva-edge, peering incoming", l)
	}
	if _, ok := topo.Link("fra-cloud", "gva-venue"); ok {
		t.Error("Link(fra-cloud, gva-venue) found, but there is no direct link")
	}
	var owners []string
	for _, o := range topo.Owners() {
		owners = append(owners, o.Name)
	}
	if want := []string{"cloud-a", "operator-b", "operator-c"}; !reflect.DeepEqual(owners, want) {
		t.Errorf("Owners = %v, want %v", owners, want)
	}
}

func TestQueryErrors(t *testing.T) {
	topo := topologytest.PaperFig1()
	if _, err := topo.RTT("fra-cloud", "nowhere"); !errors.Is(err, topology.ErrNotFound) {
		t.Errorf("RTT to unknown = %v, want ErrNotFound", err)
	}
	island := topologytest.New().Cluster("a").Cluster("b").MustBuild(t)
	_, err := island.RTT("a", "b")
	if !errors.Is(err, topology.ErrUnreachable) || !strings.Contains(err.Error(), `"a" and "b"`) {
		t.Errorf("RTT between unlinked clusters = %v, want ErrUnreachable naming both", err)
	}
	if _, err := island.Path("b", "a"); !errors.Is(err, topology.ErrUnreachable) {
		t.Errorf("Path between unlinked clusters = %v, want ErrUnreachable", err)
	}
}

func TestDirectLinkWinsOverCheaperDetour(t *testing.T) {
	// a-b is slow, but a-c-b is fast: traffic between linked clusters takes their link
	// (DESIGN.md section 3); a-d, with no direct link, takes the cheapest path.
	topo := topologytest.New().Cluster("a").Cluster("b").Cluster("c").Cluster("d").
		Link("a", "b", ms(20)).Link("a", "c", ms(2)).Link("c", "b", ms(3)).Link("b", "d", ms(1)).
		MustBuild(t)
	if rtt, _ := topo.RTT("a", "b"); rtt != ms(20) {
		t.Errorf("RTT(a, b) = %v, want the direct link's 20ms", rtt)
	}
	p, _ := topo.Path("a", "d")
	if p.RTT != ms(6) || !reflect.DeepEqual(p.Nodes(), []string{"a", "c", "b", "d"}) {
		t.Errorf("Path(a, d) = %v, want a -> c -> b -> d (6ms)", p)
	}
}

func TestGeo(t *testing.T) {
	fra := topology.Location{Lat: 50.1109, Lon: 8.6821}
	gva := topology.Location{Lat: 46.2044, Lon: 6.1432}
	km := topology.DistanceKm(fra, gva)
	if km < 465 || km > 480 { // Frankfurt-Geneva is about 472 km great-circle
		t.Errorf("DistanceKm(Frankfurt, Geneva) = %.1f, want about 472", km)
	}
	if got := topology.PhysicalFloor(473); got < ms(4.63) || got > ms(4.64) {
		t.Errorf("PhysicalFloor(473 km) = %v, want 4.635ms", got)
	}
	if got := topology.GeoEstimate(473); got != ms(0.5)+topology.Duration(2*2.1*473*4900) {
		t.Errorf("GeoEstimate(473 km) = %v", got)
	}
	topo := topologytest.PaperFig1()
	floor, ok, err := topo.Floor("fra-cloud", "geneva")
	if err != nil || !ok || floor < ms(4.5) || floor > ms(4.7) {
		t.Errorf("Floor(fra-cloud, geneva) = %v %v %v", floor, ok, err)
	}
	est, ok, _ := topo.Estimate("fra-cloud", "gva-edge")
	if !ok || est <= floor {
		t.Errorf("Estimate %v not above floor %v", est, floor)
	}
	noLoc := topologytest.New().Cluster("a").Cluster("b", topologytest.At(1, 1)).MustBuild(t)
	if _, ok, err := noLoc.Floor("a", "b"); ok || err != nil {
		t.Errorf("Floor without a location: ok=%v err=%v, want false, nil", ok, err)
	}
}

func TestIndexQueriesAgreeWithNameQueries(t *testing.T) {
	topo := topologytest.PaperFig1()
	for i := range topo.NumClusters() {
		for j := range topo.NumClusters() {
			a, b := topo.ClusterAt(i).Name, topo.ClusterAt(j).Name
			byName, err := topo.RTT(a, b)
			byIdx, ok := topo.RTTAt(i, j)
			if err != nil || !ok || byName != byIdx {
				t.Errorf("RTT(%s,%s)=%v,%v RTTAt=%v,%v", a, b, byName, err, byIdx, ok)
			}
		}
	}
	si, _ := topo.SiteIndex("milan")
	ci, _ := topo.ClusterIndex("fra-cloud")
	if d, ok := topo.SiteRTTAt(si, ci); !ok || d != ms(12.2) {
		t.Errorf("SiteRTTAt(milan, fra-cloud) = %v, %v", d, ok)
	}
}

// TestRoutesMatchFloydWarshall checks the all-pairs routes of random continuums against
// a brute-force Floyd-Warshall with the same direct-link rule.
func TestRoutesMatchFloydWarshall(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		spec := topologytest.Random(seed, topologytest.RandomOptions{Clusters: 40, Degree: 2})
		topo, err := topology.New(spec)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		n := topo.NumClusters()
		const inf = topology.Duration(1 << 62)
		d := make([][]topology.Duration, n)
		for i := range d {
			d[i] = make([]topology.Duration, n)
			for j := range d[i] {
				d[i][j] = inf
			}
			d[i][i] = 0
		}
		for _, l := range topo.Links() {
			a, _ := topo.ClusterIndex(l.A)
			b, _ := topo.ClusterIndex(l.B)
			d[a][b], d[b][a] = l.EffectiveRTT(), l.EffectiveRTT()
		}
		for k := range n {
			for i := range n {
				for j := range n {
					if d[i][k] < inf && d[k][j] < inf && d[i][k]+d[k][j] < d[i][j] {
						d[i][j] = d[i][k] + d[k][j]
					}
				}
			}
		}
		for i := range n {
			for j := range n {
				want := d[i][j]
				if i == j {
					want = topo.ClusterAt(i).IntraRTT
				} else if l, ok := topo.Link(topo.ClusterAt(i).Name, topo.ClusterAt(j).Name); ok {
					want = l.EffectiveRTT()
				}
				got, ok := topo.RTTAt(i, j)
				if !ok || got != want {
					t.Fatalf("seed %d: RTTAt(%d,%d) = %v,%v want %v", seed, i, j, got, ok, want)
				}
				p, _ := topo.Path(topo.ClusterAt(i).Name, topo.ClusterAt(j).Name)
				var sum topology.Duration
				for _, h := range p.Hops {
					sum += h.RTT
				}
				if i != j && sum != got {
					t.Fatalf("seed %d: path %v hops sum %v != RTT %v", seed, p, sum, got)
				}
			}
		}
	}
}

func TestSpecIsCopied(t *testing.T) {
	spec := topologytest.New().Cluster("a", topologytest.Resource("gpu", "2")).Spec()
	topo, err := topology.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Clusters[0].Name = "changed"
	delete(spec.Clusters[0].Capacity, "gpu")
	c, ok := topo.Cluster("a")
	if !ok || c.Capacity.GPU() != 2 {
		t.Errorf("topology changed with its input spec: %+v %v", c, ok)
	}
}

func TestRouteAtMatchesPath(t *testing.T) {
	topo := topologytest.PaperFig1()
	for i := range topo.NumClusters() {
		for j := range topo.NumClusters() {
			p, _ := topo.Path(topo.ClusterAt(i).Name, topo.ClusterAt(j).Name)
			route := topo.RouteAt(i, j)
			if len(route) != len(p.Hops) {
				t.Fatalf("RouteAt(%d,%d) has %d links, Path %d hops", i, j, len(route), len(p.Hops))
			}
			for k, li := range route {
				l, h := topo.LinkAt(li), p.Hops[k]
				if !(l.A == h.From && l.B == h.To || l.A == h.To && l.B == h.From) {
					t.Errorf("RouteAt(%d,%d)[%d] = %s-%s, Path hop %s-%s", i, j, k, l.A, l.B, h.From, h.To)
				}
			}
		}
	}
	si, _ := topo.SiteIndex("milan")
	gv, _ := topo.ClusterIndex("gva-venue")
	acc, links, ok := topo.SiteRouteAt(si, gv)
	if !ok || topo.SiteAt(si).Access[acc].Cluster != "mil-edge" || len(links) != 2 {
		t.Errorf("SiteRouteAt(milan, gva-venue) = %d %v %v, want access via mil-edge and 2 links", acc, links, ok)
	}
}
