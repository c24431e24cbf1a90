package placement

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/topology"
)

// plan turns a final state into a Plan.
func (p *problem) plan(st *state, stats SearchStats) *Plan {
	pl := &Plan{Feasible: complete(st), Search: stats}
	if len(p.insts) > 0 {
		pl.Assignments = make([]Assignment, 0, len(p.insts)) // nil without replicas, as always
	}
	for i, in := range p.insts {
		k := &p.comps[in.comp]
		a := Assignment{App: p.req.Apps[k.app].Metadata.Name, Component: k.c.Name, Replica: in.rep}
		if c := st.at[i]; c >= 0 {
			a.Cluster = p.clusters[c].Name
			if st.pool[i] >= 0 {
				a.NodePool = p.pools[c][st.pool[i]].name
			}
			if in.current >= 0 && in.current != c {
				pl.Moves++
			}
		}
		pl.Assignments = append(pl.Assignments, a)
	}
	obj := p.objective(st)
	pl.Objective = Objective{Total: obj.total(), Network: obj.network, Compute: obj.compute, Migration: obj.migration}
	if len(p.scorers) > 0 {
		pl.Objective.Plugins = map[string]float64{}
		var cand Candidate
		for i, c := range st.at {
			if c < 0 {
				continue
			}
			p.setCandidate(&cand, p.insts[i].comp, c)
			for _, sc := range p.scorers {
				pl.Objective.Plugins[sc.Scorer.Name()] += sc.Weight * sc.Scorer.Score(&cand)
			}
		}
	}
	pl.Flows = p.flowResults(st)
	pl.Chains = p.chainResults(st)
	// The links and uplinks in use are counted first, so that each list is allocated
	// once at its size (nil when empty, as always).
	nLinks, nUplinks := 0, 0
	for r, used := range st.bw {
		switch {
		case used == 0:
		case r >= p.nLinks && r < p.nLinks+p.n:
			nUplinks++
		default:
			nLinks++
		}
	}
	if nLinks > 0 {
		pl.Links = make([]Utilisation, 0, nLinks)
	}
	if nUplinks > 0 {
		pl.Uplinks = make([]Utilisation, 0, nUplinks)
	}
	for r, used := range st.bw {
		if used == 0 {
			continue
		}
		u := Utilisation{Name: p.usageName(r), Used: topology.Bandwidth(used), Capacity: topology.Bandwidth(p.bwCap[r])}
		if p.bwCap[r] != int64(topology.Unlimited) && p.bwCap[r] > 0 {
			u.Fraction = float64(used) / float64(p.bwCap[r])
		}
		if r >= p.nLinks && r < p.nLinks+p.n {
			pl.Uplinks = append(pl.Uplinks, u)
		} else {
			pl.Links = append(pl.Links, u)
		}
	}
	replicas, inUse := make([]int, p.n), 0
	for _, c := range st.at {
		if c >= 0 {
			if replicas[c] == 0 {
				inUse++
			}
			replicas[c]++
		}
	}
	if inUse > 0 {
		pl.Clusters = make([]ClusterLoad, 0, inUse) // nil when nothing is placed, as always
	}
	for c := range p.n {
		n := replicas[c]
		if n == 0 {
			continue
		}
		load := ClusterLoad{Cluster: p.clusters[c].Name, Replicas: n, Used: map[string]float64{}, Capacity: map[string]float64{}}
		for d, name := range p.dims {
			if st.used[c][d] == 0 && p.capc[c][d] == 0 {
				continue
			}
			load.Used[string(name)] = float64(st.used[c][d]) / milli
			load.Capacity[string(name)] = float64(p.capc[c][d]) / milli
		}
		pl.Clusters = append(pl.Clusters, load)
	}
	pl.Explanations = p.explain(st)
	pl.Changes = p.changes(st, pl)
	pl.explainer = &explainer{p: p, st: st}
	return pl
}

