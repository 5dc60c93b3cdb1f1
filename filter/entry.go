package filter

import (
	"context"
	"time"
)

// EntryType is the kind of a walked entry.
type EntryType uint8

const (
	TypeFile    EntryType = iota // regular file
	TypeDir                      // directory
	TypeSymlink                  // symbolic link: filtered like a file, never hashed
	TypeOther                    // device, socket, FIFO: never selected
)

var typeNames = [...]string{TypeFile: "file", TypeDir: "dir", TypeSymlink: "symlink", TypeOther: "other"}

func (t EntryType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "other"
}

func parseType(s string) (EntryType, bool) {
	for i, n := range typeNames {
		if n == s {
			return EntryType(i), true
		}
	}
	return TypeOther, false
}

// Entry is one walked file, directory or symlink.
type Entry struct {
	// Path is the absolute, clean source path. It may hold bytes that are not
	// UTF-8; it must be unique within one plan.
	Path string
	// Name is the path stored inside the archive.
	Name    string
	Type    EntryType
	Size    int64
	ModTime time.Time
	Inode   uint64
	Dev     uint64
}

// Hasher gives a regular file's SHA-256 (lower-case hex). cached reports that
// the sum came from a cache and no file contents were read. It is called
// from several goroutines at once and must be safe for that.
type Hasher interface {
	Hash(ctx context.Context, e Entry) (sha256 string, cached bool, err error)
}

// FileKey identifies a file as the manual defines it: base name, size and
// SHA-256. Copies in other paths are the same file.
type FileKey struct {
	Name   string
	Size   int64
	SHA256 string
}

// Location is where a file is kept in an active archive.
type Location struct {
	Vault   string
	Archive string
	Path    string    // path inside the archive
	Created time.Time // the archive's creation date; zero when unknown
}

// FrozenIndex tells where files are already kept.
//
// LookupMany answers a batch of keys at once (the planner sends batches of
// at most [LookupBatch] keys) so that an implementation over SQL needs one
// query per batch rather than one per file; an in-memory map loaded once per
// plan serves it just as well. The result must have one element per key:
// the locations of that file in active archives, newest archive first, nil
// when none. The planner keeps the returned slices; they must not be reused.
type FrozenIndex interface {
	LookupMany(ctx context.Context, keys []FileKey) ([][]Location, error)
}

// LookupBatch is the largest batch handed to FrozenIndex.LookupMany.
const LookupBatch = 1024

// MapIndex is a FrozenIndex over a map loaded once per plan (for example
// from the catalog's file locations): 100,000 lookups cost a few
// milliseconds.
type MapIndex map[FileKey][]Location

// LookupMany implements FrozenIndex.
func (m MapIndex) LookupMany(ctx context.Context, keys []FileKey) ([][]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]Location, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out, nil
}
