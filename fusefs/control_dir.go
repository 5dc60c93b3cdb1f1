package fusefs

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
)

// The control directory (DESIGN.md, "Control protocol"): files that take
// control-protocol lines, snapshots of the catalog to read, and keys/.

// ctlFile is one file of .control.
type ctlFile struct {
	name string
	mode uint32
	// verb is implied by a write to this file ("" for ctl: any verb);
	// writable reports whether the file takes lines at all.
	verb     string
	writable bool
	// snapshot renders what a read returns (taken at open); nil for
	// files that only take lines (a read then shows their usage until a
	// reply replaces it).
	snapshot func(ctx context.Context, f *filesystem) ([]byte, error)
}

var controlFiles = []ctlFile{
	{name: "ctl", mode: 0o600, writable: true},
	{name: "new-archive", mode: 0o600, verb: "new-archive", writable: true},
	{name: "retrieve", mode: 0o600, verb: "retrieve", writable: true},
	{name: "disconnect", mode: 0o600, verb: "disconnect", writable: true},
	{name: "remove", mode: 0o600, verb: "remove", writable: true},
	{name: "inventory", mode: 0o600, verb: "inventory", writable: true},
	{name: "new-key", mode: 0o600, verb: "new-key", writable: true},
	{name: "cancel", mode: 0o600, verb: "cancel", writable: true},
	{name: "upload", mode: 0o600, verb: "upload", writable: true},
	{name: "plan", mode: 0o600, verb: "plan", writable: true},
	{name: "settings", mode: 0o600, verb: "settings", writable: true, snapshot: settingsText},
	{name: "settings.json", mode: 0o444, snapshot: settingsJSON},
	{name: "status", mode: 0o444, snapshot: statusText},
	{name: "status.json", mode: 0o444, snapshot: statusJSON},
	{name: "jobs", mode: 0o444, snapshot: jobsText},
	{name: "jobs.json", mode: 0o444, snapshot: jobsJSON},
	{name: "files", mode: 0o444, snapshot: filesText},
	{name: "files.json", mode: 0o444, snapshot: filesJSON},
	{name: "errors", mode: 0o444, snapshot: errorsText},
	{name: "errors.json", mode: 0o444, snapshot: errorsJSON},
}

// keysDirName is the folder of key exports inside .control.
const keysDirName = "keys"

// importFile is keys/import: it takes a key's JSON.
var importFile = ctlFile{name: "import", mode: 0o600, verb: "key import", writable: true}

var controlIno = ino("control")

func ctlFileIno(name string) uint64 { return ino("control", name) }

// noNegative makes the kernel not remember a failed lookup: keys come and
// go with no event that names them here.
func noNegative(out *fuse.EntryOut) { out.SetEntryTimeout(time.Nanosecond) }

// controlDirNode is .control.
type controlDirNode struct {
	fs.Inode
	fixedDir
	fs *filesystem
}

func (f *filesystem) newControlDir(ctx context.Context, parent *fs.Inode, out *fuse.EntryOut) *fs.Inode {
	f.dirAttr(&out.Attr, controlIno, 3, 0o755, f.start)
	return parent.NewInode(ctx, &controlDirNode{fs: f}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: controlIno})
}

func (n *controlDirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.dirAttr(&out.Attr, controlIno, 3, 0o755, n.fs.start)
	return 0
}

func (n *controlDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if name == keysDirName {
		ino := ctlFileIno(keysDirName)
		n.fs.dirAttr(&out.Attr, ino, 2, 0o700, n.fs.start)
		return n.NewInode(ctx, &keysDirNode{fs: n.fs}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino}), 0
	}
	for i := range controlFiles {
		if controlFiles[i].name == name {
			return n.fs.newCtlFile(ctx, &n.Inode, &controlFiles[i], ctlFileIno(name), out), 0
		}
	}
	return nil, syscall.ENOENT
}

func (n *controlDirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	list := append(dots(controlIno, 1), fuse.DirEntry{Name: keysDirName, Mode: syscall.S_IFDIR, Ino: ctlFileIno(keysDirName)})
	for _, c := range controlFiles {
		list = append(list, fuse.DirEntry{Name: c.name, Mode: syscall.S_IFREG, Ino: ctlFileIno(c.name)})
	}
	return fs.NewListDirStream(list), 0
}

func (n *controlDirNode) Getxattr(_ context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	return getXattr(nil, name, dest)
}
func (n *controlDirNode) Listxattr(_ context.Context, dest []byte) (uint32, syscall.Errno) {
	return listXattr(nil, dest)
}

