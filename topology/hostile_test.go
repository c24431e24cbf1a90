package topology_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

// cluster returns a cluster document with extra fields.
func clusterDoc(name, extra string) string {
	return fmt.Sprintf("  - name: %s\n    owner: o\n    tier: edge\n%s", name, extra)
}

// TestHostileValues: out-of-range, non-finite and malformed numbers are refused with
// their field paths (each of these was accepted, overflowed or failed without a path).
func TestHostileValues(t *testing.T) {
	tests := []struct {
		name, doc, field, detail string
	}{
		{"rtt overflows a route", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 2000000h}]\n") +
			clusterDoc("b", "    links: [{to: c, rtt: 2000000h}]\n") + clusterDoc("c", ""), "clusters[0].links[0].rtt", "more than the limit of 10s"},
		{"rtt 1000h", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 1000h}]\n") + clusterDoc("b", ""), "clusters[0].links[0].rtt", "limit"},
		{"rtt below 1us", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 10ns}]\n") + clusterDoc("b", ""), "clusters[0].links[0].rtt", "below the minimum"},
		{"tunnel rtt", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 1ms, peering: outgoing, tunnel: {rtt: 1h}}]\n") + clusterDoc("b", ""), "clusters[0].links[0].tunnel.rtt", "limit"},
		{"tunnel bytes", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 1ms, peering: outgoing, tunnel: {bytesPerPacket: 1000000}}]\n") + clusterDoc("b", ""), "clusters[0].links[0].tunnel.bytesPerPacket", "outside"},
		{"p99", header + "clusters:\n" + clusterDoc("a", "    links: [{to: b, rtt: 1ms, p99: 20s}]\n") + clusterDoc("b", ""), "clusters[0].links[0].p99", "limit"},
		{"intraRTT", header + "clusters:\n" + clusterDoc("a", "    intraRTT: 2562047h\n"), "clusters[0].intraRTT", "limit"},
		{"cpu 1e16", header + "clusters:\n" + clusterDoc("a", "    capacity: {cpu: \"1e16\"}\n"), "clusters[0].capacity.cpu", "limit"},
		{"cpu 2^63-1", header + "clusters:\n" + clusterDoc("a", "    capacity: {cpu: \"9223372036854775807\"}\n"), "clusters[0].capacity.cpu", "limit"},
		{"cpu 1e400", header + "clusters:\n" + clusterDoc("a", "    capacity: {cpu: \"1e400\"}\n"), "clusters[0].capacity.cpu", ""},
		{"cpu 1e-999999999", header + "clusters:\n" + clusterDoc("a", "    capacity: {cpu: \"1e-999999999\"}\n"), "clusters[0].capacity.cpu", "exponent"},
		{"cpu 1e999999999", header + "clusters:\n" + clusterDoc("a", "    capacity: {cpu: 1e999999999}\n"), "clusters[0].capacity.cpu", "exponent"},
		{"memory 8Ei", header + "clusters:\n" + clusterDoc("a", "    capacity: {memory: 8Ei}\n"), "clusters[0].capacity.memory", "limit"},
		{"pools sum", header + "clusters:\n" + clusterDoc("a", "    nodePools: [{name: x, capacity: {cpu: \"900000\"}}, {name: y, capacity: {cpu: \"900000\"}}]\n"), "clusters[0].nodePools", "limit"},
		{"cpuPrice 1e308", header + "clusters:\n" + clusterDoc("a", "    cpuPrice: 1e308\n"), "clusters[0].cpuPrice", "finite number in [0, 1e+06]"},
		{"cpuPrice nan", header + "clusters:\n" + clusterDoc("a", "    cpuPrice: .nan\n"), "clusters[0].cpuPrice", "not a finite number"},
		{"lat inf", header + "clusters:\n" + clusterDoc("a", "    location: {lat: .inf, lon: 0}\n"), "clusters[0].location.lat", "not a finite number"},
		{"uplink 5000000Tbps", header + "clusters:\n" + clusterDoc("a", "    uplink: 5000000Tbps\n"), "clusters[0].uplink", "limit"},
		{"hex float", header + "clusters:\n" + clusterDoc("a", "    uplink: 0x1p4Gbps\n"), "clusters[0].uplink", "not a bandwidth"},
		{"bad metadata name", header + "metadata: {name: \"Not A Name!\"}\nclusters:\n" + clusterDoc("a", ""), "metadata.name", "DNS-1123"},
		{"too many labels", header + "clusters:\n" + clusterDoc("a", "    labels: {"+labels(65)+"}\n"), "clusters[0].labels", "limit of 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := topology.Decode([]byte(tc.doc))
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			list, _ := topology.AsErrorList(err)
			for _, fe := range list {
				if fe.Field == tc.field && strings.Contains(fe.Detail, tc.detail) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q in:\n%v", tc.field, tc.detail, err)
		})
	}
}

func labels(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("k%d: v", i))
	}
	return strings.Join(parts, ", ")
}

