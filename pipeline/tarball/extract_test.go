package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"freezer/pipeline/compress"
)

// hdr is a tar entry for hand-made archives.
type hdr struct {
	typ    byte
	name   string
	target string // link target
	body   string
	mode   int64
}

func makeTar(t testing.TB, entries []hdr) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.target, Mode: mode,
			ModTime: time.Unix(1600000000, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeXGlobalHeader {
			h = &tar.Header{Typeflag: e.typ, Name: e.name, PAXRecords: map[string]string{"comment": e.body}}
			e.body = ""
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("crafting %q: %v", e.name, err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// escapeRig is a destination with a sentinel beside it; check fails the
// test if anything beside dest changed.
type escapeRig struct {
	base, dest, outside string
}

func newEscapeRig(t testing.TB) *escapeRig {
	t.Helper()
	base := t.TempDir()
	r := &escapeRig{base: base, dest: filepath.Join(base, "dest"), outside: filepath.Join(base, "outside.txt")}
	if err := os.WriteFile(r.outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.dest, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *escapeRig) check(t testing.TB) {
	t.Helper()
	names, err := readNames(r.base)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"dest", "outside.txt"}) {
		t.Fatalf("something was written beside the destination: %q", names)
	}
	var st unix.Stat_t
	if err := unix.Lstat(r.outside, &st); err != nil || st.Nlink != 1 || st.Size != 4 {
		t.Fatalf("outside file touched: %v, nlink %d size %d", err, st.Nlink, st.Size)
	}
	if b, _ := os.ReadFile(r.outside); string(b) != "keep" {
		t.Fatalf("outside file changed: %q", b)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	var passwd unix.Stat_t
	if err := unix.Stat("/etc/passwd", &passwd); err != nil {
		t.Fatal(err)
	}
	// A unique absolute path that must never come to exist.
	absVictim := filepath.Join(os.TempDir(), "freezer-escape-"+filepath.Base(t.TempDir()))

	cases := []struct {
		name    string
		pre     func(t *testing.T, r *escapeRig) // prepares dest
		entries []hdr
		opts    ExtractOptions
		refused string // entry name the error must mention
		want    string // and this text
	}{
		{name: "dotdot", entries: []hdr{{typ: tar.TypeReg, name: "../outside.txt", body: "pwned"}},
			refused: "../outside.txt", want: `".."`},
		{name: "absolute", entries: []hdr{{typ: tar.TypeReg, name: absVictim, body: "pwned"}},
			refused: absVictim, want: "absolute"},
		{name: "dotdot inside", entries: []hdr{{typ: tar.TypeDir, name: "a/"}, {typ: tar.TypeReg, name: "a/../../x", body: "pwned"}},
			refused: "a/../../x", want: `".."`},
		{name: "harmless dotdot", entries: []hdr{{typ: tar.TypeReg, name: "a/../b", body: "x"}},
			refused: "a/../b", want: `".."`},
		{name: "symlink to root", entries: []hdr{{typ: tar.TypeSymlink, name: "l", target: "/"}},
			refused: "l", want: "absolute"},
		{name: "through symlink to root", entries: []hdr{
			{typ: tar.TypeSymlink, name: "l", target: "/"},
			{typ: tar.TypeReg, name: "l" + absVictim, body: "pwned"}},
			opts: ExtractOptions{AllowOutsideLinks: true}, refused: "l" + absVictim, want: "symbolic link"},
		{name: "through symlink up", entries: []hdr{
			{typ: tar.TypeSymlink, name: "up", target: ".."},
			{typ: tar.TypeReg, name: "up/outside.txt", body: "pwned"}},
			opts: ExtractOptions{AllowOutsideLinks: true, Overwrite: true}, refused: "up/outside.txt", want: "symbolic link"},
		{name: "symlink climbing out", entries: []hdr{{typ: tar.TypeSymlink, name: "l", target: "../../.."}},
			refused: "l", want: "outside the destination"},
		{name: "nested symlink climbing out", entries: []hdr{{typ: tar.TypeDir, name: "d/"}, {typ: tar.TypeSymlink, name: "d/l", target: "../.."}},
			refused: "d/l", want: "outside the destination"},
		{name: "climb after a name", entries: []hdr{
			{typ: tar.TypeDir, name: "d/"}, {typ: tar.TypeSymlink, name: "d/x", target: ".."},
			{typ: tar.TypeSymlink, name: "l2", target: "d/x/.."}},
			refused: "l2", want: "after a name"},
		{name: "through inside symlink", entries: []hdr{
			{typ: tar.TypeDir, name: "d/"}, {typ: tar.TypeSymlink, name: "d/l", target: ".."},
			{typ: tar.TypeReg, name: "d/l/x", body: "x"}},
			refused: "d/l/x", want: "symbolic link"},
		{name: "hard link to /etc/passwd", entries: []hdr{{typ: tar.TypeLink, name: "h", target: "/etc/passwd"}},
			refused: "h", want: "outside"},
		{name: "hard link up", entries: []hdr{{typ: tar.TypeLink, name: "h", target: "../outside.txt"}},
			refused: "h", want: "outside"},
		{name: "hard link to a file already in dest", pre: func(t *testing.T, r *escapeRig) {
			if err := os.WriteFile(filepath.Join(r.dest, "pre"), []byte("pre"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, entries: []hdr{{typ: tar.TypeLink, name: "h", target: "pre"}},
			refused: "h", want: "not a file extracted earlier"},
		{name: "hard link to a symlink", entries: []hdr{
			{typ: tar.TypeSymlink, name: "s", target: "x"}, {typ: tar.TypeLink, name: "h", target: "s"}},
			refused: "h", want: "not a file extracted earlier"},
		{name: "through symlink already in dest", pre: func(t *testing.T, r *escapeRig) {
			if err := os.Symlink(r.base, filepath.Join(r.dest, "evil")); err != nil {
				t.Fatal(err)
			}
		}, entries: []hdr{{typ: tar.TypeReg, name: "evil/outside.txt", body: "pwned"}},
			opts: ExtractOptions{Overwrite: true}, refused: "evil/outside.txt", want: "symbolic link"},
		{name: "existing link not followed", pre: func(t *testing.T, r *escapeRig) {
			if err := os.Symlink("../outside.txt", filepath.Join(r.dest, "f")); err != nil {
				t.Fatal(err)
			}
		}, entries: []hdr{{typ: tar.TypeReg, name: "f", body: "pwned"}},
			refused: "f", want: "already exists"},
		{name: "directory over file in path", entries: []hdr{
			{typ: tar.TypeReg, name: "f", body: "x"}, {typ: tar.TypeReg, name: "f/g", body: "x"}},
			refused: "f/g", want: "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newEscapeRig(t)
			if c.pre != nil {
				c.pre(t, r)
			}
			_, err := Extract(context.Background(), bytes.NewReader(makeTar(t, c.entries)), r.dest, c.opts)
			if err == nil {
				t.Fatal("extracted without error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), `"`+c.refused+`"`) && !strings.Contains(err.Error(), c.refused+":") {
				t.Errorf("error %q does not name entry %q", err, c.refused)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			r.check(t)
			if _, err := os.Lstat(absVictim); err == nil {
				os.Remove(absVictim)
				t.Fatalf("%s was created", absVictim)
			}
			var st unix.Stat_t
			if unix.Stat("/etc/passwd", &st) != nil || st.Nlink != passwd.Nlink {
				t.Fatal("/etc/passwd gained a link")
			}
		})
	}
}

func TestExtractSafeLinksAllowed(t *testing.T) {
	r := newEscapeRig(t)
	entries := []hdr{
		// GNU tar names global headers after $TMPDIR: not an escape.
		{typ: tar.TypeXGlobalHeader, name: "/tmp/GlobalHead.1.1", body: "made by a tool"},
		{typ: tar.TypeDir, name: "d/"},
		{typ: tar.TypeReg, name: "d/f", body: "data"},
		{typ: tar.TypeSymlink, name: "d/up", target: ".."},
		{typ: tar.TypeSymlink, name: "d/sib", target: "../d/f"},
		{typ: tar.TypeSymlink, name: "d/here", target: "./f"},
		{typ: tar.TypeLink, name: "d/h", target: "d/f"},
		{typ: tar.TypeReg, name: "./top", body: "t"},
		{typ: tar.TypeDir, name: "./"},
	}
	st, err := Extract(context.Background(), bytes.NewReader(makeTar(t, entries)), r.dest, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Symlinks != 3 || st.HardLinks != 1 || st.Dirs != 1 {
		t.Errorf("stats %+v", st)
	}
	if b, err := os.ReadFile(filepath.Join(r.dest, "d/sib")); err != nil || string(b) != "data" {
		t.Errorf("d/sib: %q %v", b, err)
	}
	r.check(t)
}

func TestExtractOverwrite(t *testing.T) {
	r := newEscapeRig(t)
	arch := makeTar(t, []hdr{{typ: tar.TypeDir, name: "d/"}, {typ: tar.TypeReg, name: "d/f", body: "new"}})
	os.MkdirAll(filepath.Join(r.dest, "d"), 0o755)
	os.WriteFile(filepath.Join(r.dest, "d/f"), []byte("old"), 0o644)
	_, err := Extract(context.Background(), bytes.NewReader(arch), r.dest, ExtractOptions{})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(r.dest, "d/f")); string(b) != "old" {
		t.Fatalf("overwritten without Overwrite: %q", b)
	}
	if _, err := Extract(context.Background(), bytes.NewReader(arch), r.dest, ExtractOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(r.dest, "d/f")); string(b) != "new" {
		t.Fatalf("not overwritten: %q", b)
	}
	// A symlink in the way is replaced, never written through.
	os.Remove(filepath.Join(r.dest, "d/f"))
	os.Symlink("../../outside.txt", filepath.Join(r.dest, "d/f"))
	if _, err := Extract(context.Background(), bytes.NewReader(arch), r.dest, ExtractOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(r.dest, "d/f")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("link not replaced: %v %v", fi, err)
	}
	// A directory is never replaced by a file.
	dirInWay := makeTar(t, []hdr{{typ: tar.TypeReg, name: "d", body: "x"}})
	if _, err := Extract(context.Background(), bytes.NewReader(dirInWay), r.dest, ExtractOptions{Overwrite: true}); err == nil || !strings.Contains(err.Error(), "directory is in the way") {
		t.Fatalf("err = %v", err)
	}
	r.check(t)
}

func TestExtractModesAndOwners(t *testing.T) {
	r := newEscapeRig(t)
	arch := makeTar(t, []hdr{
		{typ: tar.TypeDir, name: "ro/", mode: 0o555},
		{typ: tar.TypeReg, name: "ro/f", body: "x", mode: 0o4755},
	})
	if _, err := Extract(context.Background(), bytes.NewReader(arch), r.dest, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(r.dest, "ro/f"), &st)
	if st.Mode&0o7777 != 0o755 {
		t.Errorf("setuid kept without SameOwner: %o", st.Mode&0o7777)
	}
	unix.Lstat(filepath.Join(r.dest, "ro"), &st)
	if st.Mode&0o7777 != 0o555 {
		t.Errorf("read-only dir mode %o", st.Mode&0o7777)
	}
	if st.Mtim.Sec != 1600000000 {
		t.Errorf("dir mtime %v", st.Mtim)
	}
}

func TestExtractSkipsDevices(t *testing.T) {
	r := newEscapeRig(t)
	arch := makeTar(t, []hdr{
		{typ: tar.TypeChar, name: "null"},
		{typ: tar.TypeBlock, name: "sda"},
		{typ: tar.TypeFifo, name: "pipe"},
		{typ: tar.TypeReg, name: "f", body: "x"},
	})
	var log bytes.Buffer
	st, err := Extract(context.Background(), bytes.NewReader(arch), r.dest, ExtractOptions{Logger: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 3 || st.Files != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, n := range []string{"null", "sda", "pipe"} {
		if !strings.Contains(log.String(), n) {
			t.Errorf("no warning for %s: %s", n, log.String())
		}
		if _, err := os.Lstat(filepath.Join(r.dest, n)); err == nil {
			t.Errorf("%s created", n)
		}
	}
}

// TestTruncatedArchives: an archive cut anywhere, even between entries,
// and a damaged compression trailer are errors for List and Extract.
func TestTruncatedArchives(t *testing.T) {
	arch := makeTar(t, []hdr{{typ: tar.TypeReg, name: "a", body: strings.Repeat("a", 700)}, {typ: tar.TypeReg, name: "b", body: "b"}})
	// 512 header + 1024 data: an entry boundary at 1536; the end blocks
	// start at 2560.
	for _, cut := range []int{0, 100, 512, 1536, 2048, 2560, 3072} {
		_, err := List(context.Background(), bytes.NewReader(arch[:cut]), ListOptions{}, func(ListEntry) error { return nil })
		if err == nil {
			t.Errorf("List of archive cut at %d: no error", cut)
		}
		r := newEscapeRig(t)
		_, err = Extract(context.Background(), bytes.NewReader(arch[:cut]), r.dest, ExtractOptions{})
		if err == nil {
			t.Errorf("Extract of archive cut at %d: no error", cut)
		}
	}
	if _, err := List(context.Background(), bytes.NewReader(arch), ListOptions{}, func(ListEntry) error { return nil }); err != nil {
		t.Fatalf("intact archive: %v", err)
	}
	var z bytes.Buffer
	zw, _ := compress.NewWriter(&z, compress.Gzip, compress.Options{})
	zw.Write(arch)
	zw.Close()
	bad := bytes.Clone(z.Bytes())
	bad[len(bad)-6] ^= 0xff // CRC-32 in the gzip trailer, after the tar ends
	zr, err := compress.NewReader(bytes.NewReader(bad), compress.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := List(context.Background(), zr, ListOptions{}, func(ListEntry) error { return nil }); err == nil {
		t.Fatal("List missed a damaged gzip trailer")
	}
}

func TestList(t *testing.T) {
	src := filepath.Join(t.TempDir(), "l")
	buildTree(t, src, treeSpec{files: 20, maxSize: 100, big: 1000})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := Write(context.Background(), &buf, sel.Entries, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sums := map[string]string{}
	st, err := List(context.Background(), &buf, ListOptions{Hash: true}, func(e ListEntry) error {
		names = append(names, e.Name)
		if e.Type == TypeFile {
			sums[e.Name] = e.SHA256
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range sel.Entries {
		want = append(want, e.Name)
	}
	if d := diffSets(want, names); d != "" {
		t.Errorf("listed names differ:\n%s", d)
	}
	for _, r := range res.Files {
		if r.LinkOf == "" && sums[r.Path] != r.SHA256 {
			t.Errorf("%s: listed hash %s, written %s", r.Path, sums[r.Path], r.SHA256)
		}
	}
	if st.Bytes != res.Bytes || st.HardLinks != 1 {
		t.Errorf("stats %+v vs result bytes %d", st, res.Bytes)
	}
	stop := errors.New("stop")
	if _, err := List(context.Background(), bytes.NewReader(nil), ListOptions{}, func(ListEntry) error { return stop }); err == nil {
		t.Error("empty input listed without error")
	}
}

func TestExtractCancel(t *testing.T) {
	arch := makeTar(t, []hdr{{typ: tar.TypeReg, name: "a", body: "a"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newEscapeRig(t)
	if _, err := Extract(ctx, bytes.NewReader(arch), r.dest, ExtractOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
