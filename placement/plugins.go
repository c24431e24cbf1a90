package placement

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/continuum-xr/continuum/topology"
)

// Filter rules clusters out for a component before the search, from the component and
// the cluster alone (the built-in filters: allowed tiers/owners/regions/clusters, the
// label selector, taints, resources, UDP exposure, latency to sites). Constraints between replicas (capacity
// shared with others, bandwidth, RTT between components, chains through several
// components) are checked by the engine during the search.
//
// A Filter must be deterministic and safe for concurrent use; it must not modify its
// argument.
type Filter interface {
	// Name is the constraint name used in explanations ("allowed", "udp", ...).
	Name() string
	// Filter returns "" when the component may run on the cluster, else the reason,
	// with numbers ("needs 4 GPUs, cluster has 2").
	Filter(c *Candidate) string
}

// Scorer adds a cost to each replica on a cluster: the objective gets weight x score.
// Scores must be >= 0, deterministic and safe for concurrent use.
type Scorer interface {
	Name() string
	Score(c *Candidate) float64
}

// WeightedScorer is a scorer with its weight in the objective.
type WeightedScorer struct {
	Scorer Scorer
	Weight float64
}

// Candidate is a component of an application on a cluster, as filters and scorers see
// it.
type Candidate struct {
	Snapshot     *Snapshot
	App          *Application
	Component    *Component
	Cluster      *topology.Cluster
	ClusterIndex int
	p            *problem
	comp         int
}

// SiteRTT returns the RTT between the site and the candidate's cluster, measured
// overrides first; ok is false when no route joins them.
func (c *Candidate) SiteRTT(site string) (topology.Duration, bool) {
	si, ok := c.Snapshot.Topology.SiteIndex(site)
	if !ok {
		return 0, false
	}
	d := c.p.rttSC(si, c.ClusterIndex)
	return d, d >= 0
}

// Capacity returns the cluster's capacity for a resource, measured free capacity first,
// in thousandths of the resource's unit (resource.Quantity's MilliValue): 4 CPUs is
// 4000, 1Gi of memory is 1073741824000, 2 GPUs is 2000; 0 for a resource the cluster
// does not have.
func (c *Candidate) Capacity(name topology.ResourceName) int64 {
	d := c.p.dimIndex(name)
	if d < 0 {
		return 0
	}
	return c.p.capc[c.ClusterIndex][d]
}

var (
	registryMu sync.RWMutex
	// The built-in filters, registered before any package-level engine is built.
	registry, builtins = func() (map[string]Filter, []string) {
		r := map[string]Filter{}
		var names []string
		for _, f := range []Filter{allowedFilter{}, labelsFilter{}, taintsFilter{}, resourcesFilter{}, udpFilter{}, siteLatencyFilter{}} {
			r[f.Name()] = f
			names = append(names, f.Name())
		}
		return r, names
	}()
)

// Register makes a filter available by its name to Options.FilterNames. It fails when
// f is nil, its name is empty or the name is taken.
func Register(f Filter) error {
	if isNil(f) {
		return errors.New("placement: Register: the filter is nil")
	}
	if f.Name() == "" {
		return errors.New("placement: Register: the filter has no name")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[f.Name()]; dup {
		return fmt.Errorf("placement: a filter named %q is already registered", f.Name())
	}
	registry[f.Name()] = f
	return nil
}

// Unregister removes the filter registered as name, so that the name can be
// registered again: a test that registers a filter calls it in t.Cleanup, and then
// passes under -count=2. Engines built before keep the filter. The built-in filters
// cannot be removed; neither can a name nothing is registered as.
func Unregister(name string) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	if slices.Contains(builtins, name) {
		return fmt.Errorf("placement: unregister %q: a built-in filter stays registered (leave it out of Options.FilterNames instead)", name)
	}
	if _, ok := registry[name]; !ok {
		return fmt.Errorf("placement: unregister %q: no filter registered as %q (registered: %v)", name, name, registeredLocked())
	}
	delete(registry, name)
	return nil
}

