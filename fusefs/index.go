package fusefs

import (
	"context"
	"errors"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"freezer/control"
	"freezer/store"
)

// The index: what each path of the mount shows, as plain data loaded from
// the read view. Listings load lazily, on first use, and are kept until
// an engine event invalidates them (notify.go) or they reach their
// maximum age — the age only bounds how stale a missed event could leave
// them. A listing is replaced whole, never changed in place, so a reader
// holding one (a directory stream) never sees it move.

// cell caches one listing.
type cell[T any] struct {
	mu      sync.Mutex
	val     T
	fresh   bool      // loaded, and not invalidated since
	at      time.Time // when val was loaded
	gen     uint64    // bumped by every invalidation
	loading chan struct{}
}

// get returns the cached value, loading it (once for concurrent callers)
// when it is missing, invalidated or older than maxAge.
func (c *cell[T]) get(ctx context.Context, maxAge time.Duration, load func(context.Context) (T, error)) (T, error) {
	for {
		c.mu.Lock()
		if c.fresh && time.Since(c.at) < maxAge {
			v := c.val
			c.mu.Unlock()
			return v, nil
		}
		if wait := c.loading; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
		}
		wait := make(chan struct{})
		c.loading = wait
		gen := c.gen
		c.mu.Unlock()

		v, err := load(ctx)

		c.mu.Lock()
		c.loading = nil
		close(wait)
		if err == nil {
			c.val, c.at = v, time.Now()
			// A load that raced with an invalidation may predate the
			// change: serve it to this caller, but load again next time.
			c.fresh = gen == c.gen
		}
		c.mu.Unlock()
		return v, err
	}
}

// peek returns the cached value without loading, fresh or not.
func (c *cell[T]) peek() (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.val, !c.at.IsZero()
}

// set replaces the value (a patch computed from a newer read) when no
// invalidation happened since gen was read; it reports whether it did.
func (c *cell[T]) set(v T, gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.loading != nil || !c.fresh {
		return false
	}
	c.val = v
	return true
}

// generation returns the invalidation count, for set.
func (c *cell[T]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *cell[T]) invalidate() {
	c.mu.Lock()
	c.fresh = false
	c.gen++
	c.mu.Unlock()
}

// vaultSet is the vault list.
type vaultSet struct {
	names  []string // sorted
	byName map[string]control.VaultInfo
}

// archiveSet is one vault's archives.
type archiveSet struct {
	names  []string // sorted
	byName map[string]control.ArchiveInfo
}

func newArchiveSet(all []control.ArchiveInfo) *archiveSet {
	s := &archiveSet{byName: make(map[string]control.ArchiveInfo, len(all))}
	for _, a := range all {
		if a.Name == control.ReservedArchiveName {
			continue // the engine refuses the name; an old catalog might hold it
		}
		s.byName[a.Name] = a
	}
	s.names = slices.Sorted(maps.Keys(s.byName))
	return s
}

// with returns a copy of s with one archive replaced, added, or (nil)
// removed.
func (s *archiveSet) with(name string, a *control.ArchiveInfo) *archiveSet {
	out := &archiveSet{byName: maps.Clone(s.byName)}
	if a == nil {
		delete(out.byName, name)
	} else {
		out.byName[name] = *a
	}
	if _, had := s.byName[name]; had == (a != nil) {
		out.names = s.names // same names
	} else {
		out.names = slices.Sorted(maps.Keys(out.byName))
	}
	return out
}

// contentsKey names one archive's contents listing.
type contentsKey struct {
	vault, name string
	id          int64
}

// Maximum ages: they bound staleness should an event be missed.
const (
	vaultsMaxAge   = 10 * time.Second
	archivesMaxAge = time.Minute
	contentsMaxAge = 10 * time.Minute
)

// maxContentsTrees is how many archives' file trees the index keeps.
const maxContentsTrees = 32

// index holds the listings.
type index struct {
	cat Catalog

	vaults cell[*vaultSet]

	mu       sync.Mutex // guards the maps below (not the cells in them)
	archives map[string]*cell[*archiveSet]
	contents map[contentsKey]*cell[*tree]
}

func newIndex(cat Catalog) *index {
	return &index{cat: cat, archives: map[string]*cell[*archiveSet]{}, contents: map[contentsKey]*cell[*tree]{}}
}

// vaultList returns the vaults.
func (ix *index) vaultList(ctx context.Context) (*vaultSet, error) {
	return ix.vaults.get(ctx, vaultsMaxAge, func(ctx context.Context) (*vaultSet, error) {
		all, err := ix.cat.Vaults(ctx)
		if err != nil {
			return nil, err
		}
		s := &vaultSet{byName: make(map[string]control.VaultInfo, len(all))}
		for _, v := range all {
			if control.CheckVaultName(v.Name) != nil {
				continue // ".control", or a name no folder can have
			}
			s.byName[v.Name] = v
		}
		s.names = slices.Sorted(maps.Keys(s.byName))
		return s, nil
	})
}

// vault returns one vault, or ok=false.
func (ix *index) vault(ctx context.Context, name string) (control.VaultInfo, bool, error) {
	s, err := ix.vaultList(ctx)
	if err != nil {
		return control.VaultInfo{}, false, err
	}
	v, ok := s.byName[name]
	return v, ok, nil
}

func (ix *index) archiveCell(vault string) *cell[*archiveSet] {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	c := ix.archives[vault]
	if c == nil {
		c = &cell[*archiveSet]{}
		ix.archives[vault] = c
	}
	return c
}

