package store

import (
	"context"
	"fmt"
	"strings"
)

// HashEntry is what the hash cache knows of one path: while its size,
// modification time and inode are unchanged, its SHA-256 is Sum.
type HashEntry struct {
	Path    string
	Size    int64
	MtimeNS int64
	Inode   uint64
	SHA256  string
}

// Matches reports whether the cached entry still describes a file with
// this size, mtime and inode.
func (e HashEntry) Matches(size, mtimeNS int64, inode uint64) bool {
	return e.Size == size && e.MtimeNS == mtimeNS && e.Inode == inode
}

// HashCacheUnder loads the cache entries for every path under the given
// folders (or equal to the given paths), in one query per root: a plan
// over 100,000 files must not ask SQLite 100,000 times.
func (db *DB) HashCacheUnder(ctx context.Context, roots []string) (map[string]HashEntry, error) {
	out := map[string]HashEntry{}
	for _, root := range roots {
		root = strings.TrimRight(root, "/")
		// Range scan on the primary key: root itself, and root + "/" ... root + "0"
		// ("0" is the byte after "/"), i.e. everything below the folder.
		rows, err := db.sql.QueryContext(ctx, `
SELECT path, size, mtime_ns, inode, sha256 FROM hash_cache
WHERE path = ? OR (path >= ? AND path < ?)`, root, root+"/", root+"0")
		if err != nil {
			return nil, fmt.Errorf("catalog: hash cache: %w", err)
		}
		for rows.Next() {
			var e HashEntry
			var inode int64
			if err := rows.Scan(&e.Path, &e.Size, &e.MtimeNS, &inode, &e.SHA256); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: hash cache: %w", err)
			}
			e.Inode = uint64(inode)
			out[e.Path] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: hash cache: %w", err)
		}
	}
	return out, nil
}

// PutHashes records freshly computed hashes in one transaction.
func (db *DB) PutHashes(ctx context.Context, entries []HashEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.Update(ctx, func(tx *Tx) error {
		return tx.PutHashes(ctx, entries)
	})
}

// PutHashes records freshly computed hashes.
func (tx *Tx) PutHashes(ctx context.Context, entries []HashEntry) error {
	stmt, err := tx.tx.PrepareContext(ctx, `
INSERT INTO hash_cache(path, size, mtime_ns, inode, sha256, hashed) VALUES(?, ?, ?, ?, ?, ?)
ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
	inode = excluded.inode, sha256 = excluded.sha256, hashed = excluded.hashed`)
	if err != nil {
		return fmt.Errorf("catalog: hash cache: %w", err)
	}
	defer stmt.Close()
	now := formatTime(tx.now)
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.Path, e.Size, e.MtimeNS, int64(e.Inode), e.SHA256, now); err != nil {
			return fmt.Errorf("catalog: hash cache %s: %w", e.Path, err)
		}
	}
	return nil
}
