// Package tarballtest holds test helpers for code that archives and
// restores file trees.
package tarballtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// CompareTrees fails t unless the tree at got reproduces the tree at want
// exactly: the same names (byte for byte), types, permission and
// setuid/setgid/sticky bits, owners, sizes, contents, symbolic link
// targets, modification times to the nanosecond (directories and links
// included), and the same hard link groups. The roots themselves are
// compared too (mode, owner, mtime), not their names. Access and change
// times are not compared. Every difference is reported, up to a limit.
func CompareTrees(t testing.TB, want, got string) {
	t.Helper()
	w, err := scanTree(want)
	if err != nil {
		t.Fatalf("CompareTrees: reading want tree: %v", err)
	}
	g, err := scanTree(got)
	if err != nil {
		t.Fatalf("CompareTrees: reading got tree: %v", err)
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	for _, rel := range sortedKeys(w.nodes) {
		wn := w.nodes[rel]
		gn, ok := g.nodes[rel]
		if !ok {
			add("%q: missing", rel)
			continue
		}
		if wn.typ != gn.typ {
			add("%q: type %s, want %s", rel, gn.typ, wn.typ)
			continue
		}
		if wn.mode != gn.mode && wn.typ != "symlink" {
			add("%q: mode %04o, want %04o", rel, gn.mode, wn.mode)
		}
		if wn.uid != gn.uid || wn.gid != gn.gid {
			add("%q: owner %d:%d, want %d:%d", rel, gn.uid, gn.gid, wn.uid, wn.gid)
		}
		if wn.mtime != gn.mtime {
			add("%q: mtime %d.%09d, want %d.%09d", rel, gn.mtime.Sec, gn.mtime.Nsec, wn.mtime.Sec, wn.mtime.Nsec)
		}
		switch wn.typ {
		case "file":
			if wn.size != gn.size {
				add("%q: size %d, want %d", rel, gn.size, wn.size)
			} else if wn.sum != gn.sum {
				add("%q: contents differ", rel)
			}
			if !slices.Equal(w.linkGroup(rel), g.linkGroup(rel)) {
				add("%q: hard links %q, want %q", rel, g.linkGroup(rel), w.linkGroup(rel))
			}
		case "symlink":
			if wn.target != gn.target {
				add("%q: link to %q, want %q", rel, gn.target, wn.target)
			}
		}
	}
	for _, rel := range sortedKeys(g.nodes) {
		if _, ok := w.nodes[rel]; !ok {
			add("%q: not expected (%s)", rel, g.nodes[rel].typ)
		}
	}
	const limit = 40
	for i, d := range diffs {
		if i == limit {
			t.Errorf("CompareTrees: … and %d more differences", len(diffs)-limit)
			break
		}
		t.Errorf("CompareTrees %s vs %s: %s", want, got, d)
	}
}

type node struct {
	typ      string
	mode     uint32 // permission + setuid/setgid/sticky
	uid, gid uint32
	mtime    unix.Timespec
	size     int64
	sum      [sha256.Size]byte
	target   string
	ino      uint64
	dev      uint64
	nlink    uint64
}

type tree struct {
	nodes map[string]*node // "" is the root
}

// linkGroup lists the other paths of the tree with the same inode.
func (t *tree) linkGroup(rel string) []string {
	n := t.nodes[rel]
	if n.nlink < 2 {
		return nil
	}
	var group []string
	for p, o := range t.nodes {
		if p != rel && o.typ == "file" && o.ino == n.ino && o.dev == n.dev {
			group = append(group, p)
		}
	}
	slices.Sort(group)
	return group
}

func scanTree(root string) (*tree, error) {
	t := &tree{nodes: make(map[string]*node)}
	var scan func(abs, rel string) error
	scan = func(abs, rel string) error {
		var st unix.Stat_t
		if err := unix.Lstat(abs, &st); err != nil {
			return fmt.Errorf("lstat %s: %w", abs, err)
		}
		n := &node{
			mode:  st.Mode & 0o7777,
			uid:   st.Uid,
			gid:   st.Gid,
			mtime: st.Mtim,
			ino:   st.Ino,
			dev:   st.Dev,
			nlink: uint64(st.Nlink),
		}
		t.nodes[rel] = n
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			n.typ, n.size = "file", st.Size
			f, err := os.Open(abs)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("reading %s: %w", abs, err)
			}
			copy(n.sum[:], h.Sum(nil))
		case unix.S_IFLNK:
			n.typ = "symlink"
			target, err := os.Readlink(abs)
			if err != nil {
				return err
			}
			n.target = target
		case unix.S_IFDIR:
			n.typ = "dir"
			f, err := os.Open(abs)
			if err != nil {
				return err
			}
			names, err := f.Readdirnames(-1)
			f.Close()
			if err != nil {
				return fmt.Errorf("listing %s: %w", abs, err)
			}
			for _, name := range names {
				child := name
				if rel != "" {
					child = rel + "/" + name
				}
				if err := scan(filepath.Join(abs, name), child); err != nil {
					return err
				}
			}
		default:
			n.typ = fmt.Sprintf("special(%o)", st.Mode&unix.S_IFMT)
		}
		return nil
	}
	if err := scan(root, ""); err != nil {
		return nil, err
	}
	return t, nil
}

func sortedKeys(m map[string]*node) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) })
	return keys
}
