package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
)

// rootNode is the mount's top folder: one folder per vault, and .control.
// mkdir creates a vault and rmdir removes an empty one; nothing else can
// be made here.
type rootNode struct {
	fs.Inode
	fixedDir
	fs *filesystem
}

func (n *rootNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	nlink := uint32(3) // ., the parent's entry, .control's ..
	if s, err := n.fs.idx.vaultList(ctx); err == nil {
		nlink += uint32(len(s.names))
	}
	n.fs.dirAttr(&out.Attr, 1, nlink, 0o755, n.fs.start)
	return 0
}

func (n *rootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if name == control.ControlDir {
		return n.fs.newControlDir(ctx, &n.Inode, out), 0
	}
	v, ok, err := n.fs.idx.vault(ctx, name)
	if err != nil {
		return nil, errno(err)
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	return n.fs.newVault(ctx, &n.Inode, v, out), 0
}

func (n *rootNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	// Someone looks at the vaults: a good moment to ask Glacier for
	// news, in the background.
	n.fs.pokeRefresh(false)
	s, err := n.fs.idx.vaultList(ctx)
	if err != nil {
		return nil, errno(err)
	}
	list := make([]fuse.DirEntry, 0, len(s.names)+3)
	list = append(list, dots(1, 1)...)
	list = append(list, fuse.DirEntry{Name: control.ControlDir, Mode: syscall.S_IFDIR, Ino: controlIno})
	for _, name := range s.names {
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: vaultIno(name)})
	}
	return fs.NewListDirStream(list), 0
}

// Mkdir creates a vault in Glacier and the catalog.
func (n *rootNode) Mkdir(ctx context.Context, name string, _ uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if _, err := n.fs.do(ctx, "vault create", &control.VaultCreateRequest{Name: name}); err != nil {
		return nil, errno(err)
	}
	n.fs.idx.vaults.invalidate()
	n.fs.pokeRefresh(true) // Glacier knows the vault's ARN now
	v, ok, err := n.fs.idx.vault(ctx, name)
	if err != nil {
		return nil, errno(err)
	}
	if !ok {
		return nil, syscall.EIO
	}
	return n.fs.newVault(ctx, &n.Inode, v, out), 0
}

// Rmdir removes an empty vault. Archives left: ENOTEMPTY. Glacier still
// counting archives until its next inventory: EBUSY, with the reason in
// .control/errors.
func (n *rootNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if name == control.ControlDir {
		return syscall.EPERM
	}
	_, err := n.fs.do(ctx, "vault remove", &control.VaultRemoveRequest{Name: name})
	n.fs.idx.vaults.invalidate()
	n.fs.idx.invalidateVault(name)
	return errno(err)
}

func (n *rootNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}

func (n *rootNode) Getxattr(_ context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	return getXattr(nil, name, dest)
}
func (n *rootNode) Listxattr(_ context.Context, dest []byte) (uint32, syscall.Errno) {
	return listXattr(nil, dest)
}

// do runs requests through the engine for an operation that is not a
// control file (mkdir, rmdir): a refusal is logged by the engine, a
// failure after the check is returned.
func (f *filesystem) do(ctx context.Context, what string, reqs ...control.Request) ([]control.Reply, error) {
	reps, err := f.eng.Do(ctx, reqs...)
	if err != nil {
		f.log.Debug().Str("op", what).Err(err).Msg("refused")
		return nil, err
	}
	for _, r := range reps {
		if r.Err != nil {
			return reps, r.Err
		}
	}
	return reps, nil
}
