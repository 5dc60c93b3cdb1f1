package pipeline

// Uploads encrypt each byte of the local archive once. The ciphertext is made
// in order by one goroutine (CBC encryption is sequential: each block depends
// on the one before), a part at a time, into a part buffer; workers tree-hash
// and SHA-256 the buffer and send it from there, so retries re-read the same
// bytes. Parts are reproducible byte for byte after a crash: the IV and the
// random header are journalled, and each part follows from the last
// ciphertext block of the part before.
//
// Memory: part buffers of at most uploadBufferBudget (32 MiB) in all, and
// never more than Threads+1 of them; parts larger than the budget allows
// two of are not buffered. At the default 8 MiB part size that is 3 buffers
// for 2 threads, 4 from 3 threads on. When there are fewer buffers than
// Threads+1 and none is free, the in-order pass does not wait: it hashes
// the next part while encrypting it (256 KiB at a time), remembers its
// chaining block, and its sender encrypts it again from there in 64 KiB
// batches, so every thread has work. The Go heap grows to about twice what
// is live, so the process stays near twice the budget plus its own 20 MiB,
// whatever the archive's size.
//
// A resumed upload keeps the parts Glacier lists with the reproduced tree
// hash. A part the last run was sending when it died may still be accepted
// by Glacier after this run asked (see awaitParts for the rule that decides
// how long to wait for it).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/rs/zerolog"

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
	ListMultipartUploads(ctx context.Context, vault string) ([]aws.Upload, error)
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
	// Started holds the parts whose whole body was handed to the connection
	// but whose answer was never recorded: only those can still be accepted
	// by Glacier after the run that sent them died.
	Started map[int]string
}

// Journal keeps an upload's record durable (the catalog implements it).
//
// PartStarted is called while a part is being sent, just before the last
// bytes of its body are handed to the connection (again on a retry of the
// same part); PartDone after Glacier accepted it, from one goroutine in the
// order of acceptance, and always before Finish. Calls come from several
// goroutines.
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
	Slots        Slots // nil: Threads workers run freely
	Journal      Journal
	Progress     func(n int64) // bytes sent (called from several goroutines)
	// SettleWait bounds how long a resumed upload waits for Glacier to
	// list a part whose whole body the last run had sent (see awaitParts);
	// it counts from the start of the resumed upload (default 10 s).
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

// uploadBufferBudget bounds the ciphertext an upload holds in memory (a
// variable for tests).
var uploadBufferBudget int64 = 32 << 20

// hashBatch is how much the unbuffered in-order pass encrypts and hashes at
// a time.
const hashBatch = 256 << 10

// Upload sends an archive's local file to Glacier, encrypted with the
// request's key: in one request when it fits one part, else as a multipart
// upload with parts in parallel. A multipart upload is recorded in the
// journal before its first part and resumes from it: parts Glacier already
// has (confirmed with ListParts, and matching the reproduced ciphertext's
// tree hash) are not sent again.
func Upload(ctx context.Context, g Uploader, req UploadRequest) (UploadResult, error) {
	begun := time.Now()
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
		return UploadResult{}, fmt.Errorf("%s: the recorded upload %s was made from a different local file or key; cancel that upload and upload again",
			what, rec.UploadID)
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
	m := &multipart{g: g, req: req, ct: ct, rec: rec, what: what, begun: begun,
		log: req.Logger.With().Str("vault", req.Vault).Str("archive", req.Name).Logger()}
	return m.run(ctx, resumed)
}

// partSizeFor raises the chunk size (doubling) until size fits in maxParts.
func partSizeFor(size, chunk int64) int64 {
	for chunk < 4<<30 && (size+chunk-1)/chunk > maxParts {
		chunk *= 2
	}
	return chunk
}

// uploadSingle sends an archive that fits one part: encrypted once into a
// buffer when it fits the budget, else hashed in one pass and encrypted
// again while sent.
func uploadSingle(ctx context.Context, g Uploader, req UploadRequest, ct *ciphertext) (UploadResult, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	size := ct.Size()
	var body io.ReadSeeker
	var linear, tree string
	if size <= uploadBufferBudget {
		buf := make([]byte, size)
		if err := ct.stream().read(buf); err != nil {
			return UploadResult{}, fmt.Errorf("%s: %w", what, err)
		}
		var th [32]byte
		linear, th = hashBoth(buf)
		tree = treehash.Hex(th)
		body = bytes.NewReader(buf)
	} else {
		h := treehash.New()
		if err := hashStream(ctx, ct.stream(), size, h); err != nil {
			return UploadResult{}, fmt.Errorf("%s: %w", what, err)
		}
		linear, tree = h.SumHex()
		var err error
		if body, err = ct.section(0, size, nil); err != nil {
			return UploadResult{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	id, err := g.UploadArchive(ctx, req.Vault, req.Description, progressReader(body, req.Progress), size, tree, linear)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: upload: %w", what, err)
	}
	return UploadResult{ArchiveID: id, TreeHash: tree, Size: size}, nil
}

// hashStream encrypts the next n bytes of s in batches into h.
func hashStream(ctx context.Context, s *stream, n int64, h io.Writer) error {
	buf := make([]byte, min(n, hashBatch))
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf[:min(n, int64(len(buf)))]
		if err := s.read(b); err != nil {
			return err
		}
		h.Write(b)
		n -= int64(len(b))
	}
	return nil
}

// hashBoth returns the linear SHA-256 (hex) and the tree hash of b, the two
// hashes Glacier wants with a part, in one pass (treehash.New).
func hashBoth(b []byte) (linear string, tree [32]byte) {
	h := treehash.New()
	h.Write(b)
	lin, tree := h.Sum()
	return hex.EncodeToString(lin[:]), tree
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
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
	id := rec.UploadID
	if id == "" {
		// Recorded before Glacier answered with an id: look for it.
		m := &multipart{g: g, req: UploadRequest{Vault: vault, Description: rec.Description}, rec: rec, what: "vault " + vault}
		if id, err = m.findStarted(ctx); err != nil {
			return err
		}
	}
	if id != "" {
		if err := g.AbortMultipartUpload(ctx, vault, id); err != nil && !aws.IsNotFound(err) {
			return fmt.Errorf("abort multipart upload %s: %w", id, err)
		}
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

// HashUpload runs the encryption and hashing work of an upload on its own,
// with a fresh preamble: the in-order encryption pass and the parallel
// hashing of each part (GOMAXPROCS workers). Benchmarks and checks use it;
// nothing is sent or recorded.
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
	size := ct.Size()
	if size == 0 {
		return Hashes{Size: 0, TreeHash: treehash.Hex(treehash.Combine(nil))}, nil
	}
	m := &multipart{ct: ct, rec: UploadRecord{PartSize: partSizeFor(size, partSize)},
		req: UploadRequest{Threads: runtime.GOMAXPROCS(0)}}
	m.prepare()
	err = m.pass(ctx, func(_ context.Context, p *part) error {
		defer m.release(p)
		if !p.hashed {
			p.linear, p.tree = hashBoth(p.data)
		}
		m.hashes[p.n] = p.tree
		return nil
	})
	if err != nil {
		return Hashes{}, err
	}
	return Hashes{Size: size, TreeHash: treehash.Hex(treehash.Combine(m.hashes)), Parts: len(m.hashes)}, nil
}
