package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"freezer/pipeline/compress"
	"freezer/pipeline/tarball/tarballtest"
)

// TestRoundTrip walks a tree with every kind of entry, writes it through
// each compression, extracts it and compares the trees exactly.
func TestRoundTrip(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "2024")
	nfiles := buildTree(t, src, treeSpec{files: 2000, maxSize: 3000, big: 3<<20 + 5})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []compress.Algorithm{compress.None, compress.Gzip, compress.Zstd} {
		t.Run(string(alg), func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "a.tar"+alg.Extension())
			f, err := os.Create(archive)
			if err != nil {
				t.Fatal(err)
			}
			zw, err := compress.NewWriter(f, alg, compress.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			var onFile []FileRecord
			var progress int64
			res, err := Write(context.Background(), zw, sel.Entries, WriteOptions{
				OnFile:     func(r FileRecord) { onFile = append(onFile, r) },
				OnProgress: func(n int64) { progress += n },
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			checkRecords(t, src, res, onFile, nfiles)
			if progress != res.Bytes {
				t.Errorf("OnProgress summed %d, Result.Bytes %d", progress, res.Bytes)
			}

			dest := filepath.Join(t.TempDir(), "dest")
			in, err := os.Open(archive)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			zr, got, err := compress.NewDetectingReader(in)
			if err != nil || got != alg {
				t.Fatalf("detect: %q, %v", got, err)
			}
			defer zr.Close()
			var restored []FileRecord
			st, err := Extract(context.Background(), zr, dest, ExtractOptions{
				SameOwner:         true,
				AllowOutsideLinks: true, // links/abs is absolute
				OnFile:            func(r FileRecord) { restored = append(restored, r) },
			})
			if err != nil {
				t.Fatal(err)
			}
			tarballtest.CompareTrees(t, src, filepath.Join(dest, "2024"))
			if st.Files+st.HardLinks != nfiles || st.HardLinks != 1 || st.Bytes != res.Bytes {
				t.Errorf("extract stats %+v; want %d files (1 hard link), %d bytes", st, nfiles, res.Bytes)
			}
			sums := map[string]string{}
			for _, r := range res.Files {
				sums[r.Path] = r.SHA256
			}
			for _, r := range restored {
				if sums[r.Path] != r.SHA256 {
					t.Errorf("%s: restored SHA-256 %s, archived %s", r.Path, r.SHA256, sums[r.Path])
				}
			}
		})
	}
}

// checkRecords compares Write's file records with the files on disk.
func checkRecords(t *testing.T, src string, res Result, onFile []FileRecord, nfiles int) {
	t.Helper()
	if len(res.Files) != nfiles || len(onFile) != nfiles {
		t.Fatalf("%d records (%d via OnFile), want %d", len(res.Files), len(onFile), nfiles)
	}
	var total int64
	for i, r := range res.Files {
		if onFile[i] != r {
			t.Errorf("OnFile record %d differs: %+v vs %+v", i, onFile[i], r)
		}
		rel := strings.TrimPrefix(r.Path, "2024/")
		disk := filepath.Join(src, rel)
		if r.Source != disk {
			t.Errorf("%s: source %q, want %q", r.Path, r.Source, disk)
		}
		if r.Name != filepath.Base(disk) {
			t.Errorf("%s: name %q", r.Path, r.Name)
		}
		if want := sha256File(t, disk); r.SHA256 != want {
			t.Errorf("%s: SHA-256 %s, want %s", r.Path, r.SHA256, want)
		}
		fi, err := os.Lstat(disk)
		if err != nil {
			t.Fatal(err)
		}
		if r.Size != fi.Size() || !r.ModTime.Equal(fi.ModTime()) || r.Mode.Perm() != fi.Mode().Perm() {
			t.Errorf("%s: record %+v does not match disk", r.Path, r)
		}
		if r.LinkOf == "" {
			total += r.Size
		} else if r.Path != "2024/hard1" || r.LinkOf != "2024/d01/hard2" { // d01 sorts first
			t.Errorf("unexpected hard link record %+v", r)
		}
	}
	if total != res.Bytes {
		t.Errorf("Result.Bytes %d, records sum %d", res.Bytes, total)
	}
	if res.HardLinks != 1 || res.Skipped != 0 {
		t.Errorf("result counts %+v", res)
	}
}

