package pipeline

// A download turns a retrieval job's output into the local archive file.
// What it guarantees, and where each guarantee is kept:
//
//   - Range check (fetchRange): every range's bytes match the tree hash
//     Glacier sends with them, else the range is fetched again, a bounded
//     number of times.
//   - Whole check (Download): the ranges' tree hashes combine into the
//     archive's tree hash.
//   - Plaintext check (checkPlaintext, sequence): the padding and random
//     header are well formed, and the SHA-256 recorded at upload matches
//     — the bytes are, to the bit, the ones freezer built. An
//     archive whose SHA-256 is unknown (found in an inventory, made by
//     another tool) is instead decompressed and read as a tar to its end.
//   - Atomic install (install): only when all three checks passed is the
//     spool renamed over Dest. Nothing partial is ever installed; on any
//     failure Dest is untouched.
//   - Resume (spool.go): verified ranges are journalled beside the spool,
//     each after its data is synced; a rerun of the same job re-verifies
//     them from the spool and fetches only the others. A spool whose
//     content proved wrong as a whole is removed, and so is one holding no
//     verified range; one interrupted (context cancelled, a range failing
//     again and again) is kept for the rerun.
//
// The work runs side by side: Threads workers fetch ranges, tree-hash them,
// decrypt them and write the plaintext straight to its place in the spool
// (CBC decryption of a range needs only the ciphertext block before it, so
// ranges decrypt independently: each range's first block waits for the last
// block of the range before, and is put in place by sequence). Behind them,
// the plaintext is read in order as ranges complete: by one goroutine for
// the SHA-256, by another for the decompression check. The first range is
// fetched before the others start, because it holds the random header
// whose length places every other byte.
//
// Memory: one 256 KiB buffer per worker, about 150 bytes per range (at most
// 10,000 ranges: the range size is raised like the upload's part size),
// and the decompressor's buffers. Nothing grows with the archive; the
// plaintext goes to disk once, and the spool becomes the local file.

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/google/renameio/v2"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"freezer/aws"
	"freezer/aws/treehash"
	"freezer/pipeline/compress"
	"freezer/pipeline/crypt"
	"freezer/pipeline/keys"
)

// OutputGetter is what a download needs from Glacier.
type OutputGetter interface {
	GetJobOutput(ctx context.Context, vault, jobID string, rangeStart, rangeEnd int64) (*aws.JobOutput, error)
}

// DownloadRequest is one finished retrieval job to install as a local file.
type DownloadRequest struct {
	Vault, Name string // for messages
	JobID       string
	Size        int64  // bytes in Glacier
	TreeHash    string // the archive's tree hash (from the catalog, else the job)
	Key         *keys.Key
	// Compression is the archive's. When SHA256 is unknown the archive is
	// checked by decompressing it ("" skips that too: archives of other
	// tools).
	Compression compress.Algorithm
	// SHA256 is the local file's SHA-256 recorded at upload; "" when
	// unknown. It is the stronger check: when it matches, decompressing
	// would prove nothing more, and the download is not held to the speed
	// of a decompressor (gzip's is sequential).
	SHA256 string
	Dest   string // the local archive file to create or replace
	// TempDir holds the spool (named after the job) and its journal; on
	// the same filesystem as Dest, the spool is renamed into place.
	TempDir string
	Chunk   int64 // range size, 1 MiB × 2ⁿ (raised for archives of more than 10,000 ranges)
	Threads int
	Slots   Slots // nil: Threads workers run freely
	// Attempts bounds how often one range is fetched when its bytes do
	// not match their tree hash (default 4).
	Attempts int
	Progress func(n int64)
	Logger   zerolog.Logger
}

// DownloadResult describes the installed file.
type DownloadResult struct {
	Size    int64 // of the local file
	SHA256  string
	Retries int   // ranges fetched again after a mismatch or a broken transfer
	Reused  int64 // bytes an interrupted run had verified, not fetched again
}

// ErrCorrupt marks downloaded bytes that did not match their tree hash.
var ErrCorrupt = errors.New("downloaded bytes do not match Glacier's tree hash")

// errContent marks a failure of the content as a whole (whole tree hash,
// padding, header, SHA-256, decompression): fetching the same ranges again
// cannot help, so the spool is removed.
type errContent struct{ error }

