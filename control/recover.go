package control

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"freezer/pipeline"
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
// downloads named after their engine, and download spools untouched for a
// day.
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
	spools, _ := filepath.Glob(filepath.Join(e.tempDir(), pipeline.SpoolPattern))
	for _, p := range spools {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
			if os.Remove(p) == nil {
				e.log.Info().Str("file", p).Msg("removed a download left behind by an interrupted run")
			}
		}
	}
}
