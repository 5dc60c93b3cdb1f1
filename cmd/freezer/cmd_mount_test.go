package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"freezer/fusefs"
)

// mountEnv is a freezer mount served by the built binary, as its own
// process, on the in-process simulator (--sim), driven only by shell
// commands, as a person or a script would drive it.
type mountEnv struct {
	t    *testing.T
	bin  string
	root string
	sim  string // the simulator's folder
	mnt  string
	work string // children run here, outside the mount
	env  []string
}

func newMountEnv(t *testing.T) *mountEnv {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("mount tests need /dev/fuse (the fuse kernel module): %v", err)
	}
	for _, tool := range []string{"bash", "getfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("mount tests need %s (Debian packages bash and attr; scripts/test.sh installs them)", tool)
		}
	}
	root := t.TempDir()
	m := &mountEnv{t: t, bin: freezerBinary(t), root: root, sim: filepath.Join(root, "sim"),
		mnt: filepath.Join(root, "mnt"), work: filepath.Join(root, "work")}
	for _, d := range []string{m.mnt, m.work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m.env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(root, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(root, "xdg-config"),
		"M="+m.mnt, "F="+m.bin, "SIM="+m.sim, "LC_ALL=C")
	t.Cleanup(func() {
		// Never leave a mount behind, whatever happened.
		if _, ok, _ := fusefs.MountAt(m.mnt); ok {
			syscall.Unmount(m.mnt, syscall.MNT_DETACH)
		}
	})
	return m
}

// dataDir is where the mount keeps local archive copies: --sim DIR keeps
// them in DIR/data.
func (m *mountEnv) dataDir() string { return filepath.Join(m.sim, "data") }

// sh runs a bash script; $M is the mount point, $F the freezer binary.
func (m *mountEnv) sh(script string) (string, string, int) {
	m.t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = m.work, m.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		m.t.Fatalf("bash: %v", err)
	}
	return out.String(), errb.String(), 0
}

func (m *mountEnv) ok(script string) string {
	m.t.Helper()
	out, errs, code := m.sh(script)
	if code != 0 {
		m.t.Fatalf("%s\nexit %d\nstdout: %s\nstderr: %s", script, code, out, errs)
	}
	return out
}

// fails runs a script that must fail with a message containing want.
func (m *mountEnv) fails(script, want string) {
	m.t.Helper()
	out, errs, code := m.sh(script)
	if code == 0 || !strings.Contains(errs, want) {
		m.t.Fatalf("%s\nexit %d, want a failure saying %q\nstdout: %s\nstderr: %s", script, code, want, out, errs)
	}
}

