package tarball

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"iter"
	"os/user"
	"path"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// ErrChanged is wrapped by Write's error when a file changed while it was
// being read; archiving again usually succeeds.
var ErrChanged = errors.New("changed while being archived; try again")

// FileRecord describes one regular file as archived: what the catalog
// stores (name, size, SHA-256) and where it came from.
type FileRecord struct {
	Name    string // base name
	Path    string // stored path in the archive
	Size    int64
	SHA256  string // lowercase hex of the archived bytes
	Mode    fs.FileMode
	ModTime time.Time
	Source  string // path on disk
	Dev     uint64
	Inode   uint64
	// LinkOf is set when the file was stored as a hard link to an
	// earlier entry (same device and inode): the stored path of that
	// entry. Size and SHA256 are then those of the linked contents.
	LinkOf string
}

// Result sums up a Write.
type Result struct {
	Files     []FileRecord // every regular file, hard links included, in order
	Dirs      int
	Symlinks  int
	HardLinks int   // files stored as links (also in Files)
	Skipped   int   // special files left out
	Bytes     int64 // file content bytes read and archived
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Logger receives warnings (skipped special files) and debug lines.
	// The zero value logs nothing.
	Logger zerolog.Logger
	// OnFile, if set, is called after each regular file is completely in
	// the archive.
	OnFile func(FileRecord)
	// NoFileList leaves Result.Files empty: a caller that takes the
	// records from OnFile need not hold a million of them.
	NoFileList bool
	// OnProgress, if set, is called with the number of content bytes
	// added since the previous call (at most every copy buffer).
	OnProgress func(n int64)

	// open replaces the file opener in tests.
	open func(path string) (sourceFile, error)
}

// copyBuffer is the unit of reading: large enough for sequential reads to
// run at disk speed, small enough to check for cancellation often.
const copyBuffer = 1 << 20

// Write writes a PAX tar of entries, in the given order, to w.
//
// Directories keep their mode and mtime (as the entry has them), symbolic
// links their target, regular files their contents. Each regular file is
// opened once and read once: its header comes from fstat of the open file
// (so size, mode and mtime are those of the bytes read), and its bytes go
// through SHA-256 on their way into the tar. A file with several names in
// entries is stored once and later as hard links. Special files are
// skipped with a warning.
//
// Contract: on error the bytes written to w so far are garbage (a partial
// archive) and must be discarded. The error names the file: one that
// changed while being read wraps ErrChanged; one that could not be opened
// or read wraps the system error.
//
// Write does not close w. It checks ctx between files and during long
// copies.
func Write(ctx context.Context, w io.Writer, entries []Entry, opts WriteOptions) (Result, error) {
	return WriteEach(ctx, w, func(yield func(Entry) bool) {
		for i := range entries {
			if !yield(entries[i]) {
				return
			}
		}
	}, opts)
}

