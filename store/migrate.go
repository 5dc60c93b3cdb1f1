package store

import (
	"context"
	"fmt"
)

// migrations are applied in order, each in its own transaction, and never
// edited once released: a change to the schema is a new entry at the end.
// PRAGMA user_version records how many have been applied.
var migrations = []string{
	// 1: settings, keys, vaults, archives and the files inside them.
	`
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE keys (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL DEFAULT '',
	algorithm TEXT NOT NULL,
	material  BLOB NOT NULL,
	created   TEXT NOT NULL
) STRICT;

CREATE TABLE vaults (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	arn             TEXT NOT NULL DEFAULT '',
	created         TEXT NOT NULL DEFAULT '',
	inventory_date  TEXT NOT NULL DEFAULT '',
	remote_archives INTEGER NOT NULL DEFAULT 0,
	remote_size     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE archives (
	id          INTEGER PRIMARY KEY,
	vault_id    INTEGER NOT NULL REFERENCES vaults(id),
	name        TEXT NOT NULL,
	remote_id   TEXT UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	tree_hash   TEXT NOT NULL DEFAULT '',
	sha256      TEXT NOT NULL DEFAULT '',
	local_size  INTEGER NOT NULL DEFAULT 0,
	compression TEXT NOT NULL DEFAULT 'none',
	cipher      TEXT NOT NULL DEFAULT 'none',
	key_id      TEXT REFERENCES keys(id),
	created     TEXT NOT NULL,
	local_path  TEXT NOT NULL DEFAULT '',
	file_count  INTEGER NOT NULL DEFAULT 0,
	UNIQUE (vault_id, name)
) STRICT;

CREATE TABLE files (
	id     INTEGER PRIMARY KEY,
	name   TEXT NOT NULL,
	size   INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	UNIQUE (name, size, sha256)
) STRICT;

CREATE TABLE archive_files (
	archive_id INTEGER NOT NULL REFERENCES archives(id) ON DELETE CASCADE,
	file_id    INTEGER NOT NULL REFERENCES files(id),
	path       TEXT NOT NULL,
	PRIMARY KEY (archive_id, path)
) STRICT;
CREATE INDEX archive_files_file ON archive_files(file_id);
`,
	// 2: Glacier jobs, with the manual's "executed" date (set when the
	// output was downloaded and installed).
	`
CREATE TABLE jobs (
	id                TEXT PRIMARY KEY,
	vault_id          INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
	action            TEXT NOT NULL,
	archive_id        INTEGER REFERENCES archives(id) ON DELETE SET NULL,
	remote_archive_id TEXT NOT NULL DEFAULT '',
	tier              TEXT NOT NULL DEFAULT '',
	byte_range        TEXT NOT NULL DEFAULT '',
	format            TEXT NOT NULL DEFAULT '',
	status            TEXT NOT NULL,
	status_message    TEXT NOT NULL DEFAULT '',
	tree_hash         TEXT NOT NULL DEFAULT '',
	size              INTEGER NOT NULL DEFAULT 0,
	created           TEXT NOT NULL,
	completed         TEXT NOT NULL DEFAULT '',
	expires           TEXT NOT NULL DEFAULT '',
	executed          TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX jobs_archive ON jobs(archive_id);
`,
	// 3: exclusion expressions (settings) and manual exclusions.
	`
CREATE TABLE exclusions (
	kind       TEXT NOT NULL CHECK (kind IN ('exclude', 'backup')),
	expression TEXT NOT NULL,
	created    TEXT NOT NULL,
	PRIMARY KEY (kind, expression)
) STRICT;

CREATE TABLE manual_exclusions (
	path    TEXT PRIMARY KEY,
	created TEXT NOT NULL
) STRICT;
`,
	// 4: multipart upload progress: what a resumed upload needs to continue
	// the same upload id and reproduce the same ciphertext byte for byte.
	`
CREATE TABLE uploads (
	archive_id    INTEGER PRIMARY KEY REFERENCES archives(id) ON DELETE CASCADE,
	upload_id     TEXT NOT NULL,
	part_size     INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	source_sha256 TEXT NOT NULL,
	cipher        TEXT NOT NULL DEFAULT 'none',
	key_id        TEXT REFERENCES keys(id),
	iv            BLOB,
	header        BLOB,
	description   TEXT NOT NULL DEFAULT '',
	created       TEXT NOT NULL
) STRICT;

CREATE TABLE upload_parts (
	archive_id INTEGER NOT NULL REFERENCES uploads(archive_id) ON DELETE CASCADE,
	part       INTEGER NOT NULL,
	tree_hash  TEXT NOT NULL,
	PRIMARY KEY (archive_id, part)
) STRICT;
`,
	// 5: the hash cache: a file whose (path, size, mtime, inode) has not
	// changed since it was last hashed is known without reading it again.
	`
CREATE TABLE hash_cache (
	path     TEXT PRIMARY KEY,
	size     INTEGER NOT NULL,
	mtime_ns INTEGER NOT NULL,
	inode    INTEGER NOT NULL,
	sha256   TEXT NOT NULL,
	hashed   TEXT NOT NULL
) STRICT;
`,
	// 6: parts sent but not yet confirmed, so that a resumed upload can
	// tell the parts that were in flight when the last run stopped (Glacier
	// may still accept them) from parts never sent.
	`
ALTER TABLE upload_parts ADD COLUMN done INTEGER NOT NULL DEFAULT 1;
`,
	// 7: several processes on one catalog. Engines (one per process that
	// takes claims or runs tasks) hold a lease they renew; claims on
	// archives and vaults belong to an engine; tasks outlive their engine
	// as history. An error log, bounded. A change log filled by triggers,
	// so that every process sees what any other committed. Archives being
	// installed, the Glacier account a vault lives in, the inventory date
	// an automatic inventory was asked for, and jobs Glacier lists that no
	// one here requested.
	`
CREATE TABLE engines (
	id        TEXT PRIMARY KEY,
	host      TEXT NOT NULL,
	boot_id   TEXT NOT NULL DEFAULT '',
	pid       INTEGER NOT NULL,
	pid_start INTEGER NOT NULL DEFAULT 0,
	command   TEXT NOT NULL DEFAULT '',
	started   TEXT NOT NULL,
	expires   TEXT NOT NULL
) STRICT;

CREATE TABLE tasks (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL,
	vault       TEXT NOT NULL DEFAULT '',
	archive     TEXT NOT NULL DEFAULT '',
	phase       TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL,
	bytes_done  INTEGER NOT NULL DEFAULT 0,
	bytes_total INTEGER NOT NULL DEFAULT 0,
	rate        REAL NOT NULL DEFAULT 0,
	created     TEXT NOT NULL,
	started     TEXT NOT NULL DEFAULT '',
	updated     TEXT NOT NULL,
	finished    TEXT NOT NULL DEFAULT '',
	engine_id   TEXT NOT NULL,
	owner_host  TEXT NOT NULL,
	owner_pid   INTEGER NOT NULL,
	command     TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	error_kind  TEXT NOT NULL DEFAULT '',
	resume      TEXT NOT NULL DEFAULT '',
	request     TEXT NOT NULL DEFAULT '',
	cancel      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX tasks_state ON tasks(state, id);

CREATE TABLE claims (
	resource  TEXT PRIMARY KEY,
	engine_id TEXT NOT NULL REFERENCES engines(id) ON DELETE CASCADE,
	task_id   INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
	doing     TEXT NOT NULL,
	created   TEXT NOT NULL
) STRICT;
CREATE INDEX claims_engine ON claims(engine_id);

CREATE TABLE errlog (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      TEXT NOT NULL,
	source  TEXT NOT NULL DEFAULT '',
	command TEXT NOT NULL DEFAULT '',
	kind    TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL
) STRICT;
CREATE TRIGGER errlog_bound AFTER INSERT ON errlog BEGIN
	DELETE FROM errlog WHERE id <= NEW.id - 1000;
END;

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE changes (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	kind    TEXT NOT NULL,
	vault   TEXT NOT NULL DEFAULT '',
	archive TEXT NOT NULL DEFAULT '',
	task    INTEGER NOT NULL DEFAULT 0,
	job     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TRIGGER changes_bound AFTER INSERT ON changes WHEN NEW.seq % 256 = 0 BEGIN
	DELETE FROM changes WHERE seq <= NEW.seq - 20000;
END;

CREATE TRIGGER vaults_ins AFTER INSERT ON vaults BEGIN
	INSERT INTO changes(kind, vault) VALUES('vault', NEW.name);
END;
CREATE TRIGGER vaults_upd AFTER UPDATE ON vaults BEGIN
	INSERT INTO changes(kind, vault) VALUES('vault', NEW.name);
END;
CREATE TRIGGER vaults_del AFTER DELETE ON vaults BEGIN
	INSERT INTO changes(kind, vault) VALUES('vault', OLD.name);
END;

CREATE TRIGGER archives_ins AFTER INSERT ON archives BEGIN
	INSERT INTO changes(kind, vault, archive) VALUES('archive', (SELECT name FROM vaults WHERE id = NEW.vault_id), NEW.name);
END;
CREATE TRIGGER archives_upd AFTER UPDATE ON archives BEGIN
	INSERT INTO changes(kind, vault, archive) VALUES('archive', (SELECT name FROM vaults WHERE id = NEW.vault_id), NEW.name);
END;
CREATE TRIGGER archives_del AFTER DELETE ON archives BEGIN
	INSERT INTO changes(kind, vault, archive) VALUES('archive', (SELECT name FROM vaults WHERE id = OLD.vault_id), OLD.name);
END;

CREATE TRIGGER jobs_ins AFTER INSERT ON jobs BEGIN
	INSERT INTO changes(kind, vault, archive, job) VALUES('job', (SELECT name FROM vaults WHERE id = NEW.vault_id),
		COALESCE((SELECT name FROM archives WHERE id = NEW.archive_id), ''), NEW.id);
END;
CREATE TRIGGER jobs_upd AFTER UPDATE ON jobs BEGIN
	INSERT INTO changes(kind, vault, archive, job) VALUES('job', (SELECT name FROM vaults WHERE id = NEW.vault_id),
		COALESCE((SELECT name FROM archives WHERE id = NEW.archive_id), ''), NEW.id);
END;
CREATE TRIGGER jobs_del AFTER DELETE ON jobs BEGIN
	INSERT INTO changes(kind, vault, job) VALUES('job', COALESCE((SELECT name FROM vaults WHERE id = OLD.vault_id), ''), OLD.id);
END;

CREATE TRIGGER tasks_ins AFTER INSERT ON tasks BEGIN
	INSERT INTO changes(kind, vault, archive, task) VALUES('task', NEW.vault, NEW.archive, NEW.id);
END;
CREATE TRIGGER tasks_upd AFTER UPDATE ON tasks BEGIN
	INSERT INTO changes(kind, vault, archive, task) VALUES('task', NEW.vault, NEW.archive, NEW.id);
END;

CREATE TRIGGER settings_ins AFTER INSERT ON settings BEGIN
	INSERT INTO changes(kind) VALUES('settings');
END;
CREATE TRIGGER settings_upd AFTER UPDATE ON settings BEGIN
	INSERT INTO changes(kind) VALUES('settings');
END;
CREATE TRIGGER settings_del AFTER DELETE ON settings BEGIN
	INSERT INTO changes(kind) VALUES('settings');
END;
CREATE TRIGGER keys_ins AFTER INSERT ON keys BEGIN
	INSERT INTO changes(kind) VALUES('keys');
END;
CREATE TRIGGER keys_upd AFTER UPDATE ON keys BEGIN
	INSERT INTO changes(kind) VALUES('keys');
END;
CREATE TRIGGER errlog_ins AFTER INSERT ON errlog BEGIN
	INSERT INTO changes(kind) VALUES('error');
END;
CREATE TRIGGER exclusions_ins AFTER INSERT ON exclusions BEGIN
	INSERT INTO changes(kind) VALUES('settings');
END;
CREATE TRIGGER exclusions_del AFTER DELETE ON exclusions BEGIN
	INSERT INTO changes(kind) VALUES('settings');
END;

ALTER TABLE archives ADD COLUMN installing TEXT NOT NULL DEFAULT '';
ALTER TABLE vaults ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE vaults ADD COLUMN auto_inventory TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN foreign_job INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_status ON jobs(status);
CREATE INDEX jobs_vault ON jobs(vault_id, created);
`,
	// 8: catalogs of millions of files. Archives in creation order, so
	// that listing every file with its newest copy walks the archives
	// newest first and each archive's files by path (its primary key)
	// without sorting a million rows.
	`
CREATE INDEX archives_created ON archives(created, id);
`,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the database to version target (≤ len(migrations)).
func (db *DB) migrate(ctx context.Context, target int) error {
	var current int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this freezer understands (%d); upgrade freezer", current, len(migrations))
	}
	for v := current; v < target; v++ {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		db.log.Debug().Int("version", v+1).Msg("catalog migrated")
	}
	return nil
}
