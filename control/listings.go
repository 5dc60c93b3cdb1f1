package control

import (
	"context"
	"errors"
	"slices"
	"sync"

	"freezer/store"
)

// listings keeps the rows of the vaults a View has listed — each archive
// with its retrieval jobs — and keeps them true through the catalog's
// change log (store.ChangeReader): before answering, it reads what any
// process changed since the last listing and reads again only those
// archives. A listing of an unchanged vault of ten thousand archives then
// costs two cheap queries and the states' computation (states depend on
// the time, so they are computed at every listing, never cached).
//
// Lock order: listings.mu is a leaf, held while the catalog is read (never
// the network), never while calling out.
type listings struct {
	mu     sync.Mutex
	reader *store.ChangeReader
	vaults map[string]*vaultRows
}

type vaultRows struct {
	byName map[string]*archiveRows
	names  []string // sorted, as the catalog lists them
}

type archiveRows struct {
	a    store.Archive
	jobs []store.Job // newest first
}

// reloadAbove is the number of changed archives in a vault above which
// the whole vault is read again rather than each archive.
const reloadAbove = 256

// archives returns a vault's archives with their jobs, from the cache
// when it can; ok is false when the vault has no archive.
func (c *listings) archives(ctx context.Context, db *store.DB, vault string) ([]archiveRows, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sync(ctx, db); err != nil {
		// The cache cannot be trusted; answer from the catalog alone.
		c.close()
		return loadVault(ctx, db, vault)
	}
	vr := c.vaults[vault]
	if vr == nil {
		rows, err := loadVault(ctx, db, vault)
		if err != nil {
			return nil, err
		}
		vr = &vaultRows{byName: make(map[string]*archiveRows, len(rows)), names: make([]string, len(rows))}
		for i := range rows {
			vr.byName[rows[i].a.Name] = &rows[i]
			vr.names[i] = rows[i].a.Name
		}
		c.vaults[vault] = vr
		return rows, nil
	}
	out := make([]archiveRows, len(vr.names))
	for i, n := range vr.names {
		out[i] = *vr.byName[n]
	}
	return out, nil
}

// sync reads the change log and brings the cached vaults up to date.
func (c *listings) sync(ctx context.Context, db *store.DB) error {
	if c.reader == nil {
		r, err := db.NewChangeReader(ctx)
		if err != nil {
			return err
		}
		c.reader, c.vaults = r, map[string]*vaultRows{}
	}
	changes, lost, err := c.reader.Next(ctx)
	if err != nil {
		return err
	}
	if lost {
		c.vaults = map[string]*vaultRows{}
		return nil
	}
	dirty := map[string]map[string]bool{}
	for _, ch := range changes {
		if (ch.Kind != EventArchive && ch.Kind != EventJob) || ch.Archive == "" || c.vaults[ch.Vault] == nil {
			continue
		}
		if dirty[ch.Vault] == nil {
			dirty[ch.Vault] = map[string]bool{}
		}
		dirty[ch.Vault][ch.Archive] = true
	}
	for vault, names := range dirty {
		if len(names) > reloadAbove {
			delete(c.vaults, vault)
			continue
		}
		if err := c.reread(ctx, db, vault, names); err != nil {
			return err
		}
	}
	return nil
}

// reread reads changed archives of a cached vault again.
func (c *listings) reread(ctx context.Context, db *store.DB, vault string, names map[string]bool) error {
	vr := c.vaults[vault]
	for name := range names {
		a, err := db.Archive(ctx, vault, name)
		if errors.Is(err, store.ErrNotFound) {
			if _, ok := vr.byName[name]; ok {
				delete(vr.byName, name)
				i, _ := slices.BinarySearch(vr.names, name)
				vr.names = slices.Delete(vr.names, i, i+1)
			}
			continue
		}
		if err != nil {
			return err
		}
		jobs, err := db.ArchiveJobs(ctx, a.ID)
		if err != nil {
			return err
		}
		if _, ok := vr.byName[name]; !ok {
			i, _ := slices.BinarySearch(vr.names, name)
			vr.names = slices.Insert(vr.names, i, name)
		}
		vr.byName[name] = &archiveRows{a: a, jobs: jobs}
	}
	return nil
}

func (c *listings) close() {
	if c.reader != nil {
		c.reader.Close()
	}
	c.reader, c.vaults = nil, nil
}

// loadVault reads a vault's archives and their jobs: two queries.
func loadVault(ctx context.Context, db *store.DB, vault string) ([]archiveRows, error) {
	all, err := db.Archives(ctx, vault)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	jobs, err := db.VaultArchiveJobs(ctx, vault)
	if err != nil {
		return nil, err
	}
	byArchive := map[int64][]store.Job{}
	for _, j := range jobs {
		byArchive[j.ArchiveID] = append(byArchive[j.ArchiveID], j)
	}
	out := make([]archiveRows, len(all))
	for i, a := range all {
		out[i] = archiveRows{a: a, jobs: byArchive[a.ID]}
	}
	return out, nil
}