// waitMounted waits until the mount point is a freezer mount.
func (m *mountEnv) waitMounted(stderr func() string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if mi, ok, _ := fusefs.MountAt(m.mnt); ok && mi.Type == fusefs.FsType {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("not mounted after 30 s; the process said:\n%s", stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer collects a process's stderr while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// simEndpoint finds the in-process simulator's address in a mount's
// debug log (--trace cli), for its test hooks.
func simEndpoint(t *testing.T, log string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Endpoint string `json:"endpoint"`
			Message  string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Endpoint != "" && strings.Contains(line.Message, "simulator") {
			return line.Endpoint
		}
	}
	t.Fatalf("the mount logged no simulator endpoint:\n%s", log)
	return ""
}

// TestMountProcess runs `freezer --sim DIR mount --foreground MNT` as its
// own process through a whole life cycle, driven by shell commands only.
func TestMountProcess(t *testing.T) {
	m := newMountEnv(t)
	writeRandomTree(t, filepath.Join(m.work, "tree"), 3<<20)
	if err := os.WriteFile(filepath.Join(m.work, "tree", "notes.txt"), []byte("what is in here\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	var stderr syncBuffer
	cmd := exec.Command(m.bin, "--trace", "cli", "--sim", m.sim, "mount", "--foreground", m.mnt)
	cmd.Env, cmd.Dir, cmd.Stderr = m.env, m.work, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	m.waitMounted(stderr.String)
	endpoint := simEndpoint(t, stderr.String())

	// A vault, and an archive of a real tree; status until it is done.
	m.ok(`mkdir "$M/photos" && ls "$M"`)
	m.ok(`echo "photos/holiday-2024 $PWD/tree" > "$M/.control/new-archive"`)
	m.ok(`until ! grep -qE ' (queued|running) ' "$M/.control/status"; do sleep 0.2; done; grep -q ' done ' "$M/.control/status"`)
	if got := m.ok(`getfattr --only-values -n user.freezer.state "$M/photos/holiday-2024"`); got != "liquid" {
		t.Fatalf("state after create: %q", got)
	}
	local := filepath.Join(m.dataDir(), "archives", "photos", "holiday-2024")
	m.ok(`cmp "$M/photos/holiday-2024" ` + local)
	m.ok(`cmp "$M/photos/.contents/holiday-2024/tree/notes.txt" tree/notes.txt`)

	// Several commands in one write; a bad line in a batch runs nothing.
	m.fails(`cat > "$M/.control/ctl" <<EOF
new-archive photos/never $PWD/tree
retrieve photos
EOF`, "Invalid argument")
	if got := m.ok(`ls "$M/photos"`); got != "holiday-2024\n" {
		t.Fatalf("a refused batch left %q", got)
	}

	// disconnect: frozen, and reading is EREMOTE.
	m.ok(`echo photos/holiday-2024 > "$M/.control/disconnect"`)
	m.ok(`[ "$(getfattr --only-values -n user.freezer.state "$M/photos/holiday-2024")" = frozen ]`)
	m.fails(`cat "$M/photos/holiday-2024" > /dev/null`, "Object is remote")

	// retrieve: melting, then liquid, seen through the attributes.
	m.ok(`echo 'photos/holiday-2024 tier=Expedited' > "$M/.control/retrieve"`)
	if got := m.ok(`getfattr --only-values -n user.freezer.state "$M/photos/holiday-2024"`); got != "melting" {
		t.Errorf("state after retrieve: %q", got)
	}
	m.ok(`for i in $(seq 300); do [ "$(getfattr --only-values -n user.freezer.state "$M/photos/holiday-2024")" = liquid ] && exit 0; sleep 0.1; done; exit 1`)
	m.ok(`until ! grep -qE ' (queued|running) ' "$M/.control/status"; do sleep 0.2; done`)
	m.ok(`cmp "$M/photos/holiday-2024" ` + local)

	// A CLI process on the same catalog, while the mount runs.
	out := m.ok(`"$F" --sim "$SIM" key create --name from-cli 2>&1`)
	id := regexp.MustCompile(`[0-9a-f]{16}`).FindString(out)
	if id == "" {
		t.Fatalf("key create said %q", out)
	}
	m.ok(`for i in $(seq 40); do [ -e "$M/.control/keys/` + id + `.json" ] && exit 0; sleep 0.05; done; exit 1`)
	if got := m.ok(`"$F" --sim "$SIM" archive list photos`); !strings.Contains(got, "liquid") {
		t.Errorf("archive list from the CLI: %q", got)
	}

	// remove: refused without the phrase (nothing changes), then done.
	m.ok(`echo photos/holiday-2024 > "$M/.control/disconnect"`)
	m.fails(`echo photos/holiday-2024 > "$M/.control/remove"`, "Operation not permitted")
	if got := m.ok(`getfattr --only-values -n user.freezer.state "$M/photos/holiday-2024"`); got != "melted" {
		t.Errorf("state after a refused remove: %q", got)
	}
	m.fails(`rmdir "$M/photos"`, "Directory not empty")
	m.ok(`echo 'photos/holiday-2024 confirm="I am sure"' > "$M/.control/remove"`)
	m.ok(`for i in $(seq 40); do [ -e "$M/photos/holiday-2024" ] || exit 0; sleep 0.05; done; exit 1`)
	// Glacier keeps counting the archive until its next inventory: EBUSY,
	// with the reason in errors. Once the inventory is made, rmdir works.
	m.fails(`rmdir "$M/photos"`, "Device or resource busy")
	if got := m.ok(`tail -n 1 "$M/.control/errors"`); !strings.Contains(got, "inventory") {
		t.Errorf("the reason for EBUSY is not in errors: %q", got)
	}
	adminJSON(t, "POST", endpoint+"/_sim/inventory", nil, nil)
	m.ok(`rmdir "$M/photos" && [ -z "$(ls "$M")" ]`)

	// SIGTERM unmounts, and the process exits cleanly.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("mount process after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the mount process did not stop after SIGTERM")
	}
	if _, ok, _ := fusefs.MountAt(m.mnt); ok {
		t.Fatalf("still mounted after SIGTERM")
	}
}

// TestMountBackgroundKilled: without --foreground the command returns
// once mounted; after kill -9 the mount is stale (ENOTCONN) and mounting
// again clears it; freezer unmount stops the serving process.
func TestMountBackgroundKilled(t *testing.T) {
	m := newMountEnv(t)
	pidOf := func(out string) int {
		t.Helper()
		mm := regexp.MustCompile(`process (\d+)`).FindStringSubmatch(out)
		if mm == nil {
			t.Fatalf("no process id in %q", out)
		}
		pid, _ := strconv.Atoi(mm[1])
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		return pid
	}
	out := m.ok(`"$F" --sim "$SIM" mount "$M" 2>&1 && mkdir "$M/v1" && ls "$M"`)
	pid := pidOf(out)
	m.ok(fmt.Sprintf(`kill -9 %d; for i in $(seq 100); do kill -0 %d 2>/dev/null || exit 0; sleep 0.05; done; exit 1`, pid, pid))
	m.fails(`ls "$M"`, "Transport endpoint is not connected")
	m.fails(`echo x > "$M/.control/ctl"`, "not connected")

	out = m.ok(`"$F" --sim "$SIM" mount "$M" 2>&1 && ls "$M"`)
	pid = pidOf(out)
	if !strings.Contains(out, "v1") || !strings.Contains(out, "stale mount") {
		t.Errorf("after mounting again: %q", out)
	}
	m.fails(`"$F" --sim "$SIM" mount "$M"`, "already mounted")
	m.ok(`"$F" unmount "$M"`)
	m.ok(fmt.Sprintf(`for i in $(seq 300); do kill -0 %d 2>/dev/null || exit 0; sleep 0.1; done; exit 1`, pid))
	if got := m.ok(`ls -A "$M"`); got != "" {
		t.Errorf("the mount point after unmount holds %q", got)
	}
}
