package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"iter"
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

// HashCacheBatch is the most paths HashCacheFor asks for in one query.
const HashCacheBatch = 1024

// HashCacheFor looks paths up in the hash cache, one query per
// HashCacheBatch paths, each path a search of the primary key: a plan asks
// for the files it is about to hash, so what it holds stays bounded however
// many files the cache knows. Paths the cache does not know are absent from
// the result. A caller with many batches uses a HashCacheReader.
func (db *DB) HashCacheFor(ctx context.Context, paths []string) (map[string]HashEntry, error) {
	r := db.HashCacheReader()
	defer r.Close()
	return r.Lookup(ctx, paths)
}

// HashCacheReader is HashCacheFor with its queries prepared once. Close
// it when done.
type HashCacheReader struct {
	q     batchQuery
	db    *DB
	span  *sql.Stmt
	wants map[string]struct{}
}

// HashCacheReader prepares HashCacheFor's queries on first use.
func (db *DB) HashCacheReader() *HashCacheReader {
	return &HashCacheReader{db: db, q: batchQuery{db: db, full: HashCacheBatch, text: func(n int) string {
		return "SELECT path, size, mtime_ns, inode, sha256 FROM hash_cache WHERE path IN (" + placeholders(n) + ")"
	}}}
}

// Close releases the prepared queries.
func (r *HashCacheReader) Close() error {
	err := r.q.close()
	if r.span != nil {
		err = cmp.Or(err, r.span.Close())
		r.span = nil
	}
	return err
}

// Lookup is HashCacheFor.
//
// A plan asks for the files of a few neighbouring folders at a time, whose
// paths are close together in the primary key's order: reading the keys
// from the batch's first path to its last costs far less than searching
// each. When that span holds many more rows than the batch (a batch across
// a large subfolder it does not include), the lookup stops early and
// searches each path instead.
func (r *HashCacheReader) Lookup(ctx context.Context, paths []string) (map[string]HashEntry, error) {
	out := make(map[string]HashEntry, len(paths))
	for start := 0; start < len(paths); start += HashCacheBatch {
		batch := paths[start:min(start+HashCacheBatch, len(paths))]
		done, err := r.spanOf(ctx, batch, out)
		if err != nil {
			return nil, err
		}
		if done {
			continue
		}
		args := make([]any, len(batch))
		for i, p := range batch {
			args[i] = p
		}
		rows, err := r.q.query(ctx, len(batch), args)
		if err != nil {
			return nil, fmt.Errorf("catalog: hash cache: %w", err)
		}
		if err := scanHashes(rows, out, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// spanOf reads the rows from the batch's least path to its greatest, at
// most a few times the batch; it reports false when there were more.
func (r *HashCacheReader) spanOf(ctx context.Context, batch []string, out map[string]HashEntry) (bool, error) {
	lo, hi := batch[0], batch[0]
	if r.wants == nil {
		r.wants = make(map[string]struct{}, HashCacheBatch)
	}
	clear(r.wants)
	for _, p := range batch {
		lo, hi = min(lo, p), max(hi, p)
		r.wants[p] = struct{}{}
	}
	if r.span == nil {
		stmt, err := r.db.sql.PrepareContext(ctx, `
SELECT path, size, mtime_ns, inode, sha256 FROM hash_cache WHERE path >= ? AND path <= ? ORDER BY path LIMIT ?`)
		if err != nil {
			return false, fmt.Errorf("catalog: hash cache: %w", err)
		}
		r.span = stmt
	}
	limit := 2*len(batch) + 64
	rows, err := r.span.QueryContext(ctx, lo, hi, limit)
	if err != nil {
		return false, fmt.Errorf("catalog: hash cache: %w", err)
	}
	found := make(map[string]HashEntry, len(batch))
	n := 0
	if err := scanHashes(rows, found, func() { n++ }); err != nil {
		return false, err
	}
	if n == limit {
		return false, nil
	}
	for p, e := range found {
		if _, ok := r.wants[p]; ok {
			out[p] = e
		}
	}
	return true, nil
}

// scanHashes reads hash cache rows into out and closes them; each row
// calls counted when not nil.
func scanHashes(rows *sql.Rows, out map[string]HashEntry, counted func()) error {
	defer rows.Close()
	for rows.Next() {
		var e HashEntry
		var inode int64
		if err := rows.Scan(&e.Path, &e.Size, &e.MtimeNS, &inode, &e.SHA256); err != nil {
			return fmt.Errorf("catalog: hash cache: %w", err)
		}
		e.Inode = uint64(inode)
		out[e.Path] = e
		if counted != nil {
			counted()
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: hash cache: %w", err)
	}
	return nil
}

// placeholders is "?,?,…" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
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
	return tx.PutHashesFrom(ctx, func(yield func(HashEntry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	})
}

// PutHashesFrom records the hashes a sequence yields (for example read
// back from a file), so that a million of them need not be in memory at
// once; the sequence's first error stops it and is returned.
func (tx *Tx) PutHashesFrom(ctx context.Context, entries iter.Seq2[HashEntry, error]) error {
	// As in AddFilesFrom: batches of rows, statements run without the
	// context's watcher, the context checked once a batch.
	run := context.WithoutCancel(ctx)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	now := formatTime(tx.now)
	batch := make([]HashEntry, 0, addBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		args := make([]any, 0, 6*len(batch))
		for _, e := range batch {
			args = append(args, e.Path, e.Size, e.MtimeNS, int64(e.Inode), e.SHA256, now)
		}
		var err error
		if len(batch) == addBatch {
			if full == nil {
				if full, err = tx.tx.PrepareContext(run, putHashesQuery(addBatch)); err != nil {
					return fmt.Errorf("catalog: hash cache: %w", err)
				}
			}
			_, err = full.ExecContext(run, args...)
		} else {
			_, err = tx.tx.ExecContext(run, putHashesQuery(len(batch)), args...)
		}
		if err != nil {
			return fmt.Errorf("catalog: hash cache, from %s: %w", batch[0].Path, dress(err))
		}
		batch = batch[:0]
		return nil
	}
	for e, err := range entries {
		if err != nil {
			return err
		}
		batch = append(batch, e)
		if len(batch) == addBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// putHashesQuery writes n hash cache entries, replacing what the cache
// knew of those paths.
func putHashesQuery(n int) string {
	return `INSERT INTO hash_cache(path, size, mtime_ns, inode, sha256, hashed) VALUES ` + tuples(n, "(?,?,?,?,?,?)") + `
ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
	inode = excluded.inode, sha256 = excluded.sha256, hashed = excluded.hashed`
}
