package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

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
	// Compression is the archive's (checked by decompressing it);
	// "" skips the check (archives of other tools).
	Compression compress.Algorithm
	// SHA256 is the local file's SHA-256 recorded at upload; "" when unknown.
	SHA256  string
	Dest    string // the local archive file to create or replace
	TempDir string // where the ciphertext is spooled (same filesystem as Dest)
	Chunk   int64  // range size, 1 MiB × 2ⁿ
	Threads int
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
	Retries int // ranges fetched again after a mismatch or a broken transfer
}

// SpoolPattern names the temporary files downloads write into TempDir.
const SpoolPattern = ".download-*"

// ErrCorrupt marks downloaded bytes that did not match their tree hash.
var ErrCorrupt = errors.New("downloaded bytes do not match Glacier's tree hash")

// Download fetches a retrieval job's output in tree-hash-aligned ranges, in
// parallel, each checked against the tree hash Glacier sends with it and
// fetched again (a bounded number of times) when it does not match; then
// checks the whole against the archive's tree hash, decrypts it, checks the
// plaintext SHA-256 recorded at upload and that it decompresses, and only
// then installs it at Dest atomically. On any failure Dest is untouched and
// nothing partial is left behind.
func Download(ctx context.Context, g OutputGetter, req DownloadRequest) (DownloadResult, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	if req.Size <= 0 {
		return DownloadResult{}, fmt.Errorf("%s: archive size unknown", what)
	}
	if req.Threads < 1 {
		req.Threads = 1
	}
	if req.Attempts < 1 {
		req.Attempts = 4
	}
	if !treehash.ValidPartSize(req.Chunk) {
		return DownloadResult{}, fmt.Errorf("%s: download range size %d is not 1 MiB × 2ⁿ", what, req.Chunk)
	}
	if err := os.MkdirAll(req.TempDir, 0o700); err != nil {
		return DownloadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	spool, err := os.CreateTemp(req.TempDir, SpoolPattern)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	if err := spool.Truncate(req.Size); err != nil {
		return DownloadResult{}, fmt.Errorf("%s: spool %d bytes: %w", what, req.Size, err)
	}

	ranges := treehash.Ranges(req.Size, req.Chunk)
	hashes := make([][32]byte, len(ranges))
	var retries int
	var mu sync.Mutex
	grp, gctx := errgroup.WithContext(ctx)
	grp.SetLimit(req.Threads)
	for i, r := range ranges {
		grp.Go(func() error {
			var last error
			for attempt := 1; attempt <= req.Attempts; attempt++ {
				h, err := fetchRange(gctx, g, req, spool, r)
				if err == nil {
					hashes[i] = h
					return nil
				}
				if gctx.Err() != nil {
					return gctx.Err()
				}
				last = err
				mu.Lock()
				retries++
				mu.Unlock()
				req.Logger.Warn().Err(err).Str("vault", req.Vault).Str("archive", req.Name).
					Str("range", r.String()).Int("attempt", attempt).Msg("range failed; fetching it again")
			}
			return fmt.Errorf("%s: job %s: bytes %s failed %d times: %w", what, req.JobID, r, req.Attempts, last)
		})
	}
	if err := grp.Wait(); err != nil {
		return DownloadResult{}, err
	}
	if got := treehash.Hex(treehash.Combine(hashes)); req.TreeHash != "" && got != req.TreeHash {
		return DownloadResult{}, fmt.Errorf("%s: %w: whole archive %s, expected %s", what, ErrCorrupt, got, req.TreeHash)
	}

	res, err := install(ctx, io.NewSectionReader(spool, 0, req.Size), req)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("%s: %w", what, err)
	}
	res.Retries = retries
	return res, nil
}

// fetchRange downloads one range into the spool and returns its tree hash,
// checked against the one Glacier sent.
func fetchRange(ctx context.Context, g OutputGetter, req DownloadRequest, spool *os.File, r treehash.Range) ([32]byte, error) {
	out, err := g.GetJobOutput(ctx, req.Vault, req.JobID, r.Start, r.End)
	if err != nil {
		return [32]byte{}, err
	}
	defer out.Body.Close()
	h := treehash.New()
	w := io.MultiWriter(io.NewOffsetWriter(spool, r.Start), h)
	n, err := io.Copy(w, io.LimitReader(out.Body, r.Len()+1))
	if err != nil {
		return [32]byte{}, fmt.Errorf("bytes %s: %w", r, err)
	}
	if n != r.Len() {
		return [32]byte{}, fmt.Errorf("bytes %s: got %d bytes, want %d", r, n, r.Len())
	}
	if req.Progress != nil {
		req.Progress(n)
	}
	_, tree := h.Sum()
	// Every range is tree-hash aligned, so Glacier must send its hash; a
	// missing one cannot vouch for the bytes.
	if out.TreeHash == "" {
		return [32]byte{}, fmt.Errorf("bytes %s: Glacier sent no tree hash for an aligned range", r)
	}
	if got := treehash.Hex(tree); got != out.TreeHash {
		return [32]byte{}, fmt.Errorf("bytes %s: %w (got %s, Glacier says %s)", r, ErrCorrupt, got, out.TreeHash)
	}
	return tree, nil
}

// install decrypts the verified ciphertext into a pending file beside Dest,
// checks the plaintext, and renames it over Dest.
func install(ctx context.Context, ciphertext io.Reader, req DownloadRequest) (DownloadResult, error) {
	if err := os.MkdirAll(filepath.Dir(req.Dest), 0o700); err != nil {
		return DownloadResult{}, err
	}
	pending, err := renameio.NewPendingFile(req.Dest, renameio.WithPermissions(0o600))
	if err != nil {
		return DownloadResult{}, err
	}
	defer pending.Cleanup()

	plain := ciphertext
	if req.Key != nil {
		plain, err = crypt.NewDecryptReader(ciphertext, *req.Key)
		if err != nil {
			return DownloadResult{}, err
		}
	}
	sum := sha256.New()
	counted := &countWriter{}
	tee := io.TeeReader(plain, io.MultiWriter(pending, sum, counted))

	if req.Compression != "" {
		// Decompress and walk the tar while writing: a damaged archive is
		// found before it replaces anything.
		if err := checkArchive(ctx, tee, req.Compression); err != nil {
			return DownloadResult{}, fmt.Errorf("retrieved archive does not decompress: %w", err)
		}
	}
	// Whatever the check did not consume (and everything, without a check).
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return DownloadResult{}, err
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if req.SHA256 != "" && got != req.SHA256 {
		return DownloadResult{}, fmt.Errorf("retrieved archive's SHA-256 %s differs from the %s recorded at upload (wrong key or damaged archive)", got, req.SHA256)
	}
	if err := pending.CloseAtomicallyReplace(); err != nil {
		return DownloadResult{}, err
	}
	return DownloadResult{Size: counted.n, SHA256: got}, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
