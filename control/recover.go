package control

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"freezer/pipeline"
	"freezer/store"
)

// Recover finishes or clears what processes that died left half done:
// local copies committed to the catalog but not yet renamed into place
// (the rename is redone, or the entry forgets a copy that is not there),
// and temporary files of builds and downloads whose process is gone.
// Long-running front ends call it when they start; it takes the claims it
// needs and leaves alone whatever a live process holds.
func (e *Engine) Recover(ctx context.Context) error {
	if err := e.reapDead(ctx); err != nil {
		return err
	}
	if _, err := e.RecoverInstalls(ctx); err != nil {
		e.log.Warn().Err(err).Msg("could not finish installing a local copy an interrupted run left")
	}
	e.removeStale(ctx)
	return nil
}

// removeStale deletes temporary files whose process is dead: builds and
// downloads named after their engine (with the file lists beside them),
// and download spools that no rerun can resume any more.
func (e *Engine) removeStale(ctx context.Context) {
	engines, err := e.o.DB.Engines(ctx)
	if err != nil {
		return
	}
	live := map[string]bool{e.id: true}
	for _, o := range engines {
		live[o.ID] = true
	}
	installing, err := e.o.DB.Installing(ctx)
	if err != nil {
		return
	}
	pending := map[string]bool{}
	for _, a := range installing {
		pending[a.Installing] = true
	}
	temps, _ := filepath.Glob(filepath.Join(e.tempDir(), buildPrefix+"*"))
	for _, p := range temps {
		owner, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(p), buildPrefix), "-")
		if live[owner] || pending[p] {
			continue
		}
		if os.Remove(p) == nil {
			e.log.Info().Str("file", p).Msg("removed a temporary file an interrupted run left behind")
		}
	}
	// A download's spool is where a rerun resumes, as long as its job's
	// output can still be downloaded; after that it serves nothing.
	spools, err := pipeline.Spools(e.tempDir())
	if err != nil {
		return
	}
	now := e.o.Now()
	for _, sp := range spools {
		if sp.InUse {
			continue
		}
		keep := false
		if sp.JobID != "" {
			if j, err := e.o.DB.Job(ctx, sp.JobID); err == nil {
				keep = j.Executed.IsZero() && j.Phase(now) != store.JobNone
			}
		}
		if keep {
			continue
		}
		var err error
		if sp.JobID != "" {
			err = pipeline.RemoveSpool(e.tempDir(), sp.JobID)
		} else if time.Since(sp.ModTime) > 24*time.Hour {
			for _, p := range sp.Paths {
				os.Remove(p)
			}
		} else {
			continue
		}
		if err == nil {
			e.log.Info().Str("vault", sp.Vault).Str("archive", sp.Name).Int64("bytes", sp.Bytes).
				Msg("removed a download an interrupted run left, whose job's output is gone or installed")
		}
	}
}
