package pipeline

// A multipart upload: the in-order pass that makes each part once, the
// workers that hash and send the parts, and the rule for parts the last run
// had on the wire. upload.go says how the whole fits together and what it
// holds in memory.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"freezer/aws"
	"freezer/aws/treehash"
)

// part is one part of a multipart upload, as the in-order pass makes it.
type part struct {
	n     int
	start int64
	size  int64
	chain []byte // ciphertext block before start (nil for the first part)
	data  []byte // the ciphertext, when buffered; nil: re-derived from chain
	tree  [32]byte
	// linear is the part's SHA-256 in hex; "" until computed.
	linear string
	hashed bool // tree (and linear) are set
}

// multipart is one multipart upload in progress.
type multipart struct {
	g     Uploader
	req   UploadRequest
	ct    *ciphertext
	rec   UploadRecord
	what  string
	begun time.Time
	log   zerolog.Logger

	have     map[int64]string // parts Glacier listed at the start: start → tree hash
	inFlight map[int]bool     // parts the last run sent whole without recording the answer
	pool     chan []byte      // free part buffers; nil: parts are not buffered
	wait     bool             // the pool has a buffer for every sender: wait for one
	hashes   [][32]byte       // every part's tree hash, by number
	sent     atomic.Int64
	kept     atomic.Int64
	deferred chan *part    // in-flight parts, asked about again after the others
	done     chan accepted // parts Glacier accepted, for the journal
}

func (m *multipart) run(ctx context.Context, resumed bool) (UploadResult, error) {
	size := m.ct.Size()
	resumed, err := m.open(ctx, resumed)
	if err != nil {
		return UploadResult{}, err
	}
	m.prepare()
	m.deferred = make(chan *part, len(m.hashes))
	stopDone := m.recordDone(ctx)
	err = m.pass(ctx, m.handle)
	if err == nil {
		close(m.deferred)
		err = m.settle(ctx)
	}
	if derr := stopDone(); err == nil && derr != nil {
		err = fmt.Errorf("%s: %w", m.what, derr)
	}
	if err != nil {
		return UploadResult{}, err
	}

	tree := treehash.Hex(treehash.Combine(m.hashes))
	id, err := m.g.CompleteMultipartUpload(ctx, m.req.Vault, m.rec.UploadID, size, tree)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: complete multipart upload %s: %w", m.what, m.rec.UploadID, err)
	}
	if err := m.req.Journal.Finish(ctx); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", m.what, err)
	}
	res := UploadResult{ArchiveID: id, TreeHash: tree, Size: size, Resumed: resumed,
		PartsSent: int(m.sent.Load()), PartsKept: int(m.kept.Load())}
	m.log.Debug().Str("archive_id", id).Int("sent", res.PartsSent).Int("kept", res.PartsKept).Msg("multipart upload complete")
	return res, nil
}

// prepare sizes the table of part hashes and the pool of part buffers
// (each allocated on first use).
func (m *multipart) prepare() {
	size, ps := m.ct.Size(), m.rec.PartSize
	m.hashes = make([][32]byte, (size+ps-1)/ps)
	n := min(int64(m.req.Threads+1), uploadBufferBudget/ps)
	if n >= 2 {
		m.pool = make(chan []byte, n)
		for range n {
			m.pool <- nil
		}
		m.wait = n == int64(m.req.Threads+1)
	}
}

// pass runs the in-order pass that makes every part, and Threads workers
// that take them.
func (m *multipart) pass(ctx context.Context, work func(context.Context, *part) error) error {
	todo := make(chan *part, m.req.Threads)
	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error {
		defer close(todo)
		return m.produce(gctx, todo)
	})
	runWorkers(gctx, grp, m.req.Threads, m.req.Slots, todo, work)
	return grp.Wait()
}

