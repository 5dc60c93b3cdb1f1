package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"freezer/gui-helper/fakectl"
	"freezer/gui-helper/mountctl"
)

var _ Control = (*fakectl.Fake)(nil)

const proj = "/home/me/proj"

func newArchive(t *testing.T, f *fakectl.Fake, paths ...string) *ArchiveView {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("archive")
	v := NewArchiveView(w, f, ArchiveOptions{Paths: paths, Poll: time.Millisecond, Debounce: time.Millisecond,
		OpenSettings: func() {}})
	w.SetContent(v.Content())
	w.Resize(fyne.NewSize(1040, 860))
	v.Load()
	t.Cleanup(v.Stop)
	v.w.wait()
	return v
}

// row finds an entry of the contents overview by its path.
func row(t *testing.T, v *ArchiveView, path string) int {
	t.Helper()
	for i, e := range v.doc.Entries {
		if e.Path == path {
			return i
		}
	}
	t.Fatalf("%s is not in the contents overview", path)
	return -1
}

func entrySelected(t *testing.T, v *ArchiveView, path string) bool {
	return v.doc.Entries[row(t, v, path)].Selected
}

func lastRequest(f *fakectl.Fake, prefix string) string {
	rs := f.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if strings.HasPrefix(rs[i], prefix) {
			return rs[i]
		}
	}
	return ""
}

func TestArchivePlanFromCommandLinePaths(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	if v.doc == nil {
		t.Fatalf("no plan; status %q", v.status.Text)
	}
	if got := v.name.Text; got != "proj" {
		t.Errorf("name %q, want the folder's name", got)
	}
	if v.vault.Selected != "photos" {
		t.Errorf("vault %q, want the first vault", v.vault.Selected)
	}
	// The backup filter is on by default (the manual), and the settings'
	// exclusion expressions and manual exclusions too; frozen is off.
	if !v.filters["backup"].Checked || v.filters["frozen"].Checked || v.filters["drop"].Checked {
		t.Errorf("default filters wrong")
	}
	if !strings.Contains(lastRequest(f, "plan"), "filter=backup,excluded,manual,regex") {
		t.Errorf("plan request %q", lastRequest(f, "plan"))
	}
	for path, want := range map[string]bool{
		proj + "/main.go": true, proj + "/main.o": false, proj + "/notes.txt~": false,
		proj + "/photo.jpg": true, proj + "/cache/index.bin": false,
	} {
		if got := entrySelected(t, v, path); got != want {
			t.Errorf("%s selected=%v, want %v", path, got, want)
		}
	}
	if why := whyText(v.doc.Entries[row(t, v, proj+"/main.o")]); why != "backup/generated" {
		t.Errorf("main.o reason %q", why)
	}
	if s := v.summary.Text; !strings.HasPrefix(s, "Selected: 4 files, 265.9 KiB") || !strings.Contains(s, "backup/generated 3") ||
		!strings.Contains(s, "exclusion expression 1") {
		t.Errorf("summary %q", s)
	}
	if v.apply.Disabled() {
		t.Error("Apply is disabled with a name, a vault and a selection")
	}
}

func TestArchiveFilterToggles(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)

	test.Tap(v.filters["frozen"])
	v.w.wait()
	if entrySelected(t, v, proj+"/photo.jpg") {
		t.Error("photo.jpg is still selected with the frozen filter on")
	}
	if why := whyText(v.doc.Entries[row(t, v, proj+"/photo.jpg")]); !strings.Contains(why, "photos/holiday-2024") {
		t.Errorf("photo.jpg reason %q does not say where the copy is", why)
	}
	if s := v.summary.Text; !strings.HasPrefix(s, "Selected: 3 files") || !strings.Contains(s, "Frozen copies live in photos/holiday-2024") {
		t.Errorf("summary with frozen on: %q", s)
	}

	test.Tap(v.filters["backup"])
	v.w.wait()
	if !entrySelected(t, v, proj+"/main.o") {
		t.Error("main.o is left out with the backup filter off")
	}
	if !strings.Contains(lastRequest(f, "plan"), "filter=frozen,excluded,manual,regex") {
		t.Errorf("plan request %q", lastRequest(f, "plan"))
	}

	test.Type(v.regex, `design`)
	v.w.wait()
	if entrySelected(t, v, proj+"/docs/design.txt") {
		t.Error("design.txt selected although it matches the regex")
	}
	if !strings.Contains(lastRequest(f, "plan"), "regex=design") {
		t.Errorf("plan request %q", lastRequest(f, "plan"))
	}

	test.Tap(v.filters["drop"])
	v.w.wait()
	for _, e := range v.doc.Entries {
		if !e.Selected {
			t.Errorf("%s is still listed after Remove unselected", e.Path)
		}
	}
	if !strings.Contains(v.summary.Text, "removed from the selection") {
		t.Errorf("summary %q", v.summary.Text)
	}
}

