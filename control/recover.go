package control

import (
	"context"
	"errors"
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
	installing, err := e.o.DB.Installing(ctx)
	if err != nil {
		return err
	}
	for _, a := range installing {
		if err := e.finishInstall(ctx, a); err != nil && !errors.Is(err, ErrBusy) {
			e.log.Warn().Err(err).Str("vault", a.Vault).Str("archive", a.Name).Msg("could not finish installing a local copy")
		}
	}
	e.removeStale(ctx)
	return nil
}

// finishInstall completes the install of one archive's local copy.
func (e *Engine) finishInstall(ctx context.Context, a store.Archive) error {
	claims, err := e.claim(ctx, "installed", archiveResource(a.Vault, a.Name))
	if err != nil {
		return err
	}
	defer claims.Release()
	cur, err := e.o.DB.Archive(ctx, a.Vault, a.Name)
	if err != nil || cur.Installing == "" {
		return err
	}
	if _, err := os.Stat(cur.Installing); err == nil {
		e.log.Info().Str("vault", a.Vault).Str("archive", a.Name).Msg("finishing the install of a local copy an interrupted run left")
		return e.install(ctx, cur)
	}
	if hasLocal(cur) {
		return e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.Installed(ctx, cur.ID) })
	}
	e.log.Warn().Str("vault", a.Vault).Str("archive", a.Name).Msg("a local copy an interrupted run was installing is gone; the archive has no local copy")
	return e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetLocal(ctx, cur.ID, "", "", 0, "") })
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
