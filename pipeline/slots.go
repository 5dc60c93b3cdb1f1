package pipeline

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Slots bounds concurrent transfers across every task of an engine. The caller
// of Upload/Download already holds one slot for the task; the pipeline runs its
// first worker on that slot and acquires a slot per part/range for each extra
// worker (releasing it after that part), so a task always progresses and the
// total stays within the engine's bound.
type Slots interface {
	Acquire(ctx context.Context) error
	Release()
}

// runWorkers runs work on every item of items with up to threads workers in
// grp. The first worker runs on the caller's slot; each other one acquires a
// slot from slots (nil: none needed) before taking an item and releases it
// once that item is done. An error from work or from Acquire ends the group.
//
// An extra worker waiting for a slot gives up, without error, once the
// first worker has finished: otherwise tasks that each hold one slot and
// wait for their extra workers, which wait for a slot, would wait for each
// other forever.
func runWorkers[T any](ctx context.Context, grp *errgroup.Group, threads int, slots Slots, items <-chan T, work func(context.Context, T) error) {
	next := func() (T, bool, error) {
		select {
		case it, ok := <-items:
			return it, ok, nil
		case <-ctx.Done():
			var zero T
			return zero, false, ctx.Err()
		}
	}
	waitCtx, firstDone := context.WithCancel(ctx)
	worker := func(extra bool) error {
		for {
			if extra {
				if err := slots.Acquire(waitCtx); err != nil {
					if ctx.Err() == nil {
						return nil // the first worker is done: so is the work
					}
					return err
				}
			}
			it, ok, err := next()
			if err == nil && ok {
				err = work(ctx, it)
			}
			if extra {
				slots.Release()
			}
			if err != nil || !ok {
				return err
			}
		}
	}
	grp.Go(func() error {
		defer firstDone()
		return worker(false)
	})
	for range max(threads, 1) - 1 {
		grp.Go(func() error { return worker(slots != nil) })
	}
}
