package control

import (
	"errors"
	"time"

	"freezer/aws"
	"freezer/store"
)

// The job watcher: one per engine, started by Watch. It hears of finished
// Glacier jobs two ways — SQS notifications (long polls of --queue) and
// DescribeJob polls of every job the catalog has in progress, each on its
// own backoff from a second up to JobPollMax (a lost or never configured
// notification only delays the news) — and records what it hears. When
// asked (daemon, mount) it also acts: a succeeded retrieval whose archive
// has no local copy is downloaded (a task, under the archive's claim; an
// archive another process holds is left to it), and a finished inventory
// is applied. It finds such jobs at start too. Notifications of jobs this
// catalog does not know stay in the queue for the client that made them
// (they come back only after their visibility timeout, so there is no
// busy loop). Transient failures are logged and retried with capped
// backoff; the watcher ends only with the engine. It schedules with the
// wall clock only (time.Timer); Options.Now only stamps what it records.

// WatchOptions say what the watcher does beyond recording.
type WatchOptions struct {
	// Download starts the download of every succeeded retrieval whose
	// archive has no local copy.
	Download bool
	// ApplyInventories applies every finished inventory job.
	ApplyInventories bool
}

type jobWatcher struct {
	opts WatchOptions
	poke chan struct{}
}

// Watch starts the job watcher (once; later calls can only turn more
// options on). It runs until the engine closes.
func (e *Engine) Watch(o WatchOptions) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.jobWatch != nil {
		e.jobWatch.opts.Download = e.jobWatch.opts.Download || o.Download
		e.jobWatch.opts.ApplyInventories = e.jobWatch.opts.ApplyInventories || o.ApplyInventories
		return
	}
	w := &jobWatcher{opts: o, poke: make(chan struct{}, 1)}
	e.jobWatch = w
	e.wg.Add(1)
	go e.watchJobs(w)
}

// pollSoon makes the job watcher look at the catalog again now (a job was
// just requested).
func (e *Engine) pollSoon() {
	e.mu.Lock()
	w := e.jobWatch
	e.mu.Unlock()
	if w != nil {
		select {
		case w.poke <- struct{}{}:
		default:
		}
	}
}

func (e *Engine) watchOptions() WatchOptions {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobWatch == nil {
		return WatchOptions{}
	}
	return e.jobWatch.opts
}

// pollState is one job's DescribeJob schedule.
type pollState struct {
	next     time.Time
	interval time.Duration
}

