// Package notify is the SNS and SQS half of freezer's local AWS simulator.
//
// It speaks the wire protocols aws-sdk-go-v2 uses: SQS over AWS JSON 1.0
// (X-Amz-Target: AmazonSQS.<Op>) and SNS over AWS Query 2010-03-31 (form
// Action=<Op>, XML answers). Glacier's half of the simulator calls Publish when
// a job completes; SNS then delivers the standard notification envelope (or the
// raw message) to every SQS queue subscribed to the topic.
//
// All state lives in memory and is written to Options.Dir as one JSON snapshot
// after every change, before the call that made the change returns. Requests
// are assumed to be authenticated already (the simulator's router checks
// signatures and picks the service before calling Handler).
//
// Lock order: Service.saveMu before Service.mu. Nothing blocks while holding mu.
package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Options configures a Service.
type Options struct {
	// Dir is the state directory (required). Topics, subscriptions, queues and
	// undeleted messages are kept there across restarts.
	Dir string
	// Region defaults to "us-east-1".
	Region string
	// AccountID defaults to "123456789012".
	AccountID string
	// Endpoint is the base URL used in QueueUrl values, SigningCertURL and
	// UnsubscribeURL. When empty, QueueUrl values are built from each request's
	// Host, and the SNS URLs use the real-looking https://sns.<region>.amazonaws.com.
	Endpoint string
	// Now defaults to time.Now. Visibility timeouts, delays, retention and
	// timestamps use it. Long-poll waits are real time (see ReceiveMessage).
	Now func() time.Time
	// Logger defaults to a disabled logger.
	Logger zerolog.Logger
	// IgnoreQueuePolicy makes SNS deliver to subscribed queues whose Policy does
	// not allow the topic to call sqs:SendMessage. Real SNS drops such
	// deliveries silently, and so does the simulator by default (with a warning
	// in the log), so that setup code that forgets the policy fails here too.
	IgnoreQueuePolicy bool
}

// ErrTopicNotFound is returned by Publish when the topic does not exist.
var ErrTopicNotFound = errors.New("topic does not exist")

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("notify service is closed")

const stateFileName = "notify-state.json"

// Service is the SNS+SQS simulator. Create it with New and stop it with Close.
type Service struct {
	region    string
	account   string
	endpoint  string
	now       func() time.Time
	log       zerolog.Logger
	dir       string
	ignorePol bool

	// done is closed by Close so that long polls return at once.
	done chan struct{}

	// saveMu serialises snapshot writes; savedGen is the generation on disk.
	saveMu   sync.Mutex
	savedGen uint64

	mu     sync.Mutex
	gen    uint64 // bumped on every change that must reach the disk
	closed bool
	topics map[string]*topic        // by topic ARN
	subs   map[string]*subscription // by subscription ARN
	queues map[string]*queue        // by queue name

	// signerMu guards signer, created on first use. Never taken with mu held.
	signerMu sync.Mutex
	signer   *signer
}

// New loads (or creates) the state under o.Dir and returns a ready Service.
func New(o Options) (*Service, error) {
	if o.Dir == "" {
		return nil, errors.New("notify: Options.Dir is required")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: create state directory %s: %w", o.Dir, err)
	}
	s := &Service{
		region:    o.Region,
		account:   o.AccountID,
		endpoint:  strings.TrimRight(o.Endpoint, "/"),
		now:       o.Now,
		log:       o.Logger,
		dir:       o.Dir,
		ignorePol: o.IgnoreQueuePolicy,
		done:      make(chan struct{}),
		topics:    map[string]*topic{},
		subs:      map[string]*subscription{},
		queues:    map[string]*queue{},
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases waiting long polls and writes the final state. Calls made
// after Close fail with ErrClosed (HTTP requests get a 503 error).
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.gen++
	s.mu.Unlock()
	return s.commit()
}

// TopicExists reports whether a topic with this ARN exists.
func (s *Service) TopicExists(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.topics[arn]
	return ok
}

// Handler serves both SQS (AWS JSON 1.0) and SNS (AWS Query) requests, and
// GET requests for the SNS signing certificate named in SigningCertURL.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", uuid.NewString())
		switch {
		case IsSQS(r):
			s.serveSQS(w, r)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/"+certPrefix):
			s.serveCert(w, r)
		default:
			s.serveSNS(w, r)
		}
	})
}

// IsSQS reports whether r is an SQS request in the AWS JSON 1.0 protocol (the
// only SQS protocol served). It looks at headers only and leaves the body
// unread. Any other request to Handler is treated as SNS (AWS Query).
func IsSQS(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
}

// baseURL is the endpoint for URLs handed to clients. r may be nil.
func (s *Service) baseURL(r *http.Request) string {
	if s.endpoint != "" {
		return s.endpoint
	}
	if r != nil && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	return ""
}

// snsBaseURL is used for SigningCertURL and UnsubscribeURL, which are also
// built for Publish calls that come from Go rather than HTTP.
func (s *Service) snsBaseURL() string {
	if s.endpoint != "" {
		return s.endpoint
	}
	return "https://sns." + s.region + ".amazonaws.com"
}

func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// markChangedLocked records that the in-memory state differs from the disk.
// The caller holds s.mu and must call commit after releasing it.
func (s *Service) markChangedLocked() { s.gen++ }

// commit makes every change made before the call durable. It must be called
// without s.mu held. Concurrent callers coalesce: a snapshot taken later
// covers the changes of the earlier ones.
func (s *Service) commit() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	gen := s.gen
	if gen == s.savedGen {
		s.mu.Unlock()
		return nil
	}
	data, err := s.marshalLocked()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("notify: encode state: %w", err)
	}
	if err := writeFileDurably(filepath.Join(s.dir, stateFileName), data, 0o600); err != nil {
		return fmt.Errorf("notify: save state in %s: %w", s.dir, err)
	}
	s.savedGen = gen
	return nil
}

// wait blocks until ch is closed, d passes, ctx ends or the service closes.
func (s *Service) wait(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
	}
}

// randomToken returns n random bytes; crypto/rand never fails on supported
// platforms (it panics internally if the system source breaks).
func randomToken(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
