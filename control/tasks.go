package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"freezer/store"
)

// Tasks. Every long action (build, upload, download, inventory, extract)
// runs as a task: a row in the catalog that every process reads, written
// by its owner when it starts, about once a second while it runs, and
// when it ends. A request is checked (and its claims taken) on the
// caller's goroutine, so a refusal is the caller's error; the work then
// runs on the engine's own context, after waiting for one of the
// engine's --threads transfer slots.

// Task kinds.
const (
	TaskCreate    = "create"
	TaskUpload    = "upload"
	TaskDownload  = "download"
	TaskInventory = "inventory"
	TaskExtract   = "extract"
)

// Run is a running task as its work sees it: the phase it is in and the
// bytes done. Its methods are safe from many goroutines.
type Run struct {
	id      int64
	kind    string
	vault   string
	archive string
	resume  string
	cancel  context.CancelFunc
	done    chan struct{}
	claims  *claimSet // the task's claims; released when it ends, or earlier by the work
	slots   poolSlots // the pool the task holds a slot of; its extra transfers take more

	cancelled atomic.Bool // someone asked to stop it (not the engine closing)
	started   atomic.Bool
	bytes     atomic.Int64

	mu      sync.Mutex
	phase   string
	total   int64
	samples []sample // bytes done at recent flushes, for the rate
}

type sample struct {
	at    time.Time
	bytes int64
}

// ID is the task's id.
func (r *Run) ID() int64 { return r.id }

// resumeWith changes what resumes the task from here on (a create whose
// archive is recorded resumes as an upload).
func (r *Run) resumeWith(line string) {
	r.mu.Lock()
	r.resume = line
	r.mu.Unlock()
}

func (r *Run) resumeLine() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resume
}

// Phase starts a new phase of the task with total bytes to do (0 when
// unknown); bytes done start again from zero.
func (r *Run) Phase(phase string, total int64) {
	r.mu.Lock()
	r.phase, r.total, r.samples = phase, total, nil
	r.bytes.Store(0)
	r.mu.Unlock()
}

// Add counts n more bytes done.
func (r *Run) Add(n int64) { r.bytes.Add(n) }

// rateWindow is how far back the rate looks: long enough to smooth a
// burst, short enough to follow a change of speed.
const rateWindow = 5 * time.Second

// progress reads the figures to write, measuring the rate only over real
// time passed (at least a second), so a first burst never reads as an
// absurd speed.
func (r *Run) progress(now time.Time) store.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := r.bytes.Load()
	r.samples = append(r.samples, sample{at: now, bytes: done})
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) >= rateWindow {
		r.samples = r.samples[1:]
	}
	var rate float64
	if first := r.samples[0]; now.Sub(first.at) >= time.Second {
		rate = float64(done-first.bytes) / now.Sub(first.at).Seconds()
	}
	return store.Progress{ID: r.id, Phase: r.phase, BytesDone: done, BytesTotal: r.total, Rate: max(rate, 0), Resume: r.resume}
}

// taskSpec is a task about to start.
type taskSpec struct {
	kind    string
	vault   string
	archive string
	phase   string
	total   int64
	// resume is the control line that resumes or repeats the task.
	resume string
	// claims are released when the task ends, in the transaction that
	// records its end.
	claims *claimSet
	run    func(ctx context.Context, r *Run) (result string, err error)
}

// start records a task and runs it in the background. The claims in spec
// are the task's from now on: start releases them itself when it fails.
func (e *Engine) start(ctx context.Context, spec taskSpec) (int64, error) {
	var id int64
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		if err := e.register(ctx, tx); err != nil {
			return err
		}
		var err error
		id, err = tx.InsertTask(ctx, store.Task{Kind: spec.kind, Vault: spec.vault, Archive: spec.archive, Phase: spec.phase,
			State: store.TaskQueued, BytesTotal: spec.total, EngineID: e.id, OwnerHost: e.me.host, OwnerPID: e.me.pid,
			Command: e.o.Command, Resume: spec.resume, Request: spec.resume})
		if err != nil {
			return err
		}
		if spec.claims != nil {
			for _, r := range spec.claims.resources {
				if err := tx.SetClaimTask(ctx, r, e.id, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		spec.claims.Release()
		return 0, err
	}
	e.markRegistered()
	tctx, cancel := context.WithCancel(e.ctx)
	r := &Run{id: id, kind: spec.kind, vault: spec.vault, archive: spec.archive, resume: spec.resume,
		cancel: cancel, done: make(chan struct{}), phase: spec.phase, total: spec.total, claims: spec.claims}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		cancel()
		e.finish(r, spec, "", mark(ErrInterrupted, errors.New("freezer is stopping")))
		return id, nil
	}
	e.running[id] = r
	e.wg.Add(1)
	e.mu.Unlock()
	e.changed()
	go func() {
		defer e.wg.Done()
		defer cancel()
		result, err := e.runTask(tctx, r, spec)
		e.finish(r, spec, result, err)
	}()
	return id, nil
}

func (e *Engine) runTask(ctx context.Context, r *Run, spec taskSpec) (string, error) {
	slots := e.slotPool()
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-slots }()
	r.slots = poolSlots(slots)
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.StartTask(ctx, r.id, spec.phase) })
	if err != nil {
		return "", err
	}
	r.started.Store(true)
	e.changed()
	return spec.run(ctx, r)
}

