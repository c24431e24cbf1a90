// Package watchwait is the wait loop shared by the watch-based helpers of continuum's
// packages (provision.WaitReady, peering.WaitPeered, ...): read a stream of changes
// until a step function says done, the context ends, or a timeout on an injected
// clock passes.
package watchwait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/utils/clock"
)

// Ended is the error of a wait that ran out of time or whose context ended; Cause is
// why. Callers turn it into their own "not ready" error saying how far things got.
type Ended struct{ Cause error }

// Error returns the cause's message.
func (e *Ended) Error() string { return e.Cause.Error() }

// ErrTimeout is the cause of a wait whose timeout passed.
var ErrTimeout = errors.New("wait timeout passed")

// Until reads changes until step returns done or an error, ctx ends, or timeout
// passes on clk (nil means the real clock; a zero timeout means none). Ending by ctx
// or timeout gives an *Ended; a channel closed while ctx is alive gives closed.
func Until[C any](ctx context.Context, changes <-chan C, timeout time.Duration, clk clock.Clock, closed error, step func(C) (done bool, err error)) error {
	var expired <-chan time.Time
	if timeout > 0 {
		if clk == nil {
			clk = clock.RealClock{}
		}
		t := clk.NewTimer(timeout)
		defer t.Stop()
		expired = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return &Ended{ctx.Err()}
		case <-expired:
			return &Ended{fmt.Errorf("%w after %s", ErrTimeout, timeout)}
		case ch, ok := <-changes:
			if !ok {
				if ctx.Err() != nil {
					return &Ended{ctx.Err()}
				}
				return closed
			}
			if done, err := step(ch); err != nil || done {
				return err
			}
		}
	}
}
