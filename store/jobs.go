package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Job actions, as Glacier spells them.
const (
	ActionArchiveRetrieval   = "ArchiveRetrieval"
	ActionInventoryRetrieval = "InventoryRetrieval"
)

// Job is a Glacier job freezer requested or found.
type Job struct {
	ID              string
	VaultID         int64
	Vault           string // vault name
	Archive         string // archive name, when the catalog knows the archive
	Action          string
	ArchiveID       int64 // catalog id; 0 for inventory jobs or unknown archives
	RemoteArchiveID string
	Tier            string
	ByteRange       string
	Format          string // inventory format
	Status          string
	StatusMessage   string
	TreeHash        string // tree hash of the retrieved range, when Glacier gives one
	Size            int64
	Created         time.Time
	Completed       time.Time
	Expires         time.Time // when the output stops being downloadable
	Executed        time.Time // the manual's "executed": output downloaded and installed
	Description     string    // the job's description in Glacier
	// Foreign marks a job Glacier lists that no process of this catalog
	// requested (another client's, or made before the catalog).
	Foreign bool
}

const jobColumns = `j.id, j.vault_id, v.name, COALESCE(a.name, ''), j.action, COALESCE(j.archive_id, 0), j.remote_archive_id, j.tier,
	j.byte_range, j.format, j.status, j.status_message, j.tree_hash, j.size, j.created, j.completed,
	j.expires, j.executed, j.description, j.foreign_job`

const jobFrom = " FROM jobs j JOIN vaults v ON v.id = j.vault_id LEFT JOIN archives a ON a.id = j.archive_id "

func scanJob(s interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var created, completed, expires, executed string
	err := s.Scan(&j.ID, &j.VaultID, &j.Vault, &j.Archive, &j.Action, &j.ArchiveID, &j.RemoteArchiveID, &j.Tier,
		&j.ByteRange, &j.Format, &j.Status, &j.StatusMessage, &j.TreeHash, &j.Size, &created, &completed,
		&expires, &executed, &j.Description, &j.Foreign)
	j.Created, j.Completed = parseTime(created), parseTime(completed)
	j.Expires, j.Executed = parseTime(expires), parseTime(executed)
	return j, err
}

func (db *DB) queryJobs(ctx context.Context, where string, args ...any) ([]Job, error) {
	return queryJobs(ctx, db.sql, where, args...)
}

func queryJobs(ctx context.Context, q querier, where string, args ...any) ([]Job, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+jobColumns+jobFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Jobs lists every job, newest first.
func (db *DB) Jobs(ctx context.Context) ([]Job, error) {
	return db.queryJobs(ctx, "ORDER BY j.created DESC, j.id")
}

// ArchiveJobs lists an archive's retrieval jobs, newest first.
func (db *DB) ArchiveJobs(ctx context.Context, archiveID int64) ([]Job, error) {
	return db.queryJobs(ctx, "WHERE j.archive_id = ? ORDER BY j.created DESC, j.id", archiveID)
}

// VaultArchiveJobs lists the retrieval jobs of every archive of a vault,
// newest first: one query for a whole listing.
func (db *DB) VaultArchiveJobs(ctx context.Context, vault string) ([]Job, error) {
	return db.queryJobs(ctx, "WHERE v.name = ? AND j.archive_id IS NOT NULL ORDER BY j.created DESC, j.id", vault)
}

// ArchiveJobs lists an archive's retrieval jobs newest first, inside the
// transaction.
func (tx *Tx) ArchiveJobs(ctx context.Context, archiveID int64) ([]Job, error) {
	return queryJobs(ctx, tx.tx, "WHERE j.archive_id = ? ORDER BY j.created DESC, j.id", archiveID)
}

// Job returns the job with id, inside the transaction.
func (tx *Tx) Job(ctx context.Context, id string) (Job, error) {
	return jobRow(tx.tx.QueryRowContext(ctx, "SELECT "+jobColumns+jobFrom+"WHERE j.id = ?", id), id)
}

// ReadyJobs lists succeeded jobs whose output was not yet installed and
// has not expired at now, oldest first.
func (db *DB) ReadyJobs(ctx context.Context, now time.Time) ([]Job, error) {
	return db.queryJobs(ctx, "WHERE j.status = ? AND j.executed = '' AND (j.expires = '' OR j.expires > ?) ORDER BY j.created, j.id",
		JobStatusSucceeded, formatTime(now))
}

// NextExpiry is the earliest expiry after now of a succeeded job's output
// (zero when none is pending).
func (db *DB) NextExpiry(ctx context.Context, now time.Time) (time.Time, error) {
	var s sql.NullString
	err := db.sql.QueryRowContext(ctx, "SELECT min(expires) FROM jobs WHERE status = ? AND expires > ?",
		JobStatusSucceeded, formatTime(now)).Scan(&s)
	if err != nil {
		return time.Time{}, fmt.Errorf("catalog: jobs: %w", err)
	}
	return parseTime(s.String), nil
}

// ExpiringJobs lists succeeded jobs whose output expires in (from, to].
func (db *DB) ExpiringJobs(ctx context.Context, from, to time.Time) ([]Job, error) {
	return db.queryJobs(ctx, "WHERE j.status = ? AND j.expires > ? AND j.expires <= ? ORDER BY j.expires",
		JobStatusSucceeded, formatTime(from), formatTime(to))
}

// PendingJobs lists jobs still in progress, oldest first.
func (db *DB) PendingJobs(ctx context.Context) ([]Job, error) {
	return db.queryJobs(ctx, "WHERE j.status = ? ORDER BY j.created, j.id", JobStatusInProgress)
}

// Job returns the job with id.
func (db *DB) Job(ctx context.Context, id string) (Job, error) {
	return jobRow(db.sql.QueryRowContext(ctx, "SELECT "+jobColumns+jobFrom+"WHERE j.id = ?", id), id)
}

func jobRow(row *sql.Row, id string) (Job, error) {
	j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("catalog: job %s: %w", id, err)
	}
	return j, nil
}

