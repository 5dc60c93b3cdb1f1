package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// queryPlan is SQLite's EXPLAIN QUERY PLAN of q, one step a line.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.sql.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

// TestCatalogQueriesUseIndexes: with a million files in the catalog, the
// frozen filter, the hash cache and the listings must search indexes, not
// scan or sort whole tables.
func TestCatalogQueriesUseIndexes(t *testing.T) {
	db := openTest(t)
	three := []any{0, "a", 1, "s", 1, "b", 2, "t", 2, "c", 3, "u"}
	for _, tt := range []struct {
		what string
		q    string
		args []any
		want []string
		not  []string
	}{
		{"frozen filter", locateQuery(3), three,
			[]string{"SEARCH f USING COVERING INDEX sqlite_autoindex_files_1 (name=? AND size=? AND sha256=?)", "SEARCH m USING INDEX archive_files_file (file_id=?)"},
			[]string{"SCAN f", "SCAN m"}},
		{"hash cache", "SELECT path, size, mtime_ns, inode, sha256 FROM hash_cache WHERE path IN (" + placeholders(3) + ")", []any{"a", "b", "c"},
			[]string{"SEARCH hash_cache USING INDEX sqlite_autoindex_hash_cache_1 (path=?)"}, []string{"SCAN hash_cache"}},
		{"hash cache span", "SELECT path, size, mtime_ns, inode, sha256 FROM hash_cache WHERE path >= ? AND path <= ? ORDER BY path LIMIT ?", []any{"a", "b", 10},
			[]string{"SEARCH hash_cache USING INDEX sqlite_autoindex_hash_cache_1 (path>? AND path<?)"}, []string{"TEMP B-TREE", "SCAN hash_cache"}},
		{"file lookup", "SELECT id FROM files WHERE name = ? AND size = ? AND sha256 = ?", []any{"a", 1, "s"},
			[]string{"sqlite_autoindex_files_1 (name=? AND size=? AND sha256=?)"}, []string{"SCAN"}},
		{"every file, newest copy first", fileLocationsQuery, nil,
			[]string{"SCAN a USING INDEX archives_created", "SEARCH m USING INDEX sqlite_autoindex_archive_files_1 (archive_id=?)"}, []string{"TEMP B-TREE", "SCAN m"}},
		{"recording an archive's files", addMembersQuery(3), []any{1, "p", "n", 1, "s", "p", "n", 1, "s", "p", "n", 1, "s"},
			[]string{"SEARCH f USING COVERING INDEX sqlite_autoindex_files_1 (name=? AND size=? AND sha256=?)"}, []string{"SCAN f"}},
		{"an archive's files", archiveFilesQuery, []any{1},
			[]string{"SEARCH m USING INDEX sqlite_autoindex_archive_files_1 (archive_id=?)"}, []string{"TEMP B-TREE", "SCAN"}},
		{"a vault's archives", "SELECT " + archiveColumns + archiveFrom + "WHERE v.name = ? ORDER BY a.name", []any{"v"},
			[]string{"SEARCH a USING INDEX sqlite_autoindex_archives_2 (vault_id=?)"}, []string{"TEMP B-TREE", "SCAN a"}},
	} {
		plan := queryPlan(t, db, tt.q, tt.args...)
		for _, w := range tt.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: query plan lacks %q:\n%s", tt.what, w, plan)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(plan, n) {
				t.Errorf("%s: query plan has %q:\n%s", tt.what, n, plan)
			}
		}
	}
}

