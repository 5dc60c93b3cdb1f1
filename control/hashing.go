package control

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"freezer/filter"
	"freezer/store"
)

// freshBatch is how many fresh sums the hasher gathers before writing
// them to the hash cache: a cold plan of a million files neither holds
// them all nor commits once per file.
const freshBatch = 8192

func newCacheHasher(db *store.DB) *cacheHasher {
	h := &cacheHasher{db: db, reader: db.HashCacheReader(), writing: make(chan struct{}, 1)}
	h.buffers.New = func() any { b := make([]byte, 256<<10); return &b }
	return h
}

// cacheHasher gives files' SHA-256 from the hash cache when their (path,
// size, mtime, inode) are unchanged, and reads them otherwise.
//
// The planner prefetches each batch of files before hashing it: one query
// per batch, and only the last two batches are held (the planner hashes
// one while it prefetches the next). Fresh sums are written back every
// freshBatch files by a goroutine of their own (one write at a time), so
// that the workers never wait for the catalog's commit; Flush waits for it
// and writes the rest.
type cacheHasher struct {
	db      *store.DB
	reader  *store.HashCacheReader // used from the planner's goroutine only
	buffers sync.Pool              // *[]byte read buffers, reused across files and workers

	mu    sync.RWMutex
	cache [2]map[string]store.HashEntry // the batches prefetched last

	fmu   sync.Mutex
	fresh []store.HashEntry
	werr  error // the first failed write

	writing chan struct{} // holds a token while a write runs
	writes  sync.WaitGroup
}

var (
	_ filter.Hasher     = (*cacheHasher)(nil)
	_ filter.Prefetcher = (*cacheHasher)(nil)
)

// Prefetch implements filter.Prefetcher.
func (h *cacheHasher) Prefetch(ctx context.Context, batch []filter.Entry) error {
	paths := make([]string, len(batch))
	for i, e := range batch {
		paths[i] = e.Path
	}
	m, err := h.reader.Lookup(ctx, paths)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cache[0], h.cache[1] = h.cache[1], m
	h.mu.Unlock()
	h.fmu.Lock()
	var fresh []store.HashEntry
	if len(h.fresh) >= freshBatch {
		fresh, h.fresh = h.fresh, nil
	}
	err = h.werr
	h.fmu.Unlock()
	if fresh != nil {
		// Sums already read are worth keeping even if the plan stops.
		ctx := context.WithoutCancel(ctx)
		h.writing <- struct{}{}
		h.writes.Go(func() {
			defer func() { <-h.writing }()
			if err := h.db.PutHashes(ctx, fresh); err != nil {
				h.fmu.Lock()
				h.werr = cmp.Or(h.werr, err)
				h.fmu.Unlock()
			}
		})
	}
	return err
}

// Flush waits for the writes under way, writes the fresh sums left, closes
// the cache's query, and returns the first error.
func (h *cacheHasher) Flush(ctx context.Context) error {
	h.writes.Wait()
	h.reader.Close()
	h.fmu.Lock()
	fresh, err := h.fresh, h.werr
	h.fresh = nil
	h.fmu.Unlock()
	if err != nil {
		return err
	}
	return h.db.PutHashes(ctx, fresh)
}

func (h *cacheHasher) cached(path string) (store.HashEntry, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, m := range h.cache {
		if c, ok := m[path]; ok {
			return c, true
		}
	}
	return store.HashEntry{}, false
}

func (h *cacheHasher) Hash(ctx context.Context, e filter.Entry) (string, bool, error) {
	mtime := e.ModTime.UnixNano()
	if c, ok := h.cached(e.Path); ok && c.Matches(e.Size, mtime, e.Inode) {
		return c.SHA256, true, nil
	}
	f, err := os.Open(e.Path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if st.Size() != e.Size || st.ModTime().UnixNano() != mtime || (sys != nil && sys.Ino != e.Inode) {
		return "", false, fmt.Errorf("changed since the folder was read; plan again")
	}
	sum := sha256.New()
	bufp := h.buffers.Get().(*[]byte)
	defer h.buffers.Put(bufp)
	buf := *bufp
	for {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		n, err := f.Read(buf)
		sum.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false, err
		}
	}
	hexSum := hex.EncodeToString(sum.Sum(nil))
	h.fmu.Lock()
	h.fresh = append(h.fresh, store.HashEntry{Path: e.Path, Size: e.Size, MtimeNS: mtime, Inode: e.Inode, SHA256: hexSum})
	h.fmu.Unlock()
	return hexSum, false, nil
}

// catalogIndex answers the frozen filter from the catalog, one indexed
// query per batch of files: nothing of the catalog is loaded up front, so
// a catalog of a million files costs no memory here.
type catalogIndex struct {
	loc   *store.Locator
	names map[string]string // vault and archive names, shared by every location
}

var _ filter.FrozenIndex = (*catalogIndex)(nil)

func frozenIndex(db *store.DB) *catalogIndex {
	return &catalogIndex{loc: db.Locator(), names: map[string]string{}}
}

// Close releases the catalog's query.
func (x *catalogIndex) Close() error { return x.loc.Close() }

func (x *catalogIndex) intern(s string) string {
	if v, ok := x.names[s]; ok {
		return v
	}
	x.names[s] = s
	return s
}

// LookupMany implements filter.FrozenIndex. The planner calls it from one
// goroutine at a time.
func (x *catalogIndex) LookupMany(ctx context.Context, keys []filter.FileKey) ([][]filter.Location, error) {
	sk := make([]store.FileKey, len(keys))
	for i, k := range keys {
		sk[i] = store.FileKey{Name: k.Name, Size: k.Size, SHA256: k.SHA256}
	}
	locs, err := x.loc.Locate(ctx, sk)
	if err != nil {
		return nil, err
	}
	out := make([][]filter.Location, len(keys))
	for i, ls := range locs {
		if len(ls) == 0 {
			continue
		}
		fl := make([]filter.Location, len(ls))
		for j, l := range ls {
			fl[j] = filter.Location{Vault: x.intern(l.Vault), Archive: x.intern(l.Archive), Path: l.Path, Created: l.Created}
		}
		out[i] = fl
	}
	return out, nil
}
