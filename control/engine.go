package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"freezer/aws"
	"freezer/pipeline"
	"freezer/store"
)

// Lock order. Engine.mu guards only in-memory bookkeeping (running tasks,
// subscribers, the registration flag, the closed flag) and is never held
// across a call to Glacier, SQS, the catalog or the filesystem, nor while
// a subscriber runs. Catalog transactions are short and never wait on the
// network: decisions that need the network are taken before or after,
// and a write after long network work updates only the columns that work
// decided (no whole-row write-back). Across processes, claims in the
// catalog (claims.go) keep two engines off one archive or vault.

// Glacier is what the engine needs from Glacier.
type Glacier interface {
	pipeline.Uploader
	pipeline.OutputGetter
	ListVaults(ctx context.Context) ([]aws.Vault, error)
	CreateVault(ctx context.Context, vault string) (string, error)
	DeleteVault(ctx context.Context, vault string) error
	SetVaultNotifications(ctx context.Context, vault, topicARN string, events []string) error
	DeleteArchive(ctx context.Context, vault, archiveID string) error
	InitiateArchiveRetrieval(ctx context.Context, vault string, r aws.RetrievalRequest) (string, error)
	InitiateInventoryRetrieval(ctx context.Context, vault string, r aws.InventoryRequest) (string, error)
	DescribeJob(ctx context.Context, vault, jobID string) (aws.Job, error)
	ListJobs(ctx context.Context, vault string, f aws.JobFilter) ([]aws.Job, error)
}

// Queue is what the engine needs from SQS to hear about finished jobs.
type Queue interface {
	Receive(ctx context.Context, queueURL string, maxMessages int, wait, visibility time.Duration) ([]aws.Message, error)
	Delete(ctx context.Context, queueURL, receiptHandle string) error
}

// Options are the engine's dependencies and settings.
type Options struct {
	DB      *store.DB
	Glacier Glacier // nil: actions that need Glacier are refused
	Queue   Queue   // nil: job completion is found by polling DescribeJob

	DataDir   string // local archive files live in DataDir/archives/VAULT/NAME
	Threads   int    // transfers at once, across every task of the engine
	ChunkSize int64
	PollTime  time.Duration // SQS long-poll wait
	QueueURL  string
	SNSTopic  string
	// Settings are the flags and config-file values and the defaults the
	// front end resolved the settings from; the engine resolves them again
	// when a stored setting changes (in any process) and applies the
	// tunables. Zero: stored changes are not applied while it runs.
	Settings SettingsInput
	// FixedNotifications keeps QueueURL and SNSTopic whatever the stored
	// settings say (the in-process simulator has its own).
	FixedNotifications bool

	// Location names the Glacier account the engine talks to (endpoint,
	// region, account); vaults record it, and a vault recorded elsewhere
	// is refused. "" skips the check.
	Location string

	// Command says what this process is, for other processes' busy
	// messages and status ("mount /home/me/freezer", "archive create").
	Command string
	// Source names the front end in the error log: "cli", "mount",
	// "daemon", "ctl".
	Source string

	// JobPollMax caps the interval between DescribeJob polls while
	// waiting for a job (they start at a second and double). Default 5 min.
	JobPollMax time.Duration
	// UnknownVisibility is how long an SQS notification of a job this
	// catalog does not know stays hidden from this engine (it is left for
	// the client that made the job). Default 5 min.
	UnknownVisibility time.Duration
	// RefreshInterval is the least time between two refreshes of the
	// vault list from Glacier (Refresh with force=false). Default 1 min.
	RefreshInterval time.Duration
	// RecordBatch is how many of a new archive's files one catalog
	// transaction records (a bigger archive takes several). Default 10,000.
	RecordBatch int
	// EventInterval is how often the catalog is checked for other
	// processes' changes. Default 200 ms.
	EventInterval time.Duration

	Logger zerolog.Logger
	Now    func() time.Time
	Rand   io.Reader // key generation; crypto/rand when nil
}

// Engine carries out every action on vaults and archives. It is safe for
// use by many goroutines, and many engines (in one process or many) may
// share a catalog.
type Engine struct {
	*View
	o   Options
	log zerolog.Logger
	id  string // this engine in the catalog's engines table
	me  identity

	// ctx lives as long as the engine: tasks and background work run on
	// it, never on a caller's request context.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{} // transfers at once, across every task

	mu         sync.Mutex
	closed     bool
	registered bool
	running    map[int64]*Run
	subs       map[int]func([]Event)
	nextSub    int
	watching   bool          // the change watcher runs
	kick       chan struct{} // wakes the change watcher after our own commits
	jobWatch   *jobWatcher
	tun        Tunables // the settings in effect, changed by reloadSettings
}

