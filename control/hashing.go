package control

import (
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

func newCacheHasher(cache map[string]store.HashEntry) *cacheHasher {
	h := &cacheHasher{cache: cache}
	h.buffers.New = func() any { b := make([]byte, 256<<10); return &b }
	return h
}

// cacheHasher gives files' SHA-256 from the hash cache when their (path,
// size, mtime, inode) are unchanged, and reads them otherwise. Fresh sums
// are collected to be written back in one transaction.
type cacheHasher struct {
	cache   map[string]store.HashEntry
	buffers sync.Pool // *[]byte read buffers, reused across files and workers

	mu    sync.Mutex
	fresh []store.HashEntry
}

var _ filter.Hasher = (*cacheHasher)(nil)

func (h *cacheHasher) Hash(ctx context.Context, e filter.Entry) (string, bool, error) {
	mtime := e.ModTime.UnixNano()
	if c, ok := h.cache[e.Path]; ok && c.Matches(e.Size, mtime, e.Inode) {
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
	h.mu.Lock()
	h.fresh = append(h.fresh, store.HashEntry{Path: e.Path, Size: e.Size, MtimeNS: mtime, Inode: e.Inode, SHA256: hexSum})
	h.mu.Unlock()
	return hexSum, false, nil
}

// frozenIndex answers the frozen filter from the catalog's file locations,
// loaded once per plan.
func frozenIndex(ctx context.Context, db *store.DB) (filter.FrozenIndex, error) {
	locs, err := db.FileLocations(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[filter.FileKey][]filter.Location, len(locs))
	for k, ls := range locs {
		fl := make([]filter.Location, len(ls))
		for i, l := range ls {
			fl[i] = filter.Location{Vault: l.Vault, Archive: l.Archive, Path: l.Path, Created: l.Created}
		}
		m[filter.FileKey{Name: k.Name, Size: k.Size, SHA256: k.SHA256}] = fl
	}
	return filter.MapIndex(m), nil
}