func (p *problem) flowResults(st *state) []FlowResult {
	// idx[base[app]+flow] is the flow's index in out, -1 until its first pair.
	base, total := make([]int, len(p.req.Apps)), 0
	for a := range p.req.Apps {
		base[a], total = total, total+len(p.req.Apps[a].Flows)
	}
	idx := make([]int32, total)
	for n := range idx {
		idx[n] = -1
	}
	out := make([]FlowResult, 0, total)
	for _, fp := range p.pairs {
		f := &p.req.Apps[fp.app].Flows[fp.flow]
		k := int(idx[base[fp.app]+fp.flow])
		if k < 0 {
			k = len(out)
			idx[base[fp.app]+fp.flow] = int32(k)
			out = append(out, FlowResult{App: p.req.Apps[fp.app].Metadata.Name, Flow: fp.flow, From: f.From, To: f.To,
				MaxRTT: f.MaxRTT, Bandwidth: f.Bandwidth, RTT: -1})
		}
		ca := st.at[fp.a]
		if ca < 0 {
			continue
		}
		var rtt topology.Duration
		var cb int
		if fp.b < 0 {
			rtt, cb = p.rttSC(fp.site, ca), -1
		} else {
			if cb = st.at[fp.b]; cb < 0 {
				continue
			}
			rtt = p.rtt(ca, cb)
		}
		if rtt > out[k].RTT {
			out[k].RTT = rtt
			// Report clusters in the flow's own direction.
			from, to := p.clusters[ca].Name, ""
			if cb >= 0 {
				to = p.clusters[cb].Name
			}
			if p.req.Apps[fp.app].Flows[fp.flow].From != p.comps[p.insts[fp.a].comp].c.Name {
				from, to = to, from
			}
			out[k].FromCluster, out[k].ToCluster = from, to
		}
	}
	if len(out) == 0 {
		return nil // no flows: encoded as null, as always
	}
	for i := range out {
		out[i].RTT = max(out[i].RTT, 0)
	}
	return out
}

func (p *problem) chainResults(st *state) []ChainResult {
	var out []ChainResult // nil without chains
	if len(p.chains) > 0 {
		out = make([]ChainResult, 0, len(p.chains))
	}
	// The hops of all chains share one allocation, of their exact number; each chain's
	// slice is capped at its own part, so appending to one cannot write into the next.
	nElems, nHops := 0, 0
	for ci := range p.chains {
		nElems += len(p.chains[ci].elems)
		nHops += p.chains[ci].hops
	}
	hops := make([]ChainHop, 0, nHops)
	joins := p.prepared.hopJoins(nElems)
	slot := 0 // the element's position over all chains, joins' index
	for ci := range p.chains {
		ch := &p.chains[ci]
		a := &p.req.Apps[ch.app]
		r := ChainResult{App: a.Metadata.Name, Name: ch.name, Budget: ch.budget, Hops: hops[len(hops) : len(hops) : len(hops)+ch.hops]}
		where := func(e chainElem) string {
			if e.site >= 0 {
				return p.topo.SiteAt(e.site).Name
			}
			var cs []string
			first := ""
			k := &p.comps[e.comp]
			for rep := range k.n {
				c := st.at[k.first+rep]
				switch {
				case c < 0:
				case first == "":
					first = p.clusters[c].Name
				case first != p.clusters[c].Name && !slices.Contains(cs, p.clusters[c].Name):
					if cs == nil {
						cs = append(cs, first)
					}
					cs = append(cs, p.clusters[c].Name)
				}
			}
			switch {
			case first == "":
				return "(unplaced)"
			case cs == nil:
				return first
			}
			return strings.Join(cs, "|")
		}
		prevWhere := ""
		for h, e := range ch.elems {
			name := a.Chains[ch.idx].Path[h]
			here := where(e)
			if h > 0 {
				rtt, _ := st.hopRTT(ch.elems[h-1], e)
				r.Hops = append(r.Hops, ChainHop{From: a.Chains[ch.idx].Path[h-1], To: name,
					Where: joinHop(joins, slot, prevWhere, here), Latency: rtt / 2})
				r.Used += rtt / 2
			}
			slot++
			if e.comp >= 0 && p.comps[e.comp].c.ProcessingTime > 0 {
				pt := p.comps[e.comp].c.ProcessingTime
				r.Hops = append(r.Hops, ChainHop{From: name, Where: here, Latency: pt})
				r.Used += pt
			}
			prevWhere = here
		}
		if len(r.Hops) == 0 {
			r.Hops = nil // encoded as null, as always
		}
		hops = hops[:len(hops)+len(r.Hops)]
		out = append(out, r)
	}
	return out
}

