package placement

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

// problem is a request compiled against a snapshot: dense indices and integer vectors
// for everything the search touches.
type problem struct {
	snap *Snapshot
	topo *topology.Topology
	req  *Request
	w    Weights
	n    int // clusters

	dims  []topology.ResourceName // cpu, memory, gpu, then extended, sorted
	capc  [][]int64               // [cluster][dim] in milli-units
	pools [][]pool                // [cluster], name order
	price []float64

	comps  []comp
	insts  []inst
	pairs  []flowPair
	chains []chainC
	// sharedInsts says insts are a Prepared's (compiled or kept by keepCurrents):
	// never written, copied first by setCurrent. Once compiled, insts are only read.
	sharedInsts bool
	// currentKept says Request.Current is the placement in force its Prepared last
	// checked (currentChecked, or markCurrent in validate): it stays so for the call.
	currentKept bool

	rttCC map[[2]int]topology.Duration // measured overrides, both orders
	rttSS map[[2]int]topology.Duration // site, cluster
	// rttCols[oc] holds rtt(c, oc) for every cluster c (rttTo), nil until filled (on
	// problems of at most rttColsMax clusters): by rttAsked, or on parallel problems all
	// of them before a search forks (search.warm), so that forked searches only read
	// them.
	rttCols [][]topology.Duration
	rttUses []int32 // rttAsked's counts
	// siteRTT[s] holds rttSC(s, c) for every cluster c, nil until fillSiteRTT fills it
	// (siteRTTDone: it ran).
	siteRTT     [][]topology.Duration
	siteRTTDone bool

	// Bandwidth resources: links [0, L), uplinks [L, L+n), access links after.
	bwCap []int64
	// bwSafe marks the bandwidth resources no plan can fill: their capacity is at
	// least twice the bandwidth of all flows together (a route passes a resource at
	// most twice: a cluster's uplink, in and out, when the route goes through it).
	// check skips them.
	bwSafe     []bool
	ownScratch *candScratch // cands'
	atCand     *Candidate   // allowedAt's
	// allCands and allAllowed are the candidate list and row of a component every
	// cluster passes for, shared by all such components; never written.
	priceOrder []int32 // byPrice
	allCands   []int32
	allAllowed []bool
	nLinks     int
	accessAt   []int // first access resource of each site
	routes     map[int64][]int32
	// routeRows cache cluster routes by source cluster, siteRows site routes by site,
	// when n <= denseRoutes (a row is allocated when first used; nil: none known).
	routeRows []routeRow
	siteRows  []routeRow

	scorers  []WeightedScorer
	filters  []Filter
	clusters []topology.Cluster // by index
	tainted  int8               // anyTaints: 0 not computed, 1 no, 2 yes
	minInter topology.Duration  // minInterRTT: 0 not computed
	// sitesFiltered: filtersSites, 0 not computed, 1 no, 2 yes
	sitesFiltered int8
	// appliedRTT holds the measured RTTs written into the topology's links.
	appliedRTT map[Pair]topology.Duration
	// prepared, when set, remembers valid applications and the re-routed topology.
	prepared *Prepared
	// explainOnly, when set, limits ExplainAuto to these instances (a repair explains
	// what it re-placed).
	explainOnly []bool
}

type pool struct {
	name   string
	labels map[string]string
	capc   []int64
}

func (pl *pool) matches(sel map[string]string) bool {
	for k, v := range sel {
		if pl.labels[k] != v {
			return false
		}
	}
	return true
}

// fits reports whether req fits in the pool on top of used (nil: empty).
func (pl *pool) fits(req, used []int64) bool {
	for d, need := range req {
		u := int64(0)
		if used != nil {
			u = used[d]
		}
		if need > 0 && u+need > pl.capc[d] {
			return false
		}
	}
	return true
}

// comp is a component of the problem: what compileComponents built (compFixed,
// shared with the other calls of a Prepared, so never written after compiling), and
// what a call computes for it (compCands, nil until cands computes them; a repair
// computes them for few components, so a call's copy of the components stays small).
type comp struct {
	*compFixed
	*compCands
}

// compCands are a component's candidates (cands). cand lists the clusters the filters
// allow, in index order; allowed[c] says whether c is one. top holds the topK
// cheapest of them by static cost (compute + scorers + flows to sites, a lower bound
// of a replica's cost there), cheapest first, with topStatic their costs; every
// candidate outside top costs at least topStatic[len(top)-1]. filtered counts the
// clusters each filter ruled out.
type compCands struct {
	cand      []int32
	allowed   []bool
	top       []int32
	topStatic []float64
	filtered  map[string]int
}

// compFixed is the part of a component that depends only on the applications, the
// topology and the resource dimensions. Each call of a Prepared copies its components
// (the part a call computes is its own), and sharing this part behind a pointer keeps
// that copy small.
type compFixed struct {
	app, idx   int
	c          *Component
	name       string // app/component
	req        []int64
	cores      float64
	stateGB    float64
	first, n   int // instances [first, first+n)
	udpUser    bool
	siteFlows  []siteFlow
	soloChains []int // chains whose only component is this one
	coLocate   []int // component indices
	anti       []int

	// wCompute is the application's compute weight (AppWeights; stateGB and the
	// pairs' gbit carry its migration and network weights).
	wCompute float64
	// active holds the filters that can rule a cluster out for the component (nil
	// until computed: by the first call that needs them, or for all components when a
	// Prepared keeps them, before they are shared), allFast whether all are built-in.
	active  []activeFilter
	allFast bool
}

