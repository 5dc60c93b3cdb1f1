// Package e2e drives the GUI helper's dialogs against a real freezer mount
// on the simulator: it builds the freezer binary from the repository,
// runs `freezer --sim DIR mount --foreground MNT` as a process, and works
// the headless widgets through mountctl.Files, checking every result
// through the mount itself (listings, xattrs, .control files).
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"freezer/gui-helper/mountctl"
	"freezer/gui-helper/ui"
)

// freezerBin is the freezer binary built from the repository for this run.
var freezerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "freezer-gui-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		freezerBin = filepath.Join(dir, "freezer")
		build := exec.Command("go", "build", "-o", freezerBin, "./cmd/freezer")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building freezer from the repository: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// mount runs freezer's mount on the simulator in a process of its own and
// returns the mount point once its control directory answers.
func mount(t *testing.T) mountctl.Files {
	t.Helper()
	base := t.TempDir()
	home, sim, mnt := filepath.Join(base, "home"), filepath.Join(base, "sim"), filepath.Join(base, "mnt")
	for _, d := range []string{home, sim, mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var stderr bytes.Buffer
	cmd := exec.Command(freezerBin, "--sim", sim, "--database", filepath.Join(home, "freezer.db"),
		"--data-dir", filepath.Join(home, "data"), "mount", "--foreground", mnt)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "share"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { unmount(t, cmd, exited, mnt, &stderr) })

	f := mountctl.Files{Mount: mnt}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if f.Check() == nil {
			return f
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("freezer mount ended before its control directory appeared (%v):\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no control directory at %s after 60 s: %v\n%s", mnt, f.Check(), stderr.String())
		}
	}
}

// unmount stops the mount process (SIGTERM, then SIGKILL) and makes sure
// nothing stays mounted.
func unmount(t *testing.T, cmd *exec.Cmd, exited chan error, mnt string, stderr *bytes.Buffer) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Errorf("freezer mount did not stop within 20 s of SIGTERM:\n%s", stderr.String())
		_ = cmd.Process.Kill()
		<-exited
	}
	for i := 0; i < 10; i++ {
		err := syscall.Unmount(mnt, 0)
		if err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
			break // unmounted now, or it was not mounted any more
		}
		time.Sleep(200 * time.Millisecond)
	}
	if t.Failed() {
		t.Logf("freezer mount's log:\n%s", stderr.String())
	}
}

// waitIdle waits for a view's background work, within a bound.
func waitIdle(t *testing.T, what string, wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s: still busy after 3 minutes", what)
	}
}

