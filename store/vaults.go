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
	// Location is where the vault lives: the Glacier endpoint, region and
	// account it was made or found through ("" when not yet recorded).
	Location string
	// AutoInventory is Glacier's inventory date for which an inventory was
	// requested automatically (the catalog disagreed with it): once per
	// date, never in a loop.
	AutoInventory time.Time
}

const vaultColumns = "id, name, arn, created, inventory_date, remote_archives, remote_size, location, auto_inventory"

func scanVault(s interface{ Scan(...any) error }) (Vault, error) {
	var v Vault
	var created, inv, auto string
	err := s.Scan(&v.ID, &v.Name, &v.ARN, &created, &inv, &v.RemoteArchives, &v.RemoteSize, &v.Location, &auto)
	v.Created, v.InventoryDate, v.AutoInventory = parseTime(created), parseTime(inv), parseTime(auto)
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
	return vaultRow(ctx, db.sql, name)
}

// Vault returns the vault called name, inside the transaction.
func (tx *Tx) Vault(ctx context.Context, name string) (Vault, error) {
	return vaultRow(ctx, tx.tx, name)
}

func vaultRow(ctx context.Context, q querier, name string) (Vault, error) {
	v, err := scanVault(q.QueryRowContext(ctx, "SELECT "+vaultColumns+" FROM vaults WHERE name = ?", name))
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
INSERT INTO vaults(name, arn, created, inventory_date, remote_archives, remote_size, location) VALUES(?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
	location = CASE WHEN excluded.location = '' THEN vaults.location ELSE excluded.location END,
	arn = CASE WHEN excluded.arn = '' THEN vaults.arn ELSE excluded.arn END,
	created = CASE WHEN excluded.created = '' THEN vaults.created ELSE excluded.created END,
	inventory_date = CASE WHEN excluded.inventory_date = '' THEN vaults.inventory_date ELSE excluded.inventory_date END,
	remote_archives = CASE WHEN excluded.inventory_date = '' THEN vaults.remote_archives ELSE excluded.remote_archives END,
	remote_size = CASE WHEN excluded.inventory_date = '' THEN vaults.remote_size ELSE excluded.remote_size END
RETURNING id`,
		v.Name, v.ARN, formatTime(v.Created), formatTime(v.InventoryDate), v.RemoteArchives, v.RemoteSize, v.Location).Scan(&id)
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

// SetAutoInventory records the Glacier inventory date for which an
// inventory was requested automatically.
func (tx *Tx) SetAutoInventory(ctx context.Context, vaultID int64, date time.Time) error {
	if _, err := tx.tx.ExecContext(ctx, "UPDATE vaults SET auto_inventory = ? WHERE id = ?", formatTime(date), vaultID); err != nil {
		return fmt.Errorf("catalog: vault #%d: %w", vaultID, err)
	}
	return nil
}

// VaultSummary is a vault with what the catalog holds in it.
type VaultSummary struct {
	Vault
	Archives      int64 // archives in the catalog
	LocalArchives int64 // of which have a local copy
	RemoteBytes   int64 // bytes of the catalog's archives that are in Glacier
	LocalBytes    int64 // bytes of the local copies
}

// VaultSummaries lists every vault with its catalog figures, in one query.
func (db *DB) VaultSummaries(ctx context.Context) ([]VaultSummary, error) {
	rows, err := db.sql.QueryContext(ctx, `
SELECT `+prefixed("v.", vaultColumns)+`,
	count(a.id),
	COALESCE(sum(a.local_path != ''), 0),
	COALESCE(sum(CASE WHEN a.remote_id IS NOT NULL THEN a.size ELSE 0 END), 0),
	COALESCE(sum(CASE WHEN a.local_path != '' THEN a.local_size ELSE 0 END), 0)
FROM vaults v LEFT JOIN archives a ON a.vault_id = v.id
GROUP BY v.id ORDER BY v.name`)
	if err != nil {
		return nil, fmt.Errorf("catalog: vaults: %w", err)
	}
	defer rows.Close()
	var out []VaultSummary
	for rows.Next() {
		var s VaultSummary
		var created, inv, auto string
		if err := rows.Scan(&s.ID, &s.Name, &s.ARN, &created, &inv, &s.RemoteArchives, &s.RemoteSize, &s.Location, &auto,
			&s.Archives, &s.LocalArchives, &s.RemoteBytes, &s.LocalBytes); err != nil {
			return nil, fmt.Errorf("catalog: vaults: %w", err)
		}
		s.Created, s.InventoryDate, s.AutoInventory = parseTime(created), parseTime(inv), parseTime(auto)
		out = append(out, s)
	}
	return out, rows.Err()
}
