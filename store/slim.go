package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A slim catalog is what the manual's daemon runs on, on a server of its
// own: "an SQLite database containing only the encryption keys and archive
// information and no settings or files". It holds the keys, the vaults,
// the archives that are in Glacier and their jobs — no settings (the
// daemon takes its AWS settings from flags, the config file or the SDK),
// no file lists, no exclusions, no hash cache, no upload journals, no
// tasks, claims or logs. Local copies are forgotten (they are on the
// machine the catalog came from); the archives' sizes, tree hashes,
// SHA-256s, descriptions, compression, cipher and key still verify and
// decrypt a download. It has the full schema, so every freezer command
// opens it, and it is written with a rollback journal: one file, ready to
// copy.

// SlimResult counts what a slim catalog holds.
type SlimResult struct {
	Keys, Vaults, Archives, Jobs int64
	Size                         int64 // bytes of the file
}

// slimTables are copied in this order (foreign keys point backwards), each
// with the columns that differ from a plain copy.
var slimTables = []struct {
	name      string
	where     string
	overrides map[string]string
}{
	{name: "keys"},
	{name: "vaults"},
	{name: "archives", where: "remote_id IS NOT NULL",
		overrides: map[string]string{"local_path": "''", "installing": "''", "local_size": "0"}},
	{name: "jobs", overrides: map[string]string{
		"archive_id": "CASE WHEN archive_id IN (SELECT id FROM main.archives) THEN archive_id END"}},
}

// WriteSlim writes a slim catalog of db to out, atomically: out appears
// whole or not at all. An existing out is replaced only with overwrite.
func (db *DB) WriteSlim(ctx context.Context, out string, overwrite bool) (SlimResult, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return SlimResult{}, err
	}
	src, err := filepath.Abs(db.path)
	if err != nil {
		return SlimResult{}, err
	}
	if abs == src {
		return SlimResult{}, fmt.Errorf("slim catalog %s: that is the catalog itself; name another file", out)
	}
	if _, err := os.Stat(abs); err == nil && !overwrite {
		return SlimResult{}, fmt.Errorf("slim catalog %s already exists; choose another name or replace it on purpose", out)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	// Keys are secrets: the file is private from its first byte.
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".slim-*")
	if err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	tmp := f.Name()
	f.Close()
	installed := false
	defer func() {
		if !installed {
			for _, suffix := range []string{"", "-journal"} {
				os.Remove(tmp + suffix)
			}
		}
	}()
	if err := os.Chmod(tmp, 0o600); err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	res, err := db.writeSlim(ctx, tmp)
	if err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	if err := syncFile(tmp); err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	installed = true
	if err := syncFile(filepath.Dir(abs)); err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return SlimResult{}, fmt.Errorf("slim catalog %s: %w", out, err)
	}
	res.Size = st.Size()
	return res, nil
}

// writeSlim fills the empty database file tmp.
func (db *DB) writeSlim(ctx context.Context, tmp string) (SlimResult, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(DELETE)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	sdb, err := sql.Open("sqlite", "file:"+(&url.URL{Path: tmp}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return SlimResult{}, err
	}
	defer sdb.Close()
	// ATTACH belongs to one connection: keep every statement on it.
	sdb.SetMaxOpenConns(1)
	slim := &DB{sql: sdb, path: tmp, log: db.log, now: db.now}
	if err := slim.migrate(ctx, len(migrations)); err != nil {
		return SlimResult{}, err
	}
	if _, err := sdb.ExecContext(ctx, "ATTACH DATABASE ? AS src", db.path); err != nil {
		return SlimResult{}, fmt.Errorf("read %s: %w", db.path, err)
	}
	var v int
	if err := sdb.QueryRowContext(ctx, "PRAGMA src.user_version").Scan(&v); err != nil {
		return SlimResult{}, fmt.Errorf("read %s: %w", db.path, err)
	}
	if v != len(migrations) {
		return SlimResult{}, fmt.Errorf("catalog %s has schema version %d, this freezer writes %d", db.path, v, len(migrations))
	}
	// One transaction: every table is read from one snapshot of the
	// catalog, whatever other processes commit meanwhile.
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return SlimResult{}, err
	}
	defer tx.Rollback()
	var res SlimResult
	counts := map[string]*int64{"keys": &res.Keys, "vaults": &res.Vaults, "archives": &res.Archives, "jobs": &res.Jobs}
	for _, t := range slimTables {
		cols, err := tableColumns(ctx, tx, t.name)
		if err != nil {
			return SlimResult{}, err
		}
		exprs := make([]string, len(cols))
		for i, c := range cols {
			exprs[i] = c
			if o, ok := t.overrides[c]; ok {
				exprs[i] = o
			}
		}
		stmt := fmt.Sprintf("INSERT INTO main.%s(%s) SELECT %s FROM src.%s", t.name, strings.Join(cols, ", "), strings.Join(exprs, ", "), t.name)
		if t.where != "" {
			stmt += " WHERE " + t.where
		}
		r, err := tx.ExecContext(ctx, stmt)
		if err != nil {
			return SlimResult{}, fmt.Errorf("copy %s: %w", t.name, err)
		}
		*counts[t.name], _ = r.RowsAffected()
	}
	// The triggers logged every copied row as a change; a new catalog has
	// no history.
	for _, stmt := range []string{"DELETE FROM main.changes", "DELETE FROM main.sqlite_sequence WHERE name = 'changes'"} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return SlimResult{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return SlimResult{}, err
	}
	if _, err := sdb.ExecContext(ctx, "DETACH DATABASE src"); err != nil {
		return SlimResult{}, err
	}
	if _, err := sdb.ExecContext(ctx, "VACUUM"); err != nil {
		return SlimResult{}, err
	}
	return res, sdb.Close()
}

// tableColumns lists a table's columns in the new catalog, in order.
func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name FROM pragma_table_info(?, 'main')", table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s has no columns", table)
	}
	return cols, rows.Err()
}

// syncFile flushes a file or folder to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ReleaseIdle makes the catalog close a connection once it has been idle
// for d, so that a process that acts now and then — the daemon — has the
// database file open only while it acts: the manual's "open-and-close
// database connections for each activity". Transactions stay as short as
// ever; this only lets go of the file between them.
func (db *DB) ReleaseIdle(d time.Duration) {
	db.sql.SetConnMaxIdleTime(d)
}
