package placementtest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// TightOptions shape an instance of the tight class. Zero values take the defaults
// shown.
type TightOptions struct {
	Clusters   int `json:"clusters"`   // 10 (5–30 is the class's range; at least 2)
	Components int `json:"components"` // 20 (6–50)
	// Load is the CPU and memory demand over the total capacity: 0.6 and 0.85 are the
	// class's two load classes (0.85; at most 1).
	Load float64 `json:"load"`
}

// Tight is a generated tight instance with the plan it was built around. The plan is
// kept for tests of the generator only; give the engine Instance alone.
type Tight struct {
	Instance
	Planted []placement.Assignment
}

// Grids of the tight class. Every demand is a whole multiple of its grid and every
// capacity or bound sits half a step off it, so no plan meets a constraint with
// equality and a MILP solver's tolerances cannot accept a plan the engine rejects.
const (
	cpuStep   = 100           // millicores
	memStep   = 256 << 20     // bytes
	bwStep    = topology.Mbps // bits/s
	timeStep  = topology.Microsecond
	rttStep   = 2 * timeStep // link and access RTTs, so that RTT/2 stays on the time grid
	halfCPU   = cpuStep / 2
	halfMem   = memStep / 2
	halfBW    = bwStep / 2
	halfTime  = timeStep / 2
	minRTTms  = 2.0
	spanRTTms = 25.0
)

// GenerateTight builds a seeded instance of the tight class: one to five applications
// whose CPU and memory demand is Load of the continuum's capacity (per-core prices 1–3),
// uplinks, links and access links sized just above what a hidden planted plan needs,
// heavy-tailed flows of 0.1–20 Gbit/s, 30–50 % of flows with a maximum RTT close to what
// the 2–40 ms RTTs allow, about 20 % of components pinned to 2–3 clusters, and chains
// whose budgets are a few percent above the planted plan's latency. The planted plan
// satisfies every constraint, so every instance is feasible; the same seed and options
// give the same instance.
//
// The class stays inside what placementtest's MILP export models exactly: one replica
// per component, no node pools, and routes that are the same in both directions.
func GenerateTight(seed uint64, o TightOptions) Tight {
	if o.Clusters <= 0 {
		o.Clusters = 10
	}
	if o.Components <= 0 {
		o.Components = 20
	}
	if o.Load <= 0 {
		o.Load = 0.85
	}
	// The class needs two clusters (bounds refer to the nearest other one), and a
	// demand above the capacity would break the planted plan.
	o.Clusters, o.Load = max(o.Clusters, 2), min(o.Load, 1)
	for attempt := uint64(0); ; attempt++ {
		if t, ok := generateTight(seed, attempt, o); ok {
			return t
		}
	}
}

// tightGen carries the state of one generation attempt.
type tightGen struct {
	rng  *rand.Rand
	o    TightOptions
	spec topology.Spec
	topo *topology.Topology
	pos  [][2]float64
	// weights share the capacity among clusters (cloud ones three times more).
	weights []float64
	apps    []placement.Application
	at      map[[2]string]int // planted cluster of app/component
	sites   []string
}

func generateTight(seed, attempt uint64, o TightOptions) (Tight, bool) {
	g := &tightGen{rng: rand.New(rand.NewPCG(seed, 0x7469676874^attempt)), o: o, at: map[[2]string]int{}}
	g.topologyShape()
	if !g.build() || !g.symmetricRoutes() {
		return Tight{}, false
	}
	g.applications()
	g.size()
	if !g.build() {
		return Tight{}, false
	}
	in := Instance{Name: fmt.Sprintf("tight-c%d-n%d-l%02.0f-s%d", o.Clusters, o.Components, o.Load*100, seed),
		Topology: g.topo, Apps: g.apps}
	var planted []placement.Assignment
	for _, a := range g.apps {
		for _, c := range a.Components {
			planted = append(planted, placement.Assignment{App: a.Metadata.Name, Component: c.Name,
				Cluster: g.topo.ClusterAt(g.at[[2]string{a.Metadata.Name, c.Name}]).Name})
		}
	}
	return Tight{Instance: in, Planted: planted}, true
}

