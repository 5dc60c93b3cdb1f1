package fusefs

import (
	"context"

	"freezer/control"
	"freezer/store"
)

// Catalog is the read view the nodes answer from. Its methods read the
// catalog only (bounded queries, never the network), so a lookup or a
// listing never waits for Glacier. *control.View and *control.Engine
// provide it.
type Catalog interface {
	Vaults(ctx context.Context) ([]control.VaultInfo, error)
	Archives(ctx context.Context, vault string) ([]control.ArchiveInfo, error)
	Archive(ctx context.Context, vault, name string) (control.ArchiveInfo, error)
	ArchiveFiles(ctx context.Context, vault, name string) ([]store.FileRecord, error)
	Files(ctx context.Context) ([]store.CatalogFile, error)
	Jobs(ctx context.Context) ([]store.Job, error)
	Tasks(ctx context.Context, recent int) ([]control.TaskInfo, error)
	Errors(ctx context.Context, n int) ([]store.ErrorEntry, error)
	Keys(ctx context.Context) ([]control.KeyInfo, error)
	ExportKey(ctx context.Context, id string) ([]byte, error)
	ExclusionSettings(ctx context.Context) (control.Exclusions, error)
}

// Engine is what the mount needs of control.Engine: the read view, the
// requests the control files, mkdir and rmdir hand over, the change
// events, and the background refresh from Glacier.
type Engine interface {
	Catalog
	// Do checks every request, then runs them (control.Engine.Do).
	Do(ctx context.Context, reqs ...control.Request) ([]control.Reply, error)
	// LogRefusal records a refusal found before Do (a line that does
	// not parse) in the error log.
	LogRefusal(line string, err error)
	// Subscribe calls fn with every batch of changes, from any process.
	Subscribe(fn func([]control.Event)) (unsubscribe func())
	// Refresh brings the vault list and jobs up to date with Glacier,
	// rate-limited unless force.
	Refresh(ctx context.Context, force bool) error
	// Settings are the settings in effect, with where each comes from.
	Settings(ctx context.Context) (map[string]control.Resolved, error)
	// Running gives fresher figures of a task this process runs.
	Running(id int64) (store.Progress, bool)
}
