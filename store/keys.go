package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Key is an encryption key as stored. Material is secret: Key's String and
// Format never show it.
type Key struct {
	ID        string
	Name      string
	Algorithm string
	Material  []byte
	Created   time.Time
}

// String describes the key without its material.
func (k Key) String() string {
	return fmt.Sprintf("key %s (%s, %q)", k.ID, k.Algorithm, k.Name)
}

// GoString keeps %#v from printing the material.
func (k Key) GoString() string { return k.String() }

// Format keeps every fmt verb from printing the material.
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// PutKey stores a key; storing the same id again updates its name only
// (the id is derived from the material, so the material is the same).
func (tx *Tx) PutKey(ctx context.Context, k Key) error {
	created := k.Created
	if created.IsZero() {
		created = tx.now
	}
	_, err := tx.tx.ExecContext(ctx, `
INSERT INTO keys(id, name, algorithm, material, created) VALUES(?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN keys.name ELSE excluded.name END`,
		k.ID, k.Name, k.Algorithm, k.Material, formatTime(created))
	if err != nil {
		return fmt.Errorf("catalog: store key %s: %w", k.ID, err)
	}
	return nil
}

// Key returns the key with id.
func (db *DB) Key(ctx context.Context, id string) (Key, error) {
	return scanKey(db.sql.QueryRowContext(ctx,
		"SELECT id, name, algorithm, material, created FROM keys WHERE id = ?", id), id)
}

// Key returns the key with id, inside the transaction.
func (tx *Tx) Key(ctx context.Context, id string) (Key, error) {
	return scanKey(tx.tx.QueryRowContext(ctx,
		"SELECT id, name, algorithm, material, created FROM keys WHERE id = ?", id), id)
}

func scanKey(row *sql.Row, id string) (Key, error) {
	var k Key
	var created string
	err := row.Scan(&k.ID, &k.Name, &k.Algorithm, &k.Material, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, fmt.Errorf("key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Key{}, fmt.Errorf("catalog: key %s: %w", id, err)
	}
	k.Created = parseTime(created)
	return k, nil
}

// Keys lists every key, oldest first.
func (db *DB) Keys(ctx context.Context) ([]Key, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT id, name, algorithm, material, created FROM keys ORDER BY created, id")
	if err != nil {
		return nil, fmt.Errorf("catalog: keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var created string
		if err := rows.Scan(&k.ID, &k.Name, &k.Algorithm, &k.Material, &created); err != nil {
			return nil, fmt.Errorf("catalog: keys: %w", err)
		}
		k.Created = parseTime(created)
		out = append(out, k)
	}
	return out, rows.Err()
}
