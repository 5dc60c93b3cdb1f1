package compress

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

const (
	// zstdMaxWindow is the largest zstd window accepted when reading: the
	// same limit as the zstd tool without --memory or --long=N, so any
	// stream the tool reads by default reads here, and a hostile header
	// cannot make us allocate gigabytes.
	zstdMaxWindow = 1 << 27
	// gzipReadAhead: pgzip decompresses on its own goroutine into this
	// many blocks of gzipBlockSize ahead of the reader.
	gzipReadAhead = 4
	inputBuffer   = 64 << 10
)

// NewReader returns a reader of the data compressed in r with alg. It
// verifies every checksum the format carries and fails with an error on
// damaged or truncated input; concatenated gzip members, bzip2 streams and
// zstd frames are read to the end, as the standard tools do. Trailing bytes
// that are not another member are an error. An empty input is an error for
// every algorithm but None.
//
// Close stops the reader's goroutines; it never closes r.
func NewReader(r io.Reader, alg Algorithm) (io.ReadCloser, error) {
	if err := alg.Validate(); err != nil {
		return nil, err
	}
	if alg == None {
		return io.NopCloser(r), nil
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, inputBuffer)
	}
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %s stream: empty input: %w", alg, err)
	}
	switch alg {
	case Gzip:
		zr, err := pgzip.NewReaderN(br, gzipBlockSize, gzipReadAhead)
		if err != nil {
			return nil, wrapReadErr(alg, err)
		}
		return &reader{alg: alg, r: zr, close: zr.Close}, nil
	case Bzip2:
		zr, err := bzip2.NewReader(br, nil)
		if err != nil {
			return nil, wrapReadErr(alg, err)
		}
		return &reader{alg: alg, r: zr, close: func() error { zr.Close(); return nil }}, nil
	case Zstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderConcurrency(2))
		if err != nil {
			return nil, wrapReadErr(alg, err)
		}
		return &reader{alg: alg, r: zr, close: func() error { zr.Close(); return nil }}, nil
	}
	panic("unreachable: validated algorithm " + string(alg))
}

// reader adds the algorithm to errors and makes Close idempotent.
type reader struct {
	alg    Algorithm
	r      io.Reader
	close  func() error
	err    error
	closed bool
}

func (z *reader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.closed {
		return 0, fmt.Errorf("reading %s stream: read after close", z.alg)
	}
	n, err := z.r.Read(p)
	if err != nil {
		if err != io.EOF {
			err = wrapReadErr(z.alg, err)
		}
		z.err = err
	}
	return n, err
}

func (z *reader) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	// The decoders report a stream error again at Close; Read already
	// returned it, so it is not repeated here.
	_ = z.close()
	return nil
}

func wrapReadErr(alg Algorithm, err error) error {
	if err == io.EOF {
		// A decoder that meets the end of input where a header or
		// trailer belongs: the stream was cut short.
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading %s stream: data ends early (truncated archive): %w", alg, err)
	}
	return fmt.Errorf("reading %s stream: %w", alg, err)
}

// Magic numbers, from RFC 1952 (gzip), the bzip2 format (stream header
// "BZh" + level digit, then a block magic π or the end-of-stream magic √π)
// and RFC 8878 (zstd frames and skippable frames, which pzstd writes first).
var (
	gzipMagic       = []byte{0x1f, 0x8b, 0x08}
	bzip2Magic      = []byte("BZh")
	bzip2BlockMagic = []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}
	bzip2EndMagic   = []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90}
	zstdMagic       = []byte{0x28, 0xb5, 0x2f, 0xfd}
	zstdSkipMagic   = []byte{0x2a, 0x4d, 0x18} // after a byte 0x50..0x5f

	// Formats recognised only to refuse them with a useful message.
	xzMagic       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	lz4Magic      = []byte{0x04, 0x22, 0x4d, 0x18}
	lzipMagic     = []byte("LZIP")
	unixZMagic    = []byte{0x1f, 0x9d}
	unixPackMagic = []byte{0x1f, 0xa0}
)

// Detect looks at the first bytes of r, without consuming them, and names
// the compression they start. Input that matches no compression magic is
// None (a plain tar, or something that is no archive at all, which the tar
// reader will then reject); an empty input is None too. Formats freezer
// cannot read (xz, lz4, lzip, compress) are an error naming the tool that
// can.
func Detect(r *bufio.Reader) (Algorithm, error) {
	b, err := r.Peek(10)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("detecting compression: %w", err)
	}
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		return Gzip, nil
	case len(b) >= 10 && bytes.HasPrefix(b, bzip2Magic) && b[3] >= '1' && b[3] <= '9' &&
		(bytes.Equal(b[4:10], bzip2BlockMagic) || bytes.Equal(b[4:10], bzip2EndMagic)):
		return Bzip2, nil
	case bytes.HasPrefix(b, zstdMagic),
		len(b) >= 4 && b[0]&0xf0 == 0x50 && bytes.Equal(b[1:4], zstdSkipMagic):
		return Zstd, nil
	case bytes.HasPrefix(b, xzMagic):
		return "", errors.New("input is xz-compressed, which freezer does not read: decompress it with `xz -d` first")
	case bytes.HasPrefix(b, lz4Magic):
		return "", errors.New("input is lz4-compressed, which freezer does not read: decompress it with `lz4 -d` first")
	case bytes.HasPrefix(b, lzipMagic):
		return "", errors.New("input is lzip-compressed, which freezer does not read: decompress it with `lzip -d` first")
	case bytes.HasPrefix(b, unixZMagic), bytes.HasPrefix(b, unixPackMagic):
		return "", errors.New("input is in the old Unix compress/pack format, which freezer does not read: decompress it with `gzip -d` first")
	}
	return None, nil
}

// NewDetectingReader detects the compression of r (see Detect) and returns
// a reader of its decompressed bytes together with the algorithm found.
func NewDetectingReader(r io.Reader) (io.ReadCloser, Algorithm, error) {
	br := bufio.NewReaderSize(r, inputBuffer)
	alg, err := Detect(br)
	if err != nil {
		return nil, "", err
	}
	if alg == None {
		return io.NopCloser(br), None, nil
	}
	zr, err := NewReader(br, alg)
	if err != nil {
		return nil, "", err
	}
	return zr, alg, nil
}
