package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"freezer/aws/sim"
	"freezer/control"
	"freezer/store"
)

// downloadResumes turns on the check that a download killed mid-way and
// started again does not start over: the pipeline's spool journal keeps
// the ranges already verified across runs.
const downloadResumes = true

// simNotifications are the topic and queue 'freezer sim' makes.
func simNotifications(endpoint string) []string {
	return []string{"--sns-topic", "arn:aws:sns:" + sim.DefaultRegion + ":" + sim.DefaultAccountID + ":" + notificationName,
		"--queue", endpoint + "/" + sim.DefaultAccountID + "/" + notificationName}
}

// daemonProc is a 'freezer daemon' process under test.
type daemonProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	ready chan struct{}
	done  chan struct{}
	err   error

	mu      sync.Mutex
	stderr  bytes.Buffer
	notices []string // what it told the notify socket
}

// startDaemon runs the daemon with a notify socket of its own, as systemd
// would, and waits until it says READY=1.
func startDaemon(t *testing.T, bin string, args ...string) *daemonProc {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, ready: make(chan struct{}), done: make(chan struct{})}
	d.cmd = exec.Command(bin, append(args, "daemon")...)
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	d.cmd.Stderr = lockedWriter{&d.mu, &d.stderr}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		readyOnce := sync.Once{}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			d.mu.Lock()
			d.notices = append(d.notices, msg)
			d.mu.Unlock()
			if strings.Contains(msg, "READY=1") {
				readyOnce.Do(func() { close(d.ready) })
			}
		}
	}()
	go func() {
		d.err = d.cmd.Wait()
		conn.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log())
		}
	})
	select {
	case <-d.ready:
	case <-d.done:
		t.Fatalf("daemon exited before it was ready: %v\n%s", d.err, d.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon never said READY=1\n%s", d.log())
	}
	return d
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (d *daemonProc) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// stop sends SIGTERM and returns its exit status.
func (d *daemonProc) stop() error {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(40 * time.Second):
		d.t.Fatal("the daemon did not stop within 40 s of SIGTERM")
	}
	return d.err
}