// hopJoin is a chain hop's Where, "from -> to", with its two parts.
type hopJoin struct{ from, to, where string }

// joinHop returns from + " -> " + to, the one joins[slot] holds when its parts are the
// same (joins nil: none kept), and keeps the new one there.
func joinHop(joins []hopJoin, slot int, from, to string) string {
	if joins == nil {
		return from + " -> " + to
	}
	j := &joins[slot]
	if j.where == "" || j.from != from || j.to != to {
		*j = hopJoin{from, to, from + " -> " + to}
	}
	return j.where
}

// explain builds the per-replica explanations, others fixed at their final clusters,
// at the request's level: ExplainAuto and ExplainChosen give the summary (chosen,
// runner-up, reason counts; a Repair under ExplainAuto explains only what it
// re-placed), ExplainFull every cluster. Plan.Explain builds the full one of a replica
// on request.
func (p *problem) explain(st *state) []Explanation {
	level := p.req.Explain
	if level == ExplainAuto {
		level = ExplainChosen
	}
	if level == ExplainNone {
		return nil
	}
	only := p.req.Explain == ExplainAuto && p.explainOnly != nil
	size := len(p.insts)
	if only {
		// A repair explains only what it re-placed: often a few replicas of many.
		size = 0
		for _, x := range p.explainOnly {
			if x {
				size++
			}
		}
	}
	out := make([]Explanation, 0, size)
	for i := range p.insts {
		if only && !p.explainOnly[i] {
			continue
		}
		out = append(out, p.explainOne(st, i, level))
	}
	return out
}

// explainOne explains instance i at level (ExplainFull or ExplainChosen). ExplainFull
// examines every cluster; ExplainChosen takes the filters' counts from the filter pass
// and checks candidates in order of static cost only until the runner-up is found (a
// cheaper candidate that fails is counted; dearer ones are not examined). st is
// restored before it returns.
func (p *problem) explainOne(st *state, i int, level ExplainLevel) Explanation {
	in := &p.insts[i]
	k := p.cands(in.comp)
	e := Explanation{App: p.req.Apps[k.app].Metadata.Name, Component: k.c.Name, Replica: in.rep, Reasons: map[string]int{}}
	cur, pool := st.at[i], st.pool[i]
	if cur >= 0 {
		e.Chosen = p.clusters[cur].Name
		st.unplace(i)
	}
	reject := func(c int, v violation) {
		e.Reasons[v.constraint]++
		if level == ExplainFull {
			e.RuledOut = append(e.RuledOut, Rejection{Cluster: p.clusters[c].Name, Constraint: v.constraint, Reason: v.reason})
		}
	}
	if level == ExplainFull {
		for c := range p.n {
			if c == cur {
				continue
			}
			if !k.allowed[c] {
				reject(c, *p.ruledOut(in.comp, c))
				continue
			}
			if ok, v := st.check(i, c, true); !ok {
				reject(c, v)
			} else if s := p.score(st, i, c); e.RunnerUp == nil || better(s.Total, e.RunnerUp.Total) {
				e.RunnerUp = s
			}
		}
	} else {
		for name, n := range k.filtered {
			e.Reasons[name] += n
		}
		for n, c32 := range k.top {
			c := int(c32)
			if c == cur {
				continue
			}
			if e.RunnerUp != nil && !better(k.topStatic[n], e.RunnerUp.Total) {
				break
			}
			if ok, v := st.check(i, c, false); !ok {
				e.Reasons[v.constraint]++
			} else if s := p.score(st, i, c); e.RunnerUp == nil || better(s.Total, e.RunnerUp.Total) {
				e.RunnerUp = s
			}
		}
	}
	if cur >= 0 {
		e.ChosenScore = p.score(st, i, cur)
		st.restore(i, cur, pool)
	}
	if len(e.Reasons) == 0 {
		e.Reasons = nil
	}
	return e
}