func (e errContent) Unwrap() error { return e.error }

// downloadBuffer is each worker's read size; a multiple of every block size.
const downloadBuffer = 256 << 10

// rangeInfo is one range of the download and, once verified, what the
// spool's journal says of it.
type rangeInfo struct {
	r     treehash.Range
	entry entry         // set before done is closed
	done  chan struct{} // closed once the range is verified and in the spool
	ready chan struct{} // closed once its plaintext is final (see sequence)
}

// downloader is one download in progress.
type downloader struct {
	g     OutputGetter
	req   DownloadRequest
	what  string
	head  journalHeader
	block cipher.Block // nil: not encrypted
	bs    int64
	hdr   int64 // the random header's length (RHL byte included); set once range 0 is verified
	// payload is where the payload ends in the spool; set before the last
	// range is ready.
	payload int64
	ranges  []*rangeInfo
	sp      *spool

	retries atomic.Int64
	reused  atomic.Int64
	kept    atomic.Int64 // ranges verified and in the spool
}

// Download fetches a retrieval job's output in tree-hash-aligned ranges, in
// parallel, checks and decrypts them into a spool, and installs it at Dest
// once every check passed (see the guarantees above).
func Download(ctx context.Context, g OutputGetter, req DownloadRequest) (DownloadResult, error) {
	d, err := newDownloader(g, req)
	if err != nil {
		return DownloadResult{}, err
	}
	sp, err := openSpool(req.TempDir, d.head)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("%s: job %s: %w", d.what, req.JobID, err)
	}
	d.sp = sp
	res, err := d.run(ctx)
	if err != nil {
		// Keep what a rerun can use: verified ranges of content that did
		// not prove wrong as a whole.
		var ec errContent
		if errors.As(err, &ec) || d.kept.Load() == 0 {
			sp.remove()
		} else {
			sp.close()
		}
		return DownloadResult{}, fmt.Errorf("%s: %w", d.what, err)
	}
	return res, nil
}

func newDownloader(g OutputGetter, req DownloadRequest) (*downloader, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	if req.Size <= 0 {
		return nil, fmt.Errorf("%s: archive size unknown", what)
	}
	if req.Threads < 1 {
		req.Threads = 1
	}
	if req.Attempts < 1 {
		req.Attempts = 4
	}
	if !treehash.ValidPartSize(req.Chunk) {
		return nil, fmt.Errorf("%s: download range size %d is not 1 MiB × 2ⁿ", what, req.Chunk)
	}
	chunk := partSizeFor(req.Size, req.Chunk)
	d := &downloader{g: g, req: req, what: what,
		head: journalHeader{Job: req.JobID, Vault: req.Vault, Name: req.Name, Size: req.Size, Chunk: chunk, Cipher: "none"}}
	if req.Key != nil {
		b, err := req.Key.Block()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		d.block, d.bs = b, int64(b.BlockSize())
		d.head.Cipher, d.head.Key = req.Key.Algorithm, req.Key.ID
		if req.Size < 2*d.bs || req.Size%d.bs != 0 {
			return nil, fmt.Errorf("%s: %w: %d bytes are not an IV and whole %d-byte blocks", what, crypt.ErrTruncated, req.Size, d.bs)
		}
	}
	for _, r := range treehash.Ranges(req.Size, chunk) {
		d.ranges = append(d.ranges, &rangeInfo{r: r, done: make(chan struct{}), ready: make(chan struct{})})
	}
	return d, nil
}