type siteFlow struct {
	site   int
	maxRTT topology.Duration
}

type inst struct {
	comp    int
	rep     int
	current int // cluster in Request.Current, -1 if none
	pairs   []int32
	chains  []int32
	// sitePairs are the entries of pairs that are flows to a site, in the same order.
	sitePairs []int32
}

// flowPair is one replica pair of a flow (or a replica and a site).
type flowPair struct {
	app, flow int
	a, b      int // instances; b < 0 for a site
	site      int
	bw        int64 // bits/s
	gbit      float64
	maxRTT    topology.Duration
}

type chainC struct {
	app, idx int
	name     string
	budget   topology.Duration
	elems    []chainElem
	proc     topology.Duration
	// hops is the number of hops of the chain's result in a plan (chainResults): one
	// per pair of consecutive elements, one per component with a processing time.
	hops int
}

type chainElem struct {
	site, comp int // exactly one >= 0
}

const milli = 1000

func (p *problem) dimIndex(name topology.ResourceName) int {
	return slices.Index(p.dims, name)
}

// fmtQty formats a milli-unit amount of a resource for messages.
func fmtQty(name topology.ResourceName, v int64) string {
	if name == topology.ResourceMemory {
		q := resource.NewQuantity(v/milli, resource.BinarySI)
		return q.String()
	}
	if v%milli == 0 {
		return strconv.FormatInt(v/milli, 10)
	}
	return strconv.FormatFloat(float64(v)/milli, 'f', -1, 64)
}

// compile validates the request against the snapshot and builds the problem.
func compile(snap *Snapshot, req *Request, filters []Filter, scorers []WeightedScorer, pp *Prepared) (*problem, error) {
	if snap == nil || snap.Topology == nil {
		return nil, ErrorList{{Field: "snapshot.topology", Detail: "required"}}
	}
	if snap.Topology.NumClusters() == 0 {
		return nil, ErrorList{{Field: "snapshot.topology", Detail: "has no clusters (build it with topology.New or Decode)"}}
	}
	topo := snap.Topology
	p := &problem{snap: snap, topo: topo, req: req, n: topo.NumClusters(), filters: filters, scorers: scorers, prepared: pp,
		rttCC: map[[2]int]topology.Duration{}, rttSS: map[[2]int]topology.Duration{}, routes: map[int64][]int32{},
		rttCols: make([][]topology.Duration, topo.NumClusters()), siteRTT: make([][]topology.Duration, topo.NumSites())}
	p.w = DefaultWeights()
	if req.Weights != nil {
		p.w = *req.Weights
	}
	errs := p.validate()
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	if err := p.applyMeasuredLinks(); err != nil {
		return nil, err
	}
	p.adoptRoutes()
	p.compileResources()
	index, ok := p.reuseComponents()
	if !ok {
		index = p.compileComponents()
		p.keepComponents(index)
	}
	p.setCurrent(index)
	p.compileBandwidth()
	var err error
	if p.scorers, err = p.policyScorers(scorers); err != nil {
		return nil, err
	}
	return p, nil
}

// applyMeasuredLinks writes measured RTTs of direct links and access links into a copy
// of the topology and re-routes what they change (topology.WithLinkRTTs), so that routes through a degraded link see the
// measurement too. A measurement is the link's whole RTT (tunnel included). Pairs
// without a direct link stay end-to-end overrides of that pair only.
func (p *problem) applyMeasuredLinks() error {
	key := linkKey(p.snap)
	if len(key) == 0 {
		return nil
	}
	pp := p.prepared
	if pp != nil && pp.routed != nil && maps.Equal(key, pp.routedKey) {
		p.topo, p.appliedRTT = pp.routed, pp.routedKey
		return nil
	}
	// Derive from the topology routed for the previous call when there is one (only
	// what changed since is re-routed), else from the snapshot's.
	from, prev := p.topo, map[Pair]topology.Duration(nil)
	if pp != nil && pp.routed != nil {
		from, prev = pp.routed, pp.routedKey
	}
	topo, err := from.WithLinkRTTs(rttChanges(p.topo, prev, key))
	if err != nil {
		var errs ErrorList
		if list, ok := topology.AsErrorList(err); ok {
			for _, fe := range list {
				errs.Add("snapshot.rtt", fe.Detail+" (measured, at "+fe.Field+")")
			}
			return errs.Sorted()
		}
		return fmt.Errorf("placement: applying measured RTTs: %w", err)
	}
	p.topo, p.appliedRTT = topo, key
	if pp != nil {
		pp.routed, pp.routedKey = topo, key
		pp.stats.Reroutes++
	}
	return nil
}

