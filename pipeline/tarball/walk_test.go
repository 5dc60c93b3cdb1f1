package tarball

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWalkTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "2024")
	nfiles := buildTree(t, src, treeSpec{files: 300, maxSize: 2000, big: 10})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := sel.Totals()
	if files != nfiles {
		t.Errorf("Totals: %d files, want %d", files, nfiles)
	}
	byName := map[string]Entry{}
	for i, e := range sel.Entries {
		if _, dup := byName[e.Name]; dup {
			t.Errorf("entry %q listed twice", e.Name)
		}
		byName[e.Name] = e
		if !strings.HasPrefix(e.Name, "2024") {
			t.Errorf("entry %q not stored under the root's base name", e.Name)
		}
		if !filepath.IsAbs(e.Source) {
			t.Errorf("entry %q: source %q not absolute", e.Name, e.Source)
		}
		// Each directory comes before its contents.
		if i > 0 {
			parent := filepath.Dir(e.Name)
			if p, ok := byName[parent]; parent != "." && (!ok || p.Type != TypeDir) {
				t.Errorf("entry %q comes before its directory", e.Name)
			}
		}
	}
	check := func(name string, typ EntryType, target string) Entry {
		t.Helper()
		e, ok := byName[name]
		if !ok {
			t.Fatalf("entry %q missing", name)
		}
		if e.Type != typ || e.LinkTarget != target {
			t.Errorf("entry %q: type %s target %q, want %s %q", name, e.Type, e.LinkTarget, typ, target)
		}
		return e
	}
	check("2024", TypeDir, "")
	check("2024/"+nameNonUTF8, TypeFile, "")
	check("2024/"+nameUnicode, TypeFile, "")
	check("2024/emptydir", TypeDir, "")
	check("2024/links/dirlink", TypeSymlink, "../d01")
	check("2024/links/dangling", TypeSymlink, "does/not/exist")
	check("2024/links/abs", TypeSymlink, filepath.Join(src, "d00"))
	if e := check("2024/suid", TypeFile, ""); e.Mode&fs.ModeSetuid == 0 || e.Mode.Perm() != 0o755 {
		t.Errorf("suid mode = %v", e.Mode)
	}
	if e := check("2024/owned", TypeFile, ""); e.Uid != 1234 || e.Gid != 5678 {
		t.Errorf("owned: uid/gid %d/%d", e.Uid, e.Gid)
	}
	// Inner symlinks are not followed: nothing below links/dirlink.
	for name := range byName {
		if strings.HasPrefix(name, "2024/links/dirlink/") || strings.HasPrefix(name, "2024/links/self/") {
			t.Errorf("walk followed an inner symbolic link: %q", name)
		}
	}
	if len(sel.Problems) != 1 || sel.Problems[0].Kind != ProblemNonUTF8 || sel.Problems[0].Name != "2024/"+nameNonUTF8 {
		t.Errorf("problems = %v, want only the non-UTF-8 name", sel.Problems)
	}
}