// archiveList returns a vault's archives.
func (ix *index) archiveList(ctx context.Context, vault string) (*archiveSet, error) {
	return ix.archiveCell(vault).get(ctx, archivesMaxAge, func(ctx context.Context) (*archiveSet, error) {
		all, err := ix.cat.Archives(ctx, vault)
		if err != nil {
			return nil, err
		}
		return newArchiveSet(all), nil
	})
}

// archive returns one archive, or ok=false.
func (ix *index) archive(ctx context.Context, vault, name string) (control.ArchiveInfo, bool, error) {
	s, err := ix.archiveList(ctx, vault)
	if err != nil {
		return control.ArchiveInfo{}, false, err
	}
	a, ok := s.byName[name]
	return a, ok, nil
}

// refreshArchive reads one archive again and patches it into its vault's
// listing (if loaded), for an event that names it; it returns the archive
// as it is now (nil when gone) and whether it was in the listing before.
func (ix *index) refreshArchive(ctx context.Context, vault, name string) (now *control.ArchiveInfo, before *control.ArchiveInfo, err error) {
	c := ix.archiveCell(vault)
	gen := c.generation()
	a, err := ix.cat.Archive(ctx, vault, name)
	switch {
	case err == nil:
		now = &a
	case errors.Is(err, control.ErrNotFound):
	default:
		c.invalidate()
		return nil, nil, err
	}
	if s, ok := c.peek(); ok && s != nil {
		if b, had := s.byName[name]; had {
			before = &b
		}
		if now != nil && now.Name == control.ReservedArchiveName {
			now = nil
		}
		if !c.set(s.with(name, now), gen) {
			c.invalidate()
		}
	}
	ix.forgetContents(vault, name)
	return now, before, nil
}

// invalidateVault drops a vault's archive listing.
func (ix *index) invalidateVault(vault string) {
	ix.archiveCell(vault).invalidate()
}

// invalidateAll drops every listing.
func (ix *index) invalidateAll() {
	ix.vaults.invalidate()
	ix.mu.Lock()
	cells := slices.Collect(maps.Values(ix.archives))
	ix.contents = map[contentsKey]*cell[*tree]{}
	ix.mu.Unlock()
	for _, c := range cells {
		c.invalidate()
	}
}

// forgetContents drops the contents listings of an archive (any id).
func (ix *index) forgetContents(vault, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k := range ix.contents {
		if k.vault == vault && k.name == name {
			delete(ix.contents, k)
		}
	}
}

// contentsTree returns the tree of an archive's files.
func (ix *index) contentsTree(ctx context.Context, vault, name string, id int64) (*tree, error) {
	k := contentsKey{vault, name, id}
	ix.mu.Lock()
	c := ix.contents[k]
	if c == nil {
		if len(ix.contents) >= maxContentsTrees {
			// Trees can be large (an archive of a million files): keep a
			// few, and read others again when they are looked at.
			ix.contents = map[contentsKey]*cell[*tree]{}
		}
		c = &cell[*tree]{}
		ix.contents[k] = c
	}
	ix.mu.Unlock()
	return c.get(ctx, contentsMaxAge, func(ctx context.Context) (*tree, error) {
		files, err := ix.cat.ArchiveFiles(ctx, vault, name)
		if err != nil {
			return nil, err
		}
		return buildTree(files), nil
	})
}

// tree is an archive's files as folders: what VAULT/.contents/ARCHIVE/
// shows.
type tree struct {
	dirs  map[string][]treeEntry // folder path ("" for the top) → its entries, sorted by name
	files map[string]store.FileRecord
}

type treeEntry struct {
	name string
	dir  bool
}

// buildTree turns the catalog's file records (paths inside the archive)
// into folders. Paths are cleaned; one that cannot be a path of the mount
// (empty, "..", a component used as both a file and a folder) is left out.
func buildTree(files []store.FileRecord) *tree {
	t := &tree{dirs: map[string][]treeEntry{"": nil}, files: map[string]store.FileRecord{}}
	seen := map[string]bool{} // every path placed, file or folder
	var addDir func(p string) bool
	addDir = func(p string) bool {
		if p == "" {
			return true
		}
		if _, ok := t.dirs[p]; ok {
			return true
		}
		if seen[p] {
			return false // a file already has this path
		}
		parent, base := splitPath(p)
		if !addDir(parent) {
			return false
		}
		seen[p] = true
		t.dirs[p] = nil
		t.dirs[parent] = append(t.dirs[parent], treeEntry{name: base, dir: true})
		return true
	}
	for _, f := range files {
		p, ok := cleanTreePath(f.Path)
		if !ok || seen[p] {
			continue
		}
		parent, base := splitPath(p)
		if !addDir(parent) {
			continue
		}
		seen[p] = true
		t.files[p] = f
		t.dirs[parent] = append(t.dirs[parent], treeEntry{name: base})
	}
	for _, es := range t.dirs {
		slices.SortFunc(es, func(a, b treeEntry) int { return strings.Compare(a.name, b.name) })
	}
	return t
}

func cleanTreePath(p string) (string, bool) {
	p = strings.TrimPrefix(p, "./")
	if p == "" || strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 {
		return "", false
	}
	for _, c := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if c == "" || c == "." || c == ".." {
			return "", false
		}
	}
	return path.Clean(p), true
}

func splitPath(p string) (parent, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

func dirOf(p string) string {
	d, _ := splitPath(p)
	return d
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
