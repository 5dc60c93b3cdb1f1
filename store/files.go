package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// FileKey identifies a file the way the manual does: name, size, SHA-256.
type FileKey struct {
	Name   string
	Size   int64
	SHA256 string
}

// FileLocation is where a file is kept: an archive and the path inside it.
type FileLocation struct {
	Vault   string
	Archive string
	Path    string
	Created time.Time // the archive's creation date
}

// FileLocations maps every catalogued file to the archives holding it,
// newest archive first. Archives count when they still exist somewhere
// (in Glacier or as a local file). It is one query, meant to be loaded once
// per selection plan.
func (db *DB) FileLocations(ctx context.Context) (map[FileKey][]FileLocation, error) {
	rows, err := db.sql.QueryContext(ctx, fileLocationsQuery)
	if err != nil {
		return nil, fmt.Errorf("catalog: file locations: %w", err)
	}
	defer rows.Close()
	out := map[FileKey][]FileLocation{}
	for rows.Next() {
		var k FileKey
		var l FileLocation
		var created string
		if err := rows.Scan(&k.Name, &k.Size, &k.SHA256, &l.Vault, &l.Archive, &l.Path, &created); err != nil {
			return nil, fmt.Errorf("catalog: file locations: %w", err)
		}
		l.Created = parseTime(created)
		out[k] = append(out[k], l)
	}
	return out, rows.Err()
}

// LocateBatch is the most keys LocateFiles looks up in one query.
const LocateBatch = 1024

// LocateFiles tells, for each key, where that file is kept: the archives
// holding it that still exist somewhere (in Glacier or as a local file),
// newest archive first, nil when none. It asks one query per LocateBatch
// keys, each key a search of the files' (name, size, sha256) index, so
// the frozen filter costs the same whether the catalog holds a hundred
// files or a million, and never loads the catalog into memory. A caller
// with many batches uses a Locator, which prepares its query once.
func (db *DB) LocateFiles(ctx context.Context, keys []FileKey) ([][]FileLocation, error) {
	l := db.Locator()
	defer l.Close()
	return l.Locate(ctx, keys)
}

// Locator is LocateFiles with its query prepared once, for the batches of
// one selection plan. Close it when done.
//
// The archives that still exist are read once, when first needed; each
// batch then asks only for (key, archive, path) rows, so a plan whose
// every file has a copy shares the vault and archive names of every
// location instead of reading them a million times.
type Locator struct {
	q        batchQuery
	archives map[int64]archiveRef
}

type archiveRef struct {
	vault, name string
	created     time.Time
	createdText string
}

// Locator prepares LocateFiles' query on first use.
func (db *DB) Locator() *Locator {
	return &Locator{q: batchQuery{db: db, full: LocateBatch, text: locateQuery}}
}

// Close releases the prepared query.
func (l *Locator) Close() error { return l.q.close() }

func (l *Locator) loadArchives(ctx context.Context) error {
	rows, err := l.q.db.sql.QueryContext(ctx, `
SELECT a.id, v.name, a.name, a.created FROM archives a JOIN vaults v ON v.id = a.vault_id
WHERE a.remote_id IS NOT NULL OR a.local_path != ''`)
	if err != nil {
		return err
	}
	defer rows.Close()
	l.archives = map[int64]archiveRef{}
	for rows.Next() {
		var id int64
		var a archiveRef
		if err := rows.Scan(&id, &a.vault, &a.name, &a.createdText); err != nil {
			return err
		}
		a.created = parseTime(a.createdText)
		l.archives[id] = a
	}
	return rows.Err()
}

// Locate is LocateFiles.
func (l *Locator) Locate(ctx context.Context, keys []FileKey) ([][]FileLocation, error) {
	if l.archives == nil {
		if err := l.loadArchives(ctx); err != nil {
			return nil, fmt.Errorf("catalog: locate files: %w", err)
		}
	}
	out := make([][]FileLocation, len(keys))
	type hit struct {
		archive int64
		path    string
	}
	var hits []hit
	for start := 0; start < len(keys); start += LocateBatch {
		batch := keys[start:min(start+LocateBatch, len(keys))]
		args := make([]any, 0, 4*len(batch))
		for i, k := range batch {
			args = append(args, start+i, k.Name, k.Size, k.SHA256)
		}
		rows, err := l.q.query(ctx, len(batch), args)
		if err != nil {
			return nil, fmt.Errorf("catalog: locate files: %w", err)
		}
		last := -1
		flush := func() {
			if last < 0 || len(hits) == 0 {
				return
			}
			// Newest archive first, then by path, as FileLocations.
			slices.SortFunc(hits, func(a, b hit) int {
				x, y := l.archives[a.archive], l.archives[b.archive]
				return cmp.Or(-strings.Compare(x.createdText, y.createdText), -cmp.Compare(a.archive, b.archive), strings.Compare(a.path, b.path))
			})
			locs := make([]FileLocation, len(hits))
			for i, h := range hits {
				a := l.archives[h.archive]
				locs[i] = FileLocation{Vault: a.vault, Archive: a.name, Path: h.path, Created: a.created}
			}
			out[last] = locs
			hits = hits[:0]
		}
		for rows.Next() {
			var i int
			var h hit
			if err := rows.Scan(&i, &h.archive, &h.path); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: locate files: %w", err)
			}
			if _, ok := l.archives[h.archive]; !ok {
				continue // removed, or neither in Glacier nor local
			}
			if i != last {
				flush()
				last = i
			}
			hits = append(hits, h)
		}
		flush()
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: locate files: %w", err)
		}
	}
	return out, nil
}