func (g *tightGen) build() bool {
	t, err := topology.New(g.spec)
	if err != nil {
		panic(fmt.Sprintf("placementtest: generated tight topology is invalid: %v", err))
	}
	g.topo = t
	return true
}

// onGrid rounds d to a multiple of step (at least one step).
func onGrid(d float64, step int64) int64 { return max(1, int64(math.Round(d/float64(step)))) * step }

// topologyShape draws clusters on a unit square (RTT 2 ms + 25 ms per unit of distance
// + up to 2 ms), links each to its two nearest neighbours and along a spanning tree,
// and puts sites near random points with access to their two nearest clusters.
// Capacities come later, from the planted plan.
func (g *tightGen) topologyShape() {
	n, rng := g.o.Clusters, g.rng
	g.spec = topology.Spec{APIVersion: topology.APIVersion, Kind: topology.Kind, Metadata: topology.Metadata{Name: "tight"}}
	g.pos = make([][2]float64, n)
	for i := range n {
		g.pos[i] = [2]float64{rng.Float64(), rng.Float64()}
		c := topology.Cluster{Name: fmt.Sprintf("edge-%02d", i), Owner: "owner-" + string(rune('a'+i%3)), Tier: topology.TierEdge,
			Distribution: topology.K3s, UDPExposure: rng.IntN(10) < 7, CPUPrice: 1.5 + float64(rng.IntN(151))/100}
		if i%6 == 0 {
			c.Name, c.Tier, c.Distribution, c.UDPExposure = fmt.Sprintf("cloud-%02d", i), topology.TierCloud, topology.Kubeadm, false
			c.CPUPrice = 1 + float64(rng.IntN(51))/100
		}
		g.spec.Clusters = append(g.spec.Clusters, c)
	}
	dist := func(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
	rtt := func(d float64) topology.Duration {
		return topology.Duration(onGrid(float64(topology.Millis(minRTTms+spanRTTms*d+2*rng.Float64())), int64(rttStep)))
	}
	linked := map[[2]int]bool{}
	link := func(i, j int) {
		if i == j || linked[[2]int{min(i, j), max(i, j)}] {
			return
		}
		linked[[2]int{min(i, j), max(i, j)}] = true
		g.spec.Clusters[i].Links = append(g.spec.Clusters[i].Links, topology.LinkSpec{To: g.spec.Clusters[j].Name, RTT: rtt(dist(g.pos[i], g.pos[j]))})
	}
	// Prim's spanning tree keeps the graph connected.
	in := make([]bool, n)
	in[0] = true
	for range n - 1 {
		bi, bj, bd := -1, -1, math.Inf(1)
		for i := range n {
			for j := range n {
				if in[i] && !in[j] && dist(g.pos[i], g.pos[j]) < bd {
					bi, bj, bd = i, j, dist(g.pos[i], g.pos[j])
				}
			}
		}
		in[bj] = true
		link(bi, bj)
	}
	for i := range n {
		for _, j := range g.nearest(g.pos[i], 3)[1:] {
			link(i, j)
		}
	}
	for s := range max(2, n/5) {
		p := [2]float64{rng.Float64(), rng.Float64()}
		site := topology.Site{Name: fmt.Sprintf("site-%d", s)}
		for _, c := range g.nearest(p, 2) {
			site.Access = append(site.Access, topology.AccessLink{Cluster: g.spec.Clusters[c].Name,
				RTT: topology.Duration(onGrid(float64(topology.Millis(1+10*dist(p, g.pos[c])+rng.Float64())), int64(rttStep)))})
		}
		g.spec.Sites = append(g.spec.Sites, site)
		g.sites = append(g.sites, site.Name)
	}
}

// nearest returns the k spec indices of clusters nearest to p, nearest first.
func (g *tightGen) nearest(p [2]float64, k int) []int {
	idx := make([]int, len(g.pos))
	for i := range idx {
		idx[i] = i
	}
	d := func(i int) float64 { return math.Hypot(p[0]-g.pos[i][0], p[1]-g.pos[i][1]) }
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(d(a), d(b)) })
	return idx[:min(k, len(idx))]
}