// explainer keeps what Plan.Explain needs: the compiled request and the plan's state.
type explainer struct {
	mu    sync.Mutex
	p     *problem
	st    *state
	index map[replicaRef]int
}

type replicaRef struct {
	app, component string
	replica        int
}

// Explain returns the full explanation of one replica, built on request: every
// cluster that could not take it and why (filters and constraints, with numbers, the
// other replicas as planned), the runner-up and the chosen cluster's cost by term; the
// same content as ExplainFull gives for that replica. It works on a plan returned by
// Place (which keeps a reference to the compiled request for it, so a kept plan holds
// that memory), not on one decoded from JSON. Safe for concurrent use.
func (pl *Plan) Explain(app, component string, replica int) (Explanation, error) {
	if pl == nil || pl.explainer == nil {
		return Explanation{}, errors.New("placement: this plan has no engine state to explain from (decoded or built by hand): run Place with Request.Explain = ExplainFull")
	}
	x := pl.explainer
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.index == nil {
		x.index = make(map[replicaRef]int, len(x.p.insts))
		for i, in := range x.p.insts {
			k := &x.p.comps[in.comp]
			x.index[replicaRef{x.p.req.Apps[k.app].Metadata.Name, k.c.Name, in.rep}] = i
		}
	}
	i, ok := x.index[replicaRef{app, component, replica}]
	if !ok {
		return Explanation{}, fmt.Errorf("placement: the plan has no replica %s/%s[%d]", app, component, replica)
	}
	return x.p.explainOne(x.st, i, ExplainFull), nil
}

func (p *problem) score(st *state, i, c int) *Score {
	cp := st.cost(i, c)
	s := &Score{Cluster: p.clusters[c].Name, Total: cp.total(), Network: cp.network, Compute: cp.compute, Migration: cp.migration}
	if len(p.scorers) > 0 {
		s.Plugins = map[string]float64{}
		var cand Candidate
		p.setCandidate(&cand, p.insts[i].comp, c)
		for _, sc := range p.scorers {
			s.Plugins[sc.Scorer.Name()] = sc.Weight * sc.Scorer.Score(&cand)
		}
	}
	return s
}

// restore puts instance i back on cluster c and pool pl exactly as it was.
func (s *state) restore(i, c, pl int) {
	k := &s.p.comps[s.p.insts[i].comp]
	s.at[i], s.pool[i] = c, pl
	for d, need := range k.req {
		s.used[c][d] += need
		if pl >= 0 {
			s.poolUsed[c][pl][d] += need
		}
	}
	s.chargeFlows(i, c, 1)
}

// UnplaceableError says why some replicas fit nowhere and what would make them fit.
// Place returns it only when infeasibility is proven (Proof).
type UnplaceableError struct {
	// Proof is the certificate that no plan exists (SearchStats.Proof).
	Proof string `json:"proof"`
	// Unplaced names the replicas without a cluster in the partial plan
	// ("app/component[0]").
	Unplaced []string `json:"unplaced"`
	// Reasons counts, over the unplaced replicas, the clusters ruled out per constraint.
	Reasons map[string]int `json:"reasons"`
	// Details gives one line per unplaced replica: "0/4 clusters fit xr/render: ...".
	Details []string `json:"details"`
	// Shortfall says, per unplaced replica, what capacity would make it fit.
	Shortfall []Shortfall `json:"shortfall"`
}

