package main

import (
	"context"
	"fmt"
	"path/filepath"

	"freezer/control"
)

// ExcludeCmd manages the filter settings: exclusion expressions, extra
// backup patterns and manual exclusions.
type ExcludeCmd struct {
	List   ExcludeListCmd   `cmd:"" default:"1" help:"Show exclusion expressions, backup patterns and manual exclusions."`
	Add    ExcludeAddCmd    `cmd:"" help:"Add an exclusion (a path, or re:RE2 on the full path), or with --backup a backup pattern."`
	Remove ExcludeRemoveCmd `cmd:"" help:"Remove an exclusion expression (or with --backup a backup pattern)."`
	Forget ExcludeForgetCmd `cmd:"" help:"Forget a manual exclusion, so the path is selected again."`
}

// ExcludeListCmd lists the filter settings.
type ExcludeListCmd struct{}

// Run prints one setting a line, prefixed by its kind.
func (c *ExcludeListCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	x, err := e.ExclusionSettings(ctx)
	if err != nil {
		return err
	}
	for _, s := range x.Exclude {
		fmt.Fprintf(a.stdout, "exclude\t%s\n", cell(s))
	}
	for _, s := range x.Backup {
		fmt.Fprintf(a.stdout, "backup\t%s\n", cell(s))
	}
	for _, s := range x.Manual {
		fmt.Fprintf(a.stdout, "manual\t%s\n", cell(s))
	}
	return nil
}

// ExcludeAddCmd stores an expression.
type ExcludeAddCmd struct {
	Backup     bool   `help:"Add a backup/generated pattern (RE2 on base names) instead."`
	Expression string `arg:"" help:"An absolute path (the file or everything under the folder), or re:RE2 on the full path."`
}

// Run validates and stores.
func (c *ExcludeAddCmd) Run(ctx context.Context, a *app) error {
	return a.change(ctx, &control.ExcludeAddRequest{Expr: c.Expression, Backup: c.Backup})
}

// ExcludeRemoveCmd deletes an expression.
type ExcludeRemoveCmd struct {
	Backup     bool   `help:"Remove a backup pattern instead."`
	Expression string `arg:"" help:"The expression, as listed."`
}

// Run deletes it.
func (c *ExcludeRemoveCmd) Run(ctx context.Context, a *app) error {
	return a.change(ctx, &control.ExcludeRemoveRequest{Expr: c.Expression, Backup: c.Backup})
}

// ExcludeForgetCmd drops a manual exclusion.
type ExcludeForgetCmd struct {
	Path string `arg:"" help:"The path deselected earlier."`
}

// Run drops it.
func (c *ExcludeForgetCmd) Run(ctx context.Context, a *app) error {
	path, err := filepath.Abs(c.Path)
	if err != nil {
		return err
	}
	return a.change(ctx, &control.ExcludeForgetRequest{Path: path})
}
