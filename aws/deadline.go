package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// How calls are bounded in time. Each SDK attempt (not the whole call with its
// retries) runs under its own deadline, set by a middleware that sits inside
// the SDK's retry loop:
//
//   - a call without a request body must answer within CallTimeout;
//   - a call with a body (uploads) may take as long as it needs while bytes
//     move: the deadline is StallTimeout from the last body read, and becomes
//     CallTimeout once the whole body has been handed to the connection;
//   - GetJobOutput must send its headers within CallTimeout; then every Read
//     of the returned body must make progress within StallTimeout, and the
//     attempt lives until the caller closes the body.
//
// An attempt that runs out of time fails with *TimeoutError, which the retryer
// treats as retryable; the caller's own cancellation is never retried.

// TimeoutError reports an attempt that ran out of time. It deliberately does
// not unwrap to context.Canceled: callers treat that as their own shutdown.
type TimeoutError struct {
	Op    string        // SDK operation
	What  string        // "no answer" or "no progress"
	After time.Duration // the limit that ran out
	Err   error         // what the transport reported
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: %s for %s (%v)", e.Op, e.What, e.After, e.Err)
}

// Timeout marks the error as a timeout for net-style checks.
func (e *TimeoutError) Timeout() bool { return true }

// RetryableError tells the SDK retryer to try again.
func (e *TimeoutError) RetryableError() bool { return true }

// expiry is the cancel cause set when an attempt's deadline passes.
type expiry struct {
	what  string
	after time.Duration
}

func (e *expiry) Error() string { return e.what + " for " + e.after.String() }

type attemptTimeoutKey struct{}

// withAttemptTimeout overrides CallTimeout for calls made with ctx (long
// polls wait longer than an ordinary call may take).
func withAttemptTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, attemptTimeoutKey{}, d)
}

// deadlineMiddleware implements the rules above for every attempt.
type deadlineMiddleware struct {
	call, stall time.Duration
}

func (*deadlineMiddleware) ID() string { return "Freezer:AttemptDeadline" }

// addDeadline installs the middleware right after the retry loop so that it
// wraps each attempt (signing and sending included).
func addDeadline(s Settings) func(*middleware.Stack) error {
	m := &deadlineMiddleware{call: s.CallTimeout, stall: s.StallTimeout}
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(m, "Retry", middleware.After)
	}
}

// watchdog cancels an attempt when its timer fires. The timer is re-armed as
// the attempt makes progress.
type watchdog struct {
	timer  *time.Timer
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	cause  *expiry // what a firing means now
}

func newWatchdog(cancel context.CancelCauseFunc, what string, d time.Duration) *watchdog {
	w := &watchdog{cancel: cancel, cause: &expiry{what: what, after: d}}
	w.timer = time.AfterFunc(d, w.fire)
	return w
}

func (w *watchdog) fire() {
	w.mu.Lock()
	cause := w.cause
	w.mu.Unlock()
	w.cancel(cause)
}

// arm restarts the countdown with a new limit.
func (w *watchdog) arm(what string, d time.Duration) {
	w.mu.Lock()
	if w.cause.what != what || w.cause.after != d {
		w.cause = &expiry{what: what, after: d}
	}
	w.mu.Unlock()
	w.timer.Reset(d)
}

// stop halts the countdown without cancelling.
func (w *watchdog) stop() { w.timer.Stop() }

