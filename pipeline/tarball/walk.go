package tarball

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// EntryType is the kind of a file system entry.
type EntryType uint8

// Entry types. TypeHardLink appears only when reading archives (List,
// Extract); Walk reports every name of a file as TypeFile.
const (
	TypeFile EntryType = iota + 1
	TypeDir
	TypeSymlink
	TypeHardLink
	TypeOther // device, FIFO, socket: never archived
)

func (t EntryType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeHardLink:
		return "hardlink"
	case TypeOther:
		return "special"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one file, directory or link chosen for an archive, as lstat saw
// it during the walk (contents are never read by Walk).
type Entry struct {
	// Source is the absolute path on disk.
	Source string
	// Name is the path stored in the archive: slash-separated, relative,
	// without "." or ".." parts and without a trailing slash.
	Name       string
	Type       EntryType
	Size       int64 // regular files; 0 otherwise
	Mode       fs.FileMode
	ModTime    time.Time
	Uid, Gid   uint32
	Dev, Inode uint64
	Nlink      uint64
	LinkTarget string // symbolic links: the target, byte for byte
}

// ProblemKind classifies what went wrong with one entry during a walk.
type ProblemKind uint8

// Problem kinds. None of them stops a walk.
const (
	// ProblemUnreadable: a directory could not be listed or an entry
	// could not be examined; what it holds is missing from the selection.
	ProblemUnreadable ProblemKind = iota + 1
	// ProblemVanished: the entry disappeared while the walk ran.
	ProblemVanished
	// ProblemSpecial: a device, FIFO or socket; skipped.
	ProblemSpecial
	// ProblemNonUTF8: the name is not valid UTF-8. It is kept byte for
	// byte, but some programs will show it garbled.
	ProblemNonUTF8
	// ProblemRepeatedDir: a directory already walked under another name
	// (same device and inode: a bind mount). Stored as an empty
	// directory; its contents are stored once, under the first name.
	ProblemRepeatedDir
)

func (k ProblemKind) String() string {
	switch k {
	case ProblemUnreadable:
		return "unreadable"
	case ProblemVanished:
		return "vanished"
	case ProblemSpecial:
		return "special file skipped"
	case ProblemNonUTF8:
		return "name not UTF-8"
	case ProblemRepeatedDir:
		return "directory reached twice"
	}
	return fmt.Sprintf("ProblemKind(%d)", uint8(k))
}

// Problem is an entry the walk could not take as it is.
type Problem struct {
	Kind   ProblemKind
	Source string // path on disk
	Name   string // path it would have in the archive
	Err    error  // underlying error or explanation; may be nil
}

func (p Problem) String() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %s: %v", p.Source, p.Kind, p.Err)
	}
	return fmt.Sprintf("%s: %s", p.Source, p.Kind)
}

// Selection is the result of Walk: the entries in archive order (each
// directory before its contents, names sorted byte-wise within a directory)
// and the problems met.
type Selection struct {
	Entries  []Entry
	Problems []Problem
}

// Totals counts the regular files of a selection and their bytes (every
// name of a hard-linked file counts, though Write stores it once).
func (s *Selection) Totals() (files int, bytes int64) {
	for i := range s.Entries {
		if s.Entries[i].Type == TypeFile {
			files++
			bytes += s.Entries[i].Size
		}
	}
	return files, bytes
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// Names, if not nil, holds the stored name for each root (same
	// index); "" keeps the base name. See the package doc.
	Names []string
	// OnProblem, if set, is called for each problem as it is found.
	OnProblem func(Problem)
	// Logger gets a warning per problem. The zero value logs nothing.
	Logger zerolog.Logger
}

