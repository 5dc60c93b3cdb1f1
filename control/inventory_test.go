package control_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"freezer/aws/treehash"
	"freezer/control"
	"freezer/pipeline/tarball/tarballtest"
	"freezer/store"
)

// TestNewMachineRebuildsFromInventory is the calamity case: a machine with
// an empty catalog and only the exported key finds the archives through an
// inventory, names them from their descriptions, retrieves, decrypts and
// restores them, and learns their files.
func TestNewMachineRebuildsFromInventory(t *testing.T) {
	ctx := context.Background()
	old := newEnv(t, nil)
	k, err := old.e.CreateKey(ctx, "aes-256-cbc", "home")
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, err := old.e.ExportKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "documents")
	makeTree(t, src, 200, 1<<20)
	made := old.create("tax papers 2024", "zstd", src)

	// Another tool's archive in the same vault: kept as opaque bytes.
	foreign := []byte("not a freezer archive")
	linear, tree, _, _ := treehash.Compute(bytes.NewReader(foreign))
	foreignID, err := old.glacier.UploadArchive(ctx, "photos", `<m><v>4</v><p>L2hvbWUvbWUvbm90ZXMudHh0</p><lm>20200101T120000Z</lm></m>`,
		bytes.NewReader(foreign), int64(len(foreign)), treehash.Hex(tree), treehash.Hex(linear))
	if err != nil {
		t.Fatal(err)
	}

	// The new machine: same Glacier, empty catalog.
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "new.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := old.opts
	opts.DB, opts.DataDir = db, t.TempDir()
	fresh := control.New(opts)

	// The inventory runs before the key is imported: the archive is listed,
	// and the key it needs is named when a retrieval is attempted.
	res, err := fresh.InventoryAndWait(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 {
		t.Fatalf("inventory added %d archives, want 2", res.Added)
	}
	got, err := fresh.Archive(ctx, "photos", "tax papers 2024")
	if err != nil {
		t.Fatalf("archive not named from its description: %v", err)
	}
	if got.State != store.StateFrozen || got.Compression != "zstd" || got.Cipher != "aes-256-cbc" || got.RemoteID != made.RemoteID {
		t.Fatalf("rebuilt archive %+v", got)
	}
	if _, err := fresh.RetrieveAndWait(ctx, "photos", "tax papers 2024", ""); err == nil {
		t.Fatal("retrieved an encrypted archive without its key")
	}
	if _, err := fresh.ImportKey(ctx, keyJSON); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.RetrieveAndWait(ctx, "photos", "tax papers 2024", ""); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, err := fresh.Extract(ctx, "photos", "tax papers 2024", dest, control.ExtractOptions{AllowOutsideLinks: true}); err != nil {
		t.Fatal(err)
	}
	tarballtest.CompareTrees(t, src, filepath.Join(dest, "documents"))
	files, err := fresh.ArchiveFiles(ctx, "photos", "tax papers 2024")
	if err != nil || len(files) < 200 {
		t.Errorf("files of the retrieved archive not learned: %d, %v", len(files), err)
	}

	// The other tool's archive: named from its path, downloaded as is.
	other, err := fresh.Archive(ctx, "photos", "notes.txt")
	if err != nil || other.RemoteID != foreignID || other.Compression != control.CompressionUnknown {
		t.Fatalf("foreign archive %+v, %v", other, err)
	}
	if _, err := fresh.RetrieveAndWait(ctx, "photos", "notes.txt", ""); err != nil {
		t.Fatal(err)
	}
	other, _ = fresh.Archive(ctx, "photos", "notes.txt")
	if data, err := os.ReadFile(other.LocalPath); err != nil || !bytes.Equal(data, foreign) {
		t.Fatalf("foreign archive bytes %q, %v", data, err)
	}

	// An archive deleted behind the catalog's back leaves it at the next
	// inventory; one with a local copy stays, as local. (Inventory dates are
	// whole seconds, and an inventory speaks only of archives older than it.)
	time.Sleep(1100 * time.Millisecond)
	if err := old.glacier.DeleteArchive(ctx, "photos", foreignID); err != nil {
		t.Fatal(err)
	}
	if err := old.glacier.DeleteArchive(ctx, "photos", made.RemoteID); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Disconnect(ctx, "photos", "notes.txt"); err != nil {
		t.Fatal(err)
	}
	res, err = fresh.InventoryAndWait(ctx, "photos")
	if err != nil || res.Gone != 2 {
		t.Fatalf("second inventory: %+v, %v", res, err)
	}
	if _, err := fresh.Archive(ctx, "photos", "notes.txt"); err == nil {
		t.Error("an archive gone from Glacier with no local copy is still listed")
	}
	if a, err := fresh.Archive(ctx, "photos", "tax papers 2024"); err != nil || a.State != store.StateLocal {
		t.Errorf("archive gone from Glacier with a local copy: %+v, %v", a, err)
	}
}
