package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Upload is a multipart upload in progress and everything needed to resume
// it after a crash: the same upload id, and the same ciphertext, which the
// local file, the key, the IV and the random header reproduce byte for byte.
type Upload struct {
	ArchiveID    int64
	UploadID     string
	PartSize     int64
	Size         int64  // total bytes to upload (ciphertext)
	SourceSHA256 string // SHA-256 of the local file the ciphertext is made from
	Cipher       string
	KeyID        string
	IV           []byte
	Header       []byte // the RHL byte and the random header bytes
	Description  string
	Created      time.Time
	Parts        map[int]string // part number → tree hash, for parts Glacier accepted
	Started      map[int]string // parts sent whose answer was not recorded (in flight at a crash)
}

// StartUpload records a new multipart upload for an archive, replacing any
// earlier record.
func (tx *Tx) StartUpload(ctx context.Context, u Upload) error {
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM uploads WHERE archive_id = ?", u.ArchiveID); err != nil {
		return fmt.Errorf("catalog: upload for archive #%d: %w", u.ArchiveID, err)
	}
	created := u.Created
	if created.IsZero() {
		created = tx.now
	}
	_, err := tx.tx.ExecContext(ctx, `
INSERT INTO uploads(archive_id, upload_id, part_size, size, source_sha256, cipher, key_id, iv, header, description, created)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ArchiveID, u.UploadID, u.PartSize, u.Size, u.SourceSHA256, u.Cipher, nullString(u.KeyID),
		u.IV, u.Header, u.Description, formatTime(created))
	if err != nil {
		return fmt.Errorf("catalog: upload for archive #%d: %w", u.ArchiveID, err)
	}
	return nil
}

// PartStarted records that a part is being sent.
func (db *DB) PartStarted(ctx context.Context, archiveID int64, part int, treeHash string) error {
	return db.putPart(ctx, archiveID, part, treeHash, false)
}

// PartDone records that Glacier accepted a part.
func (db *DB) PartDone(ctx context.Context, archiveID int64, part int, treeHash string) error {
	return db.putPart(ctx, archiveID, part, treeHash, true)
}

func (db *DB) putPart(ctx context.Context, archiveID int64, part int, treeHash string, done bool) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `
INSERT INTO upload_parts(archive_id, part, tree_hash, done) VALUES(?, ?, ?, ?)
ON CONFLICT(archive_id, part) DO UPDATE SET tree_hash = excluded.tree_hash, done = excluded.done`,
			archiveID, part, treeHash, done)
		if err != nil {
			return fmt.Errorf("catalog: upload for archive #%d: part %d: %w", archiveID, part, err)
		}
		return nil
	})
}

// FinishUpload forgets an upload's progress (completed or aborted).
func (tx *Tx) FinishUpload(ctx context.Context, archiveID int64) error {
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM uploads WHERE archive_id = ?", archiveID); err != nil {
		return fmt.Errorf("catalog: upload for archive #%d: %w", archiveID, err)
	}
	return nil
}

// Upload returns the recorded upload of an archive, or ErrNotFound.
func (db *DB) Upload(ctx context.Context, archiveID int64) (Upload, error) {
	var u Upload
	var keyID sql.NullString
	var created string
	err := db.sql.QueryRowContext(ctx, `
SELECT archive_id, upload_id, part_size, size, source_sha256, cipher, key_id, iv, header, description, created
FROM uploads WHERE archive_id = ?`, archiveID).Scan(&u.ArchiveID, &u.UploadID, &u.PartSize, &u.Size,
		&u.SourceSHA256, &u.Cipher, &keyID, &u.IV, &u.Header, &u.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Upload{}, fmt.Errorf("upload for archive #%d: %w", archiveID, ErrNotFound)
	}
	if err != nil {
		return Upload{}, fmt.Errorf("catalog: upload for archive #%d: %w", archiveID, err)
	}
	u.KeyID, u.Created = keyID.String, parseTime(created)
	rows, err := db.sql.QueryContext(ctx, "SELECT part, tree_hash, done FROM upload_parts WHERE archive_id = ?", archiveID)
	if err != nil {
		return Upload{}, fmt.Errorf("catalog: upload for archive #%d: %w", archiveID, err)
	}
	defer rows.Close()
	u.Parts, u.Started = map[int]string{}, map[int]string{}
	for rows.Next() {
		var n int
		var h string
		var done bool
		if err := rows.Scan(&n, &h, &done); err != nil {
			return Upload{}, fmt.Errorf("catalog: upload for archive #%d: %w", archiveID, err)
		}
		if done {
			u.Parts[n] = h
		} else {
			u.Started[n] = h
		}
	}
	return u, rows.Err()
}