// batchQuery is a query over a batch of n arguments: prepared once for
// full batches, run as it is for the last, shorter one.
type batchQuery struct {
	db   *DB
	full int
	text func(n int) string
	stmt *sql.Stmt
}

func (b *batchQuery) query(ctx context.Context, n int, args []any) (*sql.Rows, error) {
	if n != b.full {
		return b.db.sql.QueryContext(ctx, b.text(n), args...)
	}
	if b.stmt == nil {
		stmt, err := b.db.sql.PrepareContext(ctx, b.text(n))
		if err != nil {
			return nil, err
		}
		b.stmt = stmt
	}
	return b.stmt.QueryContext(ctx, args...)
}

func (b *batchQuery) close() error {
	if b.stmt == nil {
		return nil
	}
	err := b.stmt.Close()
	b.stmt = nil
	return err
}

// locateQuery looks up n (index, name, size, sha256) keys at once, each a
// search of the files' unique index, and gives (index, archive, path)
// rows grouped by index in the order given.
func locateQuery(n int) string {
	return `
SELECT k.column1, m.archive_id, m.path
FROM (VALUES ` + tuples(n, "(?,?,?,?)") + `) AS k
JOIN files f ON f.name = k.column2 AND f.size = k.column3 AND f.sha256 = k.column4
JOIN archive_files m ON m.file_id = f.id
ORDER BY k.column1`
}

// fileLocationsQuery walks the archives newest first on archives_created
// and each archive's files in path order on the primary key (CROSS JOIN
// fixes that join order in SQLite), so a million rows come out in order
// without being sorted first.
const fileLocationsQuery = `
SELECT f.name, f.size, f.sha256, v.name, a.name, m.path, a.created
FROM archives a
CROSS JOIN archive_files m ON m.archive_id = a.id
JOIN files f ON f.id = m.file_id
JOIN vaults v ON v.id = a.vault_id
WHERE a.remote_id IS NOT NULL OR a.local_path != ''
ORDER BY a.created DESC, a.id DESC, m.path`

// CatalogFile is one row of the file dialog: a file and where its newest
// copy is.
type CatalogFile struct {
	FileKey
	Newest FileLocation
	Copies int // how many archive paths hold it
}

// Files lists every file held by an archive, with the path from the newest
// archive holding it (the manual's file dialog).
func (db *DB) Files(ctx context.Context) ([]CatalogFile, error) {
	locs, err := db.FileLocations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CatalogFile, 0, len(locs))
	for k, l := range locs {
		out = append(out, CatalogFile{FileKey: k, Newest: l[0], Copies: len(l)})
	}
	sortCatalogFiles(out)
	return out, nil
}

// Maintain is the manual's database maintenance: files that no archive holds
// any more are removed. It returns how many went.
func (db *DB) Maintain(ctx context.Context) (removed int64, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx,
			"DELETE FROM files WHERE NOT EXISTS (SELECT 1 FROM archive_files m WHERE m.file_id = files.id)")
		if err != nil {
			return fmt.Errorf("catalog: maintenance: %w", err)
		}
		removed, _ = res.RowsAffected()
		return nil
	})
	return removed, err
}

func sortCatalogFiles(fs []CatalogFile) {
	slices.SortFunc(fs, func(a, b CatalogFile) int {
		return cmp.Or(
			cmp.Compare(a.Newest.Vault, b.Newest.Vault),
			cmp.Compare(a.Newest.Archive, b.Newest.Archive),
			cmp.Compare(a.Newest.Path, b.Newest.Path),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.SHA256, b.SHA256),
		)
	})
}