// open learns which parts Glacier holds for a recorded upload, or starts a
// new one (also when Glacier forgot the recorded one). It reports whether
// the upload is a resumed one.
func (m *multipart) open(ctx context.Context, resumed bool) (bool, error) {
	// The journal may miss the last parts (a crash between Glacier's answer
	// and the journal write), so ListParts is what counts; the journal only
	// says an upload exists and which parts may still be on their way.
	m.have = map[int64]string{}
	m.inFlight = map[int]bool{}
	if resumed && m.rec.UploadID == "" {
		// The last run was killed between asking Glacier for an upload and
		// recording its id: find that upload (no part can have been sent
		// to it) rather than leave it behind and start another.
		id, err := m.findStarted(ctx)
		if err != nil {
			return false, err
		}
		if id == "" {
			resumed = false
		} else {
			m.rec.UploadID, m.rec.Parts, m.rec.Started = id, nil, nil
			if err := m.req.Journal.Start(ctx, m.rec); err != nil {
				return false, fmt.Errorf("%s: %w", m.what, err)
			}
			m.log.Info().Str("upload", id).Msg("found the upload an interrupted run had started but not recorded")
		}
	}
	if resumed {
		parts, _, err := m.g.ListParts(ctx, m.req.Vault, m.rec.UploadID)
		switch {
		case aws.IsNotFound(err):
			// Glacier dropped the idle upload (after about a day); the same
			// ciphertext goes up under a new id.
			m.log.Warn().Str("upload", m.rec.UploadID).Msg("Glacier no longer knows the recorded upload; starting it again")
			resumed = false
		case err != nil:
			return false, fmt.Errorf("%s: list uploaded parts of %s: %w", m.what, m.rec.UploadID, err)
		default:
			for _, p := range parts {
				m.have[p.Start] = p.TreeHash
			}
			for n, h := range m.rec.Started {
				if m.have[int64(n)*m.rec.PartSize] == h {
					// It arrived after all; record it so that it stops
					// counting as in flight.
					if err := m.req.Journal.PartDone(ctx, n, h); err != nil {
						return false, fmt.Errorf("%s: %w", m.what, err)
					}
					continue
				}
				m.inFlight[n] = true
			}
		}
	}
	if !resumed {
		// Recorded first without an id (the IV and header are what a
		// resumed run needs to make the same bytes), so that a run killed
		// before the id is recorded can find the upload it started.
		m.rec.UploadID, m.rec.Parts, m.rec.Started = "", nil, nil
		if err := m.req.Journal.Start(ctx, m.rec); err != nil {
			return false, fmt.Errorf("%s: %w", m.what, err)
		}
		id, err := m.g.InitiateMultipartUpload(ctx, m.req.Vault, m.req.Description, m.rec.PartSize)
		if err != nil {
			return false, fmt.Errorf("%s: start multipart upload: %w", m.what, err)
		}
		m.rec.UploadID = id
		if err := m.req.Journal.Start(ctx, m.rec); err != nil {
			// Without a record a crash would leave an upload nobody resumes.
			_ = m.g.AbortMultipartUpload(context.WithoutCancel(ctx), m.req.Vault, id)
			return false, fmt.Errorf("%s: %w", m.what, err)
		}
		m.log.Debug().Str("upload", id).Int64("part_size", m.rec.PartSize).Int64("size", m.ct.Size()).Msg("multipart upload started")
		return false, nil
	}
	m.log.Info().Str("upload", m.rec.UploadID).Int("parts_held", len(m.have)).Int("parts_in_flight", len(m.inFlight)).Msg("resuming multipart upload")
	return true, nil
}

// produce is the in-order pass: it encrypts every part once, into a part
// buffer, or (unbuffered) hashing it as it goes, and hands it on.
func (m *multipart) produce(ctx context.Context, out chan<- *part) error {
	size, ps := m.ct.Size(), m.rec.PartSize
	s := m.ct.stream()
	var batch []byte
	for n, start := 0, int64(0); start < size; n, start = n+1, start+ps {
		p := &part{n: n, start: start, size: min(ps, size-start)}
		if start > 0 {
			p.chain = s.chain()
		}
		buf, ok, err := m.buffer(ctx)
		if err != nil {
			return err
		}
		if ok {
			if buf == nil {
				buf = make([]byte, ps)
			}
			p.data = buf[:p.size]
			if err := s.read(p.data); err != nil {
				m.pool <- buf
				return err
			}
		} else {
			if batch == nil {
				batch = make([]byte, hashBatch)
			}
			h := treehash.New()
			for left := p.size; left > 0; {
				if err := ctx.Err(); err != nil {
					return err
				}
				b := batch[:min(left, int64(len(batch)))]
				if err := s.read(b); err != nil {
					return err
				}
				h.Write(b)
				left -= int64(len(b))
			}
			lin, tree := h.Sum()
			p.linear, p.tree, p.hashed = hex.EncodeToString(lin[:]), tree, true
		}
		select {
		case out <- p:
		case <-ctx.Done():
			m.release(p)
			return ctx.Err()
		}
	}
	return nil
}