// rttChanges returns the link changes that turn the topology with the measurements
// prev applied into the one with key applied, in pair order: a measurement new or
// changed sets the link's RTT (its p99 and tunnel cleared: the measurement is the whole
// round trip); one no longer measured gets base's figures back.
func rttChanges(base *topology.Topology, prev, key map[Pair]topology.Duration) []topology.LinkRTT {
	var out []topology.LinkRTT
	for _, k := range slices.SortedFunc(maps.Keys(key), cmpPair) {
		if d, ok := prev[k]; !ok || d != key[k] {
			out = append(out, topology.LinkRTT{A: k.A, B: k.B, RTT: key[k]})
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(prev), cmpPair) {
		if _, ok := key[k]; ok {
			continue
		}
		if l, ok := base.Link(k.A, k.B); ok {
			ch := topology.LinkRTT{A: k.A, B: k.B, RTT: l.RTT, P99: l.P99}
			if l.Tunnel != nil {
				tun := *l.Tunnel
				ch.Tunnel = &tun
			}
			out = append(out, ch)
			continue
		}
		for _, s := range [2][2]string{{k.A, k.B}, {k.B, k.A}} {
			if site, ok := base.Site(s[0]); ok {
				for _, a := range site.Access {
					if a.Cluster == s[1] {
						out = append(out, topology.LinkRTT{A: k.A, B: k.B, RTT: a.RTT, P99: a.P99})
					}
				}
			}
		}
	}
	return out
}

func cmpPair(a, b Pair) int { return cmp.Or(cmpStr(a.A, b.A), cmpStr(a.B, b.B)) }

func (p *problem) validate() ErrorList {
	var errs ErrorList
	req := p.req
	if len(req.Apps) == 0 {
		errs.Add("apps", "at least one application is required")
	}
	if len(req.Apps) > MaxApps {
		errs.Add("apps", fmt.Sprintf("%d applications, more than the limit of %d", len(req.Apps), MaxApps))
		return errs
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"network", p.w.Network}, {"compute", p.w.Compute}, {"migration", p.w.Migration}} {
		if problem := topology.CheckPrice(w.v); problem != "" {
			errs.Add("weights."+w.name, problem)
		}
	}
	if req.Hysteresis < 0 || req.Hysteresis >= 1 || math.IsNaN(req.Hysteresis) {
		errs.Add("hysteresis", fmt.Sprintf("must be in [0, 1), got %v", req.Hysteresis))
	}
	switch req.Mode {
	case "", Reoptimize, Repair:
	default:
		errs.Add("mode", fmt.Sprintf("must be %q or %q, got %q", Reoptimize, Repair, req.Mode))
	}
	switch req.Strategy {
	case "", StrategyDefault, StrategyExact:
	default:
		errs.Add("strategy", fmt.Sprintf("must be %q or %q, got %q", StrategyDefault, StrategyExact, req.Strategy))
	}
	if req.Explain < ExplainAuto || req.Explain > ExplainNone {
		errs.Add("explain", fmt.Sprintf("%d is not an explanation level", req.Explain))
	}
	if req.MaxNodes < 0 {
		errs.Add("maxNodes", fmt.Sprintf("%d is negative", req.MaxNodes))
	}
	for _, k := range slices.SortedFunc(maps.Keys(p.snap.RTT), func(a, b Pair) int { return cmp.Or(cmpStr(a.A, b.A), cmpStr(a.B, b.B)) }) {
		_, _, ok1 := p.endpoint(k.A)
		_, _, ok2 := p.endpoint(k.B)
		if !ok1 || !ok2 {
			errs.Add("snapshot.rtt", fmt.Sprintf("%s<->%s: unknown cluster or site", quote(k.A), quote(k.B)))
			continue
		}
		if problem := topology.CheckDuration(p.snap.RTT[k], topology.MinRTT, false); problem != "" {
			errs.Add("snapshot.rtt["+k.A+"<->"+k.B+"]", problem)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.snap.Free)) {
		if _, ok := p.topo.ClusterIndex(name); !ok {
			errs.Add("snapshot.free", fmt.Sprintf("unknown cluster %s", quote(name)))
			continue
		}
		free := p.snap.Free[name]
		for _, r := range slices.Sorted(maps.Keys(free)) {
			if problem := topology.CheckResource(r, free[r]); problem != "" {
				errs.Add("snapshot.free."+name+"."+string(r), problem)
			}
		}
	}
	// A Prepared whose applications all passed since they last changed (the totals
	// were checked after them), against its topology, skips them.
	if !p.prepared.appsChecked() {
		errs = append(errs, p.validateApps()...)
	}
	if len(errs) > 0 {
		return errs // the totals and the current plan are checked on valid applications
	}
	pp := p.prepared
	if pp == nil || !pp.totalsOK || pp.totalsGen != pp.appsGen {
		errs = append(errs, p.validateTotals()...)
		if pp != nil && len(errs) == 0 {
			pp.totalsOK, pp.totalsGen = true, pp.appsGen
		}
	}
	p.currentKept = pp != nil && pp.currentChecked(p.req.Current)
	if !p.currentKept {
		cerrs := p.validateCurrent()
		if pp != nil && len(cerrs) == 0 {
			pp.markCurrent(p.req.Current)
			p.currentKept = true
		}
		errs = append(errs, cerrs...)
	}
	return errs
}