func TestArchiveBadRegexShowsTheRefusal(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	test.Type(v.regex, "(")
	v.w.wait()
	if v.status.Importance != widget.DangerImportance || !strings.Contains(v.status.Text, "regex=(") {
		t.Errorf("status %q", v.status.Text)
	}
	if v.doc == nil || len(v.doc.Entries) == 0 {
		t.Error("the last good plan should stay on show")
	}
}

func TestArchiveClickTogglesAFile(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	before := v.summary.Text

	v.contents.Select(widget.TableCellID{Row: row(t, v, proj+"/main.go"), Col: 1})
	v.w.wait()
	if entrySelected(t, v, proj+"/main.go") {
		t.Fatal("main.go still selected after a click")
	}
	if why := whyText(v.doc.Entries[row(t, v, proj+"/main.go")]); why != "manually excluded" {
		t.Errorf("reason %q", why)
	}
	if !strings.Contains(lastRequest(f, "plan"), "exclude="+proj+"/main.go") {
		t.Errorf("a deselection must become a manual exclusion: %q", lastRequest(f, "plan"))
	}
	if v.summary.Text == before || !strings.HasPrefix(v.summary.Text, "Selected: 3 files") {
		t.Errorf("summary did not change: %q", v.summary.Text)
	}

	// Selecting a file a filter left out overrides the filter.
	v.contents.Select(widget.TableCellID{Row: row(t, v, proj+"/main.o"), Col: 2})
	v.w.wait()
	e := v.doc.Entries[row(t, v, proj+"/main.o")]
	if !e.Selected || !e.Override || !strings.HasPrefix(whyText(e), "selected by you") {
		t.Errorf("main.o after a click: %+v", e)
	}
	// Clicking main.go again selects it again.
	v.contents.Select(widget.TableCellID{Row: row(t, v, proj+"/main.go"), Col: 1})
	v.w.wait()
	if !entrySelected(t, v, proj+"/main.go") {
		t.Error("main.go not selected after a second click")
	}
	if p := lastRequest(f, "plan"); strings.Contains(p, "exclude=") || !strings.Contains(p, "include="+proj+"/main.go") {
		t.Errorf("plan request %q", p)
	}

	// A folder: deselecting it leaves out everything beneath.
	v.contents.Select(widget.TableCellID{Row: row(t, v, proj+"/docs"), Col: 1})
	v.w.wait()
	if entrySelected(t, v, proj+"/docs/design.txt") {
		t.Error("design.txt selected after its folder was deselected")
	}
	v.contents.Select(widget.TableCellID{Row: row(t, v, proj+"/docs"), Col: 1})
	v.w.wait()
	if !entrySelected(t, v, proj+"/docs/design.txt") || !entrySelected(t, v, proj+"/docs/draft.bak") {
		t.Error("selecting the folder again should select what is beneath it")
	}
}

