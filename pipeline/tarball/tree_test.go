package tarball

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Names in the test tree that tests look for.
const (
	nameSpaces  = "with space.txt"
	nameUnicode = "ünïcødé 写真 – ok.txt"
	nameNonUTF8 = "bad\xff\xfename.bin" // not valid UTF-8
	nameBig     = "big.bin"
)

// treeSpec sizes a generated tree.
type treeSpec struct {
	files   int   // small files spread over nested directories
	maxSize int   // of a small file
	big     int64 // size of big.bin (several copy buffers)
}

// buildTree creates a tree at root (which must not exist) with every kind
// of entry the archive must carry, and gives everything distinct
// nanosecond mtimes. It returns the number of regular file names.
func buildTree(t testing.TB, root string, spec treeSpec) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(spec.files), 1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, data []byte, mode uint32) {
		t.Helper()
		p := filepath.Join(root, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, 0o600))
		must(unix.Chmod(p, uint32(mode))) // raw bits: 0o4000 is setuid, no umask
	}
	must(os.MkdirAll(root, 0o755))
	files := 0
	// Small files in nested directories.
	for i := range spec.files {
		dir := fmt.Sprintf("d%02d/sub%d", i%37, i%5)
		if i%11 == 0 {
			dir = fmt.Sprintf("d%02d", i%37)
		}
		size := 0
		if i%13 != 0 { // some empty files
			size = rng.IntN(spec.maxSize + 1)
		}
		write(fmt.Sprintf("%s/f%05d.txt", dir, i), randomText(rng, size), 0o644)
		files++
	}
	write(nameSpaces, []byte("spaces\n"), 0o644)
	write(nameUnicode, []byte("unicode\n"), 0o640)
	write(nameNonUTF8, []byte("not utf-8\n"), 0o600)
	write("empty.txt", nil, 0o644)
	write("ro.txt", []byte("read only"), 0o444)
	write("run.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write("suid", []byte("setuid bit"), 0o4755)
	files += 7
	big := make([]byte, spec.big)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	write(nameBig, big, 0o644)
	files++
	// A deep path, over the 100 and 255 byte limits of old tar headers.
	deep := strings.Repeat("a-rather-long-directory-name-/", 12) + "deep file.txt"
	write(deep, []byte("deep"), 0o644)
	files++
	must(os.Mkdir(filepath.Join(root, "emptydir"), 0o750))
	must(os.Mkdir(filepath.Join(root, "sticky"), 0o755))
	must(unix.Chmod(filepath.Join(root, "sticky"), 0o1777))
	must(os.Mkdir(filepath.Join(root, "setgid"), 0o755))
	must(unix.Chmod(filepath.Join(root, "setgid"), 0o2775))
	// Hard links: two names, one inode.
	write("hard1", []byte("one inode, two names"), 0o644)
	must(os.Link(filepath.Join(root, "hard1"), filepath.Join(root, "d01", "hard2")))
	files += 2
	// Owned by someone else.
	write("owned", []byte("owned by 1234:5678"), 0o644)
	must(os.Lchown(filepath.Join(root, "owned"), 1234, 5678))
	files++
	// Symbolic links: relative, absolute, dangling, to a directory.
	must(os.MkdirAll(filepath.Join(root, "links"), 0o755))
	must(os.Symlink("../"+nameSpaces, filepath.Join(root, "links", "rel")))
	must(os.Symlink(filepath.Join(root, "d00"), filepath.Join(root, "links", "abs")))
	must(os.Symlink("does/not/exist", filepath.Join(root, "links", "dangling")))
	must(os.Symlink("../d01", filepath.Join(root, "links", "dirlink")))
	must(os.Symlink(".", filepath.Join(root, "links", "self")))
	must(os.Lchown(filepath.Join(root, "links", "rel"), 1234, 5678))
	setTreeTimes(t, root)
	return files
}

// setTreeTimes gives every entry a distinct mtime with nanoseconds,
// children before their directory so directory times stick.
func setTreeTimes(t testing.TB, root string) {
	t.Helper()
	base := time.Date(2021, 6, 15, 10, 0, 0, 0, time.UTC)
	i := 0
	var walk func(p string)
	walk = func(p string) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			names, err := readNames(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				walk(p + "/" + n)
			}
		}
		i++
		mt := base.Add(time.Duration(i) * 1_123_456_789)
		ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	walk(root)
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

func randomText(rng *rand.Rand, n int) []byte {
	const words = "glacier vault frozen melted liquid archive photo tar gzip hash "
	out := make([]byte, n)
	for i := range out {
		if rng.IntN(500) == 0 {
			out[i] = byte(rng.Uint32())
		} else {
			out[i] = words[(i*7+rng.IntN(3))%len(words)]
		}
	}
	return out
}

func sha256File(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// asNobody runs fn on a locked OS thread whose file system ids are those of
// nobody (65534). Changing the fsuid away from 0 drops CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH for that thread only, so permission bits really deny
// access, even to a test running as root. The thread is never unlocked: it
// dies with the goroutine, and the runtime never clones new threads from a
// locked one.
func asNobody(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test changes file system ids and must run as root (it does in CI)")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setfsgid(65534); err != nil {
			errc <- err
			return
		}
		if err := unix.Setfsuid(65534); err != nil {
			errc <- err
			return
		}
		if cur, _ := unix.SetfsuidRetUid(-1); cur != 65534 {
			errc <- fmt.Errorf("setfsuid had no effect (fsuid %d)", cur)
			return
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("asNobody: %v", err)
	}
}

// openToAll makes a t.TempDir() directory and the per-test directory
// holding it searchable by everyone, so that only the permissions a test
// sets below them matter to asNobody.
func openToAll(t *testing.T, tempDir string) {
	t.Helper()
	for _, d := range []string{tempDir, filepath.Dir(tempDir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// diffSets compares string sets byte-wise and describes the
// difference.
func diffSets(want, got []string) string {
	w := slices.Clone(want)
	g := slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	if slices.Equal(w, g) {
		return ""
	}
	var b bytes.Buffer
	for _, x := range w {
		if !slices.Contains(g, x) {
			fmt.Fprintf(&b, "missing %q\n", x)
		}
	}
	for _, x := range g {
		if !slices.Contains(w, x) {
			fmt.Fprintf(&b, "unexpected %q\n", x)
		}
	}
	return b.String()
}