// validateApps is validate's per-application part: unique names, each application's
// fields (validateApp) and its references to the topology (home, allowed clusters,
// flow and chain ends). A Prepared skips the applications it knows valid against its
// topology, unchanged since.
func (p *problem) validateApps() ErrorList {
	req := p.req
	var errs ErrorList
	names := make(map[string]int, len(req.Apps))
	for i := range req.Apps {
		a := &req.Apps[i]
		if j, dup := names[a.Metadata.Name]; dup {
			errs.Add("apps["+strconv.Itoa(i)+"].metadata.name", fmt.Sprintf("duplicate application %s (also apps[%d])", quote(a.Metadata.Name), j))
		}
		names[a.Metadata.Name] = i
		if p.prepared.appValid(i) {
			continue // validated against this topology before, unchanged since
		}
		prefix := "apps[" + strconv.Itoa(i) + "]."
		before := len(errs)
		errs = append(errs, validateApp(prefix, a, nil)...)
		comps := map[string]bool{}
		for _, c := range a.Components {
			comps[c.Name] = true
		}
		isSite := func(n string) bool { _, ok := p.topo.SiteIndex(n); return ok }
		if a.Home != "" {
			if _, ok := p.topo.ClusterIndex(a.Home); !ok {
				errs.Add(prefix+"home", fmt.Sprintf("unknown cluster %s", quote(a.Home)))
			}
		}
		for j, c := range a.Components {
			for k, cl := range c.Allowed.Clusters {
				if _, ok := p.topo.ClusterIndex(cl); !ok {
					errs.Add(fmt.Sprintf("%scomponents[%d].allowed.clusters[%d]", prefix, j, k), fmt.Sprintf("unknown cluster %s", quote(cl)))
				}
			}
		}
		for j, f := range a.Flows {
			for _, e := range []struct{ field, name string }{{"from", f.From}, {"to", f.To}} {
				switch {
				case e.name == "":
				case comps[e.name] && isSite(e.name):
					errs.Add(fmt.Sprintf("%sflows[%d].%s", prefix, j, e.field), fmt.Sprintf("%q names both a component and a site", e.name))
				case !comps[e.name] && !isSite(e.name):
					errs.Add(fmt.Sprintf("%sflows[%d].%s", prefix, j, e.field), fmt.Sprintf("no component or site %s", quote(e.name)))
				}
			}
		}
		for j, ch := range a.Chains {
			for k, e := range ch.Path {
				switch {
				case e == "":
				case comps[e] && isSite(e):
					errs.Add(fmt.Sprintf("%schains[%d].path[%d]", prefix, j, k), fmt.Sprintf("%q names both a component and a site", e))
				case !comps[e] && !isSite(e):
					errs.Add(fmt.Sprintf("%schains[%d].path[%d]", prefix, j, k), fmt.Sprintf("no component or site %s", quote(e)))
				}
			}
		}
		if len(errs) == before {
			p.prepared.markValid(i)
		}
	}
	return errs
}

// validateTotals checks the request-wide limits: replicas, replica pairs and the total
// bandwidth of the flows.
func (p *problem) validateTotals() ErrorList {
	var errs ErrorList
	instances, pairs := 0, 0
	var bw topology.Bandwidth // saturates at just over the limit
	for i := range p.req.Apps {
		a := &p.req.Apps[i]
		comps := map[string]int{}
		for j := range a.Components {
			comps[a.Components[j].Name] = j
			instances += a.Components[j].replicas()
		}
		for _, f := range a.Flows {
			pairs += flowPairs(a, comps, f)
			if bw <= MaxTotalBandwidth {
				bw += f.Bandwidth // each <= MaxBandwidth: bw stays below 2 x MaxTotalBandwidth
			}
		}
	}
	if instances > MaxInstances {
		errs.Add("apps", fmt.Sprintf("%d replicas in all, more than the limit of %d", instances, MaxInstances))
	}
	if pairs > MaxPairs {
		errs.Add("apps", fmt.Sprintf("the flows expand to %d replica pairs in all, more than the limit of %d", pairs, MaxPairs))
	}
	if bw > MaxTotalBandwidth {
		errs.Add("apps", fmt.Sprintf("the flows total more than the limit of %s", topology.Bandwidth(MaxTotalBandwidth)))
	}
	return errs
}

// validateCurrent checks Request.Current against the request and the topology: every
// entry names an application of the request, one of its components, a replica in
// range, a cluster of the topology (or none) and a node pool of that cluster (or none),
// and no replica is given twice.
func (p *problem) validateCurrent() ErrorList {
	var errs ErrorList
	if len(p.req.Current) > MaxInstances {
		errs.Add("current", fmt.Sprintf("%d entries, more than the limit of %d", len(p.req.Current), MaxInstances))
		return errs
	}
	apps := map[string]*Application{}
	for i := range p.req.Apps {
		apps[p.req.Apps[i].Metadata.Name] = &p.req.Apps[i]
	}
	seen := make(map[replicaKey]int, len(p.req.Current))
	for i, as := range p.req.Current {
		path := func() string { return index("current", i) } // built only for an error
		a, ok := apps[as.App]
		if !ok {
			errs.Add(path()+".app", fmt.Sprintf("no application %s in the request", quote(as.App)))
			continue
		}
		ci := slices.IndexFunc(a.Components, func(c Component) bool { return c.Name == as.Component })
		if ci < 0 {
			errs.Add(path()+".component", fmt.Sprintf("application %s has no component %s", quote(as.App), quote(as.Component)))
			continue
		}
		if n := a.Components[ci].replicas(); as.Replica < 0 || as.Replica >= n {
			errs.Add(path()+".replica", fmt.Sprintf("%d is outside [0, %d): %s/%s has %d replicas", as.Replica, n, as.App, as.Component, n))
			continue
		}
		key := replicaKey{as.App, as.Component, as.Replica}
		if j, dup := seen[key]; dup {
			errs.Add(path(), fmt.Sprintf("replica %s/%s[%d] is given twice (also current[%d])", as.App, as.Component, as.Replica, j))
			continue
		}
		seen[key] = i
		if as.Cluster == "" {
			if as.NodePool != "" {
				errs.Add(path()+".nodePool", "set on an unplaced replica")
			}
			continue
		}
		ix, ok := p.topo.ClusterIndex(as.Cluster)
		if !ok {
			errs.Add(path()+".cluster", fmt.Sprintf("unknown cluster %s", quote(as.Cluster)))
			continue
		}
		if as.NodePool != "" && !slices.ContainsFunc(p.topo.ClusterAt(ix).NodePools, func(np topology.NodePool) bool { return np.Name == as.NodePool }) {
			errs.Add(path()+".nodePool", fmt.Sprintf("cluster %s has no node pool %s", as.Cluster, quote(as.NodePool)))
		}
	}
	return errs
}

