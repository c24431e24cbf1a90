package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/watchwait"
)

// Reader reads clusters. Callers that only watch or wait take a Reader.
type Reader interface {
	// Get returns the cluster named by ref, or an error wrapping ErrNotFound.
	Get(ctx context.Context, ref Ref) (*Cluster, error)
	// List returns the clusters that match opts, sorted by namespace and name.
	List(ctx context.Context, opts ListOptions) ([]*Cluster, error)
	// Watch streams the state of one cluster. The channel first carries the current
	// state (Gone when the cluster does not exist), then a Change after every change;
	// changes may be coalesced, so a receiver sees the latest state but not every
	// intermediate one. A Change with Err set reports that the watch broke; the
	// channel is closed after it, and when ctx ends.
	Watch(ctx context.Context, ref Ref) (<-chan Change, error)
}

// Writer creates and deletes clusters.
type Writer interface {
	// Create starts provisioning the cluster of spec and returns without waiting
	// (see WaitReady). An invalid spec gives an error wrapping ErrInvalid (an
	// ErrorList), an existing cluster one wrapping ErrAlreadyExists.
	Create(ctx context.Context, spec ClusterSpec) error
	// Delete starts deleting the cluster and returns without waiting (see
	// DeleteAndWait); a missing cluster gives an error wrapping ErrNotFound.
	Delete(ctx context.Context, ref Ref) error
}

// Provisioner is a complete backend: Reader and Writer.
type Provisioner interface {
	Reader
	Writer
}

// Scaler is an optional capability of a Writer: changing the number of workers. Use
// the Scale function, which checks for it.
type Scaler interface {
	// Scale sets the number of worker machines (0 to MaxWorkers).
	Scale(ctx context.Context, ref Ref, workers int32) error
}

// KubeconfigGetter is an optional capability of a Reader: credentials for the
// workload cluster. Use the Kubeconfig function, which checks for it.
type KubeconfigGetter interface {
	// Kubeconfig returns a REST config for the workload cluster; before the control
	// plane is initialized, an error wrapping ErrNotReady. The config holds
	// credentials: never log it.
	Kubeconfig(ctx context.Context, ref Ref) (*rest.Config, error)
}

// ListOptions filters List. The zero value lists every cluster.
type ListOptions struct {
	// Namespace limits the list to one namespace; empty means all.
	Namespace string
	// Labels keeps clusters whose labels equal every non-empty field.
	Labels Labels
}

// Matches reports whether c passes the filter. Backends that cannot filter on the
// server use it.
func (o ListOptions) Matches(c *Cluster) bool {
	if o.Namespace != "" && c.Spec.Ref().Namespace != o.Namespace {
		return false
	}
	l := c.Spec.Labels
	return (o.Labels.Owner == "" || o.Labels.Owner == l.Owner) &&
		(o.Labels.Tier == "" || o.Labels.Tier == l.Tier) &&
		(o.Labels.Region == "" || o.Labels.Region == l.Region)
}

// Change is one state of a watched cluster.
type Change struct {
	// Cluster is the cluster's state; nil when Gone or Err is set.
	Cluster *Cluster
	// Gone reports that the cluster does not exist (deleted, or not created yet).
	Gone bool
	// Err reports that the watch broke; the channel closes after it.
	Err error
}

// Scale sets the number of workers of a cluster through w's Scaler capability. A
// Writer without it gives an error wrapping errors.ErrUnsupported.
func Scale(ctx context.Context, w Writer, ref Ref, workers int32) error {
	s, ok := w.(Scaler)
	if !ok {
		return fmt.Errorf("provision: %T cannot scale clusters: %w", w, errors.ErrUnsupported)
	}
	if workers < 0 || workers > MaxWorkers {
		return fmt.Errorf("provision: scale %s: workers %d must be between 0 and %d: %w", ref, workers, MaxWorkers, ErrInvalid)
	}
	return s.Scale(ctx, ref, workers)
}

// Kubeconfig returns a REST config for the workload cluster through r's
// KubeconfigGetter capability. A Reader without it gives an error wrapping
// errors.ErrUnsupported. The config holds credentials: never log it.
func Kubeconfig(ctx context.Context, r Reader, ref Ref) (*rest.Config, error) {
	k, ok := r.(KubeconfigGetter)
	if !ok {
		return nil, fmt.Errorf("provision: %T cannot give kubeconfigs: %w", r, errors.ErrUnsupported)
	}
	return k.Kubeconfig(ctx, ref)
}

