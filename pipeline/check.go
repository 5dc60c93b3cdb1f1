package pipeline

import (
	"context"
	"io"

	"freezer/pipeline/compress"
	"freezer/pipeline/tarball"
)

// checkArchive decompresses r and reads every tar entry through to the
// end, so that a damaged archive is found before anything trusts it.
func checkArchive(ctx context.Context, r io.Reader, alg compress.Algorithm) error {
	zr, err := compress.NewReader(r, alg)
	if err != nil {
		return err
	}
	defer zr.Close()
	if _, err := tarball.List(ctx, zr, tarball.ListOptions{}, func(tarball.ListEntry) error { return nil }); err != nil {
		return err
	}
	// Bytes after the tar's end (zero padding) must still decompress.
	_, err = io.Copy(io.Discard, zr)
	return err
}
