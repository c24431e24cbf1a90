package placement

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Options configure an Engine. The zero value runs the built-in filters and no scorers.
type Options struct {
	// FilterNames selects registered filters by name, in order; nil means
	// BuiltinFilters(). Unknown names are an error from NewEngine.
	FilterNames []string
	// Filters are added after the named ones (a user's own, unregistered filters).
	Filters []Filter
	// Scorers add weighted costs to the objective.
	Scorers []WeightedScorer
}

// Engine places applications. It holds only its plugins, so one Engine is safe for
// concurrent use by many goroutines.
type Engine struct {
	filters []Filter
	scorers []WeightedScorer
}

// NewEngine builds an engine with the given plugins.
func NewEngine(o Options) (*Engine, error) {
	names := o.FilterNames
	if names == nil {
		names = BuiltinFilters()
	}
	e := &Engine{scorers: slices.Clone(o.Scorers)}
	for _, n := range names {
		f, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("placement: no filter registered as %q (registered: %v)", n, Registered())
		}
		e.filters = append(e.filters, f)
	}
	for i, f := range o.Filters {
		if isNil(f) {
			return nil, fmt.Errorf("placement: filters[%d]: the filter is nil", i)
		}
	}
	e.filters = append(e.filters, o.Filters...)
	for i, s := range e.scorers {
		if isNil(s.Scorer) || s.Weight < 0 || s.Weight > 1e6 || math.IsNaN(s.Weight) {
			return nil, fmt.Errorf("placement: scorers[%d]: needs a scorer and a weight in [0, 1e6]", i)
		}
	}
	return e, nil
}

var defaultEngine = func() *Engine {
	e, err := NewEngine(Options{})
	if err != nil {
		panic(err)
	}
	return e
}()

// Place places the request's applications on the snapshot with the built-in filters.
// See Engine.Place.
func Place(ctx context.Context, snap *Snapshot, req *Request) (*Plan, error) {
	return defaultEngine.Place(ctx, snap, req)
}

// Place decides a cluster (and node pool) for every replica of every application in
// req so that every hard constraint holds, at the lowest objective it finds. It is
// pure and deterministic: the same snapshot and request give the same plan, byte for
// byte (unless Request.Timeout or the ctx deadline cuts the search), and nothing in
// them is modified.
//
// Errors, with the three verdicts of SearchStats.Verdict:
//   - an ErrorList (ErrInvalid) for bad input, and no plan;
//   - VerdictInfeasible: an *UnplaceableError (ErrUnplaceable) with the partial plan,
//     only when infeasibility is proven (SearchStats.Proof names the certificate);
//   - VerdictUndecided: an *UndecidedError (ErrUndecided) with the best partial plan,
//     when the budgets ran out first; nothing is proven, so it carries no shortfall;
//   - ctx.Err() when the context is cancelled (a passed deadline is a time budget: the
//     best result so far is returned as above).
func (e *Engine) Place(ctx context.Context, snap *Snapshot, req *Request) (*Plan, error) {
	return e.place(ctx, snap, req, nil)
}

// place is Place with what a Prepared problem remembers (nil: nothing).
func (e *Engine) place(ctx context.Context, snap *Snapshot, req *Request, pp *Prepared) (*Plan, error) {
	if e == nil {
		return nil, ErrorList{{Field: "engine", Detail: "nil Engine: build one with NewEngine, or call placement.Place"}}
	}
	if ctx == nil {
		return nil, ErrorList{{Field: "ctx", Detail: "required (context.Background() when there is none)"}}
	}
	if req == nil {
		return nil, ErrorList{{Field: "request", Detail: "required"}}
	}
	if req.Timeout < 0 {
		return nil, ErrorList{{Field: "timeout", Detail: fmt.Sprintf("%v is negative", req.Timeout)}}
	}
	p, err := compile(snap, req, e.filters, e.scorers, pp)
	if err != nil {
		return nil, err
	}
	defer p.detach()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	sr := &search{p: p, ctx: ctx}
	st, stats, err := sr.run()
	if err != nil {
		return nil, err
	}
	plan := p.plan(st, stats)
	switch stats.Verdict {
	case VerdictInfeasible:
		return plan, p.unplaceable(st, stats.Proof)
	case VerdictUndecided:
		return plan, p.undecided(st, stats)
	}
	return plan, nil
}

// cands returns component k with its candidates computed: the filters run on every
// cluster, and the cheapest topK are ranked. They are computed per component when first
// needed, so a repair that keeps most replicas where they are pays only for the
// components it re-places.
func (p *problem) cands(k int) *comp {
	comp := &p.comps[k]
	if comp.compCands != nil {
		return comp
	}
	if p.ownScratch == nil {
		p.ownScratch = newCandScratch(p)
	}
	p.computeCands(k, p.ownScratch)
	return comp
}

