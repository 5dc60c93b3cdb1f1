package pipeline

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"freezer/pipeline/keys"
)

// ciphertext describes the bytes freezer uploads for a local archive file:
// the file itself when it is not encrypted, else the manual's layout
// IV ‖ CBC(header ‖ file ‖ PKCS#7 padding), where header is the RHL byte
// and RHL random bytes.
//
// It never holds the ciphertext: any section of it is produced on demand
// from the local file, so upload parts are made in parallel, re-read on a
// retry, and reproduced byte for byte after a crash — given the ciphertext
// block that precedes the section (CBC's chaining value), which the hashing
// pass records at every part boundary.
type ciphertext struct {
	src     io.ReaderAt
	srcSize int64
	block   cipher.Block // nil: not encrypted
	iv      []byte
	header  []byte
}

func newCiphertext(src io.ReaderAt, srcSize int64, key *keys.Key, iv, header []byte) (*ciphertext, error) {
	c := &ciphertext{src: src, srcSize: srcSize}
	if key == nil {
		return c, nil
	}
	b, err := key.Block()
	if err != nil {
		return nil, err
	}
	if len(iv) != b.BlockSize() {
		return nil, fmt.Errorf("IV of %d bytes does not fit %s (block size %d)", len(iv), key.Algorithm, b.BlockSize())
	}
	if len(header) == 0 || len(header) != 1+int(header[0]) {
		return nil, errors.New("random header does not match its length byte")
	}
	c.block, c.iv, c.header = b, iv, header
	return c, nil
}

// plainSize is the size of what CBC encrypts: header, file, padding.
func (c *ciphertext) plainSize() int64 {
	bs := int64(c.block.BlockSize())
	n := int64(len(c.header)) + c.srcSize
	return n + bs - n%bs
}

// Size is the number of bytes uploaded.
func (c *ciphertext) Size() int64 {
	if c.block == nil {
		return c.srcSize
	}
	return int64(len(c.iv)) + c.plainSize()
}

// section returns the bytes [off, off+n) as a ReadSeeker. For encrypted
// archives off must be 0 or block aligned after the IV, and chain must be
// the ciphertext block just before off (unused when off ≤ len(IV)).
func (c *ciphertext) section(off, n int64, chain []byte) (io.ReadSeeker, error) {
	if off < 0 || n < 0 || off+n > c.Size() {
		return nil, fmt.Errorf("section %d+%d outside the archive's %d bytes", off, n, c.Size())
	}
	if c.block == nil {
		return io.NewSectionReader(c.src, off, n), nil
	}
	bs := int64(c.block.BlockSize())
	ivLen := int64(len(c.iv))
	if off != 0 && (off < ivLen || (off-ivLen)%bs != 0) {
		return nil, fmt.Errorf("section at %d is not block aligned", off)
	}
	if off > ivLen && len(chain) != int(bs) {
		return nil, fmt.Errorf("section at %d needs the preceding ciphertext block", off)
	}
	s := &section{c: c, off: off, n: n, chain: append([]byte(nil), chain...)}
	s.reset()
	return s, nil
}

// section produces a part of the ciphertext by encrypting the plaintext
// behind it, in batches of blocks.
type section struct {
	c     *ciphertext
	off   int64  // start in the ciphertext
	n     int64  // length
	chain []byte // ciphertext block before off (when off > len(IV))

	pos   int64 // bytes of the section already returned
	mode  cipher.BlockMode
	pOff  int64  // next plaintext offset to encrypt
	buf   []byte // encrypted bytes not yet returned
	batch []byte
}

const sectionBatch = 64 << 10

func (s *section) reset() {
	c := s.c
	ivLen := int64(len(c.iv))
	s.pos, s.buf = 0, s.buf[:0]
	if s.off <= ivLen {
		// The section starts inside the IV (always at 0, by construction).
		s.mode = cipher.NewCBCEncrypter(c.block, c.iv)
		s.pOff = 0
		s.buf = append(s.buf, c.iv[s.off:]...)
		return
	}
	s.mode = cipher.NewCBCEncrypter(c.block, s.chain)
	s.pOff = s.off - ivLen
}