// WriteEach is Write for entries produced one at a time (for example from
// a compact selection plan), so that they never need to be a list.
func WriteEach(ctx context.Context, w io.Writer, entries iter.Seq[Entry], opts WriteOptions) (Result, error) {
	open := opts.open
	if open == nil {
		open = openSource
	}
	bw := bufio.NewWriterSize(w, 128<<10)
	wr := &writer{
		ctx:    ctx,
		tw:     tar.NewWriter(bw),
		opts:   &opts,
		open:   open,
		buf:    make([]byte, copyBuffer),
		hash:   sha256.New(),
		links:  make(map[devIno]linkInfo),
		owners: make(map[uint32]string),
		groups: make(map[uint32]string),
	}
	for e := range entries {
		if err := ctx.Err(); err != nil {
			return wr.res, err
		}
		if err := wr.entry(&e); err != nil {
			return wr.res, err
		}
	}
	if err := wr.tw.Close(); err != nil {
		return wr.res, fmt.Errorf("finishing tar: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return wr.res, fmt.Errorf("finishing tar: %w", err)
	}
	return wr.res, nil
}

type linkInfo struct {
	name string
	rec  FileRecord
}

type writer struct {
	ctx    context.Context
	tw     *tar.Writer
	opts   *WriteOptions
	open   func(string) (sourceFile, error)
	buf    []byte
	hash   hash.Hash
	sum    [sha256.Size]byte
	links  map[devIno]linkInfo
	owners map[uint32]string
	groups map[uint32]string
	res    Result
}

func (wr *writer) entry(e *Entry) error {
	name, err := cleanName(e.Name)
	if err != nil || name == "" {
		return fmt.Errorf("entry %q (%s): cannot be stored under that name", e.Name, e.Source)
	}
	switch e.Type {
	case TypeDir:
		hdr := wr.header(tar.TypeDir, name+"/", e.Mode, e.ModTime, e.Uid, e.Gid)
		if err := wr.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: writing tar header: %w", e.Source, err)
		}
		wr.res.Dirs++
	case TypeSymlink:
		hdr := wr.header(tar.TypeSymlink, name, e.Mode, e.ModTime, e.Uid, e.Gid)
		hdr.Linkname = e.LinkTarget
		if hdr.Linkname == "" {
			return fmt.Errorf("%s: symbolic link without a target", e.Source)
		}
		if err := wr.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: writing tar header: %w", e.Source, err)
		}
		wr.res.Symlinks++
	case TypeFile:
		return wr.file(e, name)
	default:
		wr.opts.Logger.Warn().Str("path", e.Source).Msg("special file (device, FIFO or socket) not archived")
		wr.res.Skipped++
	}
	return nil
}

func (wr *writer) header(typ byte, name string, mode fs.FileMode, mtime time.Time, uid, gid uint32) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     tarMode(mode),
		ModTime:  mtime,
		Uid:      int(uid),
		Gid:      int(gid),
		Uname:    wr.owner(uid),
		Gname:    wr.group(gid),
		Format:   tar.FormatPAX,
	}
}

func (wr *writer) file(e *Entry, name string) (err error) {
	f, err := wr.open(e.Source)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: vanished since it was selected: %w", e.Source, bare(err))
		}
		if errors.Is(err, unix.ELOOP) { // O_NOFOLLOW met a link
			return fmt.Errorf("%s: is no longer a regular file (now a symbolic link): %w", e.Source, ErrChanged)
		}
		return fmt.Errorf("%s: cannot be read: %w", e.Source, bare(err))
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", e.Source, bare(cerr))
		}
	}()
	var st unix.Stat_t
	if err := f.Stat(&st); err != nil {
		return fmt.Errorf("%s: cannot be read: %w", e.Source, bare(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: is no longer a regular file (now %s): %w", e.Source, fileMode(st.Mode).Type(), ErrChanged)
	}
	mtime := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	rec := FileRecord{
		Name:    path.Base(name),
		Path:    name,
		Size:    st.Size,
		Mode:    fileMode(st.Mode),
		ModTime: mtime,
		Source:  e.Source,
		Dev:     st.Dev,
		Inode:   st.Ino,
	}
	id := devIno{st.Dev, st.Ino}
	if st.Nlink > 1 {
		if first, ok := wr.links[id]; ok {
			hdr := wr.header(tar.TypeLink, name, rec.Mode, mtime, st.Uid, st.Gid)
			hdr.Linkname = first.name
			if err := wr.tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("%s: writing tar header: %w", e.Source, err)
			}
			rec.Size, rec.SHA256, rec.LinkOf = first.rec.Size, first.rec.SHA256, first.name
			wr.res.HardLinks++
			wr.done(rec)
			return nil
		}
	}
	hdr := wr.header(tar.TypeReg, name, rec.Mode, mtime, st.Uid, st.Gid)
	hdr.Size = st.Size
	if err := wr.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: writing tar header: %w", e.Source, err)
	}
	if err := wr.copy(f, e.Source, st.Size); err != nil {
		return err
	}
	// A rewrite that kept the size shows in the mtime.
	var after unix.Stat_t
	if err := f.Stat(&after); err != nil {
		return fmt.Errorf("%s: %w", e.Source, bare(err))
	}
	if after.Size != st.Size || after.Mtim != st.Mtim {
		return fmt.Errorf("%s: modified while it was read: %w", e.Source, ErrChanged)
	}
	rec.SHA256 = hex.EncodeToString(wr.hash.Sum(wr.sum[:0]))
	if st.Nlink > 1 {
		wr.links[id] = linkInfo{name: name, rec: rec}
	}
	wr.done(rec)
	return nil
}

