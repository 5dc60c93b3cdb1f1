package tarballtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder captures what CompareTrees reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) Fatalf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
	panic(r)
}

func compare(t *testing.T, want, got string) (errs []string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		errs = r.errs
	}()
	CompareTrees(r, want, got)
	return r.errs
}

func makeTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "d"), 0o755))
	must(os.WriteFile(filepath.Join(root, "d/f"), []byte("contents"), 0o644))
	must(os.WriteFile(filepath.Join(root, "bad\xffname"), []byte("x"), 0o600))
	must(os.Link(filepath.Join(root, "d/f"), filepath.Join(root, "hard")))
	must(os.Symlink("d/f", filepath.Join(root, "link")))
	mt := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, p := range []string{"link", "d/f", "bad\xffname", "d", ""} {
		ts := unix.NsecToTimespec(mt.UnixNano())
		must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, p), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

func TestCompareTrees(t *testing.T) {
	touch := func(p string, d time.Duration) {
		mt := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC).Add(d)
		ts := unix.NsecToTimespec(mt.UnixNano())
		unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	}
	cases := []struct {
		name   string
		change func(got string)
		want   string // in a reported difference; "" means none
	}{
		{"identical", func(string) {}, ""},
		{"mode", func(g string) { os.Chmod(filepath.Join(g, "d/f"), 0o640) }, "mode"},
		{"mtime nanoseconds", func(g string) { touch(filepath.Join(g, "d"), 1) }, "mtime"},
		{"link mtime", func(g string) { touch(filepath.Join(g, "link"), time.Second) }, "mtime"},
		{"contents", func(g string) {
			os.WriteFile(filepath.Join(g, "bad\xffname"), []byte("y"), 0o600)
			touch(filepath.Join(g, "bad\xffname"), 0)
			touch(g, 0)
		}, "contents differ"},
		{"owner", func(g string) { os.Lchown(filepath.Join(g, "link"), 7, 7) }, "owner"},
		{"link target", func(g string) {
			os.Remove(filepath.Join(g, "link"))
			os.Symlink("d/g", filepath.Join(g, "link"))
			touch(filepath.Join(g, "link"), 0)
			touch(g, 0)
		}, "link to"},
		{"hard link broken", func(g string) {
			os.Remove(filepath.Join(g, "hard"))
			os.WriteFile(filepath.Join(g, "hard"), []byte("contents"), 0o644) // a copy, not a link
			touch(filepath.Join(g, "hard"), 0)
			touch(g, 0)
		}, "hard links"},
		{"missing", func(g string) { os.Remove(filepath.Join(g, "bad\xffname")); touch(g, 0) }, "missing"},
		{"extra", func(g string) { os.WriteFile(filepath.Join(g, "d/new"), nil, 0o644); touch(filepath.Join(g, "d"), 0) }, "not expected"},
		{"type", func(g string) {
			os.Remove(filepath.Join(g, "link"))
			os.WriteFile(filepath.Join(g, "link"), nil, 0o644)
			touch(filepath.Join(g, "link"), 0)
			touch(g, 0)
		}, "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			want, got := filepath.Join(base, "want"), filepath.Join(base, "got")
			makeTree(t, want)
			makeTree(t, got)
			c.change(got)
			errs := compare(t, want, got)
			if c.want == "" {
				if len(errs) != 0 {
					t.Fatalf("identical trees reported: %q", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), c.want) {
				t.Fatalf("reported %q, want a difference mentioning %q", errs, c.want)
			}
		})
	}
}
