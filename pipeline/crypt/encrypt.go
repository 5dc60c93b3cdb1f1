package crypt

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"freezer/pipeline/keys"
)

// newEncrypter checks the key and preamble and returns the CBC mode.
func newEncrypter(k keys.Key, p Preamble) (cipher.BlockMode, error) {
	block, err := k.Block()
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := p.Validate(block.BlockSize()); err != nil {
		return nil, fmt.Errorf("encrypt with %v: %w", k, err)
	}
	return cipher.NewCBCEncrypter(block, p.IV), nil
}

// pad appends PKCS#7 padding to buf[:n] (buf has room for one more block)
// and returns the padded length.
func pad(buf []byte, n, bs int) int {
	p := bs - n%bs
	for i := 0; i < p; i++ {
		buf[n+i] = byte(p)
	}
	return n + p
}

type encryptWriter struct {
	dst    io.Writer
	mode   cipher.BlockMode
	bs     int
	iv     []byte // written before the first ciphertext
	buf    []byte // plaintext waiting, buf[:fill]; len batch+maxBlock
	fill   int
	closed bool
	err    error
}

// NewEncryptWriter returns a writer that encrypts what is written to it into
// dst: first the IV, then the ciphertext of the header and the payload. Close
// writes the final padded block; it does not close dst. Output is
// deterministic for a given key, preamble and payload, and equals what
// NewEncryptReader produces.
func NewEncryptWriter(dst io.Writer, k keys.Key, p Preamble) (io.WriteCloser, error) {
	mode, err := newEncrypter(k, p)
	if err != nil {
		return nil, err
	}
	w := &encryptWriter{
		dst:  dst,
		mode: mode,
		bs:   mode.BlockSize(),
		iv:   append([]byte(nil), p.IV...),
		buf:  make([]byte, batch+maxBlock),
	}
	w.fill = copy(w.buf, p.Header)
	return w, nil
}

func (w *encryptWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("encrypt: write after close")
	}
	written := 0
	for len(p) > 0 {
		n := copy(w.buf[w.fill:batch], p)
		w.fill += n
		p = p[n:]
		if w.fill == batch {
			if err := w.flush(batch); err != nil {
				return written, err
			}
		}
		written += n
	}
	return written, nil
}

// flush encrypts and writes buf[:n], n a whole number of blocks, and keeps
// what follows it.
func (w *encryptWriter) flush(n int) error {
	if w.iv != nil {
		if _, err := w.dst.Write(w.iv); err != nil {
			w.err = fmt.Errorf("encrypt: writing the IV: %w", err)
			return w.err
		}
		w.iv = nil
	}
	w.mode.CryptBlocks(w.buf[:n], w.buf[:n])
	if _, err := w.dst.Write(w.buf[:n]); err != nil {
		w.err = fmt.Errorf("encrypt: %w", err)
		return w.err
	}
	w.fill = copy(w.buf, w.buf[n:w.fill])
	return nil
}

// Close pads and writes the last block. Calling it again does nothing.
func (w *encryptWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	w.fill = pad(w.buf, w.fill, w.bs)
	return w.flush(w.fill)
}

type encryptReader struct {
	src   io.Reader
	mode  cipher.BlockMode
	bs    int
	buf   []byte // len batch+maxBlock
	carry []byte // plaintext not yet a whole block, moved to buf's front on refill
	out   []byte // ciphertext ready to be read
	srcOK bool   // src has not reached EOF
	err   error  // sticky; io.EOF once everything was read
}

// NewEncryptReader returns a reader of the archive bytes — the IV, then the
// ciphertext of the header and of src — pulling from src as it is read, so
// the ciphertext can be cut into upload parts. Its output equals what
// NewEncryptWriter writes. A bad key or preamble is reported by the first
// Read.
func NewEncryptReader(src io.Reader, k keys.Key, p Preamble) io.Reader {
	mode, err := newEncrypter(k, p)
	if err != nil {
		return &encryptReader{err: err}
	}
	r := &encryptReader{
		src:   src,
		mode:  mode,
		bs:    mode.BlockSize(),
		buf:   make([]byte, batch+maxBlock),
		carry: make([]byte, 0, 256+maxBlock),
		out:   append([]byte(nil), p.IV...),
		srcOK: true,
	}
	r.carry = append(r.carry, p.Header...)
	return r
}

func (r *encryptReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.refill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// refill reads the next batch of plaintext and encrypts its whole blocks; at
// the end of src it pads and encrypts the rest.
func (r *encryptReader) refill() {
	if !r.srcOK {
		r.err = io.EOF
		return
	}
	fill := copy(r.buf, r.carry)
	r.carry = r.carry[:0]
	n, err := io.ReadFull(r.src, r.buf[fill:batch])
	fill += n
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		r.srcOK = false
		fill = pad(r.buf, fill, r.bs)
		r.mode.CryptBlocks(r.buf[:fill], r.buf[:fill])
		r.out = r.buf[:fill]
	case err != nil:
		r.err = fmt.Errorf("encrypt: reading the payload: %w", err)
	default:
		whole := fill - fill%r.bs
		r.carry = append(r.carry, r.buf[whole:fill]...)
		r.mode.CryptBlocks(r.buf[:whole], r.buf[:whole])
		r.out = r.buf[:whole]
	}
}
