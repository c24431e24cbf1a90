package placement

// objective returns the plan's cost by term.
func (p *problem) objective(st *state) costParts {
	var total costParts
	for i, c := range st.at {
		if c < 0 {
			continue
		}
		cp := st.staticCost(i, c, true)
		total.network += cp.network
		total.compute += cp.compute
		total.migration += cp.migration
		total.plugins += cp.plugins
	}
	total.network += p.placedPairCost(st)
	return total
}

// placedPairCost is the network cost of component-to-component pairs whose ends are
// both placed.
func (p *problem) placedPairCost(st *state) float64 {
	sum := 0.0
	for _, fp := range p.pairs {
		if fp.b < 0 || fp.gbit == 0 {
			continue
		}
		ca, cb := st.at[fp.a], st.at[fp.b]
		if ca < 0 || cb < 0 {
			continue
		}
		sum += fp.gbit * p.rtt(ca, cb).Ms()
	}
	return p.w.Network * sum
}
