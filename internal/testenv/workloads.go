package testenv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultReadyInterval is how often [MarkWorkloadsReady] looks at the workloads when
// [ReadyOptions.Interval] is zero.
const DefaultReadyInterval = 50 * time.Millisecond

// ReadyOptions configures [MarkWorkloadsReady] and [MarkWorkloadsReadyOnce]. The zero
// value marks every Deployment and StatefulSet of every namespace ready at once.
type ReadyOptions struct {
	// Namespace limits the helper to one namespace; empty means all. Tests sharing
	// an apiserver should each pass their own.
	Namespace string
	// Delay is how long a workload waits, from the first time the helper sees its
	// current generation, before it is marked ready (pods starting); its status is
	// left alone meanwhile, so it reads as not observed. MarkWorkloadsReadyOnce
	// ignores it.
	Delay time.Duration
	// Hold, when it reports true for a workload, keeps it not ready: its status
	// describes the current spec with no ready replicas (pods that never become
	// ready). It is asked again on every pass, so a workload held once may become
	// ready later.
	Hold func(client.Object) bool
	// Interval is the polling interval of MarkWorkloadsReady; zero means
	// DefaultReadyInterval.
	Interval time.Duration
	// OnError receives the errors of MarkWorkloadsReady's passes (a failed list; a
	// conflicting status write is retried on the next pass and not reported). Nil
	// drops them. The errors never hold credentials.
	OnError func(error)
}

// MarkWorkloadsReady plays the Deployment and StatefulSet controllers of
// kube-controller-manager, which do not run on an envtest apiserver: every Interval
// it lists the Deployments and StatefulSets (of Namespace, or all) with c and writes
// the status the controllers would write once every pod is ready, with
// c.Status().Update:
//
//	observedGeneration = metadata.generation
//	replicas = updatedReplicas = readyReplicas = availableReplicas = spec.replicas
//	(StatefulSets also currentReplicas; Deployments unavailableReplicas = 0)
//
// after Delay, except for the workloads Hold keeps not ready (readyReplicas =
// availableReplicas = 0). No conditions, revisions or pods are written. It writes
// only a status that differs, so it never loops on its own writes.
//
// It runs until ctx ends or stop is called; stop waits for the last pass to end and
// may be called more than once. c needs list on deployments and statefulsets and
// update on their status (an admin client of [Cluster] has them).
func MarkWorkloadsReady(ctx context.Context, c client.Client, opts ReadyOptions) (stop func()) {
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultReadyInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := map[seenKey]time.Time{}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			_, err := markReady(ctx, c, opts, seen, time.Now())
			if err != nil && !errors.Is(err, errStatusConflict) && ctx.Err() == nil && opts.OnError != nil {
				opts.OnError(err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// MarkWorkloadsReadyOnce does one pass of [MarkWorkloadsReady] with no Delay and
// returns how many statuses it wrote. A conflicting write (the workload changed
// since it was listed) is retried a few times; other errors are returned, after the
// pass went through every workload.
func MarkWorkloadsReadyOnce(ctx context.Context, c client.Client, opts ReadyOptions) (int, error) {
	opts.Delay = 0
	total := 0
	for attempt := 0; ; attempt++ {
		n, err := markReady(ctx, c, opts, nil, time.Now())
		total += n
		if !errors.Is(err, errStatusConflict) || attempt == 4 {
			return total, err
		}
	}
}

// errStatusConflict marks a pass that lost a status write to a concurrent change.
var errStatusConflict = errors.New("testenv: a workload changed during the pass")

type seenKey struct {
	uid        types.UID
	generation int64
}

// markReady does one pass. seen records when each generation was first seen (for
// Delay); nil means no delay.
func markReady(ctx context.Context, c client.Client, opts ReadyOptions, seen map[seenKey]time.Time, now time.Time) (int, error) {
	var inNS []client.ListOption
	if opts.Namespace != "" {
		inNS = append(inNS, client.InNamespace(opts.Namespace))
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, inNS...); err != nil {
		return 0, fmt.Errorf("testenv: listing Deployments: %w", err)
	}
	var sets appsv1.StatefulSetList
	if err := c.List(ctx, &sets, inNS...); err != nil {
		return 0, fmt.Errorf("testenv: listing StatefulSets: %w", err)
	}
	live := map[seenKey]bool{}
	// due reports whether obj is past its delay; held whether it stays not ready.
	due := func(obj client.Object) (ok, held bool) {
		k := seenKey{obj.GetUID(), obj.GetGeneration()}
		live[k] = true
		if seen != nil && opts.Delay > 0 {
			first, ok := seen[k]
			if !ok {
				first = now
				seen[k] = now
			}
			if now.Sub(first) < opts.Delay {
				return false, false
			}
		}
		return true, opts.Hold != nil && opts.Hold(obj)
	}
	var errs []error
	n, conflict := 0, false
	write := func(obj client.Object) {
		err := c.Status().Update(ctx, obj)
		switch {
		case err == nil:
			n++
		case apierrors.IsNotFound(err): // deleted during the pass: nothing to mark
		case apierrors.IsConflict(err):
			conflict = true
		default:
			errs = append(errs, fmt.Errorf("testenv: writing the status of %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err))
		}
	}
	for i := range deps.Items {
		d := &deps.Items[i]
		ok, held := due(d)
		if !ok {
			continue
		}
		want := readyCount(d.Spec.Replicas)
		ready := want
		if held {
			ready = 0
		}
		s := appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want,
			ReadyReplicas: ready, AvailableReplicas: ready, UnavailableReplicas: want - ready,
			Conditions: d.Status.Conditions, CollisionCount: d.Status.CollisionCount,
		}
		if d.Status.ObservedGeneration == s.ObservedGeneration && d.Status.Replicas == s.Replicas &&
			d.Status.UpdatedReplicas == s.UpdatedReplicas && d.Status.ReadyReplicas == s.ReadyReplicas &&
			d.Status.AvailableReplicas == s.AvailableReplicas && d.Status.UnavailableReplicas == s.UnavailableReplicas {
			continue
		}
		d.Status = s
		write(d)
	}
	for i := range sets.Items {
		st := &sets.Items[i]
		ok, held := due(st)
		if !ok {
			continue
		}
		want := readyCount(st.Spec.Replicas)
		ready := want
		if held {
			ready = 0
		}
		if st.Status.ObservedGeneration == st.Generation && st.Status.Replicas == want && st.Status.UpdatedReplicas == want &&
			st.Status.CurrentReplicas == want && st.Status.ReadyReplicas == ready && st.Status.AvailableReplicas == ready {
			continue
		}
		st.Status.ObservedGeneration = st.Generation
		st.Status.Replicas, st.Status.UpdatedReplicas, st.Status.CurrentReplicas = want, want, want
		st.Status.ReadyReplicas, st.Status.AvailableReplicas = ready, ready
		write(st)
	}
	for k := range seen { // forget generations that are gone
		if !live[k] {
			delete(seen, k)
		}
	}
	switch {
	case len(errs) > 0:
		return n, errors.Join(errs...)
	case conflict:
		return n, errStatusConflict
	}
	return n, nil
}

// readyCount is spec.replicas with the apps/v1 default of 1.
func readyCount(p *int32) int32 {
	if p == nil {
		return 1
	}
	return max(*p, 0)
}
