package fusefs

import (
	"context"
	"errors"
	"os"
	"syscall"

	"freezer/control"
)

// errno is the one place an error becomes what a file operation returns:
// the engine's kinds through control.Errno (the control protocol's errno
// table), a caller's interrupt as EINTR, a missing file as ENOENT, and
// anything else as EIO.
func errno(err error) syscall.Errno {
	switch {
	case err == nil:
		return 0
	case control.KindOf(err) != "failed":
		return control.Errno(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return syscall.EINTR
	case errors.Is(err, os.ErrNotExist):
		return syscall.ENOENT
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// refusal is a refusal found here rather than by the engine, of one of
// the engine's kinds (so errno and the error log treat it the same).
type refusal struct {
	kind error
	msg  string
}

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return r.kind }
