// Package sim is freezer's local Amazon Glacier simulator (vault API
// 2012-06-01). It serves Glacier's REST API over HTTP the way AWS does
// (paths, status codes, headers, JSON bodies, error bodies, SigV4
// authentication) and routes SQS and SNS requests to package notify, so the
// unmodified aws-sdk-go-v2 clients run against it with only the endpoint
// changed.
//
// Its worth is fidelity: it enforces Glacier's rules (names, descriptions,
// part sizes, Content-Range alignment, tree hashes, empty-vault delete, job
// ranges, 24 h output expiry, inventory lag) so that a client that passes here
// is right against AWS. Where the public sources are silent it picks the
// stricter behaviour and says so in a comment marked [UNCERTAIN].
//
// State lives under Options.Dir and survives restarts. Archive and part bytes
// stream to and from files; memory use does not grow with archive size.
//
// Lock order: Sim.publishMu before Sim.mu; Faults.mu is a leaf. No network
// call (publishing to notify) is made while holding Sim.mu.
package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"freezer/aws/sim/notify"
)

// The one credential the simulator accepts unless Options say otherwise.
// They are fixed, public values: they protect nothing and must never be
// accepted by AWS.
const (
	DefaultAccessKey = "FREEZERSIMACCESSKEY0"
	DefaultSecretKey = "freezer-sim-secret-key-do-not-use-in-aws"
)

// Defaults for Options.
const (
	DefaultRegion            = "us-east-1"
	DefaultAccountID         = "123456789012"
	DefaultExpeditedDelay    = 2 * time.Second
	DefaultStandardDelay     = 5 * time.Second
	DefaultBulkDelay         = 10 * time.Second
	DefaultInventoryInterval = 24 * time.Hour // AWS: "approximately once a day"
	// OutputLifetime is how long a completed job and its output stay
	// available (AWS: at least 24 hours after completion).
	OutputLifetime = 24 * time.Hour
)

// Options configures a Sim.
type Options struct {
	// Dir is the state directory (required).
	Dir string
	// Region defaults to DefaultRegion; requests signed for another region
	// are refused.
	Region string
	// AccountID defaults to DefaultAccountID.
	AccountID string
	// AccessKey and SecretKey are the accepted credential (defaults
	// DefaultAccessKey, DefaultSecretKey).
	AccessKey, SecretKey string
	// JobDelay, when set, is the completion delay of every job regardless
	// of tier; set it to a pointer to 0 to complete jobs at once.
	JobDelay *time.Duration
	// Per-tier completion delays, used when JobDelay is nil. Zero means the
	// default (2 s, 5 s, 10 s). Inventory jobs use their Tier, else Standard.
	ExpeditedDelay, StandardDelay, BulkDelay time.Duration
	// InventoryInterval is how often each vault's inventory snapshot is
	// regenerated (at vault creation + k*interval, and only if the vault was
	// written since the last one). Zero means always current: every read sees
	// an inventory that includes every write so far. Set
	// DefaultInventoryInterval for AWS's once-a-day behaviour.
	InventoryInterval time.Duration
	// Clock defaults to the real clock. Jobs, inventories and output expiry
	// follow it; signature time checks always use the real time because
	// clients sign with their wall clock.
	Clock Clock
	// Logger receives one debug line per request. Defaults to zerolog.Nop().
	Logger zerolog.Logger
	// Seed drives fault-injection randomness, so a failing run repeats.
	Seed int64
}

// Clock is the simulator's notion of now.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told to.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// notifier is what the simulator needs from the SNS+SQS service.
type notifier interface {
	Handler() http.Handler
	Publish(ctx context.Context, topicARN, subject, message string) (messageID string, err error)
	TopicExists(arn string) bool
	Close() error
}

