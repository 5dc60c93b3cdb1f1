package mountctl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"freezer/control"
	"freezer/filter"
)

// A stand-in control directory served over FUSE, so that Files's I/O —
// one write, then the reply read on the same descriptor; a refused write's
// errno and its "error:" line — is tested through the kernel as the real
// mount will serve it. The real mount is tested end to end in ../e2e.

// ctlFile answers writes with replies kept per open file.
type ctlFile struct {
	fs.Inode
	verb  string // implied verb; "" for ctl
	reply func(reqs []control.Request) (string, syscall.Errno, string)
}

var _ = (fs.NodeOpener)((*ctlFile)(nil))
var _ = (fs.NodeGetattrer)((*ctlFile)(nil))

func (c *ctlFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = 0o600 | syscall.S_IFREG
	out.Nlink = 1
	return 0
}

func (c *ctlFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return &ctlHandle{file: c}, fuse.FOPEN_DIRECT_IO, 0
}

type ctlHandle struct {
	file  *ctlFile
	mu    sync.Mutex
	reply []byte
	sent  int
}

var _ = (fs.FileWriter)((*ctlHandle)(nil))
var _ = (fs.FileReader)((*ctlHandle)(nil))

func (h *ctlHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = 0
	var reqs []control.Request
	var err error
	if h.file.verb == "keys/import" {
		reqs = []control.Request{&control.KeyImportRequest{JSON: data}}
	} else {
		reqs, err = control.Parse(string(data), control.ParseOptions{Verb: h.file.verb})
	}
	if err != nil {
		h.reply = []byte("error: " + err.Error() + "\n")
		return 0, syscall.EINVAL
	}
	text, errno, msg := h.file.reply(reqs)
	if errno != 0 {
		h.reply = []byte("error: " + msg + "\n")
		return 0, errno
	}
	h.reply = []byte(text)
	return uint32(len(data)), 0
}

// Read serves the reply from its own cursor: the kernel's offset has moved
// past the bytes written.
func (h *ctlHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := copy(dest, h.reply[h.sent:])
	h.sent += n
	return fuse.ReadResultData(dest[:n]), 0
}

// snapshot is a read-only file with fixed content.
type snapshot struct {
	fs.Inode
	data []byte
}

var _ = (fs.NodeOpener)((*snapshot)(nil))
var _ = (fs.NodeGetattrer)((*snapshot)(nil))

func (s *snapshot) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = 0o400 | syscall.S_IFREG
	out.Nlink = 1
	return 0
}

func (s *snapshot) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return &ctlHandle{reply: s.data}, fuse.FOPEN_DIRECT_IO, 0
}

const testKeyJSON = `{
  "format": "freezer-key",
  "version": 1,
  "id": "c2feb984a8d97d40",
  "name": "test key",
  "algorithm": "aes-256-cbc",
  "key": "6bd1c3f4a2e87f90d5b3a61c48e2f7093e5a7c1d9b0f2e8465a3c7b1d0e9f842",
  "created": "2024-05-01T12:00:00Z"
}
`