// replicaKey names one replica of Request.Current.
type replicaKey struct {
	app, comp string
	rep       int
}

// setCurrent sets each instance's current cluster from Request.Current (validated:
// no replica twice, none out of range); index maps (application, component) to the
// component's index. A Prepared's instances are shared (sharedInsts), so they are
// copied before the first write; the ones a Prepared kept for this placement in force
// are taken as they are.
func (p *problem) setCurrent(index map[[2]string]int) {
	if insts := p.prepared.currentsFor(p); insts != nil {
		p.insts = insts
		return
	}
	defer p.prepared.keepCurrents(p)
	for _, as := range p.req.Current {
		c, ok := p.topo.ClusterIndex(as.Cluster)
		if !ok {
			continue
		}
		if k, ok := index[[2]string{as.App, as.Component}]; ok && as.Replica >= 0 && as.Replica < p.comps[k].n {
			if p.sharedInsts {
				p.insts, p.sharedInsts = slices.Clone(p.insts), false
			}
			p.insts[p.comps[k].first+as.Replica].current = c
		}
	}
}

// compileCapacities sets each cluster's capacity (its free capacity where measured),
// node pools and CPU price.
func (p *problem) compileCapacities() {
	vec := func(r topology.ResourceList) []int64 {
		v := make([]int64, len(p.dims))
		for d, name := range p.dims {
			q := r[name]
			v[d] = q.MilliValue()
		}
		return v
	}
	p.capc = make([][]int64, p.n)
	p.pools = make([][]pool, p.n)
	p.price = make([]float64, p.n)
	p.clusters = p.topo.Clusters()
	for i := range p.n {
		c := p.clusters[i]
		p.capc[i] = vec(c.Capacity)
		if free, ok := p.snap.Free[c.Name]; ok {
			for d, name := range p.dims {
				if q, ok := free[name]; ok {
					p.capc[i][d] = min(p.capc[i][d], q.MilliValue())
				}
			}
		}
		p.price[i] = c.CPUPrice
		pools := slices.Clone(c.NodePools)
		slices.SortFunc(pools, func(a, b topology.NodePool) int { return cmpStr(a.Name, b.Name) })
		for _, np := range pools {
			p.pools[i] = append(p.pools[i], pool{name: np.Name, labels: np.Labels, capc: vec(np.Capacity)})
		}
	}
}

// resourceDims returns the resource dimensions of the problem: CPU, memory and GPU,
// then every other resource a cluster has or a component requests, by name.
func (p *problem) resourceDims() []topology.ResourceName {
	dimSet := map[topology.ResourceName]bool{}
	for _, k := range p.topo.ResourceNames() {
		dimSet[k] = true
	}
	for _, a := range p.req.Apps {
		for _, c := range a.Components {
			for k := range c.Requests {
				dimSet[k] = true
			}
		}
	}
	dims := []topology.ResourceName{topology.ResourceCPU, topology.ResourceMemory, topology.ResourceGPU}
	for _, k := range slices.Sorted(maps.Keys(dimSet)) {
		if !slices.Contains(dims, k) {
			dims = append(dims, k)
		}
	}
	return dims
}

// endpoint resolves a cluster or site name.
func (p *problem) endpoint(name string) (cluster, site int, ok bool) {
	if c, ok := p.topo.ClusterIndex(name); ok {
		return c, -1, true
	}
	if s, ok := p.topo.SiteIndex(name); ok {
		return -1, s, true
	}
	return -1, -1, false
}

