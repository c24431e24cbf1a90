package loop_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// The Loop is what a manager runs: a Runnable that needs leader election.
var (
	_ manager.Runnable               = (*loop.Loop)(nil)
	_ manager.LeaderElectionRunnable = (*loop.Loop)(nil)
)

// Leader election of the managers in TestLeaderElection. The lease is long enough
// that a leader on a loaded machine does not lose it by missing renewals; the
// failover does not wait for it to expire, since the leader releases it when it
// stops (LeaderElectionReleaseOnCancel), and the follower retries every
// leaderRetry.
const (
	leaderLease  = 4 * time.Second
	leaderRenew  = 3 * time.Second
	leaderRetry  = 200 * time.Millisecond
	leaderWindow = 2 * time.Second // how long the follower is watched while the leader runs
)

// leaderWorld is a simulated continuum (the paper's Fig. 1 with the XR
// collaboration app) whose fake clock a goroutine steps by one second every 10 ms
// of real time, so that loops run by a manager in real time see time pass: their
// tickers fire and the actor's waits end.
type leaderWorld struct {
	world     *sim.World
	app       placement.Application
	workloads *sim.Workloads
}

func newLeaderWorld(t *testing.T) *leaderWorld {
	t.Helper()
	world, err := sim.New(sim.Options{Topology: topologytest.PaperFig1()})
	if err != nil {
		t.Fatal(err)
	}
	lw := &leaderWorld{world: world, app: placementtest.XRCollab()}
	if err := world.AddApplication(lw.app); err != nil {
		t.Fatal(err)
	}
	if lw.workloads, err = world.Workloads(lw.app.Home); err != nil {
		t.Fatal(err)
	}
	for _, c := range lw.app.Components {
		lw.workloads.AddTemplate(lw.app.Metadata.Name, c.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := world.Step(time.Second); err != nil {
				t.Errorf("stepping the world: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return lw
}

// newLoop builds a loop on the world (everything on its clock: a watch round every
// 5 s of simulated time, about every 50 ms of real time) that reports to log.
func (lw *leaderWorld) newLoop(t *testing.T, opts loop.Options, log *runLog) *loop.Loop {
	t.Helper()
	actor, err := act.New(lw.workloads, act.Options{Peering: lw.world.Peering(), Provisioner: lw.world.Provisioner(), Clock: lw.world.Clock(), PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	opts.Topology, opts.Sources, opts.Clock = lw.world.TopologyFunc(), lw.world.Sources(), lw.world.Clock()
	opts.WatchInterval, opts.Interval = 5*time.Second, time.Minute
	opts.OnRound = log.round
	l, err := loop.New(actor, []placement.Application{lw.app}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runLog records, in real time, when a loop's Start began and returned and the
// rounds it ran.
type runLog struct {
	name string

	mu       sync.Mutex
	starts   int
	started  time.Time
	returned time.Time
	err      error
	ended    bool
	rounds   []*loop.Round
	at       []time.Time
}

func (r *runLog) round(rd *loop.Round) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rounds = append(r.rounds, rd)
	r.at = append(r.at, time.Now())
}

func (r *runLog) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rounds)
}

// snapshot returns the rounds so far and when they ended.
func (r *runLog) snapshot() ([]*loop.Round, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*loop.Round(nil), r.rounds...), append([]time.Time(nil), r.at...)
}

// run returns how often Start was called, when it was last called and returned,
// and what it returned (ended: it did return).
func (r *runLog) run() (starts int, started, returned time.Time, err error, ended bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts, r.started, r.returned, r.err, r.ended
}

// managed is a Loop as the manager runs it, with Start's call and return recorded.
// NeedLeaderElection is the Loop's own (promoted from the embedded *loop.Loop): the
// manager decides with it whether the loop waits for the lease.
type managed struct {
	*loop.Loop
	log *runLog
}

func (m managed) Start(ctx context.Context) error {
	m.log.mu.Lock()
	m.log.starts++
	m.log.started, m.log.ended = time.Now(), false
	m.log.mu.Unlock()
	err := m.Loop.Start(ctx)
	m.log.mu.Lock()
	m.log.returned, m.log.err, m.log.ended = time.Now(), err, true
	m.log.mu.Unlock()
	return err
}

// newLeaderManager returns a manager on cfg that elects its leader on the Lease
// default/id, running the loops.
func newLeaderManager(t *testing.T, cfg *rest.Config, id string, loops ...managed) manager.Manager {
	t.Helper()
	lease, renew, retry := leaderLease, leaderRenew, leaderRetry
	mgr, err := manager.New(rest.CopyConfig(cfg), manager.Options{
		LeaderElection:                true,
		LeaderElectionID:              id,
		LeaderElectionNamespace:       "default",
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &lease,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range loops {
		if err := mgr.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	return mgr
}

// runningManager is a manager started in the background.
type runningManager struct {
	name   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startManager starts mgr; the test's cleanup stops it if the test did not.
func startManager(t *testing.T, name string, mgr manager.Manager) *runningManager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rm := &runningManager{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { rm.done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		if err := rm.stop(time.Minute); err != nil {
			t.Errorf("manager %s: %v", name, err)
		}
	})
	return rm
}

// stop cancels the manager's context and returns what Start returned; an error
// when it did not return within timeout.
func (rm *runningManager) stop(timeout time.Duration) error {
	rm.once.Do(func() {
		rm.cancel()
		select {
		case err := <-rm.done:
			if err != nil {
				rm.err = fmt.Errorf("Start returned %w", err)
			}
		case <-time.After(timeout):
			rm.err = fmt.Errorf("Start did not return within %v of the cancel", timeout)
		}
	})
	return rm.err
}

// exited reports a manager whose Start returned although its context is live
// (leader election lost, a runnable failed).
func (rm *runningManager) exited() error {
	select {
	case err := <-rm.done:
		rm.done <- err
		return fmt.Errorf("manager %s stopped on its own: %v", rm.name, err)
	default:
		return nil
	}
}

// waitUntil polls cond every 20 ms until it holds, and fails the test after timeout;
// it returns how long it took. Managers that stop on their own fail it at once.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool, managers ...*runningManager) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		for _, m := range managers {
			if err := m.exited(); err != nil {
				t.Fatalf("waiting until %s: %v", what, err)
			}
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func elected(mgr manager.Manager) bool {
	select {
	case <-mgr.Elected():
		return true
	default:
		return false
	}
}

// leaseHolder reads the Lease the managers elect their leader with on home.
func leaseHolder(t *testing.T, id string) (holder string, transitions int32) {
	t.Helper()
	var l coordinationv1.Lease
	if err := shared.admin["home"].Get(t.Context(), client.ObjectKey{Namespace: "default", Name: id}, &l); err != nil {
		t.Fatalf("reading the lease default/%s: %v", id, err)
	}
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions
	}
	return holder, transitions
}

// checkRounds reports the rounds of log that failed (the round a stop cancelled
// aside) or moved something after the first.
func checkRounds(t *testing.T, log *runLog) {
	t.Helper()
	rounds, _ := log.snapshot()
	for i, rd := range rounds {
		if rd.Err != nil && !errors.Is(rd.Err, context.Canceled) {
			t.Errorf("loop %s: round %d (%s) failed: %v", log.name, rd.Number, rd.Trigger, rd.Err)
		}
		if i > 0 && rd.Decision.Moves > 0 {
			t.Errorf("loop %s: round %d (%s) decided %s with %d move(s) (%s); nothing changed in the world", log.name, rd.Number, rd.Trigger, rd.Decision.Kind, rd.Decision.Moves, rd.Decision.Reason)
		}
	}
}

// TestLeaderElection runs the loop under real controller-runtime managers electing
// their leader on the home kube-apiserver. Two managers, A and B, each run a Loop
// (each its own actor) managing the same simulated continuum; B also runs a loop
// built with NoLeaderElection (on a world of its own).
//
//   - A alone takes the lease and its loop places the application.
//   - B starts: its NoLeaderElection loop runs rounds although B is not the leader,
//     while B's leader-elected loop is never started (its OnRound never called)
//     for as long as A holds the lease, B retrying every 200 ms meanwhile.
//   - A's manager stops (its context cancelled): A's Loop.Start returns nil, A
//     releases the lease, B takes it within seconds and its loop starts only after
//     A's returned: the two never run at once. B's first round reads the placement
//     A left from the instances and keeps it.
//   - B's manager stops: both of its loops' Start return nil.
func TestLeaderElection(t *testing.T) {
	begin := time.Now()
	sharedEnv(t)
	t.Logf("the shared clusters ready in %v", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	cfg := shared.env.Cluster("home").Config
	id := fmt.Sprintf("continuum-loop-leader-%d", time.Now().UnixNano())

	continuum := newLeaderWorld(t)
	aLog, bLog, freeLog := &runLog{name: "A"}, &runLog{name: "B"}, &runLog{name: "B (no leader election)"}
	loopA := continuum.newLoop(t, loop.Options{}, aLog)
	loopB := continuum.newLoop(t, loop.Options{}, bLog)
	free := newLeaderWorld(t).newLoop(t, loop.Options{NoLeaderElection: true}, freeLog)
	if !loopA.NeedLeaderElection() || !loopB.NeedLeaderElection() {
		t.Fatal("NeedLeaderElection() = false for a loop built without NoLeaderElection")
	}
	if free.NeedLeaderElection() {
		t.Fatal("NeedLeaderElection() = true for a loop built with NoLeaderElection")
	}
	mgrA := newLeaderManager(t, cfg, id, managed{loopA, aLog})
	mgrB := newLeaderManager(t, cfg, id, managed{loopB, bLog}, managed{free, freeLog})

	// A alone: it takes the lease, and its loop places the application.
	runA := startManager(t, "A", mgrA)
	took := waitUntil(t, 60*time.Second, "A's loop placed the application", func() bool {
		rounds, _ := aLog.snapshot()
		return len(rounds) > 0 && rounds[0].Decision.Kind == loop.DecidePlace && rounds[0].Err == nil
	}, runA)
	t.Logf("A elected and placed in %v", took.Round(time.Millisecond))
	if !elected(mgrA) {
		t.Fatal("A's loop runs, but A's manager was not elected")
	}
	holderA, transitionsA := leaseHolder(t, id)
	if holderA == "" {
		t.Fatal("A leads, but the lease has no holder")
	}

	// B starts while A leads: only B's NoLeaderElection loop runs.
	runB := startManager(t, "B", mgrB)
	took = waitUntil(t, 60*time.Second, "B's NoLeaderElection loop ran 3 rounds", func() bool { return freeLog.count() >= 3 }, runA, runB)
	t.Logf("B's NoLeaderElection loop running %v after B started", took.Round(time.Millisecond))
	before := aLog.count()
	time.Sleep(leaderWindow) // B's elector tries about every 200 ms meanwhile
	if err := errors.Join(runA.exited(), runB.exited()); err != nil {
		t.Fatal(err)
	}
	if n := aLog.count() - before; n < 3 {
		t.Errorf("A's loop ran %d round(s) in %v while leading, want it to keep running (watch rounds about every 50 ms)", n, leaderWindow)
	}
	if starts, _, _, _, _ := bLog.run(); starts != 0 || bLog.count() != 0 {
		t.Fatalf("B's leader-elected loop was started %d time(s) and ran %d round(s) while A held the lease: leader election was ignored", starts, bLog.count())
	}
	if elected(mgrB) {
		t.Fatal("B's manager was elected while A held the lease")
	}
	if holder, _ := leaseHolder(t, id); holder != holderA {
		t.Fatalf("the lease moved from %q to %q while A ran", holderA, holder)
	}
	if n := freeLog.count(); n < 10 {
		t.Errorf("B's NoLeaderElection loop ran %d rounds, want it to keep running on the non-leader", n)
	}

	// A stops: B takes over.
	stopped := time.Now()
	if err := runA.stop(time.Minute); err != nil {
		t.Fatalf("manager A: %v", err)
	}
	t.Logf("A's manager stopped in %v", time.Since(stopped).Round(time.Millisecond))
	aStarts, _, aReturned, aErr, aEnded := aLog.run()
	if aStarts != 1 || !aEnded || aErr != nil {
		t.Fatalf("A's Loop.Start: called %d time(s), returned %v, with %v; want called once, returned nil", aStarts, aEnded, aErr)
	}
	aRounds := aLog.count()
	waitUntil(t, 30*time.Second, "B's loop ran 3 rounds after A stopped", func() bool { return bLog.count() >= 3 }, runB)
	_, bAt := bLog.snapshot()
	t.Logf("failover: B's loop ran its first round %v after A's manager was told to stop", bAt[0].Sub(stopped).Round(time.Millisecond))
	if _, bStarted, _, _, _ := bLog.run(); !bStarted.After(aReturned) {
		t.Errorf("B's loop started at %v, before A's Start returned at %v: both ran at once", bStarted.Format(time.StampMicro), aReturned.Format(time.StampMicro))
	}
	if n := aLog.count(); n != aRounds {
		t.Errorf("A's loop ran %d round(s) after its Start returned", n-aRounds)
	}
	if !elected(mgrB) {
		t.Error("B's loop runs, but B's manager was not elected")
	}
	if holder, transitions := leaseHolder(t, id); holder == "" || holder == holderA || transitions <= transitionsA {
		t.Errorf("after the failover the lease is held by %q (A was %q), %d transition(s) (%d before); want another holder, one more transition", holder, holderA, transitions, transitionsA)
	}
	// B took the placement A left over: it read it back and keeps it.
	if rounds, _ := bLog.snapshot(); rounds[0].Err != nil || rounds[0].Decision.Kind != loop.DecideKeep || rounds[0].Decision.Moves != 0 {
		t.Errorf("B's first round: %s with %d move(s) (%s), error %v; want it to keep the placement A left", rounds[0].Decision.Kind, rounds[0].Decision.Moves, rounds[0].Decision.Reason, rounds[0].Err)
	}

	// B stops: both its loops return nil.
	if err := runB.stop(time.Minute); err != nil {
		t.Fatalf("manager B: %v", err)
	}
	for _, l := range []*runLog{bLog, freeLog} {
		if starts, _, _, err, ended := l.run(); starts != 1 || !ended || err != nil {
			t.Errorf("loop %s: Start called %d time(s), returned %v, with %v; want called once, returned nil", l.name, starts, ended, err)
		}
	}
	for _, l := range []*runLog{aLog, bLog, freeLog} {
		checkRounds(t, l)
	}
	t.Logf("rounds: A %d, B %d, B's NoLeaderElection loop %d; the test took %v after the clusters were ready", aLog.count(), bLog.count(), freeLog.count(), time.Since(begin).Round(time.Millisecond))
}