// Progress is what WaitReady reports after each change of the cluster.
type Progress struct {
	// Cluster is the cluster's current state.
	Cluster *Cluster
	// Message is Summary(Cluster), e.g. "control plane initialized after 84 s, 2/3
	// workers ready".
	Message string
}

// WaitOptions configures WaitReady and WaitDeleted. The zero value waits until ctx
// ends, without progress reports, on the real clock.
type WaitOptions struct {
	// Timeout bounds the wait on Clock; zero means no bound other than ctx.
	Timeout time.Duration
	// Progress, when set, is called (from the waiting goroutine) whenever the
	// summary of the cluster changes.
	Progress func(Progress)
	// Clock measures Timeout; nil means the real clock. Pass the fake clock of a
	// fake backend to time out in fake time.
	Clock clock.Clock
}

// WaitReady waits until the cluster is ready (IsReady) and returns it. It watches the
// cluster (no polling) and reports progress through opts.Progress. It fails with an
// error wrapping ErrNotReady when the cluster fails, or when ctx ends or opts.Timeout
// passes first (the error then says how far the cluster got, and also wraps ctx's
// error); with ErrNotFound when the cluster does not exist or is deleted.
func WaitReady(ctx context.Context, r Reader, ref Ref, opts WaitOptions) (*Cluster, error) {
	var last *Cluster
	err := watchUntil(ctx, r, ref, opts, func(ch Change) (bool, error) {
		if ch.Gone {
			return false, fmt.Errorf("provision: waiting for %s to be ready: cluster %w", ref, ErrNotFound)
		}
		last = ch.Cluster
		switch {
		case IsReady(ch.Cluster):
			return true, nil
		case ch.Cluster.Phase == PhaseFailed:
			return false, fmt.Errorf("provision: cluster %s failed: %s: %w", ref, Summary(ch.Cluster), ErrNotReady)
		}
		return false, nil
	})
	if err != nil {
		var w *watchwait.Ended
		if errors.As(err, &w) {
			state := "no state seen"
			if last != nil {
				state = Summary(last)
			}
			return last, fmt.Errorf("provision: cluster %s not ready (%s): %w: %w", ref, state, ErrNotReady, w.Cause)
		}
		return last, err
	}
	return last, nil
}

// WaitDeleted waits until the cluster no longer exists, watching it. It fails with an
// error wrapping ErrNotReady (and ctx's error) when ctx ends or opts.Timeout passes
// first.
func WaitDeleted(ctx context.Context, r Reader, ref Ref, opts WaitOptions) error {
	var last *Cluster
	err := watchUntil(ctx, r, ref, opts, func(ch Change) (bool, error) {
		last = ch.Cluster
		return ch.Gone, nil
	})
	var w *watchwait.Ended
	if errors.As(err, &w) {
		state := "no state seen"
		if last != nil {
			state = Summary(last)
		}
		return fmt.Errorf("provision: cluster %s still exists (%s): %w: %w", ref, state, ErrNotReady, w.Cause)
	}
	return err
}

// DeleteAndWait deletes the cluster and waits until it is gone.
func DeleteAndWait(ctx context.Context, p Provisioner, ref Ref, opts WaitOptions) error {
	if err := p.Delete(ctx, ref); err != nil {
		return err
	}
	return WaitDeleted(ctx, p, ref, opts)
}

// watchUntil watches ref and calls done with each change until done returns true or
// an error, ctx ends or the timeout passes (a *watchwait.Ended error). It reports
// progress when the summary of the cluster changes.
func watchUntil(ctx context.Context, r Reader, ref Ref, opts WaitOptions, done func(Change) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := r.Watch(ctx, ref)
	if err != nil {
		return fmt.Errorf("provision: watching %s: %w", ref, err)
	}
	lastMsg := ""
	return watchwait.Until(ctx, changes, opts.Timeout, opts.Clock, fmt.Errorf("provision: watching %s: the watch closed", ref),
		func(ch Change) (bool, error) {
			if ch.Err != nil {
				return false, fmt.Errorf("provision: watching %s: %w", ref, ch.Err)
			}
			if ch.Cluster != nil && opts.Progress != nil {
				if msg := Summary(ch.Cluster); msg != lastMsg {
					lastMsg = msg
					opts.Progress(Progress{Cluster: ch.Cluster, Message: msg})
				}
			}
			return done(ch)
		})
}
