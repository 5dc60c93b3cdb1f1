// Package fakectl is an in-memory stand-in for a mounted freezer's control
// files: the GUI helper's widget tests and its demo mode run on it. It
// follows the protocol's answers (plans with reasons and a summary, tasks
// that progress, refusals with a message and an errno) without an engine;
// the real behaviour is checked by the end-to-end test on a real mount.
package fakectl

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"freezer/control"
	"freezer/filter"
	"freezer/gui-helper/mountctl"
)

// Node is a file or folder of the fake's local file system.
type Node struct {
	Path string
	Size int64
	Dir  bool
}

// Fake is the in-memory mount. Its fields may be set before use; after
// that, use its methods (it is safe for concurrent use).
type Fake struct {
	mu sync.Mutex

	// Tree is the local file system plans walk, sorted by path.
	Tree []Node
	// Frozen maps a path of Tree to where a copy of it is already kept.
	Frozen map[string]filter.DocLocation
	// VaultNames are the vaults.
	VaultNames []string
	// Existing are archives already made, by VAULT/NAME.
	Existing map[string]mountctl.Archive
	// Delay is how long each call takes (the demo shows a busy window).
	Delay time.Duration
	// TaskSteps is how many status reads a task takes to finish.
	TaskSteps int
	// FailTasks makes started tasks fail with this message.
	FailTasks string

	settings   []control.SettingJSON
	exclude    []string
	backup     []string
	manual     map[string]bool
	keys       []keyRec
	tasks      map[int64]*task
	nextTask   int64
	keyCounter int

	// Requests records every control line written, in order.
	requests []string
}

type keyRec struct {
	mountctl.Key
	material string
}

type task struct {
	control.TaskJSON
	step int
}

// New returns a fake with a small home folder, one frozen photo, two
// vaults and the default settings.
func New() *Fake {
	f := &Fake{
		Tree: []Node{
			{Path: "/home/me/proj", Dir: true},
			{Path: "/home/me/proj/README.md", Size: 2300},
			{Path: "/home/me/proj/main.go", Size: 11912},
			{Path: "/home/me/proj/main.o", Size: 5000},
			{Path: "/home/me/proj/notes.txt~", Size: 640},
			{Path: "/home/me/proj/photo.jpg", Size: 250000},
			{Path: "/home/me/proj/cache", Dir: true},
			{Path: "/home/me/proj/cache/index.bin", Size: 40960},
			{Path: "/home/me/proj/docs", Dir: true},
			{Path: "/home/me/proj/docs/design.txt", Size: 8100},
			{Path: "/home/me/proj/docs/draft.bak", Size: 7900},
		},
		Frozen: map[string]filter.DocLocation{
			"/home/me/proj/photo.jpg": {Vault: "photos", Archive: "holiday-2024", Path: "pics/photo.jpg", Created: "2024-06-01T12:00:00Z"},
		},
		VaultNames: []string{"photos", "projects"},
		Existing: map[string]mountctl.Archive{
			"photos/holiday-2024": {Vault: "photos", Name: "holiday-2024", State: "frozen",
				Description: "freezer v1 name=holiday-2024 tar+gzip aes-256-cbc key=3f2a9c0d51e8b7a4 : photos from Crete",
				Compression: "gzip", Encryption: "aes-256-cbc", Key: "3f2a9c0d51e8b7a4", Created: "2024-06-01T12:00:00Z",
				Size: 262144, Files: 2, Contents: []mountctl.File{
					{Path: "pics", Dir: true}, {Path: "pics/photo.jpg", Size: 250000}, {Path: "pics/sea.jpg", Size: 11000}}},
		},
		TaskSteps: 3,
		manual:    map[string]bool{},
		tasks:     map[int64]*task{},
		nextTask:  1,
	}
	for _, s := range []struct{ key, value, source, help string }{
		{"accountid", "-", "default", "AWS account id (12 digits) or - for the account of the credentials"},
		{"region", "eu-west-1", "database", "AWS region of the vaults, e.g. eu-west-1"},
		{"access-key", "AKIAEXAMPLEKEY000000", "database", "AWS access key id"},
		{"secret-key", "********", "database", "AWS secret access key"},
		{"profile", "", "default", "AWS shared-config profile, used when no keys are set"},
		{"endpoint", "", "default", "Glacier/SQS/SNS endpoint URL other than AWS's"},
		{"sns-topic", "arn:aws:sns:eu-west-1:123456789012:glacier-jobs", "config file", "SNS topic ARN that Glacier jobs notify"},
		{"queue", "", "default", "SQS queue URL subscribed to the SNS topic"},
		{"poll-time", "20", "default", "SQS long-poll wait in seconds, 0-20"},
		{"chunk-size", "8MiB", "default", "multipart upload part size, 1MiB × 2ⁿ up to 4GiB"},
		{"threads", "4", "default", "parallel transfers and workers, 1-64"},
		{"data-dir", "/home/me/.local/share/freezer", "default", "folder for local archive files"},
	} {
		f.settings = append(f.settings, control.SettingJSON{Key: s.key, Value: s.value, Source: s.source, Secret: s.key == "secret-key", Help: s.help})
	}
	f.exclude = []string{"/home/me/proj/cache"}
	f.keys = []keyRec{{Key: mountctl.Key{ID: "3f2a9c0d51e8b7a4", Name: "home backups", Algorithm: "aes-256-cbc", Created: "2024-05-01T12:00:00Z", Default: true},
		material: strings.Repeat("ab", 32)}}
	return f
}

