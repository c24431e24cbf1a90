// Package topologytest builds topologies for tests and benchmarks: a fluent Builder for
// small hand-made continuums (clusters with owner, tier, region, location, capacity,
// node pools, labels, price, UDP exposure; links; sites), the seed paper's Fig. 1
// continuum, and a seeded generator of large random ones.
//
// Everything here is deterministic: the same calls (and seed) give the same topology.
package topologytest

import (
	"cmp"
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

//go:embed paper-fig1.yaml
var paperFig1 []byte

// PaperFig1YAML returns the topology file of the seed paper's Fig. 1 continuum: a cloud
// cluster in Frankfurt, edge clusters in Geneva (one of them at a venue) and Milan,
// three owners, users in Geneva and Milan.
func PaperFig1YAML() []byte { return slices.Clone(paperFig1) }

// PaperFig1 returns the decoded Fig. 1 continuum.
func PaperFig1() *topology.Topology {
	t, err := topology.Decode(paperFig1)
	if err != nil {
		panic(fmt.Sprintf("topologytest: the embedded paper-fig1.yaml is invalid: %v", err))
	}
	return t
}

// Builder assembles a topology.Spec in a few lines. Methods record the spec as given;
// Build validates it, so a builder can make invalid topologies on purpose.
type Builder struct{ spec topology.Spec }

// New returns an empty builder.
func New() *Builder {
	return &Builder{spec: topology.Spec{APIVersion: topology.APIVersion, Kind: topology.Kind}}
}

// ClusterOption sets a field of a cluster.
type ClusterOption func(*topology.Cluster)

// Cluster adds a cluster. Without options it is an edge cluster owned by "default" with
// 16 CPUs and 64Gi of memory.
func (b *Builder) Cluster(name string, opts ...ClusterOption) *Builder {
	c := topology.Cluster{Name: name, Owner: "default", Tier: topology.TierEdge,
		Capacity: topology.ResourceList{topology.ResourceCPU: resource.MustParse("16"), topology.ResourceMemory: resource.MustParse("64Gi")}}
	for _, o := range opts {
		o(&c)
	}
	b.spec.Clusters = append(b.spec.Clusters, c)
	return b
}

// Owner sets the owner.
func Owner(o string) ClusterOption { return func(c *topology.Cluster) { c.Owner = o } }

// Tier sets the tier.
func Tier(t topology.Tier) ClusterOption { return func(c *topology.Cluster) { c.Tier = t } }

// Region sets the region.
func Region(r string) ClusterOption { return func(c *topology.Cluster) { c.Region = r } }

// At sets the location.
func At(lat, lon float64) ClusterOption {
	return func(c *topology.Cluster) { c.Location = &topology.Location{Lat: lat, Lon: lon} }
}

// Capacity replaces the capacity with the given CPU and memory quantities.
func Capacity(cpu, memory string) ClusterOption {
	return func(c *topology.Cluster) {
		c.Capacity = topology.ResourceList{topology.ResourceCPU: resource.MustParse(cpu), topology.ResourceMemory: resource.MustParse(memory)}
	}
}

// Resource sets one resource of the capacity ("gpu", "example.com/fpga").
func Resource(name topology.ResourceName, q string) ClusterOption {
	return func(c *topology.Cluster) {
		if c.Capacity == nil {
			c.Capacity = topology.ResourceList{}
		}
		c.Capacity[name] = resource.MustParse(q)
	}
}

// Pool adds a node pool with the given CPU and memory and labels (key, value pairs).
func Pool(name, cpu, memory string, labels ...string) ClusterOption {
	return func(c *topology.Cluster) {
		np := topology.NodePool{Name: name, Capacity: topology.ResourceList{
			topology.ResourceCPU: resource.MustParse(cpu), topology.ResourceMemory: resource.MustParse(memory)}}
		if len(labels) > 0 {
			np.Labels = map[string]string{}
			for i := 0; i+1 < len(labels); i += 2 {
				np.Labels[labels[i]] = labels[i+1]
			}
		}
		c.NodePools = append(c.NodePools, np)
	}
}

// Labels adds cluster labels, as key, value pairs (a key left without a value gets
// ""), to those set before.
func Labels(kv ...string) ClusterOption {
	return func(c *topology.Cluster) {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			v := ""
			if i+1 < len(kv) {
				v = kv[i+1]
			}
			c.Labels[kv[i]] = v
		}
	}
}

// Taint adds a taint (key=value:effect) to the cluster, after those set before.
func Taint(key, value string, effect topology.TaintEffect) ClusterOption {
	return func(c *topology.Cluster) {
		c.Taints = append(c.Taints, topology.Taint{Key: key, Value: value, Effect: effect})
	}
}

// Price sets the price per CPU-core-hour.
func Price(p float64) ClusterOption { return func(c *topology.Cluster) { c.CPUPrice = p } }

// UDP lets the cluster expose UDP services to users.
func UDP() ClusterOption { return func(c *topology.Cluster) { c.UDPExposure = true } }