// finish records a task's end and releases its claims in one
// transaction, then wakes whoever waits for it.
func (e *Engine) finish(r *Run, spec taskSpec, result string, err error) {
	ctx := context.WithoutCancel(e.ctx)
	p := r.progress(e.o.Now())
	t := store.Task{ID: r.id, Phase: p.Phase, BytesDone: p.BytesDone, BytesTotal: p.BytesTotal, Rate: p.Rate,
		State: store.TaskDone, Result: result, Resume: r.resumeLine()}
	if err != nil {
		if errors.Is(err, context.Canceled) && !errors.Is(err, ErrInterrupted) {
			err = mark(ErrInterrupted, err)
		}
		t.State, t.Error, t.ErrorKind = store.TaskFailed, err.Error(), KindOf(err)
		switch {
		case r.cancelled.Load() && errors.Is(err, ErrInterrupted):
			t.State, t.Error = store.TaskCancelled, "cancelled"
		case errors.Is(err, ErrInterrupted):
			t.State, t.Error = store.TaskInterrupted, "interrupted: freezer stopped before it finished"
		}
	}
	werr := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.FinishTask(ctx, t); err != nil {
			return err
		}
		if spec.claims != nil {
			if err := spec.claims.release(ctx, tx); err != nil {
				return err
			}
		}
		if t.State == store.TaskFailed {
			return tx.LogError(ctx, store.ErrorEntry{Source: e.o.Source, Command: t.Resume, Kind: t.ErrorKind,
				Message: fmt.Sprintf("task %d: %s", r.id, t.Error)})
		}
		return nil
	})
	if werr != nil {
		e.log.Error().Err(werr).Int64("task", r.id).Msg("could not record the end of a task; other processes will see it interrupted")
	} else if spec.claims != nil {
		spec.claims.once.Do(func() {})
	}
	if spec.claims != nil {
		spec.claims.Release() // no-op when released above
	}
	ev := e.log.Info()
	if t.State == store.TaskFailed {
		ev = e.log.Warn().Str("error", t.Error)
	}
	ev.Int64("task", r.id).Str("kind", r.kind).Str("vault", r.vault).Str("archive", r.archive).Str("state", t.State).Msg("task ended")
	e.mu.Lock()
	delete(e.running, r.id)
	e.mu.Unlock()
	close(r.done)
	e.changed()
}

// flushProgress writes the figures of running tasks, and stops those
// someone asked (from any process) to cancel.
func (e *Engine) flushProgress(ctx context.Context) {
	e.mu.Lock()
	runs := make([]*Run, 0, len(e.running))
	for _, r := range e.running {
		if r.started.Load() {
			runs = append(runs, r)
		}
	}
	e.mu.Unlock()
	if len(runs) == 0 {
		return
	}
	now := e.o.Now()
	ps := make([]store.Progress, len(runs))
	for i, r := range runs {
		ps[i] = r.progress(now)
	}
	var cancel []int64
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		cancel, err = tx.SetProgress(ctx, ps)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Debug().Err(err).Msg("could not write task progress")
		}
		return
	}
	for _, id := range cancel {
		e.cancelLocal(id)
	}
	e.changed()
}

// cancelLocal stops a task this engine runs; false if it runs none such.
func (e *Engine) cancelLocal(id int64) bool {
	e.mu.Lock()
	r := e.running[id]
	e.mu.Unlock()
	if r == nil {
		return false
	}
	r.cancelled.Store(true)
	r.cancel()
	return true
}

// interruptAll stops every task this engine runs.
func (e *Engine) interruptAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.running {
		r.cancel()
	}
}

// CancelTask stops a task, whichever process runs it: this engine's at
// once, another's at its next progress write (within about a second).
func (e *Engine) CancelTask(ctx context.Context, id int64) error {
	if e.cancelLocal(id) {
		return nil
	}
	var ok bool
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Task(ctx, id); err != nil {
			return err
		}
		var err error
		ok, err = tx.RequestCancel(ctx, id)
		return err
	})
	if err != nil {
		return dress(fmt.Sprintf("task %d", id), err)
	}
	if !ok {
		return refuse(ErrInvalid, "task %d has already ended", id)
	}
	return nil
}

// Wait returns once the task has ended (done, failed, cancelled, or
// interrupted because its process died), with the task as it ended; the
// task's own failure is in TaskInfo.Err, not in the error returned, which
// says only that waiting failed. It works for the tasks of every process.
func (e *Engine) Wait(ctx context.Context, id int64) (TaskInfo, error) {
	for {
		t, err := e.Task(ctx, id)
		if err != nil {
			return TaskInfo{}, err
		}
		if t.Ended() {
			return t, nil
		}
		e.mu.Lock()
		r := e.running[id]
		e.mu.Unlock()
		wait := 250 * time.Millisecond
		if r != nil {
			wait = time.Minute
		}
		var done chan struct{}
		if r != nil {
			done = r.done
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-done:
		case <-time.After(wait):
		}
	}
}

// Running reports the live figures of a task this engine runs (fresher
// than the catalog's, which are written once a second); ok is false for
// tasks of other engines or ended ones.
func (e *Engine) Running(id int64) (p store.Progress, ok bool) {
	e.mu.Lock()
	r := e.running[id]
	e.mu.Unlock()
	if r == nil {
		return store.Progress{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return store.Progress{ID: id, Phase: r.phase, BytesDone: r.bytes.Load(), BytesTotal: r.total, Resume: r.resume}, true
}

// poolSlots lets a task's extra transfers take slots of the pool its own
// slot came from (pipeline.Slots): every transfer of every task counts
// against --threads.
type poolSlots chan struct{}

// Acquire waits for a free slot.
func (p poolSlots) Acquire(ctx context.Context) error {
	select {
	case p <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives a slot back.
func (p poolSlots) Release() { <-p }
