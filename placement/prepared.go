package placement

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/continuum-xr/continuum/topology"
)

// Prepared is a placement problem kept between calls: a topology, measurements and
// applications that change a little at a time (what a control loop sees from round to
// round). It remembers what does not change between calls — which applications are
// valid, their compiled components, the topology re-routed through the measured link
// RTTs and the routes that a change of RTTs left as they were (see the package doc) —
// so a call pays only for what changed, and its plans are byte for byte those of the
// stateless Engine.Place on the same inputs.
//
// Updates: Update replaces the snapshot and/or the applications (an unchanged part is
// recognised and kept); SetRTT, SetFree, SetApplication and RemoveApplication change
// one thing. Applications passed in are kept by reference and must not be modified
// afterwards (pass a copy). A Prepared is safe for concurrent use; calls are
// serialised.
type Prepared struct {
	mu   sync.Mutex
	e    *Engine
	snap Snapshot // own maps
	apps []Application
	// valid[i] says apps[i] passed validateApp and the topology checks.
	valid []bool
	// The topology with the measured link RTTs of routedKey applied (nil: not built).
	routed    *topology.Topology
	routedKey map[Pair]topology.Duration
	// appsGen counts changes of apps; cc holds the components compiled from them.
	appsGen int
	cc      *compiledComps
	// routes are the route tables of the last call (adoptRoutes).
	routes preparedRoutes
	// freeGen counts changes of the free capacities; res holds the resources compiled
	// from them.
	freeGen int
	res     *resources
	// totalsGen is the generation of apps whose totals passed validateTotals (when
	// totalsOK).
	totalsOK  bool
	totalsGen int
	// current is the last Request.Current that passed validateCurrent, against the
	// applications of currentGen and the topology currentTopo; currentSeq counts the
	// ones kept. curInsts are the instances with the current clusters setCurrent
	// found for the one of curAtSeq, on the compiled components curInstsCC; calls only
	// read them, so the next call with that placement in force shares them.
	current              []Assignment
	currentGen           int
	currentTopo          *topology.Topology
	currentSeq, curAtSeq int
	curInsts             []inst
	curInstsCC           *compiledComps
	// curAllowed says, per instance of curInsts, whether the built-in filters but the
	// site-latency one let it stay on its current cluster (0 not known, 1 yes, 2 no),
	// with the resources curAllowedRes (capacities; the free-capacity generation,
	// which every Update of the snapshot advances, covers Snapshot.Now for taints).
	curAllowed    []int8
	curAllowedRes *resources
	// bwNames are the names of the bandwidth resources (bwName) of the topology
	// bwNamesTopo: measured RTTs change no link's name or index, so they stand until
	// the snapshot's topology changes.
	bwNames     []string
	bwNamesTopo *topology.Topology
	// joins are the chain hops' Where strings of the last plan, by chain element over
	// all chains (joinHop): a repair moves few replicas, so most hops are placed as
	// before and their string is reused rather than built again. Each is checked
	// against its parts before use, so no update has to drop them.
	joins []hopJoin
	stats PreparedStats
}

// compiledComps is what compileComponents built for a generation of the applications
// on a topology, before any call added to it: the components (their active filters
// computed, their candidates not), the instances (no current cluster), flow pairs, chains, and the
// component index by application and name. Calls copy comps and insts; the rest they
// only read.
type compiledComps struct {
	gen    int
	base   *topology.Topology
	dims   []topology.ResourceName
	comps  []comp
	insts  []inst
	pairs  []flowPair
	chains []chainC
	index  map[[2]string]int
}

// PreparedStats counts what a Prepared reused and rebuilt, for tests and tuning.
type PreparedStats struct {
	// Calls counts Place calls; Reroutes how many of them re-routed the topology (the
	// measured link RTTs changed); AppsValidated the applications validated;
	// Compiles how many compiled the applications' components (the others reused them).
	Calls, Reroutes, AppsValidated, Compiles int
}

