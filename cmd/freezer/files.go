package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// Limits of the small files freezer reads whole.
const (
	maxConfigSize = 1 << 20
	maxSecretSize = 4 << 10
)

// readRegularFile reads a small file whole. Only a regular file is read: a
// FIFO or a device named by mistake (--config /dev/zero, a named pipe
// nobody writes to) would block or never end. The open does not block
// (O_NONBLOCK) and the check is made on what was opened, so a file
// swapped in meanwhile cannot slip through.
func readRegularFile(path string, max int64) ([]byte, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, st, fmt.Errorf("%s is not a regular file (%s)", path, fileKind(st.Mode()))
	}
	if st.Size() > max {
		return nil, st, fmt.Errorf("%s is too large (%d bytes; at most %d)", path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(data)) > max {
		return nil, st, fmt.Errorf("%s is too large (more than %d bytes)", path, max)
	}
	return data, st, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// readSecret reads the secret access key from --secret-key-file: a file
// only its owner can read, or "-" for the first line of stdin. The secret
// then never appears in a process listing.
func (a *app) readSecret(path string) (string, error) {
	var text string
	if path == "-" {
		// Buffered once, so that a command reading stdin afterwards
		// gets what follows the secret's line.
		br := bufio.NewReader(io.LimitReader(a.stdin, maxSecretSize))
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", usageErrorf("--secret-key-file -: reading stdin: %v", err)
		}
		a.stdin = io.MultiReader(br, a.stdin)
		text = line
	} else {
		data, st, err := readRegularFile(path, maxSecretSize)
		if err != nil {
			return "", usageErrorf("--secret-key-file: %v", unwrapPath(err))
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return "", usageErrorf("--secret-key-file: other users can read %s (mode %04o); make it private with: chmod 600 %s", path, perm, shellQuote(path))
		}
		text = string(data)
	}
	secret := strings.TrimSpace(text)
	if secret == "" {
		return "", usageErrorf("--secret-key-file %s: no secret key in it", path)
	}
	return secret, nil
}

// unwrapPath drops the "open PATH:" of an *os.PathError whose message
// names the path anyway.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
