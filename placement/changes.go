package placement

import "fmt"

// String is "app/component[replica] from -> to: why".
func (c Change) String() string {
	to := c.To
	if to == "" {
		to = "(unplaced)"
	}
	return fmt.Sprintf("%s/%s[%d] %s -> %s: %s", c.App, c.Component, c.Replica, c.From, to, c.Why)
}

// changes lists the replicas of Request.Current that the plan in st puts on another
// cluster (or leaves unplaced), with why: the constraint the replica breaks on its
// current cluster with every other replica where the plan puts it, else the cost of
// the replica on each cluster, others as planned.
func (p *problem) changes(st *state, pl *Plan) []Change {
	var out []Change
	for i, in := range p.insts {
		from, to := in.current, st.at[i]
		if from < 0 || from == to {
			continue
		}
		a := pl.Assignments[i]
		ch := Change{App: a.App, Component: a.Component, Replica: a.Replica, From: p.clusters[from].Name, To: a.Cluster}
		pool := st.pool[i]
		st.unplace(i)
		if v := p.breaks(st, i, from); v != nil {
			ch.Constraint, ch.Why = v.constraint, fmt.Sprintf("on %s: %s", ch.From, v.reason)
		} else if to >= 0 {
			cf, ct := st.cost(i, from), st.cost(i, to)
			ch.Why = fmt.Sprintf("cost %.4f on %s against %.4f on %s, the others as planned", ct.total(), ch.To, cf.total(), ch.From)
		} else {
			ch.Why = "left unplaced: the plan could not keep it"
		}
		if to >= 0 {
			st.restore(i, to, pool)
		}
		out = append(out, ch)
	}
	return out
}

// breaks returns the constraint instance i (unplaced) breaks on cluster c with the
// rest of st in place, nil if none.
func (p *problem) breaks(st *state, i, c int) *violation {
	if !p.allowedAt(p.insts[i].comp, c) {
		return p.ruledOut(p.insts[i].comp, c)
	}
	if ok, v := st.check(i, c, true); !ok {
		return &v
	}
	return nil
}