// keysDirNode is .control/keys: ID.json per key (its export, 0400) and
// import.
type keysDirNode struct {
	fs.Inode
	fixedDir
	fs *filesystem
}

func keyFileIno(id string) uint64 { return ino("key", id) }

func (n *keysDirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.dirAttr(&out.Attr, ctlFileIno(keysDirName), 2, 0o700, n.fs.start)
	return 0
}

func (n *keysDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if name == importFile.name {
		return n.fs.newCtlFile(ctx, &n.Inode, &importFile, ctlFileIno("keys/import"), out), 0
	}
	id, ok := strings.CutSuffix(name, ".json")
	if !ok {
		noNegative(out)
		return nil, syscall.ENOENT
	}
	k, found, err := n.fs.key(ctx, id)
	if err != nil {
		return nil, errno(err)
	}
	if !found {
		noNegative(out)
		return nil, syscall.ENOENT
	}
	kn := &keyFileNode{fs: n.fs, id: k.ID}
	if e := kn.attr(ctx, &out.Attr); e != 0 {
		return nil, e
	}
	out.SetAttrTimeout(0)
	out.SetEntryTimeout(time.Second)
	return n.NewInode(ctx, kn, fs.StableAttr{Mode: syscall.S_IFREG, Ino: keyFileIno(k.ID)}), 0
}

func (n *keysDirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	ks, err := n.fs.eng.Keys(ctx)
	if err != nil {
		return nil, errno(err)
	}
	list := append(dots(ctlFileIno(keysDirName), controlIno), fuse.DirEntry{Name: importFile.name, Mode: syscall.S_IFREG, Ino: ctlFileIno("keys/import")})
	for _, k := range ks {
		list = append(list, fuse.DirEntry{Name: k.ID + ".json", Mode: syscall.S_IFREG, Ino: keyFileIno(k.ID)})
	}
	return fs.NewListDirStream(list), 0
}

func (n *keysDirNode) Getxattr(_ context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	return getXattr(nil, name, dest)
}
func (n *keysDirNode) Listxattr(_ context.Context, dest []byte) (uint32, syscall.Errno) {
	return listXattr(nil, dest)
}

// key finds a key by id.
func (f *filesystem) key(ctx context.Context, id string) (control.KeyInfo, bool, error) {
	ks, err := f.eng.Keys(ctx)
	if err != nil {
		return control.KeyInfo{}, false, err
	}
	for _, k := range ks {
		if k.ID == id {
			return k, true, nil
		}
	}
	return control.KeyInfo{}, false, nil
}

// keyFileNode is keys/ID.json: the key's export, as `freezer key export`
// prints it. Only the user who mounted can read it (mode 0400, and the
// mount is private); key material appears nowhere else in the mount.
type keyFileNode struct {
	fs.Inode
	fixedFile
	fs *filesystem
	id string
}

func (n *keyFileNode) attr(ctx context.Context, a *fuse.Attr) syscall.Errno {
	k, ok, err := n.fs.key(ctx, n.id)
	if err != nil {
		return errno(err)
	}
	if !ok {
		return syscall.ENOENT
	}
	data, err := n.fs.eng.ExportKey(ctx, n.id)
	if err != nil {
		return errno(err)
	}
	n.fs.fileAttr(a, keyFileIno(n.id), 0o400, int64(len(data)), k.Created)
	return 0
}

func (n *keyFileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.SetTimeout(0)
	return n.attr(ctx, &out.Attr)
}

func (n *keyFileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !readOnly(flags) {
		return nil, 0, syscall.EPERM
	}
	data, err := n.fs.eng.ExportKey(ctx, n.id)
	if err != nil {
		return nil, 0, errno(err)
	}
	return &snapshotHandle{data: data}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *keyFileNode) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	k, ok, err := n.fs.key(ctx, n.id)
	if err != nil {
		return 0, errno(err)
	}
	if !ok {
		return 0, syscall.ENOENT
	}
	return getXattr(keyXattrs(k), name, dest)
}

func (n *keyFileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	k, ok, err := n.fs.key(ctx, n.id)
	if err != nil {
		return 0, errno(err)
	}
	if !ok {
		return 0, syscall.ENOENT
	}
	return listXattr(keyXattrs(k), dest)
}

func (n *controlDirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}

func (n *keysDirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}

func (n *keyFileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fs.statfs(out)
}
