package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
)

// vaultNode is a vault's folder: one file per archive, and .contents.
// Archives are made, removed and renamed only through the control files:
// every change here is refused with EPERM.
type vaultNode struct {
	fs.Inode
	fixedDir
	fs   *filesystem
	name string
}

func vaultIno(name string) uint64 { return ino("vault", name) }

// newVault returns the inode of a vault's folder with its entry filled.
func (f *filesystem) newVault(ctx context.Context, parent *fs.Inode, v control.VaultInfo, out *fuse.EntryOut) *fs.Inode {
	f.vaultAttr(&out.Attr, v)
	return parent.NewInode(ctx, &vaultNode{fs: f, name: v.Name}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: vaultIno(v.Name)})
}

func (f *filesystem) vaultAttr(a *fuse.Attr, v control.VaultInfo) {
	// ., the root's entry, and .contents' ..
	f.dirAttr(a, vaultIno(v.Name), 3, 0o755, v.Created)
}

func (n *vaultNode) info(ctx context.Context) (control.VaultInfo, syscall.Errno) {
	v, ok, err := n.fs.idx.vault(ctx, n.name)
	if err != nil {
		return v, errno(err)
	}
	if !ok {
		return v, syscall.ENOENT
	}
	return v, 0
}

func (n *vaultNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	v, e := n.info(ctx)
	if e != 0 {
		return e
	}
	n.fs.vaultAttr(&out.Attr, v)
	return 0
}

func (n *vaultNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if name == control.ReservedArchiveName {
		return n.fs.newContentsRoot(ctx, &n.Inode, n.name, out), 0
	}
	a, ok, err := n.fs.idx.archive(ctx, n.name, name)
	if err != nil {
		return nil, errno(err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	return n.fs.newArchive(ctx, &n.Inode, a, out), 0
}

func (n *vaultNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	s, err := n.fs.idx.archiveList(ctx, n.name)
	if err != nil {
		return nil, errno(err)
	}
	return &archiveStream{vault: n.name, set: s, i: -3}, 0
}

// archiveStream lists a vault without copying its listing.
type archiveStream struct {
	vault string
	set   *archiveSet
	i     int // -3, -2: . and ..; -1: .contents
}

func (s *archiveStream) HasNext() bool { return s.i < len(s.set.names) }
func (s *archiveStream) Next() (fuse.DirEntry, syscall.Errno) {
	switch s.i {
	case -3:
		s.i++
		return fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: vaultIno(s.vault)}, 0
	case -2:
		s.i++
		return fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: 1}, 0
	case -1:
		s.i++
		return fuse.DirEntry{Name: control.ReservedArchiveName, Mode: syscall.S_IFDIR, Ino: contentsRootIno(s.vault)}, 0
	}
	a := s.set.byName[s.set.names[s.i]]
	s.i++
	return fuse.DirEntry{Name: a.Name, Mode: syscall.S_IFREG, Ino: archiveIno(s.vault, a.Name, a.ID)}, 0
}
func (s *archiveStream) Close() {}

func (n *vaultNode) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	if e, other := otherXattr(name); other {
		return 0, e
	}
	v, e := n.info(ctx)
	if e != 0 {
		return 0, e
	}
	return getXattr(vaultXattrs(v), name, dest)
}

func (n *vaultNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	v, e := n.info(ctx)
	if e != 0 {
		return 0, e
	}
	return listXattr(vaultXattrs(v), dest)
}

func (n *vaultNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}
