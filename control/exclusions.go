package control

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"freezer/filter"
	"freezer/store"
)

// Exclusions are the stored filter settings: exclusion expressions, extra
// backup/generated patterns, and the paths people deselected.
type Exclusions struct {
	Exclude []string // paths, or re:RE2 on the full path
	Backup  []string // RE2 on base names, added to the built-in backup patterns
	Manual  []string // paths deselected in earlier selections
}

// ExclusionSettings lists the stored filter settings.
func (v *View) ExclusionSettings(ctx context.Context) (Exclusions, error) {
	var x Exclusions
	var err error
	if x.Exclude, err = v.db.Exclusions(ctx, store.ExclusionExclude); err != nil {
		return x, err
	}
	if x.Backup, err = v.db.Exclusions(ctx, store.ExclusionBackup); err != nil {
		return x, err
	}
	x.Manual, err = v.db.ManualExclusions(ctx)
	return x, err
}

func exclusionKind(backup bool) string {
	if backup {
		return store.ExclusionBackup
	}
	return store.ExclusionExclude
}

// ExcludeAddRequest stores an exclusion expression, or with Backup a
// backup pattern, after checking it compiles (verb exclude add).
type ExcludeAddRequest struct {
	Expr   string
	Backup bool
}

// Verb is "exclude add".
func (r *ExcludeAddRequest) Verb() string { return "exclude add" }

// Line writes the request as a control line.
func (r *ExcludeAddRequest) Line() string {
	return line([]string{"exclude", "add", r.Expr}, backupArg(r.Backup)...)
}

func backupArg(b bool) []string {
	if b {
		return []string{"backup", "yes"}
	}
	return nil
}

func (r *ExcludeAddRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if r.Expr == "" {
		return nil, refuse(ErrInvalid, "empty expression")
	}
	cfg := filter.Config{Exclusions: []string{r.Expr}}
	if r.Backup {
		cfg = filter.Config{BackupPatterns: []string{r.Expr}}
	}
	if _, err := filter.NewPlanner(cfg); err != nil {
		return nil, mark(ErrInvalid, err)
	}
	kind := exclusionKind(r.Backup)
	return &action{now: func(ctx context.Context) (Reply, error) {
		if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddExclusion(ctx, kind, r.Expr) }); err != nil {
			return Reply{}, err
		}
		e.changed()
		return Reply{Message: fmt.Sprintf("%s expression %s added", kind, Quote(r.Expr))}, nil
	}}, nil
}

// ExcludeRemoveRequest deletes a stored expression or pattern (verb
// exclude remove).
type ExcludeRemoveRequest struct {
	Expr   string
	Backup bool
}

// Verb is "exclude remove".
func (r *ExcludeRemoveRequest) Verb() string { return "exclude remove" }

// Line writes the request as a control line.
func (r *ExcludeRemoveRequest) Line() string {
	return line([]string{"exclude", "remove", r.Expr}, backupArg(r.Backup)...)
}

func (r *ExcludeRemoveRequest) check(ctx context.Context, e *Engine) (*action, error) {
	kind := exclusionKind(r.Backup)
	stored, err := e.o.DB.Exclusions(ctx, kind)
	if err != nil {
		return nil, err
	}
	found := false
	for _, x := range stored {
		found = found || x == r.Expr
	}
	if !found {
		return nil, refuse(ErrNotFound, "%s expression %s is not stored", kind, Quote(r.Expr))
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.RemoveExclusion(ctx, kind, r.Expr)
			return err
		})
		if err != nil {
			return Reply{}, err
		}
		e.changed()
		return Reply{Message: fmt.Sprintf("%s expression %s removed", kind, Quote(r.Expr))}, nil
	}}, nil
}

// ExcludeForgetRequest lets a path deselected earlier be selected again
// (verb exclude forget).
type ExcludeForgetRequest struct{ Path string }

// Verb is "exclude forget".
func (r *ExcludeForgetRequest) Verb() string { return "exclude forget" }

// Line writes the request as a control line.
func (r *ExcludeForgetRequest) Line() string { return line([]string{"exclude", "forget", r.Path}) }

func (r *ExcludeForgetRequest) check(ctx context.Context, e *Engine) (*action, error) {
	path := absPath(r.Path)
	manual, err := e.o.DB.ManualExclusions(ctx)
	if err != nil {
		return nil, err
	}
	// A folder forgets what lies beneath it too: a person who selects a
	// folder again means all of it.
	var forget []string
	for _, p := range manual {
		if underPath(p, path) {
			forget = append(forget, p)
		}
	}
	if len(forget) == 0 {
		return nil, refuse(ErrNotFound, "%s is not manually excluded, nor is anything beneath it", Quote(path))
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			for _, p := range forget {
				if _, err := tx.RemoveManualExclusion(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return Reply{}, err
		}
		e.changed()
		if len(forget) == 1 && forget[0] == path {
			return Reply{Message: fmt.Sprintf("%s is no longer excluded", Quote(path))}, nil
		}
		return Reply{Fields: map[string]string{"forgotten": strconv.Itoa(len(forget))},
			Message: fmt.Sprintf("%d manual exclusion(s) at or beneath %s forgotten", len(forget), Quote(path))}, nil
	}}, nil
}

// underPath reports whether p is dir or lies beneath it, by whole
// components (/a/b is not beneath /a/bc).
func underPath(p, dir string) bool {
	if p == dir || dir == "/" {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// AddExclusion stores an exclusion expression or backup pattern.
func (e *Engine) AddExclusion(ctx context.Context, expr string, backup bool) error {
	_, err := one(e.Do(ctx, &ExcludeAddRequest{Expr: expr, Backup: backup}))
	return err
}

// RemoveExclusion deletes a stored expression or pattern.
func (e *Engine) RemoveExclusion(ctx context.Context, expr string, backup bool) error {
	_, err := one(e.Do(ctx, &ExcludeRemoveRequest{Expr: expr, Backup: backup}))
	return err
}

// ForgetManualExclusion lets a path deselected earlier be selected again.
func (e *Engine) ForgetManualExclusion(ctx context.Context, path string) error {
	_, err := one(e.Do(ctx, &ExcludeForgetRequest{Path: path}))
	return err
}