// K3s makes the cluster a k3s cluster.
func K3s() ClusterOption { return func(c *topology.Cluster) { c.Distribution = topology.K3s } }

// Uplink sets the uplink capacity.
func Uplink(bw topology.Bandwidth) ClusterOption { return func(c *topology.Cluster) { c.Uplink = bw } }

// IntraRTT sets the intra-cluster RTT.
func IntraRTT(d topology.Duration) ClusterOption { return func(c *topology.Cluster) { c.IntraRTT = d } }

// LinkOption sets a field of a link.
type LinkOption func(*topology.LinkSpec)

// Link adds a link from a to b (listed under a, which must have been added).
func (b *Builder) Link(from, to string, rtt topology.Duration, opts ...LinkOption) *Builder {
	l := topology.LinkSpec{To: to, RTT: rtt}
	for _, o := range opts {
		o(&l)
	}
	i := slices.IndexFunc(b.spec.Clusters, func(c topology.Cluster) bool { return c.Name == from })
	if i < 0 {
		// Keep the link so Build reports it, under a placeholder cluster without a name.
		b.spec.Clusters = append(b.spec.Clusters, topology.Cluster{Name: from, Links: []topology.LinkSpec{l}})
		return b
	}
	b.spec.Clusters[i].Links = append(b.spec.Clusters[i].Links, l)
	return b
}

// LinkCapacity sets the link capacity.
func LinkCapacity(bw topology.Bandwidth) LinkOption {
	return func(l *topology.LinkSpec) { l.Capacity = bw }
}

// Peered sets the Liqo peering direction, seen from the link's first cluster.
func Peered(d topology.PeeringDirection) LinkOption {
	return func(l *topology.LinkSpec) { l.Peering = d }
}

// P99 sets the link's 99th-percentile RTT.
func P99(d topology.Duration) LinkOption { return func(l *topology.LinkSpec) { l.P99 = d } }

// Site adds a user site with access links (cluster, rtt) pairs given by Access.
func (b *Builder) Site(name string, loc *topology.Location, access ...topology.AccessLink) *Builder {
	b.spec.Sites = append(b.spec.Sites, topology.Site{Name: name, Location: loc, Access: access})
	return b
}

// Access is an access link from a site to cluster with the given RTT.
func Access(cluster string, rtt topology.Duration) topology.AccessLink {
	return topology.AccessLink{Cluster: cluster, RTT: rtt}
}

// Spec returns (a deep copy of) the spec built so far.
func (b *Builder) Spec() topology.Spec { return b.spec.DeepCopy() }

// Build validates the spec and returns the topology.
func (b *Builder) Build() (*topology.Topology, error) { return topology.New(b.spec) }

// MustBuild is Build that fails tb on error.
func (b *Builder) MustBuild(tb testing.TB) *topology.Topology {
	tb.Helper()
	t, err := b.Build()
	if err != nil {
		tb.Fatalf("topologytest: %v", err)
	}
	return t
}

// RandomOptions shape a generated continuum. Zero values mean the defaults shown.
type RandomOptions struct {
	Clusters int // 50
	Sites    int // Clusters/10, at least 1
	// Degree is how many nearest neighbours each cluster links to (4).
	Degree int
	// CloudEvery makes every n-th cluster a cloud cluster (10).
	CloudEvery int
}

