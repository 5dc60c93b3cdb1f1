package pipeline

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// TestRunWorkersWithNoSlotFree: when every slot is held (other tasks, each
// on its own slot, waiting for theirs), the first worker still does all
// the work and the extra workers give up their wait when it is done,
// instead of waiting for each other forever.
func TestRunWorkersWithNoSlotFree(t *testing.T) {
	full := make(chanSlots, 1)
	full <- struct{}{} // taken by another task for good
	items := make(chan int)
	go func() {
		for i := range 10 {
			items <- i
		}
		close(items)
	}()
	var done atomic.Int32
	grp, ctx := errgroup.WithContext(context.Background())
	runWorkers(ctx, grp, 4, full, items, func(context.Context, int) error { done.Add(1); return nil })
	finished := make(chan error, 1)
	go func() { finished <- grp.Wait() }()
	select {
	case err := <-finished:
		if err != nil || done.Load() != 10 {
			t.Fatalf("%d items done, %v", done.Load(), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("workers waiting for a slot never gave up")
	}
}

type chanSlots chan struct{}

func (c chanSlots) Acquire(ctx context.Context) error {
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c chanSlots) Release() { <-c }