// PutJob inserts or updates a job (by id). The executed date is kept unless
// j sets one.
func (tx *Tx) PutJob(ctx context.Context, j Job) error {
	var archiveID sql.NullInt64
	if j.ArchiveID != 0 {
		archiveID = sql.NullInt64{Int64: j.ArchiveID, Valid: true}
	}
	created := j.Created
	if created.IsZero() {
		created = tx.now
	}
	_, err := tx.tx.ExecContext(ctx, `
INSERT INTO jobs(id, vault_id, action, archive_id, remote_archive_id, tier, byte_range, format, status,
	status_message, tree_hash, size, created, completed, expires, executed, description, foreign_job)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
	description = CASE WHEN excluded.description = '' THEN jobs.description ELSE excluded.description END,
	archive_id = COALESCE(excluded.archive_id, jobs.archive_id),
	status = excluded.status, status_message = excluded.status_message,
	tree_hash = excluded.tree_hash, size = excluded.size,
	completed = excluded.completed, expires = excluded.expires,
	executed = CASE WHEN excluded.executed = '' THEN jobs.executed ELSE excluded.executed END`,
		j.ID, j.VaultID, j.Action, archiveID, j.RemoteArchiveID, j.Tier, j.ByteRange, j.Format, j.Status,
		j.StatusMessage, j.TreeHash, j.Size, formatTime(created), formatTime(j.Completed),
		formatTime(j.Expires), formatTime(j.Executed), j.Description, j.Foreign)
	if err != nil {
		return fmt.Errorf("catalog: job %s: %w", j.ID, err)
	}
	return nil
}

// SetJobStatus records what Glacier says of a job: only the columns it
// decides, so that an executed date set meanwhile is kept.
func (tx *Tx) SetJobStatus(ctx context.Context, j Job) error {
	_, err := tx.tx.ExecContext(ctx, `
UPDATE jobs SET status = ?, status_message = ?,
	tree_hash = CASE WHEN ? = '' THEN tree_hash ELSE ? END,
	size = CASE WHEN ? = 0 THEN size ELSE ? END,
	completed = CASE WHEN ? = '' THEN completed ELSE ? END,
	expires = CASE WHEN ? = '' THEN expires ELSE ? END
WHERE id = ?`, j.Status, j.StatusMessage, j.TreeHash, j.TreeHash, j.Size, j.Size,
		formatTime(j.Completed), formatTime(j.Completed), formatTime(j.Expires), formatTime(j.Expires), j.ID)
	if err != nil {
		return fmt.Errorf("catalog: job %s: %w", j.ID, err)
	}
	return nil
}

// MarkExecuted sets the manual's "executed" date on a job: its output was
// downloaded and installed.
func (tx *Tx) MarkExecuted(ctx context.Context, jobID string, at time.Time) error {
	if _, err := tx.tx.ExecContext(ctx, "UPDATE jobs SET executed = ? WHERE id = ?", formatTime(at), jobID); err != nil {
		return fmt.Errorf("catalog: job %s: %w", jobID, err)
	}
	return nil
}
