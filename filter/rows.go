package filter

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// A plan of a million files holds a million entries, so an entry is kept
// as a row of fixed size rather than as an Entry with two full paths:
// a row names the folder holding it and keeps only its own base name, and
// a folder's path and stored name are kept once, for all its contents.
// The path and name of an entry are put back together when asked for.
//
// Memory per entry: one row (56 bytes) and the bytes of its base name,
// plus 32 bytes for its SHA-256 when the frozen filter is on. Rows hold no
// pointers (names are offsets into a byte arena per chunk of rows), so the
// garbage collector never scans them. Entries whose path and name do not
// follow from their folder's (the roots, and entries given out of archive
// order) keep both in full.

type rowFlags uint8

const (
	flagSelected     rowFlags = 1 << iota
	flagOverride              // selected by a person although a reason applies
	flagHasChildren           // a directory that was not empty in the source
	flagDescSelected          // scratch for resolve
	flagSum                   // the SHA-256 is known
	flagDropped               // removed by Drop
	flagNoTime                // ModTime unknown (zero)
)

type row struct {
	// dir is the folder holding the entry, an index into EntryList.dirs;
	// a negative value -1-k means the path and name are loose[k].
	dir  int32
	nsec int32 // ModTime: sec and nsec since the Unix epoch
	// nameOff and nameLen place the last component of both path and
	// name in the names arena of the row's chunk.
	nameOff uint32
	nameLen uint16
	typ     EntryType
	flags   rowFlags
	reasons Reasons
	size    int64
	sec     int64
	inode   uint64
	dev     uint64
}

func (r *row) has(f rowFlags) bool { return r.flags&f != 0 }

func (r *row) set(f rowFlags, on bool) {
	if on {
		r.flags |= f
	} else {
		r.flags &^= f
	}
}

// dirInfo is a directory entry's full path and stored name.
type dirInfo struct {
	row  int32
	path string
	name string
}

type loosePath struct{ path, name string }

// rowChunk rows are kept in chunks of this many, so that a growing list
// never copies what it holds.
const rowChunk = 1 << 14

// EntryList collects a walk's entries, in archive order, in the compact
// form a plan keeps. Fill it with Add as the walk goes and hand it to
// Planner.Plan in Request.List, which takes it over: a walk of a million
// files then never exists as a list of Entry values.
type EntryList struct {
	chunks   [][]row
	names    [][]byte // per chunk: the base names of its rows, back to back
	n        int
	dirs     []dirInfo
	dirIndex map[string]int32 // directory path -> index in dirs
	loose    []loosePath
	bad      string // the first path that was not absolute
	badSeen  bool
}

// NewEntryList makes an empty list.
func NewEntryList() *EntryList {
	return &EntryList{dirIndex: make(map[string]int32)}
}

// Len is the number of entries added.
func (l *EntryList) Len() int { return l.n }

// Add appends one entry. Entries must come in archive order (each folder
// before what it holds) to be kept compactly; any order is correct.
func (l *EntryList) Add(e Entry) {
	if l.dirIndex == nil {
		l.dirIndex = make(map[string]int32)
	}
	if !strings.HasPrefix(e.Path, "/") && !l.badSeen {
		l.bad, l.badSeen = e.Path, true
	}
	if l.n == len(l.chunks)*rowChunk {
		l.chunks = append(l.chunks, make([]row, rowChunk))
		l.names = append(l.names, make([]byte, 0, rowChunk*12))
	}
	r := l.at(l.n)
	*r = row{typ: e.Type, size: e.Size, inode: e.Inode, dev: e.Dev}
	if e.ModTime.IsZero() {
		r.flags |= flagNoTime
	} else {
		r.sec, r.nsec = e.ModTime.Unix(), int32(e.ModTime.Nanosecond())
	}
	r.dir = -1
	// The folder's path is parent(e.Path), so its path joined with b
	// gives e.Path back; only the stored name needs checking.
	if d, ok := l.dirIndex[parent(e.Path)]; ok {
		b := base(e.Path)
		di := &l.dirs[d]
		if b != "" && len(b) <= math.MaxUint16 && isJoin(e.Name, di.name, b) {
			c := l.n / rowChunk
			r.dir = d
			r.nameOff, r.nameLen = uint32(len(l.names[c])), uint16(len(b))
			l.names[c] = append(l.names[c], b...)
		}
	}
	if r.dir < 0 {
		l.loose = append(l.loose, loosePath{path: e.Path, name: e.Name})
		r.dir = int32(-len(l.loose))
	}
	if e.Type == TypeDir {
		l.dirs = append(l.dirs, dirInfo{row: int32(l.n), path: e.Path, name: e.Name})
		l.dirIndex[e.Path] = int32(len(l.dirs) - 1)
	}
	l.n++
}

func (l *EntryList) at(i int) *row { return &l.chunks[i/rowChunk][i%rowChunk] }

// base is the base name of compact row i. The string shares the arena's
// bytes: they are never written again once appended, and an arena that
// grew leaves its earlier array to the strings still using it.
func (l *EntryList) base(i int) string {
	r := l.at(i)
	if r.nameLen == 0 {
		return ""
	}
	return unsafe.String(&l.names[i/rowChunk][r.nameOff], int(r.nameLen))
}