// UndecidedError says that the search ran out of its budget without a complete plan
// and without a proof that none exists. Unplaced, Reasons and Details describe the
// best partial plan (each unplaced replica against every cluster, the others as the
// partial plan has them); Search says what was tried. Retry with another
// Request.Seed, raise Request.MaxNodes or Timeout, or try StrategyExact; do not
// provision on it.
type UndecidedError struct {
	Unplaced []string       `json:"unplaced"`
	Reasons  map[string]int `json:"reasons"`
	Details  []string       `json:"details"`
	Search   SearchStats    `json:"search"`
}

func (e *UndecidedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "placement: undecided: no complete plan found within the search budget (%s; %d steps); "+
		"not proven infeasible; %d replica(s) unplaced in the best partial plan", e.Search.StopReason, e.Search.Nodes, len(e.Unplaced))
	for _, d := range e.Details {
		b.WriteString("; " + d)
	}
	b.WriteString("; retry with another seed (Request.Seed), raise the budget (Request.MaxNodes, Timeout) or try the exact strategy")
	return b.String()
}

// Is matches ErrUndecided.
func (e *UndecidedError) Is(target error) bool { return errkind.IsKind(target, errkind.Undecided) }

// Shortfall is capacity that is missing: a cluster that would take a replica.
type Shortfall struct {
	App       string                `json:"app"`
	Component string                `json:"component"`
	Replica   int                   `json:"replica"`
	Resources topology.ResourceList `json:"resources"`
	// Near bounds the RTT from sites, from flows' maxRTT and chain budgets.
	Near     []SiteBound     `json:"near,omitempty"`
	Owners   []string        `json:"owners,omitempty"`
	Tiers    []topology.Tier `json:"tiers,omitempty"`
	Regions  []string        `json:"regions,omitempty"`
	NeedsUDP bool            `json:"needsUDP,omitempty"`
	// Labels is the component's label selector (Allowed.Selector): the new cluster's
	// labels must match it.
	Labels *LabelSelector `json:"labels,omitempty"`
	// Text reads "4 CPU + 1 GPU on a cluster within 3.1ms RTT of site geneva, owner a or b".
	Text string `json:"text"`
}

// SiteBound is a maximum RTT from a site.
type SiteBound struct {
	Site   string            `json:"site"`
	MaxRTT topology.Duration `json:"maxRTT"`
}

func (e *UnplaceableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "placement: %d replica(s) fit nowhere", len(e.Unplaced))
	if e.Proof != "" {
		b.WriteString(" (proof: " + e.Proof + ")")
	}
	for _, d := range e.Details {
		b.WriteString("; " + d)
	}
	for _, s := range e.Shortfall {
		b.WriteString("; provision " + s.Text)
	}
	return b.String()
}

// Is matches ErrUnplaceable.
func (e *UnplaceableError) Is(target error) bool { return errkind.IsKind(target, errkind.Unplaceable) }

func (p *problem) unplaceable(st *state, proof string) error {
	ue := &UnplaceableError{Proof: proof}
	ue.Unplaced, ue.Reasons, ue.Details = p.unplacedReasons(st)
	for i := range p.insts {
		if st.at[i] < 0 {
			ue.Shortfall = append(ue.Shortfall, p.shortfall(i))
		}
	}
	return ue
}

func (p *problem) undecided(st *state, stats SearchStats) error {
	ue := &UndecidedError{Search: stats}
	ue.Unplaced, ue.Reasons, ue.Details = p.unplacedReasons(st)
	return ue
}

