package tarball

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Logger receives warnings (skipped entries). The zero value logs
	// nothing.
	Logger zerolog.Logger
	// Overwrite replaces existing files and symbolic links (the link
	// itself, never what it points to). A directory is never replaced by
	// a file; existing directories are always merged into.
	Overwrite bool
	// SameOwner restores owner and group ids (needs root). Without it the
	// extracting user owns everything and setuid/setgid bits are dropped,
	// so an archive cannot plant a setuid program owned by the extracting
	// user.
	SameOwner bool
	// AllowOutsideLinks creates symbolic links whose target leaves the
	// destination (absolute targets, or more ".." than the link is deep),
	// as a backup with such links needs. Nothing is ever written through
	// any link, allowed or not.
	AllowOutsideLinks bool
	// SkipExisting restores only what is missing: an entry whose place in
	// the destination is taken (by anything) is left as it is.
	SkipExisting bool
	// Include restores only the entries matching one of these patterns
	// (path.Match on the name inside the archive, or on a folder above
	// it: "2024" is that folder and all it holds, "2024/*.jpg" its JPEGs),
	// with the folders that hold them. Empty: everything.
	Include []string
	// Plan is what Preflight decided for these bytes and options. Without
	// it Include and SkipExisting are applied entry by entry, and a hard
	// link whose file is not restored is refused.
	Plan *ExtractPlan
	// OnFile, if set, is called after each regular file is written, with
	// its SHA-256 (hashing is skipped when OnFile is nil). Source is the
	// path written on disk.
	OnFile func(FileRecord)
}

// Stats counts what Extract or List went through.
type Stats struct {
	Files     int
	Dirs      int
	Symlinks  int
	HardLinks int
	Skipped   int   // devices, FIFOs and unknown entry types
	Bytes     int64 // regular file contents
	Existing  int   // entries left as they were (SkipExisting)
	Excluded  int   // entries not matching Include
}

// Extract restores the tar read from r below dest, which is created if
// missing. Directory modes and mtimes are set after their contents.
//
// It refuses, with an error naming the entry, anything that would write
// outside dest: absolute names, ".." parts, entries whose parent is a
// symbolic link (from the archive or already in dest), hard links to
// anything but a regular file extracted earlier from this archive, and
// symbolic links pointing outside dest (unless AllowOutsideLinks). A
// relative link target may only climb ("..") at its start; "a/../.." style
// targets are refused, since through other links they can escape. Existing
// files are not overwritten unless Overwrite. Devices and FIFOs are
// skipped with a warning.
//
// The archive must end with the tar end-of-archive blocks: a stream cut
// short is an error even when it is cut between entries. After them r is
// read to its end, so a decompressor below gets to verify its checksum.
//
// On error, what was extracted so far stays (with directory modes and
// times applied); nothing outside dest was touched. Run Preflight first
// (and pass its plan) to refuse before anything is written.
func Extract(ctx context.Context, r io.Reader, dest string, opts ExtractOptions) (st Stats, err error) {
	if opts.Include, err = CleanPatterns(opts.Include); err != nil {
		return st, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return st, fmt.Errorf("extract: destination: %w", err)
	}
	rootFd, err := openRetry(unix.AT_FDCWD, dest, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, fmt.Errorf("extract: destination %s: %w", dest, err)
	}
	x := &extractor{
		ctx:       ctx,
		dest:      dest,
		opts:      &opts,
		dirs:      dirWalker{root: rootFd},
		buf:       make([]byte, copyBuffer),
		extracted: make(map[string]bool),
	}
	if opts.OnFile != nil {
		x.hash = sha256.New()
	}
	defer func() {
		if derr := x.finishDirs(); derr != nil && err == nil {
			err = derr
		}
		x.dirs.closeAll()
		unix.Close(rootFd)
		st = x.stats
	}()
	tr := newTarReader(r)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if n == 0 {
				return st, fmt.Errorf("%w (%v)", ErrNotTar, err)
			}
			return st, fmt.Errorf("extract: reading archive: %w", err)
		}
		x.n = n
		if err := x.entry(hdr, tr); err != nil {
			return st, err
		}
	}
	if err := tr.drain(); err != nil {
		return st, fmt.Errorf("extract: reading archive: %w", err)
	}
	return st, nil
}