// Walk lists the roots recursively (see the package doc for the stored-path
// rule). An error is returned only for problems with the roots themselves
// (missing, duplicate names, nested) or a cancelled ctx; problems with
// entries below them are collected in the Selection.
func Walk(ctx context.Context, roots []string, opts WalkOptions) (*Selection, error) {
	sel := &Selection{}
	onProblem := opts.OnProblem
	opts.OnProblem = func(p Problem) {
		sel.Problems = append(sel.Problems, p)
		if onProblem != nil {
			onProblem(p)
		}
	}
	err := WalkEach(ctx, roots, opts, func(e *Entry) error {
		sel.Entries = append(sel.Entries, *e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// WalkEach is Walk without the list: visit is called for every entry in
// archive order, so memory stays flat however many files there are. The
// Entry is reused after visit returns; copy it to keep it. visit may
// return fs.SkipDir for a directory to leave out its contents (the
// directory itself is still visited), or any other error to stop the walk
// with that error.
func WalkEach(ctx context.Context, roots []string, opts WalkOptions, visit func(*Entry) error) error {
	rs, err := resolveRoots(roots, opts.Names)
	if err != nil {
		return err
	}
	w := &walker{
		ctx:     ctx,
		visit:   visit,
		problem: opts.OnProblem,
		log:     &opts.Logger,
		seen:    make(map[devIno]string),
	}
	for _, r := range rs {
		if err := w.root(r); err != nil {
			return err
		}
	}
	return nil
}

type root struct {
	given  string // as the caller wrote it
	abs    string // absolute, cleaned, symlink not resolved
	source string // what is read: abs, or the link's target for a symlink root
	name   string
}

// resolveRoots applies the stored-path rule and checks the roots against
// each other.
func resolveRoots(roots []string, names []string) ([]root, error) {
	if names != nil && len(names) != len(roots) {
		return nil, fmt.Errorf("walk: %d names given for %d roots", len(names), len(roots))
	}
	rs := make([]root, 0, len(roots))
	for i, given := range roots {
		if given == "" {
			return nil, errors.New("walk: empty root path")
		}
		abs, err := filepath.Abs(given)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", given, err)
		}
		r := root{given: given, abs: abs, source: abs}
		if names != nil && names[i] != "" {
			n, err := cleanName(names[i])
			if err != nil || n == "" {
				return nil, fmt.Errorf("root %s: name %q cannot be stored: give a relative path without . or .. parts", given, names[i])
			}
			r.name = n
		} else {
			if abs == "/" {
				return nil, fmt.Errorf("root %s: the file system root has no name of its own to store it under; give it an explicit name", given)
			}
			r.name = filepath.Base(abs)
		}
		var st unix.Stat_t
		if err := lstat(abs, &st); err != nil {
			return nil, fmt.Errorf("root %s: %w", given, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			// The link given by the user means its target.
			target, err := filepath.EvalSymlinks(abs)
			if err != nil {
				return nil, fmt.Errorf("root %s: following symbolic link: %w", given, err)
			}
			r.source = target
		}
		rs = append(rs, r)
	}
	// Compare resolved locations to catch roots inside roots, which
	// would store the same files twice.
	real := make([]string, len(rs))
	for i, r := range rs {
		p, err := filepath.EvalSymlinks(r.source)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", r.given, err)
		}
		real[i] = p
	}
	// Sorting with "/" lowest puts everything below a path right after
	// it, so comparing neighbours finds any duplicate or nesting.
	byPath := sortedIndex(len(rs), func(i int) string { return real[i] })
	for k := 1; k < len(byPath); k++ {
		i, j := byPath[k-1], byPath[k]
		if real[i] == real[j] {
			return nil, fmt.Errorf("roots %s and %s are the same: give it once", rs[i].given, rs[j].given)
		}
		if isUnder(real[j], real[i]) {
			return nil, fmt.Errorf("root %s is inside root %s, which already holds it: give only one of them", rs[j].given, rs[i].given)
		}
	}
	byName := sortedIndex(len(rs), func(i int) string { return rs[i].name })
	for k := 1; k < len(byName); k++ {
		i, j := byName[k-1], byName[k]
		if rs[i].name == rs[j].name || isUnder(rs[j].name, rs[i].name) {
			return nil, fmt.Errorf("roots %s and %s would both be stored as %q: give one of them another name",
				rs[i].given, rs[j].given, rs[i].name)
		}
	}
	return rs, nil
}

// isUnder reports whether p is strictly below dir (both cleaned; works for
// archive names and absolute paths alike).
func isUnder(p, dir string) bool {
	if dir == "/" {
		return p != "/" && strings.HasPrefix(p, "/")
	}
	return len(p) > len(dir) && strings.HasPrefix(p, dir) && p[len(dir)] == '/'
}

// sortedIndex returns 0..n-1 ordered by key(i), comparing "/" below every
// other byte.
func sortedIndex(n int, key func(int) string) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slashLow := func(s string) string { return strings.ReplaceAll(s, "/", "\x00") }
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(slashLow(key(a)), slashLow(key(b))) })
	return idx
}

