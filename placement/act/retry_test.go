package act_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/actfake"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
)

// flakyPeering fails Liqo's writes as fail says (nil: the call goes through) and
// records the fake time of every write call, by operation.
type flakyPeering struct {
	peering.Interface
	clk clock.PassiveClock
	// fail gets the call's context, its operation and its number among the calls
	// of that operation (from 1).
	fail func(ctx context.Context, op string, n int) error

	mu    sync.Mutex
	calls map[string][]time.Time
}

func newFlakyPeering(f *fixture, fail func(ctx context.Context, op string, n int) error) *flakyPeering {
	p := &flakyPeering{Interface: f.w.Peering(), clk: f.w.Clock(), fail: fail, calls: map[string][]time.Time{}}
	f.peer = p
	return p
}

func (p *flakyPeering) do(ctx context.Context, op string, call func() error) error {
	p.mu.Lock()
	p.calls[op] = append(p.calls[op], p.clk.Now())
	n := len(p.calls[op])
	p.mu.Unlock()
	if err := p.fail(ctx, op, n); err != nil {
		return err
	}
	return call()
}

func (p *flakyPeering) times(op string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

func (p *flakyPeering) Peer(ctx context.Context, r peering.PeerRequest) error {
	return p.do(ctx, "Peer", func() error { return p.Interface.Peer(ctx, r) })
}

func (p *flakyPeering) Offload(ctx context.Context, s peering.OffloadSpec) error {
	return p.do(ctx, "Offload", func() error { return p.Interface.Offload(ctx, s) })
}

func (p *flakyPeering) Unoffload(ctx context.Context, r peering.NamespaceRef) error {
	return p.do(ctx, "Unoffload", func() error { return p.Interface.Unoffload(ctx, r) })
}

func conflict(what string, n int) error {
	return apierrors.NewConflict(schema.GroupResource{Group: "core.liqo.io", Resource: "foreignclusters"}, what,
		fmt.Errorf("attempt %d: the object has been modified; please apply your changes to the latest version and try again", n))
}

// events records the messages Observe gets.
type events struct {
	mu   sync.Mutex
	msgs []string // "<step kind>: <message>"
}

func (e *events) observe(ev act.StepEvent) {
	if ev.Message == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, string(ev.Step.Kind)+": "+ev.Message)
}

// retries returns the retry messages.
func (e *events) retries() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.msgs {
		if _, msg, _ := strings.Cut(m, ": "); strings.HasPrefix(msg, "retry ") {
			out = append(out, m)
		}
	}
	return out
}

// cacheOn is a one-component application at home on fra-cloud, and its plan on
// cluster.
func cacheOn(t *testing.T, so sim.Options, cluster string) (*fixture, act.Request) {
	t.Helper()
	app := placementtest.NewApp("cache").Component("cache", "1", "1Gi").Home("fra-cloud").Build()
	f := newFixture(t, so, app)
	return f, f.request([]placement.Assignment{{App: "cache", Component: "cache", Cluster: cluster}})
}

// A conflict on a peer, an offload and a start write is retried: Apply succeeds and
// runs the steps an undisturbed Apply runs, no more.
func TestRetryConflictOnWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, plan := xrCollab(t, sim.Options{})
		req := f.request(plan.Assignments)
		planned, err := f.actor(act.Options{}).Plan(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		p := newFlakyPeering(f, func(_ context.Context, op string, n int) error {
			if (op == "Peer" || op == "Offload") && n == 1 {
				return conflict(strings.ToLower(op), n)
			}
			return nil
		})
		var starts int
		var mu sync.Mutex
		f.work = actfake.Wrap(f.wl, actfake.Faults{Err: func(c actfake.Call) error {
			mu.Lock()
			defer mu.Unlock()
			if c.Op == "ApplyInstance" {
				if starts++; starts == 1 {
					return conflict(c.Component, 1)
				}
			}
			return nil
		}})
		var ev events
		res := f.mustApply(f.actor(act.Options{Observe: ev.observe}), req)
		if got := resultSteps(res); !sameSteps(planned, got) {
			t.Errorf("Apply with conflicts ran:\n%s\nwant the planned steps only", resultString(res))
		}
		for _, s := range res.Steps {
			if s.Err != nil {
				t.Errorf("step %s has error %v in a successful Apply", s.Step, s.Err)
			}
		}
		f.assertConverged(plan.Assignments)
		var peers int
		for _, s := range planned {
			if s.Kind == act.StepPeer {
				peers++
			}
		}
		if got := len(p.times("Peer")); got != peers+1 {
			t.Errorf("%d Peer calls for %d peer steps, want one more (the retry)", got, peers)
		}
		if got := len(p.times("Offload")); got != 2 {
			t.Errorf("%d Offload calls, want 2 (one retry)", got)
		}
		got := ev.retries()
		want := []string{"peer: retry 2/4 after conflict: ", "offload: retry 2/4 after conflict: ", "start: retry 2/4 after conflict: "}
		if len(got) != len(want) {
			t.Fatalf("retry events %q, want %d like %q", got, len(want), want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "the object has been modified") {
				t.Errorf("retry event %d = %q, want %q followed by the error", i, got[i], want[i])
			}
		}
	})
}