// symmetricRoutes reports whether every route is the same set of links in both
// directions (a tie between two paths could make them differ, and then the bandwidth a
// flow charges would depend on which end the engine places first).
func (g *tightGen) symmetricRoutes() bool {
	n := g.topo.NumClusters()
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := slices.Clone(g.topo.RouteAt(i, j)), slices.Clone(g.topo.RouteAt(j, i))
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				return false
			}
		}
	}
	return true
}

// byRTT returns the topology indices of all clusters sorted by RTT from cluster c
// (c itself first).
func (g *tightGen) byRTT(c int) []int {
	n := g.topo.NumClusters()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	r := func(i int) topology.Duration { d, _ := g.topo.RTTAt(c, i); return d }
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case a == c:
			return -1
		case b == c:
			return 1
		}
		return cmp.Or(cmp.Compare(r(a), r(b)), cmp.Compare(a, b))
	})
	return idx
}

func (g *tightGen) siteByRTT(s int) []int {
	n := g.topo.NumClusters()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	r := func(i int) topology.Duration { d, _ := g.topo.SiteRTTAt(s, i); return d }
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(r(a), r(b)), cmp.Compare(a, b)) })
	return idx
}

// applications draws the applications and plants each component on a cluster near the
// application's anchor, then sets the RTT bounds and chain budgets around the plant.
func (g *tightGen) applications() {
	rng, topo := g.rng, g.topo
	nApps := min(5, 1+g.o.Components/12)
	maxRTTShare := 0.3 + 0.2*rng.Float64()
	// heavy-tailed bandwidth: 0.1 Gbit/s x 200^(u^2), whole Mbit/s
	bw := func(hi float64) topology.Bandwidth {
		u := rng.Float64()
		return topology.Bandwidth(onGrid(0.1e9*math.Pow(hi/0.1, u*u), int64(bwStep)))
	}
	rttOf := func(a, b int) topology.Duration { d, _ := topo.RTTAt(a, b); return d }
	// bound returns a maximum RTT a little above both the planted one and the RTT to the
	// k-th nearest cluster, so it rules out most of the continuum.
	bound := func(planted, kth topology.Duration) topology.Duration {
		d := float64(max(planted, kth)) * (1 + 0.08*rng.Float64())
		return topology.Duration(onGrid(d, int64(timeStep))) + halfTime
	}
	// Requests first: the plan is planted against per-cluster CPU targets that share
	// the total capacity (demand / Load) by weight, so capacities end up spread over the
	// continuum rather than only where the plan put something.
	type req struct{ cores, mem int64 }
	reqs := make([][]req, nApps)
	var demand int64
	left := g.o.Components
	for ai := range nApps {
		nc := left / (nApps - ai)
		left -= nc
		for range nc {
			cores := onGrid(1000*0.5*math.Pow(16, rng.Float64()*rng.Float64()), cpuStep) // 0.5–8 cores, mostly small
			mem := onGrid(float64(cores)/1000*float64(int64(1)<<30)*(1+4*rng.Float64()), memStep)
			reqs[ai] = append(reqs[ai], req{cores, mem})
			demand += cores
		}
	}
	n := topo.NumClusters()
	g.weights = make([]float64, n)
	wsum := 0.0
	for i := range n {
		g.weights[i] = 0.5 + rng.Float64()
		if topo.ClusterAt(i).Tier == topology.TierCloud {
			g.weights[i] *= 3
		}
		wsum += g.weights[i]
	}
	target := make([]float64, n)
	for i := range n {
		target[i] = float64(demand) / g.o.Load * g.weights[i] / wsum
	}
	used := make([]float64, n)
	// pick plants a component of the given cores on one of the clusters (nearest
	// first) that still has room under its target, else on the one with most room.
	pick := func(order []int, cores int64) int {
		var fit []int
		for _, c := range order {
			if used[c]+float64(cores) <= target[c] {
				fit = append(fit, c)
			}
		}
		cl := -1
		if len(fit) > 0 {
			cl = fit[rng.IntN(min(len(fit), 2))]
		} else {
			for _, c := range order {
				if cl < 0 || target[c]-used[c] > target[cl]-used[cl] {
					cl = c
				}
			}
		}
		used[cl] += float64(cores)
		return cl
	}
	for ai := range nApps {
		nc := len(reqs[ai])
		name := fmt.Sprintf("app-%d", ai)
		site := rng.IntN(topo.NumSites())
		siteName := topo.SiteAt(site).Name
		near := g.siteByRTT(site)
		anchor := near[rng.IntN(min(3, len(near)))]
		// The neighbourhood: the clusters nearest the anchor whose targets hold the
		// application's demand with a fifth to spare (at least three).
		var appDemand int64
		for _, r := range reqs[ai] {
			appDemand += r.cores
		}
		var hood []int
		room := 0.0
		for _, c := range g.byRTT(anchor) {
			if len(hood) >= 3 && room >= 1.2*float64(appDemand) {
				break
			}
			hood = append(hood, c)
			room += target[c] - used[c]
		}
		app := placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind, Metadata: placement.Metadata{Name: name}}
		for k, r := range reqs[ai] {
			c := placement.Component{Name: fmt.Sprintf("svc-%d", k), Requests: topology.ResourceList{
				topology.ResourceCPU:    *resource.NewMilliQuantity(r.cores, resource.DecimalSI),
				topology.ResourceMemory: *resource.NewQuantity(r.mem, resource.BinarySI)}}
			if k < 3 {
				c.ProcessingTime = topology.Duration(onGrid(float64(topology.Millis(0.5+2.5*rng.Float64())), int64(timeStep)))
			}
			order := slices.Clone(hood)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			if k == 0 {
				order = near[:min(2, len(near))]
			}
			g.at[[2]string{name, c.Name}] = pick(order, r.cores)
			app.Components = append(app.Components, c)
		}
		planted := func(comp string) int { return g.at[[2]string{name, comp}] }
		// Flows: a tree (each component talks to an earlier one) plus extra edges.
		var flows [][2]int
		for k := 1; k < nc; k++ {
			flows = append(flows, [2]int{rng.IntN(k), k})
		}
		for range nc / 3 {
			a, b := rng.IntN(nc), rng.IntN(nc)
			if a != b && !slices.Contains(flows, [2]int{min(a, b), max(a, b)}) {
				flows = append(flows, [2]int{min(a, b), max(a, b)})
			}
		}
		for _, f := range flows {
			from, to := app.Components[f[0]].Name, app.Components[f[1]].Name
			fl := placement.Flow{From: from, To: to, Bandwidth: bw(20)}
			if rng.Float64() < maxRTTShare {
				pa := planted(from)
				fl.MaxRTT = bound(rttOf(pa, planted(to)), rttOf(pa, g.byRTT(pa)[1+rng.IntN(min(3, topo.NumClusters()-1))]))
			}
			app.Flows = append(app.Flows, fl)
		}
		// Users at the site reach the front component, half the time over UDP.
		front := app.Components[0].Name
		fl := placement.Flow{From: siteName, To: front, Bandwidth: bw(5)}
		if rng.IntN(2) == 0 {
			fl.Protocol = placement.UDP
			g.spec.Clusters[g.specIndex(planted(front))].UDPExposure = true
		}
		if rng.Float64() < maxRTTShare {
			d, _ := topo.SiteRTTAt(site, planted(front))
			kth, _ := topo.SiteRTTAt(site, near[1+rng.IntN(min(3, len(near)-1))])
			fl.MaxRTT = bound(d, kth)
		}
		app.Flows = append(app.Flows, fl)
		// Chains: site -> front -> a neighbour (-> its neighbour) -> site, budget a few
		// percent above the planted latency.
		path := []string{siteName, front}
		if nc > 1 {
			path = append(path, app.Components[1].Name)
		}
		if nc > 2 && slices.Contains(flows, [2]int{1, 2}) {
			path = append(path, app.Components[2].Name)
		}
		path = append(path, siteName)
		app.Chains = append(app.Chains, placement.Chain{Name: "mtp", Path: path,
			Budget: topology.Duration(onGrid(float64(g.latency(&app, path))*(1+0.06*rng.Float64()), int64(timeStep))) + halfTime})
		g.apps = append(g.apps, app)
	}
	// About 20 % of components are pinned to 2–3 clusters, their planted one among them;
	// about 10 % keep off the cluster of another component of their application.
	for ai := range g.apps {
		a := &g.apps[ai]
		for ci := range a.Components {
			c := &a.Components[ci]
			pc := g.at[[2]string{a.Metadata.Name, c.Name}]
			if rng.Float64() < 0.2 {
				set := []string{topo.ClusterAt(pc).Name}
				for _, j := range rng.Perm(topo.NumClusters()) {
					if len(set) < 2+rng.IntN(2) && j != pc {
						set = append(set, topo.ClusterAt(j).Name)
					}
				}
				slices.Sort(set)
				c.Allowed.Clusters = set
			}
			if rng.Float64() < 0.1 {
				o := a.Components[rng.IntN(len(a.Components))].Name
				if o != c.Name && g.at[[2]string{a.Metadata.Name, o}] != pc {
					c.AntiAffinity = []string{o}
				}
			}
		}
	}
}

