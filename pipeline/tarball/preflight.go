package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotTar is what Preflight and Extract return for a stream that does
// not start as a tar archive (another tool's upload, a single file): a
// person then needs the file itself, not a tar error.
var ErrNotTar = errors.New("not a tar archive")

// ConflictError is a refusal to extract because entries of the archive are
// already in the destination. Nothing was written.
type ConflictError struct {
	Dest  string
	Names []string // the first few, in archive order
	Count int      // all of them
	// DirsInWay counts files of the archive whose place holds a folder:
	// a folder is never replaced, so only skipping them helps.
	DirsInWay int
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	if e.Count == 1 {
		fmt.Fprintf(&b, "%q is already in %s", e.Names[0], e.Dest)
	} else {
		quoted := make([]string, len(e.Names))
		for i, n := range e.Names {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		fmt.Fprintf(&b, "%d entries of the archive are already in %s: %s", e.Count, e.Dest, strings.Join(quoted, ", "))
		if e.Count > len(e.Names) {
			fmt.Fprintf(&b, " and %d more", e.Count-len(e.Names))
		}
	}
	b.WriteString("; nothing was written")
	return b.String()
}

// RefusedError is an entry Extract will not restore, whatever is asked,
// or only when allowed (Allow names the option: "allow-outside-links",
// "skip-existing"). Preflight returns it before anything is written.
type RefusedError struct {
	Entry string
	Why   string
	Allow string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("extract: entry %q refused: %s; nothing was written for it", e.Entry, e.Why)
}

// maxConflictNames bounds the names a ConflictError lists.
const maxConflictNames = 10

// ExtractPlan is what Preflight decided, for Extract to carry out with the
// same archive bytes: which entries are restored, and where the contents
// of a file that is not restored go when a hard link to it is (the link
// becomes the file).
type ExtractPlan struct {
	restore  []bool         // by entry ordinal
	moveTo   map[int]string // file entry → the name its contents are written to
	linkTo   map[int]string // hard link entry → the name it links to
	moved    map[int]bool   // hard link entries written as files by moveTo
	Restored int            // entries to restore
	Existing int            // entries left out because they are already there (SkipExisting)
	Excluded int            // entries left out by Include
}

// Preflight reads a whole archive, writes nothing, and decides what
// Extract with the same options does: it refuses now, before any byte is
// written, an archive that is not a tar, an entry Extract would refuse,
// and entries already in dest (unless Overwrite or SkipExisting), listing
// them; an Include pattern that matches nothing is an error too. The
// destination may change between Preflight and Extract; Extract checks
// everything again as it writes.
func Preflight(ctx context.Context, r io.Reader, dest string, opts ExtractOptions) (*ExtractPlan, error) {
	var err error
	if opts.Include, err = CleanPatterns(opts.Include); err != nil {
		return nil, err
	}
	pf := &preflight{dest: dest, opts: &opts, dirs: map[string]byte{}, archive: map[string]byte{},
		blocked: map[string]bool{}, files: map[string]int{}, need: map[string]bool{}, matched: make([]bool, len(opts.Include)),
		plan: &ExtractPlan{moveTo: map[int]string{}, linkTo: map[int]string{}, moved: map[int]bool{}}}
	tr := newTarReader(r)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if n == 0 {
				return nil, fmt.Errorf("%w (%v)", ErrNotTar, err)
			}
			return nil, fmt.Errorf("extract: reading archive: %w", err)
		}
		if err := pf.entry(n, hdr); err != nil {
			return nil, err
		}
	}
	if err := tr.drain(); err != nil {
		return nil, fmt.Errorf("extract: reading archive: %w", err)
	}
	return pf.finish()
}

type preflight struct {
	dest string
	opts *ExtractOptions
	plan *ExtractPlan
	// dirs caches what dest holds at a folder path of the archive:
	// 'd' a folder, 'n' nothing (created by the extract), 'x' something
	// else, 'l' a symbolic link.
	dirs map[string]byte
	// archive holds the kind of each restored non-folder name: 'f' file,
	// 'l' symbolic link.
	archive map[string]byte
	// blocked are names left in place with SkipExisting whose contents
	// cannot be restored beneath them.
	blocked map[string]bool
	// files maps a regular file's name to its entry ordinal, for hard links.
	files map[string]int
	// Deferred folder entries (Include): restored when something beneath
	// them is (need).
	deferred  []deferredDir
	need      map[string]bool
	conflicts ConflictError
	matched   []bool
}

