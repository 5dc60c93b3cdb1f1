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
)

// preflightExtract is what a careful caller does: check, then extract
// with the plan.
func preflightExtract(t *testing.T, arch []byte, dest string, opts ExtractOptions) (Stats, error) {
	t.Helper()
	plan, err := Preflight(context.Background(), bytes.NewReader(arch), dest, opts)
	if err != nil {
		return Stats{}, err
	}
	opts.Plan = plan
	return Extract(context.Background(), bytes.NewReader(arch), dest, opts)
}

// tree lists what lies under dir: "name" for files (with their contents),
// "name/" for folders, "name -> target" for links.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.IsDir():
			out = append(out, rel+"/")
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	return out
}

var sample = []hdr{
	{typ: tar.TypeDir, name: "2024/"},
	{typ: tar.TypeReg, name: "2024/a.jpg", body: "A"},
	{typ: tar.TypeReg, name: "2024/b.txt", body: "B"},
	{typ: tar.TypeLink, name: "2024/a-again.jpg", target: "2024/a.jpg"},
	{typ: tar.TypeDir, name: "2024/deep/"},
	{typ: tar.TypeReg, name: "2024/deep/c.jpg", body: "C"},
	{typ: tar.TypeSymlink, name: "2024/latest", target: "deep/c.jpg"},
}