// tree makes a small real folder to archive.
func tree(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "proj")
	files := map[string]string{
		"README.md":      "the project\n",
		"main.go":        "package main\n\nfunc main() {}\n",
		"main.o":         "\x7fELF object",
		"docs/notes.txt": strings.Repeat("notes ", 4000),
		"docs/draft.bak": "old draft",
		"secret.txt":     "not for the archive",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func findRow(t *testing.T, v *ui.ArchiveView, path string) int {
	t.Helper()
	for i, e := range v.Plan().Entries {
		if e.Path == path {
			return i
		}
	}
	t.Fatalf("%s is not in the plan the mount gave", path)
	return -1
}

func TestCreateArchiveThroughTheMount(t *testing.T) {
	f := mount(t)
	ctx := context.Background()
	if err := f.CreateVault(ctx, "e2e"); err != nil {
		t.Fatalf("vault create through .control/ctl: %v", err)
	}
	if st, err := os.Stat(filepath.Join(f.Mount, "e2e")); err != nil || !st.IsDir() {
		t.Fatalf("the new vault is not a folder of the mount: %v", err)
	}
	root := tree(t)

	a := test.NewTempApp(t)
	w := a.NewWindow("archive")
	v := ui.NewArchiveView(w, f, ui.ArchiveOptions{Paths: []string{root}, Vault: "e2e", Poll: 100 * time.Millisecond, Debounce: time.Millisecond})
	w.SetContent(v.Content())
	w.Resize(fyne.NewSize(1040, 860))
	v.Load()
	t.Cleanup(v.Stop)
	waitIdle(t, "the first plan", v.Wait)

	// The plan comes from .control/plan: the backup filter is on.
	p := v.Plan()
	if p == nil {
		t.Fatalf("no plan: %s", v.Status())
	}
	if e := p.Entries[findRow(t, v, filepath.Join(root, "main.o"))]; e.Selected || !slices.Contains(e.Reasons, "backup") {
		t.Errorf("main.o in the plan: %+v", e)
	}
	// Clicking a file deselects it: a manual exclusion.
	v.ToggleRow(findRow(t, v, filepath.Join(root, "secret.txt")))
	waitIdle(t, "the plan after a click", v.Wait)
	if e := v.Plan().Entries[findRow(t, v, filepath.Join(root, "secret.txt"))]; e.Selected || !slices.Contains(e.Reasons, "manual") {
		t.Errorf("secret.txt after a click: %+v", e)
	}
	if s := v.Summary(); !strings.HasPrefix(s, "Selected: 3 files") {
		t.Errorf("summary %q", s)
	}

	v.SetFields("e2e-archive", "made by the GUI helper's end-to-end test", "zstd")
	v.Apply()
	waitIdle(t, "creating the archive", v.Wait)
	if !strings.HasPrefix(v.Progress(), "Done") {
		t.Fatalf("the task did not end well: %s / %s", v.Progress(), v.Status())
	}

	// The result, through the mount.
	arch := filepath.Join(f.Mount, "e2e", "e2e-archive")
	if _, err := os.Stat(arch); err != nil {
		t.Fatalf("the archive is not a file of the vault: %v", err)
	}
	got, err := f.Archive(ctx, "e2e", "e2e-archive")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "liquid" && got.State != "local" {
		t.Errorf("state %q", got.State)
	}
	if got.Files != 3 || got.Compression != "zstd" ||
		!strings.Contains(got.Description, "freezer v1 name=e2e-archive tar+zstd") ||
		!strings.Contains(got.Description, "made by the GUI helper's end-to-end test") {
		t.Errorf("archive as the mount shows it: %+v", got)
	}
	var names []string
	for _, c := range got.Contents {
		if !c.Dir {
			names = append(names, c.Path)
		}
	}
	slices.Sort(names)
	if want := []string{"proj/README.md", "proj/docs/notes.txt", "proj/main.go"}; !slices.Equal(names, want) {
		t.Errorf("contents %q, want %q", names, want)
	}

	// The existing archive opens read-only with its description.
	ev := ui.NewExistingView(f, "e2e", "e2e-archive")
	t.Cleanup(ev.Stop)
	waitIdle(t, "reading the archive", ev.Wait)
	if d := ev.Description(); !strings.Contains(d, "made by the GUI helper") {
		t.Errorf("existing view description %q", d)
	}

	// The same name again is refused, and the mount's message is shown.
	v.Apply()
	waitIdle(t, "the refused request", v.Wait)
	if s := v.Status(); !strings.Contains(s, "e2e-archive") || !strings.Contains(s, "not created") {
		t.Errorf("status after a refused new-archive: %q", s)
	}
}

func TestSettingsThroughTheMount(t *testing.T) {
	f := mount(t)
	ctx := context.Background()
	a := test.NewTempApp(t)
	w := a.NewWindow("settings")
	v := ui.NewSettingsView(w, f)
	w.SetContent(v.Content())
	t.Cleanup(v.Stop)
	waitIdle(t, "reading the settings", v.Wait)

	// Import a key exported elsewhere, as pasted JSON.
	_, self, _, _ := runtime.Caller(0)
	keyJSON, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "..", "testdata", "keys", "valid-aes-256-cbc.json"))
	if err != nil {
		t.Fatal(err)
	}
	v.PasteKeyJSON(string(keyJSON))
	v.Import()
	waitIdle(t, "importing a key", v.Wait)
	if s := v.KeyStatus(); !strings.Contains(s, "Imported key c2feb984a8d97d40") {
		t.Fatalf("import: %s", s)
	}
	exported, err := os.ReadFile(filepath.Join(f.Mount, ".control", "keys", "c2feb984a8d97d40.json"))
	if err != nil {
		t.Fatalf("the imported key is not in .control/keys: %v", err)
	}
	if !bytes.Contains(exported, []byte(`"6bd1c3f4a2e87f90d5b3a61c48e2f7093e5a7c1d9b0f2e8465a3c7b1d0e9f842"`)) {
		t.Errorf("the key's export through the mount differs:\n%s", exported)
	}
	// A damaged export is refused with the mount's message.
	v.PasteKeyJSON(strings.Replace(string(keyJSON), "c2feb984a8d97d40", "c2feb984a8d97d41", 1))
	v.Import()
	waitIdle(t, "a refused import", v.Wait)
	if s := v.KeyStatus(); !strings.Contains(s, "not imported") || strings.Contains(s, "6bd1c3f4") {
		t.Errorf("refused import: %q", s)
	}

	// Create a key; it is listed without its material.
	v.CreateKey("aes-128-cbc", "e2e")
	waitIdle(t, "creating a key", v.Wait)
	keys, err := f.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys through the mount: %+v", keys)
	}
	if k := v.Keys(); len(k) != 2 {
		t.Errorf("the dialog lists %d keys", len(k))
	}

	// An AWS value and an exclusion, stored through .control/settings and
	// .control/ctl, read back from settings.json.
	v.SetField("threads", "3")
	v.Save()
	waitIdle(t, "saving settings", v.Wait)
	v.AddExclusion("re:/node_modules/", false)
	waitIdle(t, "adding an exclusion", v.Wait)
	s, err := f.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	threads := ""
	for _, x := range s.Settings {
		if x.Key == "threads" {
			threads = x.Value + " from " + x.Source
		}
		if x.Secret && x.Value != "" && x.Value != "********" {
			t.Errorf("settings.json shows the secret %s", x.Key)
		}
	}
	if threads != "3 from database" {
		t.Errorf("threads: %q", threads)
	}
	if !slices.Contains(s.Exclusions.Exclude, "re:/node_modules/") {
		t.Errorf("exclusions %q", s.Exclusions.Exclude)
	}
	// A bad value is refused by the mount, and nothing is stored.
	v.SetField("poll-time", "99")
	v.Save()
	waitIdle(t, "a refused setting", v.Wait)
	if st := v.AWSStatus(); !strings.Contains(st, "Not saved") {
		t.Errorf("status %q", st)
	}
}
