package tarball

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// ListEntry is one entry of an archive as List reads it.
type ListEntry struct {
	Name       string // as stored (a directory without its trailing slash)
	Type       EntryType
	Size       int64 // regular files
	Mode       fs.FileMode
	ModTime    time.Time
	Uid, Gid   int
	Uname      string
	Gname      string
	LinkTarget string // symbolic link target, or hard link's earlier entry
	// SHA256 is the lowercase hex digest of a regular file's contents
	// when ListOptions.Hash is set; empty otherwise.
	SHA256 string
}

// ListOptions tune List.
type ListOptions struct {
	// Hash computes each regular file's SHA-256 (to compare with the
	// catalog). Without it contents are read and discarded.
	Hash bool
}

// List reads a whole tar stream and calls fn for every entry, in order.
// It reads every byte, contents included, and then r to its end, so a
// decompressing r verifies its checksums: a nil error means the archive
// (and its compression) is intact and complete — the "decompress-check"
// after a download. An error from fn stops the listing and is returned.
// Names are reported as stored, unchecked; Extract applies the safety
// rules.
func List(ctx context.Context, r io.Reader, opts ListOptions, fn func(ListEntry) error) (Stats, error) {
	var st Stats
	tr := newTarReader(r)
	h := sha256.New()
	buf := make([]byte, copyBuffer)
	var sum [sha256.Size]byte
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("reading archive: %w", err)
		}
		if isSparse(hdr) {
			return st, fmt.Errorf("reading archive: entry %q is a sparse file (GNU tar --sparse), which freezer does not read: use GNU tar", hdr.Name)
		}
		e := ListEntry{
			Name:       trimDirSlash(hdr.Name),
			Size:       hdr.Size,
			ModTime:    hdr.ModTime,
			Uid:        hdr.Uid,
			Gid:        hdr.Gid,
			Uname:      hdr.Uname,
			Gname:      hdr.Gname,
			LinkTarget: hdr.Linkname,
		}
		var typ fs.FileMode
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeCont:
			e.Type = TypeFile
			st.Files++
		case tar.TypeDir:
			e.Type, typ = TypeDir, fs.ModeDir
			st.Dirs++
		case tar.TypeSymlink:
			e.Type, typ = TypeSymlink, fs.ModeSymlink
			st.Symlinks++
		case tar.TypeLink:
			e.Type = TypeHardLink
			e.Size = 0
			st.HardLinks++
		default:
			e.Type, typ = TypeOther, fs.ModeIrregular
			st.Skipped++
		}
		e.Mode = modeFromTar(hdr.Mode, typ)
		if e.Type == TypeFile {
			if opts.Hash {
				h.Reset()
			}
			n, err := copyWithContext(ctx, h, tr, buf, opts.Hash)
			if err != nil {
				return st, fmt.Errorf("reading archive: %s: %w", hdr.Name, err)
			}
			st.Bytes += n
			if opts.Hash {
				e.SHA256 = hex.EncodeToString(h.Sum(sum[:0]))
			}
		}
		if err := fn(e); err != nil {
			return st, err
		}
	}
	if err := tr.drain(); err != nil {
		return st, fmt.Errorf("reading archive: %w", err)
	}
	return st, nil
}

func copyWithContext(ctx context.Context, w io.Writer, r io.Reader, buf []byte, write bool) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		if n > 0 {
			if write {
				w.Write(buf[:n])
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func trimDirSlash(name string) string {
	for len(name) > 1 && name[len(name)-1] == '/' {
		name = name[:len(name)-1]
	}
	return name
}

// tarReader is a tar.Reader that insists on the end-of-archive blocks.
// archive/tar treats a stream that ends cleanly between entries as a
// complete archive; for backups that would hide a truncation. The
// underlying reader's EOF is shown to archive/tar as io.ErrUnexpectedEOF,
// so the only io.EOF Next returns is the one it derives from reading the
// two zero blocks.
type tarReader struct {
	*tar.Reader
	src *strictEOF
}

func newTarReader(r io.Reader) *tarReader {
	s := &strictEOF{r: r}
	return &tarReader{Reader: tar.NewReader(s), src: s}
}

// drain reads the rest of the input after the end-of-archive blocks
// (record padding, or nothing) so a decompressor reaches and checks its
// trailer.
func (t *tarReader) drain() error {
	_, err := io.Copy(io.Discard, t.src.r)
	return err
}

type strictEOF struct{ r io.Reader }

func (s *strictEOF) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		err = fmt.Errorf("archive ends without the tar end-of-archive blocks (truncated): %w", io.ErrUnexpectedEOF)
	}
	return n, err
}
