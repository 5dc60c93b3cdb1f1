package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"freezer/pipeline"
	"freezer/pipeline/compress"
	"freezer/pipeline/tarball"
	"freezer/store"
)

// ArchiveInfo is an archive with its state and newest retrieval job.
type ArchiveInfo struct {
	store.Archive
	State store.State
	Local bool       // the local file is there
	Job   *store.Job // the retrieval job behind the state (newest ready, else in progress, else newest), if any
}

// RemovePhrase is the confirmation the manual requires before an archive
// is deleted from Glacier.
const RemovePhrase = "I am sure"

// archiveInfo computes an archive's state from the catalog, its local file
// and its jobs.
func (e *Engine) archiveInfo(ctx context.Context, a store.Archive) (ArchiveInfo, error) {
	jobs, err := e.o.DB.ArchiveJobs(ctx, a.ID)
	if err != nil {
		return ArchiveInfo{}, err
	}
	info := ArchiveInfo{Archive: a, Local: hasLocal(a)}
	phase := store.CurrentPhase(jobs, e.o.Now())
	// The job that decides the state: the newest in that phase, else the
	// newest of all.
	for i := range jobs {
		if jobs[i].Phase(e.o.Now()) == phase {
			info.Job = &jobs[i]
			break
		}
	}
	info.State = store.ArchiveState(a.Remote(), info.Local, phase)
	return info, nil
}

// Archive returns one archive with its state.
func (e *Engine) Archive(ctx context.Context, vault, name string) (ArchiveInfo, error) {
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return ArchiveInfo{}, notFound(err)
	}
	return e.archiveInfo(ctx, a)
}

// Archives lists a vault's archives with their states.
func (e *Engine) Archives(ctx context.Context, vault string) ([]ArchiveInfo, error) {
	if _, err := e.o.DB.Vault(ctx, vault); err != nil {
		return nil, notFound(err)
	}
	all, err := e.o.DB.Archives(ctx, vault)
	if err != nil {
		return nil, err
	}
	out := make([]ArchiveInfo, 0, len(all))
	for _, a := range all {
		info, err := e.archiveInfo(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Disconnect deletes only an archive's local file, as the manual says:
// liquid becomes frozen (or melted while the job output is current). An
// archive that is only local is refused: that would lose it.
func (e *Engine) Disconnect(ctx context.Context, vault, name string) error {
	release, err := e.claim(vault, name, "disconnect")
	if err != nil {
		return err
	}
	defer release()
	info, err := e.Archive(ctx, vault, name)
	if err != nil {
		return err
	}
	if !info.Remote() {
		return mark(ErrPermission, fmt.Errorf("vault %s: archive %s is not in Glacier yet; disconnecting would lose it (upload it first)", vault, name))
	}
	if info.LocalPath == "" {
		return nil
	}
	// Catalog first: a crash after it leaves an orphan file, never a
	// catalog entry pointing at nothing.
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetLocalPath(ctx, info.ID, "") }); err != nil {
		return err
	}
	if err := os.Remove(info.LocalPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vault %s: archive %s: %w", vault, name, err)
	}
	return nil
}

// Remove deletes an archive from Glacier, only with the exact phrase
// "I am sure". A local copy stays (the archive becomes local); an archive
// with nothing left goes from the catalog. An archive that was never
// uploaded is removed locally, its unfinished upload cancelled.
func (e *Engine) Remove(ctx context.Context, vault, name, phrase string) error {
	if phrase != RemovePhrase {
		return mark(ErrPermission, fmt.Errorf("vault %s: archive %s: removing an archive from Glacier needs the confirmation %q", vault, name, RemovePhrase))
	}
	release, err := e.claim(vault, name, "remove")
	if err != nil {
		return err
	}
	defer release()
	info, err := e.Archive(ctx, vault, name)
	if err != nil {
		return err
	}
	if info.Remote() {
		if err := e.o.Glacier.DeleteArchive(ctx, vault, info.RemoteID); err != nil {
			return fmt.Errorf("vault %s: archive %s: delete from Glacier: %w", vault, name, err)
		}
		e.log.Info().Str("vault", vault).Str("archive", name).Str("archive_id", info.RemoteID).Msg("deleted from Glacier")
		if info.Local {
			info.Archive.RemoteID, info.Archive.Size, info.Archive.TreeHash = "", 0, ""
			return e.o.DB.Update(ctx, func(tx *store.Tx) error {
				_, err := tx.PutArchive(ctx, info.Archive)
				return err
			})
		}
	} else if err := pipeline.Abort(ctx, e.o.Glacier, vault, journal{db: e.o.DB, archiveID: info.ID}); err != nil {
		return fmt.Errorf("vault %s: archive %s: %w", vault, name, err)
	}
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.DeleteArchive(ctx, info.ID) }); err != nil {
		return err
	}
	// The manual's database maintenance: files no archive holds any more go.
	if n, err := e.o.DB.Maintain(ctx); err != nil {
		e.log.Warn().Err(err).Msg("catalog maintenance failed; it runs again at the next removal")
	} else if n > 0 {
		e.log.Debug().Int64("files", n).Msg("catalog maintenance removed files no archive holds")
	}
	if info.LocalPath != "" {
		if err := os.Remove(info.LocalPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("vault %s: archive %s: %w", vault, name, err)
		}
	}
	return nil
}

