package placement

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
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
	p, err := compile(snap, req, e.scorers, pp)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	e.filter(p)
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

// filter prepares the filter pass. Candidates are computed per component when first
// needed (cands), so a repair that keeps most replicas where they are pays only for the
// components it re-places.
func (e *Engine) filter(p *problem) {
	p.filters = e.filters
	p.rankState = newState(p)
}

// cands returns component k with its candidates computed: the filters run on every
// cluster, and the cheapest topK are ranked.
func (p *problem) cands(k int) *comp {
	comp := &p.comps[k]
	if comp.allowed != nil {
		return comp
	}
	var cand Candidate
	comp.allowed = make([]bool, p.n)
	comp.filtered = map[string]int{}
	for c := range p.n {
		p.setCandidate(&cand, k, c)
		if name := p.firstRejection(&cand); name != "" {
			comp.filtered[name]++
			continue
		}
		comp.allowed[c] = true
		comp.cand = append(comp.cand, int32(c))
	}
	comp.top, comp.topStatic = p.rank(p.rankState, comp)
	return comp
}

// allowedAt reports whether the filters let component k run on cluster c, without
// computing all of k's candidates.
func (p *problem) allowedAt(k, c int) bool {
	if comp := &p.comps[k]; comp.allowed != nil {
		return comp.allowed[c]
	}
	var cand Candidate
	p.setCandidate(&cand, k, c)
	return p.firstRejection(&cand) == ""
}

// topK is how many candidates per component local search tries by static cost (it
// also tries the clusters of the components a replica exchanges traffic with).
const topK = 48

// rank returns the topK cheapest candidates of comp by static cost, cheapest first
// (ties by cluster index), with their costs.
func (p *problem) rank(st *state, comp *comp) ([]int32, []float64) {
	type cs struct {
		c    int32
		cost float64
	}
	all := make([]cs, len(comp.cand))
	for n, c := range comp.cand {
		all[n] = cs{c, st.staticCost(comp.first, int(c), false).total()}
	}
	byCost := func(a, b cs) int { return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.c, b.c)) }
	if len(all) > topK {
		// Partial selection: keep the topK smallest without sorting them all.
		slices.SortFunc(all[:topK], byCost)
		for _, x := range all[topK:] {
			if byCost(x, all[topK-1]) < 0 {
				j, _ := slices.BinarySearchFunc(all[:topK], x, byCost)
				copy(all[j+1:topK], all[j:topK-1])
				all[j] = x
			}
		}
		all = all[:topK]
	} else {
		slices.SortFunc(all, byCost)
	}
	top, static := make([]int32, len(all)), make([]float64, len(all))
	for n, x := range all {
		top[n], static[n] = x.c, x.cost
	}
	return top, static
}

// fastFilter is implemented by the built-in filters: a check without formatting the
// reason, for the filter pass.
type fastFilter interface{ ok(c *Candidate) bool }

// firstRejection returns the name of the first filter that rejects the candidate.
func (p *problem) firstRejection(cand *Candidate) string {
	for _, f := range p.filters {
		if ff, isFast := f.(fastFilter); isFast {
			if !ff.ok(cand) {
				return f.Name()
			}
			continue
		}
		if f.Filter(cand) != "" {
			return f.Name()
		}
	}
	return ""
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
