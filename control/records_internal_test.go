package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"testing"
	"time"

	"freezer/pipeline/tarball"
	"freezer/store"
)

// TestBigArchiveRecordedInBatchesAndRecovered: an archive with more files
// than a transaction records is recorded in several; when its process
// died before all were in, Recover records the rest from the list left
// beside the build, then installs the local copy.
func TestBigArchiveRecordedInBatchesAndRecovered(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "freezer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dataDir := t.TempDir()
	e := New(Options{DB: db, DataDir: dataDir, RecordBatch: 7})
	defer e.Close(ctx)

	// The state a crash leaves: the row committed, still installing, a
	// few of its files recorded, the build and its records beside it.
	temp := filepath.Join(e.tempDir(), buildPrefix+"deadbeef-1")
	if err := os.MkdirAll(filepath.Dir(temp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(temp, []byte("the archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := newFileRecords(temp + ".files")
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	for i := range n {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		recs.add(tarball.FileRecord{Path: fmt.Sprintf("tree/f%02d", i), Source: fmt.Sprintf("/src/tree/f%02d", i),
			Size: int64(i), ModTime: time.Unix(int64(i), 0), Inode: uint64(i + 1), SHA256: hex.EncodeToString(sum[:])})
	}
	if err := recs.done(); err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.Update(ctx, func(tx *store.Tx) error {
		vid, err := tx.PutVault(ctx, store.Vault{Name: "photos"})
		if err != nil {
			return err
		}
		id, err = tx.PutArchive(ctx, store.Archive{VaultID: vid, Name: "big", Created: time.Now(), SHA256: "x",
			LocalPath: e.localPath("photos", "big"), Installing: temp})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Some batches made it before the crash.
	part, err := openFileRecords(temp + ".files")
	if err != nil {
		t.Fatal(err)
	}
	first := 0
	err = inBatches(ctx, db, 7, part.files(), func(tx *store.Tx, seq iter.Seq2[store.FileRecord, error]) error {
		if first++; first > 2 {
			return fmt.Errorf("the process died")
		}
		return tx.AddFilesFrom(ctx, id, seq)
	})
	part.keep()
	if err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if got, _ := db.ArchiveFiles(ctx, id); len(got) != 14 {
		t.Fatalf("%d files recorded before the crash, want 14", len(got))
	}
	recs.keep()

	if err := e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	files, err := db.ArchiveFiles(ctx, id)
	if err != nil || len(files) != n {
		t.Fatalf("%d files after recovery, want %d (%v)", len(files), n, err)
	}
	a, err := db.Archive(ctx, "photos", "big")
	if err != nil || a.Installing != "" || a.FileCount != n {
		t.Fatalf("after recovery: %+v %v", a, err)
	}
	if b, err := os.ReadFile(a.LocalPath); err != nil || string(b) != "the archive" {
		t.Fatalf("local copy: %q %v", b, err)
	}
	for _, p := range []string{temp, temp + ".files"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", filepath.Base(p), err)
		}
	}
	cache, err := db.HashCacheFor(ctx, []string{"/src/tree/f00", "/src/tree/f29"})
	if err != nil || len(cache) != 2 {
		t.Errorf("hash cache after recovery: %v %v", cache, err)
	}
}
