package fusefs

import (
	"context"
	"io"
	"strconv"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
	"freezer/store"
)

// VAULT/.contents/ARCHIVE/ shows the files an archive holds as the catalog
// knows them (folders, names, sizes, user.freezer.sha256), so a person can
// see inside a frozen archive without retrieving it. A file's bytes are
// readable only while the archive has a local copy: they are streamed out
// of the compressed tar, in order; a read further back than the stream's
// window starts it again.

// contentsRootNode is VAULT/.contents: one folder per archive.
type contentsRootNode struct {
	fs.Inode
	fixedDir
	fs    *filesystem
	vault string
}

func contentsRootIno(vault string) uint64 { return ino("contents", vault) }

func (f *filesystem) newContentsRoot(ctx context.Context, parent *fs.Inode, vault string, out *fuse.EntryOut) *fs.Inode {
	f.dirAttr(&out.Attr, contentsRootIno(vault), 2, 0o555, f.start)
	return parent.NewInode(ctx, &contentsRootNode{fs: f, vault: vault}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: contentsRootIno(vault)})
}

func (n *contentsRootNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.dirAttr(&out.Attr, contentsRootIno(n.vault), 2, 0o555, n.fs.start)
	return 0
}

func (n *contentsRootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a, ok, err := n.fs.idx.archive(ctx, n.vault, name)
	if err != nil {
		return nil, errno(err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	d := &contentsDirNode{fs: n.fs, vault: n.vault, archive: name, id: a.ID}
	n.fs.dirAttr(&out.Attr, d.ino(), 2, 0o555, a.Created)
	return n.NewInode(ctx, d, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: d.ino()}), 0
}

func (n *contentsRootNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	s, err := n.fs.idx.archiveList(ctx, n.vault)
	if err != nil {
		return nil, errno(err)
	}
	list := make([]fuse.DirEntry, 0, len(s.names)+2)
	list = append(list, dots(contentsRootIno(n.vault), vaultIno(n.vault))...)
	for _, name := range s.names {
		a := s.byName[name]
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: contentsIno(n.vault, name, a.ID, "")})
	}
	return fs.NewListDirStream(list), 0
}

func contentsIno(vault, archive string, id int64, path string) uint64 {
	return ino("member", vault, archive, strconv.FormatInt(id, 10), path)
}

// contentsDirNode is a folder inside an archive ("" is its top).
type contentsDirNode struct {
	fs.Inode
	fixedDir
	fs      *filesystem
	vault   string
	archive string
	id      int64
	path    string
}

func (n *contentsDirNode) ino() uint64 { return contentsIno(n.vault, n.archive, n.id, n.path) }

// tree is the archive's file tree, ENOENT once the archive is gone.
func (n *contentsDirNode) tree(ctx context.Context) (*tree, control.ArchiveInfo, syscall.Errno) {
	a, ok, err := n.fs.idx.archive(ctx, n.vault, n.archive)
	if err != nil {
		return nil, a, errno(err)
	}
	if !ok || a.ID != n.id {
		return nil, a, syscall.ENOENT
	}
	t, err := n.fs.idx.contentsTree(ctx, n.vault, n.archive, n.id)
	if err != nil {
		return nil, a, errno(err)
	}
	if _, ok := t.dirs[n.path]; !ok {
		return nil, a, syscall.ENOENT
	}
	return t, a, 0
}

func (n *contentsDirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	t, a, e := n.tree(ctx)
	if e != 0 {
		return e
	}
	n.fs.dirAttr(&out.Attr, n.ino(), 2+subdirs(t.dirs[n.path]), 0o555, a.Created)
	return 0
}

func subdirs(es []treeEntry) uint32 {
	var k uint32
	for _, e := range es {
		if e.dir {
			k++
		}
	}
	return k
}

func (n *contentsDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, a, e := n.tree(ctx)
	if e != 0 {
		return nil, e
	}
	p := joinPath(n.path, name)
	if f, ok := t.files[p]; ok {
		m := &memberNode{fs: n.fs, vault: n.vault, archive: n.archive, id: n.id, path: p}
		n.fs.fileAttr(&out.Attr, m.ino(), 0o444, f.Size, a.Created)
		out.Attr.Blksize = bulkBlockSize
		return n.NewInode(ctx, m, fs.StableAttr{Mode: syscall.S_IFREG, Ino: m.ino()}), 0
	}
	if es, ok := t.dirs[p]; ok {
		d := &contentsDirNode{fs: n.fs, vault: n.vault, archive: n.archive, id: n.id, path: p}
		n.fs.dirAttr(&out.Attr, d.ino(), 2+subdirs(es), 0o555, a.Created)
		return n.NewInode(ctx, d, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: d.ino()}), 0
	}
	return nil, syscall.ENOENT
}