// unplacedReasons explains every unplaced replica against every cluster, the others as
// st has them: a filter's rejection, or the first constraint the check finds broken.
// The partial plan has already taken every replica some cluster could take, so every
// cluster has a reason.
func (p *problem) unplacedReasons(st *state) (unplaced []string, reasons map[string]int, details []string) {
	reasons = map[string]int{}
	for i, in := range p.insts {
		if st.at[i] >= 0 {
			continue
		}
		k := &p.comps[in.comp]
		name := fmt.Sprintf("%s[%d]", k.name, in.rep)
		unplaced = append(unplaced, name)
		counts := map[string]int{}
		fit := 0
		for c := range p.n {
			var v violation
			if !p.cands(in.comp).allowed[c] {
				v = *p.ruledOut(in.comp, c)
			} else if ok, vv := st.check(i, c, true); !ok {
				v = vv
			} else {
				fit++
				continue
			}
			counts[v.constraint]++
			reasons[v.constraint]++
		}
		var parts []string
		for _, c := range slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
			return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
		}) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c], c))
		}
		details = append(details, fmt.Sprintf("%d/%d clusters fit %s: %s", fit, p.n, name, strings.Join(parts, ", ")))
	}
	return unplaced, reasons, details
}

// shortfall describes a cluster that would take instance i.
func (p *problem) shortfall(i int) Shortfall {
	in := &p.insts[i]
	k := &p.comps[in.comp]
	c := k.c
	sf := Shortfall{App: p.req.Apps[k.app].Metadata.Name, Component: c.Name, Replica: in.rep, Resources: c.Requests.DeepCopy(),
		Owners: c.Allowed.Owners, Tiers: c.Allowed.Tiers, Regions: c.Allowed.Regions, NeedsUDP: k.udpUser, Labels: c.Allowed.Selector}
	bounds := map[int]topology.Duration{}
	bound := func(s int, d topology.Duration) {
		if old, ok := bounds[s]; !ok || d < old {
			bounds[s] = d
		}
	}
	for _, f := range k.siteFlows {
		if f.maxRTT > 0 {
			bound(f.site, f.maxRTT)
		}
	}
	for _, ch := range in.chains {
		chain := &p.chains[ch]
		slack := chain.budget - chain.proc
		hops := map[int]int{}
		for h := 0; h+1 < len(chain.elems); h++ {
			x, y := chain.elems[h], chain.elems[h+1]
			if x.comp == in.comp && y.site >= 0 {
				hops[y.site]++
			}
			if y.comp == in.comp && x.site >= 0 {
				hops[x.site]++
			}
		}
		for s, m := range hops {
			bound(s, max(0, 2*slack/topology.Duration(m)))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(bounds)) {
		sf.Near = append(sf.Near, SiteBound{Site: p.topo.SiteAt(s).Name, MaxRTT: bounds[s]})
	}
	var res []string
	for _, name := range slices.Sorted(maps.Keys(c.Requests)) {
		q := c.Requests[name]
		if q.IsZero() {
			continue
		}
		label := string(name)
		if name == topology.ResourceCPU || name == topology.ResourceGPU {
			label = strings.ToUpper(label)
		}
		res = append(res, q.String()+" "+label)
	}
	text := strings.Join(res, " + ")
	if text == "" {
		text = "room for one replica"
	}
	text += " on a cluster"
	var near []string
	for _, b := range sf.Near {
		near = append(near, fmt.Sprintf("within %s RTT of site %s", fmtMs(b.MaxRTT), b.Site))
	}
	if len(near) > 0 {
		text += " " + strings.Join(near, " and ")
	}
	if len(sf.Owners) > 0 {
		text += ", owner " + strings.Join(sf.Owners, " or ")
	}
	if len(sf.Tiers) > 0 {
		text += ", tier " + joinTiers(sf.Tiers)
	}
	if len(sf.Regions) > 0 {
		text += ", region " + strings.Join(sf.Regions, " or ")
	}
	if sf.NeedsUDP {
		text += ", able to expose UDP to users"
	}
	if s := sf.Labels.String(); s != "" {
		text += ", labels " + s
	}
	sf.Text = text
	return sf
}