// Requests returns the control lines written so far.
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// enter takes the lock after the fake's delay.
func (f *Fake) enter(ctx context.Context) error {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	return nil
}

func refuse(file string, errno syscall.Errno, format string, v ...any) error {
	return &mountctl.Error{File: file, Errno: errno, Message: fmt.Sprintf(format, v...)}
}

// backupRE is the manual's list of backup and generated file names.
var backupRE = regexp.MustCompile(`~$|\.o$|\.pyc$|\.bak$|\.Po?$|^#.*#$|^\.#`)

var reasonHelp = map[string]string{
	"frozen":   "a file with the same name, size and SHA-256 is already in an active archive",
	"backup":   "backup or generated file name",
	"excluded": "matches an exclusion expression of the settings",
	"manual":   "deselected by a person",
	"regex":    "matches this selection's regular expression",
}

// Plan computes a plan over Tree, as the engine would for these rules.
func (f *Fake) Plan(ctx context.Context, s mountctl.Selection) (*filter.Document, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	f.requests = append(f.requests, "plan "+mountctl.PlanLine(s))
	return f.plan(s)
}

func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

func (f *Fake) plan(s mountctl.Selection) (*filter.Document, error) {
	on := map[string]bool{}
	for _, n := range s.Filters {
		on[n] = true
	}
	var re *regexp.Regexp
	if s.Regex != "" {
		var err error
		if re, err = regexp.Compile(s.Regex); err != nil {
			return nil, refuse("plan", syscall.EINVAL, "plan: regex=%s: %v", s.Regex, err)
		}
	}
	if len(s.Paths) == 0 {
		return nil, refuse("plan", syscall.EINVAL, "plan: takes the files and folders to plan")
	}
	d := &filter.Document{Version: 1, Filters: s.Filters, Regex: s.Regex, Reasons: reasonHelp}
	idx := map[string]int{}
	for _, root := range s.Paths {
		found := false
		d.Roots = append(d.Roots, filter.DocPath{Path: root})
		for _, n := range f.Tree {
			if !under(n.Path, root) {
				continue
			}
			found = true
			name := path.Join(path.Base(root), strings.TrimPrefix(n.Path, root))
			e := filter.DocEntry{Path: n.Path, Name: name, Type: "file", Size: n.Size, FrozenCopies: []filter.DocLocation{}, Reasons: []string{}}
			if n.Dir {
				e.Type = "dir"
			}
			add := func(r string) { e.Reasons = append(e.Reasons, r) }
			if !n.Dir {
				if loc, ok := f.Frozen[n.Path]; ok && on["frozen"] {
					add("frozen")
					e.FrozenCopies = append(e.FrozenCopies, loc)
				}
				if on["backup"] && backupRE.MatchString(path.Base(n.Path)) {
					add("backup")
				}
			}
			if on["excluded"] {
				for _, x := range f.exclude {
					if under(n.Path, x) {
						add("excluded")
						e.ExcludedBy = x
						break
					}
				}
			}
			if on["manual"] && f.manual[n.Path] {
				add("manual")
			}
			if on["regex"] && re != nil && re.MatchString(n.Path) {
				add("regex")
			}
			e.Selected = len(e.Reasons) == 0
			idx[n.Path] = len(d.Entries)
			d.Entries = append(d.Entries, e)
		}
		if !found {
			return nil, refuse("plan", syscall.ENOENT, "plan: %s: no such file or folder", root)
		}
	}
	mark := func(p string, sel bool) error {
		hit := false
		for i := range d.Entries {
			e := &d.Entries[i]
			if !under(e.Path, p) {
				continue
			}
			hit = true
			if sel {
				e.Override = len(e.Reasons) > 0
				e.Reasons = removeReason(e.Reasons, "manual")
				e.Selected = true
				delete(f.manual, e.Path)
			} else {
				e.Selected, e.Override = false, false
				if !contains(e.Reasons, "manual") {
					e.Reasons = append(e.Reasons, "manual")
				}
				f.manual[e.Path] = true
			}
		}
		if !hit {
			return refuse("plan", syscall.EINVAL, "plan: %s is not in this selection", p)
		}
		return nil
	}
	for _, p := range s.Exclude {
		if err := mark(p, false); err != nil {
			return nil, err
		}
	}
	for _, p := range s.Include {
		if err := mark(p, true); err != nil {
			return nil, err
		}
	}
	// A folder is selected when something beneath it is.
	for i := range d.Entries {
		e := &d.Entries[i]
		if e.Type != "dir" {
			continue
		}
		e.Selected = false
		for _, c := range d.Entries {
			if c.Type != "dir" && c.Selected && under(c.Path, e.Path) {
				e.Selected = true
				break
			}
		}
	}
	byReason := map[string]*filter.ReasonCount{}
	sum := &d.Summary
	kept := d.Entries[:0]
	for _, e := range d.Entries {
		if e.Type == "dir" {
			if e.Selected {
				sum.DirsSelected++
			} else {
				sum.DirsLeftOut++
			}
		} else if e.Selected {
			sum.Selected.Files++
			sum.Selected.Bytes += e.Size
		} else {
			sum.LeftOut.Files++
			sum.LeftOut.Bytes += e.Size
			for _, r := range e.Reasons {
				if byReason[r] == nil {
					byReason[r] = &filter.ReasonCount{Reason: r}
				}
				byReason[r].Files++
				byReason[r].Bytes += e.Size
			}
			if on["drop"] {
				sum.Dropped.Files++
				sum.Dropped.Bytes += e.Size
			}
		}
		if !on["drop"] || e.Selected {
			kept = append(kept, e)
		}
	}
	d.Entries = kept
	for _, r := range []string{"frozen", "backup", "excluded", "manual", "regex"} {
		if c := byReason[r]; c != nil {
			sum.ByReason = append(sum.ByReason, *c)
		}
	}
	return d, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func removeReason(s []string, v string) []string {
	out := []string{}
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// NewArchive checks the request as the engine would and starts a task.
func (f *Fake) NewArchive(ctx context.Context, r mountctl.NewArchive) (int64, error) {
	if err := f.enter(ctx); err != nil {
		return 0, err
	}
	defer f.mu.Unlock()
	f.requests = append(f.requests, "new-archive "+mountctl.NewArchiveLine(r))
	if !contains(f.VaultNames, r.Vault) {
		return 0, refuse("new-archive", syscall.ENOENT, "new-archive: vault %s does not exist: create it first", r.Vault)
	}
	if r.Name == "" || strings.ContainsAny(r.Name, "/\x00") {
		return 0, refuse("new-archive", syscall.EINVAL, "new-archive: %q is not an archive name", r.Name)
	}
	if _, ok := f.Existing[r.Vault+"/"+r.Name]; ok {
		return 0, refuse("new-archive", syscall.EEXIST, "new-archive: archive %s/%s exists: choose another name", r.Vault, r.Name)
	}
	p, err := f.plan(r.Selection)
	if err != nil {
		e := err.(*mountctl.Error)
		e.File, e.Message = "new-archive", strings.Replace(e.Message, "plan:", "new-archive:", 1)
		return 0, e
	}
	if p.Summary.Selected.Files == 0 {
		return 0, refuse("new-archive", syscall.EINVAL, "new-archive: empty selection: no file is selected")
	}
	id := f.nextTask
	f.nextTask++
	t := &task{TaskJSON: control.TaskJSON{ID: id, Kind: "create", Vault: r.Vault, Archive: r.Name, Phase: "build", State: "queued",
		BytesTotal: p.Summary.Selected.Bytes, ETASeconds: -1}}
	f.tasks[id] = t
	f.Existing[r.Vault+"/"+r.Name] = mountctl.Archive{Vault: r.Vault, Name: r.Name, State: "local", Description: r.Description}
	return id, nil
}

// Status advances every task one step and returns them.
func (f *Fake) Status(ctx context.Context) (control.StatusJSON, error) {
	if err := f.enter(ctx); err != nil {
		return control.StatusJSON{}, err
	}
	defer f.mu.Unlock()
	s := control.StatusJSON{Version: 1}
	ids := make([]int64, 0, len(f.tasks))
	for id := range f.tasks {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		t := f.tasks[id]
		f.step(t)
		s.Tasks = append(s.Tasks, t.TaskJSON)
	}
	return s, nil
}

func (f *Fake) step(t *task) {
	if t.State != "queued" && t.State != "running" {
		return
	}
	t.step++
	steps := max(f.TaskSteps, 1)
	switch {
	case t.step >= steps && f.FailTasks != "":
		t.State, t.Error, t.ErrorKind = "failed", f.FailTasks, "io"
		t.Resume = "upload " + control.Quote(t.Vault+"/"+t.Archive)
	case t.step >= steps:
		t.State, t.Phase, t.BytesDone, t.ETASeconds = "done", "upload", t.BytesTotal, 0
		t.Result = "archive " + t.Vault + "/" + t.Archive + " uploaded"
	default:
		t.State, t.Phase = "running", "upload"
		t.BytesDone = t.BytesTotal * int64(t.step) / int64(steps)
		t.Rate = 5 << 20
		t.ETASeconds = int64(steps - t.step)
	}
}

// Task returns one task, advanced one step.
func (f *Fake) Task(ctx context.Context, id int64) (control.TaskJSON, error) {
	if err := f.enter(ctx); err != nil {
		return control.TaskJSON{}, err
	}
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return control.TaskJSON{}, fmt.Errorf("task %d is not in .control/status.json", id)
	}
	f.step(t)
	return t.TaskJSON, nil
}

// Settings returns the settings document.
func (f *Fake) Settings(ctx context.Context) (control.SettingsJSON, error) {
	if err := f.enter(ctx); err != nil {
		return control.SettingsJSON{}, err
	}
	defer f.mu.Unlock()
	d := control.SettingsJSON{Version: 1, Settings: append([]control.SettingJSON(nil), f.settings...)}
	d.Exclusions.Exclude = append([]string{}, f.exclude...)
	d.Exclusions.Backup = append([]string{}, f.backup...)
	d.Exclusions.Manual = []string{}
	for p := range f.manual {
		d.Exclusions.Manual = append(d.Exclusions.Manual, p)
	}
	sort.Strings(d.Exclusions.Manual)
	return d, nil
}

// SetSettings applies "KEY VALUE" and "unset KEY" lines, all or nothing.
func (f *Fake) SetSettings(ctx context.Context, lines []string) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	defer f.mu.Unlock()
	reqs, err := control.Parse(strings.Join(lines, "\n"), control.ParseOptions{Verb: "settings"})
	if err != nil {
		return refuse("settings", syscall.EINVAL, "%v", err)
	}
	for _, l := range lines {
		f.requests = append(f.requests, "settings "+l)
	}
	for _, r := range reqs {
		switch r := r.(type) {
		case *control.SettingSetRequest:
			if r.Key == "poll-time" && (len(r.Value) > 2 || r.Value > "20" && len(r.Value) == 2) {
				return refuse("settings", syscall.EINVAL, "settings set: poll-time %s: say 0 to 20 seconds", r.Value)
			}
		}
	}
	for _, r := range reqs {
		switch r := r.(type) {
		case *control.SettingSetRequest:
			f.setting(r.Key, r.Value, "database")
		case *control.SettingUnsetRequest:
			f.setting(r.Key, "", "default")
		}
	}
	return nil
}