type devIno struct{ dev, ino uint64 }

type walker struct {
	ctx     context.Context
	visit   func(*Entry) error
	problem func(Problem)
	log     *zerolog.Logger
	seen    map[devIno]string // directories walked, by identity → stored name
	entry   Entry             // reused for every visit
	st      unix.Stat_t       // reused for every lstat
	count   int
}

func (w *walker) report(kind ProblemKind, source, name string, err error) {
	p := Problem{Kind: kind, Source: source, Name: name, Err: err}
	w.log.Warn().Str("path", source).Str("problem", kind.String()).AnErr("error", err).Msg("walk: entry not taken as is")
	if w.problem != nil {
		w.problem(p)
	}
}

func (w *walker) root(r root) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := lstat(r.source, &w.st); err != nil {
		return fmt.Errorf("root %s: %w", r.given, err)
	}
	if !w.fill(r.source, r.name, &w.st) {
		return nil // special file, reported
	}
	if !utf8.ValidString(r.name) {
		w.report(ProblemNonUTF8, r.source, r.name, nil)
	}
	return w.emit()
}

// fill sets w.entry from st; it reports and returns false for entries that
// are not archived.
func (w *walker) fill(source, name string, st *unix.Stat_t) bool {
	e := &w.entry
	*e = Entry{
		Source:  source,
		Name:    name,
		Mode:    fileMode(st.Mode),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Uid:     st.Uid,
		Gid:     st.Gid,
		Dev:     st.Dev,
		Inode:   st.Ino,
		Nlink:   uint64(st.Nlink),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = TypeFile
		e.Size = st.Size
	case unix.S_IFDIR:
		e.Type = TypeDir
	case unix.S_IFLNK:
		e.Type = TypeSymlink
		target, err := os.Readlink(source)
		if err != nil {
			w.reportStatErr(source, name, err)
			return false
		}
		e.LinkTarget = target
	default:
		w.report(ProblemSpecial, source, name, fmt.Errorf("%s, not archived", fileMode(st.Mode).Type()))
		return false
	}
	return true
}

func (w *walker) reportStatErr(source, name string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		w.report(ProblemVanished, source, name, err)
	} else {
		w.report(ProblemUnreadable, source, name, err)
	}
}

// emit visits w.entry and descends into it when it is a directory.
func (w *walker) emit() error {
	e := &w.entry
	isDir := e.Type == TypeDir
	id := devIno{e.Dev, e.Inode}
	source, name := e.Source, e.Name
	if isDir {
		if first, ok := w.seen[id]; ok {
			w.report(ProblemRepeatedDir, source, name,
				fmt.Errorf("same directory as %q (a bind mount?); its contents are stored there only", first))
			isDir = false // store the directory itself, empty
		} else {
			w.seen[id] = name
		}
	}
	err := w.visit(e)
	if isDir && errors.Is(err, fs.SkipDir) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isDir {
		return nil
	}
	return w.dir(source, name, id)
}

