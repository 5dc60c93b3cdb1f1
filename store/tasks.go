package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Task states as stored. A queued or running task whose engine is dead is
// shown as interrupted by the reader; its engine, or whoever finds it
// dead, may also store that state.
const (
	TaskQueued      = "queued"
	TaskRunning     = "running"
	TaskDone        = "done"
	TaskFailed      = "failed"
	TaskCancelled   = "cancelled"
	TaskInterrupted = "interrupted"
)

// TaskFinished reports whether a stored state is final.
func TaskFinished(state string) bool {
	switch state {
	case TaskDone, TaskFailed, TaskCancelled, TaskInterrupted:
		return true
	}
	return false
}

// Task is one long action (build, upload, download, inventory, extract) as
// every process sees it.
type Task struct {
	ID         int64
	Kind       string
	Vault      string
	Archive    string
	Phase      string
	State      string
	BytesDone  int64
	BytesTotal int64
	Rate       float64 // bytes per second, as last measured by the owner
	Created    time.Time
	Started    time.Time
	Updated    time.Time
	Finished   time.Time
	EngineID   string
	OwnerHost  string
	OwnerPID   int
	Command    string // what the owner process is ("mount ~/freezer", "archive create")
	Result     string
	Error      string
	ErrorKind  string
	Resume     string // the control line that resumes or repeats it
	Request    string // the control line that started it
	Cancel     bool   // someone asked the owner to stop it

	// Engine is the owner's row while it is registered; nil once the
	// owner has stopped (or was found dead).
	Engine *Engine
}

const taskColumns = `t.id, t.kind, t.vault, t.archive, t.phase, t.state, t.bytes_done, t.bytes_total, t.rate,
	t.created, t.started, t.updated, t.finished, t.engine_id, t.owner_host, t.owner_pid, t.command, t.result,
	t.error, t.error_kind, t.resume, t.request, t.cancel,
	e.id, e.host, e.boot_id, e.pid, e.pid_start, e.command, e.started, e.expires`

const taskFrom = " FROM tasks t LEFT JOIN engines e ON e.id = t.engine_id "

func scanTask(s interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var created, started, updated, finished string
	var eid, ehost, eboot, ecmd, estarted, eexpires sql.NullString
	var epid, epstart sql.NullInt64
	err := s.Scan(&t.ID, &t.Kind, &t.Vault, &t.Archive, &t.Phase, &t.State, &t.BytesDone, &t.BytesTotal, &t.Rate,
		&created, &started, &updated, &finished, &t.EngineID, &t.OwnerHost, &t.OwnerPID, &t.Command, &t.Result,
		&t.Error, &t.ErrorKind, &t.Resume, &t.Request, &t.Cancel,
		&eid, &ehost, &eboot, &epid, &epstart, &ecmd, &estarted, &eexpires)
	if err != nil {
		return Task{}, err
	}
	t.Created, t.Started, t.Updated, t.Finished = parseTime(created), parseTime(started), parseTime(updated), parseTime(finished)
	if eid.Valid {
		t.Engine = &Engine{ID: eid.String, Host: ehost.String, BootID: eboot.String, PID: int(epid.Int64),
			PIDStart: epstart.Int64, Command: ecmd.String, Started: parseTime(estarted.String), Expires: parseTime(eexpires.String)}
	}
	return t, nil
}