func (f *Fake) setting(key, value, source string) {
	for i := range f.settings {
		if f.settings[i].Key == key {
			if f.settings[i].Secret && value != "" {
				value = "********"
			}
			f.settings[i].Value, f.settings[i].Source = value, source
		}
	}
}

// Ctl runs exclusion, key default and vault create lines.
func (f *Fake) Ctl(ctx context.Context, lines ...string) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	defer f.mu.Unlock()
	reqs, err := control.Parse(strings.Join(lines, "\n"), control.ParseOptions{})
	if err != nil {
		return refuse("ctl", syscall.EINVAL, "%v", err)
	}
	f.requests = append(f.requests, lines...)
	for _, r := range reqs {
		switch r := r.(type) {
		case *control.ExcludeAddRequest:
			if r.Backup {
				if _, err := regexp.Compile(r.Expr); err != nil {
					return refuse("ctl", syscall.EINVAL, "exclude add: backup pattern %s: %v", r.Expr, err)
				}
				f.backup = append(f.backup, r.Expr)
			} else {
				f.exclude = append(f.exclude, r.Expr)
			}
		case *control.ExcludeRemoveRequest:
			list := &f.exclude
			if r.Backup {
				list = &f.backup
			}
			if !contains(*list, r.Expr) {
				return refuse("ctl", syscall.ENOENT, "exclude remove: %s is not in the list", r.Expr)
			}
			*list = removeReason(*list, r.Expr)
		case *control.ExcludeForgetRequest:
			delete(f.manual, r.Path)
		case *control.KeyDefaultRequest:
			for i := range f.keys {
				f.keys[i].Default = f.keys[i].ID == r.ID
			}
		case *control.VaultCreateRequest:
			if contains(f.VaultNames, r.Name) {
				return refuse("ctl", syscall.EEXIST, "vault create: vault %s exists", r.Name)
			}
			f.VaultNames = append(f.VaultNames, r.Name)
			sort.Strings(f.VaultNames)
		default:
			return refuse("ctl", syscall.EINVAL, "the fake does not take %s", r.Verb())
		}
	}
	return nil
}

