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

// Lock order: Engine.mu guards only the busy set and is never held across
// a call to Glacier, SQS, the catalog or the filesystem. Catalog
// transactions are short and never wait on the network.

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
}

// Queue is what the engine needs from SQS to hear about finished jobs.
type Queue interface {
	Receive(ctx context.Context, queueURL string, maxMessages int, wait, visibility time.Duration) ([]aws.Message, error)
	Delete(ctx context.Context, queueURL, receiptHandle string) error
}

// Errors the front ends map to exit codes and errnos. Every error the
// engine returns for a refused request wraps one of them.
var (
	ErrInvalid    = errors.New("invalid request")              // EINVAL, exit 2
	ErrNotFound   = errors.New("not found")                    // ENOENT
	ErrExists     = errors.New("already exists")               // EEXIST
	ErrBusy       = errors.New("busy")                         // EBUSY
	ErrPermission = errors.New("refused without confirmation") // EPERM
)

// mark tags err with one of the kinds above without changing its message:
// errors.Is finds the kind, a person reads only what went wrong.
func mark(kind, err error) error { return kinded{err: err, kind: kind} }

type kinded struct{ err, kind error }

func (k kinded) Error() string   { return k.err.Error() }
func (k kinded) Unwrap() []error { return []error{k.err, k.kind} }

// Options are the engine's dependencies and settings.
type Options struct {
	DB      *store.DB
	Glacier Glacier
	Queue   Queue // nil: job completion is found by polling DescribeJob

	DataDir   string // local archive files live in DataDir/archives/VAULT/NAME
	Threads   int
	ChunkSize int64
	PollTime  time.Duration // SQS long-poll wait
	QueueURL  string
	SNSTopic  string

	// JobPollMax caps the interval between DescribeJob polls while
	// waiting for a job (they start at a second and double). Default 5 min.
	JobPollMax time.Duration

	Logger zerolog.Logger
	Now    func() time.Time
	Rand   io.Reader // key generation; crypto/rand when nil
	// Progress, when set, is told about long transfers so a terminal can
	// show a bar. It may be nil.
	Progress func(label string, total int64) Progress
}

// Progress receives bytes done for one transfer.
type Progress interface {
	Add(n int64)
	Done()
}

// Engine carries out every action on vaults and archives.
type Engine struct {
	o   Options
	log zerolog.Logger

	mu   sync.Mutex
	busy map[string]string // "vault/archive" → what is being done to it
}

// New returns an engine.
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
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{o: o, log: o.Logger, busy: map[string]string{}}
}

// claim marks an archive busy for the duration of an action; a second
// action on the same archive is refused with ErrBusy.
func (e *Engine) claim(vault, name, doing string) (release func(), err error) {
	k := vault + "/" + name
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur, ok := e.busy[k]; ok {
		return nil, mark(ErrBusy, fmt.Errorf("vault %s: archive %s is busy (%s)", vault, name, cur))
	}
	e.busy[k] = doing
	return func() {
		e.mu.Lock()
		delete(e.busy, k)
		e.mu.Unlock()
	}, nil
}

// localPath is where an archive's local file lives.
func (e *Engine) localPath(vault, name string) string {
	return filepath.Join(e.o.DataDir, "archives", vault, name)
}

// tempDir holds downloads in progress (same filesystem as the archives).
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

// progress returns the front end's progress sink for a transfer, or one
// that ignores everything.
func (e *Engine) progress(label string, total int64) Progress {
	if e.o.Progress != nil {
		if p := e.o.Progress(label, total); p != nil {
			return p
		}
	}
	return noProgress{}
}

type noProgress struct{}

func (noProgress) Add(int64) {}
func (noProgress) Done()     {}
