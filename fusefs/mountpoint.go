package fusefs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// FsType is the type the mount shows in /proc/mounts and `df -T`.
const FsType = "fuse.freezer"

// PrepareMountpoint checks that dir can be mounted on: an existing, empty
// folder that is not a mount point already. A stale mount there — left by
// a freezer that was killed, every access failing with ENOTCONN — is
// cleared first; cleared says so. dir is returned absolute.
func PrepareMountpoint(dir string) (abs string, cleared bool, err error) {
	if abs, err = realPath(dir); err != nil {
		return "", false, err
	}
	_, err = os.Stat(abs)
	if errors.Is(err, syscall.ENOTCONN) {
		if err := unmountStale(abs); err != nil {
			return abs, false, fmt.Errorf("%s is a stale mount (its freezer was killed) and could not be cleared: %w; run: fusermount3 -uz %s", abs, err, abs)
		}
		cleared = true
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, cleared, fmt.Errorf("mount point %s does not exist; create it first (mkdir -p %s)", abs, abs)
	case err != nil:
		return abs, cleared, fmt.Errorf("mount point %s: %w", abs, err)
	case !st.IsDir():
		return abs, cleared, fmt.Errorf("mount point %s is not a folder", abs)
	}
	if m, ok, err := MountAt(abs); err != nil {
		return abs, cleared, err
	} else if ok {
		if m.Type == FsType {
			return abs, cleared, fmt.Errorf("%s is already mounted by freezer; unmount it first (freezer unmount %s)", abs, abs)
		}
		return abs, cleared, fmt.Errorf("%s is already a mount point (%s); choose an empty folder", abs, m.Type)
	}
	f, err := os.Open(abs)
	if err != nil {
		return abs, cleared, fmt.Errorf("mount point %s: %w", abs, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return abs, cleared, fmt.Errorf("mount point %s: %w", abs, err)
	}
	if len(names) > 0 {
		return abs, cleared, fmt.Errorf("mount point %s is not empty (it holds %s); mount on an empty folder", abs, names[0])
	}
	return abs, cleared, nil
}

// realPath makes dir absolute with its parent's symbolic links resolved,
// as the mount table names it (the folder itself is not touched: it may be
// a stale mount).
func realPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(abs)), nil
}

// MountInfo is one line of /proc/self/mountinfo.
type MountInfo struct {
	Point string
	Type  string
}

// MountAt reports the mount whose mount point is dir (the topmost, when
// mounts are stacked).
func MountAt(dir string) (MountInfo, bool, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return MountInfo{}, false, fmt.Errorf("reading the mount table: %w", err)
	}
	var found MountInfo
	ok := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		if unescapeMountinfo(fields[4]) == dir {
			found, ok = MountInfo{Point: dir, Type: fields[sep+1]}, true
		}
	}
	return found, ok, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			valid := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					valid = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if valid {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Unmount unmounts a freezer mount from outside its process (`freezer
// unmount`); the serving process then stops its tasks and exits. With lazy,
// a busy mount is detached now and goes once its last user lets go.
func Unmount(dir string, lazy bool) error {
	abs, err := realPath(dir)
	if err != nil {
		return err
	}
	m, ok, err := MountAt(abs)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not mounted", abs)
	}
	if m.Type != FsType {
		return fmt.Errorf("%s is a %s mount, not freezer's; leaving it alone", abs, m.Type)
	}
	flags := 0
	if lazy {
		flags = syscall.MNT_DETACH
	}
	err = syscall.Unmount(abs, flags)
	if errors.Is(err, syscall.EPERM) {
		args := []string{"-u"}
		if lazy {
			args = []string{"-uz"}
		}
		err = fusermount(append(args, abs)...)
	}
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("%s is busy: a process has a file open or its working folder inside it; close it, or unmount lazily (freezer unmount --lazy %s)", abs, abs)
	}
	if err != nil {
		return fmt.Errorf("unmounting %s: %w", abs, err)
	}
	return nil
}

// unmountStale clears a mount whose server is gone.
func unmountStale(dir string) error {
	return unmountLazy(dir)
}

// unmountLazy detaches a mount: umount2(MNT_DETACH) as root, else
// fusermount -uz.
func unmountLazy(dir string) error {
	err := syscall.Unmount(dir, syscall.MNT_DETACH)
	if err == nil || errors.Is(err, syscall.EINVAL) {
		return nil // EINVAL: no longer a mount point
	}
	if !errors.Is(err, syscall.EPERM) {
		return err
	}
	return fusermount("-uz", dir)
}

// fusermount runs fusermount3 (or the older fusermount) for a user who
// may not call umount2 directly.
func fusermount(args ...string) error {
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return errors.New("neither umount as root nor fusermount3 is available (install the Debian package fuse3)")
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if strings.Contains(msg, "busy") {
			return fmt.Errorf("%s: %w", msg, syscall.EBUSY)
		}
		return fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, msg)
	}
	return nil
}