// Vaults lists the vaults.
func (f *Fake) Vaults(ctx context.Context) ([]string, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	return append([]string(nil), f.VaultNames...), nil
}

// CreateVault creates a vault.
func (f *Fake) CreateVault(ctx context.Context, name string) error {
	return f.Ctl(ctx, "vault create "+control.Quote(name))
}

// Keys lists the keys.
func (f *Fake) Keys(ctx context.Context) ([]mountctl.Key, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	out := make([]mountctl.Key, len(f.keys))
	for i, k := range f.keys {
		out[i] = k.Key
	}
	return out, nil
}

type export struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Algorithm string `json:"algorithm"`
	Key       string `json:"key"`
	Created   string `json:"created,omitempty"`
}

// KeyJSON exports a key.
func (f *Fake) KeyJSON(ctx context.Context, id string) ([]byte, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.ID == id {
			b, _ := json.MarshalIndent(export{"freezer-key", 1, k.ID, k.Name, k.Algorithm, k.material, k.Created}, "", "  ")
			return append(b, '\n'), nil
		}
	}
	return nil, refuse("keys", syscall.ENOENT, "key %s is not in the catalog", id)
}

var keyLen = map[string]int{"aes-256-cbc": 32, "aes-192-cbc": 24, "aes-128-cbc": 16}