func (d *daemonProc) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// logLines parses the daemon's log: JSON lines, since stderr is no
// terminal.
func (d *daemonProc) logLines() []map[string]any {
	d.t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(d.log()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			d.t.Errorf("daemon log line is not JSON: %q", sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

func (d *daemonProc) logged(msg string) bool {
	for _, m := range d.logLines() {
		if s, _ := m["message"].(string); strings.Contains(s, msg) {
			return true
		}
	}
	return false
}

// mustRun runs a freezer process and fails the test if it fails.
func mustRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := runProcess(t, bin, args...)
	if err != nil {
		t.Fatalf("freezer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// catalogOf opens a catalog for reading, as another machine's status
// command would.
func catalogOf(t *testing.T, path string) (*store.DB, *control.View) {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, control.NewView(db, nil)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func archiveState(t *testing.T, v *control.View, vault, name string) control.ArchiveInfo {
	t.Helper()
	info, err := v.Archive(context.Background(), vault, name)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// makeArchives creates a vault, a key and one encrypted archive per name,
// then drops their local copies (frozen).
func makeArchives(t *testing.T, bin string, client []string, size int, names ...string) {
	t.Helper()
	mustRun(t, bin, append(client, "key", "create", "--name", "test")...)
	mustRun(t, bin, append(client, "vault", "create", "photos")...)
	for _, name := range names {
		src := filepath.Join(t.TempDir(), name)
		writeRandomTree(t, src, size)
		mustRun(t, bin, append(client, "archive", "create", "--vault", "photos", "--name", name, "--compression", "none", src)...)
		mustRun(t, bin, append(client, "archive", "disconnect", "photos/"+name)...)
	}
}

// TestDaemonDownloadsRetrievals: a daemon process against 'freezer sim';
// another process asks for three retrievals and does not wait; the daemon
// downloads all three when Glacier has them, sets their executed dates,
// runs them as tasks other processes see, and never holds the catalog
// from a CLI write.
func TestDaemonDownloadsRetrievals(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "3s")
	dir := t.TempDir()
	client := append(clientArgs(endpoint, dir), simNotifications(endpoint)...)
	names := []string{"a", "b", "c"}
	makeArchives(t, bin, client, 2<<20, names...)

	d := startDaemon(t, bin, client...)
	for _, name := range names {
		out := mustRun(t, bin, append(client, "archive", "retrieve", "photos/"+name)...)
		if strings.Contains(out, "downloaded") {
			t.Fatalf("retrieve without --wait downloaded: %s", out)
		}
	}
	db, view := catalogOf(t, filepath.Join(dir, "freezer.db"))

	// A CLI write while the daemon works returns at once: the daemon takes
	// the catalog only for short transactions.
	var slowest time.Duration
	liquid := func() bool {
		start := time.Now()
		mustRun(t, bin, append(client, "settings", "set", "threads", "2")...)
		slowest = max(slowest, time.Since(start))
		for _, name := range names {
			if archiveState(t, view, "photos", name).State != store.StateLiquid {
				return false
			}
		}
		return true
	}
	waitFor(t, "three archives to become liquid", 90*time.Second, liquid)
	t.Logf("slowest 'settings set' during the daemon's run: %v", slowest)
	if slowest > time.Second {
		t.Errorf("a CLI write took %v while the daemon ran; it must never wait more than a second for it", slowest)
	}

	jobs, err := db.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	retrievals := 0
	for _, j := range jobs {
		if j.Action != store.ActionArchiveRetrieval {
			continue
		}
		retrievals++
		if j.Executed.IsZero() {
			t.Errorf("job %s of %s: no executed date after its output was installed", j.ID, j.Archive)
		}
	}
	if retrievals != 3 {
		t.Errorf("%d retrieval jobs; want 3 (the daemon must never request one)", retrievals)
	}
	for _, name := range names {
		info := archiveState(t, view, "photos", name)
		if got := fileSHA256(t, info.LocalPath); got != info.SHA256 {
			t.Errorf("%s: local file SHA-256 %s, recorded %s", name, got, info.SHA256)
		}
	}
	// A task records its end just after its file is installed: give the
	// last one a moment.
	var tasks []control.TaskInfo
	downloads := 0
	for deadline := time.Now().Add(10 * time.Second); downloads != 3 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if tasks, err = view.Tasks(context.Background(), 20); err != nil {
			t.Fatal(err)
		}
		downloads = 0
		for _, task := range tasks {
			if task.Kind == control.TaskDownload && task.Command == "daemon" && task.State == store.TaskDone {
				downloads++
			}
		}
	}
	if downloads != 3 {
		t.Errorf("%d finished download tasks of the daemon in the catalog; want 3: %+v", downloads, tasks)
	}
	// The files are whole: one of them extracts to what was archived.
	mustRun(t, bin, append(client, "archive", "extract", "photos/b", filepath.Join(dir, "restored"))...)

	if err := d.stop(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
	if !d.logged("retrieved") || !d.logged("daemon started") || !d.logged("daemon stopping") {
		t.Errorf("the daemon's log lacks what it did:\n%s", d.log())
	}
	d.mu.Lock()
	notices := strings.Join(d.notices, "\n")
	d.mu.Unlock()
	if !strings.Contains(notices, "STOPPING=1") {
		t.Errorf("the daemon never told systemd it was stopping: %q", notices)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "data", "tmp")); len(left) != 0 {
		t.Errorf("files left in the temporary folder: %v", left)
	}
}

// TestDaemonResumesAfterKill kills the daemon with SIGKILL in the middle of
// a download; the next daemon finishes and verifies it.
func TestDaemonResumesAfterKill(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "1s")
	dir := t.TempDir()
	client := append(clientArgs(endpoint, dir), simNotifications(endpoint)...)
	const size = 24 << 20
	makeArchives(t, bin, client, size, "big")
	mustRun(t, bin, append(client, "archive", "retrieve", "photos/big")...)
	// Each 1 MiB range takes a moment, so the kill lands inside the download.
	adminJSON(t, "POST", endpoint+"/_sim/faults", sim.Fault{Op: "GetJobOutput", Kind: sim.FaultDelay, Rate: 1, Delay: sim.Duration(250 * time.Millisecond)}, nil)

	db, view := catalogOf(t, filepath.Join(dir, "freezer.db"))
	d := startDaemon(t, bin, client...)
	waitFor(t, "the download to be under way", 60*time.Second, func() bool {
		tasks, err := view.Tasks(context.Background(), 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if task.Kind == control.TaskDownload && task.State == store.TaskRunning && task.BytesDone >= 4<<20 {
				return true
			}
		}
		return false
	})
	d.kill()
	info := archiveState(t, view, "photos", "big")
	if info.State != store.StateMelted || info.Local {
		t.Fatalf("after the kill the archive is %s (local %v); want melted, nothing installed", info.State, info.Local)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "archives", "photos", "big")); err == nil {
		t.Fatal("a half-downloaded archive is installed")
	}
	tasks, _ := view.Tasks(context.Background(), 5)
	interrupted := false
	for _, task := range tasks {
		interrupted = interrupted || (task.Kind == control.TaskDownload && task.State == store.TaskInterrupted)
	}
	if !interrupted {
		t.Errorf("the killed daemon's download does not show as interrupted: %+v", tasks)
	}
	var before struct {
		FiredByOp map[string]int `json:"firedByOp"`
	}
	adminJSON(t, "GET", endpoint+"/_sim/faults", nil, &before)

	startDaemon(t, bin, client...)
	waitFor(t, "the restarted daemon to install the archive", 90*time.Second, func() bool {
		return archiveState(t, view, "photos", "big").State == store.StateLiquid
	})
	info = archiveState(t, view, "photos", "big")
	if got := fileSHA256(t, info.LocalPath); got != info.SHA256 {
		t.Errorf("installed file SHA-256 %s, recorded at upload %s", got, info.SHA256)
	}
	if j, err := db.Job(context.Background(), info.Job.ID); err != nil || j.Executed.IsZero() {
		t.Errorf("job after the restarted download: %+v, %v; want an executed date", j, err)
	}
	var after struct {
		FiredByOp map[string]int `json:"firedByOp"`
	}
	adminJSON(t, "GET", endpoint+"/_sim/faults", nil, &after)
	ranges := size / (1 << 20)
	first, second := before.FiredByOp["GetJobOutput"], after.FiredByOp["GetJobOutput"]-before.FiredByOp["GetJobOutput"]
	t.Logf("ranges fetched: %d before the kill, %d after the restart (the archive has about %d)", first, second, ranges)
	// Ranges verified in the last half second before the kill were not yet
	// journalled (the journal is synced at most twice a second), and those
	// on the wire are fetched again; everything else must not be.
	if downloadResumes && second >= ranges {
		t.Errorf("the restarted download fetched %d ranges after %d were fetched before the kill: it started over", second, first)
	}
}

// TestDaemonPollsWithoutNotifications: with the SQS queue unreachable the
// whole time, the daemon still hears of finished jobs by asking Glacier,
// and downloads.
func TestDaemonPollsWithoutNotifications(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "2s")
	dir := t.TempDir()
	client := append(clientArgs(endpoint, dir), simNotifications(endpoint)...)
	makeArchives(t, bin, client, 1<<20, "lost")
	adminJSON(t, "POST", endpoint+"/_sim/faults", sim.Fault{Op: "ReceiveMessage", Kind: sim.FaultServiceUnavailable, Rate: 1}, nil)

	d := startDaemon(t, bin, client...)
	mustRun(t, bin, append(client, "archive", "retrieve", "photos/lost")...)
	_, view := catalogOf(t, filepath.Join(dir, "freezer.db"))
	waitFor(t, "the archive to be downloaded without notifications", 90*time.Second, func() bool {
		return archiveState(t, view, "photos", "lost").State == store.StateLiquid
	})
	if !d.logged("reading the SQS queue failed") {
		t.Errorf("the daemon never said the queue was out of reach:\n%s", d.log())
	}
	if err := d.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
}

// TestDaemonOnSlimCatalog: a daemon on another machine runs on a slim
// catalog with its own data folder; a retrieval asked for at the desk
// (recorded only in the desk's catalog) is downloaded there, decrypted
// with the key the slim catalog holds. A second server, whose catalog was
// rebuilt from an inventory (archives known only from their
// descriptions), does the same with --once, as from cron.
func TestDaemonOnSlimCatalog(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "2s", "--inventory-interval", "0")
	desk := t.TempDir()
	deskArgs := append(clientArgs(endpoint, desk), simNotifications(endpoint)...)
	makeArchives(t, bin, deskArgs, 1<<20, "holiday")

	server := t.TempDir()
	slim := filepath.Join(server, "freezer.db")
	out := mustRun(t, bin, append(deskArgs, "catalog", "slim", slim)...)
	if !strings.Contains(out, "1 archive(s)") {
		t.Errorf("catalog slim said: %s", out)
	}
	serverArgs := append(clientArgs(endpoint, server), simNotifications(endpoint)...)
	d := startDaemon(t, bin, serverArgs...)

	// The rebuilt catalog: the key imported, the vault inventoried.
	rebuilt := t.TempDir()
	rebuiltArgs := clientArgs(endpoint, rebuilt) // no queue: it polls Glacier
	keyJSON := filepath.Join(rebuilt, "key.json")
	var keyID string
	for _, l := range strings.Split(mustRun(t, bin, append(deskArgs, "key", "list")...), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "aes-256-cbc" {
			keyID = f[0]
		}
	}
	exported := mustRun(t, bin, append(deskArgs, "key", "export", keyID)...)
	if err := os.WriteFile(keyJSON, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, bin, append(rebuiltArgs, "key", "import", keyJSON)...)
	mustRun(t, bin, append(rebuiltArgs, "vault", "inventory", "--wait", "photos")...)

	mustRun(t, bin, append(deskArgs, "archive", "retrieve", "photos/holiday")...)
	_, slimView := catalogOf(t, slim)
	waitFor(t, "the server to download the archive asked for at the desk", 90*time.Second, func() bool {
		return archiveState(t, slimView, "photos", "holiday").State == store.StateLiquid
	})
	info := archiveState(t, slimView, "photos", "holiday")
	if !strings.HasPrefix(info.LocalPath, filepath.Join(server, "data")) {
		t.Errorf("the server installed the archive at %s, outside its own data folder", info.LocalPath)
	}
	if got := fileSHA256(t, info.LocalPath); got != info.SHA256 {
		t.Errorf("server's copy SHA-256 %s, recorded %s", got, info.SHA256)
	}
	if info.Job == nil || info.Job.Executed.IsZero() {
		t.Errorf("the slim catalog's job has no executed date: %+v", info.Job)
	}
	if err := d.stop(); err != nil {
		t.Errorf("daemon exit: %v", err)
	}
	// The desk's own catalog is untouched by the server.
	_, deskView := catalogOf(t, filepath.Join(desk, "freezer.db"))
	if st := archiveState(t, deskView, "photos", "holiday").State; st == store.StateLiquid {
		t.Errorf("the desk's archive is %s; only the server downloaded it", st)
	}

	// The rebuilt catalog learns of the desk's job by asking Glacier, and
	// downloads it with the key its description names. A pass while the
	// job is unknown to it ends 0 (nothing of its own is pending).
	once := func() (int, string) {
		cmd := exec.Command(bin, append(rebuiltArgs, "daemon", "--once")...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), buf.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, buf.String()
	}
	var code int
	var log string
	_, rebuiltView := catalogOf(t, filepath.Join(rebuilt, "freezer.db"))
	waitFor(t, "a --once pass on the rebuilt catalog to download the archive", 60*time.Second, func() bool {
		code, log = once()
		if code != 0 && code != control.ExitNotYet {
			t.Fatalf("daemon --once exit %d:\n%s", code, log)
		}
		return archiveState(t, rebuiltView, "photos", "holiday").State == store.StateLiquid
	})
	if code != 0 {
		t.Errorf("the pass that downloaded everything exited %d, want 0:\n%s", code, log)
	}
	info = archiveState(t, rebuiltView, "photos", "holiday")
	if info.FileCount == 0 {
		t.Errorf("the rebuilt catalog did not learn the files of the archive it downloaded")
	}
	if got := fileSHA256(t, info.LocalPath); info.SHA256 != "" && got != info.SHA256 {
		t.Errorf("rebuilt catalog's copy SHA-256 %s, recorded %s", got, info.SHA256)
	}
}

// TestDaemonOnceExitsNotYet: --once while a job is still in Glacier's
// hands exits 75, and 0 once everything is here.
func TestDaemonOnceExitsNotYet(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "1h")
	dir := t.TempDir()
	client := append(clientArgs(endpoint, dir), simNotifications(endpoint)...)
	makeArchives(t, bin, client, 1<<20, "slow")
	mustRun(t, bin, append(client, "archive", "retrieve", "photos/slow")...)
	out, err := runProcess(t, bin, append(client, "daemon", "--once")...)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != control.ExitNotYet {
		t.Fatalf("--once with a job in progress: %v, want exit %d\n%s", err, control.ExitNotYet, out)
	}
	if !strings.Contains(out, "run again later") {
		t.Errorf("--once said: %s", out)
	}
	// Nothing of its own pending: 0.
	other := t.TempDir()
	if out, err := runProcess(t, bin, append(clientArgs(endpoint, other), "daemon", "--once")...); err != nil {
		t.Errorf("--once with nothing to do: %v\n%s", err, out)
	}
}
