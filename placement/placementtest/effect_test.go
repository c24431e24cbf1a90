package placementtest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

// recordingTB counts and keeps the failures a check reports instead of failing.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Helper() {}

func (r *recordingTB) has(sub string) bool {
	for _, e := range r.errors {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

// edgeOnly keeps stores off the cloud: a filter with an effect on the generated
// instances (their XR shape has a store, cluster c0000 is the cloud).
type edgeOnly struct{ broken bool }

func (edgeOnly) Name() string { return "edge-only" }
func (f edgeOnly) Filter(c *placement.Candidate) string {
	if !f.broken && c.Component.Name == "store" && c.Cluster.Tier == topology.TierCloud {
		return "stores stay at the edge"
	}
	return ""
}

// renamed rejects like edgeOnly under a name that changes from call to call (built,
// say, from a map's iteration order): explanations cannot name it.
type renamed struct {
	edgeOnly
	mu sync.Mutex
	n  int
}

func (r *renamed) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	return fmt.Sprintf("edge-only-%d", r.n)
}

// cloudCost scores the cloud high: a scorer with an effect (it draws replicas to the
// edge as its weight grows).
type cloudCost struct{ broken string }

func (cloudCost) Name() string { return "cloud-cost" }
func (s cloudCost) Score(c *placement.Candidate) float64 {
	switch s.broken {
	case "constant":
		return 1
	case "per-component": // ignores the cluster: tells no cluster from another
		return float64(len(c.Component.Name))
	}
	if c.Cluster.Tier == topology.TierCloud {
		return 10
	}
	return 0
}

func TestEffectChecksPassWorkingPlugins(t *testing.T) {
	pt.CheckFilter(t, edgeOnly{})
	pt.CheckScorer(t, cloudCost{})
}

// TestEffectChecksCatchBrokenPlugins is the mutation check: each plugin above,
// broken in one way, fails its check with a message that says how.
func TestEffectChecksCatchBrokenPlugins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(testing.TB)
		want  string
	}{
		{"filter that rules nothing out", func(tb testing.TB) { pt.CheckFilter(tb, edgeOnly{broken: true}) }, "ruled no cluster out"},
		{"filter with an unstable name", func(tb testing.TB) { pt.CheckFilter(tb, &renamed{}) }, "does not rule"},
		{"scorer with one score for all", func(tb testing.TB) { pt.CheckScorer(tb, cloudCost{broken: "constant"}) }, "the same score"},
		{"scorer blind to the cluster", func(tb testing.TB) { pt.CheckScorer(tb, cloudCost{broken: "per-component"}) }, "moved no replica"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			tc.check(rec)
			if !rec.has(tc.want) {
				t.Errorf("the check let a broken plugin through: want a failure saying %q, got %q", tc.want, rec.errors)
			}
		})
	}
}
