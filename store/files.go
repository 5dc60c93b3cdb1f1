package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	rows, err := db.sql.QueryContext(ctx, `
SELECT f.name, f.size, f.sha256, v.name, a.name, m.path, a.created
FROM archive_files m
JOIN files f ON f.id = m.file_id
JOIN archives a ON a.id = m.archive_id
JOIN vaults v ON v.id = a.vault_id
WHERE a.remote_id IS NOT NULL OR a.local_path != ''
ORDER BY a.created DESC, a.id DESC, m.path`)
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
