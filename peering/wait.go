package peering

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/watchwait"
)

// WaitOptions configures WaitPeered, WaitOffloaded and EnsurePeered. The zero value
// waits until ctx ends, without progress reports, on the real clock.
type WaitOptions struct {
	// Timeout bounds the wait on Clock; zero means no bound other than ctx.
	Timeout time.Duration
	// Progress, when set, is called from the waiting goroutine whenever the one-line
	// summary changes (Summary or OffloadingSummary).
	Progress func(message string)
	// Clock measures Timeout; nil means the real clock. Pass a fake backend's clock
	// to time out in fake time.
	Clock clock.Clock
}

// WaitPeered waits until the peering k is ready (IsPeered) and returns it. It
// watches the peering (no polling). It fails with an error wrapping ErrNotReady
// (and ctx's error) when ctx ends or opts.Timeout passes first, saying how far the
// peering got; with ErrNotFound when the peering does not exist or goes away.
func WaitPeered(ctx context.Context, r PeeringReader, k Key, opts WaitOptions) (*Peering, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := r.WatchPeering(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("peering: watching peering %s: %w", k, err)
	}
	var last *Peering
	err = waitOn(ctx, changes, opts, func(ch PeeringChange) (string, bool, error) {
		switch {
		case ch.Err != nil:
			return "", false, fmt.Errorf("peering: watching peering %s: %w", k, ch.Err)
		case ch.Gone:
			return "", false, fmt.Errorf("peering: waiting for peering %s: %w", k, ErrNotFound)
		}
		last = ch.Peering
		if ch.Peering.Deleting {
			return Summary(last), false, fmt.Errorf("peering: waiting for peering %s: it is being deleted: %w", k, ErrNotReady)
		}
		return Summary(last), IsPeered(last), nil
	})
	var w *watchwait.Ended
	if errors.As(err, &w) {
		return last, fmt.Errorf("peering: peering %s not ready (%s): %w: %w", k, Summary(last), ErrNotReady, w.Cause)
	}
	return last, err
}

// WaitOffloaded waits until the namespace is offloaded to every target (IsOffloaded)
// and returns the offloading, watching it. Liqo's phases AllFailed and SomeFailed
// (when a target failed) end the wait with an error wrapping ErrNotReady, as do ctx
// and opts.Timeout; a namespace not offloaded gives ErrNotFound.
func WaitOffloaded(ctx context.Context, r OffloadingReader, ref NamespaceRef, opts WaitOptions) (*Offloading, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := r.WatchOffloading(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("peering: watching offloading %s: %w", ref, err)
	}
	var last *Offloading
	err = waitOn(ctx, changes, opts, func(ch OffloadingChange) (string, bool, error) {
		switch {
		case ch.Err != nil:
			return "", false, fmt.Errorf("peering: watching offloading %s: %w", ref, ch.Err)
		case ch.Gone:
			return "", false, fmt.Errorf("peering: waiting for offloading %s: %w", ref, ErrNotFound)
		}
		last = ch.Offloading
		msg := OffloadingSummary(last)
		if last.Current && (last.Phase == PhaseAllFailed || last.Phase == PhaseTerminating) {
			return msg, false, fmt.Errorf("peering: offloading %s: %s: %w", ref, msg, ErrNotReady)
		}
		return msg, IsOffloaded(last), nil
	})
	var w *watchwait.Ended
	if errors.As(err, &w) {
		return last, fmt.Errorf("peering: offloading %s not ready (%s): %w: %w", ref, OffloadingSummary(last), ErrNotReady, w.Cause)
	}
	return last, err
}

// EnsurePeered peers req.Consumer with req.Provider unless they are peered already
// with the same resources, then waits until the peering is ready. Running it again
// writes nothing. An existing peering that asks for other resources gives an error
// wrapping ErrAlreadyPeered (Unpeer first).
func EnsurePeered(ctx context.Context, p interface {
	Peerer
	PeeringReader
}, req PeerRequest, opts WaitOptions) (*Peering, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	cur, err := p.GetPeering(ctx, req.Key)
	switch {
	case isNotFound(err):
		if err := p.Peer(ctx, req); err != nil && !errors.Is(err, ErrAlreadyPeered) {
			return nil, err
		}
	case err != nil:
		return nil, err
	case cur.Deleting:
		return cur, fmt.Errorf("peering: ensure peering %s: it is being deleted; wait and peer again: %w", req.Key, ErrNotReady)
	case !cur.Resources.Equal(req.Resources):
		return cur, fmt.Errorf("peering: ensure peering %s: it exists with other resources; unpeer first to change them: %w", req.Key, ErrAlreadyPeered)
	}
	return WaitPeered(ctx, p, req.Key, opts)
}

// waitOn reads changes until step says done or fails, ctx ends or the timeout
// passes (a *watchwait.Ended error). step returns the progress message of the change,
// reported when it changes.
func waitOn[C any](ctx context.Context, changes <-chan C, opts WaitOptions, step func(C) (string, bool, error)) error {
	last := ""
	return watchwait.Until(ctx, changes, opts.Timeout, opts.Clock, errors.New("peering: the watch closed"), func(ch C) (bool, error) {
		msg, done, err := step(ch)
		if msg != "" && msg != last && opts.Progress != nil {
			last = msg
			opts.Progress(msg)
		}
		return done, err
	})
}
