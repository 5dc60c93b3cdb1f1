package pipeline

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"freezer/aws"
	"freezer/aws/treehash"
	"freezer/pipeline/crypt"
	"freezer/pipeline/keys"
)

// Uploader is what an upload needs from Glacier.
type Uploader interface {
	UploadArchive(ctx context.Context, vault, description string, body io.ReadSeeker, size int64, treeHash, sha256 string) (string, error)
	InitiateMultipartUpload(ctx context.Context, vault, description string, partSize int64) (string, error)
	UploadPart(ctx context.Context, vault, uploadID string, start int64, body io.ReadSeeker, size int64, treeHash, sha256 string) error
	CompleteMultipartUpload(ctx context.Context, vault, uploadID string, archiveSize int64, treeHash string) (string, error)
	AbortMultipartUpload(ctx context.Context, vault, uploadID string) error
	ListParts(ctx context.Context, vault, uploadID string) ([]aws.Part, int64, error)
}

// UploadRecord is what a multipart upload writes down before its first part
// so that it can be resumed after a crash: the same upload id, and the same
// ciphertext (the local file with the same key, IV and random header).
type UploadRecord struct {
	UploadID     string
	PartSize     int64
	Size         int64  // ciphertext bytes
	SourceSHA256 string // of the local file
	KeyID        string // "" when not encrypted
	Cipher       string // the key's algorithm, "none" when not encrypted
	IV           []byte
	Header       []byte
	Description  string
	Parts        map[int]string // parts Glacier accepted: number → tree hash
	Started      map[int]string // parts sent whose answer was never recorded
}

// Journal keeps an upload's record durable (the catalog implements it).
type Journal interface {
	Load(ctx context.Context) (UploadRecord, bool, error)
	Start(ctx context.Context, r UploadRecord) error
	PartStarted(ctx context.Context, part int, treeHash string) error
	PartDone(ctx context.Context, part int, treeHash string) error
	Finish(ctx context.Context) error
}

// UploadRequest is one archive to send to Glacier.
type UploadRequest struct {
	Vault        string
	Name         string // for messages
	Source       string // the local archive file
	SourceSHA256 string // its SHA-256, checked before a resume reuses a record
	Key          *keys.Key
	Description  string
	PartSize     int64 // requested part size (the chunk size)
	Threads      int
	Journal      Journal
	Progress     func(n int64) // bytes sent (called from several goroutines)
	// SettleWait bounds how long a resumed upload waits for Glacier to
	// finish accepting parts that were in flight when the last run stopped
	// (default 10 s).
	SettleWait time.Duration
	Logger     zerolog.Logger
}

// UploadResult is what Glacier answered.
type UploadResult struct {
	ArchiveID string
	TreeHash  string
	Size      int64
	Resumed   bool
	PartsSent int // parts uploaded by this run (multipart only)
	PartsKept int // parts an earlier run had already uploaded
}

// maxParts is Glacier's limit of parts per multipart upload.
const maxParts = 10000