type dirMeta struct {
	name  string
	mode  int64
	mtime time.Time
	uid   int
	gid   int
}

type extractor struct {
	ctx       context.Context
	dest      string
	opts      *ExtractOptions
	dirs      dirWalker
	buf       []byte
	hash      hash.Hash
	extracted map[string]bool // regular files written by this run: hard link targets
	dirMeta   []dirMeta
	stats     Stats
	n         int // the entry's ordinal, for the plan
}

// refuse builds the error for an entry that is not extracted for safety.
func refuse(name, why string) error {
	return &RefusedError{Entry: name, Why: why}
}

func (x *extractor) entry(hdr *tar.Header, tr *tarReader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		// Archive-wide PAX records (git archive, GNU tar); their name
		// is arbitrary, often absolute, and nothing is restored.
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		x.opts.Logger.Warn().Str("entry", hdr.Name).Msg("extract: device or FIFO entry skipped")
		x.stats.Skipped++
		return nil
	}
	name, err := cleanName(strings.TrimSuffix(hdr.Name, "/"))
	if err != nil {
		return refuse(hdr.Name, err.Error())
	}
	if isSparse(hdr) {
		return fmt.Errorf("extract: entry %q is a sparse file (GNU tar --sparse), which freezer does not restore: extract this archive with GNU tar", hdr.Name)
	}
	if name == "" {
		// "./" from `tar -C dir .`: the destination itself, which is
		// left as it is.
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return refuse(hdr.Name, "it names the destination itself")
	}
	if p := x.opts.Plan; p != nil {
		if x.n >= len(p.restore) || !p.restore[x.n] {
			if to := p.moveTo[x.n]; to != "" {
				// Not restored itself, but a hard link to it is: the
				// link's name gets the contents.
				dir, base := path.Split(to)
				return x.file(to, strings.TrimSuffix(dir, "/"), base, hdr, tr)
			}
			x.skip(name)
			return nil
		}
		if hdr.Typeflag == tar.TypeLink && p.moved[x.n] {
			return nil // written as the file it links to
		}
	} else if len(x.opts.Include) > 0 && !matchAny(x.opts.Include, name) && hdr.Typeflag != tar.TypeDir {
		x.stats.Excluded++
		return nil
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	var err2 error
	switch hdr.Typeflag {
	case tar.TypeDir:
		err2 = x.mkdir(name, dir, base, hdr)
	case tar.TypeReg, tar.TypeCont:
		err2 = x.file(name, dir, base, hdr, tr)
	case tar.TypeSymlink:
		err2 = x.symlink(name, dir, base, hdr)
	case tar.TypeLink:
		err2 = x.hardlink(name, dir, base, hdr)
	default:
		x.opts.Logger.Warn().Str("entry", hdr.Name).Str("type", string(hdr.Typeflag)).Msg("extract: unknown entry type skipped")
		x.stats.Skipped++
		return nil
	}
	if errors.Is(err2, errExisting) {
		x.stats.Existing++
		return nil
	}
	return err2
}

// errExisting is an entry left out with SkipExisting: its place is taken.
var errExisting = errors.New("already there; left as it is")

// parent opens the directory an entry goes into, creating missing parents.
func (x *extractor) parent(name, dir string) (int, error) {
	fd, err := x.dirs.open(dir, true)
	if err != nil {
		var ue unsafeParent
		if errors.As(err, &ue) {
			return -1, refuse(name, ue.Error())
		}
		return -1, fmt.Errorf("extract: %s: %w", name, err)
	}
	return fd, nil
}

func (x *extractor) mkdir(name, dir, base string, hdr *tar.Header) error {
	pfd, err := x.parent(name, dir)
	if err != nil {
		return err
	}
	err = unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("extract: %s: %w", name, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := x.replace(name, pfd, base, &st); err != nil {
				return err
			}
			err = unix.Mkdirat(pfd, base, 0o700)
		} else {
			err = nil // merge into the existing directory
		}
	}
	if err != nil {
		return fmt.Errorf("extract: %s: creating directory: %w", name, err)
	}
	x.dirMeta = append(x.dirMeta, dirMeta{name: name, mode: hdr.Mode, mtime: hdr.ModTime, uid: hdr.Uid, gid: hdr.Gid})
	x.stats.Dirs++
	return nil
}

