package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"freezer/aws"
	"freezer/store"
)

// The kinds of refusal and failure. Every error the engine returns for a
// refused request wraps one of them; KindOf, Errno and ExitCode map them
// for the front ends (DESIGN.md, the control protocol's errno table), so
// the CLI, the control files and the GUI helper agree.
var (
	ErrInvalid    = errors.New("invalid request")              // EINVAL, exit 2
	ErrNotFound   = errors.New("not found")                    // ENOENT, exit 1
	ErrExists     = errors.New("already exists")               // EEXIST, exit 1
	ErrBusy       = errors.New("busy")                         // EBUSY, exit 1
	ErrPermission = errors.New("refused without confirmation") // EPERM, exit 1
	ErrNotEmpty   = errors.New("not empty")                    // ENOTEMPTY, exit 1
	ErrNotYet     = errors.New("not yet possible")             // EAGAIN, exit 75
	ErrRemote     = errors.New("no local copy")                // EREMOTE, exit 1
	// ErrInterrupted marks work stopped by a signal, Close or a cancel
	// request; it can be resumed.
	ErrInterrupted = errors.New("interrupted") // EINTR, exit 130
)

// ExitNotYet is the exit status for "not yet" (sysexits' EX_TEMPFAIL).
const ExitNotYet = 75

var kinds = []struct {
	err   error
	name  string
	errno syscall.Errno
	exit  int
}{
	{ErrInvalid, "invalid", syscall.EINVAL, 2},
	{ErrNotFound, "not-found", syscall.ENOENT, 1},
	{ErrExists, "exists", syscall.EEXIST, 1},
	{ErrBusy, "busy", syscall.EBUSY, 1},
	{ErrPermission, "permission", syscall.EPERM, 1},
	{ErrNotEmpty, "not-empty", syscall.ENOTEMPTY, 1},
	{ErrNotYet, "not-yet", syscall.EAGAIN, ExitNotYet},
	{ErrRemote, "remote", syscall.EREMOTE, 1},
	{ErrInterrupted, "interrupted", syscall.EINTR, 130},
}

// KindOf names an error's kind ("invalid", "not-found", "exists", "busy",
// "permission", "not-empty", "not-yet", "remote", "interrupted"), or
// "failed" for a failure that is none of them; "" for nil.
func KindOf(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return "failed"
}

// Errno is the errno a file operation reports for err: EIO for a failure
// of no kind, 0 for nil.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.errno
		}
	}
	if errors.Is(err, context.Canceled) {
		return syscall.EINTR
	}
	return syscall.EIO
}

// ExitCode is the exit status a command reports for err: 0 success, 1
// failure, 2 usage, 75 not yet, 130 interrupted.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.exit
		}
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}

// KindError returns the sentinel error of a kind name (as KindOf names
// it), for errors read back from the catalog; nil for an unknown name.
func KindError(name string) error {
	for _, k := range kinds {
		if k.name == name {
			return k.err
		}
	}
	return nil
}

// mark tags err with one of the kinds above without changing its message:
// errors.Is finds the kind, a person reads only what went wrong.
func mark(kind, err error) error { return kinded{err: err, kind: kind} }

type kinded struct{ err, kind error }

func (k kinded) Error() string   { return k.err.Error() }
func (k kinded) Unwrap() []error { return []error{k.err, k.kind} }

// refuse is mark with a formatted message.
func refuse(kind error, format string, args ...any) error {
	return mark(kind, fmt.Errorf(format, args...))
}

// A hint is what would fix a refusal, written as a control-protocol line
// ("retrieve photos/holiday-2024", "key import"). Engine messages never
// name a front end's commands; each front end renders the hint its own
// way (the CLI as a command, the control files as the line itself).
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// withHint attaches a fixing control line to err.
func withHint(err error, line string) error {
	if err == nil {
		return nil
	}
	return hinted{err: err, hint: line}
}

// Hint returns the control line that would fix err, if the engine knows
// one.
func Hint(err error) string {
	var h hinted
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// dress makes errors from the catalog and from AWS readable and kinded:
// a uniqueness conflict becomes ErrExists, a catalog locked too long
// ErrBusy, Glacier's "not found" ErrNotFound, throttling and service
// trouble a failure that says it may pass. The original error stays in the
// chain for the log.
func dress(what string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return mark(ErrInterrupted, fmt.Errorf("%s: interrupted", what))
	case errors.Is(err, store.ErrConflict):
		return mark(ErrExists, fmt.Errorf("%s already exists (made meanwhile by another process)", what))
	case errors.Is(err, store.ErrBusy):
		return mark(ErrBusy, fmt.Errorf("%s: %w", what, err))
	case errors.Is(err, store.ErrNotFound):
		return mark(ErrNotFound, fmt.Errorf("%s: not in the catalog", what))
	case aws.IsNotFound(err):
		return mark(ErrNotFound, fmt.Errorf("%s: Glacier does not know it (%s)", what, awsMessage(err)))
	}
	if code := aws.Code(err); code != "" {
		return fmt.Errorf("%s: Glacier refused: %s", what, awsMessage(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// awsMessage is the service's own words without the SDK's chain of
// operation names and request ids.
func awsMessage(err error) string {
	msg := err.Error()
	last := msg
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		last = msg[i+len("api error "):]
	}
	if strings.Contains(msg, "exceeded maximum number of attempts") {
		return "gave up after repeated failures (" + last + "); the network or the service may be down: try again later"
	}
	return last
}
