package fusefs

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
)

// archiveNode is an archive: a read-only file whose bytes are the local
// copy (the compressed tar) when there is one. Opening an archive without
// a local copy fails with EREMOTE at once: it never starts a retrieval,
// which costs money and takes hours (retrieve through the control files).
// Its state and metadata are extended attributes.
type archiveNode struct {
	fs.Inode
	fixedFile
	fs    *filesystem
	vault string
	name  string
	id    int64
}

// newArchive returns the inode of an archive with its entry filled.
func (f *filesystem) newArchive(ctx context.Context, parent *fs.Inode, a control.ArchiveInfo, out *fuse.EntryOut) *fs.Inode {
	f.archiveAttr(&out.Attr, a)
	// A listing looks every entry up again: reuse the inode the kernel
	// already has rather than make one to throw away.
	if ch := parent.GetChild(a.Name); ch != nil && ch.StableAttr().Ino == out.Attr.Ino {
		return ch
	}
	return parent.NewInode(ctx, &archiveNode{fs: f, vault: a.Vault, name: a.Name, id: a.ID},
		fs.StableAttr{Mode: syscall.S_IFREG, Ino: archiveIno(a.Vault, a.Name, a.ID)})
}

// archiveAttr: the size is what reading returns — the local copy's size
// once freezer has made or downloaded it (it stays known after a
// disconnect), else the bytes in Glacier; user.freezer.size is always the
// bytes in Glacier. The mtime is the archive's creation date.
func (f *filesystem) archiveAttr(a *fuse.Attr, info control.ArchiveInfo) {
	size := info.Size
	if info.LocalSize > 0 {
		size = info.LocalSize
	}
	f.fileAttr(a, archiveIno(info.Vault, info.Name, info.ID), 0o444, size, info.Created)
	a.Blksize = bulkBlockSize
}

// bulkBlockSize is the I/O size archives and the files inside them ask
// for (st_blksize): cat, cp and dd then read a MiB at a time, which is a
// quarter of the system calls (and, without passthrough, of the round
// trips to freezer) that the usual 128 KiB would take.
const bulkBlockSize = 1 << 20

// info is the archive as the index has it; ENOENT once it is gone (or
// replaced by another archive of the same name).
func (n *archiveNode) info(ctx context.Context) (control.ArchiveInfo, syscall.Errno) {
	a, ok, err := n.fs.idx.archive(ctx, n.vault, n.name)
	if err != nil {
		return a, errno(err)
	}
	if !ok || a.ID != n.id {
		return a, syscall.ENOENT
	}
	return a, 0
}

func (n *archiveNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a, e := n.info(ctx)
	if e != 0 {
		return e
	}
	n.fs.archiveAttr(&out.Attr, a)
	return 0
}

// Open reads the archive from the catalog itself (not the index): whether
// a local copy exists decides between its bytes and EREMOTE, and an event
// may be a few milliseconds behind.
func (n *archiveNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !readOnly(flags) {
		return nil, 0, syscall.EPERM
	}
	a, err := n.fs.eng.Archive(ctx, n.vault, n.name)
	if err != nil {
		return nil, 0, errno(err)
	}
	if a.ID != n.id {
		return nil, 0, syscall.ENOENT
	}
	if !a.Local || a.LocalPath == "" {
		return nil, 0, syscall.EREMOTE
	}
	f, err := os.Open(a.LocalPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, syscall.EREMOTE // disconnected meanwhile
	}
	if err != nil {
		n.fs.log.Warn().Err(err).Str("vault", n.vault).Str("archive", n.name).Msg("cannot open the local copy")
		return nil, 0, errno(err)
	}
	// The bytes of a local copy never change (a new copy is a new file,
	// and events flush the cache), so the kernel may keep them.
	return &archiveHandle{f: f}, fuse.FOPEN_KEEP_CACHE, 0
}

// archiveHandle reads a local copy. The kernel may read through to the
// file itself (FUSE passthrough, when the kernel offers it and freezer
// runs as root); otherwise reads are spliced from the file.
type archiveHandle struct {
	mu sync.Mutex // guards f against Release during a read
	f  *os.File
}

func (h *archiveHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return nil, syscall.EBADF
	}
	return fuse.ReadResultFd(h.f.Fd(), off, len(dest)), 0
}

// PassthroughFd lets the kernel read the local copy directly.
func (h *archiveHandle) PassthroughFd() (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return 0, false
	}
	return int(h.f.Fd()), true
}

func (h *archiveHandle) Release(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		h.f.Close()
		h.f = nil
	}
	return 0
}

func (n *archiveNode) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	if e, other := otherXattr(name); other {
		return 0, e
	}
	a, e := n.info(ctx)
	if e != 0 {
		return 0, e
	}
	return getXattr(archiveXattrs(a), name, dest)
}

func (n *archiveNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	a, e := n.info(ctx)
	if e != 0 {
		return 0, e
	}
	return listXattr(archiveXattrs(a), dest)
}

// Write is refused: an archive's bytes are what Glacier holds.
func (n *archiveNode) Write(context.Context, fs.FileHandle, []byte, int64) (uint32, syscall.Errno) {
	return 0, syscall.EPERM
}

func (n *archiveNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}
