package placement

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/topology"
)

// TestTaintsFastPathAgrees: the taints filter's fast check (no reason formatted) gives
// the verdict of its Filter on random taints, tolerations and times: keys and values
// matched or not, Equal and Exists, every effect, toleration periods running, expired
// or unknown (no Added time, no Now).
func TestTaintsFastPathAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys, values := []string{"", "a", "b"}, []string{"", "x", "y"}
	effects := []topology.TaintEffect{topology.NoSelect, topology.PreferNoSelect, topology.NoExecute}
	base := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var rejected, accepted int
	for range 20000 {
		var taints []topology.Taint
		for range 1 + rng.IntN(3) {
			tt := topology.Taint{Key: pick(keys[1:]), Value: pick(values), Effect: effects[rng.IntN(len(effects))]}
			if rng.IntN(3) > 0 {
				tt.Added = base.Add(-time.Duration(rng.IntN(600)) * time.Second)
			}
			taints = append(taints, tt)
		}
		var tols []Toleration
		for range rng.IntN(3) {
			tol := Toleration{Key: pick(keys), Value: pick(values), Effect: effects[rng.IntN(len(effects))]}
			if rng.IntN(4) == 0 {
				tol.Effect = ""
			}
			if tol.Value == "" || rng.IntN(3) == 0 {
				tol.Operator, tol.Value = TolerationExists, ""
			} else {
				tol.Operator = TolerationEqual
			}
			if tol.Effect == topology.NoExecute && rng.IntN(2) == 0 {
				secs := int64(rng.IntN(600))
				tol.TolerationSeconds = &secs
			}
			tols = append(tols, tol)
		}
		snap := &Snapshot{}
		if rng.IntN(4) > 0 {
			snap.Now = base
		}
		cand := &Candidate{Snapshot: snap, Component: &Component{Tolerations: tols}, Cluster: &topology.Cluster{Taints: taints}}
		why := taintsFilter{}.Filter(cand)
		if ok := (taintsFilter{}).ok(cand); ok != (why == "") {
			t.Fatalf("taints %+v, tolerations %+v, now %v: fast check %v, Filter %q", taints, tols, snap.Now, ok, why)
		}
		if why == "" {
			accepted++
		} else {
			rejected++
		}
	}
	if accepted < 1000 || rejected < 1000 {
		t.Fatalf("the cases are lopsided: %d accepted, %d rejected", accepted, rejected)
	}
}

// TestJudgeTaintPeriods: a NoExecute taint tolerated for 60 s keeps replicas (no new
// ones) while the period runs, or while its start or the present is unknown, and
// excludes them once it has run out; its reasons say which.
func TestJudgeTaintPeriods(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	secs := int64(60)
	tols := []Toleration{{Key: "k", Operator: TolerationExists, Effect: topology.NoExecute, TolerationSeconds: &secs}}
	for _, tc := range []struct {
		name  string
		added time.Time
		now   time.Time
		want  taintVerdict
		why   string
	}{
		{"running", now.Add(-10 * time.Second), now, taintNoNew, "tolerated until 2026-12-06T12:00:50Z"},
		{"expired", now.Add(-2 * time.Minute), now, taintExclude, "toleration of 60s expired at 2026-12-06T11:59:00Z"},
		{"no added time", time.Time{}, now, taintNoNew, "tolerated for 60s (period running)"},
		{"no now", now.Add(-2 * time.Minute), time.Time{}, taintNoNew, "tolerated for 60s (period running)"},
	} {
		taint := topology.Taint{Key: "k", Effect: topology.NoExecute, Added: tc.added}
		v, why := judgeTaint(tols, taint, tc.now)
		if v != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("%s: verdict %d %q, want %d containing %q", tc.name, v, why, tc.want, tc.why)
		}
		if fast, _ := taintJudge(tols, taint, tc.now); fast != v {
			t.Errorf("%s: taintJudge %d, judgeTaint %d", tc.name, fast, v)
		}
	}
}
