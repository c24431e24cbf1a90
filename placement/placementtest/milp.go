package placementtest

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// MILP is an instance written as a mixed-integer linear program with the engine's
// model (DESIGN.md section 3, default weights), for an outside solver to prove optima
// that the engine's plans are measured against.
//
// Variables: x_k_c = 1 when component k runs on cluster c (binary, only for the
// clusters the built-in filters allow); for every pair of components joined by a flow
// or a chain hop, y_p_c_d >= 0 in transportation form (sum over d of y_p_c_d = x_a_c,
// sum over c of y_p_c_d = x_b_d), which is integral whenever x is and is the tightest
// linearisation of a pair's cost. Pairs of clusters over a flow's maximum RTT get no y,
// which forbids them. Rows: one cluster per component, CPU/memory/other resources per
// cluster, bandwidth per link, uplink and access link (a flow charges every link of its
// route and the uplinks at both ends of each), chain budgets (processing time plus
// RTT/2 per hop, in microseconds), anti-affinity and co-location.
//
// NewMILP supports what it can model exactly: one replica per component, no node
// pools, routes that are the same in both directions, no site-to-site flows. Anything
// else is an error naming the field.
type MILP struct {
	topo  *topology.Topology
	apps  []placement.Application
	comps []milpComp
	pairs []*milpPair
	byEnd map[[2]int]int // (a, b) with a < b -> pair index
	// site flow terms on x: cost, and bandwidth per resource
	xCost  map[[2]int]float64
	rows   []milpRow
	nBW    int
	bwName []string
	bwCap  []topology.Bandwidth
}

type milpComp struct {
	app, name string
	c         *placement.Component
	cand      []int
	allowed   []bool
}

type milpPair struct {
	a, b  int       // component indices, a < b
	cells [][2]int  // (c, d) pairs allowed
	cost  []float64 // per cell
	bw    int64     // total bits/s of the flows between a and b
	maxes []topology.Duration
}

type milpTerm struct {
	v    string
	coef float64
}

type milpRow struct {
	name  string
	terms []milpTerm
	sense string // "<=", "=", ">="
	rhs   float64
}

// NewMILP builds the model of the instance's request on its topology.
func NewMILP(in Instance) (*MILP, error) {
	m := &MILP{topo: in.Topology, apps: in.Apps, byEnd: map[[2]int]int{}, xCost: map[[2]int]float64{}}
	if err := m.components(); err != nil {
		return nil, err
	}
	if err := m.flows(); err != nil {
		return nil, err
	}
	if err := m.chains(); err != nil {
		return nil, err
	}
	m.resourceRows()
	m.pairRows()
	if err := m.bandwidthRows(); err != nil {
		return nil, err
	}
	return m, nil
}

func xName(k, c int) string { return "x_" + strconv.Itoa(k) + "_" + strconv.Itoa(c) }
func yName(p, c, d int) string {
	return "y_" + strconv.Itoa(p) + "_" + strconv.Itoa(c) + "_" + strconv.Itoa(d)
}
func halfUs(d topology.Duration) float64 { return float64(d/2) / float64(topology.Microsecond) }

func (m *MILP) compIndex(app, name string) int {
	return slices.IndexFunc(m.comps, func(c milpComp) bool { return c.app == app && c.name == name })
}

// components lists the components and the clusters the built-in filters allow them.
func (m *MILP) components() error {
	topo := m.topo
	for ai := range m.apps {
		a := &m.apps[ai]
		for ci := range a.Components {
			c := &a.Components[ci]
			field := fmt.Sprintf("apps[%d].components[%d]", ai, ci)
			if c.Replicas > 1 {
				return fmt.Errorf("placementtest: %s.replicas: the MILP export models one replica per component, got %d", field, c.Replicas)
			}
			if len(c.NodePool) > 0 {
				return fmt.Errorf("placementtest: %s.nodePool: the MILP export does not model node pools", field)
			}
			k := milpComp{app: a.Metadata.Name, name: c.Name, c: c, allowed: make([]bool, topo.NumClusters())}
			for cl := range topo.NumClusters() {
				if m.filter(a, c, topo.ClusterAt(cl), cl) {
					k.cand = append(k.cand, cl)
					k.allowed[cl] = true
				}
			}
			m.comps = append(m.comps, k)
		}
	}
	for ci := range topo.NumClusters() {
		if len(topo.ClusterAt(ci).NodePools) > 0 {
			return fmt.Errorf("placementtest: topology cluster %s: the MILP export does not model node pools", topo.ClusterAt(ci).Name)
		}
	}
	return nil
}