// stubMount serves a control directory at a temporary mount point.
func stubMount(t *testing.T) (Files, *[]control.Request) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("this test needs /dev/fuse (and root, for a direct mount): %v", err)
	}
	var mu sync.Mutex
	var got []control.Request
	record := func(reqs []control.Request) { mu.Lock(); got = append(got, reqs...); mu.Unlock() }

	plan := filter.Document{Version: 1, Roots: []filter.DocPath{{Path: "/data/proj"}}, Filters: []string{"backup"},
		Entries: []filter.DocEntry{{Path: "/data/proj/a.o", Name: "proj/a.o", Type: "file", Size: 5, Reasons: []string{"backup"}, FrozenCopies: []filter.DocLocation{}}},
		Summary: filter.Summary{LeftOut: filter.Count{Files: 1, Bytes: 5}}}
	planJSON, _ := json.Marshal(plan)
	status, _ := json.Marshal(control.StatusJSON{Version: 1, Tasks: []control.TaskJSON{{ID: 7, Kind: "create", Vault: "v", Archive: "a", State: "running", BytesDone: 10, BytesTotal: 20}}})
	settings := control.SettingsJSON{Version: 1, Settings: []control.SettingJSON{{Key: "secret-key", Value: "********", Secret: true, Source: "database"}}}
	settings.Exclusions.Exclude = []string{"/x"}
	settingsJSON, _ := json.Marshal(settings)

	ok := func(reqs []control.Request) (string, syscall.Errno, string) {
		record(reqs)
		return strings.Repeat("ok\n", len(reqs)), 0, ""
	}
	files := map[string]fs.InodeEmbedder{
		"plan": &ctlFile{verb: "plan", reply: func(reqs []control.Request) (string, syscall.Errno, string) {
			record(reqs)
			return string(planJSON) + "\n", 0, ""
		}},
		"new-archive": &ctlFile{verb: "new-archive", reply: func(reqs []control.Request) (string, syscall.Errno, string) {
			record(reqs)
			if r := reqs[0].(*control.CreateRequest); r.Vault == "nope" {
				return "", syscall.ENOENT, "vault nope does not exist: create it first"
			}
			return "ok task=7\n", 0, ""
		}},
		"new-key": &ctlFile{verb: "new-key", reply: func(reqs []control.Request) (string, syscall.Errno, string) {
			record(reqs)
			return "ok key=00000000000000ab\n", 0, ""
		}},
		"settings":      &ctlFile{verb: "settings", reply: ok},
		"ctl":           &ctlFile{reply: ok},
		"status.json":   &snapshot{data: status},
		"settings.json": &snapshot{data: settingsJSON},
	}
	keysDir := map[string]fs.InodeEmbedder{
		"c2feb984a8d97d40.json": &snapshot{data: []byte(testKeyJSON)},
		"import": &ctlFile{verb: "keys/import", reply: func(reqs []control.Request) (string, syscall.Errno, string) {
			record(reqs)
			if !strings.Contains(string(reqs[0].(*control.KeyImportRequest).JSON), `"format"`) {
				return "", syscall.EINVAL, "import key: not a key's JSON"
			}
			return "ok key=c2feb984a8d97d40\n", 0, ""
		}},
	}

	root := &fs.Inode{}
	mnt := t.TempDir()
	server, err := fs.Mount(mnt, root, &fs.Options{
		MountOptions: fuse.MountOptions{DirectMount: true, DirectMountStrict: true, FsName: "freezer-stub"},
		OnAdd: func(ctx context.Context) {
			ctl := root.NewPersistentInode(ctx, &fs.Inode{}, fs.StableAttr{Mode: syscall.S_IFDIR})
			root.AddChild(".control", ctl, true)
			for name, n := range files {
				ctl.AddChild(name, ctl.NewPersistentInode(ctx, n, fs.StableAttr{Mode: syscall.S_IFREG}), true)
			}
			keys := ctl.NewPersistentInode(ctx, &fs.Inode{}, fs.StableAttr{Mode: syscall.S_IFDIR})
			ctl.AddChild("keys", keys, true)
			for name, n := range keysDir {
				keys.AddChild(name, keys.NewPersistentInode(ctx, n, fs.StableAttr{Mode: syscall.S_IFREG}), true)
			}
			v := root.NewPersistentInode(ctx, &fs.Inode{}, fs.StableAttr{Mode: syscall.S_IFDIR})
			root.AddChild("photos", v, true)
		},
	})
	if err != nil {
		t.Fatalf("mounting the stub control directory: %v", err)
	}
	t.Cleanup(func() { _ = server.Unmount() })
	return Files{Mount: mnt}, &got
}