// Random generates a valid, connected continuum from seed: clusters scattered over a
// 2,000 km square of Europe, each linked to its Degree nearest neighbours (and a chain
// through all clusters, so the graph is connected) with RTTs between the physical floor
// and the geo estimate, and sites with access to their two nearest clusters.
func Random(seed uint64, o RandomOptions) topology.Spec {
	if o.Clusters <= 0 {
		o.Clusters = 50
	}
	if o.Sites <= 0 {
		o.Sites = max(1, o.Clusters/10)
	}
	if o.Degree <= 0 {
		o.Degree = 4
	}
	if o.CloudEvery <= 0 {
		o.CloudEvery = 10
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	point := func() topology.Location {
		return topology.Location{Lat: 40 + rng.Float64()*16, Lon: -2 + rng.Float64()*24}
	}
	rtt := func(a, b topology.Location) topology.Duration {
		km := topology.DistanceKm(a, b)
		lo, hi := topology.PhysicalFloor(km)+topology.Millis(0.05), topology.GeoEstimate(km)
		d := lo + topology.Duration(rng.Float64()*float64(hi-lo))
		return topology.Duration(math.Round(float64(d)/float64(topology.Microsecond))) * topology.Microsecond
	}
	spec := topology.Spec{APIVersion: topology.APIVersion, Kind: topology.Kind, Metadata: topology.Metadata{Name: fmt.Sprintf("random-%d", seed)}}
	locs := make([]topology.Location, o.Clusters)
	for i := range o.Clusters {
		locs[i] = point()
		c := topology.Cluster{Name: fmt.Sprintf("c%04d", i), Owner: fmt.Sprintf("owner-%d", i%7), Tier: topology.TierEdge,
			Region: fmt.Sprintf("region-%d", i%5), Location: &locs[i], Distribution: topology.K3s,
			Capacity:    topology.ResourceList{topology.ResourceCPU: *resource.NewQuantity(int64(8+rng.IntN(56)), resource.DecimalSI), topology.ResourceMemory: *resource.NewQuantity(int64(32+rng.IntN(224))<<30, resource.BinarySI)},
			UDPExposure: rng.IntN(4) != 0, CPUPrice: 0.05 + rng.Float64()*0.1, Uplink: topology.Gbps * topology.Bandwidth(10+rng.IntN(90))}
		if i%o.CloudEvery == 0 {
			c.Tier, c.Distribution, c.CPUPrice = topology.TierCloud, topology.Kubeadm, 0.03+rng.Float64()*0.02
			c.Capacity[topology.ResourceCPU] = *resource.NewQuantity(int64(256+rng.IntN(768)), resource.DecimalSI)
			c.Capacity[topology.ResourceGPU] = *resource.NewQuantity(int64(rng.IntN(16)), resource.DecimalSI)
		}
		spec.Clusters = append(spec.Clusters, c)
	}
	linked := map[[2]int]bool{}
	addLink := func(i, j int) {
		if i == j || linked[[2]int{min(i, j), max(i, j)}] {
			return
		}
		linked[[2]int{min(i, j), max(i, j)}] = true
		spec.Clusters[i].Links = append(spec.Clusters[i].Links, topology.LinkSpec{To: spec.Clusters[j].Name,
			RTT: rtt(locs[i], locs[j]), Capacity: topology.Gbps * topology.Bandwidth(1+rng.IntN(40))})
	}
	nearest := nearestFunc(locs)
	for i := range o.Clusters {
		if i > 0 {
			addLink(i-1, i)
		}
		for _, j := range nearest(locs[i], o.Degree+1) {
			addLink(i, j)
		}
	}
	for s := range o.Sites {
		l := point()
		site := topology.Site{Name: fmt.Sprintf("site-%03d", s), Location: &l}
		for _, j := range nearest(l, 2) {
			site.Access = append(site.Access, topology.AccessLink{Cluster: spec.Clusters[j].Name, RTT: rtt(l, locs[j]), Capacity: 40 * topology.Gbps})
		}
		spec.Sites = append(spec.Sites, site)
	}
	return spec
}

// nearestFunc returns a function that gives the indices of the k locations nearest to
// a point, nearest first, ties in index order: the first k of the locations stably
// sorted by distance. It scans outwards from the point's latitude and stops on each
// side once the latitude difference alone puts every further location farther than
// the k-th found, so a 10,000-cluster continuum is generated in about a second instead
// of a sort of every location per cluster.
func nearestFunc(locs []topology.Location) func(topology.Location, int) []int {
	byLat := make([]int, len(locs))
	for i := range byLat {
		byLat[i] = i
	}
	slices.SortStableFunc(byLat, func(a, b int) int { return cmp.Compare(locs[a].Lat, locs[b].Lat) })
	type hit struct {
		km float64
		i  int
	}
	less := func(a, b hit) bool { return a.km < b.km || a.km == b.km && a.i < b.i }
	return func(l topology.Location, k int) []int {
		k = min(k, len(locs))
		best := make([]hit, 0, k+1)
		consider := func(j int) {
			h := hit{topology.DistanceKm(l, locs[j]), j}
			if len(best) == k && !less(h, best[k-1]) {
				return
			}
			at, _ := slices.BinarySearchFunc(best, h, func(a, b hit) int {
				if less(a, b) {
					return -1
				}
				return 1
			})
			best = slices.Insert(best, at, h)
			if len(best) > k {
				best = best[:k]
			}
		}
		// bound is a lower bound on the distance to j: the haversine's latitude term
		// alone, shaved so that rounding cannot make it exceed the true distance.
		bound := func(j int) float64 {
			return topology.DistanceKm(topology.Location{Lat: l.Lat}, topology.Location{Lat: locs[j].Lat}) * (1 - 1e-9)
		}
		hi, _ := slices.BinarySearchFunc(byLat, l.Lat, func(j int, lat float64) int { return cmp.Compare(locs[j].Lat, lat) })
		lo := hi - 1
		for lo >= 0 || hi < len(byLat) {
			side := &hi
			if hi >= len(byLat) || lo >= 0 && l.Lat-locs[byLat[lo]].Lat < locs[byLat[hi]].Lat-l.Lat {
				side = &lo
			}
			j := byLat[*side]
			if len(best) == k && bound(j) > best[k-1].km {
				if side == &lo {
					lo = -1
				} else {
					hi = len(byLat)
				}
				continue
			}
			consider(j)
			if side == &lo {
				lo--
			} else {
				hi++
			}
		}
		out := make([]int, len(best))
		for i, h := range best {
			out[i] = h.i
		}
		return out
	}
}
