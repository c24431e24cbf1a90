package placementtest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/continuum-xr/continuum/placement"
)

// effectInstances are the generated instances the effect checks place, followed by
// the caller's own.
func effectInstances(extra []Instance) []Instance {
	var out []Instance
	for seed := uint64(1); seed <= 6; seed++ {
		out = append(out, Generate(seed, GenOptions{Clusters: 8, Components: 6, Shape: []Shape{XRChain, DAG, Star}[seed%3]}))
	}
	return append(out, extra...)
}

// candKey is a component of an application on a cluster.
type candKey struct{ app, comp, cluster string }

// recorder wraps a plugin and records what it answered for each candidate.
type recorder struct {
	filter  placement.Filter
	scorer  placement.Scorer
	mu      sync.Mutex
	reasons map[candKey]string
	scores  map[candKey]float64
}

func (r *recorder) Name() string {
	if r.filter != nil {
		return r.filter.Name()
	}
	return r.scorer.Name()
}

func key(c *placement.Candidate) candKey {
	return candKey{c.App.Metadata.Name, c.Component.Name, c.Cluster.Name}
}

func (r *recorder) Filter(c *placement.Candidate) string {
	reason := r.filter.Filter(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if reason != "" {
		r.reasons[key(c)] = reason
	}
	return reason
}

func (r *recorder) Score(c *placement.Candidate) float64 {
	s := r.scorer.Score(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scores[key(c)] = s
	return s
}

// checkFilterEffect places each instance with the filter alone (no built-in filter
// runs before it, so every rejection is its own) and full explanations, and fails tb
// when a cluster the filter rejected for a component runs a replica of it, when the
// explanation of a replica does not name the filter and its reason for such a
// cluster, or when the filter rejected nothing on any instance (its effect cannot be
// seen: pass instances where it should rule clusters out).
func checkFilterEffect(tb testing.TB, f placement.Filter, extra []Instance) {
	tb.Helper()
	rec := &recorder{filter: f, reasons: map[candKey]string{}}
	e, err := placement.NewEngine(placement.Options{FilterNames: []string{}, Filters: []placement.Filter{rec}})
	if err != nil {
		tb.Fatalf("placementtest: NewEngine: %v", err)
	}
	instances := effectInstances(extra)
	rejected := 0
	for _, in := range instances {
		clear(rec.reasons)
		req := in.Request()
		req.Explain = placement.ExplainFull
		plan, err := e.Place(context.Background(), in.Snapshot(), req)
		if err != nil && !errors.Is(err, placement.ErrUnplaceable) {
			tb.Errorf("placementtest: %s: Place with filter %q: %v", in.Name, f.Name(), err)
			continue
		}
		rejected += len(rec.reasons)
		for _, a := range plan.Assignments {
			if reason, ok := rec.reasons[candKey{a.App, a.Component, a.Cluster}]; ok {
				tb.Errorf("placementtest: %s: filter %q rejected %s for %s/%s (%q), yet replica %d runs there",
					in.Name, f.Name(), a.Cluster, a.App, a.Component, reason, a.Replica)
			}
		}
		for _, x := range plan.Explanations {
			for k, reason := range rec.reasons {
				if k.app != x.App || k.comp != x.Component {
					continue
				}
				i := slices.IndexFunc(x.RuledOut, func(r placement.Rejection) bool { return r.Cluster == k.cluster })
				if i < 0 || x.RuledOut[i].Constraint != f.Name() || x.RuledOut[i].Reason != reason {
					tb.Errorf("placementtest: %s: the explanation of %s/%s[%d] does not rule %s out by %q with reason %q (got %+v)",
						in.Name, x.App, x.Component, x.Replica, k.cluster, f.Name(), reason, x.RuledOut)
				}
			}
		}
	}
	if rejected == 0 {
		tb.Errorf("placementtest: filter %q ruled no cluster out on %d instances: its effect cannot be checked "+
			"(a filter that rejects nothing is likely broken; pass instances where it should reject to CheckFilter)", f.Name(), len(instances))
	}
}

// checkScorerEffect places each instance with the scorer at weight 0 and at a weight
// large enough to dominate the objective, with the exact strategy, and fails tb when
// the heavier weight leads to a higher total score over the replicas (the engine
// must move toward lower scores), or when no instance gives the scorer's weight
// anything to change (every candidate scores the same, or no replica moves).
func checkScorerEffect(tb testing.TB, s placement.Scorer, extra []Instance) {
	tb.Helper()
	rec := &recorder{scorer: s, scores: map[candKey]float64{}}
	instances := effectInstances(extra)
	varied, moved := false, false
	for _, in := range instances {
		clear(rec.scores)
		var totals [2]float64
		var plans [2]*placement.Plan
		for i, w := range []float64{0, 1e6} {
			e, err := placement.NewEngine(placement.Options{Scorers: []placement.WeightedScorer{{Scorer: rec, Weight: w}}})
			if err != nil {
				tb.Fatalf("placementtest: NewEngine: %v", err)
			}
			req := in.Request()
			req.Strategy, req.Explain = placement.StrategyExact, placement.ExplainNone
			plan, err := e.Place(context.Background(), in.Snapshot(), req)
			if err != nil && !errors.Is(err, placement.ErrUnplaceable) {
				tb.Errorf("placementtest: %s: Place with scorer %q at weight %g: %v", in.Name, s.Name(), w, err)
				return
			}
			plans[i] = plan
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range rec.scores {
			lo, hi = min(lo, v), max(hi, v)
		}
		varied = varied || hi > lo
		for i, plan := range plans {
			for _, a := range plan.Assignments {
				if a.Cluster == "" {
					continue
				}
				v, ok := rec.scores[candKey{a.App, a.Component, a.Cluster}]
				if !ok {
					tb.Errorf("placementtest: %s: scorer %q was never asked about %s/%s on %s, where a replica runs", in.Name, s.Name(), a.App, a.Component, a.Cluster)
				}
				totals[i] += v
			}
			if i == 1 && !slices.Equal(plan.Assignments, plans[0].Assignments) {
				moved = true
			}
		}
		if totals[1] > totals[0]*(1+1e-9)+1e-12 {
			tb.Errorf("placementtest: %s: raising the weight of scorer %q from 0 to 1e6 raised the total score of the replicas from %g to %g; want it lower or equal",
				in.Name, s.Name(), totals[0], totals[1])
		}
	}
	switch {
	case !varied:
		tb.Errorf("placementtest: scorer %q gave every candidate of %d instances the same score: its effect cannot be checked", s.Name(), len(instances))
	case !moved:
		tb.Errorf("placementtest: raising the weight of scorer %q moved no replica on %d instances: it has no effect there "+
			"(pass instances where it should to CheckScorer)", s.Name(), len(instances))
	}
}
