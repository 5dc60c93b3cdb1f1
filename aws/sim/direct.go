package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// A received body goes to disk past the page cache where the file system
// allows it (O_DIRECT), and job output is read back the same way. The simulator stands in for a remote store: the
// archives it keeps should not crowd the client's page cache, and copying
// every byte into the cache cost the simulator more CPU than hashing it,
// CPU it takes from the client it shares the machine with (reading a file
// back into the cache costs the same). Where O_DIRECT is refused, and for a
// file's unaligned tail, ordinary reads and writes are used.

// directAlign is the alignment of O_DIRECT buffers, offsets and lengths:
// the page size covers the logical block sizes in use.
const directAlign = 4096

// bodyWriter writes a file from its start, a buffer at a time, through an
// O_DIRECT descriptor when it has one and through f otherwise.
type bodyWriter struct {
	f      *os.File // ordinary descriptor: the tail, Sync and the fallback
	direct *os.File // nil: no O_DIRECT
	buf    []byte   // aligned; filled up to len
	off    int64    // file offset of buf[0]
}

// newBodyWriter creates a file in dir named from pattern (os.CreateTemp)
// that is written by whole buffers of bufSize bytes (a multiple of
// directAlign).
func newBodyWriter(dir, pattern string, bufSize int) (*bodyWriter, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &bodyWriter{f: f, direct: openDirect(f.Name()), buf: alignedBuffer(bufSize)}, nil
}

// alignedBuffer returns an empty slice of capacity n that starts at a
// multiple of directAlign.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % directAlign); r != 0 {
		skip = directAlign - r
	}
	return b[skip : skip : skip+n]
}

// Name is the file's path.
func (w *bodyWriter) Name() string { return w.f.Name() }

// ReadFrom reads r to its end into the file's buffer, writing the buffer
// each time it fills.
func (w *bodyWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		k, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+k]
		n += int64(k)
		if len(w.buf) == cap(w.buf) {
			if ferr := w.flush(); ferr != nil {
				return n, ferr
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

// flush writes what is buffered: its aligned part directly, an unaligned
// rest (only at the end of the file) through the ordinary descriptor.
func (w *bodyWriter) flush() error {
	b := w.buf
	if n := len(b) &^ (directAlign - 1); w.direct != nil && n > 0 {
		err := writeFullAt(w.direct, b[:n], w.off)
		switch {
		case errors.Is(err, errDirectRefused):
			// Refused before anything was written: go on without O_DIRECT.
			w.direct.Close()
			w.direct = nil
		case err != nil:
			return err
		default:
			w.off += int64(n)
			b = b[n:]
		}
	}
	if len(b) > 0 {
		if err := writeFullAt(w.f, b, w.off); err != nil {
			return err
		}
		w.off += int64(len(b))
	}
	w.buf = w.buf[:0]
	return nil
}

var errDirectRefused = errors.New("O_DIRECT write refused")

func writeFullAt(f *os.File, b []byte, off int64) error {
	n, err := f.WriteAt(b, off)
	if err != nil {
		if n == 0 && isDirectRefusal(err) {
			return errDirectRefused
		}
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return nil
}

// Sync writes what is buffered and makes the file durable.
func (w *bodyWriter) Sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes both descriptors: after Sync, or to give the file up.
func (w *bodyWriter) Close() error {
	if w.direct != nil {
		w.direct.Close()
	}
	return w.f.Close()
}

// copyDirect writes bytes [from, to) of f, an O_DIRECT descriptor, to w,
// reading whole aligned blocks into buf (aligned, of a capacity that is a
// multiple of directAlign). It reports the bytes written; errDirectRefused
// when the first read is refused before anything was read.
func copyDirect(w io.Writer, f *os.File, from, to int64, buf []byte) (int64, error) {
	var n int64
	for from < to {
		at := from &^ (directAlign - 1)
		want := min(int64(cap(buf)), (to-at+directAlign-1)&^(directAlign-1))
		k, err := f.ReadAt(buf[:want], at)
		if k == 0 && err != nil {
			if n == 0 && isDirectRefusal(err) {
				return 0, errDirectRefused
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		skip := from - at
		if int64(k) <= skip {
			return n, io.ErrUnexpectedEOF
		}
		end := min(int64(k), to-at)
		m, err := w.Write(buf[skip:end])
		n += int64(m)
		if err != nil {
			return n, err
		}
		from = at + end
	}
	return n, nil
}
