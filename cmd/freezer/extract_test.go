package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/aws/treehash"
)

// TestExtractLikeACarefulTool: an extract into a folder holding one of the
// archive's files used to stop half-way with part of the tree written.
// Now it writes nothing, lists what is in the way, and names the flags
// that get past it; --skip-existing restores only what is missing,
// --include a subset.
func TestExtractLikeACarefulTool(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "photos")
	for _, f := range []string{"a.jpg", "b.jpg", "notes.txt", "z/late.jpg"} {
		writeFile(t, filepath.Join(src, f), f)
	}
	mustCLI(t, dir, "vault", "create", "v")
	mustCLI(t, dir, "archive", "create", "--vault", "v", "--name", "p", "--key", "none", src)
	dest := filepath.Join(dir, "restore")
	writeFile(t, filepath.Join(dest, "photos", "b.jpg"), "mine")

	code, _, errs := simCLI(t, dir, "archive", "extract", "v/p", dest)
	last := lastLine(errs)
	if code != 1 || !strings.Contains(last, `"photos/b.jpg" is already in`) || !strings.Contains(last, "nothing was written") ||
		!strings.Contains(last, "freezer archive extract --skip-existing v/p") || !strings.Contains(last, "--overwrite") {
		t.Fatalf("extract onto an existing file: exit %d, %q", code, last)
	}
	if ents, _ := os.ReadDir(filepath.Join(dest, "photos")); len(ents) != 1 {
		t.Fatalf("a refused extract wrote %d entries", len(ents))
	}
	out := mustCLI(t, dir, "archive", "extract", "--skip-existing", "v/p", dest)
	if !strings.Contains(out, "3 files") || !strings.Contains(out, "1 already there") {
		t.Errorf("skip-existing said %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "photos", "b.jpg")); string(b) != "mine" {
		t.Errorf("skip-existing replaced a file: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "photos", "z", "late.jpg")); string(b) != "z/late.jpg" {
		t.Errorf("skip-existing did not restore what was missing: %q", b)
	}
	sub := filepath.Join(dir, "sub")
	mustCLI(t, dir, "archive", "extract", "--include", "photos/*.jpg", "v/p", sub)
	got, _ := filepath.Glob(filepath.Join(sub, "photos", "*"))
	if len(got) != 2 {
		t.Errorf("--include photos/*.jpg restored %q", got)
	}
	if code, _, errs := simCLI(t, dir, "archive", "extract", "--overwrite", "--skip-existing", "v/p", dest); code != 2 {
		t.Errorf("--overwrite with --skip-existing: exit %d, %s", code, errs)
	}
}

// TestExtractOtherToolsUpload: an archive another tool uploaded, found by
// an inventory and retrieved, is not a tar: extract says so and where the
// file is, instead of "truncated".
func TestExtractOtherToolsUpload(t *testing.T) {
	dir := t.TempDir()
	simDir := filepath.Join(dir, "sim")
	s, err := sim.New(sim.Options{Dir: simDir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	ctx := context.Background()
	as := aws.Settings{Endpoint: srv.URL, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	g := aws.NewGlacier(cfg, as)
	if _, err := g.CreateVault(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	blob := []byte("my notes, uploaded by hand\n")
	linear, tree, _, _ := treehash.Compute(bytes.NewReader(blob))
	if _, err := g.UploadArchive(ctx, "v", "notes.txt", bytes.NewReader(blob), int64(len(blob)), treehash.Hex(tree), treehash.Hex(linear)); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	s.Close()

	base := []string{"--sim", simDir, "--sim-job-delay", "0", "--sim-inventory-interval", "0"}
	for _, args := range [][]string{{"vault", "inventory", "--wait", "v"}, {"archive", "retrieve", "--wait", "v/notes.txt"}} {
		if code, _, errs := runCLI(t, dir, append(base, args...)...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	code, _, errs := runCLI(t, dir, append(base, "archive", "extract", "v/notes.txt", filepath.Join(dir, "out"))...)
	local := filepath.Join(simDir, "data", "archives", "v", "notes.txt")
	if last := lastLine(errs); code != 1 || !strings.Contains(last, "not a tar archive; the retrieved file is at "+local) || strings.Contains(last, "truncated") {
		t.Errorf("extract of another tool's upload: exit %d, %q", code, last)
	}
	if b, err := os.ReadFile(local); err != nil || !bytes.Equal(b, blob) {
		t.Errorf("the retrieved file: %q, %v", b, err)
	}
}