func (n *contentsDirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	t, _, e := n.tree(ctx)
	if e != 0 {
		return nil, e
	}
	es := t.dirs[n.path]
	list := make([]fuse.DirEntry, 0, len(es)+2)
	parent := contentsRootIno(n.vault)
	if n.path != "" {
		parent = contentsIno(n.vault, n.archive, n.id, dirOf(n.path))
	}
	list = append(list, dots(n.ino(), parent)...)
	for _, e := range es {
		mode := uint32(syscall.S_IFREG)
		if e.dir {
			mode = syscall.S_IFDIR
		}
		list = append(list, fuse.DirEntry{Name: e.name, Mode: mode, Ino: contentsIno(n.vault, n.archive, n.id, joinPath(n.path, e.name))})
	}
	return fs.NewListDirStream(list), 0
}

func (n *contentsDirNode) Getxattr(_ context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	return getXattr(nil, name, dest)
}
func (n *contentsDirNode) Listxattr(_ context.Context, dest []byte) (uint32, syscall.Errno) {
	return listXattr(nil, dest)
}

// memberNode is a file inside an archive.
type memberNode struct {
	fs.Inode
	fixedFile
	fs      *filesystem
	vault   string
	archive string
	id      int64
	path    string
}

func (n *memberNode) ino() uint64 { return contentsIno(n.vault, n.archive, n.id, n.path) }

func (n *memberNode) record(ctx context.Context) (store.FileRecord, control.ArchiveInfo, syscall.Errno) {
	a, ok, err := n.fs.idx.archive(ctx, n.vault, n.archive)
	if err != nil {
		return store.FileRecord{}, a, errno(err)
	}
	if !ok || a.ID != n.id {
		return store.FileRecord{}, a, syscall.ENOENT
	}
	t, err := n.fs.idx.contentsTree(ctx, n.vault, n.archive, n.id)
	if err != nil {
		return store.FileRecord{}, a, errno(err)
	}
	f, ok := t.files[n.path]
	if !ok {
		return f, a, syscall.ENOENT
	}
	return f, a, 0
}

func (n *memberNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	f, a, e := n.record(ctx)
	if e != 0 {
		return e
	}
	n.fs.fileAttr(&out.Attr, n.ino(), 0o444, f.Size, a.Created)
	out.Attr.Blksize = bulkBlockSize
	return 0
}

func (n *memberNode) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	if e, other := otherXattr(name); other {
		return 0, e
	}
	f, _, e := n.record(ctx)
	if e != 0 {
		return 0, e
	}
	return getXattr(memberXattrs(f), name, dest)
}

func (n *memberNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	f, _, e := n.record(ctx)
	if e != 0 {
		return 0, e
	}
	return listXattr(memberXattrs(f), dest)
}

// Open checks the archive in the catalog: without a local copy, EREMOTE.
// The stream itself starts at the first read. Reads are direct (not
// cached by the kernel), so they arrive in the reader's order.
func (n *memberNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !readOnly(flags) {
		return nil, 0, syscall.EPERM
	}
	a, err := n.fs.eng.Archive(ctx, n.vault, n.archive)
	if err != nil {
		return nil, 0, errno(err)
	}
	if a.ID != n.id {
		return nil, 0, syscall.ENOENT
	}
	if !a.Local || a.LocalPath == "" {
		return nil, 0, syscall.EREMOTE
	}
	return &streamHandle{info: a, path: n.path}, fuse.FOPEN_DIRECT_IO, 0
}

// streamWindow is how far back a read may go without restarting the
// stream (readers that re-read a header, or overlap their reads).
const streamWindow = 1 << 20

// streamHandle streams one file out of a local copy.
type streamHandle struct {
	info control.ArchiveInfo
	path string

	mu     sync.Mutex
	r      io.ReadCloser // nil before the first read and after a failure
	pos    int64         // bytes of the file read from r so far
	window []byte        // the last bytes read, ending at pos
}

func (h *streamHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.r != nil && off < h.pos-int64(len(h.window)) {
		h.reset()
	}
	if h.r == nil {
		r, err := control.OpenArchiveMember(h.info, h.path)
		if err != nil {
			return nil, errno(err)
		}
		h.r, h.pos, h.window = r, 0, h.window[:0]
	}
	// Read forward until off+len(dest) is in the window, or the end.
	want := off + int64(len(dest))
	buf := make([]byte, 256<<10)
	for h.pos < want {
		if err := ctx.Err(); err != nil {
			h.reset() // the position in the stream is lost
			return nil, syscall.EINTR
		}
		k, err := h.r.Read(buf)
		if k > 0 {
			h.pos += int64(k)
			h.window = append(h.window, buf[:k]...)
			if extra := len(h.window) - streamWindow - len(dest); extra > 0 {
				h.window = append(h.window[:0], h.window[extra:]...)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			h.reset()
			return nil, syscall.EIO
		}
	}
	start := off - (h.pos - int64(len(h.window)))
	if start < 0 || start >= int64(len(h.window)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(start+int64(len(dest)), int64(len(h.window)))
	return fuse.ReadResultData(append(dest[:0], h.window[start:end]...)), 0
}

func (h *streamHandle) reset() {
	if h.r != nil {
		h.r.Close()
	}
	h.r, h.pos, h.window = nil, 0, h.window[:0]
}

func (h *streamHandle) Release(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reset()
	return 0
}

func (n *contentsRootNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}

func (n *contentsDirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}

func (n *memberNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}