func TestWalkStoredNames(t *testing.T) {
	base := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(base, rel)
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	photos := mk("home/a/photos/2024/")
	mk("home/a/photos/2024/jan/img1.jpg")
	notes := mk("x/notes.txt")
	other2024 := mk("other/2024/")
	mk("other/2024/b.txt")
	if err := os.Symlink(photos, filepath.Join(base, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(notes, filepath.Join(base, "notes-link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(base, "home/a/photos"))

	cases := []struct {
		name    string
		roots   []string
		names   []string
		want    []string // stored names, in order
		wantErr string
	}{
		{name: "folder", roots: []string{photos}, want: []string{"2024", "2024/jan", "2024/jan/img1.jpg"}},
		{name: "file", roots: []string{notes}, want: []string{"notes.txt"}},
		{name: "trailing slash", roots: []string{photos + "/"}, want: []string{"2024", "2024/jan", "2024/jan/img1.jpg"}},
		{name: "relative", roots: []string{"2024"}, want: []string{"2024", "2024/jan", "2024/jan/img1.jpg"}},
		{name: "dot", roots: []string{"."}, want: []string{"photos", "photos/2024", "photos/2024/jan", "photos/2024/jan/img1.jpg"}},
		{name: "dot slash", roots: []string{"./2024/jan/"}, want: []string{"jan", "jan/img1.jpg"}},
		{name: "symlink root is its folder", roots: []string{filepath.Join(base, "current")}, want: []string{"current", "current/jan", "current/jan/img1.jpg"}},
		{name: "symlink to file", roots: []string{filepath.Join(base, "notes-link")}, want: []string{"notes-link"}},
		{name: "two roots", roots: []string{photos, notes}, want: []string{"2024", "2024/jan", "2024/jan/img1.jpg", "notes.txt"}},
		{name: "same base name", roots: []string{photos, other2024}, wantErr: `would both be stored as "2024"`},
		{name: "explicit names", roots: []string{photos, other2024}, names: []string{"", "other/2024"},
			want: []string{"2024", "2024/jan", "2024/jan/img1.jpg", "other/2024", "other/2024/b.txt"}},
		{name: "explicit name clash", roots: []string{photos, notes}, names: []string{"x", "x/notes.txt"}, wantErr: "would both be stored"},
		{name: "bad explicit name", roots: []string{photos}, names: []string{"../up"}, wantErr: "cannot be stored"},
		{name: "absolute explicit name", roots: []string{photos}, names: []string{"/abs"}, wantErr: "cannot be stored"},
		{name: "root inside root", roots: []string{filepath.Join(base, "home"), photos}, wantErr: "is inside root"},
		{name: "link into root", roots: []string{photos, filepath.Join(base, "current")}, wantErr: "are the same"},
		{name: "same root twice", roots: []string{photos, photos + "/."}, wantErr: "are the same"},
		{name: "file system root", roots: []string{"/"}, wantErr: "file system root"},
		{name: "missing", roots: []string{filepath.Join(base, "nope")}, wantErr: "no such file"},
		{name: "names count", roots: []string{photos}, names: []string{"a", "b"}, wantErr: "2 names given for 1 roots"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel, err := Walk(context.Background(), c.roots, WalkOptions{Names: c.names})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range sel.Entries {
				got = append(got, e.Name)
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("stored names %q, want %q", got, c.want)
			}
		})
	}
}

func TestWalkProblems(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	for _, d := range []string{"a", "b", "locked", "mnt", "special"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/1", "b/1", "b/2", "b/3", "locked/secret"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(src, "special/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(src, "special/sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A bind mount makes "a" reachable a second time as "mnt".
	if err := unix.Mount(filepath.Join(src, "a"), filepath.Join(src, "mnt"), "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount (this test needs root, as in CI): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(filepath.Join(src, "mnt"), unix.MNT_DETACH) })
	os.Chmod(filepath.Join(src, "locked"), 0o700)
	os.Chmod(filepath.Join(src, "b"), 0o777) // nobody removes b/2 during the walk
	openToAll(t, base)

	var problems []Problem
	names := map[string]bool{}
	var werr error
	asNobody(t, func() {
		opts := WalkOptions{OnProblem: func(p Problem) { problems = append(problems, p) }}
		werr = WalkEach(context.Background(), []string{src}, opts, func(e *Entry) error {
			names[e.Name] = true
			// Remove b/2 while the walk is in b/: it vanishes under it.
			if e.Name == "src/b/1" {
				return os.Remove(filepath.Join(src, "b/2"))
			}
			return nil
		})
	})
	if werr != nil {
		t.Fatal(werr)
	}
	kinds := map[string]ProblemKind{}
	for _, p := range problems {
		kinds[p.Name] = p.Kind
		if p.Source == "" || p.String() == "" {
			t.Errorf("problem without source or text: %#v", p)
		}
	}
	want := map[string]ProblemKind{
		"src/b/2":          ProblemVanished,
		"src/locked":       ProblemUnreadable,
		"src/mnt":          ProblemRepeatedDir,
		"src/special/fifo": ProblemSpecial,
		"src/special/sock": ProblemSpecial,
	}
	for name, k := range want {
		if kinds[name] != k {
			t.Errorf("problem for %q = %v, want %v (all: %v)", name, kinds[name], k, problems)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("problems = %v, want %d", problems, len(want))
	}
	for _, n := range []string{"src/locked", "src/mnt", "src/a/1"} {
		if !names[n] {
			t.Errorf("entry %q should still be listed", n)
		}
	}
	for _, n := range []string{"src/locked/secret", "src/mnt/1", "src/special/fifo", "src/special/sock"} {
		if names[n] {
			t.Errorf("entry %q should not be listed", n)
		}
	}
}

func TestWalkSkipDirAndStop(t *testing.T) {
	src := filepath.Join(t.TempDir(), "s")
	for _, f := range []string{"a/x", "b/y", "c/z"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(src, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	stop := errors.New("stop")
	err := WalkEach(context.Background(), []string{src}, WalkOptions{}, func(e *Entry) error {
		got = append(got, e.Name)
		switch e.Name {
		case "s/a":
			return fs.SkipDir
		case "s/b/y":
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("err = %v, want the visit's error", err)
	}
	if strings.Join(got, " ") != "s s/a s/b s/b/y" {
		t.Fatalf("visited %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, []string{src}, WalkOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled walk: %v", err)
	}
}

func TestWalkManyFiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "many")
	for d := range 4 {
		dir := filepath.Join(src, string(rune('a'+d)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 1500 {
			if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('0'+f%10))+strings.Repeat("x", f/10)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := 0
	allocs := testing.AllocsPerRun(1, func() {
		n = 0
		err := WalkEach(context.Background(), []string{src}, WalkOptions{}, func(e *Entry) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
	})
	if n != 4*1500+5 {
		t.Fatalf("visited %d entries", n)
	}
	// Names and paths are the only per-entry allocations worth having.
	if per := allocs / float64(n); per > 6 {
		t.Errorf("%.1f allocations per entry", per)
	}
}

// TestWalkLargeFolderAhead: entries of a large folder examined ahead, in
// parallel, are what lstat says of each, in order, with links, folders
// and their contents in place.
func TestWalkLargeFolderAhead(t *testing.T) {
	src := filepath.Join(t.TempDir(), "large")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range statChunk + parallelStatMin + 7 {
		p := filepath.Join(src, fmt.Sprintf("e%04d", i))
		var err error
		switch i % 50 {
		case 3:
			err = os.Symlink(fmt.Sprintf("target-%d", i), p)
		case 4:
			if err = os.Mkdir(p, 0o700); err == nil {
				err = os.WriteFile(filepath.Join(p, "inside"), []byte("in"), 0o600)
			}
		default:
			err = os.WriteFile(p, make([]byte, i), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var last string
	n := 0
	err := WalkEach(context.Background(), []string{src}, WalkOptions{}, func(e *Entry) error {
		n++
		if e.Source <= last && e.Source != src {
			t.Errorf("%s after %s", e.Source, last)
		}
		last = e.Source
		fi, err := os.Lstat(e.Source)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Ino != e.Inode || fi.Mode() != e.Mode || !fi.ModTime().Equal(e.ModTime) || (e.Type == TypeFile && fi.Size() != e.Size) {
			t.Errorf("%s: walked %+v, lstat says %v %v %d", e.Source, e, fi.Mode(), fi.ModTime(), fi.Size())
		}
		if e.Type == TypeSymlink && !strings.HasPrefix(e.LinkTarget, "target-") {
			t.Errorf("%s: link target %q", e.Source, e.LinkTarget)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + statChunk + parallelStatMin + 7 + 7; n != want {
		t.Errorf("visited %d entries, want %d", n, want)
	}
}
