package compress

import (
	"fmt"
	"io"

	"github.com/dsnet/compress/bzip2"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

const (
	// gzipBlockSize is pgzip's unit of parallel work. Each block in flight
	// holds its input, its output and a deflate state (~1 MiB each), so
	// 2 blocks per thread keep every core busy at ~6 MiB per thread.
	gzipBlockSize = 1 << 20
	// zstdWindow bounds the zstd back-reference window (the CLI uses
	// 8 MiB at level 3); the whole encoder then stays near 12 MiB.
	//
	// klauspost/compress can also cut a stream into jobs compressed in
	// parallel (WithConcurrentBlocks). Measured with v1.20 it took about
	// twice the CPU of one stream and ~32 MiB per thread, so it is not
	// used: one stream runs at 200+ MB/s, faster than any upload.
	zstdWindow = 4 << 20
)

// NewWriter returns a writer that compresses into w with alg. Close must be
// called, also after an error: it flushes the stream's trailer and stops
// every goroutine the writer started. Close never closes w.
//
// A write error may be reported by a later Write or only by Close; output
// written before a failed Close is garbage.
func NewWriter(w io.Writer, alg Algorithm, opts Options) (io.WriteCloser, error) {
	if err := alg.Validate(); err != nil {
		return nil, err
	}
	opts, err := opts.resolve(alg)
	if err != nil {
		return nil, err
	}
	switch alg {
	case None:
		return nopWriteCloser{w}, nil
	case Gzip:
		return newGzipWriter(w, opts)
	case Bzip2:
		if opts.Threads > 1 {
			return newParallelBzip2(w, opts.Level, opts.Threads), nil
		}
		zw, err := bzip2.NewWriter(w, &bzip2.WriterConfig{Level: opts.Level})
		if err != nil {
			return nil, fmt.Errorf("bzip2 writer: %w", err)
		}
		return zw, nil
	case Zstd:
		zw, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(opts.Level)),
			zstd.WithEncoderConcurrency(opts.Threads),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderCRC(true))
		if err != nil {
			return nil, fmt.Errorf("zstd writer: %w", err)
		}
		return zw, nil
	}
	panic("unreachable: validated algorithm " + string(alg))
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func newGzipWriter(w io.Writer, opts Options) (io.WriteCloser, error) {
	if opts.Threads == 1 {
		// One deflate stream with no block boundaries: a slightly better
		// ratio and no goroutines.
		zw, err := kgzip.NewWriterLevel(w, opts.Level)
		if err != nil {
			return nil, fmt.Errorf("gzip writer: %w", err)
		}
		return zw, nil
	}
	zw, err := pgzip.NewWriterLevel(w, opts.Level)
	if err != nil {
		return nil, fmt.Errorf("gzip writer: %w", err)
	}
	if err := zw.SetConcurrency(gzipBlockSize, 2*opts.Threads); err != nil {
		return nil, fmt.Errorf("gzip writer: %w", err)
	}
	return &pgzipWriter{zw}, nil
}

// pgzipWriter makes Close release pgzip's goroutines after an error too:
// pgzip's own Close returns early on an earlier error and leaves its output
// goroutine waiting forever.
type pgzipWriter struct{ *pgzip.Writer }

func (p *pgzipWriter) Close() error {
	err := p.Writer.Close()
	if err != nil {
		// Reset closes the result queue and waits for the goroutines;
		// the writer is then idle and never started again.
		p.Writer.Reset(io.Discard)
	}
	return err
}