func TestArchiveApplyFollowsTheTask(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	v.name.SetText("")
	test.Type(v.name, "proj-2025")
	test.Type(v.description, "the project, June")
	v.compression.SetSelected("zstd")
	v.key.SetSelected(keyNone)
	v.upload.SetChecked(false)
	v.w.wait()
	if want := "freezer v1 name=proj-2025 tar+zstd unencrypted : the project, June"; !strings.Contains(v.descPreview.Text, want) {
		t.Errorf("description preview %q, want %q", v.descPreview.Text, want)
	}
	if !strings.Contains(v.output.Text, "/home/me/.local/share/freezer/archives/photos/proj-2025") {
		t.Errorf("output %q does not say where the local file goes", v.output.Text)
	}

	test.Tap(v.apply)
	v.w.wait()
	req := lastRequest(f, "new-archive")
	for _, want := range []string{"new-archive photos/proj-2025 " + proj, "compression=zstd", "key=none",
		`description="the project, June"`, "filter=backup,excluded,manual,regex", "no-upload=yes"} {
		if !strings.Contains(req, want) {
			t.Errorf("request %q lacks %q", req, want)
		}
	}
	if !strings.HasPrefix(v.progressMsg.Text, "Done") || v.progress.Value != 1 || !v.progress.Visible() {
		t.Errorf("progress %q %v", v.progressMsg.Text, v.progress.Value)
	}
	if v.status.Importance != widget.SuccessImportance {
		t.Errorf("status %q", v.status.Text)
	}
}

func TestArchiveProgressText(t *testing.T) {
	f := fakectl.New()
	f.TaskSteps = 4
	v := newArchive(t, f, proj)
	id, err := f.NewArchive(v.w.ctx, mountctl.NewArchive{Vault: "photos", Name: "x", Selection: v.selection()})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := f.Task(v.w.ctx, id)
	if got := taskText(tk); got != "Task 1: upload — 66.5 KiB of 265.9 KiB at 5.0 MiB/s, 0:03 left" {
		t.Errorf("progress line %q", got)
	}
}

func TestArchiveApplyRefusedShowsTheError(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	v.name.SetText("holiday-2024")
	test.Tap(v.apply)
	v.w.wait()
	if v.status.Importance != widget.DangerImportance || !strings.Contains(v.status.Text, "archive photos/holiday-2024 exists") {
		t.Errorf("status %q", v.status.Text)
	}
	if v.apply.Disabled() {
		t.Error("Apply stays disabled after a refusal")
	}
}

func TestArchiveTaskFailureIsShown(t *testing.T) {
	f := fakectl.New()
	f.FailTasks = "upload photos/proj: connection reset"
	v := newArchive(t, f, proj)
	test.Tap(v.apply)
	v.w.wait()
	if !strings.Contains(v.status.Text, "connection reset") || v.status.Importance != widget.DangerImportance {
		t.Errorf("status %q", v.status.Text)
	}
	if !strings.Contains(v.progressMsg.Text, "To resume: upload photos/proj") {
		t.Errorf("progress %q", v.progressMsg.Text)
	}
}

func TestArchiveKeyChoiceInDescription(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj)
	v.key.SetSelected(v.key.Options[2])
	if !strings.Contains(v.descPreview.Text, "tar+gzip aes-256-cbc key=3f2a9c0d51e8b7a4") {
		t.Errorf("preview %q", v.descPreview.Text)
	}
	if v.chosenKey() != "3f2a9c0d51e8b7a4" {
		t.Errorf("key %q", v.chosenKey())
	}
}

func TestArchiveNewVaultAndRemovePath(t *testing.T) {
	f := fakectl.New()
	v := newArchive(t, f, proj, proj+"/docs")
	if len(v.paths) != 2 {
		t.Fatalf("paths %v", v.paths)
	}
	v.createVault("music")
	v.w.wait()
	if v.vault.Selected != "music" || !strings.Contains(v.status.Text, "created") {
		t.Errorf("vault %q, status %q", v.vault.Selected, v.status.Text)
	}
	v.createVault("music")
	v.w.wait()
	if !strings.Contains(v.status.Text, "vault music exists") {
		t.Errorf("status %q", v.status.Text)
	}
	v.roots.Select(1)
	test.Tap(v.removeRoot)
	v.w.wait()
	if len(v.paths) != 1 || v.paths[0] != proj {
		t.Errorf("paths %v", v.paths)
	}
}