// filter is the built-in filters (allowed, resources, udp, site-latency) written from
// the documented semantics.
func (m *MILP) filter(a *placement.Application, c *placement.Component, cl topology.Cluster, ci int) bool {
	al := c.Allowed
	if len(al.Clusters) > 0 && !slices.Contains(al.Clusters, cl.Name) || len(al.Tiers) > 0 && !slices.Contains(al.Tiers, cl.Tier) ||
		len(al.Owners) > 0 && !slices.Contains(al.Owners, cl.Owner) || len(al.Regions) > 0 && !slices.Contains(al.Regions, cl.Region) {
		return false
	}
	for name, q := range c.Requests {
		have := cl.Capacity[name]
		if q.MilliValue() > 0 && q.MilliValue() > have.MilliValue() {
			return false
		}
	}
	udp := false
	for _, p := range c.Ports {
		udp = udp || p.Expose && p.Protocol == placement.UDP
	}
	for _, f := range a.Flows {
		site := ""
		switch c.Name {
		case f.From:
			site = f.To
		case f.To:
			site = f.From
		}
		si, ok := m.topo.SiteIndex(site)
		if !ok {
			continue
		}
		udp = udp || f.Protocol == placement.UDP
		d, ok := m.topo.SiteRTTAt(si, ci)
		if !ok || f.MaxRTT > 0 && d > f.MaxRTT {
			return false
		}
	}
	if udp && !cl.UDPExposure {
		return false
	}
	for _, ch := range a.Chains {
		comps := map[string]bool{}
		for _, e := range ch.Path {
			if _, isSite := m.topo.SiteIndex(e); !isSite {
				comps[e] = true
			}
		}
		if len(comps) != 1 || !comps[c.Name] {
			continue
		}
		lat, ok := m.soloLatency(ch, c, ci)
		if !ok || lat > ch.Budget {
			return false
		}
	}
	return true
}

// soloLatency is the latency of a chain whose only component is c, on cluster ci.
func (m *MILP) soloLatency(ch placement.Chain, c *placement.Component, ci int) (topology.Duration, bool) {
	var lat topology.Duration
	at := func(e string) string {
		if e == c.Name {
			return m.topo.ClusterAt(ci).Name
		}
		return e
	}
	for h, e := range ch.Path {
		if e == c.Name {
			lat += c.ProcessingTime
		}
		if h > 0 {
			d, err := m.topo.RTT(at(ch.Path[h-1]), at(e))
			if err != nil {
				return 0, false
			}
			lat += d / 2
		}
	}
	return lat, true
}

// pair returns the pair of components a and b (created on first use, every cell of
// their candidates with a route).
func (m *MILP) pair(a, b int) *milpPair {
	if a > b {
		a, b = b, a
	}
	if p, ok := m.byEnd[[2]int{a, b}]; ok {
		return m.pairs[p]
	}
	p := &milpPair{a: a, b: b}
	for _, c := range m.comps[a].cand {
		for _, d := range m.comps[b].cand {
			if _, ok := m.topo.RTTAt(c, d); ok {
				p.cells = append(p.cells, [2]int{c, d})
			}
		}
	}
	p.cost = make([]float64, len(p.cells))
	m.byEnd[[2]int{a, b}] = len(m.pairs)
	m.pairs = append(m.pairs, p)
	return p
}

func (m *MILP) flows() error {
	topo := m.topo
	for ai := range m.apps {
		a := &m.apps[ai]
		for fi, f := range a.Flows {
			ka, kb := m.compIndex(a.Metadata.Name, f.From), m.compIndex(a.Metadata.Name, f.To)
			gbit := float64(int64(f.Bandwidth)) / 1e9
			switch {
			case ka < 0 && kb < 0:
				return fmt.Errorf("placementtest: apps[%d].flows[%d]: the MILP export does not model site-to-site flows", ai, fi)
			case ka < 0 || kb < 0:
				k, site := ka, f.To
				if ka < 0 {
					k, site = kb, f.From
				}
				si, _ := topo.SiteIndex(site)
				for _, c := range m.comps[k].cand {
					d, _ := topo.SiteRTTAt(si, c)
					m.xCost[[2]int{k, c}] += gbit * d.Ms()
				}
			case ka == kb:
				return fmt.Errorf("placementtest: apps[%d].flows[%d]: a flow from a component to itself", ai, fi)
			default:
				p := m.pair(ka, kb)
				p.bw += int64(f.Bandwidth)
				if f.MaxRTT > 0 {
					p.maxes = append(p.maxes, f.MaxRTT)
				}
				for i, cell := range p.cells {
					d, _ := topo.RTTAt(cell[0], cell[1])
					p.cost[i] += gbit * d.Ms()
				}
			}
		}
	}
	// Forbid the cells over a maximum RTT.
	for _, p := range m.pairs {
		keep := 0
		for i, cell := range p.cells {
			d, _ := topo.RTTAt(cell[0], cell[1])
			ok := true
			for _, mx := range p.maxes {
				ok = ok && d <= mx
			}
			if ok {
				p.cells[keep], p.cost[keep] = cell, p.cost[i]
				keep++
			}
		}
		p.cells, p.cost = p.cells[:keep], p.cost[:keep]
	}
	return nil
}

