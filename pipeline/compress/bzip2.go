package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/dsnet/compress/bzip2"
)

// parallelBzip2 compresses like pbzip2: the input is cut into chunks of one
// bzip2 block each, every chunk becomes a complete bzip2 stream compressed
// on its own goroutine, and the streams are written to w in input order.
// Concatenated streams are a valid bzip2 file for bzip2(1), pbzip2, lbzip2,
// Python and Go readers. A truncation exactly between two streams is not
// visible to bzip2 itself; the tar layer above catches it (a tar must end
// with its end-of-archive blocks).
type parallelBzip2 struct {
	w     io.Writer
	level int
	chunk int

	jobs    chan *bzJob // to the workers
	pending chan *bzJob // in input order, bounded: the memory limit
	workers sync.WaitGroup
	cur     []byte
	free    chan []byte // recycled input buffers
	err     error       // first error; sticky
	closed  bool
	started bool // a chunk was submitted
}

type bzJob struct {
	in   []byte
	out  bytes.Buffer
	err  error
	done chan struct{}
}

func newParallelBzip2(w io.Writer, level, threads int) *parallelBzip2 {
	// A chunk a little under the block size, so that run-length encoding
	// expanding runs of exactly four bytes never spills into a second
	// small block.
	chunk := level * 100_000 * 9 / 10
	p := &parallelBzip2{
		w:       w,
		level:   level,
		chunk:   chunk,
		jobs:    make(chan *bzJob),
		pending: make(chan *bzJob, 2*threads),
		free:    make(chan []byte, 2*threads+1),
	}
	p.workers.Add(threads)
	for range threads {
		go p.work()
	}
	return p
}

// work compresses jobs until the jobs channel is closed (by Close).
func (p *parallelBzip2) work() {
	defer p.workers.Done()
	var zw *bzip2.Writer
	for j := range p.jobs {
		if zw == nil {
			var err error
			zw, err = bzip2.NewWriter(&j.out, &bzip2.WriterConfig{Level: p.level})
			if err != nil {
				j.err = err
				close(j.done)
				continue
			}
		} else {
			_ = zw.Reset(&j.out) // dsnet's Reset cannot fail
		}
		if _, err := zw.Write(j.in); err != nil {
			j.err = err
		} else {
			j.err = zw.Close()
		}
		close(j.done)
	}
}

func (p *parallelBzip2) Write(b []byte) (int, error) {
	if p.closed {
		return 0, errors.New("bzip2: write after close")
	}
	n := 0
	for len(b) > 0 {
		if p.err != nil {
			return n, p.err
		}
		if p.cur == nil {
			p.cur = p.buffer()
		}
		k := min(len(b), p.chunk-len(p.cur))
		p.cur = append(p.cur, b[:k]...)
		b = b[k:]
		n += k
		if len(p.cur) == p.chunk {
			p.submit()
		}
	}
	return n, p.err
}

func (p *parallelBzip2) buffer() []byte {
	select {
	case b := <-p.free:
		return b[:0]
	default:
		return make([]byte, 0, p.chunk)
	}
}

// submit hands the current chunk to a worker, first writing out the oldest
// finished streams when the pending queue is full.
func (p *parallelBzip2) submit() {
	j := &bzJob{in: p.cur, done: make(chan struct{})}
	p.cur = nil
	p.started = true
	for len(p.pending) == cap(p.pending) {
		p.flushOldest()
	}
	p.pending <- j
	p.jobs <- j
}

// flushOldest waits for the oldest job and writes its stream to w.
func (p *parallelBzip2) flushOldest() {
	j := <-p.pending
	<-j.done
	select {
	case p.free <- j.in:
	default:
	}
	if p.err != nil {
		return
	}
	if j.err != nil {
		p.err = fmt.Errorf("bzip2: %w", j.err)
		return
	}
	if _, err := p.w.Write(j.out.Bytes()); err != nil {
		p.err = err
	}
}

// Close writes the last chunk, waits for all streams and stops the
// workers. An input of zero bytes still gives one (empty) bzip2 stream so
// the output is a valid bzip2 file.
func (p *parallelBzip2) Close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	if p.err == nil && (len(p.cur) > 0 || !p.started) {
		if p.cur == nil {
			p.cur = p.buffer()
		}
		p.submit()
	}
	for len(p.pending) > 0 {
		p.flushOldest()
	}
	close(p.jobs)
	p.workers.Wait()
	return p.err
}