func (m *deadlineMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	call := m.call
	if d, ok := ctx.Value(attemptTimeoutKey{}).(time.Duration); ok && d > 0 {
		call = d
	}
	actx, cancel := context.WithCancelCause(ctx)
	var wd *watchdog

	req, _ := in.Request.(*smithyhttp.Request)
	n := int64(-1)
	if req != nil && req.GetStream() != nil && req.IsStreamSeekable() {
		if l, known, err := req.StreamLength(); err == nil && known {
			n = l
		}
	}
	if n != 0 && req != nil && req.GetStream() != nil && req.IsStreamSeekable() {
		wd = newWatchdog(cancel, "no progress", m.stall)
		ws := &watchedStream{r: req.GetStream().(io.ReadSeeker), left: n, wd: wd, stall: m.stall, call: call}
		nreq, err := req.SetStream(ws)
		if err != nil {
			wd.stop()
			cancel(nil)
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		in.Request = nreq
	} else {
		wd = newWatchdog(cancel, "no answer", call)
	}

	out, md, err := next.HandleFinalize(actx, in)

	if err == nil {
		if res, ok := out.Result.(*glacier.GetJobOutputOutput); ok && res.Body != nil {
			// The body is read after this returns: hand the attempt's
			// lifetime over to it.
			wd.stop()
			res.Body = &watchedBody{rc: res.Body, ctx: actx, cancel: cancel, wd: wd, stall: m.stall}
			return out, md, nil
		}
	}
	wd.stop()
	cause := context.Cause(actx)
	cancel(nil)
	var exp *expiry
	if err != nil && ctx.Err() == nil && errors.As(cause, &exp) {
		op := middleware.GetOperationName(ctx)
		err = &TimeoutError{Op: op, What: exp.what, After: exp.after, Err: err}
	}
	return out, md, err
}

// watchedStream is an upload body that re-arms the watchdog on every read.
type watchedStream struct {
	r           io.ReadSeeker
	left        int64 // bytes still to send, -1 if unknown
	wd          *watchdog
	stall, call time.Duration
}

func (s *watchedStream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.left >= 0 {
		s.left -= int64(n)
	}
	if err != nil || s.left == 0 {
		// All handed over: now only the answer is awaited.
		s.wd.arm("no answer", s.call)
	} else {
		s.wd.arm("no progress", s.stall)
	}
	return n, err
}

func (s *watchedStream) Seek(off int64, whence int) (int64, error) {
	return s.r.Seek(off, whence)
}

// watchedBody is GetJobOutput's body: each Read must progress within the
// stall limit, and Close ends the attempt.
type watchedBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	wd     *watchdog
	stall  time.Duration
	once   sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.wd.arm("no progress", b.stall)
	n, err := b.rc.Read(p)
	b.wd.stop()
	if err != nil && err != io.EOF {
		var exp *expiry
		if errors.As(context.Cause(b.ctx), &exp) {
			err = &TimeoutError{Op: "GetJobOutput", What: exp.what, After: exp.after, Err: err}
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.wd.stop()
		b.cancel(nil)
	})
	return err
}

// withPayloadHashes makes an upload carry the hashes the caller computed:
// x-amz-sha256-tree-hash comes from the input's Checksum (which also stops
// the SDK's Glacier:TreeHash middleware from reading the body), and this adds
// x-amz-content-sha256 and tells SigV4 to sign with it, so the SDK never reads
// the body to hash it. Without this the SDK would read a whole part once more
// before sending it, and send no x-amz-content-sha256, which Glacier requires.
func withPayloadHashes(sha256Hex string) func(*glacier.Options) {
	return func(o *glacier.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Build.Add(middleware.BuildMiddlewareFunc("Freezer:PayloadHash",
				func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (
					middleware.BuildOutput, middleware.Metadata, error,
				) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.Header.Set("X-Amz-Content-Sha256", sha256Hex)
					}
					return next.HandleBuild(v4.SetPayloadHash(ctx, sha256Hex), in)
				}), middleware.After)
		})
	}
}

// sizedBody presents exactly size bytes of r from its current position, so
// the request's length is what the caller said whatever r holds beyond, and
// the SDK can rewind it for a retry.
type sizedBody struct {
	r          io.ReadSeeker
	base, size int64
	pos        int64
}

func newSizedBody(r io.ReadSeeker, size int64) (*sizedBody, error) {
	base, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("body is not seekable: %w", err)
	}
	return &sizedBody{r: r, base: base, size: size}, nil
}

func (b *sizedBody) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	if rest := b.size - b.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.pos += int64(n)
	if err == io.EOF && b.pos < b.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *sizedBody) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = b.pos + off
	case io.SeekEnd:
		abs = b.size + off
	default:
		return 0, errors.New("sizedBody.Seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("sizedBody.Seek: negative position")
	}
	if _, err := b.r.Seek(b.base+abs, io.SeekStart); err != nil {
		return 0, err
	}
	b.pos = abs
	return abs, nil
}
