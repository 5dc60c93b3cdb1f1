package tarball

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"freezer/pipeline/tarball/tarballtest"
)

func requireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test and is not installed: apt-get install %s", name, debianPackage)
	}
	return p
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestGNUTarReadsOurArchives: GNU tar lists and extracts what Write makes,
// non-UTF-8 name included, to an identical tree.
func TestGNUTarReadsOurArchives(t *testing.T) {
	tarBin := requireTool(t, "tar", "tar")
	base := t.TempDir()
	src := filepath.Join(base, "2024")
	buildTree(t, src, treeSpec{files: 300, maxSize: 3000, big: 1<<20 + 3})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(base, "a.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), f, sel.Entries, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	listed := strings.Split(strings.TrimSuffix(string(run(t, tarBin, "--quoting-style=literal", "-tf", archive)), "\n"), "\n")
	var want []string
	for _, e := range sel.Entries {
		if e.Type == TypeDir {
			want = append(want, e.Name+"/")
		} else {
			want = append(want, e.Name)
		}
	}
	if d := diffSets(want, listed); d != "" {
		t.Errorf("tar -t lists other names:\n%s", d)
	}
	verbose := string(run(t, tarBin, "--full-time", "-tvf", archive))
	if !strings.Contains(verbose, "1234/5678") || !strings.Contains(verbose, "root/root") {
		t.Errorf("tar -tv does not show owners:\n%.500s", verbose)
	}
	if !strings.Contains(verbose, "2024/hard1 link to 2024/d01/hard2") {
		t.Errorf("tar -tv does not show the hard link")
	}

	out := filepath.Join(base, "gnu")
	os.Mkdir(out, 0o755)
	run(t, tarBin, "-xpf", archive, "-C", out)
	tarballtest.CompareTrees(t, src, filepath.Join(out, "2024"))
}

// TestExtractGNUTarArchives: Extract restores what GNU tar makes in PAX
// format to an identical tree.
func TestExtractGNUTarArchives(t *testing.T) {
	tarBin := requireTool(t, "tar", "tar")
	base := t.TempDir()
	src := filepath.Join(base, "2024")
	buildTree(t, src, treeSpec{files: 300, maxSize: 3000, big: 1<<20 + 3})
	archive := filepath.Join(base, "gnu.tar")
	run(t, tarBin, "--format=pax", "-cf", archive, "-C", base, "2024")
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := filepath.Join(base, "dest")
	if _, err := Extract(context.Background(), f, dest, ExtractOptions{SameOwner: true, AllowOutsideLinks: true}); err != nil {
		t.Fatal(err)
	}
	tarballtest.CompareTrees(t, src, filepath.Join(dest, "2024"))
}

// TestSparseRefused: GNU sparse entries (which could claim any size) are
// refused by Extract and List with a message pointing to GNU tar.
func TestSparseRefused(t *testing.T) {
	tarBin := requireTool(t, "tar", "tar")
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "sparse.img"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(base, "sparse.img"), 64<<20); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"pax", "gnu"} {
		archive := filepath.Join(base, format+".tar")
		run(t, tarBin, "--format="+format, "--sparse", "-cf", archive, "-C", base, "sparse.img")
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Extract(context.Background(), f, filepath.Join(base, "dest-"+format), ExtractOptions{})
		f.Close()
		if err == nil || !strings.Contains(err.Error(), "sparse") || !strings.Contains(err.Error(), "sparse.img") {
			t.Errorf("%s: Extract error = %v, want a refusal of the sparse entry", format, err)
		}
		f, _ = os.Open(archive)
		_, err = List(context.Background(), f, ListOptions{}, func(ListEntry) error { return nil })
		f.Close()
		if err == nil || !strings.Contains(err.Error(), "sparse") {
			t.Errorf("%s: List error = %v", format, err)
		}
	}
}