type deferredDir struct {
	n    int
	name string
}

func (pf *preflight) setRestore(n int, v bool) {
	for len(pf.plan.restore) <= n {
		pf.plan.restore = append(pf.plan.restore, false)
	}
	pf.plan.restore[n] = v
}

func (pf *preflight) entry(n int, hdr *tar.Header) error {
	pf.setRestore(n, false)
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return nil
	}
	name, err := cleanName(strings.TrimSuffix(hdr.Name, "/"))
	if err != nil {
		return &RefusedError{Entry: hdr.Name, Why: err.Error()}
	}
	if isSparse(hdr) {
		return fmt.Errorf("extract: entry %q is a sparse file (GNU tar --sparse), which freezer does not restore: extract this archive with GNU tar", hdr.Name)
	}
	if name == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return &RefusedError{Entry: hdr.Name, Why: "it names the destination itself"}
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeCont, tar.TypeSymlink, tar.TypeLink:
	default:
		return nil // skipped by Extract with a warning
	}
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeCont {
		pf.files[name] = n
	}
	included := pf.include(name)
	if !included {
		if hdr.Typeflag == tar.TypeDir {
			pf.deferred = append(pf.deferred, deferredDir{n, name})
		}
		pf.plan.Excluded++
		return nil
	}
	return pf.place(n, name, hdr)
}

// include reports whether an entry matches an Include pattern (itself or
// a folder above it), marking the patterns that matched.
func (pf *preflight) include(name string) bool {
	if len(pf.opts.Include) == 0 {
		return true
	}
	hit := false
	for i, p := range pf.opts.Include {
		for q := name; q != "." && q != ""; q = path.Dir(q) {
			if ok, _ := path.Match(p, q); ok {
				pf.matched[i] = true
				hit = true
				break
			}
		}
	}
	return hit
}

// place decides an included entry: restored, skipped as existing, a
// conflict, or refused.
func (pf *preflight) place(n int, name string, hdr *tar.Header) error {
	dir := path.Dir(name)
	if dir == "." {
		dir = ""
	}
	if hdr.Typeflag == tar.TypeSymlink {
		if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
			return &RefusedError{Entry: name, Why: "symbolic link with an empty or invalid target"}
		}
		if !pf.opts.AllowOutsideLinks {
			if why := linkEscapes(dir, hdr.Linkname); why != "" {
				return &RefusedError{Entry: name, Why: fmt.Sprintf("symbolic link to %q %s", hdr.Linkname, why), Allow: "allow-outside-links"}
			}
		}
	}
	// What lies above the entry: a folder of the archive, a folder already
	// in dest, or nothing yet.
	free := false
	for _, p := range ancestors(dir) {
		if pf.blocked[p] {
			pf.plan.Existing++
			return nil
		}
		switch pf.archive[p] {
		case 'l':
			return &RefusedError{Entry: name, Why: fmt.Sprintf("%q is a symbolic link; nothing is extracted through a link", p)}
		case 'f':
			return &RefusedError{Entry: name, Why: fmt.Sprintf("%q is not a directory", p)}
		}
		if free {
			// Beneath a folder the extract makes: made too, and only the
			// archive's own entries can be in the way.
			pf.dirs[p] = 'n'
			continue
		}
		switch pf.destDir(p) {
		case 'n':
			free = true
		case 'l':
			return &RefusedError{Entry: name, Why: fmt.Sprintf("%q in %s is a symbolic link; nothing is extracted through a link", p, pf.dest)}
		case 'x':
			if pf.opts.SkipExisting {
				pf.plan.Existing++
				return nil
			}
			return &RefusedError{Entry: name, Why: fmt.Sprintf("%q in %s is not a folder", p, pf.dest), Allow: "skip-existing"}
		}
	}
	isDir := hdr.Typeflag == tar.TypeDir
	kind := byte('n')
	if !free {
		kind = pf.lstat(name)
	}
	switch {
	case pf.archive[name] != 0:
		kind = 'x' // named twice in the archive: the later one replaces
	case !isDir && pf.dirs[name] == 'n':
		kind = 'd' // a folder the extract makes (an archive's folder, or a parent)
	}
	switch {
	case kind == 'n', isDir && kind == 'd':
		// Free, or a folder merged into.
	case pf.opts.SkipExisting:
		// Left as it is; nothing is restored beneath it either.
		pf.plan.Existing++
		pf.blocked[name] = true
		return nil
	case kind == 'd':
		// A folder is never replaced by a file.
		pf.conflict(name)
		pf.conflicts.DirsInWay++
	case pf.opts.Overwrite:
	default:
		pf.conflict(name)
	}
	if isDir {
		if kind != 'd' {
			pf.dirs[name] = 'n' // made (or replaced) by the extract: nothing beneath yet
		}
	} else {
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			pf.archive[name] = 'l'
		default:
			pf.archive[name] = 'f'
		}
	}
	if hdr.Typeflag == tar.TypeLink {
		if err := pf.link(n, name, hdr); err != nil {
			return err
		}
	}
	pf.setRestore(n, true)
	pf.plan.Restored++
	if len(pf.opts.Include) > 0 {
		for _, p := range ancestors(dir) {
			pf.need[p] = true
		}
	}
	return nil
}