// Every error kind worth retrying is retried once it happened once; the others fail
// the Apply at the first attempt.
func TestRetryOnlyRetryableErrors(t *testing.T) {
	gr := schema.GroupResource{Group: "core.liqo.io", Resource: "foreignclusters"}
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"conflict", conflict("x", 1), true},
		{"server-timeout", apierrors.NewServerTimeout(gr, "create", 1), true},
		{"timeout", apierrors.NewTimeoutError("request did not complete", 1), true},
		{"too-many-requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"service-unavailable", apierrors.NewServiceUnavailable("restarting"), true},
		{"deadline-exceeded-of-the-call", fmt.Errorf("peer: %w", context.DeadlineExceeded), true},
		{"net-timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, true},
		{"invalid", fmt.Errorf("peer: resources: bad: %w", peering.ErrInvalid), false},
		{"act-invalid", fmt.Errorf("peer: %w", act.ErrInvalid), false},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{"bad-request", apierrors.NewBadRequest("no"), false},
		{"not-a-timeout", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		{"other", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, req := cacheOn(t, sim.Options{}, "gva-edge")
				p := newFlakyPeering(f, func(_ context.Context, op string, n int) error {
					if op == "Peer" && n == 1 {
						return tc.err
					}
					return nil
				})
				var ev events
				res, err := f.apply(f.actor(act.Options{Observe: ev.observe}), req)
				calls := len(p.times("Peer"))
				switch {
				case tc.retry && err != nil:
					t.Fatalf("Apply with one %s = %v, want it retried and success\n%s", tc.name, err, resultString(res))
				case tc.retry && (calls != 2 || len(ev.retries()) != 1):
					t.Errorf("%d Peer calls, retry events %q; want 2 calls and 1 retry", calls, ev.retries())
				case !tc.retry && !errors.Is(err, tc.err):
					t.Fatalf("Apply with a %s = %v, want that error", tc.name, err)
				case !tc.retry && (calls != 1 || len(ev.retries()) != 0):
					t.Errorf("%d Peer calls, retry events %q; want no retry", calls, ev.retries())
				}
				if !tc.retry {
					if last := res.Steps[len(res.Steps)-1]; last.Kind != act.StepPeer || last.Err == nil {
						t.Errorf("last step %s (%v), want the failed peer", last.Step, last.Err)
					}
				}
			})
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// A write that keeps conflicting is tried Options.Retries+1 times, with a backoff
// doubling from Options.RetryBackoff on the clock, and fails with the last error.
func TestRetryGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		retries  int
		backoff  time.Duration
		attempts int
		gaps     []time.Duration
	}{
		{"defaults", 0, 0, 4, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{"one-retry", 1, time.Second, 2, []time.Duration{time.Second}},
		{"none", -1, 0, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const tick = 50 * time.Millisecond
				f, req := cacheOn(t, sim.Options{Tick: tick}, "gva-edge")
				p := newFlakyPeering(f, func(_ context.Context, op string, n int) error {
					if op == "Peer" {
						return conflict("peer", n)
					}
					return nil
				})
				var ev events
				res, err := f.apply(f.actor(act.Options{Retries: tc.retries, RetryBackoff: tc.backoff, Observe: ev.observe}), req)
				if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), fmt.Sprintf("attempt %d:", tc.attempts)) {
					t.Fatalf("Apply with endless conflicts = %v, want the conflict of attempt %d", err, tc.attempts)
				}
				if tc.attempts > 1 && !strings.Contains(err.Error(), fmt.Sprintf("failed %d times", tc.attempts)) {
					t.Errorf("error %q does not say how often the step failed", err)
				}
				if last := res.Steps[len(res.Steps)-1]; last.Kind != act.StepPeer || !apierrors.IsConflict(last.Err) {
					t.Errorf("last step %s (%v), want the failed peer", last.Step, last.Err)
				}
				at := p.times("Peer")
				if len(at) != tc.attempts {
					t.Fatalf("%d Peer calls, want %d", len(at), tc.attempts)
				}
				for i, want := range tc.gaps {
					if gap := at[i+1].Sub(at[i]); gap < want || gap > want+tick {
						t.Errorf("pause before attempt %d = %s of fake time, want %s", i+2, gap, want)
					}
				}
				if got := ev.retries(); len(got) != tc.attempts-1 {
					t.Errorf("retry events %q, want %d", got, tc.attempts-1)
				} else if len(got) > 0 && !strings.HasPrefix(got[len(got)-1], fmt.Sprintf("peer: retry %d/%d after conflict: ", tc.attempts, tc.attempts)) {
					t.Errorf("last retry event %q", got[len(got)-1])
				}
			})
		})
	}
}