// chains writes one row per chain through two or more components (chains through one
// are the site-latency filter's): sum of RTT/2 over hops <= budget - processing.
func (m *MILP) chains() error {
	topo := m.topo
	for ai := range m.apps {
		a := &m.apps[ai]
		for chi, ch := range a.Chains {
			comps := map[int]bool{}
			var proc topology.Duration
			for _, e := range ch.Path {
				if k := m.compIndex(a.Metadata.Name, e); k >= 0 {
					comps[k] = true
					proc += m.comps[k].c.ProcessingTime
				}
			}
			if len(comps) < 2 {
				continue
			}
			row := milpRow{name: fmt.Sprintf("chain_%d_%d", ai, chi), sense: "<="}
			rhs := float64(ch.Budget-proc) / float64(topology.Microsecond)
			terms := map[string]float64{}
			for h := 1; h < len(ch.Path); h++ {
				x, y := m.compIndex(a.Metadata.Name, ch.Path[h-1]), m.compIndex(a.Metadata.Name, ch.Path[h])
				switch {
				case x < 0 && y < 0:
					d, err := topo.RTT(ch.Path[h-1], ch.Path[h])
					if err != nil {
						return fmt.Errorf("placementtest: apps[%d].chains[%d].path[%d]: %w", ai, chi, h, err)
					}
					rhs -= halfUs(d)
				case x < 0 || y < 0:
					k, site := x, ch.Path[h-1]
					if x < 0 {
						k = y
					} else {
						site = ch.Path[h]
					}
					si, _ := topo.SiteIndex(site)
					for _, c := range m.comps[k].cand {
						d, ok := topo.SiteRTTAt(si, c)
						if !ok {
							d = topology.Duration(math.MaxInt64 / 4) // unreachable: over any budget
						}
						terms[xName(k, c)] += halfUs(d)
					}
				case x == y:
					for _, c := range m.comps[x].cand {
						d, _ := topo.RTTAt(c, c)
						terms[xName(x, c)] += halfUs(d)
					}
				default:
					p := m.pair(x, y)
					pi := m.byEnd[[2]int{p.a, p.b}]
					for _, cell := range p.cells {
						d, _ := topo.RTTAt(cell[0], cell[1])
						terms[yName(pi, cell[0], cell[1])] += halfUs(d)
					}
				}
			}
			row.terms = sortedTerms(terms)
			row.rhs = rhs
			m.rows = append(m.rows, row)
		}
	}
	return nil
}

func sortedTerms(t map[string]float64) []milpTerm {
	out := make([]milpTerm, 0, len(t))
	for _, v := range slices.Sorted(maps.Keys(t)) {
		out = append(out, milpTerm{v, t[v]})
	}
	return out
}