// replace removes an existing non-directory in the way of an entry when
// Overwrite allows it.
func (x *extractor) replace(name string, pfd int, base string, st *unix.Stat_t) error {
	if x.opts.SkipExisting {
		return errExisting
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("extract: %s: a directory is in the way; it is never replaced", name)
	}
	if !x.opts.Overwrite {
		return fmt.Errorf("extract: %s: already exists in %s; not overwritten (allow overwriting to replace it)", name, x.dest)
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("extract: %s: removing the existing file: %w", name, err)
	}
	delete(x.extracted, name)
	return nil
}

// create makes a new entry with mk, replacing an existing non-directory
// when Overwrite allows it.
func (x *extractor) create(name string, pfd int, base string, mk func() error) error {
	err := mk()
	if err != unix.EEXIST {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("extract: %s: %w", name, err)
	}
	if err := x.replace(name, pfd, base, &st); err != nil {
		return err
	}
	return mk()
}

func (x *extractor) file(name, dir, base string, hdr *tar.Header, tr *tarReader) (err error) {
	pfd, err := x.parent(name, dir)
	if err != nil {
		return err
	}
	fd := -1
	err = x.create(name, pfd, base, func() error {
		var e error
		fd, e = openRetry(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return e
	})
	if err != nil {
		return wrapExtract(name, "creating file", err)
	}
	defer func() {
		if cerr := unix.Close(fd); cerr != nil && err == nil {
			err = fmt.Errorf("extract: %s: %w", name, cerr)
		}
		if err != nil {
			// A partial file must not pass for a restored one.
			unix.Unlinkat(pfd, base, 0)
		}
	}()
	if x.hash != nil {
		x.hash.Reset()
	}
	var n int64
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		k, rerr := tr.Read(x.buf)
		if k > 0 {
			if x.hash != nil {
				x.hash.Write(x.buf[:k])
			}
			if err := writeAll(fd, x.buf[:k]); err != nil {
				return fmt.Errorf("extract: %s: writing: %w", name, err)
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("extract: %s: reading archive: %w", name, rerr)
		}
	}
	if x.opts.SameOwner {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("extract: %s: setting owner: %w", name, err)
		}
	}
	if err := unix.Fchmod(fd, x.perm(hdr.Mode)); err != nil {
		return fmt.Errorf("extract: %s: setting mode: %w", name, err)
	}
	if err := setTimes(pfd, base, hdr.ModTime); err != nil {
		return fmt.Errorf("extract: %s: setting mtime: %w", name, err)
	}
	x.extracted[name] = true
	x.stats.Files++
	x.stats.Bytes += n
	if x.opts.OnFile != nil {
		x.opts.OnFile(FileRecord{
			Name:    base,
			Path:    name,
			Size:    n,
			SHA256:  hex.EncodeToString(x.hash.Sum(nil)),
			Mode:    modeFromTar(hdr.Mode, 0),
			ModTime: hdr.ModTime,
			Source:  path.Join(x.dest, name),
		})
	}
	return nil
}

func (x *extractor) symlink(name, dir, base string, hdr *tar.Header) error {
	if !x.opts.AllowOutsideLinks {
		if why := linkEscapes(dir, hdr.Linkname); why != "" {
			return refuse(name, fmt.Sprintf("symbolic link to %q %s (allow links outside the destination to restore such links as they are)", hdr.Linkname, why))
		}
	}
	if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return refuse(name, "symbolic link with an empty or invalid target")
	}
	pfd, err := x.parent(name, dir)
	if err != nil {
		return err
	}
	if err := x.create(name, pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) }); err != nil {
		return wrapExtract(name, "creating symbolic link", err)
	}
	if x.opts.SameOwner {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("extract: %s: setting owner: %w", name, err)
		}
	}
	if err := setTimes(pfd, base, hdr.ModTime); err != nil {
		return fmt.Errorf("extract: %s: setting mtime: %w", name, err)
	}
	x.stats.Symlinks++
	return nil
}

