package placementtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/continuum-xr/continuum/placement"
)

// CheckFilter checks a user filter's conformance and its effect, and fails tb when
// it falls short. Conformance, on generated instances: the filter is deterministic
// (the same candidate twice gets the same answer), leaves the component and the
// cluster it is shown alone, and Place with it honours a cancelled context. Effect,
// on generated instances and the instances given: a cluster the filter rejects for a
// component never runs a replica of it, and every replica's explanation rules that
// cluster out by the filter's name with its reason; and the filter must reject
// something somewhere, for a filter that rules nothing out (or one that cannot be
// seen to) proves nothing. Give instances where the filter should bite when the
// generated ones (clusters c0000..., owners owner-N, components such as render-a,
// session, store, hub, svc-1-0) do not make it.
func CheckFilter(tb testing.TB, f placement.Filter, instances ...Instance) {
	tb.Helper()
	w := &checked{tb: tb, name: f.Name(), filter: f}
	checkPlugin(tb, placement.Options{Filters: []placement.Filter{w}}, w)
	checkFilterEffect(tb, f, instances)
}

// CheckScorer is CheckFilter for scorers. Conformance: scores must also be finite and
// >= 0. Effect, placed with the exact strategy at weight 0 and at a weight that
// dominates the objective: the heavier weight never raises the total score of the
// replicas (the engine moves toward lower scores), the scorer tells some candidates
// apart, and its weight moves some replica on some instance.
func CheckScorer(tb testing.TB, s placement.Scorer, instances ...Instance) {
	tb.Helper()
	w := &checked{tb: tb, name: s.Name(), scorer: s}
	checkPlugin(tb, placement.Options{Scorers: []placement.WeightedScorer{{Scorer: w, Weight: 1}}}, w)
	checkScorerEffect(tb, s, instances)
}

func checkPlugin(tb testing.TB, o placement.Options, w *checked) {
	tb.Helper()
	e, err := placement.NewEngine(o)
	if err != nil {
		tb.Fatalf("placementtest: NewEngine: %v", err)
	}
	for seed := uint64(1); seed <= 3; seed++ {
		in := Generate(seed, GenOptions{Clusters: 8, Components: 6, Shape: []Shape{XRChain, DAG, Star}[seed%3]})
		req := in.Request()
		if _, err := e.Place(context.Background(), in.Snapshot(), req); err != nil && !errors.Is(err, placement.ErrUnplaceable) {
			tb.Errorf("placementtest: %s: Place with plugin %q: %v", in.Name, w.name, err)
		}
	}
	if w.calls == 0 {
		tb.Errorf("placementtest: plugin %q was never called", w.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := Generate(1, GenOptions{})
	if _, err := e.Place(ctx, in.Snapshot(), in.Request()); !errors.Is(err, context.Canceled) {
		tb.Errorf("placementtest: Place with plugin %q on a cancelled context = %v, want context.Canceled", w.name, err)
	}
}

// checked wraps a plugin and checks every call.
type checked struct {
	tb     testing.TB
	name   string
	filter placement.Filter
	scorer placement.Scorer
	mu     sync.Mutex
	calls  int
}

func (c *checked) Name() string { return c.name }

func (c *checked) Filter(cand *placement.Candidate) string {
	var a, b string
	c.around(cand, func() { a = c.filter.Filter(cand) }, func() { b = c.filter.Filter(cand) }, func() string {
		if a != b {
			return fmt.Sprintf("filter answered %q, then %q", a, b)
		}
		return ""
	})
	return a
}

func (c *checked) Score(cand *placement.Candidate) float64 {
	var a, b float64
	c.around(cand, func() { a = c.scorer.Score(cand) }, func() { b = c.scorer.Score(cand) }, func() string {
		switch {
		case a != b && !(math.IsNaN(a) && math.IsNaN(b)):
			return fmt.Sprintf("scored %v, then %v", a, b)
		case math.IsNaN(a) || math.IsInf(a, 0) || a < 0:
			return fmt.Sprintf("score %v is not finite and >= 0", a)
		}
		return ""
	})
	return a
}

func (c *checked) around(cand *placement.Candidate, first, second func(), verdict func() string) {
	before := fingerprint(cand)
	first()
	second()
	after := fingerprint(cand)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if msg := verdict(); msg != "" {
		c.tb.Errorf("placementtest: plugin %q on %s/%s: %s", c.name, cand.Component.Name, cand.Cluster.Name, msg)
	}
	if before != after {
		c.tb.Errorf("placementtest: plugin %q modified the component or cluster it was shown", c.name)
	}
}

func fingerprint(cand *placement.Candidate) string {
	b, _ := json.Marshal(struct {
		C any
		K any
	}{cand.Component, cand.Cluster})
	return string(b)
}