// resourceRows: one cluster per component; per cluster and resource, the requests of
// the components on it within the capacity (CPU in cores, memory in GiB, others in
// units); anti-affinity and co-location.
func (m *MILP) resourceRows() {
	topo := m.topo
	for k, c := range m.comps {
		row := milpRow{name: "one_" + strconv.Itoa(k), sense: "=", rhs: 1}
		for _, cl := range c.cand {
			row.terms = append(row.terms, milpTerm{xName(k, cl), 1})
		}
		m.rows = append(m.rows, row)
	}
	names := map[topology.ResourceName]bool{}
	for _, c := range m.comps {
		for n := range c.c.Requests {
			names[n] = true
		}
	}
	unit := func(n topology.ResourceName, q int64) float64 { // q in milli-units
		if n == topology.ResourceMemory {
			return float64(q) / 1000 / (1 << 30)
		}
		return float64(q) / 1000
	}
	for ci := range topo.NumClusters() {
		cl := topo.ClusterAt(ci)
		for _, n := range slices.Sorted(maps.Keys(names)) {
			have := cl.Capacity[n]
			row := milpRow{name: fmt.Sprintf("cap_%d_%s", ci, sanitize(string(n))), sense: "<=", rhs: unit(n, have.MilliValue())}
			for k, c := range m.comps {
				q := c.c.Requests[n]
				if q.MilliValue() > 0 && c.allowed[ci] {
					row.terms = append(row.terms, milpTerm{xName(k, ci), unit(n, q.MilliValue())})
				}
			}
			if len(row.terms) > 0 {
				m.rows = append(m.rows, row)
			}
		}
	}
	for k, c := range m.comps {
		for _, o := range c.c.AntiAffinity {
			j := m.compIndex(c.app, o)
			for _, cl := range c.cand {
				if j >= 0 && m.comps[j].allowed[cl] {
					m.rows = append(m.rows, milpRow{name: fmt.Sprintf("anti_%d_%d_%d", k, j, cl), sense: "<=", rhs: 1,
						terms: []milpTerm{{xName(k, cl), 1}, {xName(j, cl), 1}}})
				}
			}
		}
		for _, o := range c.c.CoLocate {
			j := m.compIndex(c.app, o)
			for cl := range topo.NumClusters() {
				var terms []milpTerm
				if c.allowed[cl] {
					terms = append(terms, milpTerm{xName(k, cl), 1})
				}
				if j >= 0 && m.comps[j].allowed[cl] {
					terms = append(terms, milpTerm{xName(j, cl), -1})
				}
				if len(terms) > 0 {
					m.rows = append(m.rows, milpRow{name: fmt.Sprintf("col_%d_%d_%d", k, j, cl), sense: "=", terms: terms})
				}
			}
		}
	}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// pairRows ties each pair's y to the x of its two ends.
func (m *MILP) pairRows() {
	for pi, p := range m.pairs {
		rowsA := map[int][]milpTerm{}
		rowsB := map[int][]milpTerm{}
		for _, cell := range p.cells {
			v := yName(pi, cell[0], cell[1])
			rowsA[cell[0]] = append(rowsA[cell[0]], milpTerm{v, 1})
			rowsB[cell[1]] = append(rowsB[cell[1]], milpTerm{v, 1})
		}
		for _, c := range m.comps[p.a].cand {
			m.rows = append(m.rows, milpRow{name: fmt.Sprintf("pa_%d_%d", pi, c), sense: "=",
				terms: append(rowsA[c], milpTerm{xName(p.a, c), -1})})
		}
		for _, d := range m.comps[p.b].cand {
			m.rows = append(m.rows, milpRow{name: fmt.Sprintf("pb_%d_%d", pi, d), sense: "=",
				terms: append(rowsB[d], milpTerm{xName(p.b, d), -1})})
		}
	}
}

// bandwidthRows: per link, uplink and access link with a capacity, the traffic of the
// flows routed over it, in Mbit/s.
func (m *MILP) bandwidthRows() error {
	topo := m.topo
	links := topo.Links()
	nl, n := len(links), topo.NumClusters()
	for _, l := range links {
		m.bwName = append(m.bwName, "link "+l.A+"<->"+l.B)
		m.bwCap = append(m.bwCap, l.Capacity)
	}
	for ci := range n {
		m.bwName = append(m.bwName, "uplink "+topo.ClusterAt(ci).Name)
		m.bwCap = append(m.bwCap, topo.ClusterAt(ci).Uplink)
	}
	accessAt := make([]int, topo.NumSites())
	for si := range topo.NumSites() {
		s := topo.SiteAt(si)
		accessAt[si] = len(m.bwCap)
		for _, acc := range s.Access {
			m.bwName = append(m.bwName, "access "+s.Name+"<->"+acc.Cluster)
			m.bwCap = append(m.bwCap, acc.Capacity)
		}
	}
	m.nBW = len(m.bwCap)
	terms := make([]map[string]float64, m.nBW)
	for r := range terms {
		terms[r] = map[string]float64{}
	}
	charge := func(v string, route []int, bw int64) {
		for _, li := range route {
			l := topo.LinkAt(li)
			a, _ := topo.ClusterIndex(l.A)
			b, _ := topo.ClusterIndex(l.B)
			for _, r := range []int{li, nl + a, nl + b} {
				terms[r][v] += float64(bw) / 1e6
			}
		}
	}
	for pi, p := range m.pairs {
		if p.bw == 0 {
			continue
		}
		for _, cell := range p.cells {
			c, d := cell[0], cell[1]
			if c == d {
				continue
			}
			fwd, back := slices.Clone(topo.RouteAt(c, d)), slices.Clone(topo.RouteAt(d, c))
			slices.Sort(fwd)
			slices.Sort(back)
			if !slices.Equal(fwd, back) {
				return fmt.Errorf("placementtest: the routes between %s and %s differ by direction; the MILP export needs symmetric routes",
					topo.ClusterAt(c).Name, topo.ClusterAt(d).Name)
			}
			charge(yName(pi, c, d), fwd, p.bw)
		}
	}
	for ai := range m.apps {
		a := &m.apps[ai]
		for _, f := range a.Flows {
			ka, kb := m.compIndex(a.Metadata.Name, f.From), m.compIndex(a.Metadata.Name, f.To)
			if ka >= 0 && kb >= 0 || f.Bandwidth == 0 {
				continue
			}
			k, site := ka, f.To
			if ka < 0 {
				k, site = kb, f.From
			}
			si, _ := topo.SiteIndex(site)
			for _, c := range m.comps[k].cand {
				acc, route, ok := topo.SiteRouteAt(si, c)
				if !ok {
					continue
				}
				v := xName(k, c)
				terms[accessAt[si]+acc][v] += float64(f.Bandwidth) / 1e6
				charge(v, route, int64(f.Bandwidth))
			}
		}
	}
	for r := range m.nBW {
		if m.bwCap[r] == topology.Unlimited || len(terms[r]) == 0 {
			continue
		}
		m.rows = append(m.rows, milpRow{name: "bw_" + strconv.Itoa(r), sense: "<=", rhs: float64(m.bwCap[r]) / 1e6, terms: sortedTerms(terms[r])})
	}
	return nil
}

// objective returns the cost of every variable: compute on x (cores x price), the
// flows to sites on x, the flows between components on y.
func (m *MILP) objective() []milpTerm {
	obj := map[string]float64{}
	for k, c := range m.comps {
		cpu := c.c.Requests[topology.ResourceCPU]
		for _, cl := range c.cand {
			obj[xName(k, cl)] += float64(cpu.MilliValue()) / 1000 * m.topo.ClusterAt(cl).CPUPrice
			obj[xName(k, cl)] += m.xCost[[2]int{k, cl}]
		}
	}
	for pi, p := range m.pairs {
		for i, cell := range p.cells {
			if p.cost[i] != 0 {
				obj[yName(pi, cell[0], cell[1])] += p.cost[i]
			}
		}
	}
	return sortedTerms(obj)
}

// Size returns the number of binary and continuous variables and of rows.
func (m *MILP) Size() (binaries, continuous, rows int) {
	for _, c := range m.comps {
		binaries += len(c.cand)
	}
	for _, p := range m.pairs {
		continuous += len(p.cells)
	}
	return binaries, continuous, len(m.rows)
}

// WriteLP writes the model in CPLEX LP format (which CBC, HiGHS, GLPK and SCIP read).
func (m *MILP) WriteLP(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\\ continuum placement MILP: %d components, %d clusters\n", len(m.comps), m.topo.NumClusters())
	bw.WriteString("Minimize\n obj:")
	writeTerms(bw, m.objective())
	bw.WriteString("\nSubject To\n")
	for _, r := range m.rows {
		fmt.Fprintf(bw, " %s:", r.name)
		writeTerms(bw, r.terms)
		fmt.Fprintf(bw, " %s %s\n", r.sense, num(r.rhs))
	}
	bw.WriteString("Binaries\n")
	for k, c := range m.comps {
		for i, cl := range c.cand {
			if i > 0 && i%10 == 0 {
				bw.WriteString("\n")
			}
			bw.WriteString(" " + xName(k, cl))
		}
		bw.WriteString("\n")
	}
	bw.WriteString("End\n")
	return bw.Flush()
}

func writeTerms(w *bufio.Writer, terms []milpTerm) {
	for i, t := range terms {
		if i > 0 && i%8 == 0 {
			w.WriteString("\n  ")
		}
		switch {
		case t.coef == 1:
			w.WriteString(" + " + t.v)
		case t.coef == -1:
			w.WriteString(" - " + t.v)
		case t.coef < 0:
			w.WriteString(" - " + num(-t.coef) + " " + t.v)
		default:
			w.WriteString(" + " + num(t.coef) + " " + t.v)
		}
	}
	if len(terms) == 0 {
		// An empty row (a component without candidates): 0 of a variable that is
		// otherwise unused.
		w.WriteString(" 0 empty")
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Assignment decodes a solver's variable values (by name; missing ones are 0) into the
// plan they describe: each component on the cluster whose x is 1.
func (m *MILP) Assignment(values map[string]float64) ([]placement.Assignment, error) {
	var out []placement.Assignment
	for k, c := range m.comps {
		chosen := -1
		for _, cl := range c.cand {
			v := values[xName(k, cl)]
			if v > 0.5 {
				if chosen >= 0 {
					return nil, fmt.Errorf("placementtest: %s/%s is on two clusters in the solution", c.app, c.name)
				}
				chosen = cl
			} else if v > 1e-4 {
				return nil, fmt.Errorf("placementtest: %s = %v is not integral", xName(k, cl), v)
			}
		}
		if chosen < 0 {
			return nil, fmt.Errorf("placementtest: %s/%s has no cluster in the solution", c.app, c.name)
		}
		out = append(out, placement.Assignment{App: c.app, Component: c.name, Cluster: m.topo.ClusterAt(chosen).Name})
	}
	return out, nil
}

// Cost is the model's objective at an assignment (its own pricing, for checking a
// solver's answer against the model; tests use an independent evaluator).
func (m *MILP) Cost(as []placement.Assignment) (float64, error) {
	at := make([]int, len(m.comps))
	for k := range at {
		at[k] = -1
	}
	for _, a := range as {
		k := m.compIndex(a.App, a.Component)
		c, ok := m.topo.ClusterIndex(a.Cluster)
		if k < 0 || !ok {
			return 0, fmt.Errorf("placementtest: unknown %s/%s on %q", a.App, a.Component, a.Cluster)
		}
		at[k] = c
	}
	obj := map[string]float64{}
	for _, t := range m.objective() {
		obj[t.v] = t.coef
	}
	total := 0.0
	for k, c := range at {
		if c < 0 {
			return 0, fmt.Errorf("placementtest: %s/%s unplaced", m.comps[k].app, m.comps[k].name)
		}
		total += obj[xName(k, c)]
	}
	for pi, p := range m.pairs {
		total += obj[yName(pi, at[p.a], at[p.b])]
	}
	return total, nil
}

// Check evaluates every row of the model at an assignment (x from the assignment, y
// from the clusters of each pair's ends) and returns whether all hold and the
// objective; why names the first row that fails. It lets tests hold the model against
// an independent evaluator without a solver.
func (m *MILP) Check(as []placement.Assignment) (ok bool, cost float64, why string, err error) {
	values := map[string]float64{}
	at := make([]int, len(m.comps))
	for k := range at {
		at[k] = -1
	}
	for _, a := range as {
		k := m.compIndex(a.App, a.Component)
		c, found := m.topo.ClusterIndex(a.Cluster)
		if k < 0 || !found {
			return false, 0, "", fmt.Errorf("placementtest: unknown %s/%s on %q", a.App, a.Component, a.Cluster)
		}
		at[k] = c
		values[xName(k, c)] = 1
	}
	for k, c := range at {
		if c < 0 {
			return false, 0, "", fmt.Errorf("placementtest: %s/%s unplaced", m.comps[k].app, m.comps[k].name)
		}
	}
	for pi, p := range m.pairs {
		values[yName(pi, at[p.a], at[p.b])] = 1
	}
	for _, t := range m.objective() {
		cost += t.coef * values[t.v]
	}
	for _, r := range m.rows {
		lhs := 0.0
		for _, t := range r.terms {
			lhs += t.coef * values[t.v]
		}
		tol := 1e-9 * max(1, math.Abs(r.rhs))
		var holds bool
		switch r.sense {
		case "<=":
			holds = lhs <= r.rhs+tol
		case ">=":
			holds = lhs >= r.rhs-tol
		default:
			holds = math.Abs(lhs-r.rhs) <= tol
		}
		if !holds {
			return false, cost, fmt.Sprintf("%s: %v %s %v", r.name, lhs, r.sense, r.rhs), nil
		}
	}
	return true, cost, "", nil
}