// link resolves a restored hard link: to its file when that is restored,
// else the first link restored takes the file's contents and later ones
// link to it.
func (pf *preflight) link(n int, name string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil || target == "" {
		return &RefusedError{Entry: name, Why: fmt.Sprintf("hard link to %q, which is outside the destination", hdr.Linkname)}
	}
	t, ok := pf.files[target]
	if !ok {
		return &RefusedError{Entry: name, Why: fmt.Sprintf("hard link to %q, which is not a file extracted earlier from this archive", hdr.Linkname)}
	}
	switch {
	case pf.plan.restore[t]:
		pf.plan.linkTo[n] = target
	case pf.plan.moveTo[t] == "":
		pf.plan.moveTo[t] = name
		pf.plan.moved[n] = true
	default:
		pf.plan.linkTo[n] = pf.plan.moveTo[t]
	}
	return nil
}

func (pf *preflight) conflict(name string) {
	pf.conflicts.Count++
	if len(pf.conflicts.Names) < maxConflictNames {
		pf.conflicts.Names = append(pf.conflicts.Names, name)
	}
}

// destDir tells what dest holds at a folder path (cached).
func (pf *preflight) destDir(p string) byte {
	if k, ok := pf.dirs[p]; ok {
		return k
	}
	k := pf.lstat(p)
	pf.dirs[p] = k
	return k
}

func (pf *preflight) lstat(name string) byte {
	st, err := os.Lstat(filepath.Join(pf.dest, filepath.FromSlash(name)))
	switch {
	case err != nil:
		return 'n'
	case st.IsDir():
		return 'd'
	case st.Mode()&os.ModeSymlink != 0:
		return 'l'
	}
	return 'x'
}

func (pf *preflight) finish() (*ExtractPlan, error) {
	for i, ok := range pf.matched {
		if !ok {
			return nil, fmt.Errorf("extract: nothing in the archive matches %q", pf.opts.Include[i])
		}
	}
	// Folders holding what is restored are restored too, with their modes
	// and times, though no pattern names them.
	for _, d := range pf.deferred {
		if pf.need[d.name] && !pf.blocked[d.name] {
			pf.setRestore(d.n, true)
			pf.plan.Restored++
			pf.plan.Excluded--
		}
	}
	c := pf.conflicts
	if c.Count > 0 && !pf.opts.SkipExisting && (!pf.opts.Overwrite || c.DirsInWay > 0) {
		c.Dest = pf.dest
		return nil, &c
	}
	return pf.plan, nil
}

// ancestors lists the folders from the top down to dir itself ("a",
// "a/b", "a/b/c"); none for "" or ".".
func ancestors(dir string) []string {
	if dir == "" || dir == "." {
		return nil
	}
	var out []string
	for i := 0; i < len(dir); i++ {
		if dir[i] == '/' {
			out = append(out, dir[:i])
		}
	}
	return append(out, dir)
}

// CleanPatterns checks Include patterns before anything is read and
// writes them as archive names are written (no leading / or ./, no
// trailing /).
func CleanPatterns(ps []string) ([]string, error) {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		c := strings.TrimPrefix(strings.Trim(p, "/"), "./")
		if c == "" || c == "." {
			return nil, fmt.Errorf("extract: include pattern %q names no path inside the archive", p)
		}
		if _, err := path.Match(c, ""); err != nil {
			return nil, fmt.Errorf("extract: include pattern %q: %w", p, err)
		}
		out = append(out, c)
	}
	return out, nil
}