func (d *downloader) run(ctx context.Context) (DownloadResult, error) {
	if err := d.resume(ctx); err != nil {
		return DownloadResult{}, err
	}
	var todo []*rangeInfo
	for _, ri := range d.ranges {
		select {
		case <-ri.done:
		default:
			todo = append(todo, ri)
		}
	}
	d.sp.start()

	grp, gctx := errgroup.WithContext(ctx)
	var sum string
	var size int64
	grp.Go(func() error {
		var err error
		sum, size, err = d.checkPlaintext(gctx)
		return err
	})
	grp.Go(func() error {
		if len(todo) > 0 && todo[0] == d.ranges[0] {
			// The first range places every other byte: it goes alone, on
			// the task's own slot.
			if err := d.fetchRange(gctx, todo[0]); err != nil {
				return err
			}
			todo = todo[1:]
		}
		items := make(chan *rangeInfo, len(todo))
		for _, ri := range todo {
			items <- ri
		}
		close(items)
		runWorkers(gctx, grp, d.req.Threads, d.req.Slots, items, d.fetchRange)
		return nil
	})
	if err := grp.Wait(); err != nil {
		return DownloadResult{}, err
	}
	d.sp.finish()

	hashes := make([][32]byte, len(d.ranges))
	for i, ri := range d.ranges {
		hashes[i] = ri.entry.tree
	}
	if got := treehash.Hex(treehash.Combine(hashes)); d.req.TreeHash != "" && got != d.req.TreeHash {
		return DownloadResult{}, errContent{fmt.Errorf("%w: whole archive %s, expected %s", ErrCorrupt, got, d.req.TreeHash)}
	}
	if d.req.SHA256 != "" && sum != d.req.SHA256 {
		return DownloadResult{}, errContent{fmt.Errorf("retrieved archive's SHA-256 %s differs from the %s recorded at upload (wrong key or damaged archive)", sum, d.req.SHA256)}
	}
	if err := d.install(size); err != nil {
		return DownloadResult{}, err
	}
	return DownloadResult{Size: size, SHA256: sum, Retries: int(d.retries.Load()), Reused: d.reused.Load()}, nil
}

// resume takes over the ranges an interrupted run verified, each checked
// again against its tree hash from the spooled plaintext.
func (d *downloader) resume(ctx context.Context) error {
	loaded := d.sp.loaded
	if len(loaded) == 0 {
		return nil
	}
	e0, ok := loaded[0]
	if ok && d.block != nil {
		ok = len(e0.header) > 0 && len(e0.header) == 1+int(e0.header[0])
		d.hdr = int64(len(e0.header))
	}
	if ok {
		ok = d.reverify(e0)
	}
	if !ok {
		// Every placement depends on the first range.
		d.req.Logger.Info().Str("vault", d.req.Vault).Str("archive", d.req.Name).Str("job", d.req.JobID).
			Msg("the spool of an interrupted download does not hold up; fetching everything again")
		d.hdr = 0
		return d.sp.reset(d.head)
	}
	d.verified(d.ranges[0], e0, false)

	items := make(chan *rangeInfo, len(loaded))
	for i, ri := range d.ranges[1:] {
		if _, ok := loaded[i+1]; ok {
			items <- ri
		}
	}
	close(items)
	// Local work only: it takes no transfer slot.
	grp, gctx := errgroup.WithContext(ctx)
	runWorkers(gctx, grp, d.req.Threads, nil, items, func(ctx context.Context, ri *rangeInfo) error {
		if e := loaded[int(ri.r.Start/d.head.Chunk)]; d.reverify(e) {
			d.verified(ri, e, false)
		}
		return ctx.Err()
	})
	if err := grp.Wait(); err != nil {
		return err
	}
	d.req.Logger.Info().Str("vault", d.req.Vault).Str("archive", d.req.Name).Str("job", d.req.JobID).
		Int64("bytes_kept", d.reused.Load()).Msg("resuming an interrupted download")
	return nil
}

// verified records a range as checked and in the spool: the in-order check
// may read it, and (when fetched now) the journal keeps it.
func (d *downloader) verified(ri *rangeInfo, e entry, fetched bool) {
	ri.entry = e
	d.kept.Add(1)
	if fetched {
		d.sp.add(e)
	} else {
		d.reused.Add(ri.r.Len())
	}
	if d.req.Progress != nil {
		d.req.Progress(ri.r.Len())
	}
	close(ri.done)
}

// spoolOff is where the plaintext of ciphertext offset c (past the IV and
// the header) goes in the spool.
func (d *downloader) spoolOff(c int64) int64 {
	if d.block == nil {
		return c
	}
	return c - d.bs - d.hdr
}

