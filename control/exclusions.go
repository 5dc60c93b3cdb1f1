package control

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

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
func (e *Engine) ExclusionSettings(ctx context.Context) (Exclusions, error) {
	var x Exclusions
	var err error
	if x.Exclude, err = e.o.DB.Exclusions(ctx, store.ExclusionExclude); err != nil {
		return x, err
	}
	if x.Backup, err = e.o.DB.Exclusions(ctx, store.ExclusionBackup); err != nil {
		return x, err
	}
	x.Manual, err = e.o.DB.ManualExclusions(ctx)
	return x, err
}

// AddExclusion stores an exclusion expression (backup false) or a backup
// pattern (backup true), after checking it compiles.
func (e *Engine) AddExclusion(ctx context.Context, expr string, backup bool) error {
	kind := store.ExclusionExclude
	cfg := filter.Config{Exclusions: []string{expr}}
	if backup {
		kind = store.ExclusionBackup
		cfg = filter.Config{BackupPatterns: []string{expr}}
	}
	if expr == "" {
		return mark(ErrInvalid, errors.New("empty expression"))
	}
	if _, err := filter.NewPlanner(cfg); err != nil {
		return mark(ErrInvalid, err)
	}
	return e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddExclusion(ctx, kind, expr) })
}

// RemoveExclusion deletes a stored expression or pattern.
func (e *Engine) RemoveExclusion(ctx context.Context, expr string, backup bool) error {
	kind := store.ExclusionExclude
	if backup {
		kind = store.ExclusionBackup
	}
	var removed bool
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		removed, err = tx.RemoveExclusion(ctx, kind, expr)
		return err
	})
	if err == nil && !removed {
		return mark(ErrNotFound, fmt.Errorf("%s expression %q is not stored", kind, expr))
	}
	return err
}

// ForgetManualExclusion lets a path deselected earlier be selected again.
func (e *Engine) ForgetManualExclusion(ctx context.Context, path string) error {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	var removed bool
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		removed, err = tx.RemoveManualExclusion(ctx, path)
		return err
	})
	if err == nil && !removed {
		return mark(ErrNotFound, fmt.Errorf("%s is not manually excluded", path))
	}
	return err
}
