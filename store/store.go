// Package store is freezer's catalog: one SQLite database (modernc.org/sqlite,
// no cgo) holding settings, vaults, archives, the files inside them, jobs,
// keys, exclusions, multipart upload progress and the hash cache.
//
// Every write runs in a transaction (BEGIN IMMEDIATE, so writers queue on the
// busy timeout instead of failing on a lock upgrade). The database holds
// secrets (the AWS secret key, encryption keys): the file is created 0600 and
// a folder freezer creates for it is 0700.
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

	"github.com/rs/zerolog"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// DB is an open catalog.
type DB struct {
	sql      *sql.DB
	path     string
	log      zerolog.Logger
	now      func() time.Time
	readOnly bool
}

// Options tune Open. The zero value is usable.
type Options struct {
	Logger zerolog.Logger
	// BusyTimeout is how long a statement waits for another process's lock
	// (the daemon and a mount may share one database). Default 10 s.
	BusyTimeout time.Duration
	// Now is the clock used for created/updated stamps. Default time.Now.
	Now func() time.Time
	// ReadOnly opens an existing catalog for reading only: listings and
	// status readers never write, never migrate, never create the file.
	ReadOnly bool
}

// Open opens (creating if needed) the catalog at path and migrates it to
// the current schema version.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		q.Add("mode", "ro")
	} else {
		if err := prepareFile(path); err != nil {
			return nil, err
		}
		// WAL needs memory shared by every process using the catalog: not
		// on a network filesystem or through FUSE. There, a rollback
		// journal (slower, and safe only as far as the filesystem's locks
		// are) — and a process on another machine should keep a catalog of
		// its own (a slim one, for a daemon).
		journal := "WAL"
		if kind, network, err := Filesystem(path); err == nil && network {
			journal = "DELETE"
			o.Logger.Warn().Str("catalog", path).Str("filesystem", kind).
				Msg("the catalog is on a network filesystem: using a rollback journal instead of WAL; do not share it with processes on other machines")
		}
		q.Add("_pragma", "journal_mode("+journal+")")
		// FULL: a committed transaction survives power loss, not only a
		// crash of freezer. Our write volume is small; the catalog is the
		// map to backups.
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_txlock", "immediate")
	}
	q.Add("_pragma", "foreign_keys(1)")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	db := &DB{sql: sdb, path: path, log: o.Logger, now: o.Now, readOnly: o.ReadOnly}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if o.ReadOnly {
		var v int
		if err := sdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		if v != len(migrations) {
			sdb.Close()
			return nil, fmt.Errorf("database %s has schema version %d, this freezer reads %d: open it once with a command that writes, or use the matching freezer", path, v, len(migrations))
		}
		return db, nil
	}
	if err := db.migrate(ctx, len(migrations)); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	// SQLite creates -wal and -shm beside the database; keep them private too.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			sdb.Close()
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	return db, nil
}

// prepareFile makes sure the database file exists with mode 0600 (and its
// folder, when freezer creates it, with 0700) before SQLite opens it, so the
// secrets inside are never readable by others, not even for a moment.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("database folder %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("database %s holds secrets and is readable by others; chmod 600 it: %w", path, err)
		}
	}
	return nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Tx is a write transaction. Its methods mirror DB's write methods so that
// several changes can be committed together.
type Tx struct {
	tx  *sql.Tx
	now time.Time
}

// Update runs fn in one write transaction: all of fn's changes commit
// together or none does.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	if db.readOnly {
		return fmt.Errorf("catalog %s is open for reading only", db.path)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", db.path, dress(err))
	}
	if err := fn(&Tx{tx: tx, now: db.now().UTC()}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog %s: %w", db.path, dress(err))
	}
	return nil
}

// ErrBusy marks a catalog another process kept locked longer than the
// busy timeout.
var ErrBusy = errors.New("the catalog is locked by another freezer process")

// ErrConflict marks a write refused by a uniqueness rule (a name taken
// meanwhile by another process).
var ErrConflict = errors.New("already exists")

// dress turns SQLite's codes into errors a person can act on; the
// original stays in the chain for the log.
func dress(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked"):
		return fmt.Errorf("%w; try again when it is done (%v)", ErrBusy, err)
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return ErrConflict
	case strings.Contains(msg, "SQLITE_READONLY") || strings.Contains(msg, "readonly database"):
		return fmt.Errorf("the catalog file is read-only for this user: %w", err)
	case strings.Contains(msg, "SQLITE_FULL") || strings.Contains(msg, "database or disk is full"):
		return fmt.Errorf("the disk holding the catalog is full: %w", err)
	}
	return err
}

// querier is what read helpers need: *sql.DB and *sql.Tx both have it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