// Read returns ciphertext.
func (s *section) Read(p []byte) (int, error) {
	if s.pos >= s.n {
		return 0, io.EOF
	}
	if len(s.buf) == 0 {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	k := copy(p, s.buf)
	if rest := s.n - s.pos; int64(k) > rest {
		k = int(rest)
	}
	s.buf = s.buf[k:]
	s.pos += int64(k)
	return k, nil
}

// fill encrypts the next batch of plaintext blocks into buf.
func (s *section) fill() error {
	c := s.c
	remaining := c.plainSize() - s.pOff
	if remaining <= 0 {
		return io.ErrUnexpectedEOF
	}
	size := int64(sectionBatch)
	if size > remaining {
		size = remaining
	}
	if cap(s.batch) < sectionBatch {
		s.batch = make([]byte, sectionBatch)
	}
	b := s.batch[:size]
	if err := c.plaintextAt(b, s.pOff); err != nil {
		return err
	}
	s.mode.CryptBlocks(b, b)
	s.pOff += size
	s.buf = b
	return nil
}

// plaintextAt fills b with the CBC input at offset off: header, then the
// file, then PKCS#7 padding.
func (c *ciphertext) plaintextAt(b []byte, off int64) error {
	h := int64(len(c.header))
	for len(b) > 0 {
		switch {
		case off < h:
			k := copy(b, c.header[off:])
			b, off = b[k:], off+int64(k)
		case off < h+c.srcSize:
			want := min(int64(len(b)), h+c.srcSize-off)
			k, err := c.src.ReadAt(b[:want], off-h)
			if int64(k) < want {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("read local archive at %d: %w", off-h, err)
			}
			b, off = b[want:], off+want
		default:
			pad := byte(c.plainSize() - h - c.srcSize)
			for i := range b {
				b[i] = pad
			}
			return nil
		}
	}
	return nil
}

// Seek supports what HTTP clients do with a body: rewind for a retry, and
// measure the length. Any other position is reached by re-encrypting.
func (s *section) Seek(offset int64, whence int) (int64, error) {
	var target int64
	switch whence {
	case io.SeekStart:
		target = offset
	case io.SeekCurrent:
		target = s.pos + offset
	case io.SeekEnd:
		target = s.n + offset
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if target < 0 || target > s.n {
		return 0, fmt.Errorf("seek to %d outside section of %d bytes", target, s.n)
	}
	if target == s.pos {
		return target, nil
	}
	if target == s.n {
		// Measuring the length: nothing to encrypt, every Read is EOF.
		s.pos, s.buf = s.n, s.buf[:0]
		return target, nil
	}
	if target < s.pos {
		s.reset()
	}
	if _, err := io.CopyN(io.Discard, s, target-s.pos); err != nil {
		return 0, err
	}
	return target, nil
}

// stream produces the ciphertext from its start, in order, encrypting each
// plaintext byte once; it remembers the last ciphertext block it produced,
// the chaining value of what follows (a part's chain, for re-deriving the
// next part with section).
type stream struct {
	c    *ciphertext
	mode cipher.BlockMode // nil: not encrypted
	off  int64            // next ciphertext offset
	last []byte           // the newest block of ciphertext produced
}

func (c *ciphertext) stream() *stream {
	s := &stream{c: c}
	if c.block != nil {
		s.mode = cipher.NewCBCEncrypter(c.block, c.iv)
		s.last = make([]byte, c.block.BlockSize())
	}
	return s
}

// read fills p with the next len(p) bytes of ciphertext. Unless p reaches
// the end, the position after it must be block aligned after the IV (part
// sizes and batch sizes are multiples of every block size).
func (s *stream) read(p []byte) error {
	c := s.c
	if int64(len(p)) > c.Size()-s.off {
		return fmt.Errorf("read %d bytes at %d: the ciphertext has %d", len(p), s.off, c.Size())
	}
	if c.block == nil {
		k, err := c.src.ReadAt(p, s.off)
		if k < len(p) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read local archive at %d: %w", s.off+int64(k), err)
		}
		s.off += int64(len(p))
		return nil
	}
	bs := c.block.BlockSize()
	ivLen := int64(len(c.iv))
	q := p
	if s.off < ivLen {
		k := copy(q, c.iv[s.off:])
		q = q[k:]
		s.off += int64(k)
	}
	if len(q)%bs != 0 {
		return fmt.Errorf("read of %d bytes at %d is not block aligned", len(q), s.off)
	}
	if len(q) > 0 {
		if err := c.plaintextAt(q, s.off-ivLen); err != nil {
			return err
		}
		s.mode.CryptBlocks(q, q)
		s.off += int64(len(q))
	}
	if len(p) >= bs {
		copy(s.last, p[len(p)-bs:])
	} else {
		copy(s.last, s.last[len(p):])
		copy(s.last[bs-len(p):], p)
	}
	return nil
}

// chain is the ciphertext block before the stream's position, as section
// wants it (nil when not encrypted).
func (s *stream) chain() []byte {
	if s.last == nil {
		return nil
	}
	return append([]byte(nil), s.last...)
}