// candScratch is what computing one component's candidates writes besides the
// component: a row to gather them in, rank's list and a state to price them in (rank
// prices static costs only: the state's usage is never read).
type candScratch struct {
	row      []int32
	rank     []rankedCand
	st       *state
	rejected []int // clusters ruled out, by filter of the component's active filters
}

func newCandScratch(p *problem) *candScratch { return &candScratch{st: &state{p: p}} }

// parallelCandPairs is the least work (clusters times components without candidates)
// that candsAll spreads over goroutines: below it, starting them costs more than it
// saves.
const parallelCandPairs = 16_000

// candsAll computes the candidates of the components of insts that have none. When
// there are many, more than one CPU, no scorer plugins and only built-in filters (which
// read the problem and never write it), the components are shared out among up to
// GOMAXPROCS goroutines, each with its own scratch: each component's candidates depend
// on that component alone, so the result is the same as computing them one by one.
func (p *problem) candsAll(insts []int) {
	var todo []int
	seen := make([]bool, len(p.comps))
	for _, i := range insts {
		if k := p.insts[i].comp; !seen[k] && p.comps[k].compCands == nil {
			seen[k] = true
			todo = append(todo, k)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	parallel := workers >= 2 && len(todo)*p.n >= parallelCandPairs && len(p.scorers) == 0
	// What the goroutines would otherwise fill lazily is filled here, first.
	for _, k := range todo {
		if !parallel {
			break
		}
		p.activeFiltersOf(k)
		parallel = p.comps[k].allFast
	}
	p.fillSiteRTT()
	if !parallel {
		for _, k := range todo {
			p.cands(k)
		}
		return
	}
	p.filtersSites()
	p.allRows()
	p.byPrice()
	scratch := make([]*candScratch, workers)
	for w := range scratch {
		scratch[w] = newCandScratch(p)
	}
	spread(workers, len(todo), func(w, x int) { p.computeCands(todo[x], scratch[w]) })
}

// spread calls f(w, x) for every x in [0, n) on workers goroutines (w names the
// goroutine; each takes the next x as it becomes free, so one slow x does not leave
// the others idle), the caller's goroutine being w = 0, and returns when all have
// ended. A panic in f is raised again on the caller's goroutine (the first by
// goroutine), as it would be without goroutines, instead of ending the program.
func spread(workers, n int, f func(w, x int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	failed := make([]any, workers)
	work := func(w int) {
		defer func() { failed[w] = recover() }()
		for x := int(next.Add(1) - 1); x < n; x = int(next.Add(1) - 1) {
			f(w, x)
		}
	}
	for w := 1; w < workers; w++ {
		wg.Go(func() { work(w) })
	}
	work(0)
	wg.Wait()
	for _, v := range failed {
		if v != nil {
			panic(v)
		}
	}
}

// allRows returns the candidate list and row of a component every cluster passes
// for (allCands, allAllowed), made at first use.
func (p *problem) allRows() ([]int32, []bool) {
	if p.allCands == nil {
		p.allCands, p.allAllowed = make([]int32, p.n), make([]bool, p.n)
		for c := range p.n {
			p.allCands[c], p.allAllowed[c] = int32(c), true
		}
	}
	return p.allCands, p.allAllowed
}

// computeCands computes component k's candidates with the scratch sc.
func (p *problem) computeCands(k int, sc *candScratch) {
	comp := &p.comps[k]
	var cand Candidate
	cs := &compCands{}
	// Only the filters that can rule a cluster out for this component run; when they
	// are all built-in (they read the candidate, never change it) one candidate is
	// reused with only its cluster changing.
	active, allFast := p.activeFiltersOf(k), p.comps[k].allFast
	p.setCandidate(&cand, k, 0)
	// The candidates are gathered in a scratch row and copied out at their size: on
	// large requests, growing each component's list by appending allocated several
	// times what it keeps.
	if sc.row == nil {
		sc.row = make([]int32, 0, p.n)
	}
	scratch := sc.row[:0]
	rejected := sc.rejected
	if cap(rejected) < len(active) {
		rejected = make([]int, len(active))
	} else {
		rejected = rejected[:len(active)]
		clear(rejected)
	}
	if allFast {
		// Filter by filter over the clusters the filters before it let through: each
		// cluster's first rejecting filter, and so the counts and the candidates, are
		// those of asking every filter in turn per cluster, and a filter with a batch
		// check (batchFilter) sets up once per component.
		for c := range p.n {
			scratch = append(scratch, int32(c))
		}
		for f, af := range active {
			before := len(scratch)
			if bf, ok := af.fast.(batchFilter); ok {
				scratch = bf.keep(p, k, scratch)
			} else {
				kept := scratch[:0]
				for _, c := range scratch {
					cand.Cluster, cand.ClusterIndex = &p.clusters[c], int(c)
					if af.fast.ok(&cand) {
						kept = append(kept, c)
					}
				}
				scratch = kept
			}
			rejected[f] += before - len(scratch)
		}
	} else {
		for c := range p.n {
			p.setCandidate(&cand, k, c)
			if f := firstRejecting(active, &cand); f >= 0 {
				rejected[f]++
				continue
			}
			scratch = append(scratch, int32(c))
		}
	}
	for f, n := range rejected {
		if n > 0 {
			if cs.filtered == nil {
				cs.filtered = map[string]int{}
			}
			cs.filtered[active[f].f.Name()] += n
		}
	}
	sc.rejected = rejected
	if len(scratch) == p.n {
		// Every cluster passes (common on large loose requests): the component shares
		// the problem's read-only rows of all clusters.
		cs.cand, cs.allowed = p.allRows()
	} else {
		cs.allowed = make([]bool, p.n)
		for _, c := range scratch {
			cs.allowed[c] = true
		}
		cs.cand = append(cs.cand, scratch...)
	}
	comp.compCands = cs
	cs.top, cs.topStatic, sc.rank = p.rank(sc.st, comp, sc.rank)
}

// allowedAt reports whether the filters let component k run on cluster c, without
// computing all of k's candidates.
func (p *problem) allowedAt(k, c int) bool {
	if comp := &p.comps[k]; comp.compCands != nil {
		return comp.allowed[c]
	}
	if p.atCand == nil {
		p.atCand = new(Candidate) // one for all calls: a local would escape to the heap
	}
	p.setCandidate(p.atCand, k, c)
	return firstRejectionIn(p.activeFiltersOf(k), p.atCand) == ""
}

// currentAllowed reports allowedAt for instance i on its current cluster (it has one).
// A Prepared remembers, per instance of the placement in force, whether the built-in
// filters other than the site-latency one let it stay (currentAllowedMemo): they read
// only the component, the topology, the capacities and the current clusters, which
// stand while the memo does; the site-latency filter reads the measured RTTs, so it is
// asked every call. A component with filters of the user's is filtered as allowedAt
// does.
func (p *problem) currentAllowed(i int) bool {
	k, c := p.insts[i].comp, p.insts[i].current
	memo := p.prepared.currentAllowedMemo(p)
	if memo == nil || p.comps[k].compCands != nil {
		return p.allowedAt(k, c)
	}
	active := p.activeFiltersOf(k)
	if !p.comps[k].allFast {
		return p.allowedAt(k, c)
	}
	if memo[i] == 0 {
		if p.atCand == nil {
			p.atCand = new(Candidate)
		}
		p.setCandidate(p.atCand, k, c)
		memo[i] = 1
		for _, af := range active {
			if _, site := af.f.(siteLatencyFilter); !site && !af.fast.ok(p.atCand) {
				memo[i] = 2
				break
			}
		}
	}
	if memo[i] == 2 {
		return false
	}
	for _, af := range active {
		if _, site := af.f.(siteLatencyFilter); site {
			return p.nearUsers(k, c)
		}
	}
	return true
}

// topK is how many candidates per component local search tries by static cost (it
// also tries the clusters of the components a replica exchanges traffic with).
const topK = 48

// rank returns the topK cheapest candidates of comp by static cost, cheapest first
// (ties by cluster index), with their costs. It keeps the topK smallest as they come.
// Without scorers a cluster costs at least its compute cost (the rest, flows to sites,
// is not negative once the site-latency filter has ruled out the clusters without a
// route to a site), so then one whose compute cost alone is above the topK-th is not
// priced further.
func (p *problem) rank(st *state, comp *comp, scratch []rankedCand) (ids []int32, static []float64, _ []rankedCand) {
	prune := len(p.scorers) == 0 && (len(comp.siteFlows) == 0 || p.filtersSites())
	wc := p.w.Compute * comp.wCompute * comp.cores
	top := scratch[:0]
	cands, sorted := comp.cand, false
	if prune && wc > 0 && !math.IsInf(wc, 1) && 4*len(comp.cand) >= p.n {
		// In CPU-price order the compute cost only grows: once it alone is above the
		// topK-th, so is every later cluster's. The topK smallest do not depend on the
		// order they come in.
		cands, sorted = p.byPrice(), true
	}
	for _, c := range cands {
		if sorted && !comp.allowed[c] {
			continue
		}
		full := len(top) == topK
		if full && prune && wc*p.price[c] > top[topK-1].cost {
			if sorted {
				break
			}
			continue
		}
		x := rankedCand{c, st.staticCost(comp.first, int(c), false).total()}
		if full && !x.before(top[topK-1]) {
			continue
		}
		// The first position whose candidate is not before x (slices.BinarySearchFunc,
		// written out: a comparison closure per step cost more than the search).
		j, hi := 0, len(top)
		for j < hi {
			m := int(uint(j+hi) >> 1)
			if top[m].before(x) {
				j = m + 1
			} else {
				hi = m
			}
		}
		if !full {
			top = append(top, rankedCand{})
		}
		copy(top[j+1:], top[j:len(top)-1])
		top[j] = x
	}
	ids, static = make([]int32, len(top)), make([]float64, len(top))
	for n, x := range top {
		ids[n], static[n] = x.c, x.cost
	}
	return ids, static, top[:0]
}

// byPrice returns the clusters in CPU-price order (a NaN first, as slices.Sort puts
// it; ties by index), made at first use.
func (p *problem) byPrice() []int32 {
	if p.priceOrder == nil {
		order := make([]int32, p.n)
		for c := range order {
			order[c] = int32(c)
		}
		slices.SortFunc(order, func(a, b int32) int { return cmp.Or(cmp.Compare(p.price[a], p.price[b]), cmp.Compare(a, b)) })
		p.priceOrder = order
	}
	return p.priceOrder
}

// rankedCand is a candidate with its static cost, in rank.
type rankedCand struct {
	c    int32
	cost float64
}

// before orders candidates by static cost, then by cluster index.
func (a rankedCand) before(b rankedCand) bool {
	if a.cost < b.cost {
		return true
	}
	if a.cost == b.cost || a.cost != a.cost && b.cost != b.cost {
		return a.c < b.c // equal costs, or two NaNs
	}
	// a.cost > b.cost, or one of them a NaN: a NaN comes first, as cmp.Compare orders
	// it.
	return a.cost != a.cost
}

// fastFilter is implemented by the built-in filters: a check without formatting the
// reason, for the filter pass.
type fastFilter interface{ ok(c *Candidate) bool }

// batchFilter is implemented by built-in filters whose check of one component against
// many clusters is cheaper at once: keep returns the clusters of alive that component k
// passes, in their order, reusing alive's array. Its answer per cluster is ok's.
type batchFilter interface {
	keep(p *problem, k int, alive []int32) []int32
}

// activeFilter is a filter of the pass, with its fast check when it has one.
type activeFilter struct {
	f    Filter
	fast fastFilter
}

// passer is implemented by built-in filters that can tell, from the component alone,
// that they pass every cluster for it (no allowed lists, no selector, ...).
type passer interface{ passesAll(p *problem, k int) bool }

// activeFilters returns the filters that may rule a cluster out for component k, in
// order, and whether all of them are built-in fast filters.
func (p *problem) activeFilters(k int) ([]activeFilter, bool) {
	out, allFast := make([]activeFilter, 0, len(p.filters)), true
	for _, f := range p.filters {
		if ps, ok := f.(passer); ok && ps.passesAll(p, k) {
			continue
		}
		ff, isFast := f.(fastFilter)
		allFast = allFast && isFast
		out = append(out, activeFilter{f, ff})
	}
	return out, allFast
}

// filtersSites reports whether the site-latency filter is among the engine's filters
// (computed once).
func (p *problem) filtersSites() bool {
	if p.sitesFiltered == 0 {
		p.sitesFiltered = 1
		if slices.ContainsFunc(p.filters, func(f Filter) bool { _, ok := f.(siteLatencyFilter); return ok }) {
			p.sitesFiltered = 2
		}
	}
	return p.sitesFiltered == 2
}

// activeFiltersOf returns activeFilters(k), computed once per component.
func (p *problem) activeFiltersOf(k int) []activeFilter {
	comp := &p.comps[k]
	if comp.active == nil {
		comp.active, comp.allFast = p.activeFilters(k)
	}
	return comp.active
}

// firstRejectionIn returns the name of the first of the filters that rejects the
// candidate, or "".
func firstRejectionIn(fs []activeFilter, cand *Candidate) string {
	if f := firstRejecting(fs, cand); f >= 0 {
		return fs[f].f.Name()
	}
	return ""
}

// firstRejecting returns the position in fs of the first filter that rejects the
// candidate, or -1.
func firstRejecting(fs []activeFilter, cand *Candidate) int {
	for f, af := range fs {
		if af.fast != nil {
			if !af.fast.ok(cand) {
				return f
			}
			continue
		}
		if af.f.Filter(cand) != "" {
			return f
		}
	}
	return -1
}

// ruledOut returns the first filter that rules component k out of cluster c, with its
// reason.
func (p *problem) ruledOut(k, c int) *violation {
	var cand Candidate
	p.setCandidate(&cand, k, c)
	for _, f := range p.filters {
		if r := f.Filter(&cand); r != "" {
			return &violation{constraint: f.Name(), reason: r}
		}
	}
	return nil
}
