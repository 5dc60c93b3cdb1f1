package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
)

// Archive is one archive: a Glacier archive, a local file, or both.
type Archive struct {
	ID          int64
	VaultID     int64
	Vault       string // vault name
	Name        string
	RemoteID    string // Glacier archive id; empty until uploaded
	Description string
	Size        int64  // bytes in Glacier (after encryption)
	TreeHash    string // Glacier tree hash of those bytes
	SHA256      string // SHA-256 of the local file (the compressed tar, never encrypted)
	LocalSize   int64
	Compression string
	Cipher      string
	KeyID       string
	Created     time.Time
	LocalPath   string // empty when there is no local copy
	FileCount   int64
	// Installing is the temporary file a new local copy was built or
	// downloaded into while its catalog row committed; it is renamed to
	// LocalPath right after. Non-empty only if that rename was cut short.
	Installing string
}

// Remote reports whether the archive exists in Glacier.
func (a Archive) Remote() bool { return a.RemoteID != "" }

// FileRecord is one file inside an archive.
type FileRecord struct {
	Path   string // path inside the archive
	Name   string // base name
	Size   int64
	SHA256 string
}

const archiveColumns = `a.id, a.vault_id, v.name, a.name, COALESCE(a.remote_id, ''), a.description, a.size,
	a.tree_hash, a.sha256, a.local_size, a.compression, a.cipher, COALESCE(a.key_id, ''), a.created,
	a.local_path, a.file_count, a.installing`

const archiveFrom = " FROM archives a JOIN vaults v ON v.id = a.vault_id "

func scanArchive(s interface{ Scan(...any) error }) (Archive, error) {
	var a Archive
	var created string
	err := s.Scan(&a.ID, &a.VaultID, &a.Vault, &a.Name, &a.RemoteID, &a.Description, &a.Size,
		&a.TreeHash, &a.SHA256, &a.LocalSize, &a.Compression, &a.Cipher, &a.KeyID, &created,
		&a.LocalPath, &a.FileCount, &a.Installing)
	a.Created = parseTime(created)
	return a, err
}

