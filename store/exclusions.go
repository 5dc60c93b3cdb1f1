package store

import (
	"context"
	"fmt"
)

// Exclusion kinds: "exclude" expressions leave matching paths out of new
// archives; "backup" expressions extend the backup/generated filter.
const (
	ExclusionExclude = "exclude"
	ExclusionBackup  = "backup"
)

// Exclusions lists the stored expressions of a kind, in the order added.
func (db *DB) Exclusions(ctx context.Context, kind string) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT expression FROM exclusions WHERE kind = ? ORDER BY created, rowid", kind)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s expressions: %w", kind, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("catalog: %s expressions: %w", kind, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AddExclusion stores an expression (a no-op when it is already stored).
func (tx *Tx) AddExclusion(ctx context.Context, kind, expr string) error {
	_, err := tx.tx.ExecContext(ctx,
		"INSERT INTO exclusions(kind, expression, created) VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
		kind, expr, formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("catalog: add %s expression %q: %w", kind, expr, err)
	}
	return nil
}

// RemoveExclusion deletes an expression; removed is false when it was not stored.
func (tx *Tx) RemoveExclusion(ctx context.Context, kind, expr string) (removed bool, err error) {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM exclusions WHERE kind = ? AND expression = ?", kind, expr)
	if err != nil {
		return false, fmt.Errorf("catalog: remove %s expression %q: %w", kind, expr, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ManualExclusions lists the paths a person deselected in earlier selections.
func (db *DB) ManualExclusions(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT path FROM manual_exclusions ORDER BY path")
	if err != nil {
		return nil, fmt.Errorf("catalog: manual exclusions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("catalog: manual exclusions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddManualExclusion remembers that a person deselected path.
func (tx *Tx) AddManualExclusion(ctx context.Context, path string) error {
	_, err := tx.tx.ExecContext(ctx,
		"INSERT INTO manual_exclusions(path, created) VALUES(?, ?) ON CONFLICT DO NOTHING", path, formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("catalog: manual exclusion %s: %w", path, err)
	}
	return nil
}

// RemoveManualExclusion forgets a manual exclusion; removed is false when
// there was none.
func (tx *Tx) RemoveManualExclusion(ctx context.Context, path string) (removed bool, err error) {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM manual_exclusions WHERE path = ?", path)
	if err != nil {
		return false, fmt.Errorf("catalog: manual exclusion %s: %w", path, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