func TestExistingArchiveIsReadOnly(t *testing.T) {
	a := test.NewTempApp(t)
	f := fakectl.New()
	v := NewExistingView(f, "photos", "holiday-2024")
	w := a.NewWindow("existing")
	w.SetContent(v.Content())
	t.Cleanup(v.Stop)
	v.w.wait()
	if !strings.Contains(v.desc.Text, "photos from Crete") {
		t.Errorf("description %q", v.desc.Text)
	}
	if v.labels["State"].Text != "frozen" || v.labels["Files"].Text != "2" {
		t.Errorf("state %q files %q", v.labels["State"].Text, v.labels["Files"].Text)
	}
	if r, _ := v.contents.Length(); r != 3 {
		t.Errorf("%d rows of contents", r)
	}
	for _, o := range test.LaidOutObjects(v.Content()) {
		switch o := o.(type) {
		case *widget.Check:
			if !o.Disabled() {
				t.Errorf("filter %q is enabled on an existing archive", o.Text)
			}
		case *widget.Entry:
			if !o.Disabled() {
				t.Error("an entry is editable on an existing archive")
			}
		case *widget.Button:
			if o.Text != "" && !o.Disabled() {
				t.Errorf("button %q is enabled on an existing archive", o.Text)
			}
		}
	}

	missing := NewExistingView(f, "photos", "nope")
	t.Cleanup(missing.Stop)
	missing.w.wait()
	if !strings.Contains(missing.status.Text, "photos/nope") {
		t.Errorf("status %q", missing.status.Text)
	}
}

func TestStartWithoutAMount(t *testing.T) {
	a := test.NewTempApp(t)
	mounted := errors.New("no freezer is mounted at /home/me/freezer: start one with freezer mount /home/me/freezer, or pass --mount DIR")
	w := Start(a, fakectl.New(), func() error { return mounted }, Command{Name: "settings"})
	t.Cleanup(w.Close)
	found := false
	for _, o := range test.LaidOutObjects(w.Content()) {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "no freezer is mounted") {
			found = true
		}
	}
	if !found {
		t.Fatal("the window does not say that nothing is mounted")
	}
	mounted = nil
	for _, o := range test.LaidOutObjects(w.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Try again" {
			test.Tap(b)
		}
	}
	if _, ok := w.Content().(*fyne.Container); ok {
		// AppTabs is a widget, the not-mounted page a container.
		t.Error("the settings did not open once the mount was there")
	}
}

func TestStartArchiveDialogAndSettings(t *testing.T) {
	a := test.NewTempApp(t)
	f := fakectl.New()
	w := Start(a, f, func() error { return nil }, Command{Name: "new-archive", Paths: []string{proj}, Vault: "projects"})
	t.Cleanup(w.Close)
	// The dialog loads keys and vaults on goroutines of its own; the test
	// driver runs their updates there, so let them finish before tapping.
	keyChoice := func() int {
		for _, o := range test.LaidOutObjects(w.Content()) {
			if s, ok := o.(*widget.Select); ok && len(s.Options) > 0 && s.Options[0] == keyDefault {
				return len(s.Options)
			}
		}
		return 0
	}
	for deadline := time.Now().Add(10 * time.Second); keyChoice() != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the archive dialog never listed the keys")
		}
	}
	time.Sleep(50 * time.Millisecond)
	var settings *widget.Button
	for _, o := range test.LaidOutObjects(w.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Settings…" {
			settings = b
		}
	}
	if settings == nil {
		t.Fatal("no Settings… button in the archive dialog")
	}
	test.Tap(settings)
	var sw fyne.Window
	for _, x := range a.Driver().AllWindows() {
		if x.Title() == "freezer — settings" {
			sw = x
		}
	}
	if sw == nil {
		t.Fatal("Settings… opened no settings window")
	}
	// A key made in the settings reaches the archive dialog's choice when
	// the settings window closes.
	if _, err := f.NewKey(context.Background(), "aes-256-cbc", "new"); err != nil {
		t.Fatal(err)
	}
	sw.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sel *widget.Select
		for _, o := range test.LaidOutObjects(w.Content()) {
			if s, ok := o.(*widget.Select); ok && len(s.Options) > 0 && s.Options[0] == keyDefault {
				sel = s
			}
		}
		if sel != nil && len(sel.Options) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key choice did not list the new key")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