// buffer takes a part buffer from the pool (nil: not yet allocated): it
// waits for one when the pool has one for every sender, else takes one
// only if free. ok is false when the part goes unbuffered.
func (m *multipart) buffer(ctx context.Context) (buf []byte, ok bool, err error) {
	if m.pool == nil {
		return nil, false, nil
	}
	if !m.wait {
		select {
		case buf = <-m.pool:
			return buf, true, nil
		default:
			return nil, false, nil
		}
	}
	select {
	case buf = <-m.pool:
		return buf, true, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// release gives a part's buffer back to the pool.
func (m *multipart) release(p *part) {
	if p.data != nil && m.pool != nil {
		m.pool <- p.data[:cap(p.data)]
	}
	p.data = nil
}

// handle hashes a part (when the in-order pass did not), keeps it when
// Glacier has it, puts it aside when the last run may have delivered it,
// and sends it otherwise.
func (m *multipart) handle(ctx context.Context, p *part) error {
	defer m.release(p)
	held, listed := m.have[p.start]
	if !p.hashed {
		if listed {
			// Most likely kept: the tree hash alone decides.
			t := treehash.NewTree()
			t.Write(p.data)
			_, p.tree = t.Sum()
		} else {
			p.linear, p.tree = hashBoth(p.data)
		}
		p.hashed = true
	}
	m.hashes[p.n] = p.tree
	if listed && held == treehash.Hex(p.tree) {
		m.kept.Add(1)
		if m.req.Progress != nil {
			m.req.Progress(p.size)
		}
		return nil
	}
	if p.linear == "" {
		p.linear = sha256Hex(p.data)
	}
	if m.inFlight[p.n] {
		// Asked about again at the end; sent then (re-derived) if missing.
		m.release(p)
		m.deferred <- p
		return nil
	}
	return m.send(ctx, p)
}

// send uploads one part and records it. The part is marked started just
// before the last bytes of its body leave, so a part the journal does not
// list as started never reached Glacier whole and cannot be accepted later.
func (m *multipart) send(ctx context.Context, p *part) error {
	var body io.ReadSeeker
	if p.data != nil {
		pb := &partBody{r: bytes.NewReader(p.data)}
		defer pb.close()
		body = pb
	} else {
		s, err := m.ct.section(p.start, p.size, p.chain)
		if err != nil {
			return fmt.Errorf("%s: %w", m.what, err)
		}
		body = s
	}
	th := treehash.Hex(p.tree)
	body = &markedBody{r: body, size: p.size, mark: func() error {
		return m.req.Journal.PartStarted(ctx, p.n, th)
	}}
	if err := m.g.UploadPart(ctx, m.req.Vault, m.rec.UploadID, p.start, progressReader(body, m.req.Progress), p.size, th, p.linear); err != nil {
		return fmt.Errorf("%s: part %d (bytes %d-%d): %w", m.what, p.n, p.start, p.start+p.size-1, err)
	}
	m.done <- accepted{p.n, th}
	m.sent.Add(1)
	return nil
}

// accepted is a part Glacier accepted, for the journal.
type accepted struct {
	n    int
	tree string
}

// recordDone writes accepted parts to the journal off the senders' path
// (each write is a durable transaction). The record may lag behind Glacier
// without harm: a resumed upload asks ListParts, and a part marked started
// that Glacier lists is kept at once. It returns the function that waits
// for the last write, and reports the first failure; accepted parts are
// recorded even while the upload is being cancelled.
func (m *multipart) recordDone(ctx context.Context) (stop func() error) {
	m.done = make(chan accepted, len(m.hashes))
	ctx = context.WithoutCancel(ctx)
	finished := make(chan error, 1)
	go func() {
		var first error
		for a := range m.done {
			if err := m.req.Journal.PartDone(ctx, a.n, a.tree); err != nil && first == nil {
				first = err
			}
		}
		finished <- first
	}()
	return func() error {
		close(m.done)
		return <-finished
	}
}

// settle waits for the parts the last run had sent whole (see awaitParts)
// and sends those Glacier still lacks.
func (m *multipart) settle(ctx context.Context) error {
	var parts []*part
	for p := range m.deferred {
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil
	}
	settle := m.req.SettleWait
	if settle <= 0 {
		settle = 10 * time.Second
	}
	missing, err := awaitParts(ctx, m.g, m.req.Vault, m.rec.UploadID, parts, m.begun.Add(settle))
	if err != nil {
		return fmt.Errorf("%s: %w", m.what, err)
	}
	m.kept.Add(int64(len(parts) - len(missing)))
	if m.req.Progress != nil {
		for _, p := range parts {
			if !slices.Contains(missing, p) {
				m.req.Progress(p.size)
			}
		}
	}
	if len(missing) > 0 {
		m.log.Info().Int("parts", len(missing)).Msg("parts in flight when the last run stopped never arrived; sending them again")
	}
	todo := make(chan *part, len(missing))
	for _, p := range missing {
		todo <- p
	}
	close(todo)
	grp, gctx := errgroup.WithContext(ctx)
	runWorkers(gctx, grp, m.req.Threads, m.req.Slots, todo, m.send)
	return grp.Wait()
}

// awaitParts polls ListParts, with a short and growing pause, until Glacier
// lists every given part with its tree hash, or deadline passes; it returns
// the parts still missing.
//
// Why this is enough. The parts asked about are those the journal marks as
// started but not done. A part is marked started just before the last bytes
// of its body are handed to the connection, so a part that is not marked
// never left its process whole: Glacier needs every byte of a part (its
// length and tree hash are checked), so such a part can never be accepted
// and is sent again without waiting. A marked part may have left whole: its
// bytes were then in the dead process's socket buffer (a few MiB at most) or
// on the wire when this run started, and Glacier accepts it once they
// arrive and it has stored them. That takes moments on a working connection,
// so the wait ends as soon as ListParts shows the part, and at the latest at
// deadline (SettleWait after this run began, well beyond what a socket
// buffer needs). Asking only after every other part was sent makes the wait
// rare. Should a marked part still arrive after the deadline, it arrives
// next to the copy sent again: Glacier keeps the last part received for a
// range, and both hold the same bytes with the same tree hash, so the
// archive is right either way; only the bandwidth of one part is lost.
func awaitParts(ctx context.Context, g Uploader, vault, uploadID string, parts []*part, deadline time.Time) ([]*part, error) {
	pause := 50 * time.Millisecond
	for {
		listed, _, err := g.ListParts(ctx, vault, uploadID)
		if err != nil {
			return nil, fmt.Errorf("list uploaded parts of %s: %w", uploadID, err)
		}
		have := make(map[int64]string, len(listed))
		for _, p := range listed {
			have[p.Start] = p.TreeHash
		}
		var missing []*part
		for _, p := range parts {
			if have[p.start] != treehash.Hex(p.tree) {
				missing = append(missing, p)
			}
		}
		left := time.Until(deadline)
		if len(missing) == 0 || left <= 0 {
			return missing, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(pause, left)):
		}
		pause = min(2*pause, time.Second)
	}
}

// partBody serves a part buffer as a request body until closed. An HTTP
// transport may go on reading a body after the call returned (when the
// server answered early); once closed, the body gives nothing more, so the
// buffer can be refilled with the next part.
type partBody struct {
	mu     sync.Mutex
	r      *bytes.Reader
	closed bool
}

var errBodyClosed = errors.New("part body read after its request ended")

func (b *partBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	return b.r.Read(p)
}

func (b *partBody) Seek(off int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	return b.r.Seek(off, whence)
}

func (b *partBody) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// markedBody calls mark once before handing over the last bytes of a body
// of size bytes; an error from mark fails the read, so those bytes never
// leave.
type markedBody struct {
	r      io.ReadSeeker
	size   int64
	pos    int64
	mark   func() error
	marked bool
}

func (b *markedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 && !b.marked && b.pos+int64(n) >= b.size {
		if merr := b.mark(); merr != nil {
			return 0, merr
		}
		b.marked = true
	}
	b.pos += int64(n)
	return n, err
}

func (b *markedBody) Seek(off int64, whence int) (int64, error) {
	pos, err := b.r.Seek(off, whence)
	if err == nil {
		b.pos = pos
	}
	return pos, err
}

// findStarted looks in Glacier for the multipart upload a killed run
// started for this archive before recording its id: the newest with the
// archive's description and part size.
func (m *multipart) findStarted(ctx context.Context) (string, error) {
	ups, err := m.g.ListMultipartUploads(ctx, m.req.Vault)
	if err != nil {
		return "", fmt.Errorf("%s: list multipart uploads: %w", m.what, err)
	}
	var best aws.Upload
	for _, u := range ups {
		if u.Description == m.req.Description && u.PartSize == m.rec.PartSize && !u.Created.Before(best.Created) {
			best = u
		}
	}
	return best.ID, nil
}
