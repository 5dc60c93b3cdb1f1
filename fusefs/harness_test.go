package fusefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/control"
	"freezer/store"
)

// The mount tests mount for real, in this process, under t.TempDir(), on
// an engine wired to the simulator over HTTP, and probe the mount as a
// person or a script would: bash, ls, stat, getfattr, cat, cp. They never
// run a program that lives on the mount, and no child runs inside it (that
// deadlocks a filesystem served by the test's own process). Without
// /dev/fuse or the right to mount, they fail and say why.

type harness struct {
	t       *testing.T
	mnt     string
	work    string // a folder outside the mount: children run here
	dataDir string
	db      *store.DB
	e       *control.Engine
	opts    control.Options
	sim     *sim.Sim
	srv     *Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("the mount tests need /dev/fuse (the fuse kernel module): %v", err)
	}
	for _, tool := range []string{"bash", "getfattr", "setfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the mount tests need %s (Debian packages bash and attr; scripts/test.sh installs them): %v", tool, err)
		}
	}
	ctx := context.Background()
	zero := 300 * time.Millisecond
	s, err := sim.New(sim.Options{Dir: t.TempDir(), JobDelay: &zero})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	settings := aws.Settings{Endpoint: hs.URL, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, settings)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(root, "freezer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, mnt: filepath.Join(root, "mnt"), work: filepath.Join(root, "work"), dataDir: filepath.Join(root, "data"), db: db, sim: s}
	for _, d := range []string{h.mnt, h.work, h.dataDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	h.opts = control.Options{DB: db, Glacier: aws.NewGlacier(cfg, settings), DataDir: h.dataDir, Threads: 2, ChunkSize: 1 << 20,
		JobPollMax: 200 * time.Millisecond, Source: "mount", Command: "mount " + h.mnt,
		Settings: control.SettingsInput{Defaults: map[string]string{"data-dir": h.dataDir, "threads": "2"}}}
	h.e = control.New(h.opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.e.Close(ctx)
	})
	h.e.Watch(control.WatchOptions{Download: true, ApplyInventories: true})
	if _, _, err := PrepareMountpoint(h.mnt); err != nil {
		t.Fatal(err)
	}
	srv, err := Mount(h.e, Options{Mountpoint: h.mnt, DataDir: h.dataDir, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatalf("cannot mount (the mount tests need mount(2) as root, or fusermount3 from the Debian package fuse3): %v", err)
	}
	h.srv = srv
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		srv.Wait()
		srv.Close()
	})
	return h
}

// path is a path inside the mount.
func (h *harness) path(rel ...string) string {
	return filepath.Join(append([]string{h.mnt}, rel...)...)
}

// sh runs a bash script with $M the mount point, from a folder outside
// the mount; it returns stdout, stderr and the exit status.
func (h *harness) sh(script string) (string, string, int) {
	h.t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = h.work
	cmd.Env = append(os.Environ(), "M="+h.mnt, "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("bash: %v", err)
	}
	return out.String(), errb.String(), code
}

// ok runs a script that must succeed, returning its stdout.
func (h *harness) ok(script string) string {
	h.t.Helper()
	out, errs, code := h.sh(script)
	if code != 0 {
		h.t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", script, code, out, errs)
	}
	return out
}

// xattr reads one attribute with getfattr ("" when it has none).
func (h *harness) xattr(rel, name string) string {
	h.t.Helper()
	out, _, code := h.sh(fmt.Sprintf("getfattr --only-values -n user.freezer.%s %q", name, h.path(rel)))
	if code != 0 {
		return ""
	}
	return out
}

// waitXattr waits until an attribute reads want, and returns how long that
// took.
func (h *harness) waitXattr(rel, name, want string, timeout time.Duration) time.Duration {
	h.t.Helper()
	start := time.Now()
	for {
		got := h.xattr(rel, name)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			h.t.Fatalf("%s: %s is %q after %v, want %q", rel, name, got, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTasks waits until .control/status shows no task queued or running,
// as a script would.
func (h *harness) waitTasks(timeout time.Duration) string {
	h.t.Helper()
	start := time.Now()
	for {
		status := h.ok(`cat "$M/.control/status"`)
		if !strings.Contains(status, " running ") && !strings.Contains(status, " queued ") {
			return status
		}
		if time.Since(start) > timeout {
			h.t.Fatalf("tasks still running after %v:\n%s", timeout, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errnoOf returns the errno inside an error from a file operation.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// tree writes a small tree to back up and returns its folder.
func (h *harness) tree(name string, files int) string {
	h.t.Helper()
	root := filepath.Join(h.work, name)
	for i := range files {
		dir := filepath.Join(root, "d"+strconv.Itoa(i%3))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			h.t.Fatal(err)
		}
		data := bytes.Repeat([]byte(fmt.Sprintf("file %d of %s\n", i, name)), 100+i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.txt", i)), data, 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	return root
}

// create makes an archive through the control file and waits for it.
func (h *harness) create(vault, name, src string) {
	h.t.Helper()
	h.ok(fmt.Sprintf(`echo %q > "$M/.control/new-archive"`, vault+"/"+name+" "+src))
	status := h.waitTasks(time.Minute)
	if strings.Contains(status, "failed") {
		h.t.Fatalf("create failed:\n%s", status)
	}
}
