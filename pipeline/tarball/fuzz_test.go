package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds are archives worth mutating: our own output and the classic
// attacks.
func fuzzSeeds(f *testing.F) [][]byte {
	src := filepath.Join(f.TempDir(), "seed")
	buildTree(f, src, treeSpec{files: 3, maxSize: 50, big: 600})
	sel, err := Walk(context.Background(), []string{src}, WalkOptions{})
	if err != nil {
		f.Fatal(err)
	}
	var own bytes.Buffer
	if _, err := Write(context.Background(), &own, sel.Entries, WriteOptions{}); err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{own.Bytes(), own.Bytes()[:own.Len()/2]}
	for _, entries := range [][]hdr{
		{{typ: tar.TypeReg, name: "../x", body: "x"}},
		{{typ: tar.TypeReg, name: "/tmp/x", body: "x"}},
		{{typ: tar.TypeDir, name: "a/"}, {typ: tar.TypeReg, name: "a/../../x", body: "x"}},
		{{typ: tar.TypeSymlink, name: "l", target: "/"}, {typ: tar.TypeReg, name: "l/tmp/x", body: "x"}},
		{{typ: tar.TypeSymlink, name: "l", target: "../../.."}, {typ: tar.TypeReg, name: "l/x", body: "x"}},
		{{typ: tar.TypeSymlink, name: "l", target: "."}, {typ: tar.TypeReg, name: "l/x", body: "x"}},
		{{typ: tar.TypeLink, name: "h", target: "/etc/passwd"}},
		{{typ: tar.TypeReg, name: "f", body: "x"}, {typ: tar.TypeLink, name: "h", target: "f"}, {typ: tar.TypeReg, name: "h", body: "y"}},
		{{typ: tar.TypeDir, name: "d/", mode: 0o500}, {typ: tar.TypeReg, name: "d/f", body: "x"}},
		{{typ: tar.TypeSymlink, name: "evil/x", target: "y"}},
	} {
		seeds = append(seeds, makeTar(f, entries))
	}
	return seeds
}

// checkFuzzDest is the invariant: nothing beside dest changed, and without
// AllowOutsideLinks no link created in dest resolves outside it.
func checkFuzzDest(t *testing.T, r *escapeRig, opts ExtractOptions, seededEvil bool) {
	r.check(t)
	if opts.AllowOutsideLinks || seededEvil {
		return
	}
	realDest, err := filepath.EvalSymlinks(r.dest)
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(r.dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // dangling or a loop: points nowhere
		}
		if resolved != realDest && !strings.HasPrefix(resolved, realDest+"/") {
			target, _ := os.Readlink(p)
			t.Fatalf("link %s -> %q resolves outside the destination, to %s", p, target, resolved)
		}
		return nil
	})
}

func fuzzOptions(flags uint8) (ExtractOptions, bool) {
	return ExtractOptions{
		Overwrite:         flags&1 != 0,
		AllowOutsideLinks: flags&2 != 0,
		SameOwner:         flags&4 != 0,
	}, flags&8 != 0
}

// seedEvil puts a link to the destination's parent into dest, as a user
// might have left one, to check that nothing is written through it.
func seedEvil(t *testing.T, r *escapeRig) {
	if err := os.Symlink(r.base, filepath.Join(r.dest, "evil")); err != nil {
		t.Fatal(err)
	}
}

// FuzzExtract feeds arbitrary bytes to Extract: it may fail, but must
// never panic, hang, or write outside the destination.
func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0b1011))
	}
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		r := newEscapeRig(t)
		opts, evil := fuzzOptions(flags)
		if evil {
			seedEvil(t, r)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = Extract(ctx, bytes.NewReader(data), r.dest, opts)
		checkFuzzDest(t, r, opts, evil)
	})
}

// FuzzExtractEntries builds well-formed archives from a small text
// language, so the fuzzer spends its time on names and link targets rather
// than on header checksums. One entry per line: "<type> <name> <target>"
// with type f (file), d (dir), l (symlink), h (hard link), c (char device).
func FuzzExtractEntries(f *testing.F) {
	for _, s := range []string{
		"f ../x\n",
		"d a\nf a/../../x\n",
		"l l /\nf l/x\n",
		"l up ..\nf up/outside.txt\n",
		"d d\nl d/l ..\nf d/l/x\n",
		"d d\nl d/x ..\nl l2 d/x/..\nf l2/outside.txt\n",
		"h h /etc/passwd\n",
		"f f\nh h f\nf h\n",
		"f evil/outside.txt\n",
		"l a b\nl b a\nf a/x\n",
		"c dev\nf ./ok\nd ./\n",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0b1011))
	}
	f.Fuzz(func(t *testing.T, spec string, flags uint8) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for line := range strings.SplitSeq(spec, "\n") {
			fields := strings.SplitN(line, " ", 3)
			if len(fields) < 2 || fields[1] == "" {
				continue
			}
			h := &tar.Header{Name: fields[1], Mode: 0o644, ModTime: time.Unix(1e9, 0), Format: tar.FormatPAX}
			if len(fields) == 3 {
				h.Linkname = fields[2]
			}
			switch fields[0] {
			case "f":
				h.Typeflag, h.Size = tar.TypeReg, 1
			case "d":
				h.Typeflag, h.Mode = tar.TypeDir, 0o755
			case "l":
				h.Typeflag = tar.TypeSymlink
			case "h":
				h.Typeflag = tar.TypeLink
			case "c":
				h.Typeflag = tar.TypeChar
			default:
				continue
			}
			if tw.WriteHeader(h) != nil {
				return // archive/tar refuses it; nothing to extract
			}
			if h.Size == 1 {
				tw.Write([]byte("p"))
			}
		}
		if tw.Close() != nil {
			return
		}
		r := newEscapeRig(t)
		opts, evil := fuzzOptions(flags)
		if evil {
			seedEvil(t, r)
		}
		_, _ = Extract(context.Background(), &buf, r.dest, opts)
		checkFuzzDest(t, r, opts, evil)
	})
}