// specIndex maps a topology index (name order) to the spec's index.
func (g *tightGen) specIndex(c int) int {
	name := g.topo.ClusterAt(c).Name
	return slices.IndexFunc(g.spec.Clusters, func(x topology.Cluster) bool { return x.Name == name })
}

// latency is the planted latency of a chain path: processing times plus RTT/2 per hop.
func (g *tightGen) latency(app *placement.Application, path []string) topology.Duration {
	var lat topology.Duration
	where := func(e string) string {
		if c, ok := g.at[[2]string{app.Metadata.Name, e}]; ok {
			return g.topo.ClusterAt(c).Name
		}
		return e
	}
	for h, e := range path {
		for _, c := range app.Components {
			if c.Name == e {
				lat += c.ProcessingTime
			}
		}
		if h > 0 {
			d, err := g.topo.RTT(where(path[h-1]), where(e))
			if err != nil {
				panic(fmt.Sprintf("placementtest: tight topology is not connected: %v", err))
			}
			lat += d / 2
		}
	}
	return lat
}

// size sets capacities: cluster CPU and memory so that the demand is Load of the total
// with the planted plan fitting everywhere; uplinks, links and access links 5–30 %
// above the planted plan's traffic (with a floor for idle ones).
func (g *tightGen) size() {
	rng, topo := g.rng, g.topo
	n := topo.NumClusters()
	cpu, mem := make([]int64, n), make([]int64, n)
	var totalCPU, totalMem int64
	for _, a := range g.apps {
		for _, c := range a.Components {
			cl := g.at[[2]string{a.Metadata.Name, c.Name}]
			cpu[cl] += c.Requests.MilliCPU()
			mem[cl] += c.Requests.Memory()
			totalCPU += c.Requests.MilliCPU()
			totalMem += c.Requests.Memory()
		}
	}
	capCPU := waterFill(cpu, g.weights, float64(totalCPU)/g.o.Load)
	capMem := waterFill(mem, g.weights, float64(totalMem)/g.o.Load)
	used := g.plantedBandwidth()
	links := topo.Links()
	headroom := func(u int64, floor float64) topology.Bandwidth {
		v := max(float64(u)*(1.05+0.25*rng.Float64()), floor*(0.5+rng.Float64()))
		return topology.Bandwidth(onGrid(v, int64(bwStep))) + halfBW
	}
	for i := range n {
		si := g.specIndex(i)
		c := &g.spec.Clusters[si]
		c.Capacity = topology.ResourceList{
			topology.ResourceCPU:    *resource.NewMilliQuantity(max(cpu[i], int64(capCPU[i]))/cpuStep*cpuStep+halfCPU, resource.DecimalSI),
			topology.ResourceMemory: *resource.NewQuantity(max(mem[i], int64(capMem[i]))/memStep*memStep+halfMem, resource.BinarySI)}
		c.Uplink = headroom(used.uplink[i], 4e9)
		for li := range c.Links {
			l := &c.Links[li]
			k := slices.IndexFunc(links, func(x topology.Link) bool {
				return x.A == min(c.Name, l.To) && x.B == max(c.Name, l.To)
			})
			l.Capacity = headroom(used.link[k], 10e9)
		}
	}
	for si := range g.spec.Sites {
		s := &g.spec.Sites[si]
		ti, _ := topo.SiteIndex(s.Name)
		for ai := range s.Access {
			acc := &s.Access[ai]
			k := slices.IndexFunc(topo.SiteAt(ti).Access, func(x topology.AccessLink) bool { return x.Cluster == acc.Cluster })
			acc.Capacity = headroom(used.access[[2]int{ti, k}], 5e9)
		}
	}
}

