package filter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func mk(t EntryType, path string, size int64) Entry {
	return Entry{Path: path, Name: strings.TrimPrefix(path, "/"), Type: t, Size: size, ModTime: testTime, Inode: uint64(len(path)), Dev: 1}
}

func file(path string, size int64) Entry { return mk(TypeFile, path, size) }
func dir(path string) Entry              { return mk(TypeDir, path, 0) }
func link(path string) Entry             { return mk(TypeSymlink, path, 7) }

// fakeSum is the "content" hash of a test file: files are equal when their
// base names and sizes are.
func fakeSum(e Entry) string {
	h := sha256.Sum256([]byte(base(e.Path) + "\x00" + strconv.FormatInt(e.Size, 10)))
	return hex.EncodeToString(h[:])
}

// fakeHasher hashes from the path; errs lists paths that fail.
type fakeHasher struct {
	calls  atomic.Int64
	errs   map[string]error
	cached bool
}

func (h *fakeHasher) Hash(ctx context.Context, e Entry) (string, bool, error) {
	h.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if err := h.errs[e.Path]; err != nil {
		return "", false, err
	}
	return fakeSum(e), h.cached, nil
}

// fakeIndex is an in-memory FrozenIndex.
type fakeIndex struct {
	mu    sync.Mutex
	files map[FileKey][]Location
	calls int
	keys  int
	err   error
}

func (x *fakeIndex) LookupMany(ctx context.Context, keys []FileKey) ([][]Location, error) {
	x.mu.Lock()
	x.calls++
	x.keys += len(keys)
	x.mu.Unlock()
	if x.err != nil {
		return nil, x.err
	}
	out := make([][]Location, len(keys))
	for i, k := range keys {
		out[i] = x.files[k]
	}
	return out, nil
}

// freeze records e as kept in vault/archive at path.
func (x *fakeIndex) freeze(e Entry, vault, archive, path string, created time.Time) {
	if x.files == nil {
		x.files = map[FileKey][]Location{}
	}
	k := FileKey{Name: base(e.Path), Size: e.Size, SHA256: fakeSum(e)}
	x.files[k] = append(x.files[k], Location{Vault: vault, Archive: archive, Path: path, Created: created})
}

var errGone = errors.New("open: no such file or directory")

// sampleTree is a small tree with something for every filter.
func sampleTree() []Entry {
	return []Entry{
		dir("/home/me/proj"),
		file("/home/me/proj/main.c", 1200),
		file("/home/me/proj/main.o", 5000),
		file("/home/me/proj/notes.txt~", 300),
		file("/home/me/proj/#notes.txt#", 310),
		link("/home/me/proj/.#notes.txt"),
		file("/home/me/proj/photo.jpg", 250000),
		file("/home/me/proj/empty.py", 0),
		dir("/home/me/proj/build"),
		file("/home/me/proj/build/out.bin", 8000),
		dir("/home/me/proj/buildx"),
		file("/home/me/proj/buildx/keep.txt", 40),
		dir("/home/me/proj/emptydir"),
		mk(TypeOther, "/home/me/proj/fifo", 0),
	}
}

func newPlanner(t testing.TB, cfg Config) *Planner {
	t.Helper()
	pl, err := NewPlanner(cfg)
	if err != nil {
		t.Fatalf("NewPlanner: %v", err)
	}
	return pl
}

func mustPlan(t testing.TB, pl *Planner, req Request) *Plan {
	t.Helper()
	p, err := pl.Plan(context.Background(), req)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

// states renders path -> "yes" / "no:reasons" for comparison.
func states(p *Plan) map[string]string {
	out := map[string]string{}
	for _, it := range p.Items() {
		s := "no"
		if it.Selected {
			s = "yes"
		}
		if it.Reasons != 0 {
			s += ":" + it.Reasons.String()
		}
		if it.Override {
			s += "!"
		}
		out[it.Path] = s
	}
	return out
}
