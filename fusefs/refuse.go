package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Nothing in the mount is changed by writing to it, except through the
// control files (and mkdir/rmdir of vaults): every other change is refused
// with EPERM. go-fuse would otherwise let an unimplemented unlink or rmdir
// succeed silently, and answer others with ENOTSUP or EROFS.

// fixedDir refuses every change to a folder; a folder that allows one
// (the root: mkdir, rmdir) defines that method itself.
type fixedDir struct{}

func (fixedDir) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}
func (fixedDir) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (fixedDir) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (fixedDir) Symlink(context.Context, string, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (fixedDir) Link(context.Context, fs.InodeEmbedder, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (fixedDir) Unlink(context.Context, string) syscall.Errno { return syscall.EPERM }
func (fixedDir) Rmdir(context.Context, string) syscall.Errno  { return syscall.EPERM }
func (fixedDir) Rename(context.Context, string, fs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EPERM
}
func (fixedDir) Setattr(context.Context, fs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EPERM
}
func (fixedDir) Setxattr(context.Context, string, []byte, uint32) syscall.Errno { return syscall.EPERM }
func (fixedDir) Removexattr(context.Context, string) syscall.Errno              { return syscall.EPERM }

// fixedFile refuses every change to a read-only file: its size (truncate,
// O_TRUNC), times, mode, and extended attributes.
type fixedFile struct{}

func (fixedFile) Setattr(context.Context, fs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EPERM
}
func (fixedFile) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return syscall.EPERM
}
func (fixedFile) Removexattr(context.Context, string) syscall.Errno { return syscall.EPERM }

// readOnly reports whether open flags ask only to read.
func readOnly(flags uint32) bool {
	return flags&syscall.O_ACCMODE == syscall.O_RDONLY && flags&syscall.O_TRUNC == 0
}