// Sim is a running simulator. Serve Handler() over HTTP; Close when done.
type Sim struct {
	region    string
	account   string
	root      string // Dir/glacier
	delays    map[string]time.Duration
	invEvery  time.Duration
	clock     Clock
	log       zerolog.Logger
	verifier  *verifier
	faults    *Faults
	notifier  notifier
	handler   http.Handler
	tickEvery time.Duration

	publishMu sync.Mutex // serialises notification publishing

	mu     sync.Mutex
	vaults map[string]*vault
	// accepted counts successful UploadMultipartPart calls per upload and
	// range since the simulator started (tests check that a resumed
	// upload never sends an accepted part again).
	accepted  map[string]map[string]int
	outbox    []*outboxEntry
	outboxSeq int64
	closed    bool

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// New loads the state persisted under o.Dir (creating it if needed) and
// starts the background loop that completes jobs and sends notifications.
func New(o Options) (*Sim, error) {
	if o.Dir == "" {
		return nil, errors.New("sim: Options.Dir is required")
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	n, err := notify.New(notify.Options{
		Dir:       filepath.Join(o.Dir, "notify"),
		Region:    o.Region,
		AccountID: o.AccountID,
		Now:       o.Clock.Now,
		Logger:    o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("sim: start SNS/SQS service: %w", err)
	}
	s, err := newSim(o, n)
	if err != nil {
		n.Close()
		return nil, err
	}
	return s, nil
}

func newSim(o Options, n notifier) (*Sim, error) {
	if o.AccessKey == "" {
		o.AccessKey = DefaultAccessKey
	}
	if o.SecretKey == "" {
		o.SecretKey = DefaultSecretKey
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	delays := map[string]time.Duration{
		"Expedited": orDefault(o.ExpeditedDelay, DefaultExpeditedDelay),
		"Standard":  orDefault(o.StandardDelay, DefaultStandardDelay),
		"Bulk":      orDefault(o.BulkDelay, DefaultBulkDelay),
	}
	if o.JobDelay != nil {
		for k := range delays {
			delays[k] = max(*o.JobDelay, 0)
		}
	}
	root := filepath.Join(o.Dir, "glacier")
	tmp := filepath.Join(root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("sim: clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, dirPerm); err != nil {
		return nil, fmt.Errorf("sim: create state directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "vaults"), dirPerm); err != nil {
		return nil, fmt.Errorf("sim: create state directory: %w", err)
	}
	vaults, err := loadState(root)
	if err != nil {
		return nil, fmt.Errorf("sim: load state from %s: %w", root, err)
	}
	s := &Sim{
		region:   o.Region,
		account:  o.AccountID,
		root:     root,
		delays:   delays,
		invEvery: max(o.InventoryInterval, 0),
		clock:    o.Clock,
		log:      o.Logger,
		verifier: &verifier{
			accessKey: o.AccessKey,
			secretKey: o.SecretKey,
			region:    o.Region,
			wallNow:   time.Now,
		},
		faults:    newFaults(o.Seed),
		notifier:  n,
		vaults:    vaults,
		tickEvery: 100 * time.Millisecond,
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if err := s.loadOutbox(); err != nil {
		return nil, fmt.Errorf("sim: load queued notifications: %w", err)
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return max(d, 0)
}

// Handler serves Glacier's REST API, SQS (AWS JSON 1.0) and SNS (AWS Query),
// telling them apart by the service in the SigV4 credential scope, plus the
// /_sim/ admin endpoints (see admin.go).
func (s *Sim) Handler() http.Handler { return s.handler }

// Faults returns the fault-injection controls.
func (s *Sim) Faults() *Faults { return s.faults }

// Close stops the background loop and the SNS/SQS service. State is already
// on disk; Close does not need to flush anything.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.cancel()
	<-s.done
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.notifier.Close()
}

// loop is the background ticker: it completes due jobs, refreshes scheduled
// inventories, expires old jobs and publishes notifications, so that
// notifications go out even when nobody polls. It is owned by the Sim and
// stopped by Close.
func (s *Sim) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("sim: background tick")
		}
	}
}

// Tick completes every job that is due at the Clock's current time,
// refreshes scheduled inventories, expires old job output, and publishes the
// resulting notifications before returning. Tests using a ManualClock call it
// after Advance to have notifications delivered synchronously; with the real
// clock the background loop calls it every 100 ms.
func (s *Sim) Tick(ctx context.Context) error { return s.tick(ctx) }

func (s *Sim) tick(ctx context.Context) error {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("sim: closed")
	}
	now := s.clock.Now()
	var errs []error
	for _, v := range s.vaults {
		if err := s.advanceVault(v, now); err != nil {
			errs = append(errs, err)
		}
	}
	pending := s.pendingNotifications()
	s.mu.Unlock()
	errs = append(errs, s.publish(ctx, pending)...)
	return errors.Join(errs...)
}

// poke asks the background loop to run soon (for notifications of jobs that a
// request completed lazily).
func (s *Sim) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}