// TestHostileGoAPI: New checks the same ranges as the decoder.
func TestHostileGoAPI(t *testing.T) {
	spec := topology.Spec{Clusters: []topology.Cluster{
		{Name: "a", Owner: "o", Tier: "edge", Capacity: topology.ResourceList{"cpu": resource.MustParse("1e16")}, CPUPrice: math.Inf(1),
			Links: []topology.LinkSpec{{To: "b", RTT: 2_000_000 * 3600 * topology.Second}}},
		{Name: "b", Owner: "o", Tier: "edge", Uplink: 5 * topology.MaxBandwidth, Region: strings.Repeat("r", 5000)},
	}}
	spec.Clusters[1].Capacity = topology.ResourceList{"memory": resource.MustParse("1e99999999")} // Cmp on it runs for minutes
	spec.Clusters[1].NodePools = []topology.NodePool{{Name: "p", Capacity: topology.ResourceList{"memory": resource.MustParse("1")}}}
	spec.Clusters[0].NodePools = []topology.NodePool{{Name: "p", Capacity: topology.ResourceList{"cpu": resource.MustParse("1e99999999")}},
		{Name: "q", Capacity: topology.ResourceList{"cpu": resource.MustParse("1")}}}
	_, err := topology.New(spec)
	list, _ := topology.AsErrorList(err)
	want := []string{"clusters[0].capacity.cpu", "clusters[0].cpuPrice", "clusters[0].links[0].rtt", "clusters[0].nodePools[0].capacity.cpu", "clusters[1].capacity.memory", "clusters[1].region", "clusters[1].uplink"}
	if fmt.Sprint(list.Fields()) != fmt.Sprint(want) {
		t.Errorf("fields = %v, want %v\n%v", list.Fields(), want, err)
	}
}

// TestHostileSizes: counts over the limits are refused before any route is computed,
// and a huge string is cut in the message.
func TestHostileSizes(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "clusters:\n")
	for i := range topology.MaxClusters + 1 {
		fmt.Fprintf(&b, "  - {name: c%d, owner: o, tier: edge}\n", i)
	}
	_, err := topology.Decode([]byte(b.String()))
	if list, _ := topology.AsErrorList(err); len(list) != 1 || list[0].Field != "clusters" || !strings.Contains(list[0].Detail, fmt.Sprintf("limit of %d", topology.MaxClusters)) {
		t.Errorf("%d clusters: %v", topology.MaxClusters+1, err)
	}

	long := strings.Repeat("n", 5<<20)
	_, err = topology.Decode([]byte(header + "metadata: {name: " + long + "}\nclusters:\n" + clusterDoc("a", "")))
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "5242880 bytes") {
		t.Errorf("a 50 MB name: error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
	_, err = topology.New(topology.Spec{Metadata: topology.Metadata{Name: long}, Clusters: []topology.Cluster{{Name: long, Owner: "o", Tier: "edge"}}})
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("a 50 MB name in the Go API: error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}

// TestLoadWithLimit: a file over the size limit is refused without being read whole;
// /dev/zero ends too.
func TestLoadWithLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(good+strings.Repeat("#", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := topology.LoadWith(path, topology.LoadOptions{MaxFileSize: 1000}); !errors.Is(err, topology.ErrInvalid) || !strings.Contains(err.Error(), "1000-byte limit") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := topology.LoadWith(path, topology.LoadOptions{MaxFileSize: 10000}); err != nil {
		t.Errorf("under the limit: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := topology.LoadWith("/dev/zero", topology.LoadOptions{MaxFileSize: 1 << 20}); !errors.Is(err, topology.ErrInvalid) {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

// TestRouteSumBound: the longest possible route (a line of clusters, every link at the
// largest RTT and tunnel overhead) sums exactly, far from overflow: the bound the
// package doc states holds by construction.
func TestRouteSumBound(t *testing.T) {
	if bound := float64(topology.MaxClusters) * 2 * float64(topology.MaxDuration); bound > math.MaxInt64/1000 {
		t.Fatalf("the route bound %g is too close to overflow", bound)
	}
	const n = 300
	spec := topology.Spec{}
	for i := range n {
		c := topology.Cluster{Name: fmt.Sprintf("c%03d", i), Owner: "o", Tier: "edge"}
		if i+1 < n {
			c.Links = []topology.LinkSpec{{To: fmt.Sprintf("c%03d", i+1), RTT: topology.MaxDuration, Peering: topology.PeeringOutgoing,
				Tunnel: &topology.TunnelOverhead{RTT: topology.MaxDuration}}}
		}
		spec.Clusters = append(spec.Clusters, c)
	}
	topo, err := topology.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	rtt, ok := topo.RTTAt(0, n-1)
	if want := topology.Duration(n-1) * 2 * topology.MaxDuration; !ok || rtt != want {
		t.Errorf("RTT across the line = %v, %v; want %v", rtt, ok, want)
	}
}

// TestIndexQueriesOutOfRange: the index queries say "no" to indices out of range
// instead of panicking.
func TestIndexQueriesOutOfRange(t *testing.T) {
	topo, err := topology.Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	for _, ij := range [][2]int{{-1, 0}, {0, 2}, {5, 5}, {math.MinInt, math.MaxInt}} {
		if _, ok := topo.RTTAt(ij[0], ij[1]); ok {
			t.Errorf("RTTAt%v ok", ij)
		}
		if _, ok := topo.SiteRTTAt(ij[0], ij[1]); ok {
			t.Errorf("SiteRTTAt%v ok", ij)
		}
		if r := topo.RouteAt(ij[0], ij[1]); r != nil {
			t.Errorf("RouteAt%v = %v", ij, r)
		}
		if _, _, ok := topo.SiteRouteAt(ij[0], ij[1]); ok {
			t.Errorf("SiteRouteAt%v ok", ij)
		}
	}
}

func TestParseBandwidthStrict(t *testing.T) {
	for _, s := range []string{"0x1p4Gbps", "1_000bps", "InfGbps", "NaNbps", "+5Gbps", "2000Tbps", "1e400bps"} {
		if b, err := topology.ParseBandwidth(s); err == nil {
			t.Errorf("ParseBandwidth(%q) = %v, want an error", s, b)
		}
	}
	for s, want := range map[string]topology.Bandwidth{"1000Tbps": topology.MaxBandwidth, "1.5e3Mbps": 1500 * topology.Mbps, ".5Gbps": 500 * topology.Mbps} {
		if b, err := topology.ParseBandwidth(s); err != nil || b != want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", s, b, err, want)
		}
	}
}