func (p *problem) compileResources() {
	p.dims = p.prepared.dimsFor(p)
	if p.dims == nil {
		p.dims = p.resourceDims() // keepComponents keeps them with the components
	}
	if r := p.prepared.resourcesFor(p); r != nil {
		p.capc, p.pools, p.price, p.clusters = r.capc, r.pools, r.price, r.clusters
	} else {
		p.compileCapacities()
		p.prepared.keepResources(p)
	}
	for k, d := range p.snap.RTT {
		if _, ok := p.appliedRTT[k]; ok {
			continue // written into the topology's links
		}
		ca, sa, _ := p.endpoint(k.A)
		cb, sb, _ := p.endpoint(k.B)
		switch {
		case ca >= 0 && cb >= 0:
			p.rttCC[[2]int{ca, cb}], p.rttCC[[2]int{cb, ca}] = d, d
		case sa >= 0 && cb >= 0:
			p.rttSS[[2]int{sa, cb}] = d
		case ca >= 0 && sb >= 0:
			p.rttSS[[2]int{sb, ca}] = d
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rtt returns the RTT between two clusters (overrides first), -1 if unreachable.
func (p *problem) rtt(a, b int) topology.Duration {
	if len(p.rttCC) > 0 {
		if d, ok := p.rttCC[[2]int{a, b}]; ok {
			return d
		}
	}
	d, ok := p.topo.RTTAt(a, b)
	if !ok {
		return -1
	}
	return d
}

// rttColsMax bounds the clusters of a problem whose RTTs rttTo keeps in columns: one
// column has an entry per cluster, and a search fills one per cluster its placed flow
// partners occupy once enough RTTs to it are asked for (rttAsked); at most 2,048 x
// 2,048 entries, 32 MiB.
const rttColsMax = 2048

// rttTo returns rtt(c, oc) for every cluster c, for a caller that wants want of them
// now, or nil: on problems of more than rttColsMax clusters, and while too few have
// been asked for (rttAsked). A caller that tries many c for one placed partner oc
// reads one column. Main goroutine only, or after warm has filled every column.
func (p *problem) rttTo(oc, want int) []topology.Duration {
	if col := p.rttCols[oc]; col != nil {
		return col
	}
	return p.rttAsked(oc, want) // apart, so that the lines above are inlined
}

// rttIn is rtt(oc, c) read from col, oc's column as rttTo gave it (nil: looked up).
func (p *problem) rttIn(col []topology.Duration, oc, c int) topology.Duration {
	if col != nil {
		return col[c]
	}
	return p.rtt(oc, c)
}

// rttAsked counts that a caller wants want RTTs to oc and fills oc's column once the
// count reaches an eighth of the clusters (a column costs a copy of n entries and an
// allocation, about what that many lookups cost one by one): nil until then, and the
// caller looks them up itself. A search that asks for few RTTs to a cluster (a repair
// of a few replicas) pays for no column, one that asks for many pays for one.
func (p *problem) rttAsked(oc, want int) []topology.Duration {
	if p.n > rttColsMax {
		return nil
	}
	if p.rttUses == nil {
		p.rttUses = make([]int32, p.n)
	}
	if p.rttUses[oc] += int32(min(want, p.n)); int(p.rttUses[oc]) < p.n/8 {
		return nil
	}
	return p.fillRTTCol(oc)
}

// fillRTTCol fills rttTo's column for oc: a copy of oc's row of the topology's table
// (RTTs are symmetric), or, with measured overrides, one lookup per cluster.
func (p *problem) fillRTTCol(oc int) []topology.Duration {
	if p.n > rttColsMax {
		return nil
	}
	var col []topology.Duration
	if len(p.rttCC) == 0 {
		col = p.topo.RTTRow(oc, make([]topology.Duration, 0, p.n))
		for c, d := range col {
			if d < 0 {
				col[c] = -1 // as rtt answers
			}
		}
	} else {
		col = make([]topology.Duration, p.n)
		for c := range col {
			col[c] = p.rtt(oc, c)
		}
	}
	p.rttCols[oc] = col
	return col
}

// minInterRTT returns a lower bound of the RTT between two different clusters: the
// least effective RTT of a link (a path costs at least its cheapest link) and of the
// measured cluster-to-cluster overrides; -1 when there is neither. Computed once.
func (p *problem) minInterRTT() topology.Duration {
	if p.minInter == 0 {
		p.minInter = -1
		for k := range p.nLinks {
			if d := p.topo.LinkAt(k).EffectiveRTT(); p.minInter < 0 || d < p.minInter {
				p.minInter = d
			}
		}
		for _, d := range p.rttCC {
			if p.minInter < 0 || d < p.minInter {
				p.minInter = d
			}
		}
		if p.minInter == 0 {
			p.minInter = -1 // a zero RTT would read as "not computed"
		}
	}
	return p.minInter
}

// rttSC returns the RTT between a site and a cluster, -1 if unreachable.
func (p *problem) rttSC(s, c int) topology.Duration {
	if row := p.siteRTT[s]; row != nil {
		return row[c]
	}
	return p.rttSCLookup(s, c) // apart, so that the lines above are inlined
}

// fillSiteRTT fills rttSC's rows (siteRTT) of the sites a flow or chain names, copies
// of the topology's site rows, when there are no measured site overrides and the rows
// hold at most siteRowsMax entries; other sites are looked up. Above AllPairsMax
// clusters a site row is computed on demand, so the sites no flow or chain names cost
// nothing. Called before the filter pass's goroutines and before a search forks, which
// then only read the rows.
func (p *problem) fillSiteRTT() {
	if p.siteRTTDone || len(p.rttSS) > 0 {
		return
	}
	p.siteRTTDone = true
	named := make([]bool, p.topo.NumSites())
	for _, fp := range p.pairs {
		if fp.b < 0 {
			named[fp.site] = true
		}
	}
	for k := range p.comps {
		for _, sf := range p.comps[k].siteFlows {
			named[sf.site] = true
		}
	}
	for _, ch := range p.chains {
		for _, e := range ch.elems {
			if e.comp < 0 {
				named[e.site] = true
			}
		}
	}
	ns := 0
	for _, on := range named {
		if on {
			ns++
		}
	}
	if ns == 0 || ns*p.n > siteRowsMax {
		return
	}
	buf := make([]topology.Duration, 0, ns*p.n)
	for s, on := range named {
		if !on {
			continue
		}
		row := p.topo.SiteRTTRow(s, buf[len(buf):])
		for c, d := range row {
			if d < 0 {
				row[c] = -1 // as rttSCLookup answers
			}
		}
		p.siteRTT[s] = row[:len(row):len(row)]
		buf = buf[:len(buf)+len(row)]
	}
}

// siteRowsMax bounds the entries of the site rows (8 bytes each): 4 MiB.
const siteRowsMax = 1 << 19

// rttSCLookup is rttSC through the overrides and the topology.
func (p *problem) rttSCLookup(s, c int) topology.Duration {
	if len(p.rttSS) > 0 {
		if d, ok := p.rttSS[[2]int{s, c}]; ok {
			return d
		}
	}
	d, ok := p.topo.SiteRTTAt(s, c)
	if !ok {
		return -1
	}
	return d
}

func (p *problem) compileComponents() map[[2]string]int {
	nComps, nInsts := 0, 0
	for ai := range p.req.Apps {
		nComps += len(p.req.Apps[ai].Components)
		for ci := range p.req.Apps[ai].Components {
			nInsts += p.req.Apps[ai].Components[ci].replicas()
		}
	}
	p.comps, p.insts = make([]comp, 0, nComps), make([]inst, 0, nInsts)
	fixed := make([]compFixed, nComps)
	compIdx := make(map[[2]string]int, nComps)
	for ai := range p.req.Apps {
		a := &p.req.Apps[ai]
		for ci := range a.Components {
			c := &a.Components[ci]
			k := comp{compFixed: &fixed[len(p.comps)]}
			*k.compFixed = compFixed{app: ai, idx: ci, c: c, name: a.Metadata.Name + "/" + c.Name, first: len(p.insts), n: c.replicas(),
				udpUser: c.exposesUDP()}
			k.req = make([]int64, len(p.dims))
			for d, name := range p.dims {
				q := c.Requests[name]
				k.req[d] = q.MilliValue()
			}
			cpu := c.Requests[topology.ResourceCPU]
			k.cores = float64(cpu.MilliValue()) / milli
			k.stateGB = float64(c.StateSize.Value()) / 1e9 * appWeight(a, "migration")
			k.wCompute = appWeight(a, "compute")
			compIdx[[2]string{a.Metadata.Name, c.Name}] = len(p.comps)
			for r := range k.n {
				p.insts = append(p.insts, inst{comp: len(p.comps), rep: r, current: -1})
			}
			p.comps = append(p.comps, k)
		}
	}
	for ai := range p.req.Apps {
		a := &p.req.Apps[ai]
		cidx := func(name string) int {
			if k, ok := compIdx[[2]string{a.Metadata.Name, name}]; ok {
				return k
			}
			return -1
		}
		for ci := range a.Components {
			k := cidx(a.Components[ci].Name)
			for _, n := range a.Components[ci].CoLocate {
				o := cidx(n)
				p.comps[k].coLocate = appendUnique(p.comps[k].coLocate, o)
				p.comps[o].coLocate = appendUnique(p.comps[o].coLocate, k)
			}
			for _, n := range a.Components[ci].AntiAffinity {
				o := cidx(n)
				p.comps[k].anti = appendUnique(p.comps[k].anti, o)
				p.comps[o].anti = appendUnique(p.comps[o].anti, k)
			}
		}
		for fi, f := range a.Flows {
			ka, kb := cidx(f.From), cidx(f.To)
			if ka < 0 { // site -> component: orient component first
				ka, kb = kb, ka
			}
			proto := f.Protocol
			if kb < 0 {
				si, _ := p.topo.SiteIndex(siteName(f, cidx))
				k := &p.comps[ka]
				k.siteFlows = append(k.siteFlows, siteFlow{site: si, maxRTT: f.MaxRTT})
				if proto == UDP {
					k.udpUser = true
				}
				bw := int64(f.Bandwidth) / int64(k.n)
				for r := range k.n {
					p.addPair(flowPair{app: ai, flow: fi, a: k.first + r, b: -1, site: si, bw: bw, maxRTT: f.MaxRTT})
				}
				continue
			}
			A, B := &p.comps[ka], &p.comps[kb]
			bw := int64(f.Bandwidth) / int64(A.n*B.n)
			for ra := range A.n {
				for rb := range B.n {
					p.addPair(flowPair{app: ai, flow: fi, a: A.first + ra, b: B.first + rb, site: -1, bw: bw, maxRTT: f.MaxRTT})
				}
			}
		}
		for chi, ch := range a.Chains {
			cc := chainC{app: ai, idx: chi, name: ch.Name, budget: ch.Budget}
			var comps []int
			for _, e := range ch.Path {
				if k := cidx(e); k >= 0 {
					cc.elems = append(cc.elems, chainElem{site: -1, comp: k})
					cc.proc += p.comps[k].c.ProcessingTime
					if p.comps[k].c.ProcessingTime > 0 {
						cc.hops++
					}
					comps = appendUnique(comps, k)
				} else {
					si, _ := p.topo.SiteIndex(e)
					cc.elems = append(cc.elems, chainElem{site: si, comp: -1})
				}
			}
			cc.hops += max(len(cc.elems)-1, 0)
			id := len(p.chains)
			p.chains = append(p.chains, cc)
			if len(comps) == 1 {
				p.comps[comps[0]].soloChains = append(p.comps[comps[0]].soloChains, id)
			}
			for _, k := range comps {
				for r := range p.comps[k].n {
					p.insts[p.comps[k].first+r].chains = append(p.insts[p.comps[k].first+r].chains, int32(id))
				}
			}
		}
	}
	return compIdx
}

func siteName(f Flow, cidx func(string) int) string {
	if cidx(f.From) < 0 {
		return f.From
	}
	return f.To
}

func appendUnique(s []int, v int) []int {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func (p *problem) addPair(fp flowPair) {
	fp.gbit = float64(fp.bw) / 1e9 * appWeight(&p.req.Apps[fp.app], "network") // the cost weight of the pair
	id := int32(len(p.pairs))
	p.pairs = append(p.pairs, fp)
	p.insts[fp.a].pairs = append(p.insts[fp.a].pairs, id)
	if fp.b >= 0 {
		p.insts[fp.b].pairs = append(p.insts[fp.b].pairs, id)
	} else {
		p.insts[fp.a].sitePairs = append(p.insts[fp.a].sitePairs, id)
	}
}

func (p *problem) compileBandwidth() {
	p.nLinks = p.topo.NumLinks()
	nAccess := 0
	for si := range p.topo.NumSites() {
		nAccess += len(p.topo.SiteAt(si).Access)
	}
	p.bwCap = make([]int64, 0, p.nLinks+len(p.clusters)+nAccess) // allocated once
	for k := range p.nLinks {
		p.bwCap = append(p.bwCap, int64(p.topo.LinkAt(k).Capacity))
	}
	for i := range p.clusters {
		p.bwCap = append(p.bwCap, int64(p.clusters[i].Uplink))
	}
	for si := range p.topo.NumSites() {
		s := p.topo.SiteAt(si)
		p.accessAt = append(p.accessAt, len(p.bwCap))
		for _, a := range s.Access {
			p.bwCap = append(p.bwCap, int64(a.Capacity))
		}
	}
	var total int64
	for k := range p.pairs {
		total += p.pairs[k].bw
	}
	p.bwSafe = make([]bool, len(p.bwCap))
	for r, c := range p.bwCap {
		p.bwSafe[r] = total <= math.MaxInt64/4 && c >= 2*total
	}
}

// bwName names bandwidth resource r: a link "a<->b", a cluster's uplink (the
// cluster's name) or a site's access link "site<->cluster". Built when a plan or a
// reason needs it.
func (p *problem) bwName(r int) string {
	if r < p.nLinks {
		l := p.topo.LinkAt(r)
		return l.A + "<->" + l.B
	}
	if r < p.nLinks+len(p.clusters) {
		return p.clusters[r-p.nLinks].Name
	}
	// The last site whose first access resource is at most r (a site without access
	// links shares its start with the next one).
	si := sort.Search(len(p.accessAt), func(i int) bool { return p.accessAt[i] > r }) - 1
	s := p.topo.SiteAt(si)
	return s.Name + "<->" + s.Access[r-p.accessAt[si]].Cluster
}

// route returns the bandwidth resources a flow between clusters a and b uses: every
// link of the path and the uplinks at both ends of every link. Cached.
func (p *problem) route(a, b int) []int32 {
	key := int64(a)*int64(p.n) + int64(b)
	dense := p.n <= denseRoutes
	if dense {
		if p.routeRows == nil {
			p.routeRows = make([]routeRow, p.n)
		}
		if row := &p.routeRows[a]; row.known != nil && row.known[b] {
			return row.r[b]
		}
	} else if r, ok := p.routes[key]; ok {
		return r
	}
	var r []int32
	if a != b {
		for _, li := range p.topo.RouteAt(a, b) {
			l := p.topo.LinkAt(li)
			ca, _ := p.topo.ClusterIndex(l.A)
			cb, _ := p.topo.ClusterIndex(l.B)
			r = append(r, int32(li), int32(p.nLinks+ca), int32(p.nLinks+cb))
		}
	}
	if dense {
		p.routeRows[a].set(b, r, p.n)
	} else {
		p.routes[key] = r
	}
	return r
}

// routeRow holds the routes from one cluster or site that are known.
type routeRow struct {
	r     [][]int32
	known []bool
}

// set records the route to cluster c, allocating the row (n clusters) on first use.
func (row *routeRow) set(c int, r []int32, n int) {
	if row.known == nil {
		row.r, row.known = make([][]int32, n), make([]bool, n)
	}
	row.r[c], row.known[c] = r, true
}

// denseRoutes is the number of clusters up to which the routes are cached in rows of n
// entries per source (allocated when a source is first used) rather than a map.
const denseRoutes = 256

// siteRoute returns the bandwidth resources between a site and a cluster: the access
// link, then the cluster route.
func (p *problem) siteRoute(s, c int) []int32 {
	key := -1 - (int64(s)*int64(p.n) + int64(c))
	dense := p.n <= denseRoutes && p.topo.NumSites() <= denseRoutes
	if dense {
		if p.siteRows == nil {
			p.siteRows = make([]routeRow, p.topo.NumSites())
		}
		if row := &p.siteRows[s]; row.known != nil && row.known[c] {
			return row.r[c]
		}
	} else if r, ok := p.routes[key]; ok {
		return r
	}
	acc, _, ok := p.topo.SiteRouteAt(s, c)
	var r []int32
	if ok {
		r = append(r, int32(p.accessAt[s]+acc))
		ai, _ := p.topo.ClusterIndex(p.topo.SiteAt(s).Access[acc].Cluster)
		r = append(r, p.route(ai, c)...)
	}
	if dense {
		p.siteRows[s].set(c, r, p.n)
	} else {
		p.routes[key] = r
	}
	return r
}
