package act_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/actfake"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
)

// The wait-ready steps of a phase share their reads of the instances: the first
// wait reads them right after the starts, and the waits of components ready by then
// read nothing more.
func TestWaitsShareReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := placementtest.NewApp("many").Home("fra-cloud")
		const n = 8
		var plan []placement.Assignment
		for i := range n {
			name := string(rune('a'+i)) + "-comp"
			b = b.Component(name, "100m", "128Mi")
			plan = append(plan, placement.Assignment{App: "many", Component: name, Cluster: []string{"fra-cloud", "gva-edge"}[i%2]})
		}
		f := newFixture(t, sim.Options{}, b.Build())
		wrap := actfake.Wrap(f.wl, actfake.Faults{})
		f.work = wrap
		lists := func() int {
			k := 0
			for _, c := range wrap.Calls() {
				if c.Op == "ListInstances" {
					k++
				}
			}
			return k
		}
		var mu sync.Mutex
		var reads []int // ListInstances calls of each wait-ready step, in order
		var startedAt int
		observe := func(ev act.StepEvent) {
			if ev.Step.Kind != act.StepWaitReady || ev.Message != "" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !ev.Done {
				startedAt = lists()
			} else {
				reads = append(reads, lists()-startedAt)
			}
		}
		res := f.mustApply(f.actor(act.Options{Observe: observe}), f.request(plan))
		f.assertConverged(plan)
		if len(reads) != n {
			t.Fatalf("%d wait-ready steps, want %d:\n%s", len(reads), n, resultString(res))
		}
		var waited time.Duration
		for _, s := range res.Steps {
			if s.Kind == act.StepWaitReady {
				waited += s.Took
			}
		}
		// Every instance starts at once, so all are ready when the first is: its wait
		// polls (one read now, one per 2 s poll interval), the others read nothing.
		if want := 1 + int(waited/(2*time.Second)); reads[0] != want || waited < actfake.DefaultStartDelay {
			t.Errorf("the first wait took %s and read %d times, want %d (one read per poll)", waited, reads[0], want)
		}
		if !slices.Equal(reads[1:], make([]int, n-1)) {
			t.Errorf("reads of the wait-ready steps %v, want none after the first's", reads)
		}
	})
}

// A wait decides only from instances read after the phase's starts: an instance that
// was ready, rewritten by a start (its pinning changed), is waited for again.
func TestWaitReadsAfterTheStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, req := cacheOn(t, sim.Options{}, "gva-edge")
		f.mustApply(f.actor(act.Options{}), req)
		// Someone pins the instance wrong; its new pods get ready.
		if err := f.wl.ApplyInstance(t.Context(), f.ns, act.InstanceSpec{Component: "cache", Cluster: "gva-edge", Replicas: 1, Pin: peering.PinLocal()}); err != nil {
			t.Fatal(err)
		}
		if err := f.w.Step(time.Minute); err != nil {
			t.Fatal(err)
		}
		if st := f.state(); !slices.Equal(st.Instances, []string{"cache@gva-edge 1/1 local"}) {
			t.Fatalf("state %s, want the instance ready and pinned local", st)
		}
		var mu sync.Mutex
		var msgs []string
		observe := func(ev act.StepEvent) {
			if ev.Step.Kind == act.StepWaitReady && ev.Message != "" {
				mu.Lock()
				msgs = append(msgs, ev.Message)
				mu.Unlock()
			}
		}
		res := f.mustApply(f.actor(act.Options{Observe: observe}), req)
		if got := kinds(resultSteps(res)); !slices.Equal(got, []act.StepKind{act.StepStart, act.StepWaitReady}) {
			t.Fatalf("steps:\n%s\nwant the start (pinning changed) and its wait", resultString(res))
		}
		if took := res.Steps[1].Took; took < actfake.DefaultStartDelay {
			t.Errorf("the wait took %s of fake time: it decided from the instance read before the start, want it to wait the %s its restarted pods take", took, actfake.DefaultStartDelay)
		}
		if len(msgs) == 0 || !strings.HasPrefix(msgs[0], "0/1 replicas of cache ready") {
			t.Errorf("progress of the wait %q, want it to start at 0/1", msgs)
		}
		f.assertConverged(req.Assignments)
	})
}
