package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings returns every stored setting.
func (db *DB) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, fmt.Errorf("catalog: settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("catalog: settings: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Setting returns one stored setting; ok is false when it is not stored.
func (db *DB) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: setting %s: %w", key, err)
	}
	return value, true, nil
}

// Setting returns one stored setting, inside the transaction.
func (tx *Tx) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = tx.tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a setting.
func (tx *Tx) SetSetting(ctx context.Context, key, value string) error {
	_, err := tx.tx.ExecContext(ctx,
		"INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		key, value)
	if err != nil {
		return fmt.Errorf("catalog: set %s: %w", key, err)
	}
	return nil
}

// UnsetSetting removes a stored setting; removed is false when none was stored.
func (tx *Tx) UnsetSetting(ctx context.Context, key string) (removed bool, err error) {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", key)
	if err != nil {
		return false, fmt.Errorf("catalog: unset %s: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