func TestFilesOverFUSE(t *testing.T) {
	f, got := stubMount(t)
	ctx := context.Background()
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}

	d, err := f.Plan(ctx, Selection{Paths: []string{"/data/proj"}, Filters: []string{"backup"}})
	if err != nil || len(d.Entries) != 1 || d.Entries[0].Reasons[0] != "backup" || d.Summary.LeftOut.Files != 1 {
		t.Fatalf("plan %+v, %v", d, err)
	}
	_, err = f.Plan(ctx, Selection{Paths: []string{"relative"}})
	var e *Error
	if !errors.As(err, &e) || e.Errno != syscall.EINVAL || !strings.Contains(e.Message, "not an absolute path") {
		t.Errorf("a refused plan: %#v", err)
	}

	id, err := f.NewArchive(ctx, NewArchive{Vault: "photos", Name: "x y", Selection: Selection{Paths: []string{"/data/proj"}}})
	if err != nil || id != 7 {
		t.Errorf("new-archive: %d, %v", id, err)
	}
	_, err = f.NewArchive(ctx, NewArchive{Vault: "nope", Name: "x", Selection: Selection{Paths: []string{"/data/proj"}}})
	if !errors.Is(err, syscall.ENOENT) || err.Error() != "vault nope does not exist: create it first" {
		t.Errorf("a refused new-archive: %v", err)
	}

	task, err := f.Task(ctx, 7)
	if err != nil || task.BytesDone != 10 || task.State != "running" {
		t.Errorf("task %+v, %v", task, err)
	}
	if _, err := f.Task(ctx, 8); err == nil {
		t.Error("task 8 found")
	}
	s, err := f.Settings(ctx)
	if err != nil || s.Settings[0].Value != "********" || s.Exclusions.Exclude[0] != "/x" {
		t.Errorf("settings %+v, %v", s, err)
	}
	if err := f.SetSettings(ctx, []string{SettingLine("region", "eu-west-1", false), SettingLine("queue", "", true)}); err != nil {
		t.Errorf("settings: %v", err)
	}
	if err := f.Ctl(ctx, ExcludeLine("add", "/a b", false)); err != nil {
		t.Errorf("ctl: %v", err)
	}
	if err := f.CreateVault(ctx, "music"); err != nil {
		t.Errorf("vault create: %v", err)
	}
	vaults, err := f.Vaults(ctx)
	if err != nil || strings.Join(vaults, ",") != "photos" {
		t.Errorf("vaults %q, %v", vaults, err)
	}

	keys, err := f.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0] != (Key{ID: "c2feb984a8d97d40", Name: "test key", Algorithm: "aes-256-cbc", Created: "2024-05-01T12:00:00Z"}) {
		t.Errorf("keys %+v, %v", keys, err)
	}
	if b, err := f.KeyJSON(ctx, "c2feb984a8d97d40"); err != nil || string(b) != testKeyJSON {
		t.Errorf("key json %q, %v", b, err)
	}
	if id, err := f.NewKey(ctx, "aes-128-cbc", "laptop"); err != nil || id != "00000000000000ab" {
		t.Errorf("new-key %q, %v", id, err)
	}
	if id, err := f.ImportKey(ctx, []byte(testKeyJSON)); err != nil || id != "c2feb984a8d97d40" {
		t.Errorf("import %q, %v", id, err)
	}
	if _, err := f.ImportKey(ctx, []byte("{}")); !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "not a key's JSON") {
		t.Errorf("a refused import: %v", err)
	}

	var lines []string
	for _, r := range *got {
		lines = append(lines, r.Line())
	}
	want := []string{
		"plan /data/proj filter=backup",
		`new-archive "photos/x y" /data/proj compression=gzip filter=none`,
		"new-archive nope/x /data/proj compression=gzip filter=none",
		"settings set region eu-west-1",
		"settings unset queue",
		`exclude add "/a b"`,
		"vault create music",
		"new-key algorithm=aes-128-cbc name=laptop",
		`key import json="…"`,
		`key import json="…"`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("the stub read:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckWithoutAMount(t *testing.T) {
	dir := t.TempDir()
	err := Files{Mount: filepath.Join(dir, "freezer")}.Check()
	if err == nil || !strings.Contains(err.Error(), "no freezer is mounted at") || !strings.Contains(err.Error(), "freezer mount") {
		t.Errorf("Check: %v", err)
	}
	_, err = Files{Mount: dir}.Settings(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no freezer is mounted") {
		t.Errorf("Settings without a mount: %v", err)
	}
}