// joinPath is the path of base inside folder dir (an absolute path).
func joinPath(dir, base string) string {
	if dir == "/" {
		return "/" + base
	}
	return dir + "/" + base
}

// isJoin reports whether name is dirName/base ("" stands for the top).
func isJoin(name, dirName, base string) bool {
	if dirName == "" {
		return name == base
	}
	return len(name) == len(dirName)+1+len(base) && strings.HasPrefix(name, dirName) &&
		name[len(dirName)] == '/' && strings.HasSuffix(name, base)
}

func (l *EntryList) path(i int) string {
	r := l.at(i)
	if r.dir < 0 {
		return l.loose[-1-r.dir].path
	}
	return joinPath(l.dirs[r.dir].path, l.base(i))
}

func (l *EntryList) name(i int) string {
	r := l.at(i)
	if r.dir < 0 {
		return l.loose[-1-r.dir].name
	}
	if n := l.dirs[r.dir].name; n != "" {
		return n + "/" + l.base(i)
	}
	return l.base(i)
}

// baseName is the last component of the entry's path, without allocating.
func (l *EntryList) baseName(i int) string {
	r := l.at(i)
	if r.dir < 0 {
		return base(l.loose[-1-r.dir].path)
	}
	return l.base(i)
}

// storedBase is the last component of the entry's name (its path when it
// has no name), as the catalog keys files.
func (l *EntryList) storedBase(i int) string {
	r := l.at(i)
	if r.dir < 0 {
		lp := l.loose[-1-r.dir]
		if lp.name == "" {
			return base(lp.path)
		}
		return base(lp.name)
	}
	return l.base(i)
}

func (l *EntryList) entry(i int) Entry {
	r := l.at(i)
	e := Entry{Path: l.path(i), Name: l.name(i), Type: r.typ, Size: r.size, Inode: r.inode, Dev: r.dev}
	if !r.has(flagNoTime) {
		e.ModTime = time.Unix(r.sec, int64(r.nsec))
	}
	return e
}

// dirOfRow is the index in dirs of directory row i (dirs are in row order).
func (l *EntryList) dirOfRow(i int) int32 {
	lo, hi := 0, len(l.dirs)
	for lo < hi {
		m := (lo + hi) / 2
		if int(l.dirs[m].row) < i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(l.dirs) && int(l.dirs[lo].row) == i {
		return int32(lo)
	}
	return -1
}

// dirAbove is the nearest folder of the list holding path p (walking up
// as many levels as needed), -1 when none.
func (l *EntryList) dirAbove(p string) int32 {
	for q := parent(p); q != ""; q = parent(q) {
		if d, ok := l.dirIndex[q]; ok {
			return d
		}
	}
	return -1
}

// parentDir is the folder holding row i, -1 when the list has none.
func (l *EntryList) parentDir(i int) int32 {
	r := l.at(i)
	if r.dir >= 0 {
		return r.dir
	}
	return l.dirAbove(l.loose[-1-r.dir].path)
}

func (l *EntryList) check() error {
	if l.badSeen {
		return fmt.Errorf("selection plan: entry %q: path is not absolute", l.bad)
	}
	return nil
}

// copyTable holds the frozen copies of a plan's rows compactly: a plan of
// a million files already archived has a million copies, each kept in 32
// bytes and its path's bytes, vault and archive names once for all.
type copyTable struct {
	list  []copyRow // by row, in the order added (rows only increase)
	paths []byte
	names []string
	index map[string]int32
}

type copyRow struct {
	sec              int64 // Created; see noTime
	row              int32
	vault, archive   int32 // in names
	pathOff, pathLen uint32
	nsec             int32 // -1: Created unknown
}

func (c *copyTable) name(s string) int32 {
	if i, ok := c.index[s]; ok {
		return i
	}
	if c.index == nil {
		c.index = map[string]int32{}
	}
	c.names = append(c.names, s)
	c.index[s] = int32(len(c.names) - 1)
	return int32(len(c.names) - 1)
}

// add records row's copies; rows come in increasing order.
func (c *copyTable) add(row int32, locs []Location) {
	for _, l := range locs {
		r := copyRow{row: row, vault: c.name(l.Vault), archive: c.name(l.Archive),
			pathOff: uint32(len(c.paths)), pathLen: uint32(len(l.Path)), nsec: -1}
		if !l.Created.IsZero() {
			r.sec, r.nsec = l.Created.Unix(), int32(l.Created.Nanosecond())
		}
		c.paths = append(c.paths, l.Path...)
		c.list = append(c.list, r)
	}
}

// of gives row's copies, nil when none.
func (c *copyTable) of(row int32) []Location {
	i, _ := slices.BinarySearchFunc(c.list, row, func(r copyRow, row int32) int { return cmp.Compare(r.row, row) })
	var out []Location
	for ; i < len(c.list) && c.list[i].row == row; i++ {
		r := c.list[i]
		l := Location{Vault: c.names[r.vault], Archive: c.names[r.archive], Path: string(c.paths[r.pathOff : r.pathOff+r.pathLen])}
		if r.nsec >= 0 {
			l.Created = time.Unix(r.sec, int64(r.nsec)).UTC() // as the catalog gives it
		}
		out = append(out, l)
	}
	return out
}