func (wr *writer) done(rec FileRecord) {
	if !wr.opts.NoFileList {
		wr.res.Files = append(wr.res.Files, rec)
	}
	if wr.opts.OnFile != nil {
		wr.opts.OnFile(rec)
	}
}

// copy moves exactly size bytes from f into the tar and the hash, then
// makes sure the file has no more.
func (wr *writer) copy(f sourceFile, source string, size int64) error {
	wr.hash.Reset()
	remaining := size
	for remaining > 0 {
		if err := wr.ctx.Err(); err != nil {
			return err
		}
		chunk := wr.buf[:min(int64(len(wr.buf)), remaining)]
		n, err := f.Read(chunk)
		if n > 0 {
			wr.hash.Write(chunk[:n])
			if _, werr := wr.tw.Write(chunk[:n]); werr != nil {
				return fmt.Errorf("%s: writing to archive: %w", source, werr)
			}
			remaining -= int64(n)
			wr.res.Bytes += int64(n)
			if wr.opts.OnProgress != nil {
				wr.opts.OnProgress(int64(n))
			}
		}
		if err == io.EOF || (err == nil && n == 0) {
			return fmt.Errorf("%s: shrank from %d to %d bytes while it was read: %w", source, size, size-remaining, ErrChanged)
		}
		if err != nil {
			return fmt.Errorf("%s: read error: %w", source, bare(err))
		}
	}
	n, err := f.Read(wr.buf[:1])
	if n > 0 {
		return fmt.Errorf("%s: grew beyond %d bytes while it was read: %w", source, size, ErrChanged)
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: read error: %w", source, bare(err))
	}
	return nil
}

// bare strips the path from a *fs.PathError, for messages that already
// start with the path; errors.Is still sees the errno.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func (wr *writer) owner(uid uint32) string {
	if n, ok := wr.owners[uid]; ok {
		return n
	}
	n := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		n = u.Username
	}
	wr.owners[uid] = n
	return n
}

func (wr *writer) group(gid uint32) string {
	if n, ok := wr.groups[gid]; ok {
		return n
	}
	n := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		n = g.Name
	}
	wr.groups[gid] = n
	return n
}

// tarMode keeps permission, setuid, setgid and sticky bits in the tar
// (c_ISUID etc.) encoding.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// sourceFile is the little Write needs from an open file; tests wrap it.
type sourceFile interface {
	Read(p []byte) (int, error)
	Stat(st *unix.Stat_t) error
	Close() error
}

// fdFile is a raw descriptor: no poller registration, no finalizer.
type fdFile struct {
	fd   int
	path string
}

// openSource opens a file to archive. O_NOFOLLOW: a link swapped in since
// the walk is not followed. O_NONBLOCK: a FIFO swapped in does not hang the
// open (fstat then shows it is no regular file); it changes nothing for
// regular files.
func openSource(p string) (sourceFile, error) {
	for {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: p, Err: err}
		}
		// Advice only; a file system without readahead is fine.
		_ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
		return &fdFile{fd: fd, path: p}, nil
	}
}

func (f *fdFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Stat(st *unix.Stat_t) error {
	if err := unix.Fstat(f.fd, st); err != nil {
		return &fs.PathError{Op: "fstat", Path: f.path, Err: err}
	}
	return nil
}

func (f *fdFile) Close() error {
	if err := unix.Close(f.fd); err != nil {
		return &fs.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}