func queryArchives(ctx context.Context, q querier, where string, args ...any) ([]Archive, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+archiveColumns+archiveFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: archives: %w", err)
	}
	defer rows.Close()
	var out []Archive
	for rows.Next() {
		a, err := scanArchive(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: archives: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Archives lists a vault's archives by name.
func (db *DB) Archives(ctx context.Context, vault string) ([]Archive, error) {
	return queryArchives(ctx, db.sql, "WHERE v.name = ? ORDER BY a.name", vault)
}

// AllArchives lists every archive of every vault.
func (db *DB) AllArchives(ctx context.Context) ([]Archive, error) {
	return queryArchives(ctx, db.sql, "ORDER BY v.name, a.name")
}

// Archive returns the archive called name in vault.
func (db *DB) Archive(ctx context.Context, vault, name string) (Archive, error) {
	return archiveRow(db.sql.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE v.name = ? AND a.name = ?", vault, name), vault, name)
}

// Archive returns the archive called name in vault, inside the transaction.
func (tx *Tx) Archive(ctx context.Context, vault, name string) (Archive, error) {
	return archiveRow(tx.tx.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE v.name = ? AND a.name = ?", vault, name), vault, name)
}

// Archives lists a vault's archives, inside the transaction.
func (tx *Tx) Archives(ctx context.Context, vault string) ([]Archive, error) {
	return queryArchives(ctx, tx.tx, "WHERE v.name = ? ORDER BY a.name", vault)
}

// Installing lists archives whose new local copy was not yet renamed into
// place when its writer stopped.
func (db *DB) Installing(ctx context.Context) ([]Archive, error) {
	return queryArchives(ctx, db.sql, "WHERE a.installing != '' ORDER BY a.id")
}

// ArchiveByID returns the archive with catalog id.
func (db *DB) ArchiveByID(ctx context.Context, id int64) (Archive, error) {
	return archiveRow(db.sql.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE a.id = ?", id), "", fmt.Sprint("#", id))
}

// ArchiveByRemoteID returns the archive with Glacier archive id, inside
// the transaction.
func (tx *Tx) ArchiveByRemoteID(ctx context.Context, remoteID string) (Archive, error) {
	return archiveRow(tx.tx.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE a.remote_id = ?", remoteID), "", remoteID)
}

// ArchiveByRemoteID returns the archive with Glacier archive id.
func (db *DB) ArchiveByRemoteID(ctx context.Context, remoteID string) (Archive, error) {
	return archiveRow(db.sql.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE a.remote_id = ?", remoteID), "", remoteID)
}

func archiveRow(row *sql.Row, vault, name string) (Archive, error) {
	a, err := scanArchive(row)
	what := "archive " + name
	if vault != "" {
		what = "vault " + vault + ": " + what
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Archive{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Archive{}, fmt.Errorf("catalog: %s: %w", what, err)
	}
	return a, nil
}

// PutArchive inserts an archive (ID 0) or updates every column of an
// existing one; it returns the archive's id.
func (tx *Tx) PutArchive(ctx context.Context, a Archive) (int64, error) {
	created := a.Created
	if created.IsZero() {
		created = tx.now
	}
	args := []any{a.VaultID, a.Name, nullString(a.RemoteID), a.Description, a.Size, a.TreeHash, a.SHA256,
		a.LocalSize, a.Compression, a.Cipher, nullString(a.KeyID), formatTime(created), a.LocalPath, a.FileCount, a.Installing}
	if a.Compression == "" {
		args[8] = "none"
	}
	if a.Cipher == "" {
		args[9] = "none"
	}
	if a.ID == 0 {
		var id int64
		err := tx.tx.QueryRowContext(ctx, `
INSERT INTO archives(vault_id, name, remote_id, description, size, tree_hash, sha256, local_size,
	compression, cipher, key_id, created, local_path, file_count, installing)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("catalog: archive %s: %w", a.Name, dress(err))
		}
		return id, nil
	}
	_, err := tx.tx.ExecContext(ctx, `
UPDATE archives SET vault_id = ?, name = ?, remote_id = ?, description = ?, size = ?, tree_hash = ?,
	sha256 = ?, local_size = ?, compression = ?, cipher = ?, key_id = ?, created = ?, local_path = ?,
	file_count = ?, installing = ?
WHERE id = ?`, append(args, a.ID)...)
	if err != nil {
		return 0, fmt.Errorf("catalog: archive %s: %w", a.Name, err)
	}
	return a.ID, nil
}

// SetUploaded records that an archive is in Glacier: only the columns the
// upload decided, so that nothing another process changed meanwhile is
// written back.
func (tx *Tx) SetUploaded(ctx context.Context, archiveID int64, remoteID string, size int64, treeHash string) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE archives SET remote_id = ?, size = ?, tree_hash = ? WHERE id = ?",
		nullString(remoteID), size, treeHash, archiveID)
	if err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// SetLocal records an archive's local copy, installed from file
// installing (renamed to path right after the commit; "" when it is in
// place already). sha256 fills in the archive's SHA-256 when the catalog
// did not know it.
func (tx *Tx) SetLocal(ctx context.Context, archiveID int64, path, installing string, size int64, sha256 string) error {
	_, err := tx.tx.ExecContext(ctx, `
UPDATE archives SET local_path = ?, installing = ?, local_size = ?,
	sha256 = CASE WHEN sha256 = '' THEN ? ELSE sha256 END
WHERE id = ?`, path, installing, size, sha256, archiveID)
	if err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// Installed records that an archive's new local copy is in place.
func (tx *Tx) Installed(ctx context.Context, archiveID int64) error {
	if _, err := tx.tx.ExecContext(ctx, "UPDATE archives SET installing = '' WHERE id = ?", archiveID); err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// SetKeyID points an archive at the key it is encrypted with (an archive
// found in an inventory before its key was imported).
func (tx *Tx) SetKeyID(ctx context.Context, archiveID int64, keyID string) error {
	if _, err := tx.tx.ExecContext(ctx, "UPDATE archives SET key_id = ? WHERE id = ?", nullString(keyID), archiveID); err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// AdoptKey points every archive whose description names keyID, and which
// points at no key yet, at that key. It returns how many it changed.
func (tx *Tx) AdoptKey(ctx context.Context, keyID string, names func(description string) string) (int64, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT id, description FROM archives WHERE key_id IS NULL AND cipher != 'none' AND cipher != ''")
	if err != nil {
		return 0, fmt.Errorf("catalog: archives: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			rows.Close()
			return 0, fmt.Errorf("catalog: archives: %w", err)
		}
		if names(d) == keyID {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("catalog: archives: %w", err)
	}
	for _, id := range ids {
		if err := tx.SetKeyID(ctx, id, keyID); err != nil {
			return 0, err
		}
	}
	return int64(len(ids)), nil
}

// SetLocalPath records (or, with "", forgets) an archive's local copy.
func (tx *Tx) SetLocalPath(ctx context.Context, archiveID int64, path string) error {
	if _, err := tx.tx.ExecContext(ctx, "UPDATE archives SET local_path = ? WHERE id = ?", path, archiveID); err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// DeleteArchive removes an archive and its file memberships from the
// catalog. Files it alone held go at the next Maintain.
func (tx *Tx) DeleteArchive(ctx context.Context, archiveID int64) error {
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM archives WHERE id = ?", archiveID); err != nil {
		return fmt.Errorf("catalog: remove archive #%d: %w", archiveID, err)
	}
	return nil
}

// AddFiles records the files inside an archive. A file is (name, size,
// SHA-256): copies in different paths, or in other archives, share a row.
func (tx *Tx) AddFiles(ctx context.Context, archiveID int64, files []FileRecord) error {
	return tx.AddFilesFrom(ctx, archiveID, func(yield func(FileRecord, error) bool) {
		for _, f := range files {
			if !yield(f, nil) {
				return
			}
		}
	})
}

// AddFilesFrom is AddFiles for the files a sequence yields (an archive of
// a million files reads them back from a file rather than holding them).
// Files go in batches of addBatch rows, two statements a batch (the files,
// then the archive's memberships joined to them on the files' unique
// index), prepared once; the archive's file count is set once at the end.
// The sequence's first error stops it and is returned; the caller's
// transaction then rolls back.
func (tx *Tx) AddFilesFrom(ctx context.Context, archiveID int64, files iter.Seq2[FileRecord, error]) error {
	// Statements run without the context's cancellation (the driver
	// would start a goroutine per statement to watch it); the context is
	// checked once a batch instead.
	run := context.WithoutCancel(ctx)
	var full [2]*sql.Stmt
	defer func() {
		for _, s := range full {
			if s != nil {
				s.Close()
			}
		}
	}()
	batch := make([]FileRecord, 0, addBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fargs := make([]any, 0, 3*len(batch))
		margs := make([]any, 0, 1+4*len(batch))
		margs = append(margs, archiveID)
		for _, f := range batch {
			fargs = append(fargs, f.Name, f.Size, f.SHA256)
			margs = append(margs, f.Path, f.Name, f.Size, f.SHA256)
		}
		for k, args := range [][]any{fargs, margs} {
			text := addFilesQuery(len(batch))
			if k == 1 {
				text = addMembersQuery(len(batch))
			}
			var err error
			if len(batch) == addBatch {
				if full[k] == nil {
					if full[k], err = tx.tx.PrepareContext(run, text); err != nil {
						return fmt.Errorf("catalog: files: %w", err)
					}
				}
				_, err = full[k].ExecContext(run, args...)
			} else {
				_, err = tx.tx.ExecContext(run, text, args...)
			}
			if err != nil {
				return fmt.Errorf("catalog: files of archive #%d, from %s: %w", archiveID, batch[0].Path, dress(err))
			}
		}
		batch = batch[:0]
		return nil
	}
	for f, err := range files {
		if err != nil {
			return err
		}
		batch = append(batch, f)
		if len(batch) == addBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(ctx,
		"UPDATE archives SET file_count = (SELECT count(*) FROM archive_files WHERE archive_id = ?) WHERE id = ?",
		archiveID, archiveID); err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// addBatch is how many files one pair of statements records.
const addBatch = 128

// addFilesQuery inserts n files, keeping those the catalog has.
func addFilesQuery(n int) string {
	return "INSERT INTO files(name, size, sha256) VALUES " + tuples(n, "(?,?,?)") +
		" ON CONFLICT(name, size, sha256) DO NOTHING"
}

// addMembersQuery records n (path, name, size, sha256) as the archive's
// (first argument) files; a path given again points at the later file.
func addMembersQuery(n int) string {
	return `INSERT INTO archive_files(archive_id, file_id, path)
SELECT ?1, f.id, v.column1 FROM (VALUES ` + tuples(n, "(?,?,?,?)") + `) AS v
JOIN files f ON f.name = v.column2 AND f.size = v.column3 AND f.sha256 = v.column4
WHERE true
ON CONFLICT(archive_id, path) DO UPDATE SET file_id = excluded.file_id`
}

// tuples repeats one parenthesised tuple n times, comma-separated.
func tuples(n int, one string) string {
	return strings.TrimSuffix(strings.Repeat(one+",", n), ",")
}

const archiveFilesQuery = `
SELECT m.path, f.name, f.size, f.sha256 FROM archive_files m JOIN files f ON f.id = m.file_id
WHERE m.archive_id = ? ORDER BY m.path`

// ArchiveFiles lists the files inside an archive by path.
func (db *DB) ArchiveFiles(ctx context.Context, archiveID int64) ([]FileRecord, error) {
	var out []FileRecord
	for f, err := range db.EachArchiveFile(ctx, archiveID) {
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// EachArchiveFile yields the files inside an archive by path, one at a
// time, on the primary key's order (no sort), for archives too large to
// list at once.
func (db *DB) EachArchiveFile(ctx context.Context, archiveID int64) iter.Seq2[FileRecord, error] {
	return func(yield func(FileRecord, error) bool) {
		rows, err := db.sql.QueryContext(ctx, archiveFilesQuery, archiveID)
		if err != nil {
			yield(FileRecord{}, fmt.Errorf("catalog: archive #%d files: %w", archiveID, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var f FileRecord
			if err := rows.Scan(&f.Path, &f.Name, &f.Size, &f.SHA256); err != nil {
				yield(FileRecord{}, fmt.Errorf("catalog: archive #%d files: %w", archiveID, err))
				return
			}
			if !yield(f, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(FileRecord{}, fmt.Errorf("catalog: archive #%d files: %w", archiveID, err))
		}
	}
}