// Prepare returns a Prepared problem over snap and apps with the engine's plugins.
// Bad input is an ErrorList naming the field, as from Place.
func (e *Engine) Prepare(snap *Snapshot, apps []Application) (*Prepared, error) {
	if e == nil {
		return nil, ErrorList{{Field: "engine", Detail: "nil Engine: build one with NewEngine"}}
	}
	pp := &Prepared{e: e}
	if err := pp.Update(snap, apps); err != nil {
		return nil, err
	}
	return pp, nil
}

// Prepare is Engine.Prepare with the built-in filters.
func Prepare(snap *Snapshot, apps []Application) (*Prepared, error) {
	return defaultEngine.Prepare(snap, apps)
}

// Update replaces the snapshot (when snap is not nil) and the applications (when apps
// is not nil). Applications equal to the ones held keep their validation; a new
// topology drops everything derived from the old one.
func (pp *Prepared) Update(snap *Snapshot, apps []Application) error {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if snap != nil {
		if snap.Topology == nil {
			return ErrorList{{Field: "snapshot.topology", Detail: "required"}}
		}
		if snap.Topology != pp.snap.Topology {
			pp.valid = make([]bool, len(pp.apps))
			pp.routed, pp.routedKey, pp.cc = nil, nil, nil
		}
		pp.snap = Snapshot{Topology: snap.Topology, RTT: maps.Clone(snap.RTT), Free: cloneFree(snap.Free), Now: snap.Now}
		pp.freeGen++
	}
	if apps != nil {
		valid := make([]bool, len(apps))
		for i := range apps {
			if i < len(pp.apps) && pp.valid[i] && reflect.DeepEqual(&apps[i], &pp.apps[i]) {
				valid[i] = true
			}
		}
		pp.apps, pp.valid = slices.Clone(apps), valid
		pp.appsGen++
	}
	if pp.snap.Topology == nil {
		return ErrorList{{Field: "snapshot.topology", Detail: "required"}}
	}
	return nil
}

// SetRTT records a measured RTT between two endpoints (clusters or a site and a
// cluster), as Snapshot.RTT does; a negative d removes the measurement.
func (pp *Prepared) SetRTT(a, b string, d topology.Duration) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.snap.RTT == nil {
		pp.snap.RTT = map[Pair]topology.Duration{}
	}
	if d < 0 {
		delete(pp.snap.RTT, MakePair(a, b))
		return
	}
	pp.snap.RTT[MakePair(a, b)] = d
}

// SetFree records a cluster's measured free capacity, as Snapshot.Free does; nil
// removes the measurement (the topology's capacity stands). free is copied: changing
// it afterwards changes nothing here (Update copies a snapshot's free lists too).
func (pp *Prepared) SetFree(cluster string, free topology.ResourceList) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.snap.Free == nil {
		pp.snap.Free = map[string]topology.ResourceList{}
	}
	pp.freeGen++
	if free == nil {
		delete(pp.snap.Free, cluster)
		return
	}
	pp.snap.Free[cluster] = maps.Clone(free)
}

// cloneFree copies free capacities, each list too: a Prepared keeps what it derived
// from them, so a caller's later change must not reach them.
func cloneFree(free map[string]topology.ResourceList) map[string]topology.ResourceList {
	if free == nil {
		return nil
	}
	out := make(map[string]topology.ResourceList, len(free))
	for c, l := range free {
		out[c] = maps.Clone(l)
	}
	return out
}

// SetApplication adds the application, or replaces the one with its name.
func (pp *Prepared) SetApplication(app Application) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for i := range pp.apps {
		if pp.apps[i].Metadata.Name == app.Metadata.Name {
			if !reflect.DeepEqual(&pp.apps[i], &app) {
				pp.apps[i], pp.valid[i] = app, false
				pp.appsGen++
			}
			return
		}
	}
	pp.apps = append(pp.apps, app)
	pp.valid = append(pp.valid, false)
	pp.appsGen++
}

