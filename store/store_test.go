package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "freezer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "folder")
	path := filepath.Join(dir, "freezer.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(context.Background(), func(tx *Tx) error { return tx.SetSetting(context.Background(), "k", "v") }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", st.Mode().Perm())
	}
}

func TestOpenTightensLooseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "freezer.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestOpenRefusesGarbageAndNewerSchema(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), garbage, Options{}); err == nil {
		t.Error("opened a file that is not a database")
	}

	newer := filepath.Join(dir, "newer.db")
	db, err := Open(context.Background(), newer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(context.Background(), newer, Options{})
	if err == nil || !strings.Contains(err.Error(), "upgrade freezer") {
		t.Errorf("newer schema: got %v, want an error telling to upgrade", err)
	}
}

// schema returns the database's schema as comparable text.
func schema(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, strings.Join(strings.Fields(text), " "))
	}
	return b.String()
}

// seed writes rows valid at schema version v, so migrating past v must keep them.
var seeds = map[int][]string{
	1: {
		`INSERT INTO settings(key, value) VALUES('region', 'eu-west-1')`,
		`INSERT INTO vaults(id, name) VALUES(1, 'photos')`,
		`INSERT INTO archives(id, vault_id, name, remote_id, created) VALUES(1, 1, 'holiday', 'AID', '2024-01-01T00:00:00.000Z')`,
		`INSERT INTO files(id, name, size, sha256) VALUES(1, 'a.jpg', 3, 'abc')`,
		`INSERT INTO archive_files(archive_id, file_id, path) VALUES(1, 1, 'holiday/a.jpg')`,
	},
	2: {`INSERT INTO jobs(id, vault_id, action, archive_id, status, created) VALUES('J1', 1, 'ArchiveRetrieval', 1, 'InProgress', '2024-01-02T00:00:00.000Z')`},
	3: {`INSERT INTO manual_exclusions(path, created) VALUES('/home/a/tmp', '2024-01-02T00:00:00.000Z')`},
	4: {`INSERT INTO uploads(archive_id, upload_id, part_size, size, source_sha256, created) VALUES(1, 'U1', 1048576, 5, 'abc', '2024-01-02T00:00:00.000Z')`},
	5: {`INSERT INTO hash_cache(path, size, mtime_ns, inode, sha256, hashed) VALUES('/x', 1, 2, 3, 'abc', '2024-01-02T00:00:00.000Z')`},
	6: {`INSERT INTO upload_parts(archive_id, part, tree_hash, done) VALUES(1, 0, 'h', 0)`},
	7: {
		`INSERT INTO engines(id, host, pid, started, expires) VALUES('E1', 'h', 1, '2024-01-02T00:00:00.000Z', '2024-01-02T00:01:00.000Z')`,
		`INSERT INTO tasks(kind, state, created, updated, engine_id, owner_host, owner_pid) VALUES('upload', 'running', '2024-01-02T00:00:00.000Z', '2024-01-02T00:00:00.000Z', 'E1', 'h', 1)`,
		`INSERT INTO claims(resource, engine_id, task_id, doing, created) VALUES('archive:photos/holiday', 'E1', 1, 'uploaded', '2024-01-02T00:00:00.000Z')`,
		`INSERT INTO errlog(at, message) VALUES('2024-01-02T00:00:00.000Z', 'x')`,
	},
	8: {`INSERT INTO archives(id, vault_id, name, created) VALUES(2, 1, 'newer', '2024-02-01T00:00:00.000Z')`},
}

func TestMigrationsFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	fresh := openTest(t)
	want := schema(t, fresh.sql)
	if len(seeds) != SchemaVersion() {
		t.Fatalf("seeds cover %d versions, schema has %d: add seed rows for the new migration", len(seeds), SchemaVersion())
	}
	for from := 0; from <= SchemaVersion(); from++ {
		t.Run(fmt.Sprintf("from-%d", from), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			if err := prepareFile(path); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
			if err != nil {
				t.Fatal(err)
			}
			old := &DB{sql: raw, now: time.Now}
			if err := old.migrate(ctx, from); err != nil {
				t.Fatal(err)
			}
			for v := 1; v <= from; v++ {
				for _, q := range seeds[v] {
					if _, err := raw.Exec(q); err != nil {
						t.Fatalf("seed v%d: %v", v, err)
					}
				}
			}
			raw.Close()

			db, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := schema(t, db.sql); got != want {
				t.Errorf("schema after migrating from %d differs from a fresh one:\n%s\nwant:\n%s", from, got, want)
			}
			if from >= 1 {
				a, err := db.Archive(ctx, "photos", "holiday")
				if err != nil || a.RemoteID != "AID" {
					t.Errorf("archive lost in migration: %+v, %v", a, err)
				}
			}
			if from >= 2 {
				if _, err := db.Job(ctx, "J1"); err != nil {
					t.Errorf("job lost in migration: %v", err)
				}
			}
		})
	}
}

func TestCatalogRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var archiveID int64
	err := db.Update(ctx, func(tx *Tx) error {
		vid, err := tx.PutVault(ctx, Vault{Name: "photos", ARN: "arn:aws:glacier:us-east-1:123456789012:vaults/photos"})
		if err != nil {
			return err
		}
		if err := tx.PutKey(ctx, Key{ID: "k1", Algorithm: "aes-256-cbc", Material: []byte("0123456789abcdef0123456789abcdef")}); err != nil {
			return err
		}
		archiveID, err = tx.PutArchive(ctx, Archive{VaultID: vid, Name: "holiday", Compression: "gzip", Cipher: "aes-256-cbc", KeyID: "k1", Created: created, LocalPath: "/data/photos/holiday"})
		if err != nil {
			return err
		}
		return tx.AddFiles(ctx, archiveID, []FileRecord{
			{Path: "holiday/a.jpg", Name: "a.jpg", Size: 3, SHA256: "aaa"},
			{Path: "holiday/copy/a.jpg", Name: "a.jpg", Size: 3, SHA256: "aaa"},
			{Path: "holiday/b.jpg", Name: "b.jpg", Size: 4, SHA256: "bbb"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Archive(ctx, "photos", "holiday")
	if err != nil {
		t.Fatal(err)
	}
	if a.FileCount != 3 || a.KeyID != "k1" || !a.Created.Equal(created) || a.Remote() {
		t.Errorf("archive = %+v", a)
	}
	if _, err := db.Archive(ctx, "photos", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing archive: %v", err)
	}
	files, err := db.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files = %+v, want 2 distinct (name, size, sha256)", files)
	}
	locs, err := db.FileLocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := locs[FileKey{"a.jpg", 3, "aaa"}]; len(got) != 2 {
		t.Errorf("locations of a.jpg = %+v", got)
	}

	// A newer archive holding a.jpg comes first in its locations.
	err = db.Update(ctx, func(tx *Tx) error {
		id, err := tx.PutArchive(ctx, Archive{VaultID: a.VaultID, Name: "later", RemoteID: "R2", Created: created.Add(time.Hour)})
		if err != nil {
			return err
		}
		return tx.AddFiles(ctx, id, []FileRecord{{Path: "later/a.jpg", Name: "a.jpg", Size: 3, SHA256: "aaa"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	files, _ = db.Files(ctx)
	for _, f := range files {
		if f.Name == "a.jpg" && (f.Newest.Archive != "later" || f.Copies != 3) {
			t.Errorf("a.jpg newest = %+v", f)
		}
	}

	// Removing the first archive and maintaining drops b.jpg only.
	if err := db.Update(ctx, func(tx *Tx) error { return tx.DeleteArchive(ctx, archiveID) }); err != nil {
		t.Fatal(err)
	}
	n, err := db.Maintain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("maintenance removed %d files, want 1", n)
	}
	files, _ = db.Files(ctx)
	if len(files) != 1 || files[0].Name != "a.jpg" {
		t.Errorf("after maintenance: %+v", files)
	}
}

func TestTransactionRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.SetSetting(ctx, "region", "x"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := db.Setting(ctx, "region"); ok {
		t.Error("a failed transaction left a setting behind")
	}
}

func TestJobsUploadsExclusionsHashCache(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now().UTC()
	var aid int64
	err := db.Update(ctx, func(tx *Tx) error {
		vid, err := tx.PutVault(ctx, Vault{Name: "v"})
		if err != nil {
			return err
		}
		aid, err = tx.PutArchive(ctx, Archive{VaultID: vid, Name: "a", RemoteID: "R"})
		if err != nil {
			return err
		}
		if err := tx.PutJob(ctx, Job{ID: "J", VaultID: vid, Action: ActionArchiveRetrieval, ArchiveID: aid, Status: JobStatusInProgress}); err != nil {
			return err
		}
		return tx.StartUpload(ctx, Upload{ArchiveID: aid, UploadID: "U", PartSize: 1 << 20, Size: 5 << 20, SourceSHA256: "s", IV: []byte{1, 2}, Header: []byte{0}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx *Tx) error {
		return tx.PutJob(ctx, Job{ID: "J", Status: JobStatusSucceeded, Completed: now, Expires: now.Add(24 * time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := db.ArchiveJobs(ctx, aid)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %+v %v", jobs, err)
	}
	if CurrentPhase(jobs, now) != JobReady {
		t.Errorf("job phase %v", CurrentPhase(jobs, now))
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.MarkExecuted(ctx, "J", now) }); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.Job(ctx, "J"); j.Executed.IsZero() || j.Vault != "v" || j.ArchiveID != aid {
		t.Errorf("job %+v", j)
	}

	for i := range 4 {
		if err := db.PartStarted(ctx, aid, i, fmt.Sprint("h", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := db.PartDone(ctx, aid, i, fmt.Sprint("h", i)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.Upload(ctx, aid)
	if err != nil || u.UploadID != "U" || len(u.Parts) != 3 || u.Parts[2] != "h2" || string(u.IV) != "\x01\x02" {
		t.Fatalf("upload %+v %v", u, err)
	}
	if len(u.Started) != 1 || u.Started[3] != "h3" {
		t.Fatalf("parts in flight: %v", u.Started)
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.FinishUpload(ctx, aid) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Upload(ctx, aid); !errors.Is(err, ErrNotFound) {
		t.Errorf("finished upload still there: %v", err)
	}

	if err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.AddExclusion(ctx, ExclusionExclude, "/home/a/cache"); err != nil {
			return err
		}
		if err := tx.AddExclusion(ctx, ExclusionExclude, "/home/a/cache"); err != nil {
			return err
		}
		return tx.AddManualExclusion(ctx, "/home/a/x.iso")
	}); err != nil {
		t.Fatal(err)
	}
	ex, _ := db.Exclusions(ctx, ExclusionExclude)
	man, _ := db.ManualExclusions(ctx)
	if len(ex) != 1 || len(man) != 1 {
		t.Errorf("exclusions %v manual %v", ex, man)
	}

	if err := db.PutHashes(ctx, []HashEntry{
		{Path: "/home/a/x", Size: 1, MtimeNS: 2, Inode: 3, SHA256: "s1"},
		{Path: "/home/a/sub/y", Size: 1, MtimeNS: 2, Inode: 1 << 63, SHA256: "s2"},
		{Path: "/home/ab/z", Size: 1, MtimeNS: 2, Inode: 3, SHA256: "s3"},
	}); err != nil {
		t.Fatal(err)
	}
	hc, err := db.HashCacheUnder(ctx, []string{"/home/a/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hc) != 2 || hc["/home/a/sub/y"].Inode != 1<<63 || !hc["/home/a/x"].Matches(1, 2, 3) {
		t.Errorf("hash cache under /home/a = %+v", hc)
	}
}

func TestKeyNeverFormatsMaterial(t *testing.T) {
	k := Key{ID: "id", Algorithm: "aes-256-cbc", Material: []byte("SECRET-MATERIAL-0123456789abcdef")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(verb, k); strings.Contains(s, "SECRET") || strings.Contains(s, fmt.Sprintf("%x", k.Material)) {
			t.Errorf("%s shows key material: %s", verb, s)
		}
	}
}
