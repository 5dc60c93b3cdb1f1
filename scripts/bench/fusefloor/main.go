// Command fusefloor mounts the least a FUSE filesystem can be, for
// scripts/bench-mount.sh: the regular files of a source folder, each
// answering the extended attributes the source file carries, read once at
// start and kept in memory. Nothing is looked up per call, so timing
// `getfattr -d` on it measures what the kernel and go-fuse cost per round
// trip on this machine — the floor under any go-fuse filesystem,
// freezer's included — beside the same command on tmpfs and on freezer.
// It mounts with the options freezer's mount uses and runs until SIGINT
// or SIGTERM.
//
//	go run ./scripts/bench/fusefloor -src DIR MOUNTPOINT
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// xattr is one attribute, name in full.
type xattr struct {
	name  string
	value []byte
}

type root struct {
	fs.Inode
	files map[string][]xattr
}

func (r *root) OnAdd(ctx context.Context) {
	ino := uint64(2)
	for name, attrs := range r.files {
		var list []byte
		for _, a := range attrs {
			list = append(append(list, a.name...), 0)
		}
		ch := r.NewPersistentInode(ctx, &file{attrs: attrs, list: list}, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
		r.AddChild(name, ch, false)
		ino++
	}
}

type file struct {
	fs.Inode
	attrs []xattr
	list  []byte // the names, each with its NUL: Listxattr's answer
}

func (f *file) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	return 0
}

func (f *file) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	for _, a := range f.attrs {
		if a.name != name {
			continue
		}
		if len(dest) < len(a.value) {
			return uint32(len(a.value)), syscall.ERANGE
		}
		return uint32(copy(dest, a.value)), 0
	}
	return 0, syscall.ENODATA
}

func (f *file) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if len(dest) < len(f.list) {
		return uint32(len(f.list)), syscall.ERANGE
	}
	return uint32(copy(dest, f.list)), 0
}

// load reads every regular file's extended attributes in dir.
func load(dir string) (map[string][]xattr, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]xattr, len(entries))
	buf, val := make([]byte, 64<<10), make([]byte, 64<<10)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		n, err := syscall.Listxattr(p, buf)
		if err != nil {
			return nil, fmt.Errorf("%s: list attributes: %w", p, err)
		}
		var attrs []xattr
		for name := range bytes.SplitSeq(bytes.TrimRight(buf[:n], "\x00"), []byte{0}) {
			if len(name) == 0 {
				continue
			}
			m, err := syscall.Getxattr(p, string(name), val)
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %s: %w", p, name, err)
			}
			attrs = append(attrs, xattr{name: string(name), value: bytes.Clone(val[:m])})
		}
		files[e.Name()] = attrs
	}
	return files, nil
}

func main() {
	src := flag.String("src", "", "folder whose files and their extended attributes the mount shows")
	flag.Parse()
	if *src == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fusefloor -src DIR MOUNTPOINT")
		os.Exit(2)
	}
	files, err := load(*src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fusefloor:", err)
		os.Exit(1)
	}
	// The kernel cache timeouts freezer's mount uses by default.
	ttl, neg := 10*time.Second, 10*time.Second
	srv, err := fs.Mount(flag.Arg(0), &root{files: files}, &fs.Options{
		MountOptions: fuse.MountOptions{FsName: "fusefloor", Name: "fusefloor", DirectMount: true},
		EntryTimeout: &ttl, AttrTimeout: &ttl, NegativeTimeout: &neg,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fusefloor: mount:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		srv.Unmount()
	}()
	srv.Wait()
}