// RemoveApplication removes the application with that name; it reports whether there
// was one.
func (pp *Prepared) RemoveApplication(name string) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for i := range pp.apps {
		if pp.apps[i].Metadata.Name == name {
			pp.apps = slices.Delete(pp.apps, i, i+1)
			pp.valid = slices.Delete(pp.valid, i, i+1)
			pp.appsGen++
			return true
		}
	}
	return false
}

// Snapshot returns a copy of the snapshot the Prepared holds.
func (pp *Prepared) Snapshot() *Snapshot {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return &Snapshot{Topology: pp.snap.Topology, RTT: maps.Clone(pp.snap.RTT), Free: maps.Clone(pp.snap.Free), Now: pp.snap.Now}
}

// Applications returns the applications the Prepared holds (not to be modified).
func (pp *Prepared) Applications() []Application {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return slices.Clone(pp.apps)
}

// Stats returns what the Prepared reused and rebuilt so far.
func (pp *Prepared) Stats() PreparedStats {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.stats
}

// Place places the held applications on the held snapshot with the rest of req
// (strategy, mode, current placement, budgets, explanation level); req.Apps must be
// empty. The plan and error are those of Engine.Place on the same inputs.
func (pp *Prepared) Place(ctx context.Context, req *Request) (*Plan, error) {
	if pp == nil {
		return nil, ErrorList{{Field: "prepared", Detail: "nil Prepared: build one with Prepare"}}
	}
	if req == nil {
		req = &Request{}
	}
	if len(req.Apps) > 0 {
		return nil, ErrorList{{Field: "apps", Detail: fmt.Sprintf("%d application(s) given to a Prepared problem: set them with Update or SetApplication", len(req.Apps))}}
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.stats.Calls++
	r := *req
	r.Apps = pp.apps
	snap := pp.snap
	return pp.e.place(ctx, &snap, &r, pp)
}

// appsChecked reports whether the applications passed validate's per-application
// checks as they are now: the totals were checked for this generation (after every
// application was valid and no name was given twice) and every application is still
// known valid (a new topology makes them unknown again).
func (pp *Prepared) appsChecked() bool {
	return pp != nil && pp.totalsOK && pp.totalsGen == pp.appsGen && len(pp.valid) == len(pp.apps) && !slices.Contains(pp.valid, false)
}

// appValid reports whether application i is known valid; mark records it.
func (pp *Prepared) appValid(i int) bool { return pp != nil && i < len(pp.valid) && pp.valid[i] }

func (pp *Prepared) markValid(i int) {
	if pp != nil && i < len(pp.valid) {
		pp.valid[i] = true
		pp.stats.AppsValidated++
	}
}

// reuseComponents sets p's components, instances, pairs and chains from the ones
// compiled for the same applications, topology and resource dimensions (no current
// clusters yet) and returns the component index; ok is false when there are none.
func (p *problem) reuseComponents() (index map[[2]string]int, ok bool) {
	cc := p.prepared.compiledFor(p)
	if cc == nil || !slices.Equal(cc.dims, p.dims) {
		return nil, false
	}
	p.comps, p.insts, p.sharedInsts = slices.Clone(cc.comps), cc.insts, true
	p.pairs, p.chains = cc.pairs, cc.chains
	return cc.index, true
}

// compiledFor returns the components compiled for p's applications and topology, or
// nil (also when pp is nil).
func (pp *Prepared) compiledFor(p *problem) *compiledComps {
	if pp == nil || pp.cc == nil || pp.cc.gen != pp.appsGen || pp.cc.base != p.snap.Topology {
		return nil
	}
	return pp.cc
}

// keepComponents stores what compileComponents built, before the current clusters are
// set (index: the component index by application and name), for the next calls of a
// Prepared.
func (p *problem) keepComponents(index map[[2]string]int) {
	pp := p.prepared
	if pp == nil {
		return
	}
	// The components' active filters are computed now, before other calls share
	// them: they depend on the component, the engine's filters and the topology
	// (taints), all fixed for the compiled components of a Prepared.
	for k := range p.comps {
		p.activeFiltersOf(k)
	}
	pp.cc = &compiledComps{gen: pp.appsGen, base: p.snap.Topology, dims: p.dims, comps: slices.Clone(p.comps),
		insts: slices.Clone(p.insts), pairs: p.pairs, chains: p.chains, index: index}
	pp.stats.Compiles++
}

// linkKey returns the measured RTTs of snap that fall on links or access links: what
// applyMeasuredLinks writes into the topology.
func linkKey(snap *Snapshot) map[Pair]topology.Duration {
	if len(snap.RTT) == 0 {
		return nil
	}
	key := map[Pair]topology.Duration{}
	t := snap.Topology
	for k, d := range snap.RTT {
		if _, ok := t.Link(k.A, k.B); ok {
			key[k] = d
			continue
		}
		for _, s := range [2][2]string{{k.A, k.B}, {k.B, k.A}} {
			if site, ok := t.Site(s[0]); ok && slices.ContainsFunc(site.Access, func(a topology.AccessLink) bool { return a.Cluster == s[1] }) {
				key[k] = d
			}
		}
	}
	return key
}

// currentChecked reports whether cur equals the placement in force that last passed
// validateCurrent, against the same applications and topology.
func (pp *Prepared) currentChecked(cur []Assignment) bool {
	return pp.current != nil && pp.currentGen == pp.appsGen && pp.currentTopo == pp.snap.Topology && slices.Equal(cur, pp.current)
}

// markCurrent records cur as checked by validateCurrent.
func (pp *Prepared) markCurrent(cur []Assignment) {
	pp.current = append(pp.current[:0], cur...)
	if pp.current == nil {
		pp.current = []Assignment{}
	}
	pp.currentGen, pp.currentTopo = pp.appsGen, pp.snap.Topology
	pp.currentSeq++
}

// resources are compileResources' results for a topology, free capacities and
// resource dimensions (never changed in place: a plan's problem may still read them).
type resources struct {
	topo     *topology.Topology
	freeGen  int
	dims     []topology.ResourceName
	capc     [][]int64
	pools    [][]pool
	price    []float64
	clusters []topology.Cluster
}

// resourcesFor returns the resources kept for p's topology, free capacities and
// dimensions, or nil.
func (pp *Prepared) resourcesFor(p *problem) *resources {
	if pp == nil || pp.res == nil || pp.res.topo != p.snap.Topology || pp.res.freeGen != pp.freeGen || !slices.Equal(pp.res.dims, p.dims) {
		return nil
	}
	return pp.res
}

// keepResources keeps p's resources for the next calls.
func (pp *Prepared) keepResources(p *problem) {
	if pp != nil {
		pp.res = &resources{topo: p.snap.Topology, freeGen: pp.freeGen, dims: p.dims, capc: p.capc, pools: p.pools, price: p.price, clusters: p.clusters}
	}
}

// currentsFor returns the instances with their clusters in the placement in force, as
// setCurrent built them for the one validate last kept (markCurrent: same placement,
// applications and topology) on the same compiled components, or nil.
func (pp *Prepared) currentsFor(p *problem) []inst {
	if pp == nil || pp.curInsts == nil || pp.curAtSeq != pp.currentSeq || !p.currentKept ||
		pp.curInstsCC == nil || pp.curInstsCC != pp.compiledFor(p) || len(pp.curInsts) != len(p.insts) {
		return nil
	}
	return pp.curInsts
}

// keepCurrents keeps the instances setCurrent built, when the placement in force is
// the one validate last checked.
func (pp *Prepared) keepCurrents(p *problem) {
	if pp == nil || !p.currentKept {
		return
	}
	pp.curInsts, pp.curInstsCC, pp.curAtSeq = p.insts, pp.compiledFor(p), pp.currentSeq
	pp.curAllowed = nil
}

// currentAllowedMemo returns currentAllowed's memo for p's instances: they must be
// the kept ones (curInsts, so the same components and current clusters), on the
// resources kept (pp.res: compileResources leaves there the ones p uses); a new
// placement in force (keepCurrents) or new resources start a new memo. Nil without a
// Prepared.
func (pp *Prepared) currentAllowedMemo(p *problem) []int8 {
	if pp == nil || !p.currentKept || len(p.insts) == 0 || len(pp.curInsts) != len(p.insts) || &pp.curInsts[0] != &p.insts[0] {
		return nil
	}
	if pp.curAllowed == nil || pp.curAllowedRes != pp.res {
		pp.curAllowed, pp.curAllowedRes = make([]int8, len(p.insts)), pp.res
	}
	return pp.curAllowed
}

// preparedRoutes are the dense route tables of problem.route and siteRoute, kept from
// call to call for the routed topology topo; adoptRoutes drops the rows whose routes
// a change of measured RTTs changed.
type preparedRoutes struct {
	topo               *topology.Topology
	clusters, siteRows []routeRow
}

// adoptRoutes gives p the route tables of its Prepared, with the rows whose routes
// differ in p's routed topology dropped: a cluster's row when its cheapest-path tree
// changed (topology.SameRoutesFrom), a site's row when its entry clusters changed or
// any cluster's row was dropped (a site's routes go on from its entry clusters). Only
// for continuums small enough for dense tables.
func (p *problem) adoptRoutes() {
	pp, n, ns := p.prepared, p.n, p.topo.NumSites()
	if pp == nil || n > denseRoutes || ns > denseRoutes {
		return
	}
	rt := &pp.routes
	switch {
	case rt.topo == nil || len(rt.clusters) != n || len(rt.siteRows) != ns:
		*rt = preparedRoutes{clusters: make([]routeRow, n), siteRows: make([]routeRow, ns)}
	case rt.topo != p.topo:
		rowsSame := true
		for a := range n {
			if rt.clusters[a].known != nil && !p.topo.SameRoutesFrom(rt.topo, a) {
				rt.clusters[a] = routeRow{}
				rowsSame = false
			}
		}
		for s := range ns {
			if !rowsSame || !p.topo.SameSiteEntriesFrom(rt.topo, s) {
				rt.siteRows[s] = routeRow{}
			}
		}
	}
	rt.topo = p.topo
	p.routeRows, p.siteRows = rt.clusters, rt.siteRows
}

// detach cuts p from its Prepared when the call ends: the plan keeps p for
// Plan.Explain, which may run after the Prepared's next call, or during it, so p must
// not read or write the Prepared's tables any more (it builds its own routes again).
func (p *problem) detach() {
	if p.prepared == nil {
		return
	}
	p.prepared = nil
	p.routeRows, p.siteRows = nil, nil
}

// dimsFor returns the resource dimensions the components compiled for p's
// applications and topology were compiled with, nil when there are none.
func (pp *Prepared) dimsFor(p *problem) []topology.ResourceName {
	if cc := pp.compiledFor(p); cc != nil {
		return cc.dims
	}
	return nil
}

// usageName returns bwName(r), from the names its Prepared keeps for the topology when
// there is one: a plan names every link in use, and building "a<->b" afresh each call
// allocated a string per link.
func (p *problem) usageName(r int) string {
	pp := p.prepared
	if pp == nil {
		return p.bwName(r)
	}
	if pp.bwNamesTopo != p.snap.Topology || len(pp.bwNames) != len(p.bwCap) {
		names := make([]string, len(p.bwCap))
		for n := range names {
			names[n] = p.bwName(n)
		}
		pp.bwNames, pp.bwNamesTopo = names, p.snap.Topology
	}
	return pp.bwNames[r]
}

// hopJoins returns the chain hops' Where strings kept from the last plan, n of them
// (nil without a Prepared); they are dropped when the number of chain elements
// changes.
func (pp *Prepared) hopJoins(n int) []hopJoin {
	if pp == nil {
		return nil
	}
	if len(pp.joins) != n {
		pp.joins = make([]hopJoin, n)
	}
	return pp.joins
}