// TestWriteHeaders checks what the tar itself holds: PAX format, owners by
// id and name, nanosecond mtimes, byte-exact names, link types.
func TestWriteHeaders(t *testing.T) {
	src := filepath.Join(t.TempDir(), "h")
	buildTree(t, src, treeSpec{files: 5, maxSize: 10, big: 10})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, sel.Entries, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	hdrs := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name] = h
	}
	byName := map[string]Entry{}
	for _, e := range sel.Entries {
		byName[e.Name] = e
	}
	for name, e := range byName {
		hname := name
		if e.Type == TypeDir {
			hname += "/"
		}
		h, ok := hdrs[hname]
		if !ok {
			t.Errorf("no header for %q", hname)
			continue
		}
		if !h.ModTime.Equal(e.ModTime) || h.ModTime.Nanosecond() == 0 {
			t.Errorf("%q: mtime %v, want %v (with nanoseconds)", name, h.ModTime, e.ModTime)
		}
		if h.Uid != int(e.Uid) || h.Gid != int(e.Gid) {
			t.Errorf("%q: uid/gid %d/%d", name, h.Uid, h.Gid)
		}
		if e.Uid == 0 && (h.Uname != "root" || h.Gname != "root") {
			t.Errorf("%q: owner names %q/%q, want root/root", name, h.Uname, h.Gname)
		}
		if h.Format != tar.FormatPAX && h.Format != tar.FormatUSTAR|tar.FormatPAX {
			// archive/tar reports PAX when PAX records were read.
			if len(h.PAXRecords) == 0 {
				t.Errorf("%q: format %v, want PAX", name, h.Format)
			}
		}
	}
	if h := hdrs["h/"+nameNonUTF8]; h == nil || h.Name != "h/"+nameNonUTF8 {
		t.Errorf("non-UTF-8 name not stored byte for byte")
	}
	if h := hdrs["h/hard1"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "h/d01/hard2" {
		t.Errorf("hard link header = %+v", h)
	}
	if h := hdrs["h/links/dangling"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "does/not/exist" {
		t.Errorf("symlink header = %+v", h)
	}
	if h := hdrs["h/suid"]; h == nil || h.Mode != 0o4755 {
		t.Errorf("setuid file header = %+v", h)
	}
}

// countingFile counts what Write reads from one file.
type countingFile struct {
	sourceFile
	reads  *int
	bytes  *int64
	after1 func() // called after the first read, once
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.sourceFile.Read(p)
	*c.reads++
	*c.bytes += int64(n)
	if c.after1 != nil {
		f := c.after1
		c.after1 = nil
		f()
	}
	return n, err
}

// TestWriteReadsEachFileOnce: every regular file is opened once and its
// bytes read once (hashing rides on the archive copy).
func TestWriteReadsEachFileOnce(t *testing.T) {
	src := filepath.Join(t.TempDir(), "once")
	buildTree(t, src, treeSpec{files: 200, maxSize: 5000, big: 2<<20 + 1})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opens := map[string]int{}
	reads := map[string]*int{}
	read := map[string]*int64{}
	opts := WriteOptions{open: func(p string) (sourceFile, error) {
		opens[p]++
		f, err := openSource(p)
		if err != nil {
			return nil, err
		}
		reads[p], read[p] = new(int), new(int64)
		return &countingFile{sourceFile: f, reads: reads[p], bytes: read[p]}, nil
	}}
	res, err := Write(context.Background(), io.Discard, sel.Entries, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sel.Entries {
		switch e.Type {
		case TypeFile:
			if opens[e.Source] != 1 {
				t.Errorf("%s opened %d times", e.Source, opens[e.Source])
			}
			want := e.Size
			if e.Name == "once/hard1" { // after once/d01/hard2
				want = 0 // stored as a link: opened for fstat, never read
			}
			if *read[e.Source] != want {
				t.Errorf("%s: %d bytes read, size %d", e.Source, *read[e.Source], want)
			}
			// Reads of copyBuffer, plus one to see the end.
			if max := int(want/copyBuffer) + 2; *reads[e.Source] > max {
				t.Errorf("%s: %d read calls for %d bytes", e.Source, *reads[e.Source], want)
			}
		default:
			if opens[e.Source] != 0 {
				t.Errorf("%s (%s) opened", e.Source, e.Type)
			}
		}
	}
	if len(res.Files) == 0 {
		t.Fatal("no files")
	}
}

// TestWriteChangedFile changes a file between two reads of Write.
func TestWriteChangedFile(t *testing.T) {
	cases := []struct {
		name   string
		change func(p string) error
		want   string
	}{
		{"grows", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}, "grew"},
		{"shrinks", func(p string) error { return os.Truncate(p, 10) }, "shrank"},
		{"rewritten in place", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte("changed"), copyBuffer+100); err != nil {
				return err
			}
			return os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))
		}, "modified while it was read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "c")
			os.MkdirAll(src, 0o755)
			target := filepath.Join(src, "victim.bin")
			if err := os.WriteFile(target, bytes.Repeat([]byte("x"), 3*copyBuffer), 0o644); err != nil {
				t.Fatal(err)
			}
			sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var changeErr error
			opts := WriteOptions{open: func(p string) (sourceFile, error) {
				f, err := openSource(p)
				if err != nil {
					return nil, err
				}
				var r int
				var b int64
				return &countingFile{sourceFile: f, reads: &r, bytes: &b, after1: func() { changeErr = c.change(p) }}, nil
			}}
			_, err = Write(context.Background(), io.Discard, sel.Entries, opts)
			if changeErr != nil {
				t.Fatal(changeErr)
			}
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v; want ErrChanged naming %s and saying %q", err, target, c.want)
			}
			if !strings.Contains(err.Error(), "try again") {
				t.Errorf("error %q does not tell the user to try again", err)
			}
		})
	}
}

