package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Engine is one process's engine as the catalog knows it: who it is (host,
// boot, pid and the pid's start time, so that a reused pid is not mistaken
// for it) and until when its lease runs. An engine renews its lease while
// it lives and removes its row when it stops; its claims go with the row.
type Engine struct {
	ID       string
	Host     string
	BootID   string
	PID      int
	PIDStart int64 // the process's start time in clock ticks since boot (Linux /proc), 0 if unknown
	Command  string
	Started  time.Time
	Expires  time.Time
}

const engineColumns = "id, host, boot_id, pid, pid_start, command, started, expires"

func scanEngine(s interface{ Scan(...any) error }) (Engine, error) {
	var e Engine
	var started, expires string
	err := s.Scan(&e.ID, &e.Host, &e.BootID, &e.PID, &e.PIDStart, &e.Command, &started, &expires)
	e.Started, e.Expires = parseTime(started), parseTime(expires)
	return e, err
}

// PutEngine registers an engine, or renews its row.
func (tx *Tx) PutEngine(ctx context.Context, e Engine) error {
	_, err := tx.tx.ExecContext(ctx, `
INSERT INTO engines(`+engineColumns+`) VALUES(?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET expires = excluded.expires, command = excluded.command`,
		e.ID, e.Host, e.BootID, e.PID, e.PIDStart, e.Command, formatTime(e.Started), formatTime(e.Expires))
	if err != nil {
		return fmt.Errorf("catalog: register process %d: %w", e.PID, err)
	}
	return nil
}

// RenewEngine extends an engine's lease. It reports false when the row is
// gone: another process found this engine dead and took its claims over.
func (tx *Tx) RenewEngine(ctx context.Context, id string, expires time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, "UPDATE engines SET expires = ? WHERE id = ?", formatTime(expires), id)
	if err != nil {
		return false, fmt.Errorf("catalog: renew lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveEngine deletes an engine and, with it, every claim it held.
func (tx *Tx) RemoveEngine(ctx context.Context, id string) error {
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM engines WHERE id = ?", id); err != nil {
		return fmt.Errorf("catalog: unregister: %w", err)
	}
	return nil
}

// Engines lists the registered engines.
func (db *DB) Engines(ctx context.Context) ([]Engine, error) {
	return queryEngines(ctx, db.sql)
}

// Engines lists the registered engines, inside the transaction.
func (tx *Tx) Engines(ctx context.Context) ([]Engine, error) {
	return queryEngines(ctx, tx.tx)
}

func queryEngines(ctx context.Context, q querier) ([]Engine, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+engineColumns+" FROM engines ORDER BY started, id")
	if err != nil {
		return nil, fmt.Errorf("catalog: processes: %w", err)
	}
	defer rows.Close()
	var out []Engine
	for rows.Next() {
		e, err := scanEngine(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: processes: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Claim is an engine's hold on a resource ("archive:VAULT/NAME",
// "vault:NAME"): no other engine acts on it until it is released or its
// engine is found dead.
type Claim struct {
	Resource string
	Doing    string // what is being done, as a past participle: "uploaded", "downloaded"
	TaskID   int64
	Engine   Engine
	Created  time.Time
}

// Claim returns the claim on resource and its engine; ok is false when
// nothing holds it.
func (tx *Tx) Claim(ctx context.Context, resource string) (c Claim, ok bool, err error) {
	cs, err := queryClaims(ctx, tx.tx, "WHERE c.resource = ?", resource)
	if err != nil || len(cs) == 0 {
		return Claim{}, false, err
	}
	return cs[0], true, nil
}

// PutClaim records engineID's claim on a resource, replacing any claim
// there was (the caller has checked that its holder is dead).
func (tx *Tx) PutClaim(ctx context.Context, resource, engineID, doing string, taskID int64) error {
	var task sql.NullInt64
	if taskID != 0 {
		task = sql.NullInt64{Int64: taskID, Valid: true}
	}
	_, err := tx.tx.ExecContext(ctx, `
INSERT INTO claims(resource, engine_id, task_id, doing, created) VALUES(?, ?, ?, ?, ?)
ON CONFLICT(resource) DO UPDATE SET engine_id = excluded.engine_id, task_id = excluded.task_id,
	doing = excluded.doing, created = excluded.created`,
		resource, engineID, task, doing, formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("catalog: claim %s: %w", resource, err)
	}
	return nil
}

// SetClaimTask ties a claim to the task that acts under it.
func (tx *Tx) SetClaimTask(ctx context.Context, resource, engineID string, taskID int64) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE claims SET task_id = ? WHERE resource = ? AND engine_id = ?", taskID, resource, engineID)
	if err != nil {
		return fmt.Errorf("catalog: claim %s: %w", resource, err)
	}
	return nil
}

// ReleaseClaim drops engineID's claim on resource (a claim another engine
// has taken over meanwhile is left alone).
func (tx *Tx) ReleaseClaim(ctx context.Context, resource, engineID string) error {
	if _, err := tx.tx.ExecContext(ctx, "DELETE FROM claims WHERE resource = ? AND engine_id = ?", resource, engineID); err != nil {
		return fmt.Errorf("catalog: release %s: %w", resource, err)
	}
	return nil
}

// Claims lists every claim with its engine.
func (db *DB) Claims(ctx context.Context) ([]Claim, error) {
	return queryClaims(ctx, db.sql, "")
}

func queryClaims(ctx context.Context, q querier, where string, args ...any) ([]Claim, error) {
	rows, err := q.QueryContext(ctx, `
SELECT c.resource, c.doing, c.task_id, c.created, `+prefixed("e.", engineColumns)+`
FROM claims c JOIN engines e ON e.id = c.engine_id `+where+` ORDER BY c.resource`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		var c Claim
		var created string
		var task sql.NullInt64
		var dest = []any{&c.Resource, &c.Doing, &task, &created}
		e, err := scanEngine(scanFunc(func(engineDest ...any) error { return rows.Scan(append(dest, engineDest...)...) }))
		if err != nil {
			return nil, fmt.Errorf("catalog: claims: %w", err)
		}
		c.Engine, c.TaskID, c.Created = e, task.Int64, parseTime(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// scanFunc adapts a function to the Scan interface, so that a row holding
// several records can be scanned by each record's scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	out := make([]byte, 0, len(columns)*2)
	out = append(out, alias...)
	for i := 0; i < len(columns); i++ {
		out = append(out, columns[i])
		if columns[i] == ',' {
			for i+1 < len(columns) && columns[i+1] == ' ' {
				i++
				out = append(out, ' ')
			}
			out = append(out, alias...)
		}
	}
	return string(out)
}

// ClaimsUnder lists the claims whose resource starts with prefix (the
// archives of a vault), inside the transaction.
func (tx *Tx) ClaimsUnder(ctx context.Context, prefix string) ([]Claim, error) {
	return queryClaims(ctx, tx.tx, "WHERE substr(c.resource, 1, length(?)) = ?", prefix, prefix)
}