// fetchRange fetches, checks and spools one range, again after a failure
// up to Attempts times.
func (d *downloader) fetchRange(ctx context.Context, ri *rangeInfo) error {
	var last error
	for attempt := 1; attempt <= d.req.Attempts; attempt++ {
		e, err := d.fetchOnce(ctx, ri)
		if err == nil {
			d.verified(ri, e, true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ec errContent
		if errors.As(err, &ec) {
			return err
		}
		last = err
		d.retries.Add(1)
		d.req.Logger.Warn().Err(err).Str("vault", d.req.Vault).Str("archive", d.req.Name).
			Str("range", ri.r.String()).Int("attempt", attempt).Msg("range failed; fetching it again")
	}
	return fmt.Errorf("job %s: bytes %s failed %d times: %w", d.req.JobID, ri.r, d.req.Attempts, last)
}

// fetchOnce downloads one range, checks its tree hash against the one
// Glacier sent, and writes its plaintext into the spool.
func (d *downloader) fetchOnce(ctx context.Context, ri *rangeInfo) (entry, error) {
	r := ri.r
	out, err := d.g.GetJobOutput(ctx, d.req.Vault, d.req.JobID, r.Start, r.End)
	if err != nil {
		return entry{}, err
	}
	defer out.Body.Close()
	// Every range is tree-hash aligned, so Glacier must send its hash; a
	// missing one cannot vouch for the bytes.
	if out.TreeHash == "" {
		return entry{}, fmt.Errorf("bytes %s: Glacier sent no tree hash for an aligned range", r)
	}
	h := treehash.NewTree()
	w := d.rangeWriter(ri)
	buf := make([]byte, downloadBuffer)
	for pos := r.Start; pos <= r.End; {
		b := buf[:min(int64(len(buf)), r.End+1-pos)]
		if n, err := io.ReadFull(out.Body, b); err != nil {
			return entry{}, fmt.Errorf("bytes %s: got %d bytes, want %d: %w", r, pos-r.Start+int64(n), r.Len(), err)
		}
		h.Write(b)
		if err := w.write(b, pos); err != nil {
			return entry{}, err
		}
		pos += int64(len(b))
	}
	if n, _ := out.Body.Read(buf[:1]); n > 0 {
		return entry{}, fmt.Errorf("bytes %s: Glacier sent more than %d bytes", r, r.Len())
	}
	_, tree := h.Sum()
	if got := treehash.Hex(tree); got != out.TreeHash {
		return entry{}, fmt.Errorf("bytes %s: %w (got %s, Glacier says %s)", r, ErrCorrupt, got, out.TreeHash)
	}
	e := w.entry()
	e.tree = tree
	if ri == d.ranges[0] && d.block != nil {
		if int64(len(e.header)) < 1 || len(e.header) != 1+int(e.header[0]) {
			return entry{}, errContent{fmt.Errorf("%w", crypt.ErrBadHeader)}
		}
		d.hdr = int64(len(e.header))
	}
	return e, nil
}

// rangeWriter decrypts one range's ciphertext as it arrives and writes the
// plaintext to its place in the spool, keeping back the first block (its
// chaining value is in the range before) and, for the first range, the IV
// and the random header.
type rangeWriter struct {
	d      *downloader
	ri     *rangeInfo
	mode   cipher.BlockMode
	e      entry
	hdr    int64 // header length: d.hdr, or learnt here for the first range
	inHdr  bool  // still reading the header (first range)
	zeroth bool
}

func (d *downloader) rangeWriter(ri *rangeInfo) *rangeWriter {
	return &rangeWriter{d: d, ri: ri, hdr: d.hdr, zeroth: ri == d.ranges[0]}
}

// write takes the ciphertext b at offset pos (block aligned).
func (w *rangeWriter) write(b []byte, pos int64) error {
	d := w.d
	if d.block == nil {
		_, err := d.sp.f.WriteAt(b, pos)
		return err
	}
	bs := d.bs
	if len(b) == 0 {
		return nil
	}
	if int64(len(b))%bs != 0 {
		return fmt.Errorf("bytes %s: %w: a piece of %d bytes is not whole blocks", w.ri.r, crypt.ErrTruncated, len(b))
	}
	if pos == w.ri.r.Start {
		w.e.first = append([]byte(nil), b[:bs]...)
		w.e.last = w.e.first
		w.mode = cipher.NewCBCDecrypter(d.block, w.e.first)
		b, pos = b[bs:], pos+bs
		if w.zeroth {
			w.inHdr, w.hdr = true, -1
		}
		if len(b) == 0 {
			return nil
		}
	}
	w.e.last = append([]byte(nil), b[len(b)-int(bs):]...)
	w.mode.CryptBlocks(b, b)
	if w.inHdr {
		if w.hdr < 0 {
			w.hdr = 1 + int64(b[0])
		}
		k := min(int64(len(b)), w.hdr-int64(len(w.e.header)))
		w.e.header = append(w.e.header, b[:k]...)
		b, pos = b[k:], pos+k
		if int64(len(w.e.header)) == w.hdr {
			w.inHdr = false
		}
		if len(b) == 0 {
			return nil
		}
	}
	_, err := d.sp.f.WriteAt(b, pos-bs-w.hdr)
	return err
}

func (w *rangeWriter) entry() entry {
	w.e.index = int(w.ri.r.Start / w.d.head.Chunk)
	return w.e
}

// reverify checks a journalled range against its tree hash by encrypting
// its spooled plaintext again (or hashing it, when not encrypted).
func (d *downloader) reverify(e entry) bool {
	if e.index >= len(d.ranges) {
		return false
	}
	r := d.ranges[e.index].r
	h := treehash.NewTree()
	buf := make([]byte, downloadBuffer)
	if d.block == nil {
		for pos := r.Start; pos <= r.End; {
			b := buf[:min(int64(len(buf)), r.End+1-pos)]
			if _, err := d.sp.f.ReadAt(b, pos); err != nil {
				return false
			}
			h.Write(b)
			pos += int64(len(b))
		}
		_, tree := h.Sum()
		return tree == e.tree
	}
	bs := d.bs
	if int64(len(e.first)) != bs || int64(len(e.last)) != bs {
		return false
	}
	h.Write(e.first)
	mode := cipher.NewCBCEncrypter(d.block, e.first)
	pos := r.Start + bs // ciphertext offset of what comes next
	lastBlock := e.first
	if e.index == 0 {
		// The header is encrypted first, with the spool's start after it
		// filling its last block.
		n := min(int64(len(buf)), r.End+1-pos)
		b := buf[:n]
		k := copy(b, e.header)
		if n < int64(k) {
			return false
		}
		if _, err := d.sp.f.ReadAt(b[k:], 0); err != nil {
			return false
		}
		mode.CryptBlocks(b, b)
		h.Write(b)
		lastBlock = b[len(b)-int(bs):]
		pos += n
	}
	for pos <= r.End {
		b := buf[:min(int64(len(buf)), r.End+1-pos)]
		if _, err := d.sp.f.ReadAt(b, d.spoolOff(pos)); err != nil {
			return false
		}
		mode.CryptBlocks(b, b)
		h.Write(b)
		lastBlock = b[len(b)-int(bs):]
		pos += int64(len(b))
	}
	_, tree := h.Sum()
	return tree == e.tree && string(lastBlock) == string(e.last)
}

// checkPlaintext checks the plaintext as ranges complete: sequence puts it
// in its final form in order, one reader hashes it and, when there is no
// recorded SHA-256 to compare and the compression is known, another
// decompresses it, side by side, so that the decompression, the slowest
// step, has a core to itself. It returns the payload's SHA-256 and size.
func (d *downloader) checkPlaintext(ctx context.Context) (string, int64, error) {
	grp, gctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return d.sequence(gctx) })
	var sum string
	var n int64
	grp.Go(func() error {
		h := sha256.New()
		var err error
		n, err = io.CopyBuffer(h, &orderedReader{d: d, ctx: gctx}, make([]byte, downloadBuffer))
		sum = hex.EncodeToString(h.Sum(nil))
		return err
	})
	if d.req.Compression != "" && d.req.SHA256 == "" {
		grp.Go(func() error {
			// Decompress and walk the tar while it arrives: a damaged
			// archive is found before it replaces anything.
			r := &orderedReader{d: d, ctx: gctx}
			if err := checkArchive(gctx, r, d.req.Compression); err != nil {
				if r.err != nil {
					return r.err
				}
				return errContent{fmt.Errorf("retrieved archive does not decompress: %w", err)}
			}
			return nil
		})
	}
	if err := grp.Wait(); err != nil {
		return "", 0, err
	}
	return sum, n, nil
}