// New returns an engine. Close it to stop its tasks and release its
// claims.
func New(o Options) *Engine {
	if o.Threads < 1 {
		o.Threads = 4
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 8 << 20
	}
	if o.JobPollMax <= 0 {
		o.JobPollMax = 5 * time.Minute
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Minute
	}
	if o.RecordBatch <= 0 {
		o.RecordBatch = defaultRecordBatch
	}
	if o.UnknownVisibility <= 0 {
		o.UnknownVisibility = 5 * time.Minute
	}
	if o.EventInterval <= 0 {
		o.EventInterval = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		o: o, log: o.Logger, id: newEngineID(), me: selfIdentity(),
		ctx: ctx, cancel: cancel,
		slots:   make(chan struct{}, o.Threads),
		running: map[int64]*Run{},
		subs:    map[int]func([]Event){},
		kick:    make(chan struct{}, 1),
	}
	e.tun = Tunables{Threads: o.Threads, ChunkSize: o.ChunkSize, PollTime: o.PollTime, QueueURL: o.QueueURL, SNSTopic: o.SNSTopic}
	e.View = newView(o.DB, o.Now, e.me, e.id)
	return e
}

// Tunables returns the settings in effect (they follow stored changes).
func (e *Engine) Tunables() Tunables { return e.tune() }

// tune returns the settings in effect.
func (e *Engine) tune() Tunables {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tun
}

// slotPool returns the channel of transfer slots in effect.
func (e *Engine) slotPool() chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.slots
}

// Close stops the engine: running tasks are interrupted (and say what
// resumes them), background work ends, and the engine's claims are
// released. It waits for all of that; ctx bounds the wait.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	defer e.View.Close()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stopping the engine: %w", ctx.Err())
	}
	return e.unregister(ctx)
}

// register records this engine in the catalog (once), so that its claims
// and tasks have an owner other processes can check, and starts renewing
// its lease.
func (e *Engine) register(ctx context.Context, tx *store.Tx) error {
	e.mu.Lock()
	done := e.registered
	e.mu.Unlock()
	if done {
		return nil
	}
	now := e.o.Now()
	return tx.PutEngine(ctx, store.Engine{ID: e.id, Host: e.me.host, BootID: e.me.bootID, PID: e.me.pid,
		PIDStart: e.me.pidStart, Command: e.o.Command, Started: now, Expires: now.Add(leaseTime)})
}

// markRegistered is called after the transaction holding register commits.
func (e *Engine) markRegistered() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.registered || e.closed {
		return
	}
	e.registered = true
	e.wg.Add(1)
	go e.renewLoop()
}

// renewLoop renews the engine's lease and writes its tasks' progress.
func (e *Engine) renewLoop() {
	defer e.wg.Done()
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	lastRenew, lastReap := e.o.Now(), e.o.Now()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-progress.C:
		}
		e.flushProgress(e.ctx)
		if e.o.Now().Sub(lastReap) >= time.Minute {
			lastReap = e.o.Now()
			if err := e.reapDead(e.ctx); err != nil && e.ctx.Err() == nil {
				e.log.Debug().Err(err).Msg("clearing dead processes")
			}
		}
		if e.o.Now().Sub(lastRenew) < leaseRenew {
			continue
		}
		lastRenew = e.o.Now()
		var ok bool
		err := e.o.DB.Update(e.ctx, func(tx *store.Tx) error {
			var err error
			ok, err = tx.RenewEngine(e.ctx, e.id, e.o.Now().Add(leaseTime))
			return err
		})
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn().Err(err).Msg("could not renew this process's lease in the catalog; will try again")
			}
			continue
		}
		if !ok {
			// Another process found us dead (our lease ran out: the
			// machine slept, or the catalog was unreachable) and took our
			// claims. What we run is no longer protected: stop it.
			e.log.Error().Msg("another process took over this process's claims after its lease ran out; stopping its tasks")
			e.interruptAll()
			e.mu.Lock()
			e.registered = false
			e.mu.Unlock()
			return
		}
	}
}

// unregister removes the engine from the catalog, releasing its claims.
func (e *Engine) unregister(ctx context.Context) error {
	e.mu.Lock()
	reg := e.registered
	e.registered = false
	e.mu.Unlock()
	if !reg {
		return nil
	}
	return e.o.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.RemoveEngine(ctx, e.id) })
}

// localPath is where an archive's local file lives.
func (e *Engine) localPath(vault, name string) string {
	return filepath.Join(e.o.DataDir, "archives", vault, name)
}

// tempDir holds builds and downloads in progress (same filesystem as the
// archives, so that installing is a rename).
func (e *Engine) tempDir() string { return filepath.Join(e.o.DataDir, "tmp") }

// hasLocal reports whether an archive's local file is really there.
func hasLocal(a store.Archive) bool {
	if a.LocalPath == "" {
		return false
	}
	st, err := os.Stat(a.LocalPath)
	return err == nil && st.Mode().IsRegular()
}

// notFound turns the catalog's ErrNotFound into the engine's.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return mark(ErrNotFound, err)
	}
	return err
}

// glacier returns the Glacier client, or a refusal when the engine has
// none (a catalog-only engine).
func (e *Engine) glacier() (Glacier, error) {
	if e.o.Glacier == nil {
		return nil, errors.New("this command works on the catalog only and cannot reach Glacier")
	}
	return e.o.Glacier, nil
}