func addTestArchive(t *testing.T, db *DB, vault, name string, created time.Time, files []FileRecord) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Update(ctx, func(tx *Tx) error {
		v, err := tx.Vault(ctx, vault)
		if errors.Is(err, ErrNotFound) {
			v.ID, err = tx.PutVault(ctx, Vault{Name: vault})
		}
		if err != nil {
			return err
		}
		id, err = tx.PutArchive(ctx, Archive{VaultID: v.ID, Name: name, RemoteID: "R-" + name, Created: created})
		if err != nil {
			return err
		}
		return tx.AddFiles(ctx, id, files)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLocateFilesInBatches(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	n := 2*LocateBatch + 17
	var files []FileRecord
	for i := range n {
		files = append(files, FileRecord{Path: fmt.Sprintf("d/f%05d", i), Name: fmt.Sprintf("f%05d", i), Size: int64(i + 1), SHA256: fmt.Sprintf("%064x", i)})
	}
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	addTestArchive(t, db, "v", "old", old, files)
	addTestArchive(t, db, "v", "new", old.Add(time.Hour), files[:3])

	var keys []FileKey
	for i := range n {
		keys = append(keys, FileKey{Name: files[i].Name, Size: files[i].Size, SHA256: files[i].SHA256})
		if i%100 == 0 {
			keys = append(keys, FileKey{Name: "absent", Size: 1, SHA256: "x"})
		}
	}
	keys = append(keys, keys[0]) // asked twice, in another batch
	locs, err := db.LocateFiles(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != len(keys) {
		t.Fatalf("%d answers for %d keys", len(locs), len(keys))
	}
	for i, k := range keys {
		switch {
		case k.Name == "absent":
			if locs[i] != nil {
				t.Errorf("key %d (absent): %v", i, locs[i])
			}
		case k.Size <= 3:
			if len(locs[i]) != 2 || locs[i][0].Archive != "new" || locs[i][1].Archive != "old" {
				t.Errorf("key %d: want new then old, got %+v", i, locs[i])
			}
		default:
			if len(locs[i]) != 1 || locs[i][0].Archive != "old" || locs[i][0].Path != "d/"+k.Name || !locs[i][0].Created.Equal(old) {
				t.Errorf("key %d: got %+v", i, locs[i])
			}
		}
	}
}

func TestHashCacheForInBatches(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var entries []HashEntry
	var paths []string
	for i := range HashCacheBatch + 5 {
		p := fmt.Sprintf("/t/f%05d", i)
		entries = append(entries, HashEntry{Path: p, Size: int64(i), MtimeNS: 7, Inode: uint64(i), SHA256: fmt.Sprintf("%064x", i)})
		paths = append(paths, p, p+".absent")
	}
	if err := db.PutHashes(ctx, entries); err != nil {
		t.Fatal(err)
	}
	got, err := db.HashCacheFor(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("%d entries found, want %d", len(got), len(entries))
	}
	for _, e := range entries {
		if got[e.Path] != e {
			t.Errorf("%s: got %+v, want %+v", e.Path, got[e.Path], e)
		}
	}
}

// TestAddFilesFromStopsOnError: a sequence that fails half way fails the
// transaction, which then leaves nothing behind.
func TestAddFilesFromStopsOnError(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	id := addTestArchive(t, db, "v", "a", time.Now(), nil)
	broken := errors.New("file list truncated")
	err := db.Update(ctx, func(tx *Tx) error {
		return tx.AddFilesFrom(ctx, id, func(yield func(FileRecord, error) bool) {
			if !yield(FileRecord{Path: "x", Name: "x", Size: 1, SHA256: "s"}, nil) {
				return
			}
			yield(FileRecord{}, broken)
		})
	})
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want the sequence's error", err)
	}
	files, err := db.ArchiveFiles(ctx, id)
	if err != nil || len(files) != 0 {
		t.Fatalf("files after a failed add: %v, %v", files, err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		return tx.AddFilesFrom(ctx, id, func(yield func(FileRecord, error) bool) {
			for i := range 3 {
				if !yield(FileRecord{Path: fmt.Sprint("p", i), Name: "same", Size: 1, SHA256: "s"}, nil) {
					return
				}
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.ArchiveByID(ctx, id)
	if err != nil || a.FileCount != 3 {
		t.Fatalf("file count %d, %v; want 3", a.FileCount, err)
	}
}

// BenchmarkAddFiles: recording an archive's files, per file.
func BenchmarkAddFiles(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/f.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 20000
	files := make([]FileRecord, n)
	for i := range files {
		files[i] = FileRecord{Path: fmt.Sprintf("home/a%02d/b%d/f%06d.txt", i/1000, i/100%10, i), Name: fmt.Sprintf("f%06d.txt", i), Size: int64(i), SHA256: fmt.Sprintf("%064x", i)}
	}
	var vid int64
	if err := db.Update(ctx, func(tx *Tx) error { vid, err = tx.PutVault(ctx, Vault{Name: "v"}); return err }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := db.Update(ctx, func(tx *Tx) error {
			id, err := tx.PutArchive(ctx, Archive{VaultID: vid, Name: fmt.Sprint("a", i), Created: time.Now()})
			if err != nil {
				return err
			}
			return tx.AddFiles(ctx, id, files)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/file")
}

// TestHashCacheSpanFallsBack: a batch whose least and greatest paths
// enclose far more cached rows than it asks for is searched path by path,
// with the same answer.
func TestHashCacheSpanFallsBack(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var entries []HashEntry
	for i := range 500 {
		entries = append(entries, HashEntry{Path: fmt.Sprintf("/t/a/deep/f%04d", i), SHA256: "s"})
	}
	entries = append(entries, HashEntry{Path: "/t/a.txt", SHA256: "x"}, HashEntry{Path: "/t/a/zz", SHA256: "z"})
	if err := db.PutHashes(ctx, entries); err != nil {
		t.Fatal(err)
	}
	r := db.HashCacheReader()
	defer r.Close()
	for _, ask := range [][]string{{"/t/a/zz", "/t/a.txt"}, {"/t/a/deep/f0003", "/t/a/deep/f0001", "/t/none"}} {
		got, err := r.Lookup(ctx, ask)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, p := range ask {
			if p != "/t/none" {
				want++
				if got[p].Path != p {
					t.Errorf("%v: %s missing: %v", ask, p, got)
				}
			}
		}
		if len(got) != want {
			t.Errorf("%v: got %d entries, want %d", ask, len(got), want)
		}
	}
}