// sequence makes each range's plaintext final, in order, as ranges are
// verified: it puts the range's first block in place (its chaining value
// is the last block of the range before) and, at the end, checks the
// padding and sets the payload's end. A range is ready once that is done.
func (d *downloader) sequence(ctx context.Context) error {
	for i, ri := range d.ranges {
		select {
		case <-ri.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if d.block != nil && i > 0 {
			b := make([]byte, d.bs)
			d.block.Decrypt(b, ri.entry.first)
			subtle.XORBytes(b, b, d.ranges[i-1].entry.last)
			if _, err := d.sp.f.WriteAt(b, d.spoolOff(ri.r.Start)); err != nil {
				return err
			}
		}
		if i == len(d.ranges)-1 {
			end := d.spoolOff(ri.r.End + 1)
			if d.block != nil {
				pad, err := d.padding(end)
				if err != nil {
					return err
				}
				end -= pad
			}
			d.payload = end
		}
		close(ri.ready)
	}
	return nil
}

// padding checks the PKCS#7 padding that ends the spool at end. The spool
// may hold less than a block (a tiny payload after a long header), but it
// always holds the padding.
func (d *downloader) padding(end int64) (int64, error) {
	if end <= 0 {
		return 0, errContent{fmt.Errorf("decrypt: %w", crypt.ErrBadHeader)}
	}
	b := make([]byte, min(d.bs, end))
	if _, err := d.sp.f.ReadAt(b, end-int64(len(b))); err != nil {
		return 0, err
	}
	n := int(b[len(b)-1])
	if n == 0 || n > len(b) {
		return 0, errContent{fmt.Errorf("decrypt: %w", crypt.ErrBadPadding)}
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return 0, errContent{fmt.Errorf("decrypt: %w", crypt.ErrBadPadding)}
		}
	}
	return int64(n), nil
}

