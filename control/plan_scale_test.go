package control_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"freezer/control"
	"freezer/filter"
)

// TestCreateRecordsFilesAndFrozenPlan: create streams the file records
// through its spool into the catalog (files, hard links, the hash cache),
// and a later plan with the frozen filter finds every file through the
// batched lookups, from the hash cache, reading none.
func TestCreateRecordsFilesAndFrozenPlan(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "home")
	makeTree(t, src, 1500, 4096)
	if err := os.Link(filepath.Join(src, "big.bin"), filepath.Join(src, "big-link.bin")); err != nil {
		t.Fatal(err)
	}
	info := ev.create("all", "zstd", src)

	a, err := ev.db.Archive(ctx, "photos", "all")
	if err != nil {
		t.Fatal(err)
	}
	files, err := ev.db.ArchiveFiles(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want int
	err = filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		want++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != want || a.FileCount != int64(want) || info.FileCount != int64(want) {
		t.Fatalf("catalog: %d files, count %d, info %d; the tree has %d", len(files), a.FileCount, info.FileCount, want)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(src), f.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(data)) || f.Name != filepath.Base(f.Path) {
			t.Fatalf("%s: recorded %+v", f.Path, f)
		}
	}
	cached, err := ev.db.HashCacheFor(ctx, []string{filepath.Join(src, "big.bin"), filepath.Join(src, "big-link.bin"), filepath.Join(src, "d00/e0/f0000.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cached) != 3 {
		t.Errorf("hash cache after create holds %d of the 3 paths, hard link included", len(cached))
	}

	// A file changed since: read again, and no longer frozen.
	changed := filepath.Join(src, "d01/e1/f0001.txt")
	if err := os.WriteFile(changed, []byte("new contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	sel, err := ev.e.Plan(ctx, control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters.With(filter.FilterFrozen)})
	if err != nil {
		t.Fatal(err)
	}
	s := sel.Plan.Summary()
	nonEmpty := 0
	for it := range sel.Plan.All() {
		if it.Type == filter.TypeFile && it.Size > 0 {
			nonEmpty++
		}
	}
	if s.Hashing.Read != 1 || s.Hashing.Cached != nonEmpty-1 || s.Hashing.Failed != 0 {
		t.Errorf("hashing %+v; want 1 read and %d cached", s.Hashing, nonEmpty-1)
	}
	for it := range sel.Plan.All() {
		if it.Type != filter.TypeFile || it.Size == 0 {
			continue
		}
		frozen := it.Reasons.Has(filter.ReasonFrozen)
		if frozen == (it.Path == changed) {
			t.Errorf("%s: frozen %v", it.Path, frozen)
		}
		if frozen && (len(it.FrozenCopies) != 1 || it.FrozenCopies[0].Archive != "all" || it.FrozenCopies[0].Vault != "photos") {
			t.Errorf("%s: copies %+v", it.Path, it.FrozenCopies)
		}
	}
	// Selected tar entries keep what the walk saw of folders and links.
	var dirs, links int
	for e := range sel.Each() {
		switch {
		case e.Mode.IsDir():
			dirs++
		case e.LinkTarget != "":
			links++
		}
	}
	if dirs == 0 || links != 3 {
		t.Errorf("selected entries: %d folders with their mode, %d links with their target; want 3 links", dirs, links)
	}
}