// Upload sends an archive's local file to Glacier, encrypted with the
// request's key: in one request when it fits one part, else as a multipart
// upload with parts in parallel. A multipart upload is recorded in the
// journal before its first part and resumes from it: parts Glacier already
// has (confirmed with ListParts, and matching the reproduced ciphertext's
// tree hash) are not sent again.
func Upload(ctx context.Context, g Uploader, req UploadRequest) (UploadResult, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	f, err := os.Open(req.Source)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	if req.Threads < 1 {
		req.Threads = 1
	}

	rec, resumed, err := req.Journal.Load(ctx)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	keyID := ""
	if req.Key != nil {
		keyID = req.Key.ID
	}
	if resumed && (rec.SourceSHA256 != req.SourceSHA256 || rec.KeyID != keyID || rec.Description != req.Description) {
		return UploadResult{}, fmt.Errorf("%s: the recorded upload %s was made from a different local file or key; cancel it with 'freezer archive cancel %s/%s' and upload again",
			what, rec.UploadID, req.Vault, req.Name)
	}
	if !resumed {
		rec = UploadRecord{SourceSHA256: req.SourceSHA256, KeyID: keyID, Cipher: "none", Description: req.Description}
		if req.Key != nil {
			rec.Cipher = req.Key.Algorithm
			p, err := crypt.NewPreamble(req.Key.BlockSize(), rand.Reader)
			if err != nil {
				return UploadResult{}, fmt.Errorf("%s: %w", what, err)
			}
			rec.IV, rec.Header = p.IV, p.Header
		}
	}
	ct, err := newCiphertext(f, st.Size(), req.Key, rec.IV, rec.Header)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	size := ct.Size()
	if size == 0 {
		return UploadResult{}, fmt.Errorf("%s: the local file is empty; Glacier stores archives of 1 byte or more", what)
	}
	if !resumed {
		rec.Size = size
		rec.PartSize = partSizeFor(size, req.PartSize)
		if rec.PartSize != req.PartSize {
			req.Logger.Info().Str("vault", req.Vault).Str("archive", req.Name).
				Int64("chunk_size", req.PartSize).Int64("part_size", rec.PartSize).
				Msg("chunk size raised so the archive fits Glacier's 10,000 parts")
		}
	}
	if rec.Size != size {
		return UploadResult{}, fmt.Errorf("%s: recorded upload expects %d bytes, the local file makes %d", what, rec.Size, size)
	}

	if !resumed && size <= rec.PartSize {
		return uploadSingle(ctx, g, req, ct)
	}
	return uploadMultipart(ctx, g, req, ct, rec, resumed)
}

// partSizeFor raises the chunk size (doubling) until size fits in maxParts.
func partSizeFor(size, chunk int64) int64 {
	for chunk < 4<<30 && (size+chunk-1)/chunk > maxParts {
		chunk *= 2
	}
	return chunk
}

func uploadSingle(ctx context.Context, g Uploader, req UploadRequest, ct *ciphertext) (UploadResult, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	size := ct.Size()
	body, err := ct.section(0, size, nil)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	h := treehash.New()
	if _, err := io.Copy(h, body); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	linear, tree := h.SumHex()
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	id, err := g.UploadArchive(ctx, req.Vault, req.Description, progressReader(body, req.Progress), size, tree, linear)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: upload: %w", what, err)
	}
	return UploadResult{ArchiveID: id, TreeHash: tree, Size: size}, nil
}

// partInfo is what the hashing pass learns of a part.
type partInfo struct {
	n        int
	start    int64
	size     int64
	chain    []byte // ciphertext block before start
	treeHash [32]byte
	sha256   string
}