// orderedReader serves the spool's payload, range by range, each once it
// is ready.
type orderedReader struct {
	d    *downloader
	ctx  context.Context
	next int   // the range to open next
	pos  int64 // spool offset of the next byte
	end  int64 // end of what the open range may serve
	err  error // what stopped it, when not the data
}

func (o *orderedReader) Read(p []byte) (int, error) {
	d := o.d
	for o.pos >= o.end {
		if o.next == len(d.ranges) {
			return 0, io.EOF
		}
		ri := d.ranges[o.next]
		select {
		case <-ri.ready:
		case <-o.ctx.Done():
			o.err = o.ctx.Err()
			return 0, o.err
		}
		o.next++
		o.end = d.spoolOff(ri.r.End + 1)
		if o.next == len(d.ranges) {
			o.end = d.payload
		}
	}
	k := min(int64(len(p)), o.end-o.pos)
	n, err := d.sp.f.ReadAt(p[:k], o.pos)
	o.pos += int64(n)
	if err != nil && n == int(k) {
		err = nil
	}
	if err != nil {
		o.err = err
	}
	return n, err
}

// install makes the spool the local file at Dest: cut to the payload,
// synced, renamed over Dest; the journal goes after the rename.
func (d *downloader) install(size int64) error {
	sp := d.sp
	if err := sp.f.Truncate(size); err != nil {
		return err
	}
	if err := sp.f.Sync(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d.req.Dest), 0o700); err != nil {
		return err
	}
	err := os.Rename(sp.path, d.req.Dest)
	if errors.Is(err, syscall.EXDEV) {
		err = copyInto(sp.f, d.req.Dest)
		os.Remove(sp.path)
	}
	if err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(d.req.Dest)); err != nil {
		return err
	}
	sp.remove()
	return nil
}

// copyInto installs src at dest atomically when they are on different
// filesystems.
func copyInto(src *os.File, dest string) error {
	pending, err := renameio.NewPendingFile(dest, renameio.WithPermissions(0o600))
	if err != nil {
		return err
	}
	defer pending.Cleanup()
	if _, err := io.Copy(pending, io.NewSectionReader(src, 0, 1<<62)); err != nil {
		return err
	}
	return pending.CloseAtomicallyReplace()
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