// isNil reports whether x is nil or an interface holding a nil pointer, map, slice or
// function (a plugin whose methods would panic).
func isNil(x any) bool {
	if x == nil {
		return true
	}
	switch v := reflect.ValueOf(x); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Lookup returns the registered filter called name.
func Lookup(name string) (Filter, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Registered returns the names of the registered filters, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registeredLocked()
}

func registeredLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BuiltinFilters returns the names of the built-in filters, in the order they run.
func BuiltinFilters() []string { return slices.Clone(builtins) }

// Compile-time checks that the built-in filters have the fast check (without it the
// filter pass would quietly format every reason); that they are Filters the list of
// builtins already checks.
var (
	_ batchFilter = resourcesFilter{}
	_ batchFilter = siteLatencyFilter{}
	_ fastFilter  = allowedFilter{}
	_ fastFilter  = resourcesFilter{}
	_ fastFilter  = udpFilter{}
	_ fastFilter  = siteLatencyFilter{}
	_ fastFilter  = labelsFilter{}
	_ fastFilter  = taintsFilter{}
)

// allowedFilter enforces Component.Allowed.
type allowedFilter struct{}

func (allowedFilter) Name() string { return "allowed" }

func (allowedFilter) passesAll(p *problem, k int) bool {
	a := &p.comps[k].c.Allowed
	return len(a.Clusters) == 0 && len(a.Tiers) == 0 && len(a.Owners) == 0 && len(a.Regions) == 0
}

func (f allowedFilter) ok(c *Candidate) bool {
	a, cl := &c.Component.Allowed, c.Cluster
	return (len(a.Clusters) == 0 || slices.Contains(a.Clusters, cl.Name)) &&
		(len(a.Tiers) == 0 || slices.Contains(a.Tiers, cl.Tier)) &&
		(len(a.Owners) == 0 || slices.Contains(a.Owners, cl.Owner)) &&
		(len(a.Regions) == 0 || slices.Contains(a.Regions, cl.Region))
}

func (allowedFilter) Filter(c *Candidate) string {
	a, cl := &c.Component.Allowed, c.Cluster
	switch {
	case len(a.Clusters) > 0 && !slices.Contains(a.Clusters, cl.Name):
		return fmt.Sprintf("not among the allowed clusters %s", strings.Join(a.Clusters, ", "))
	case len(a.Tiers) > 0 && !slices.Contains(a.Tiers, cl.Tier):
		return fmt.Sprintf("tier %s not allowed (allowed: %s)", cl.Tier, joinTiers(a.Tiers))
	case len(a.Owners) > 0 && !slices.Contains(a.Owners, cl.Owner):
		return fmt.Sprintf("owner %s not allowed (allowed: %s)", cl.Owner, strings.Join(a.Owners, ", "))
	case len(a.Regions) > 0 && !slices.Contains(a.Regions, cl.Region):
		return fmt.Sprintf("region %q not allowed (allowed: %s)", cl.Region, strings.Join(a.Regions, ", "))
	}
	return ""
}

func joinTiers(ts []topology.Tier) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// resourcesFilter rules out clusters too small for one replica even when empty, and
// clusters without a node pool that matches the selector and fits the replica.
type resourcesFilter struct{}

func (resourcesFilter) Name() string { return "resources" }

func (f resourcesFilter) ok(c *Candidate) bool {
	return c.p.roomWhenEmpty(c.p.comps[c.comp].req, c.Component.NodePool, c.ClusterIndex)
}

func (resourcesFilter) keep(p *problem, k int, alive []int32) []int32 {
	comp := &p.comps[k]
	req, sel := comp.req, comp.c.NodePool
	kept := alive[:0]
	for _, c := range alive {
		if p.roomWhenEmpty(req, sel, int(c)) {
			kept = append(kept, c)
		}
	}
	return kept
}

// roomWhenEmpty is the resources filter's verdict: cluster c, empty, holds one replica
// of demand req, and has a node pool that matches sel and fits it (no pools: only
// without a selector).
func (p *problem) roomWhenEmpty(req []int64, sel map[string]string, c int) bool {
	capc := p.capc[c]
	for d, need := range req {
		if need > 0 && need > capc[d] {
			return false
		}
	}
	pools := p.pools[c]
	if len(pools) == 0 {
		return len(sel) == 0
	}
	for _, pl := range pools {
		if pl.matches(sel) && pl.fits(req, nil) {
			return true
		}
	}
	return false
}

func (resourcesFilter) Filter(c *Candidate) string {
	p, k := c.p, c.comp
	req := p.comps[k].req
	for d, need := range req {
		if need > 0 && need > p.capc[c.ClusterIndex][d] {
			return fmt.Sprintf("needs %s %s, cluster has %s", fmtQty(p.dims[d], need), p.dims[d], fmtQty(p.dims[d], p.capc[c.ClusterIndex][d]))
		}
	}
	pools := p.pools[c.ClusterIndex]
	sel := c.Component.NodePool
	if len(sel) == 0 && len(pools) == 0 {
		return ""
	}
	if len(pools) == 0 {
		return fmt.Sprintf("no node pools, and the component selects pools %s", fmtLabels(sel))
	}
	matched := false
	for _, pl := range pools {
		if !pl.matches(sel) {
			continue
		}
		matched = true
		if pl.fits(req, nil) {
			return ""
		}
	}
	if !matched {
		return fmt.Sprintf("no node pool matches %s", fmtLabels(sel))
	}
	return "no matching node pool is large enough for one replica"
}

// udpFilter keeps components that face users over UDP (an exposed UDP port, or a UDP
// flow to a site) on clusters that can expose UDP.
type udpFilter struct{}

func (udpFilter) Name() string { return "udp" }

func (udpFilter) passesAll(p *problem, k int) bool { return !p.comps[k].udpUser }

func (f udpFilter) ok(c *Candidate) bool { return f.Filter(c) == "" }

func (udpFilter) Filter(c *Candidate) string {
	if c.Cluster.UDPExposure || !c.p.comps[c.comp].udpUser {
		return ""
	}
	return "cannot expose UDP to users"
}

// siteLatencyFilter rules out clusters too far from the users: flows to a site with a
// maximum RTT, and chains whose only component is this one.
type siteLatencyFilter struct{}

func (siteLatencyFilter) Name() string { return "site-latency" }

func (siteLatencyFilter) passesAll(p *problem, k int) bool {
	return len(p.comps[k].siteFlows) == 0 && len(p.comps[k].soloChains) == 0
}

func (siteLatencyFilter) ok(c *Candidate) bool { return c.p.nearUsers(c.comp, c.ClusterIndex) }

// keep is nearUsers over alive, one flow or chain at a time.
func (siteLatencyFilter) keep(p *problem, k int, alive []int32) []int32 {
	comp := &p.comps[k]
	for _, sf := range comp.siteFlows {
		kept := alive[:0]
		for _, c := range alive {
			if p.siteFlowNear(sf, int(c)) {
				kept = append(kept, c)
			}
		}
		alive = kept
	}
	for _, ch := range comp.soloChains {
		kept := alive[:0]
		for _, c := range alive {
			if p.soloChainNear(ch, k, int(c)) {
				kept = append(kept, c)
			}
		}
		alive = kept
	}
	return alive
}

// nearUsers is the site-latency filter's verdict for component k on cluster ci: every
// flow to a site within its maximum RTT, every chain whose only component is k within
// its budget.
func (p *problem) nearUsers(k, ci int) bool {
	for _, sf := range p.comps[k].siteFlows {
		if !p.siteFlowNear(sf, ci) {
			return false
		}
	}
	for _, ch := range p.comps[k].soloChains {
		if !p.soloChainNear(ch, k, ci) {
			return false
		}
	}
	return true
}

// siteFlowNear reports whether cluster c reaches site flow sf's site within its
// maximum RTT (none: any route).
func (p *problem) siteFlowNear(sf siteFlow, c int) bool {
	rtt := p.rttSC(sf.site, c)
	return rtt >= 0 && (sf.maxRTT <= 0 || rtt <= sf.maxRTT)
}

// soloChainNear reports whether chain ch, whose only component is k, is within its
// budget with k on cluster c.
func (p *problem) soloChainNear(ch, k, c int) bool {
	lat, ok := p.chainLatencySolo(ch, k, c)
	return ok && lat <= p.chains[ch].budget
}

func (siteLatencyFilter) Filter(c *Candidate) string {
	p, ci := c.p, c.ClusterIndex
	for _, sf := range p.comps[c.comp].siteFlows {
		rtt := p.rttSC(sf.site, ci)
		if rtt < 0 {
			return fmt.Sprintf("no route to site %s", p.topo.SiteAt(sf.site).Name)
		}
		if sf.maxRTT > 0 && rtt > sf.maxRTT {
			return fmt.Sprintf("flow to %s: RTT %s > max %s", p.topo.SiteAt(sf.site).Name, fmtMs(rtt), fmtMs(sf.maxRTT))
		}
	}
	for _, ch := range p.comps[c.comp].soloChains {
		lat, ok := p.chainLatencySolo(ch, c.comp, ci)
		if !ok {
			return fmt.Sprintf("chain %s: no route", p.chains[ch].name)
		}
		if lat > p.chains[ch].budget {
			return fmt.Sprintf("chain %s %s > %s", p.chains[ch].name, fmtMs(lat), fmtMs(p.chains[ch].budget))
		}
	}
	return ""
}

func fmtMs(d topology.Duration) string { return fmt.Sprintf("%.1fms", d.Ms()) }

func fmtLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
