package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Change is one row of the change log. Triggers write it in the same
// transaction as the change itself, whichever process commits: so a
// reader learns exactly what any process changed.
type Change struct {
	Seq     int64
	Kind    string // vault, archive, job, task, settings, keys, error
	Vault   string
	Archive string
	Task    int64
	Job     string
}

// ChangeReader follows the change log from one dedicated connection, so
// that SQLite's data_version tells cheaply whether anything was committed
// since the last look.
type ChangeReader struct {
	conn    *sql.Conn
	version int64
	last    int64
}

// NewChangeReader starts following the change log from its current end.
func (db *DB) NewChangeReader(ctx context.Context) (*ChangeReader, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog: change log: %w", err)
	}
	r := &ChangeReader{conn: conn, version: -1}
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(max(seq), 0) FROM changes").Scan(&r.last); err != nil {
		conn.Close()
		return nil, fmt.Errorf("catalog: change log: %w", err)
	}
	return r, nil
}

// Close releases the reader's connection.
func (r *ChangeReader) Close() error { return r.conn.Close() }

// Next returns the changes committed since the last call. lost is true
// when the log was pruned past what this reader had seen: the caller must
// assume that anything may have changed.
func (r *ChangeReader) Next(ctx context.Context) (changes []Change, lost bool, err error) {
	var v int64
	if err := r.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		return nil, false, fmt.Errorf("catalog: change log: %w", err)
	}
	if v == r.version {
		return nil, false, nil
	}
	var first sql.NullInt64
	if err := r.conn.QueryRowContext(ctx, "SELECT min(seq) FROM changes").Scan(&first); err != nil {
		return nil, false, fmt.Errorf("catalog: change log: %w", err)
	}
	if first.Valid && first.Int64 > r.last+1 {
		lost = true
	}
	rows, err := r.conn.QueryContext(ctx, "SELECT seq, kind, vault, archive, task, job FROM changes WHERE seq > ? ORDER BY seq", r.last)
	if err != nil {
		return nil, false, fmt.Errorf("catalog: change log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.Kind, &c.Vault, &c.Archive, &c.Task, &c.Job); err != nil {
			return nil, false, fmt.Errorf("catalog: change log: %w", err)
		}
		changes = append(changes, c)
		r.last = c.Seq
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("catalog: change log: %w", err)
	}
	r.version = v
	return changes, lost, nil
}

// Meta returns a value of the catalog's own bookkeeping (refresh times and
// the like); ok is false when it is not set.
func (db *DB) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	return meta(ctx, db.sql, key)
}

// Meta returns a bookkeeping value, inside the transaction.
func (tx *Tx) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	return meta(ctx, tx.tx, key)
}

func meta(ctx context.Context, q querier, key string) (string, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: %s: %w", key, err)
	}
	return v, true, nil
}

// SetMeta stores a bookkeeping value.
func (tx *Tx) SetMeta(ctx context.Context, key, value string) error {
	_, err := tx.tx.ExecContext(ctx,
		"INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
	if err != nil {
		return fmt.Errorf("catalog: %s: %w", key, err)
	}
	return nil
}
