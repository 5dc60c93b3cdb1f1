package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// FaultKind names what an injected fault does.
type FaultKind string

// Fault kinds. The three error kinds answer with the error a real service
// sends in that situation (shaped for the service: Glacier JSON, SQS JSON 1.0
// or SNS XML), all of which aws-sdk-go-v2's standard retryer retries.
const (
	// FaultServiceUnavailable answers 500 ServiceUnavailableException.
	FaultServiceUnavailable FaultKind = "ServiceUnavailable"
	// FaultThrottling answers 400 ThrottlingException.
	FaultThrottling FaultKind = "Throttling"
	// FaultRequestTimeout answers 408 RequestTimeoutException.
	FaultRequestTimeout FaultKind = "RequestTimeout"
	// FaultReset closes the TCP connection mid-body. For GetJobOutput the
	// response is cut after AfterBytes bytes of body; for UploadArchive and
	// UploadMultipartPart the connection is closed after AfterBytes bytes of
	// the request body were read; for every other operation the connection
	// is closed before any response.
	FaultReset FaultKind = "Reset"
	// FaultDelay holds the request for Delay before serving it normally.
	FaultDelay FaultKind = "Delay"
	// FaultCorrupt flips Bytes bytes (default 1) at seeded positions of a
	// GetJobOutput body; headers, including the tree hash, stay those of the
	// true data. It matches no other operation.
	FaultCorrupt FaultKind = "Corrupt"
)