func queryTasks(ctx context.Context, q querier, where string, args ...any) ([]Task, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+taskColumns+taskFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: tasks: %w", err)
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Tasks lists every unfinished task and the newest finished ones (at most
// recent of them), oldest first.
func (db *DB) Tasks(ctx context.Context, recent int) ([]Task, error) {
	return queryTasks(ctx, db.sql, `
WHERE t.state IN ('queued', 'running') OR t.id IN (
	SELECT id FROM tasks WHERE state NOT IN ('queued', 'running') ORDER BY id DESC LIMIT ?)
ORDER BY t.id`, recent)
}

// Task returns one task.
func (db *DB) Task(ctx context.Context, id int64) (Task, error) {
	ts, err := queryTasks(ctx, db.sql, "WHERE t.id = ?", id)
	if err != nil {
		return Task{}, err
	}
	if len(ts) == 0 {
		return Task{}, fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	return ts[0], nil
}

// ArchiveTasks lists the tasks of a kind on one archive, oldest first.
func (db *DB) ArchiveTasks(ctx context.Context, vault, archive, kind string) ([]Task, error) {
	return queryTasks(ctx, db.sql, "WHERE t.vault = ? AND t.archive = ? AND t.kind = ? ORDER BY t.id", vault, archive, kind)
}

// Task returns one task, inside the transaction.
func (tx *Tx) Task(ctx context.Context, id int64) (Task, error) {
	ts, err := queryTasks(ctx, tx.tx, "WHERE t.id = ?", id)
	if err != nil {
		return Task{}, err
	}
	if len(ts) == 0 {
		return Task{}, fmt.Errorf("task %d: %w", id, ErrNotFound)
	}
	return ts[0], nil
}

// UnfinishedTasks lists the queued and running tasks of every engine.
func (tx *Tx) UnfinishedTasks(ctx context.Context) ([]Task, error) {
	return queryTasks(ctx, tx.tx, "WHERE t.state IN ('queued', 'running') ORDER BY t.id")
}

// InsertTask records a new task and returns its id.
func (tx *Tx) InsertTask(ctx context.Context, t Task) (int64, error) {
	var id int64
	err := tx.tx.QueryRowContext(ctx, `
INSERT INTO tasks(kind, vault, archive, phase, state, bytes_total, created, updated, engine_id, owner_host,
	owner_pid, command, resume, request)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Kind, t.Vault, t.Archive, t.Phase, t.State, t.BytesTotal, formatTime(tx.now), formatTime(tx.now),
		t.EngineID, t.OwnerHost, t.OwnerPID, t.Command, t.Resume, t.Request).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("catalog: new task: %w", err)
	}
	return id, nil
}

// Progress is a running task's figures, written about once a second.
type Progress struct {
	ID         int64
	Phase      string
	BytesDone  int64
	BytesTotal int64
	Rate       float64
	Resume     string
}

// StartTask marks a task running.
func (tx *Tx) StartTask(ctx context.Context, id int64, phase string) error {
	_, err := tx.tx.ExecContext(ctx, "UPDATE tasks SET state = 'running', phase = ?, started = ?, updated = ? WHERE id = ?",
		phase, formatTime(tx.now), formatTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("catalog: task %d: %w", id, err)
	}
	return nil
}

// SetProgress writes running tasks' figures and returns the ids of those
// someone asked to cancel.
func (tx *Tx) SetProgress(ctx context.Context, ps []Progress) (cancel []int64, err error) {
	for _, p := range ps {
		var c bool
		err := tx.tx.QueryRowContext(ctx, `
UPDATE tasks SET phase = ?, bytes_done = ?, bytes_total = ?, rate = ?, resume = ?, updated = ? WHERE id = ? RETURNING cancel`,
			p.Phase, p.BytesDone, p.BytesTotal, p.Rate, p.Resume, formatTime(tx.now), p.ID).Scan(&c)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: task %d: %w", p.ID, err)
		}
		if c {
			cancel = append(cancel, p.ID)
		}
	}
	return cancel, nil
}

// FinishTask stores a task's end: its final state, figures, result or
// error, and what resumes it.
func (tx *Tx) FinishTask(ctx context.Context, t Task) error {
	_, err := tx.tx.ExecContext(ctx, `
UPDATE tasks SET state = ?, phase = ?, bytes_done = ?, bytes_total = ?, rate = ?, updated = ?, finished = ?,
	result = ?, error = ?, error_kind = ?, resume = ?
WHERE id = ?`,
		t.State, t.Phase, t.BytesDone, t.BytesTotal, t.Rate, formatTime(tx.now), formatTime(tx.now),
		t.Result, t.Error, t.ErrorKind, t.Resume, t.ID)
	if err != nil {
		return fmt.Errorf("catalog: task %d: %w", t.ID, err)
	}
	return nil
}

// RequestCancel asks a task's owner to stop it; the owner sees the request
// at its next progress write. It reports false when the task has ended.
func (tx *Tx) RequestCancel(ctx context.Context, id int64) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, "UPDATE tasks SET cancel = 1 WHERE id = ? AND state IN ('queued', 'running')", id)
	if err != nil {
		return false, fmt.Errorf("catalog: task %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// MarkInterrupted stores "interrupted" for unfinished tasks whose owner
// is gone, with the error people read.
func (tx *Tx) MarkInterrupted(ctx context.Context, ids []int64, message string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, len(ids)+3)
	args = append(args, message, formatTime(tx.now), formatTime(tx.now))
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := tx.tx.ExecContext(ctx, `
UPDATE tasks SET state = 'interrupted', error = ?, error_kind = 'interrupted', updated = ?, finished = ?
WHERE state IN ('queued', 'running') AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return fmt.Errorf("catalog: tasks: %w", err)
	}
	return nil
}

// ErrorEntry is one refusal or failure in the error log.
type ErrorEntry struct {
	ID      int64
	At      time.Time
	Source  string // "cli", "mount", "daemon", "ctl"
	Command string // the request as written
	Kind    string
	Message string
}

// LogError appends to the error log (which keeps the newest 1,000).
func (tx *Tx) LogError(ctx context.Context, e ErrorEntry) error {
	at := e.At
	if at.IsZero() {
		at = tx.now
	}
	_, err := tx.tx.ExecContext(ctx, "INSERT INTO errlog(at, source, command, kind, message) VALUES(?, ?, ?, ?, ?)",
		formatTime(at), e.Source, e.Command, e.Kind, e.Message)
	if err != nil {
		return fmt.Errorf("catalog: error log: %w", err)
	}
	return nil
}

// Errors lists the newest limit entries of the error log, oldest first.
func (db *DB) Errors(ctx context.Context, limit int) ([]ErrorEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `
SELECT id, at, source, command, kind, message FROM (
	SELECT * FROM errlog ORDER BY id DESC LIMIT ?) ORDER BY id`, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: error log: %w", err)
	}
	defer rows.Close()
	var out []ErrorEntry
	for rows.Next() {
		var e ErrorEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Source, &e.Command, &e.Kind, &e.Message); err != nil {
			return nil, fmt.Errorf("catalog: error log: %w", err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
