// Package pipeline turns a selection of files into an archive in Glacier
// and back: tar + compression into a local archive file (never encrypted),
// encryption and tree hashing on the way up, ranged and verified download,
// decryption and installation on the way down. Its subpackages hold the
// parts: tarball (walk, tar, extract), compress, crypt, keys and desc.
package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/renameio/v2"
	"github.com/rs/zerolog"

	"freezer/pipeline/compress"
	"freezer/pipeline/tarball"
)

// BuildRequest is a local archive file to make.
type BuildRequest struct {
	Entries []tarball.Entry
	// Each, when set, produces the entries instead of Entries, one at a
	// time.
	Each iter.Seq[tarball.Entry]
	// OnFile, when set, receives each file's record as soon as the file is
	// in the archive, and BuildResult.Files stays empty: an archive of a
	// million files need not hold their records.
	OnFile      func(tarball.FileRecord)
	Compression compress.Algorithm
	Threads     int
	Dest        string        // the local archive file; it appears only when complete
	Progress    func(n int64) // content bytes archived
	Logger      zerolog.Logger
}

// BuildResult describes the local archive file.
type BuildResult struct {
	Files  []tarball.FileRecord // every regular file with its SHA-256 (none with BuildRequest.OnFile)
	Size   int64                // bytes of the local file
	SHA256 string               // of the local file
	tarball.Result
}

// Build writes the entries as a compressed tar to Dest atomically: each
// file is read once, hashed as it goes into the tar, and the compressed
// output is hashed as it is written. On any error nothing is left at Dest
// (an earlier file there is untouched) and no temporary file remains.
func Build(ctx context.Context, req BuildRequest) (BuildResult, error) {
	if err := os.MkdirAll(filepath.Dir(req.Dest), 0o700); err != nil {
		return BuildResult{}, err
	}
	pending, err := renameio.NewPendingFile(req.Dest, renameio.WithPermissions(0o600))
	if err != nil {
		return BuildResult{}, err
	}
	defer pending.Cleanup()

	sum := sha256.New()
	size := &countWriter{}
	out := bufio.NewWriterSize(io.MultiWriter(pending, sum, size), 1<<20)
	zw, err := compress.NewWriter(out, req.Compression, compress.Options{Threads: req.Threads})
	if err != nil {
		return BuildResult{}, err
	}
	each := req.Each
	if each == nil {
		each = slices.Values(req.Entries)
	}
	res, err := tarball.WriteEach(ctx, zw, each, tarball.WriteOptions{Logger: req.Logger, OnProgress: req.Progress,
		OnFile: req.OnFile, NoFileList: req.OnFile != nil})
	if err != nil {
		zw.Close()
		return BuildResult{}, err
	}
	if err := zw.Close(); err != nil {
		return BuildResult{}, fmt.Errorf("compress: %w", err)
	}
	if err := out.Flush(); err != nil {
		return BuildResult{}, err
	}
	if err := pending.CloseAtomicallyReplace(); err != nil {
		return BuildResult{}, err
	}
	return BuildResult{Files: res.Files, Size: size.n, SHA256: hex.EncodeToString(sum.Sum(nil)), Result: res}, nil
}