func (e *Engine) watchJobs(w *jobWatcher) {
	defer e.wg.Done()
	polls := map[string]*pollState{}
	failures := map[string]*pollState{} // downloads and applies that failed, on backoff
	var queueRetry time.Time            // after a failure, when to read the queue again
	queueBackoff := time.Second
	for e.ctx.Err() == nil {
		e.actOnReady(failures)
		wait := e.pollJobs(polls)
		if e.o.Queue != nil && e.tune().QueueURL != "" && e.tune().PollTime > 0 && !time.Now().Before(queueRetry) {
			start := time.Now()
			if _, err := e.receive(min(e.tune().PollTime, max(wait, time.Second))); err != nil {
				if e.ctx.Err() != nil {
					return
				}
				e.log.Warn().Err(err).Dur("retry_in", queueBackoff).Msg("reading the SQS queue failed; asking Glacier about jobs directly meanwhile")
				queueRetry = time.Now().Add(queueBackoff)
				queueBackoff = min(queueBackoff*2, time.Minute)
			} else {
				queueBackoff = time.Second
			}
			if time.Since(start) >= time.Second {
				continue // the long poll was the wait
			}
			wait = min(wait, time.Second)
		}
		select {
		case <-e.ctx.Done():
			return
		case <-w.poke:
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
	}
}

// pollJobs asks Glacier about every job in progress whose turn has come
// and returns how long until the next turn.
func (e *Engine) pollJobs(polls map[string]*pollState) time.Duration {
	pending, err := e.o.DB.PendingJobs(e.ctx)
	if err != nil {
		e.log.Debug().Err(err).Msg("reading pending jobs")
		return 5 * time.Second
	}
	now := time.Now()
	live := map[string]bool{}
	wait := e.o.JobPollMax
	for _, j := range pending {
		live[j.ID] = true
		p := polls[j.ID]
		if p == nil {
			p = &pollState{next: now, interval: time.Second}
			polls[j.ID] = p
		}
		if now.Before(p.next) {
			wait = min(wait, p.next.Sub(now))
			continue
		}
		if _, err := e.refreshJob(e.ctx, j); err != nil && e.ctx.Err() == nil {
			e.log.Warn().Err(err).Str("job", j.ID).Msg("could not ask Glacier about a job; will try again")
		}
		p.next = time.Now().Add(p.interval)
		wait = min(wait, p.interval)
		p.interval = min(p.interval*2, e.o.JobPollMax)
	}
	for id := range polls {
		if !live[id] {
			delete(polls, id)
		}
	}
	return wait
}

// receive long-polls the SQS queue once and records every notification of
// a job the catalog knows (deleting its message, unless the job is another
// client's), or adopts (adoptJob); it returns how many messages came.
func (e *Engine) receive(wait time.Duration) (int, error) {
	msgs, err := e.o.Queue.Receive(e.ctx, e.tune().QueueURL, 10, wait, e.o.UnknownVisibility)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		rj, err := aws.ParseJobNotification(m.Body)
		if err != nil {
			e.log.Warn().Err(err).Str("message", m.ID).Msg("SQS message is not a Glacier job notification; deleting it")
			if err := e.o.Queue.Delete(e.ctx, e.tune().QueueURL, m.ReceiptHandle); err != nil {
				return len(msgs), err
			}
			continue
		}
		j, err := e.o.DB.Job(e.ctx, rj.ID)
		if errors.Is(err, store.ErrNotFound) {
			if !e.adoptJob(rj) {
				e.log.Debug().Str("job", rj.ID).Msg("notification for a job this catalog does not know; leaving it for its owner")
			}
			continue
		}
		if err != nil {
			return len(msgs), err
		}
		if _, err := e.recordJob(e.ctx, j, rj); err != nil {
			return len(msgs), err
		}
		if j.Foreign {
			continue // another client's job: the message is its requester's
		}
		if err := e.o.Queue.Delete(e.ctx, e.tune().QueueURL, m.ReceiptHandle); err != nil {
			return len(msgs), err
		}
	}
	return len(msgs), nil
}

// actOnReady starts downloads of succeeded retrievals and applies finished
// inventories, when the watcher was asked to.
func (e *Engine) actOnReady(failures map[string]*pollState) { e.actOn(e.watchOptions(), failures) }

// actOn is actOnReady with the options given; it returns the tasks it
// started. Only jobs the watcher wants (wantsOutput) are acted on, and a
// download never requests a retrieval (downloadRequest).
func (e *Engine) actOn(o WatchOptions, failures map[string]*pollState) []int64 {
	if !o.Download && !o.ApplyInventories {
		return nil
	}
	ready, err := e.o.DB.ReadyJobs(e.ctx, e.o.Now())
	if err != nil {
		e.log.Debug().Err(err).Msg("reading finished jobs")
		return nil
	}
	var started []int64
	now := time.Now()
	for _, j := range ready {
		if f := failures[j.ID]; f != nil && now.Before(f.next) {
			continue
		}
		if !wantsOutput(j) {
			continue
		}
		var req Request
		switch {
		case j.Action == store.ActionArchiveRetrieval && o.Download && j.Archive != "":
			info, err := e.Archive(e.ctx, j.Vault, j.Archive)
			if err != nil || info.Local || info.State != store.StateMelted || info.Job == nil || info.Job.ID != j.ID {
				continue
			}
			req = &downloadRequest{Vault: j.Vault, Name: j.Archive, Job: j.ID}
		case j.Action == store.ActionInventoryRetrieval && o.ApplyInventories:
			req = &InventoryRequest{Vault: j.Vault}
		default:
			continue
		}
		reps, err := e.Do(e.ctx, req)
		if err == nil && reps[0].Err == nil {
			delete(failures, j.ID)
			if reps[0].Task != 0 {
				started = append(started, reps[0].Task)
			}
			continue
		}
		if err == nil {
			err = reps[0].Err
		}
		if errors.Is(err, ErrBusy) {
			continue // another task or process is on it
		}
		f := failures[j.ID]
		if f == nil {
			f = &pollState{interval: time.Minute}
			failures[j.ID] = f
		} else {
			f.interval = min(f.interval*2, time.Hour)
		}
		f.next = now.Add(f.interval)
		if e.ctx.Err() == nil {
			e.log.Warn().Err(err).Str("job", j.ID).Dur("retry_in", f.interval).Msg("could not act on a finished job; will try again")
		}
	}
	return started
}
