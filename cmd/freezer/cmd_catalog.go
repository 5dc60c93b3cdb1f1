package main

import (
	"context"
	"os"

	"freezer/control"
)

// CatalogCmd works on the catalog file as a whole.
type CatalogCmd struct {
	Slim CatalogSlimCmd `cmd:"" help:"Write a catalog with only keys, vaults, archives and jobs, for a daemon on another machine."`
}

// CatalogSlimCmd writes a slim catalog: the manual's database "containing
// only the encryption keys and archive information and no settings or
// files", which a daemon on a server runs on.
type CatalogSlimCmd struct {
	Out   string `arg:"" placeholder:"OUT.db" help:"The slim catalog to write (private: it holds the keys)."`
	Force bool   `help:"Replace OUT.db if it exists."`
}

// Run writes the slim catalog.
func (c *CatalogSlimCmd) Run(ctx context.Context, a *app) error {
	db, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	res, err := db.WriteSlim(ctx, c.Out, c.Force)
	if err != nil {
		return err
	}
	var full int64
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(db.Path() + suffix); err == nil {
			full += st.Size()
		}
	}
	a.say("slim catalog %s: %d key(s), %d vault(s), %d archive(s), %d job(s); %s (the catalog: %s). It holds the keys: keep it private.",
		c.Out, res.Keys, res.Vaults, res.Archives, res.Jobs, control.FormatBytes(res.Size), control.FormatBytes(full))
	return nil
}