// Fault is one fault-injection rule. A request matches when Op is its
// operation name (Glacier "UploadMultipartPart", SQS "ReceiveMessage", SNS
// "Publish", ...) or "*", and Vault is empty or the request's vault. The first
// matching rule that fires applies; one fault per request at most.
//
// Firing: with Count > 0 and Rate == 0 the rule fires on the next Count
// matching requests; with Rate > 0 it fires with that probability on each
// match (at most Count times if Count > 0). Draws come from a generator seeded
// with Options.Seed, so a sequential test repeats exactly.
type Fault struct {
	ID         int       `json:"id"`
	Op         string    `json:"op"`
	Vault      string    `json:"vault,omitempty"`
	Kind       FaultKind `json:"kind"`
	Count      int       `json:"count,omitempty"`
	Rate       float64   `json:"rate,omitempty"`
	AfterBytes int64     `json:"afterBytes,omitempty"`
	Delay      Duration  `json:"delay,omitempty"`
	Bytes      int       `json:"bytes,omitempty"`
	// Fired counts how many times this rule fired (read-only).
	Fired int `json:"fired"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms", "2s"); a bare number is taken as milliseconds.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\" or a number of milliseconds")
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Faults holds the fault-injection rules and counters. It is safe for
// concurrent use.
type Faults struct {
	mu      sync.Mutex
	rng     *rand.Rand
	nextID  int
	rules   []*Fault
	fired   int
	firedBy map[string]int
}

func newFaults(seed int64) *Faults {
	return &Faults{
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x5eed)),
		nextID:  1,
		firedBy: map[string]int{},
	}
}

// Add installs a rule and returns its ID.
func (f *Faults) Add(r Fault) (int, error) {
	if r.Op == "" {
		return 0, errors.New("fault: op is required (an operation name or \"*\")")
	}
	switch r.Kind {
	case FaultServiceUnavailable, FaultThrottling, FaultRequestTimeout, FaultReset, FaultCorrupt:
	case FaultDelay:
		if r.Delay <= 0 {
			return 0, errors.New("fault: a Delay fault needs a positive delay")
		}
	default:
		return 0, fmt.Errorf("fault: unknown kind %q", r.Kind)
	}
	if r.Count < 0 || r.Rate < 0 || r.Rate > 1 || r.AfterBytes < 0 || r.Bytes < 0 {
		return 0, errors.New("fault: count, rate (0..1), afterBytes and bytes must not be negative")
	}
	if r.Count == 0 && r.Rate == 0 {
		return 0, errors.New("fault: set count (next N calls) or rate (probability)")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ID = f.nextID
	r.Fired = 0
	f.nextID++
	f.rules = append(f.rules, &r)
	return r.ID, nil
}

// Remove deletes one rule; it reports whether the rule existed.
func (f *Faults) Remove(id int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.ID == id {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Clear removes every rule and zeroes the counters.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
	f.fired = 0
	f.firedBy = map[string]int{}
}

// Rules returns a copy of the installed rules with their counters.
func (f *Faults) Rules() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
	}
	return out
}

// Fired returns how many faults fired in total since start or Clear.
func (f *Faults) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

// FiredFor returns how many faults fired on operation op.
func (f *Faults) FiredFor(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.firedBy[op]
}

func (f *Faults) firedByOp() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.firedBy))
	for k, v := range f.firedBy {
		out[k] = v
	}
	return out
}

// firedFault is a rule that fired on one request.
type firedFault struct {
	kind       FaultKind
	afterBytes int64
	delay      time.Duration
	bytes      int
	seed       uint64 // for corruption positions
}

func (f *Faults) pick(op, vault string) *firedFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.Op != "*" && r.Op != op {
			continue
		}
		if r.Vault != "" && r.Vault != vault {
			continue
		}
		if r.Kind == FaultCorrupt && op != "GetJobOutput" {
			continue
		}
		if r.Count > 0 && r.Fired >= r.Count {
			continue
		}
		if r.Rate > 0 && f.rng.Float64() >= r.Rate {
			continue
		}
		r.Fired++
		f.fired++
		f.firedBy[op]++
		return &firedFault{
			kind:       r.Kind,
			afterBytes: r.AfterBytes,
			delay:      time.Duration(r.Delay),
			bytes:      max(r.Bytes, 1),
			seed:       f.rng.Uint64(),
		}
	}
	return nil
}

// errConnReset is returned by a Glacier operation to have the connection
// closed without a response. It is a sentinel compared by identity.
var errConnReset = &apiError{status: 0, code: "InjectedConnectionReset", message: "connection reset by fault injection"}

// errInjectedReset is what a reset-wrapped request body returns once its byte
// budget is spent.
var errInjectedReset = errors.New("sim: injected connection reset")

// applyFault acts on a fired fault before the operation runs. handled means
// the request is finished (an error to write, or a closed connection);
// otherwise the operation runs, with r.Body wrapped for request-side resets.
func (s *Sim) applyFault(w *recorder, r *http.Request, op string, f *firedFault) (*apiError, bool) {
	switch f.kind {
	case FaultServiceUnavailable:
		return errf(http.StatusInternalServerError, "ServiceUnavailableException", "Service is unavailable. Try again later. (injected fault)"), true
	case FaultThrottling:
		return errf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded (injected fault)"), true
	case FaultRequestTimeout:
		return errf(http.StatusRequestTimeout, "RequestTimeoutException", "Request timed out while receiving the request body (injected fault)"), true
	case FaultDelay:
		sleepCtx(r.Context(), f.delay)
		return nil, false
	case FaultReset:
		switch op {
		case "GetJobOutput":
			return nil, false // the handler cuts its response
		case "UploadArchive", "UploadMultipartPart":
			r.Body = &resetReader{rc: r.Body, left: f.afterBytes}
			return nil, false
		}
		s.resetConn(w)
		return nil, true
	}
	return nil, false
}

// resetConn closes the client connection abruptly. Unread request bytes make
// the kernel send a RST; a cut response leaves the client short of
// Content-Length. Either way the client sees a transport error, as when a
// real connection drops.
func (s *Sim) resetConn(w *recorder) {
	w.hijacked = true
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// resetReader passes through left bytes of a request body, then fails.
type resetReader struct {
	rc   io.ReadCloser
	left int64
}

func (r *resetReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, errInjectedReset
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *resetReader) Close() error { return r.rc.Close() }

// resetWriter passes through left bytes of a response body, flushes them to
// the client, then fails so that the handler closes the connection.
type resetWriter struct {
	w    io.Writer
	left int64
}

func (r *resetWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= r.left {
		n, err := r.w.Write(p)
		r.left -= int64(n)
		return n, err
	}
	n, _ := r.w.Write(p[:r.left])
	r.left -= int64(n)
	if fl, ok := r.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, errInjectedReset
}

// corruptWriter flips chosen bytes of a stream of known length. Write must
// not modify its argument, so a chunk holding a target byte is copied.
type corruptWriter struct {
	w    io.Writer
	pos  int64
	hits map[int64]bool
	buf  []byte
}

func newCorruptWriter(w io.Writer, length int64, f *firedFault) *corruptWriter {
	c := &corruptWriter{w: w, hits: map[int64]bool{}}
	if length <= 0 {
		return c
	}
	rng := rand.New(rand.NewPCG(f.seed, 0xc0))
	for i := 0; i < f.bytes && int64(len(c.hits)) < length; {
		p := rng.Int64N(length)
		if !c.hits[p] {
			c.hits[p] = true
			i++
		}
	}
	return c
}

func (c *corruptWriter) Write(p []byte) (int, error) {
	start := c.pos
	out := p
	for off := range c.hits {
		if off >= start && off < start+int64(len(p)) {
			if &out[0] == &p[0] {
				c.buf = append(c.buf[:0], p...)
				out = c.buf
			}
			out[off-start] ^= 0xFF
		}
	}
	n, err := c.w.Write(out)
	c.pos += int64(n)
	return n, err
}

// faultAdminView is the JSON of GET /_sim/faults.
type faultAdminView struct {
	Faults    []Fault        `json:"faults"`
	Fired     int            `json:"fired"`
	FiredByOp map[string]int `json:"firedByOp"`
}

func (f *Faults) view() faultAdminView {
	rules := f.Rules()
	if rules == nil {
		rules = []Fault{}
	}
	return faultAdminView{Faults: rules, Fired: f.Fired(), FiredByOp: f.firedByOp()}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