func (w *walker) dir(source, name string, id devIno) error {
	// O_NOFOLLOW|O_DIRECTORY and the identity check make sure that what
	// is listed is the directory lstat saw, not a link swapped in since.
	f, err := os.OpenFile(source, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		w.reportStatErr(source, name, fmt.Errorf("listing directory: %w", err))
		return nil
	}
	var fst unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &fst); err != nil || fst.Dev != id.dev || fst.Ino != id.ino {
		f.Close()
		w.report(ProblemVanished, source, name, errors.New("replaced while the walk ran"))
		return nil
	}
	names, err := f.Readdirnames(-1)
	// The folder stays open while its entries are examined: each is a
	// lookup of one name in it (fstatat), not of its whole path.
	defer f.Close()
	if err != nil {
		// Keep what was read; the rest is reported missing.
		w.report(ProblemUnreadable, source, name, fmt.Errorf("listing directory: %w", err))
	}
	slices.Sort(names)
	dfd := int(f.Fd())
	var sts []unix.Stat_t
	var errs []error
	if len(names) >= parallelStatMin {
		sts, errs = make([]unix.Stat_t, statChunk), make([]error, statChunk)
	}
	for k, n := range names {
		w.count++
		if w.count%256 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		childSrc := source + "/" + n
		if source == "/" {
			childSrc = "/" + n
		}
		childName := name + "/" + n
		st, err := &w.st, error(nil)
		if sts != nil {
			// A large folder: its entries are examined a chunk ahead, by
			// several goroutines, so that a cold disk sees many requests
			// at once and warm caches use every core.
			c := k % statChunk
			if c == 0 {
				statAll(dfd, names[k:min(k+statChunk, len(names))], sts, errs)
			}
			st, err = &sts[c], errs[c]
		} else {
			err = fstatat(dfd, n, st)
		}
		if err != nil {
			w.reportStatErr(childSrc, childName, &fs.PathError{Op: "lstat", Path: childSrc, Err: err})
			continue
		}
		if !w.fill(childSrc, childName, st) {
			continue
		}
		if !utf8.ValidString(n) {
			w.report(ProblemNonUTF8, childSrc, childName, nil)
		}
		if err := w.emit(); err != nil {
			return err
		}
	}
	return nil
}

// A folder of at least parallelStatMin entries is examined statChunk
// entries at a time by statWorkers goroutines. Smaller folders are
// examined one entry at a time, just before each is visited.
const (
	parallelStatMin = 64
	statChunk       = 256
	statWorkers     = 4
)

// statAll examines names in the open folder dfd into sts and errs.
func statAll(dfd int, names []string, sts []unix.Stat_t, errs []error) {
	var wg sync.WaitGroup
	per := (len(names) + statWorkers - 1) / statWorkers
	for lo := 0; lo < len(names); lo += per {
		hi := min(lo+per, len(names))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				errs[i] = fstatat(dfd, names[i], &sts[i])
			}
		})
	}
	wg.Wait()
}

// fstatat examines one entry of a folder without following a symbolic
// link, retrying on EINTR.
func fstatat(dfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// lstat retries on EINTR, which network and FUSE file systems can return.
func lstat(p string, st *unix.Stat_t) error {
	for {
		err := unix.Lstat(p, st)
		if err != unix.EINTR {
			if err != nil {
				return &fs.PathError{Op: "lstat", Path: p, Err: err}
			}
			return nil
		}
	}
}

// fileMode converts a stat mode to an fs.FileMode, like os does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// cleanName normalises an archive path: slashes only as separators, no
// leading "./", no empty or "." parts, no trailing slash. It refuses
// absolute paths and ".." parts. "" means the top of the archive itself.
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("NUL byte in name")
	}
	// Fast path: already clean (the common case for our own archives).
	clean := true
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return "", errors.New(`".." in path`)
		}
		if part == "" || part == "." {
			clean = false
		}
	}
	if clean {
		return name, nil
	}
	parts := make([]string, 0, 8)
	for part := range strings.SplitSeq(name, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	return path.Join(parts...), nil
}