func uploadMultipart(ctx context.Context, g Uploader, req UploadRequest, ct *ciphertext, rec UploadRecord, resumed bool) (UploadResult, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	log := req.Logger.With().Str("vault", req.Vault).Str("archive", req.Name).Logger()
	size := ct.Size()

	// Parts Glacier already holds. The journal may miss the last ones (a
	// crash between Glacier's answer and the journal write), so ListParts
	// is what counts; the journal only says an upload exists.
	have := map[int64]string{}
	if resumed {
		parts, _, err := g.ListParts(ctx, req.Vault, rec.UploadID)
		switch {
		case aws.IsNotFound(err):
			// Glacier dropped the idle upload (after about a day); the same
			// ciphertext goes up under a new id.
			log.Warn().Str("upload", rec.UploadID).Msg("Glacier no longer knows the recorded upload; starting it again")
			resumed = false
		case err != nil:
			return UploadResult{}, fmt.Errorf("%s: list uploaded parts of %s: %w", what, rec.UploadID, err)
		default:
			for _, p := range parts {
				have[p.Start] = p.TreeHash
			}
		}
	}
	if !resumed {
		id, err := g.InitiateMultipartUpload(ctx, req.Vault, req.Description, rec.PartSize)
		if err != nil {
			return UploadResult{}, fmt.Errorf("%s: start multipart upload: %w", what, err)
		}
		rec.UploadID, rec.Parts, rec.Started = id, nil, nil
		if err := req.Journal.Start(ctx, rec); err != nil {
			// Without a record a crash would leave an upload nobody resumes.
			_ = g.AbortMultipartUpload(context.WithoutCancel(ctx), req.Vault, id)
			return UploadResult{}, fmt.Errorf("%s: %w", what, err)
		}
		log.Debug().Str("upload", id).Int64("part_size", rec.PartSize).Int64("size", size).Msg("multipart upload started")
	} else {
		log.Info().Str("upload", rec.UploadID).Int("parts_held", len(have)).Msg("resuming multipart upload")
	}

	// Parts the last run sent without recording Glacier's answer may still
	// be accepted by Glacier after that run died (the request was on the
	// wire). They are sent last, after asking Glacier again, so a part
	// Glacier accepted is not sent twice.
	inFlight := map[int]bool{}
	for n := range rec.Started {
		inFlight[n] = true
	}

	// One pass reproduces the ciphertext, hashes each part and hands parts
	// Glacier lacks to the senders while the pass goes on.
	todo := make(chan partInfo, req.Threads)
	grp, gctx := errgroup.WithContext(ctx)
	var hashes [][32]byte
	var deferred []partInfo
	result := UploadResult{Size: size, Resumed: resumed}
	kept := 0
	grp.Go(func() error {
		defer close(todo)
		var err error
		hashes, kept, err = hashParts(gctx, ct, rec.PartSize, have, func(p partInfo) error {
			if inFlight[p.n] {
				deferred = append(deferred, p)
				return nil
			}
			select {
			case todo <- p:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}, req.Progress)
		return err
	})
	var sent atomic.Int64
	send := func(ctx context.Context, p partInfo) error {
		body, err := ct.section(p.start, p.size, p.chain)
		if err != nil {
			return err
		}
		th := treehash.Hex(p.treeHash)
		if err := req.Journal.PartStarted(ctx, p.n, th); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := g.UploadPart(ctx, req.Vault, rec.UploadID, p.start, progressReader(body, req.Progress), p.size, th, p.sha256); err != nil {
			return fmt.Errorf("%s: part %d (bytes %d-%d): %w", what, p.n, p.start, p.start+p.size-1, err)
		}
		if err := req.Journal.PartDone(ctx, p.n, th); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		sent.Add(1)
		return nil
	}
	for range req.Threads {
		grp.Go(func() error {
			for p := range todo {
				if err := send(gctx, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := grp.Wait(); err != nil {
		return UploadResult{}, err
	}
	if len(deferred) > 0 {
		missing, err := awaitParts(ctx, g, req.Vault, rec.UploadID, deferred, req.SettleWait)
		if err != nil {
			return UploadResult{}, fmt.Errorf("%s: %w", what, err)
		}
		kept += len(deferred) - len(missing)
		grp, gctx := errgroup.WithContext(ctx)
		grp.SetLimit(req.Threads)
		for _, p := range missing {
			grp.Go(func() error { return send(gctx, p) })
		}
		if err := grp.Wait(); err != nil {
			return UploadResult{}, err
		}
	}
	result.PartsSent, result.PartsKept = int(sent.Load()), kept

	tree := treehash.Hex(treehash.Combine(hashes))
	id, err := g.CompleteMultipartUpload(ctx, req.Vault, rec.UploadID, size, tree)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: complete multipart upload %s: %w", what, rec.UploadID, err)
	}
	if err := req.Journal.Finish(ctx); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	result.ArchiveID, result.TreeHash = id, tree
	log.Debug().Str("archive_id", id).Int("sent", result.PartsSent).Int("kept", kept).Msg("multipart upload complete")
	return result, nil
}

// awaitParts asks Glacier, until settle has passed, whether it accepted the
// given parts (with the same tree hash); it returns those it still lacks.
func awaitParts(ctx context.Context, g Uploader, vault, uploadID string, parts []partInfo, settle time.Duration) ([]partInfo, error) {
	if settle <= 0 {
		settle = 10 * time.Second
	}
	deadline := time.Now().Add(settle)
	for {
		listed, _, err := g.ListParts(ctx, vault, uploadID)
		if err != nil {
			return nil, fmt.Errorf("list uploaded parts of %s: %w", uploadID, err)
		}
		have := make(map[int64]string, len(listed))
		for _, p := range listed {
			have[p.Start] = p.TreeHash
		}
		var missing []partInfo
		for _, p := range parts {
			if have[p.start] != treehash.Hex(p.treeHash) {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 || !time.Now().Before(deadline) {
			return missing, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// hashParts reads the whole ciphertext once, computing each part's tree
// hash and SHA-256 and remembering the chaining block at each part start.
// Parts whose start is in have with the same tree hash are kept (counted,
// not sent); the others go to send. It returns every part's tree hash.
func hashParts(ctx context.Context, ct *ciphertext, partSize int64, have map[int64]string, send func(partInfo) error, progress func(int64)) (hashes [][32]byte, kept int, err error) {
	size := ct.Size()
	r, err := ct.section(0, size, nil)
	if err != nil {
		return nil, 0, err
	}
	bs := 0
	if ct.block != nil {
		bs = ct.block.BlockSize()
	}
	buf := make([]byte, 256<<10)
	th := treehash.New()
	lin := sha256.New()
	var chain []byte
	last := make([]byte, bs) // the newest bs bytes of ciphertext read
	for n, start := 0, int64(0); start < size; n, start = n+1, start+partSize {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		psize := min(partSize, size-start)
		p := partInfo{n: n, start: start, size: psize, chain: chain}
		th.Reset()
		lin.Reset()
		left := psize
		for left > 0 {
			k, err := io.ReadFull(r, buf[:min(int64(len(buf)), left)])
			if err != nil {
				return nil, 0, fmt.Errorf("read ciphertext at %d: %w", start+psize-left, err)
			}
			th.Write(buf[:k])
			lin.Write(buf[:k])
			left -= int64(k)
			if k >= bs {
				copy(last, buf[k-bs:k])
			} else {
				copy(last, last[k:])
				copy(last[bs-k:], buf[:k])
			}
		}
		if bs > 0 {
			chain = slices.Clone(last)
		}
		_, p.treeHash = th.Sum()
		p.sha256 = hex.EncodeToString(lin.Sum(nil))
		hashes = append(hashes, p.treeHash)
		if h, ok := have[start]; ok && h == treehash.Hex(p.treeHash) {
			kept++
			if progress != nil {
				progress(psize)
			}
			continue
		}
		if err := send(p); err != nil {
			return nil, 0, err
		}
	}
	return hashes, kept, nil
}

// Abort cancels a recorded multipart upload in Glacier and forgets it: the
// explicit cancel of an upload (a crash or an interrupt keeps it resumable).
func Abort(ctx context.Context, g Uploader, vault string, j Journal) error {
	rec, ok, err := j.Load(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	if err := g.AbortMultipartUpload(ctx, vault, rec.UploadID); err != nil && !aws.IsNotFound(err) {
		return fmt.Errorf("abort multipart upload %s: %w", rec.UploadID, err)
	}
	return j.Finish(ctx)
}

// progressReader reports bytes read; on a rewind (an SDK retry) the
// report would count twice, which a progress bar tolerates.
func progressReader(r io.ReadSeeker, progress func(int64)) io.ReadSeeker {
	if progress == nil {
		return r
	}
	return &countingReader{r: r, progress: progress}
}

type countingReader struct {
	r        io.ReadSeeker
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.progress(int64(n))
	}
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// Hashes are what the hashing pass of an upload computes.
type Hashes struct {
	Size     int64  // ciphertext bytes
	TreeHash string // of the whole ciphertext
	Parts    int
}

// HashUpload runs the encryption and tree-hash pass of an upload on its
// own, with a fresh preamble: the work an upload does before sending.
// Benchmarks and checks use it; nothing is sent or recorded.
func HashUpload(ctx context.Context, source string, key *keys.Key, partSize int64) (Hashes, error) {
	f, err := os.Open(source)
	if err != nil {
		return Hashes{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Hashes{}, err
	}
	var iv, header []byte
	if key != nil {
		p, err := crypt.NewPreamble(key.BlockSize(), rand.Reader)
		if err != nil {
			return Hashes{}, err
		}
		iv, header = p.IV, p.Header
	}
	ct, err := newCiphertext(f, st.Size(), key, iv, header)
	if err != nil {
		return Hashes{}, err
	}
	partSize = partSizeFor(ct.Size(), partSize)
	hashes, _, err := hashParts(ctx, ct, partSize, nil, func(partInfo) error { return nil }, nil)
	if err != nil {
		return Hashes{}, err
	}
	return Hashes{Size: ct.Size(), TreeHash: treehash.Hex(treehash.Combine(hashes)), Parts: len(hashes)}, nil
}
