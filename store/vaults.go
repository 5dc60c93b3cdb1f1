package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Vault is a Glacier vault as the catalog knows it. RemoteArchives and
// RemoteSize are Glacier's figures as of InventoryDate.
type Vault struct {
	ID             int64
	Name           string
	ARN            string
	Created        time.Time
	InventoryDate  time.Time
	RemoteArchives int64
	RemoteSize     int64
}

const vaultColumns = "id, name, arn, created, inventory_date, remote_archives, remote_size"

func scanVault(s interface{ Scan(...any) error }) (Vault, error) {
	var v Vault
	var created, inv string
	err := s.Scan(&v.ID, &v.Name, &v.ARN, &created, &inv, &v.RemoteArchives, &v.RemoteSize)
	v.Created, v.InventoryDate = parseTime(created), parseTime(inv)
	return v, err
}

// Vaults lists the catalog's vaults by name.
func (db *DB) Vaults(ctx context.Context) ([]Vault, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT "+vaultColumns+" FROM vaults ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("catalog: vaults: %w", err)
	}
	defer rows.Close()
	var out []Vault
	for rows.Next() {
		v, err := scanVault(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: vaults: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Vault returns the vault called name.
func (db *DB) Vault(ctx context.Context, name string) (Vault, error) {
	v, err := scanVault(db.sql.QueryRowContext(ctx, "SELECT "+vaultColumns+" FROM vaults WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return Vault{}, fmt.Errorf("vault %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Vault{}, fmt.Errorf("catalog: vault %s: %w", name, err)
	}
	return v, nil
}

// PutVault records a vault (by name), updating what Glacier reported about
// it; it returns the vault's catalog id.
func (tx *Tx) PutVault(ctx context.Context, v Vault) (int64, error) {
	var id int64
	err := tx.tx.QueryRowContext(ctx, `
INSERT INTO vaults(name, arn, created, inventory_date, remote_archives, remote_size) VALUES(?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
	arn = CASE WHEN excluded.arn = '' THEN vaults.arn ELSE excluded.arn END,
	created = CASE WHEN excluded.created = '' THEN vaults.created ELSE excluded.created END,
	inventory_date = CASE WHEN excluded.inventory_date = '' THEN vaults.inventory_date ELSE excluded.inventory_date END,
	remote_archives = CASE WHEN excluded.inventory_date = '' THEN vaults.remote_archives ELSE excluded.remote_archives END,
	remote_size = CASE WHEN excluded.inventory_date = '' THEN vaults.remote_size ELSE excluded.remote_size END
RETURNING id`,
		v.Name, v.ARN, formatTime(v.Created), formatTime(v.InventoryDate), v.RemoteArchives, v.RemoteSize).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("catalog: vault %s: %w", v.Name, err)
	}
	return id, nil
}

// DeleteVault removes a vault and everything the catalog holds about it.
// The caller has made sure Glacier's vault is gone (or never existed).
func (tx *Tx) DeleteVault(ctx context.Context, name string) error {
	var id int64
	err := tx.tx.QueryRowContext(ctx, "SELECT id FROM vaults WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("vault %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("catalog: vault %s: %w", name, err)
	}
	for _, q := range []string{
		"DELETE FROM jobs WHERE vault_id = ?",
		"DELETE FROM archives WHERE vault_id = ?",
		"DELETE FROM vaults WHERE id = ?",
	} {
		if _, err := tx.tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("catalog: remove vault %s: %w", name, err)
		}
	}
	return nil
}