// TestPreflightRefusesConflictsBeforeWriting: an extract into a folder
// holding one of the archive's files used to stop half-way with part of
// the tree written. Now it writes nothing and lists what is in the way.
func TestPreflightRefusesConflictsBeforeWriting(t *testing.T) {
	arch := makeTar(t, sample)
	dest := t.TempDir()
	os.MkdirAll(filepath.Join(dest, "2024", "deep"), 0o755)
	os.WriteFile(filepath.Join(dest, "2024", "deep", "c.jpg"), []byte("mine"), 0o644)
	before := tree(t, dest)
	_, err := preflightExtract(t, arch, dest, ExtractOptions{})
	var c *ConflictError
	if !errors.As(err, &c) || c.Count != 1 || c.Names[0] != "2024/deep/c.jpg" {
		t.Fatalf("want a conflict naming 2024/deep/c.jpg, got %v", err)
	}
	if after := tree(t, dest); !slices.Equal(before, after) {
		t.Fatalf("a refused extract wrote: %q → %q", before, after)
	}

	// Skipping what exists restores the rest and keeps the file.
	st, err := preflightExtract(t, arch, dest, ExtractOptions{SkipExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024/", "2024/a-again.jpg=A", "2024/a.jpg=A", "2024/b.txt=B", "2024/deep/", "2024/deep/c.jpg=mine", "2024/latest -> deep/c.jpg"}
	if got := tree(t, dest); !slices.Equal(got, want) {
		t.Fatalf("skip-existing restored %q, want %q", got, want)
	}
	if st.Existing != 1 || st.Files+st.HardLinks != 3 {
		t.Errorf("stats %+v", st)
	}

	// Overwriting replaces it.
	if _, err := preflightExtract(t, arch, dest, ExtractOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "2024", "deep", "c.jpg")); string(b) != "C" {
		t.Errorf("overwrite left %q", b)
	}

	// A folder where the archive has a file: never replaced, so even
	// Overwrite is refused up front.
	dest2 := t.TempDir()
	os.MkdirAll(filepath.Join(dest2, "2024", "b.txt"), 0o755)
	_, err = preflightExtract(t, arch, dest2, ExtractOptions{Overwrite: true})
	if !errors.As(err, &c) || c.DirsInWay != 1 {
		t.Fatalf("folder in the way with overwrite: %v", err)
	}
	if got := tree(t, dest2); !slices.Equal(got, []string{"2024/", "2024/b.txt/"}) {
		t.Fatalf("refused extract wrote %q", got)
	}
}

// TestPreflightRefusesUnsafeEntriesBeforeWriting: an entry the extractor
// refuses, late in the archive, used to leave the entries before it
// written. Preflight refuses before any.
func TestPreflightRefusesUnsafeEntriesBeforeWriting(t *testing.T) {
	arch := makeTar(t, []hdr{
		{typ: tar.TypeReg, name: "fine.txt", body: "ok"},
		{typ: tar.TypeSymlink, name: "escape", target: "/etc"},
	})
	r := newEscapeRig(t)
	_, err := preflightExtract(t, arch, r.dest, ExtractOptions{})
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Entry != "escape" || refused.Allow != "allow-outside-links" {
		t.Fatalf("want the link refused, naming the option that allows it: %v", err)
	}
	if got := tree(t, r.dest); len(got) != 0 {
		t.Fatalf("written before the refusal: %q", got)
	}
	r.check(t)
	if _, err := preflightExtract(t, arch, r.dest, ExtractOptions{AllowOutsideLinks: true}); err != nil {
		t.Fatal(err)
	}

	// Through a link the archive itself makes in a new folder, and a file
	// where the archive made a folder: refused before writing too.
	for _, entries := range [][]hdr{
		{{typ: tar.TypeDir, name: "new/"}, {typ: tar.TypeSymlink, name: "new/l", target: "."}, {typ: tar.TypeReg, name: "new/l/x", body: "x"}},
		{{typ: tar.TypeReg, name: "new/a/b", body: "b"}, {typ: tar.TypeReg, name: "new/a", body: "a"}},
	} {
		dest := t.TempDir()
		if _, err := preflightExtract(t, makeTar(t, entries), dest, ExtractOptions{Overwrite: true}); err == nil {
			t.Errorf("%v: no refusal", entries)
		}
		if got := tree(t, dest); len(got) != 0 {
			t.Errorf("%v: written before the refusal: %q", entries, got)
		}
	}
}

// TestExtractInclude: a subset of the archive, with the folders holding
// it, and a hard link whose file is left out restored as that file.
func TestExtractInclude(t *testing.T) {
	arch := makeTar(t, sample)
	for _, tt := range []struct {
		include []string
		want    []string
	}{
		{[]string{"2024/deep"}, []string{"2024/", "2024/deep/", "2024/deep/c.jpg=C"}},
		{[]string{"2024/*.txt"}, []string{"2024/", "2024/b.txt=B"}},
		{[]string{"./2024/a-again.jpg"}, []string{"2024/", "2024/a-again.jpg=A"}},
		{[]string{"*/*.jpg"}, []string{"2024/", "2024/a-again.jpg=A", "2024/a.jpg=A"}},
		{[]string{"2024/latest", "2024/b.txt"}, []string{"2024/", "2024/b.txt=B", "2024/latest -> deep/c.jpg"}},
	} {
		dest := t.TempDir()
		if _, err := preflightExtract(t, arch, dest, ExtractOptions{Include: tt.include}); err != nil {
			t.Fatalf("%q: %v", tt.include, err)
		}
		if got := tree(t, dest); !slices.Equal(got, tt.want) {
			t.Errorf("include %q restored %q, want %q", tt.include, got, tt.want)
		}
	}
	_, err := Preflight(context.Background(), bytes.NewReader(arch), t.TempDir(), ExtractOptions{Include: []string{"2025"}})
	if err == nil || !strings.Contains(err.Error(), `"2025"`) {
		t.Errorf("a pattern that matches nothing: %v", err)
	}
	if _, err := CleanPatterns([]string{"[a-"}); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}

// TestNotATar: bytes that are not a tar (another tool's upload) are said
// to be so, not "truncated".
func TestNotATar(t *testing.T) {
	for _, data := range [][]byte{[]byte("just some notes\n"), bytes.Repeat([]byte{0xA5}, 4096), nil} {
		dest := t.TempDir()
		_, err := Preflight(context.Background(), bytes.NewReader(data), dest, ExtractOptions{})
		if !errors.Is(err, ErrNotTar) {
			t.Errorf("%d bytes of non-tar: %v", len(data), err)
		}
		_, err = Extract(context.Background(), bytes.NewReader(data), dest, ExtractOptions{})
		if !errors.Is(err, ErrNotTar) {
			t.Errorf("Extract of %d bytes of non-tar: %v", len(data), err)
		}
	}
	// A real tar cut short is still "truncated", not "not a tar".
	arch := makeTar(t, sample)
	_, err := Preflight(context.Background(), bytes.NewReader(arch[:2048]), t.TempDir(), ExtractOptions{})
	if err == nil || errors.Is(err, ErrNotTar) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a cut tar: %v", err)
	}
}
