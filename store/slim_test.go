package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fillCatalog writes a catalog as a person's would look: settings, a key,
// a vault, archives in Glacier (one with a local copy) holding files, an
// archive only local, jobs, exclusions and the hash cache.
func fillCatalog(t *testing.T, db *DB, files int) {
	t.Helper()
	ctx := context.Background()
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.SetSetting(ctx, "region", "eu-west-1"); err != nil {
			return err
		}
		if err := tx.SetSetting(ctx, "secret-key", "not-for-the-server"); err != nil {
			return err
		}
		if err := tx.PutKey(ctx, Key{ID: "k1", Algorithm: "aes-256-cbc", Material: []byte("0123456789abcdef0123456789abcdef")}); err != nil {
			return err
		}
		vid, err := tx.PutVault(ctx, Vault{Name: "photos", ARN: "arn:aws:glacier:us-east-1:123456789012:vaults/photos", Location: "aws us-east-1"})
		if err != nil {
			return err
		}
		var hashes []HashEntry
		for i, name := range []string{"a", "b", "c", "d"} {
			a := Archive{VaultID: vid, Name: name, RemoteID: "R-" + name, Description: "freezer v1 name=" + name + " tar+gzip aes-256-cbc key=k1",
				Size: 1000, TreeHash: "th", SHA256: "sha-" + name, LocalSize: 900, Compression: "gzip", Cipher: "aes-256-cbc", KeyID: "k1",
				Created: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)}
			switch name {
			case "a":
				a.LocalPath = "/home/me/.local/share/freezer/archives/photos/a"
			case "d":
				a.RemoteID = "" // only local: nothing for a daemon
				a.LocalPath = "/home/me/.local/share/freezer/archives/photos/d"
			}
			id, err := tx.PutArchive(ctx, a)
			if err != nil {
				return err
			}
			var recs []FileRecord
			for j := 0; j < files/4; j++ {
				p := fmt.Sprintf("%s/folder-%03d/file-%06d.jpg", name, j/100, j)
				recs = append(recs, FileRecord{Path: p, Name: filepath.Base(p), Size: int64(1000 + j), SHA256: fmt.Sprintf("%064x", i*files+j)})
				hashes = append(hashes, HashEntry{Path: "/home/me/" + p, Size: int64(1000 + j), MtimeNS: int64(j), Inode: uint64(j), SHA256: fmt.Sprintf("%064x", i*files+j)})
			}
			if err := tx.AddFiles(ctx, id, recs); err != nil {
				return err
			}
			if name == "b" {
				if err := tx.PutJob(ctx, Job{ID: "J-b", VaultID: vid, Action: ActionArchiveRetrieval, ArchiveID: id, RemoteArchiveID: "R-b",
					Status: JobStatusSucceeded, Created: time.Now(), Completed: time.Now(), Expires: time.Now().Add(24 * time.Hour)}); err != nil {
					return err
				}
			}
		}
		if err := tx.PutHashes(ctx, hashes); err != nil {
			return err
		}
		if err := tx.AddExclusion(ctx, "exclude", "/home/me/tmp"); err != nil {
			return err
		}
		return tx.PutJob(ctx, Job{ID: "J-inv", VaultID: vid, Action: ActionInventoryRetrieval, Status: JobStatusInProgress, Created: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteSlim(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	fillCatalog(t, db, 4000)
	out := filepath.Join(t.TempDir(), "slim.db")
	res, err := db.WriteSlim(ctx, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Keys != 1 || res.Vaults != 1 || res.Archives != 3 || res.Jobs != 2 {
		t.Errorf("slim catalog holds %+v; want 1 key, 1 vault, the 3 archives in Glacier, 2 jobs", res)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("slim catalog mode %v: it holds keys, want 0600", st.Mode().Perm())
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(out + suffix); err == nil {
			t.Errorf("slim catalog left %s beside it: it should be one file, ready to copy", suffix)
		}
	}
	if _, err := db.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	full, _ := os.Stat(db.Path())
	t.Logf("catalog with 4,000 files: full %d bytes, slim %d bytes", full.Size(), st.Size())
	if st.Size()*5 > full.Size() {
		t.Errorf("slim catalog is %d bytes, the full one %d: not slim", st.Size(), full.Size())
	}

	slim, err := Open(ctx, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer slim.Close()
	settings, err := slim.Settings(ctx)
	if err != nil || len(settings) != 0 {
		t.Errorf("slim settings = %v, %v; want none", settings, err)
	}
	if fs, err := slim.Files(ctx); err != nil || len(fs) != 0 {
		t.Errorf("slim files = %d, %v; want none", len(fs), err)
	}
	if ex, err := slim.Exclusions(ctx, "exclude"); err != nil || len(ex) != 0 {
		t.Errorf("slim exclusions = %v, %v", ex, err)
	}
	if k, err := slim.Key(ctx, "k1"); err != nil || string(k.Material) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("slim key: %v", err)
	}
	a, err := slim.Archive(ctx, "photos", "a")
	if err != nil {
		t.Fatal(err)
	}
	if a.LocalPath != "" || a.LocalSize != 0 || a.SHA256 != "sha-a" || a.KeyID != "k1" || a.Cipher != "aes-256-cbc" || a.TreeHash != "th" || a.FileCount != 1000 {
		t.Errorf("slim archive a = %+v: want no local copy, the rest as it was", a)
	}
	if _, err := slim.Archive(ctx, "photos", "d"); err == nil {
		t.Error("an archive only local (nothing in Glacier) is in the slim catalog")
	}
	j, err := slim.Job(ctx, "J-b")
	if err != nil || j.Archive != "b" || j.Status != JobStatusSucceeded {
		t.Errorf("slim job J-b = %+v, %v", j, err)
	}
	ready, err := slim.ReadyJobs(ctx, time.Now())
	if err != nil || len(ready) != 1 {
		t.Errorf("slim ready jobs = %+v, %v", ready, err)
	}
	var changes int
	if err := slim.sql.QueryRowContext(ctx, "SELECT count(*) FROM changes").Scan(&changes); err != nil || changes != 0 {
		t.Errorf("slim change log holds %d rows (%v); a new catalog has no history", changes, err)
	}

	if _, err := db.WriteSlim(ctx, out, false); err == nil {
		t.Error("an existing slim catalog was replaced without being asked to")
	}
	if _, err := db.WriteSlim(ctx, out, true); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	if _, err := db.WriteSlim(ctx, db.Path(), true); err == nil {
		t.Error("the catalog was overwritten with its own slim copy")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".slim.db.slim-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestFilesystem(t *testing.T) {
	kind, network, err := Filesystem(filepath.Join(t.TempDir(), "not", "yet", "freezer.db"))
	if err != nil {
		t.Fatal(err)
	}
	if network {
		t.Errorf("the test's temporary folder is on %s, reported as a network filesystem", kind)
	}
}
