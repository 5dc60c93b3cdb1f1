package control

import (
	"context"
	"time"

	"freezer/store"
)

// Change events. Triggers in the catalog log every change to vaults,
// archives, jobs, tasks, settings and keys, whichever process commits it
// (store.ChangeReader). One goroutine per engine follows that log — at
// once after this engine's own commits, and every EventInterval for the
// others' (SQLite's data_version makes an idle look nearly free) — and
// hands subscribers what changed. It also fires when a retrieval job's
// output expires (melted → frozen), at that moment. Subscribers are called
// from that goroutine, one batch at a time, never under a lock.

// Event kinds.
const (
	EventVault    = "vault"
	EventArchive  = "archive"
	EventJob      = "job"
	EventTask     = "task"
	EventSettings = "settings"
	EventKeys     = "keys"
	EventError    = "error"
	// EventAll says that anything may have changed (the change log was
	// pruned past what this engine had read).
	EventAll = "all"
)

// Event says what changed.
type Event struct {
	Kind    string
	Vault   string
	Archive string
	Task    int64
	Job     string
}

// Subscribe calls fn with each batch of changes, from any process, until
// the returned function is called or the engine closes. fn runs on the
// engine's event goroutine: it must not block for long.
func (e *Engine) Subscribe(fn func([]Event)) (unsubscribe func()) {
	e.mu.Lock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = fn
	start := !e.watching && !e.closed
	if start {
		e.watching = true
		e.wg.Add(1)
	}
	e.mu.Unlock()
	if start {
		go e.watchChanges()
	}
	return func() {
		e.mu.Lock()
		delete(e.subs, id)
		e.mu.Unlock()
	}
}

// changed wakes the change watcher after a commit of this engine, so
// that its own subscribers hear at once.
func (e *Engine) changed() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) watchChanges() {
	defer e.wg.Done()
	var r *store.ChangeReader
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	tick := time.NewTicker(e.o.EventInterval)
	defer tick.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	var nextExpiry time.Time
	lastExpiryCheck := e.o.Now()
	planExpiry := func() {
		t, err := e.o.DB.NextExpiry(e.ctx, lastExpiryCheck)
		if err != nil {
			return
		}
		nextExpiry = t
		d := time.Hour
		if !t.IsZero() {
			d = min(max(t.Sub(e.o.Now()), 0), time.Hour)
		}
		expiry.Reset(d)
	}
	for {
		if r == nil {
			var err error
			if r, err = e.o.DB.NewChangeReader(e.ctx); err != nil {
				if e.ctx.Err() != nil {
					return
				}
				e.log.Warn().Err(err).Msg("cannot follow the catalog's changes; trying again")
				select {
				case <-e.ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			planExpiry()
		}
		fired := false
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		case <-e.kick:
		case <-expiry.C:
			fired = true
		}
		changes, lost, err := r.Next(e.ctx)
		if err != nil {
			if e.ctx.Err() != nil {
				return
			}
			e.log.Debug().Err(err).Msg("reading the catalog's change log")
			continue
		}
		events := toEvents(changes, lost)
		jobsChanged := lost
		settingsChanged := lost
		for _, ev := range events {
			jobsChanged = jobsChanged || ev.Kind == EventJob
			settingsChanged = settingsChanged || ev.Kind == EventSettings
		}
		now := e.o.Now()
		if fired || (!nextExpiry.IsZero() && !now.Before(nextExpiry)) {
			jobs, err := e.o.DB.ExpiringJobs(e.ctx, lastExpiryCheck, now)
			if err == nil {
				lastExpiryCheck = now
				for _, j := range jobs {
					events = append(events, Event{Kind: EventJob, Vault: j.Vault, Archive: j.Archive, Job: j.ID})
					if j.Archive != "" {
						events = append(events, Event{Kind: EventArchive, Vault: j.Vault, Archive: j.Archive})
					}
				}
			}
			jobsChanged = true
		}
		if jobsChanged {
			planExpiry()
		}
		if settingsChanged {
			e.reloadSettings()
		}
		if len(events) > 0 {
			e.deliver(events)
		}
	}
}

// toEvents turns change rows into events, each distinct change once.
func toEvents(changes []store.Change, lost bool) []Event {
	if lost {
		return []Event{{Kind: EventAll}}
	}
	seen := make(map[Event]bool, len(changes))
	var out []Event
	for _, c := range changes {
		ev := Event{Kind: c.Kind, Vault: c.Vault, Archive: c.Archive, Task: c.Task, Job: c.Job}
		if !seen[ev] {
			seen[ev] = true
			out = append(out, ev)
		}
		// A job's change is also its archive's: the state may follow.
		if c.Kind == EventJob && c.Archive != "" {
			a := Event{Kind: EventArchive, Vault: c.Vault, Archive: c.Archive}
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func (e *Engine) deliver(events []Event) {
	e.mu.Lock()
	subs := make([]func([]Event), 0, len(e.subs))
	for _, fn := range e.subs {
		subs = append(subs, fn)
	}
	e.mu.Unlock()
	for _, fn := range subs {
		fn(events)
	}
}

// reloadSettings applies settings stored by any process to this running
// engine: threads, chunk size, poll time, and the queue and topic unless
// they are fixed.
func (e *Engine) reloadSettings() {
	if e.o.Settings.Defaults == nil {
		return
	}
	all, err := e.Settings(e.ctx)
	if err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("a stored setting changed but could not be applied")
		}
		return
	}
	t := TunablesOf(all)
	e.mu.Lock()
	old := e.tun
	if e.o.FixedNotifications {
		t.QueueURL, t.SNSTopic = old.QueueURL, old.SNSTopic
	}
	if t.Threads < 1 {
		t.Threads = old.Threads
	}
	if t.ChunkSize == 0 {
		t.ChunkSize = old.ChunkSize
	}
	e.tun = t
	if t.Threads != old.Threads {
		// Tasks holding a slot of the old pool give it back there.
		e.slots = make(chan struct{}, t.Threads)
	}
	e.mu.Unlock()
	if t != old {
		e.log.Info().Int("threads", t.Threads).Int64("chunk_size", t.ChunkSize).Dur("poll_time", t.PollTime).
			Str("queue", t.QueueURL).Str("sns_topic", t.SNSTopic).Msg("settings changed; applied")
	}
}

// waitEvent returns when an event matching pred arrives, ctx ends, or
// timeout passes (whichever first); it reports whether an event matched.
func (e *Engine) waitEvent(ctx context.Context, timeout time.Duration, pred func(Event) bool) bool {
	hit := make(chan struct{}, 1)
	unsub := e.Subscribe(func(evs []Event) {
		for _, ev := range evs {
			if ev.Kind == EventAll || pred(ev) {
				select {
				case hit <- struct{}{}:
				default:
				}
				return
			}
		}
	})
	defer unsub()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-hit:
		return true
	case <-ctx.Done():
	case <-e.ctx.Done():
	case <-t.C:
	}
	return false
}
