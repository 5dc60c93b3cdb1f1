package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	a.local_path, a.file_count`

const archiveFrom = " FROM archives a JOIN vaults v ON v.id = a.vault_id "

func scanArchive(s interface{ Scan(...any) error }) (Archive, error) {
	var a Archive
	var created string
	err := s.Scan(&a.ID, &a.VaultID, &a.Vault, &a.Name, &a.RemoteID, &a.Description, &a.Size,
		&a.TreeHash, &a.SHA256, &a.LocalSize, &a.Compression, &a.Cipher, &a.KeyID, &created,
		&a.LocalPath, &a.FileCount)
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

// ArchiveByID returns the archive with catalog id.
func (db *DB) ArchiveByID(ctx context.Context, id int64) (Archive, error) {
	return archiveRow(db.sql.QueryRowContext(ctx, "SELECT "+archiveColumns+archiveFrom+"WHERE a.id = ?", id), "", fmt.Sprint("#", id))
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
		a.LocalSize, a.Compression, a.Cipher, nullString(a.KeyID), formatTime(created), a.LocalPath, a.FileCount}
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
	compression, cipher, key_id, created, local_path, file_count)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("catalog: archive %s: %w", a.Name, err)
		}
		return id, nil
	}
	_, err := tx.tx.ExecContext(ctx, `
UPDATE archives SET vault_id = ?, name = ?, remote_id = ?, description = ?, size = ?, tree_hash = ?,
	sha256 = ?, local_size = ?, compression = ?, cipher = ?, key_id = ?, created = ?, local_path = ?,
	file_count = ?
WHERE id = ?`, append(args, a.ID)...)
	if err != nil {
		return 0, fmt.Errorf("catalog: archive %s: %w", a.Name, err)
	}
	return a.ID, nil
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
	insFile, err := tx.tx.PrepareContext(ctx, `
INSERT INTO files(name, size, sha256) VALUES(?, ?, ?)
ON CONFLICT(name, size, sha256) DO UPDATE SET name = excluded.name RETURNING id`)
	if err != nil {
		return fmt.Errorf("catalog: files: %w", err)
	}
	defer insFile.Close()
	insMember, err := tx.tx.PrepareContext(ctx, `
INSERT INTO archive_files(archive_id, file_id, path) VALUES(?, ?, ?)
ON CONFLICT(archive_id, path) DO UPDATE SET file_id = excluded.file_id`)
	if err != nil {
		return fmt.Errorf("catalog: files: %w", err)
	}
	defer insMember.Close()
	for _, f := range files {
		var id int64
		if err := insFile.QueryRowContext(ctx, f.Name, f.Size, f.SHA256).Scan(&id); err != nil {
			return fmt.Errorf("catalog: file %s: %w", f.Path, err)
		}
		if _, err := insMember.ExecContext(ctx, archiveID, id, f.Path); err != nil {
			return fmt.Errorf("catalog: file %s: %w", f.Path, err)
		}
	}
	if _, err := tx.tx.ExecContext(ctx,
		"UPDATE archives SET file_count = (SELECT count(*) FROM archive_files WHERE archive_id = ?) WHERE id = ?",
		archiveID, archiveID); err != nil {
		return fmt.Errorf("catalog: archive #%d: %w", archiveID, err)
	}
	return nil
}

// ArchiveFiles lists the files inside an archive by path.
func (db *DB) ArchiveFiles(ctx context.Context, archiveID int64) ([]FileRecord, error) {
	rows, err := db.sql.QueryContext(ctx, `
SELECT m.path, f.name, f.size, f.sha256 FROM archive_files m JOIN files f ON f.id = m.file_id
WHERE m.archive_id = ? ORDER BY m.path`, archiveID)
	if err != nil {
		return nil, fmt.Errorf("catalog: archive #%d files: %w", archiveID, err)
	}
	defer rows.Close()
	var out []FileRecord
	for rows.Next() {
		var f FileRecord
		if err := rows.Scan(&f.Path, &f.Name, &f.Size, &f.SHA256); err != nil {
			return nil, fmt.Errorf("catalog: archive #%d files: %w", archiveID, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
