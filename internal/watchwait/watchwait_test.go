package watchwait

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestUntil(t *testing.T) {
	ctx := context.Background()
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	ch <- 3
	var seen []int
	err := Until(ctx, ch, 0, nil, errors.New("closed"), func(v int) (bool, error) {
		seen = append(seen, v)
		return v == 2, nil
	})
	if err != nil || len(seen) != 2 {
		t.Errorf("done at 2: err %v, seen %v", err, seen)
	}
	boom := errors.New("boom")
	if err := Until(ctx, ch, 0, nil, nil, func(int) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("step error = %v", err)
	}
	close(ch)
	closed := errors.New("the watch closed")
	if err := Until(ctx, ch, 0, nil, closed, func(int) (bool, error) { return false, nil }); !errors.Is(err, closed) {
		t.Errorf("closed channel = %v", err)
	}

	// Timeout on a fake clock.
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	never := make(chan int)
	done := make(chan error, 1)
	go func() {
		done <- Until(ctx, never, time.Minute, clk, nil, func(int) (bool, error) { return false, nil })
	}()
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clk.Step(time.Minute)
	var e *Ended
	if err := <-done; !errors.As(err, &e) || !errors.Is(e.Cause, ErrTimeout) {
		t.Errorf("timeout = %v, want *Ended wrapping ErrTimeout", err)
	}

	// Cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Until(cctx, never, 0, nil, nil, func(int) (bool, error) { return false, nil }); !errors.As(err, &e) || !errors.Is(e.Cause, context.Canceled) {
		t.Errorf("cancelled = %v", err)
	}
}