// When the caller's context ends, a write step is not retried, even when the error
// looks retryable (a deadline exceeded, a conflict).
func TestRetryNotAfterTheCallerGaveUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		// apply calls Apply with a context it makes from ctx, and returns the function
		// of the failing Peer.
		fail func(cancel context.CancelFunc) func(ctx context.Context) error
		// timeout, when set, is the deadline of Apply's context.
		timeout time.Duration
		want    error
	}{
		{"canceled", func(cancel context.CancelFunc) func(ctx context.Context) error {
			return func(ctx context.Context) error { cancel(); return fmt.Errorf("peer: %w", ctx.Err()) }
		}, 0, context.Canceled},
		{"conflict-then-canceled", func(cancel context.CancelFunc) func(ctx context.Context) error {
			return func(ctx context.Context) error { cancel(); return conflict("peer", 1) }
		}, 0, context.Canceled},
		{"deadline", func(context.CancelFunc) func(ctx context.Context) error {
			return func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("peer: %w", ctx.Err()) }
		}, 100 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, req := cacheOn(t, sim.Options{}, "gva-edge")
				var fail func(ctx context.Context) error
				p := newFlakyPeering(f, func(ctx context.Context, op string, n int) error {
					if op == "Peer" {
						return fail(ctx)
					}
					return nil
				})
				var ev events
				a := f.actor(act.Options{Observe: ev.observe})
				var res *act.Result
				err := f.w.Run(t.Context(), time.Hour, func(ctx context.Context) error {
					var cancel context.CancelFunc
					if tc.timeout > 0 {
						ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					} else {
						ctx, cancel = context.WithCancel(ctx)
					}
					defer cancel()
					fail = tc.fail(cancel)
					var err error
					res, err = a.Apply(ctx, req)
					return err
				})
				if !errors.Is(err, tc.want) {
					t.Fatalf("Apply = %v, want %v", err, tc.want)
				}
				if n := len(p.times("Peer")); n != 1 || len(ev.retries()) != 0 {
					t.Errorf("%d Peer calls, retry events %q; want 1 call, no retry", n, ev.retries())
				}
				if last := res.Steps[len(res.Steps)-1]; last.Kind != act.StepPeer {
					t.Errorf("last step %s, want the peer", last.Step)
				}
			})
		})
	}
}

// Retries of a stop (a delete that conflicts) and of a narrow keep make-before-break
// and converge.
func TestRetryStopAndNarrow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, req := cacheOn(t, sim.Options{}, "gva-edge")
		f.mustApply(f.actor(act.Options{}), req)
		p := newFlakyPeering(f, func(_ context.Context, op string, n int) error {
			if op == "Offload" && (n == 1 || n == 3) { // the widening once, the narrowing once
				return conflict("offload", n)
			}
			return nil
		})
		var mu sync.Mutex
		var deletes int
		f.work = actfake.Wrap(f.wl, actfake.Faults{Err: func(c actfake.Call) error {
			mu.Lock()
			defer mu.Unlock()
			if c.Op == "DeleteInstance" {
				if deletes++; deletes == 1 {
					return apierrors.NewServerTimeout(schema.GroupResource{Group: "apps", Resource: "deployments"}, "delete", 1)
				}
			}
			return nil
		}})
		inv := f.watch()
		var ev events
		req.Assignments[0].Cluster = "mil-edge"
		res := f.mustApply(f.actor(act.Options{Observe: ev.observe}), req)
		inv.assert(t)
		f.assertConverged(req.Assignments)
		if n := len(p.times("Offload")); n != 4 {
			t.Errorf("%d Offload calls, want 4 (offload and narrow, each retried once)", n)
		}
		got := ev.retries()
		if len(got) != 3 || !strings.HasPrefix(got[0], "offload: retry 2/4 after conflict") ||
			!strings.HasPrefix(got[1], "stop: retry 2/4 after server timeout") || !strings.HasPrefix(got[2], "narrow: retry 2/4 after conflict") {
			t.Errorf("retry events %q\nsteps:\n%s", got, resultString(res))
		}
	})
}