// waterFill shares total among clusters by weight, no cluster below what the planted
// plan puts on it: capacity_c = max(planted_c, lambda x weight_c) with lambda such that
// the capacities sum to total (planted sums to less than total).
func waterFill(planted []int64, weights []float64, total float64) []float64 {
	sum := func(l float64) float64 {
		s := 0.0
		for i, w := range weights {
			s += max(float64(planted[i]), l*w)
		}
		return s
	}
	lo, hi := 0.0, total
	for range 100 {
		mid := (lo + hi) / 2
		if sum(mid) < total {
			lo = mid
		} else {
			hi = mid
		}
	}
	out := make([]float64, len(weights))
	for i, w := range weights {
		out[i] = max(float64(planted[i]), lo*w)
	}
	return out
}

type tightUse struct {
	uplink, link []int64
	access       map[[2]int]int64 // (site, access index)
}

// plantedBandwidth charges the planted plan's flows as the engine does: every link of
// the route and the uplinks at both ends of each of those links; site flows also
// their access link.
func (g *tightGen) plantedBandwidth() tightUse {
	topo := g.topo
	u := tightUse{uplink: make([]int64, topo.NumClusters()), link: make([]int64, len(topo.Links())), access: map[[2]int]int64{}}
	charge := func(links []int, bw int64) {
		for _, li := range links {
			l := topo.LinkAt(li)
			a, _ := topo.ClusterIndex(l.A)
			b, _ := topo.ClusterIndex(l.B)
			u.link[li] += bw
			u.uplink[a] += bw
			u.uplink[b] += bw
		}
	}
	for _, a := range g.apps {
		for _, f := range a.Flows {
			ca, okA := g.at[[2]string{a.Metadata.Name, f.From}]
			cb, okB := g.at[[2]string{a.Metadata.Name, f.To}]
			switch {
			case okA && okB:
				charge(topo.RouteAt(ca, cb), int64(f.Bandwidth))
			case okA || okB:
				c, site := ca, f.To
				if !okA {
					c, site = cb, f.From
				}
				si, _ := topo.SiteIndex(site)
				acc, links, _ := topo.SiteRouteAt(si, c)
				u.access[[2]int{si, acc}] += int64(f.Bandwidth)
				charge(links, int64(f.Bandwidth))
			}
		}
	}
	return u
}