// NewKey makes a key with a made-up id.
func (f *Fake) NewKey(ctx context.Context, algorithm, name string) (string, error) {
	if err := f.enter(ctx); err != nil {
		return "", err
	}
	defer f.mu.Unlock()
	f.requests = append(f.requests, "new-key "+mountctl.NewKeyLine(algorithm, name))
	n, ok := keyLen[algorithm]
	if !ok {
		return "", refuse("new-key", syscall.EINVAL, "new-key: unknown algorithm %s (known: aes-256-cbc, aes-192-cbc, aes-128-cbc)", algorithm)
	}
	f.keyCounter++
	id := fmt.Sprintf("%016x", 0x51e8b7a400000000+uint64(f.keyCounter))
	f.keys = append(f.keys, keyRec{Key: mountctl.Key{ID: id, Name: name, Algorithm: algorithm, Created: "2025-01-0" + fmt.Sprint(f.keyCounter%9+1) + "T10:00:00Z"},
		material: strings.Repeat("cd", n)})
	return id, nil
}

// ImportKey imports a key's JSON (checked loosely: format, algorithm, key).
func (f *Fake) ImportKey(ctx context.Context, data []byte) (string, error) {
	if err := f.enter(ctx); err != nil {
		return "", err
	}
	defer f.mu.Unlock()
	f.requests = append(f.requests, "key import json=…")
	var e export
	if err := json.Unmarshal(data, &e); err != nil {
		return "", refuse("keys/import", syscall.EINVAL, "import key: %v", err)
	}
	n, ok := keyLen[e.Algorithm]
	if e.Format != "freezer-key" || !ok || len(e.Key) != 2*n {
		return "", refuse("keys/import", syscall.EINVAL, "import key: not a freezer key export (format, algorithm and a key of the right length are required)")
	}
	if e.ID == "" {
		e.ID = fmt.Sprintf("%016x", len(f.keys)+0x100)
	}
	for _, k := range f.keys {
		if k.ID == e.ID {
			return e.ID, nil
		}
	}
	f.keys = append(f.keys, keyRec{Key: mountctl.Key{ID: e.ID, Name: e.Name, Algorithm: e.Algorithm, Created: e.Created}, material: e.Key})
	return e.ID, nil
}

// Archive returns an existing archive.
func (f *Fake) Archive(ctx context.Context, vault, name string) (mountctl.Archive, error) {
	if err := f.enter(ctx); err != nil {
		return mountctl.Archive{}, err
	}
	defer f.mu.Unlock()
	a, ok := f.Existing[vault+"/"+name]
	if !ok {
		return a, fmt.Errorf("archive %s/%s: no such file or directory", vault, name)
	}
	return a, nil
}
