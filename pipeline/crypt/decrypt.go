package crypt

import (
	"crypto/cipher"
	"fmt"
	"io"

	"freezer/pipeline/keys"
)

type decryptReader struct {
	src   io.Reader
	block cipher.Block
	mode  cipher.BlockMode // nil until the IV is read
	bs    int
	buf   []byte // len batch+maxBlock
	held  []byte // the last whole block read, kept back until src's end is known
	out   []byte // payload ready to be read
	skip  int    // header bytes still to drop; -1 until the RHL byte is seen
	after int64  // ciphertext bytes read after the IV, for messages
	srcOK bool
	err   error // sticky; io.EOF once everything was read
}

// NewDecryptReader returns a reader of the payload of the archive read from
// src: it reads the IV, decrypts, drops the random header and, at the end,
// checks and strips the padding. A wrong key or a damaged or truncated
// archive ends in an error wrapping ErrBadPadding, ErrBadHeader or
// ErrTruncated, never in silently shortened output; the bytes read before it
// must be discarded. Memory stays bounded (about 64 KiB) whatever the
// archive size.
func NewDecryptReader(src io.Reader, k keys.Key) (io.Reader, error) {
	block, err := k.Block()
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	bs := block.BlockSize()
	return &decryptReader{
		src:   src,
		block: block,
		bs:    bs,
		buf:   make([]byte, batch+maxBlock),
		held:  make([]byte, 0, maxBlock),
		skip:  -1,
		srcOK: true,
	}, nil
}

func (r *decryptReader) Read(p []byte) (int, error) {
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

func (r *decryptReader) fail(format string, args ...any) {
	r.err = fmt.Errorf("decrypt: "+format, args...)
}

func (r *decryptReader) refill() {
	if !r.srcOK {
		r.err = io.EOF
		return
	}
	if r.mode == nil {
		iv := make([]byte, r.bs)
		n, err := io.ReadFull(r.src, iv)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			r.fail("%w: %d bytes, shorter than the %d-byte IV", ErrTruncated, n, r.bs)
			return
		}
		if err != nil {
			r.fail("reading the IV: %w", err)
			return
		}
		r.mode = cipher.NewCBCDecrypter(r.block, iv)
	}

	fill := copy(r.buf, r.held)
	r.held = r.held[:0]
	n, err := io.ReadFull(r.src, r.buf[fill:])
	r.after += int64(n)
	fill += n
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		r.srcOK = false
		r.final(fill)
	case err != nil:
		r.fail("reading the archive: %w", err)
	default:
		// buf is full (a whole number of blocks): decrypt all but the last
		// block, which may be the padded one.
		d := fill - r.bs
		r.held = append(r.held, r.buf[d:fill]...)
		r.mode.CryptBlocks(r.buf[:d], r.buf[:d])
		r.emit(r.buf[:d])
	}
}

// final decrypts the last fill bytes of the archive and strips the padding.
func (r *decryptReader) final(fill int) {
	if r.after == 0 {
		r.fail("%w: nothing after the IV", ErrTruncated)
		return
	}
	if fill%r.bs != 0 {
		r.fail("%w: the %d bytes after the IV are not whole %d-byte blocks", ErrTruncated, r.after, r.bs)
		return
	}
	r.mode.CryptBlocks(r.buf[:fill], r.buf[:fill])
	padLen := int(r.buf[fill-1])
	if padLen == 0 || padLen > r.bs {
		r.fail("%w", ErrBadPadding)
		return
	}
	for _, b := range r.buf[fill-padLen : fill] {
		if int(b) != padLen {
			r.fail("%w", ErrBadPadding)
			return
		}
	}
	r.emit(r.buf[:fill-padLen])
	if r.skip != 0 {
		r.out = nil
		r.fail("%w", ErrBadHeader)
	}
}

// emit drops what remains of the random header from pt and serves the rest.
func (r *decryptReader) emit(pt []byte) {
	if r.skip < 0 && len(pt) > 0 {
		r.skip = int(pt[0])
		pt = pt[1:]
	}
	if r.skip > 0 {
		k := min(r.skip, len(pt))
		r.skip -= k
		pt = pt[k:]
	}
	r.out = pt
}