func (x *extractor) hardlink(name, dir, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil || target == "" {
		return refuse(name, fmt.Sprintf("hard link to %q, which is outside the destination", hdr.Linkname))
	}
	if p := x.opts.Plan; p != nil && p.linkTo[x.n] != "" {
		target = p.linkTo[x.n] // its file went to an earlier link's name
	}
	if !x.extracted[target] {
		return refuse(name, fmt.Sprintf("hard link to %q, which is not a file extracted earlier from this archive", hdr.Linkname))
	}
	tdir, tbase := path.Split(target)
	// The target's directory was walked safely when it was created; it is
	// opened the same way again, on its own walker so that the cached
	// chain for the new entry stays valid.
	tw := dirWalker{root: x.dirs.root}
	defer tw.closeAll()
	tfd, err := tw.open(strings.TrimSuffix(tdir, "/"), false)
	if err != nil {
		return refuse(name, fmt.Sprintf("hard link target %q: %v", hdr.Linkname, err))
	}
	pfd, err := x.parent(name, dir)
	if err != nil {
		return err
	}
	if err := x.create(name, pfd, base, func() error { return unix.Linkat(tfd, tbase, pfd, base, 0) }); err != nil {
		return wrapExtract(name, "creating hard link", err)
	}
	x.extracted[name] = true
	x.stats.HardLinks++
	return nil
}

// isSparse reports GNU sparse entries (old GNU format or PAX GNU.sparse
// records). archive/tar expands their holes as zeros, so a tiny hostile
// entry could claim petabytes; freezer never writes them, so they are
// refused rather than expanded.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// perm is the mode to give a restored file or directory.
func (x *extractor) perm(mode int64) uint32 {
	m := uint32(mode) & 0o1777
	if x.opts.SameOwner {
		m = uint32(mode) & 0o7777
	}
	return m
}

// finishDirs sets directory owners, modes and mtimes, deepest first, so
// that setting them is not undone by creating their contents and a
// read-only directory is filled before it becomes read-only.
func (x *extractor) finishDirs() error {
	slices.SortStableFunc(x.dirMeta, func(a, b dirMeta) int {
		return strings.Count(b.name, "/") - strings.Count(a.name, "/")
	})
	var errs []error
	w := dirWalker{root: x.dirs.root}
	defer w.closeAll()
	for _, d := range x.dirMeta {
		dir, base := path.Split(d.name)
		pfd, err := w.open(strings.TrimSuffix(dir, "/"), false)
		if err != nil {
			errs = append(errs, fmt.Errorf("extract: %s: %w", d.name, err))
			continue
		}
		fd, err := openRetry(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("extract: %s: %w", d.name, err))
			continue
		}
		if x.opts.SameOwner {
			if err := unix.Fchown(fd, d.uid, d.gid); err != nil {
				errs = append(errs, fmt.Errorf("extract: %s: setting owner: %w", d.name, err))
			}
		}
		if err := unix.Fchmod(fd, x.perm(d.mode)); err != nil {
			errs = append(errs, fmt.Errorf("extract: %s: setting mode: %w", d.name, err))
		}
		unix.Close(fd)
		if err := setTimes(pfd, base, d.mtime); err != nil {
			errs = append(errs, fmt.Errorf("extract: %s: setting mtime: %w", d.name, err))
		}
	}
	x.dirMeta = nil
	return errors.Join(errs...)
}

// linkEscapes explains why a symbolic link in directory dir (relative to
// the destination) pointing to target could lead outside the destination,
// or returns "". A target may climb only at its start and no higher than
// the destination; ".." after a name is refused because the name may be a
// link itself, and climbing out of a link leads wherever it points.
func linkEscapes(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return "points outside the destination (absolute target)"
	}
	depth := 0
	if dir != "" {
		depth = strings.Count(dir, "/") + 1
	}
	descended := false
	for part := range strings.SplitSeq(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if descended {
				return `climbs with ".." after a name, which can lead outside the destination through other links`
			}
			depth--
			if depth < 0 {
				return "points outside the destination"
			}
		default:
			descended = true
		}
	}
	return ""
}