// TestWriteUnreadable makes a selected file unreadable between Walk and
// Write in ways that fail for real, even for root.
func TestWriteUnreadable(t *testing.T) {
	cases := []struct {
		name      string
		breakFile func(t *testing.T, p string)
		asNobody  bool
		want      string
	}{
		{"replaced by a FIFO", func(t *testing.T, p string) {
			os.Remove(p)
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "no longer a regular file"},
		{"replaced by a directory", func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, false, "no longer a regular file"},
		{"replaced by a symlink", func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Symlink("/etc/hostname", p); err != nil {
				t.Fatal(err)
			}
		}, false, "now a symbolic link"},
		{"removed", func(t *testing.T, p string) { os.Remove(p) }, false, "vanished"},
		{"permission denied", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
		}, true, "permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			src := filepath.Join(base, "u")
			os.MkdirAll(src, 0o755)
			for _, n := range []string{"a", "b", "c"} {
				if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(src, "b")
			c.breakFile(t, target)
			var werr error
			done := make(chan struct{})
			run := func() {
				defer close(done)
				_, werr = Write(context.Background(), io.Discard, sel.Entries, WriteOptions{})
			}
			if c.asNobody {
				openToAll(t, base)
				asNobody(t, run)
			} else {
				go run()
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Write hangs")
			}
			if werr == nil || !strings.Contains(werr.Error(), target) || !strings.Contains(werr.Error(), c.want) {
				t.Fatalf("error = %v; want one naming %s and saying %q", werr, target, c.want)
			}
		})
	}
}

func TestWriteSkipsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Source: fifo, Name: "fifo", Type: TypeOther, Mode: fs.ModeNamedPipe | 0o644}}
	var log bytes.Buffer
	var out bytes.Buffer
	res, err := Write(context.Background(), &out, entries, WriteOptions{Logger: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 || !strings.Contains(log.String(), "special file") || !strings.Contains(log.String(), fifo) {
		t.Fatalf("skipped %d, log %q", res.Skipped, log.String())
	}
	n := 0
	if _, err := List(context.Background(), &out, ListOptions{}, func(ListEntry) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("archive of a skipped FIFO: %d entries, %v", n, err)
	}
}

func TestWriteCancel(t *testing.T) {
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	if err := os.WriteFile(filepath.Join(src, "big"), make([]byte, 4*copyBuffer), 0o644); err != nil {
		t.Fatal(err)
	}
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel inside the copy of the big file.
	_, err = Write(ctx, io.Discard, sel.Entries, WriteOptions{OnProgress: func(int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWriteRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "/abs", "../up", "a/../../b"} {
		_, err := Write(context.Background(), io.Discard, []Entry{{Name: name, Type: TypeDir, Source: "/x"}}, WriteOptions{})
		if err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// TestWriteOutputError: the archive's writer failing is reported.
func TestWriteOutputError(t *testing.T) {
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), make([]byte, 1<<20), 0o644)
	sel, _ := Walk(context.Background(), []string{src}, WalkOptions{})
	_, err := Write(context.Background(), failWriter{}, sel.Entries, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

// TestWriteEachStreamsRecords: entries from a sequence, records handed to
// OnFile only, the same archive as Write makes from the list.
func TestWriteEachStreamsRecords(t *testing.T) {
	src := filepath.Join(t.TempDir(), "each")
	buildTree(t, src, treeSpec{files: 50, maxSize: 3000})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want, got bytes.Buffer
	wres, err := Write(context.Background(), &want, sel.Entries, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []FileRecord
	gres, err := WriteEach(context.Background(), &got, slices.Values(sel.Entries),
		WriteOptions{NoFileList: true, OnFile: func(r FileRecord) { recs = append(recs, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Error("WriteEach wrote another archive than Write")
	}
	if len(gres.Files) != 0 {
		t.Errorf("NoFileList: %d records kept in the result", len(gres.Files))
	}
	if !slices.Equal(recs, wres.Files) {
		t.Errorf("OnFile got %d records, Write listed %d, or they differ", len(recs), len(wres.Files))
	}
}
