package sim

import (
	"errors"
	"os"
	"syscall"
)

// openDirect opens path for writing with O_DIRECT, or returns nil where the
// file system does not support it.
func openDirect(path string) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}

// openDirectRead opens path for reading with O_DIRECT, or returns nil where
// the file system does not support it.
func openDirectRead(path string) *os.File {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}

// isDirectRefusal reports the error of an O_DIRECT write the file system
// or the buffer's alignment does not allow.
func isDirectRefusal(err error) bool { return errors.Is(err, syscall.EINVAL) }