// ExtractOptions tune Extract.
type ExtractOptions struct {
	Overwrite         bool // replace existing files
	AllowOutsideLinks bool // restore symbolic links that point outside dest, as they are
}

// Extract restores an archive's files from its local copy into dest,
// refusing entries that would land outside dest.
func (e *Engine) Extract(ctx context.Context, vault, name, dest string, o ExtractOptions) (tarball.Stats, error) {
	info, err := e.Archive(ctx, vault, name)
	if err != nil {
		return tarball.Stats{}, err
	}
	if !info.Local {
		return tarball.Stats{}, mark(ErrNotFound, fmt.Errorf("vault %s: archive %s is %s: it has no local copy; retrieve it first ('freezer archive retrieve %s/%s')",
			vault, name, info.State, vault, name))
	}
	f, err := os.Open(info.LocalPath)
	if err != nil {
		return tarball.Stats{}, fmt.Errorf("vault %s: archive %s: %w", vault, name, err)
	}
	defer f.Close()
	var zr io.ReadCloser
	if info.Compression == CompressionUnknown {
		// Another tool's archive: whatever compression its bytes show.
		zr, _, err = compress.NewDetectingReader(f)
	} else {
		var alg compress.Algorithm
		if alg, err = compress.Parse(info.Compression); err == nil {
			zr, err = compress.NewReader(f, alg)
		}
	}
	if err != nil {
		return tarball.Stats{}, fmt.Errorf("vault %s: archive %s: %w", vault, name, err)
	}
	defer zr.Close()
	st, err := tarball.Extract(ctx, zr, dest, tarball.ExtractOptions{Overwrite: o.Overwrite, SameOwner: os.Geteuid() == 0,
		AllowOutsideLinks: o.AllowOutsideLinks, Logger: e.log})
	if err != nil {
		return st, fmt.Errorf("vault %s: archive %s: extract into %s: %w", vault, name, dest, err)
	}
	return st, nil
}

// expiresAt is when a job's output stops being downloadable: Glacier keeps
// it 24 hours after completion.
func expiresAt(completed time.Time) time.Time {
	if completed.IsZero() {
		return time.Time{}
	}
	return completed.Add(24 * time.Hour)
}

// ArchiveFiles lists the files inside an archive, as recorded when it was
// made.
func (e *Engine) ArchiveFiles(ctx context.Context, vault, name string) ([]store.FileRecord, error) {
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return nil, notFound(err)
	}
	return e.o.DB.ArchiveFiles(ctx, a.ID)
}

// Files lists every file kept in an archive, with the path from the newest
// archive holding it (the manual's file dialog).
func (e *Engine) Files(ctx context.Context) ([]store.CatalogFile, error) {
	return e.o.DB.Files(ctx)
}