func wrapExtract(name, what string, err error) error {
	if strings.HasPrefix(err.Error(), "extract: ") {
		return err
	}
	return fmt.Errorf("extract: %s: %s: %w", name, what, err)
}

func setTimes(dirfd int, base string, mtime time.Time) error {
	ts := []unix.Timespec{
		{Sec: 0, Nsec: unix.UTIME_OMIT}, // atime: leave as is
		unix.NsecToTimespec(mtime.UnixNano()),
	}
	if mtime.IsZero() {
		return nil
	}
	return unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func openRetry(dirfd int, p string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, p, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// unsafeParent is a parent path component that is a symbolic link or not a
// directory.
type unsafeParent struct{ msg string }

func (u unsafeParent) Error() string { return u.msg }

// dirWalker opens directories below root one component at a time with
// O_NOFOLLOW, so no symbolic link is ever followed, and keeps the chain of
// the last directory open: tar entries come grouped by directory, so most
// entries reuse it.
type dirWalker struct {
	root  int
	parts []string
	fds   []int // fds[i] is the directory parts[:i+1]
}

// open returns an fd (O_PATH) for dir, "" being the root. The fd stays
// owned by the walker and valid until the next open.
func (d *dirWalker) open(dir string, create bool) (int, error) {
	keep := 0
	rest := dir
	for keep < len(d.parts) && rest != "" {
		part, after, _ := strings.Cut(rest, "/")
		if part != d.parts[keep] {
			break
		}
		keep++
		rest = after
	}
	for len(d.fds) > keep {
		unix.Close(d.fds[len(d.fds)-1])
		d.fds = d.fds[:len(d.fds)-1]
		d.parts = d.parts[:len(d.parts)-1]
	}
	cur := d.root
	if keep > 0 {
		cur = d.fds[keep-1]
	}
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "/")
		fd, err := d.openChild(cur, part, create)
		if err != nil {
			prefix := strings.Join(append(slices.Clone(d.parts), part), "/")
			var ue unsafeParent
			if errors.As(err, &ue) {
				return -1, unsafeParent{fmt.Sprintf("%q %s", prefix, ue.msg)}
			}
			return -1, fmt.Errorf("directory %q: %w", prefix, err)
		}
		d.parts = append(d.parts, part)
		d.fds = append(d.fds, fd)
		cur = fd
	}
	return cur, nil
}

func (d *dirWalker) openChild(parent int, part string, create bool) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	for attempt := 0; ; attempt++ {
		fd, err := openRetry(parent, part, flags, 0)
		if err == nil {
			return fd, nil
		}
		if err == unix.ENOENT && create && attempt == 0 {
			// A parent the archive does not list: created like tar does.
			if err := unix.Mkdirat(parent, part, 0o755); err != nil && err != unix.EEXIST {
				return -1, err
			}
			continue
		}
		if err == unix.ENOTDIR || err == unix.ELOOP {
			var st unix.Stat_t
			if unix.Fstatat(parent, part, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return -1, unsafeParent{"is a symbolic link; nothing is extracted through a link"}
			}
			return -1, unsafeParent{"is not a directory"}
		}
		return -1, err
	}
}

func (d *dirWalker) closeAll() {
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds, d.parts = nil, nil
}

// modeFromTar converts tar mode bits to an fs.FileMode with type bits typ.
func modeFromTar(mode int64, typ fs.FileMode) fs.FileMode {
	m := fs.FileMode(mode&0o777) | typ
	if mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// skip counts an entry the plan leaves out.
func (x *extractor) skip(name string) {
	if len(x.opts.Include) > 0 && !matchAny(x.opts.Include, name) {
		x.stats.Excluded++
		return
	}
	x.stats.Existing++
}

// matchAny reports whether name, or a folder above it, matches a pattern.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		for q := name; q != "." && q != ""; q = path.Dir(q) {
			if ok, _ := path.Match(p, q); ok {
				return true
			}
		}
	}
	return false
}
