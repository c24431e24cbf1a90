package liqo

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchSource is one list the state of a watched object depends on.
type watchSource struct {
	c    client.WithWatch
	list client.ObjectList
	opts []client.ListOption
}

// watchState watches every source and sends read()'s result first and then after
// every event that changes it (coalescing bursts). A watch the apiserver ends is
// started again. A read failure, or a watch that cannot be started again, is sent
// through fail and ends the stream; the channel closes when ctx ends.
func watchState[C any](ctx context.Context, sources []watchSource, read func(context.Context) (C, error), fail func(error) C, same func(a, b C) bool) (<-chan C, error) {
	ctx, cancel := context.WithCancel(ctx)
	watchers := make([]watch.Interface, 0, len(sources))
	for _, s := range sources {
		w, err := s.c.Watch(ctx, s.list, s.opts...)
		if err != nil {
			cancel()
			for _, w := range watchers {
				w.Stop()
			}
			return nil, fmt.Errorf("liqo: watching %T: %w", s.list, err)
		}
		watchers = append(watchers, w)
	}
	poke := make(chan struct{}, 1)
	broken := make(chan error, 1)
	var wg sync.WaitGroup
	for i, w := range watchers {
		wg.Go(func() {
			defer func() { w.Stop() }()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok || ev.Type == watch.Error {
						// The apiserver ends watches after a while (and on errors
						// such as a compacted resource version): watch again, and
						// re-read, since events in between are lost.
						w.Stop()
						nw, err := sources[i].c.Watch(ctx, sources[i].list, sources[i].opts...)
						if err != nil {
							if ctx.Err() == nil {
								select {
								case broken <- fmt.Errorf("liqo: watching %T again: %w", sources[i].list, err):
								default:
								}
							}
							return
						}
						w = nw
					}
					select {
					case poke <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	out := make(chan C)
	go func() {
		defer close(out)
		defer wg.Wait()
		defer cancel()
		send := func(v C) bool {
			select {
			case out <- v:
				return true
			case <-ctx.Done():
				return false
			}
		}
		var last C
		first := true
		for {
			v, err := read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					send(fail(err))
				}
				return
			}
			if first || !same(last, v) {
				if !send(v) {
					return
				}
				first, last = false, v
			}
			select {
			case <-ctx.Done():
				return
			case err := <-broken:
				send(fail(err))
				return
			case <-poke:
			}
		}
	}()
	return out, nil
}
