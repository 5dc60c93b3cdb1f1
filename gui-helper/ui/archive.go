package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"freezer/control"
	"freezer/filter"
	"freezer/gui-helper/mountctl"
	"freezer/pipeline/desc"
)

// ArchiveOptions tune an archive view; the zero value is what a person
// gets.
type ArchiveOptions struct {
	// Paths are files and folders to start with (freezer-gui new-archive
	// PATH…); absolute.
	Paths []string
	// Vault is the vault chosen at first ("" for the first one).
	Vault string
	// OpenSettings opens the settings dialog (nil hides the button).
	OpenSettings func()
	// Poll is how often a running task's progress is read (default 500ms).
	Poll time.Duration
	// Debounce is how long typing in the regex field waits before the plan
	// is asked again (default 400ms).
	Debounce time.Duration
}

// The filters the manual's toolbar toggles, in the engine's stable order.
var filterToggles = []struct{ name, label string }{
	{"frozen", "Already frozen"},
	{"backup", "Backup / generated"},
	{"excluded", "Exclusion expressions"},
	{"manual", "Manual exclusions"},
	{"drop", "Remove unselected"},
}

// defaultFilters are on when the dialog opens: the engine's defaults
// (backup, excluded, manual and regex; the manual: "The backup filter is
// enabled by default").
var defaultFilters = map[string]bool{"backup": true, "excluded": true, "manual": true}

// Compression choices, the default first.
var compressions = []string{"gzip", "zstd", "bzip2", "none"}

const (
	keyDefault = "Default key (from the settings)"
	keyNone    = "No encryption"
)

// ArchiveView is the manual's archive dialog for a new archive: files and
// folders, filters, the contents overview with each file's state and
// reasons, the selection summary, compression, key, output, and Apply,
// which writes .control/new-archive and follows the task to its end.
type ArchiveView struct {
	win  fyne.Window
	ctl  Control
	opts ArchiveOptions
	w    *worker

	name        *widget.Entry
	vault       *widget.Select
	newVault    *widget.Button
	description *widget.Entry
	descPreview *widget.Label
	compression *widget.Select
	key         *widget.Select
	upload      *widget.Check
	output      *widget.Label
	filters     map[string]*widget.Check
	regex       *widget.Entry
	roots       *widget.List
	removeRoot  *widget.Button
	contents    *widget.Table
	summary     *widget.Label
	progress    *widget.ProgressBar
	progressMsg *widget.Label
	apply       *widget.Button
	status      statusLine
	content     fyne.CanvasObject

	// State, touched only on the UI thread.
	paths        []string
	exclude      []string // paths the person deselected
	include      []string // files the person selected although filtered
	doc          *filter.Document
	planGen      int
	regexGen     int
	keys         []mountctl.Key
	dataDir      string
	selectedRoot int
	task         int64
	built        bool // the widgets exist (setting one fires callbacks)
}

// NewArchiveView builds the dialog; Load then starts reading vaults, keys and
// settings, and the plan of opts.Paths.
func NewArchiveView(win fyne.Window, c Control, opts ArchiveOptions) *ArchiveView {
	if opts.Poll == 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Debounce == 0 {
		opts.Debounce = 400 * time.Millisecond
	}
	v := &ArchiveView{win: win, ctl: c, opts: opts, w: newWorker(), selectedRoot: -1}
	v.build()
	for _, p := range opts.Paths {
		v.addPath(p, false)
	}
	return v
}

// Load reads the vaults, keys and settings and asks for the first plan,
// on goroutines of the view's own: call it once the content is in its
// window (their results update the widgets).
func (v *ArchiveView) Load() {
	v.refreshVaults(v.opts.Vault)
	v.refreshKeys()
	v.refreshSettings()
	v.replan()
}

// Content is the dialog's canvas object.
func (v *ArchiveView) Content() fyne.CanvasObject { return v.content }

// Stop ends the view's background work (its window closed).
func (v *ArchiveView) Stop() { v.w.Stop() }

// Refresh reads the vaults, keys and settings again and asks for a new
// plan: after the settings dialog changed keys or exclusions.
func (v *ArchiveView) Refresh() {
	v.refreshVaults("")
	v.refreshKeys()
	v.refreshSettings()
	v.replan()
}

func (v *ArchiveView) build() {
	v.name = widget.NewEntry()
	v.name.SetPlaceHolder("archive name, e.g. holiday-2024")
	v.name.OnChanged = func(string) { v.updateDerived() }

	v.vault = widget.NewSelect(nil, func(string) { v.updateDerived() })
	v.vault.PlaceHolder = "(choose a vault)"
	v.newVault = widget.NewButtonWithIcon("New vault…", theme.ContentAddIcon(), v.askNewVault)

	v.description = widget.NewMultiLineEntry()
	v.description.SetPlaceHolder("your description (optional)")
	v.description.SetMinRowsVisible(2)
	v.description.OnChanged = func(string) { v.updateDerived() }
	v.descPreview = widget.NewLabel("")
	v.descPreview.Wrapping = fyne.TextWrapWord
	v.descPreview.SizeName = theme.SizeNameCaptionText

	v.compression = widget.NewSelect(compressions, func(string) { v.updateDerived() })
	v.compression.SetSelected("gzip")
	v.key = widget.NewSelect([]string{keyDefault, keyNone}, func(string) { v.updateDerived() })
	v.key.SetSelected(keyDefault)
	v.upload = widget.NewCheck("Upload to Glacier now (else local until uploaded)", func(bool) { v.updateDerived() })
	v.upload.SetChecked(true)
	v.output = widget.NewLabel("")
	v.output.Wrapping = fyne.TextWrapBreak

	v.filters = map[string]*widget.Check{}
	var toggles []fyne.CanvasObject
	for _, f := range filterToggles {
		c := widget.NewCheck(f.label, nil)
		c.SetChecked(defaultFilters[f.name])
		c.OnChanged = func(bool) { v.replan() }
		v.filters[f.name] = c
		toggles = append(toggles, c)
	}
	v.regex = widget.NewEntry()
	v.regex.SetPlaceHolder("regex: leave out paths matching this RE2 expression")
	v.regex.OnChanged = func(string) { v.regexChanged() }
	v.regex.OnSubmitted = func(string) { v.regexGen++; v.replan() }

	v.roots = widget.NewList(
		func() int { return len(v.paths) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.paths[i]) })
	v.roots.OnSelected = func(i widget.ListItemID) { v.selectedRoot = i; v.removeRoot.Enable() }
	v.roots.OnUnselected = func(widget.ListItemID) { v.selectedRoot = -1; v.removeRoot.Disable() }
	v.removeRoot = widget.NewButtonWithIcon("Remove", theme.ContentRemoveIcon(), v.removeSelectedRoot)
	v.removeRoot.Disable()

	v.contents = widget.NewTableWithHeaders(
		func() (int, int) {
			if v.doc == nil {
				return 0, 4
			}
			return len(v.doc.Entries), 4
		},
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return container.NewStack(widget.NewIcon(nil), l)
		},
		v.updateCell)
	v.contents.ShowHeaderColumn = false
	v.contents.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	v.contents.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		o.(*widget.Label).SetText([]string{"", "Name in the archive", "Size", "Left out because / frozen in"}[id.Col])
		o.(*widget.Label).TextStyle = fyne.TextStyle{Bold: true}
	}
	v.contents.SetColumnWidth(0, 36)
	v.contents.SetColumnWidth(1, 380)
	v.contents.SetColumnWidth(2, 90)
	v.contents.SetColumnWidth(3, 440)
	v.contents.OnSelected = func(id widget.TableCellID) {
		v.contents.UnselectAll()
		v.toggle(id.Row)
	}

	v.summary = widget.NewLabel("Add files or folders to see what the archive would hold.")
	v.summary.Wrapping = fyne.TextWrapWord
	v.progress = widget.NewProgressBar()
	v.progress.Hide()
	v.progressMsg = widget.NewLabel("")
	v.progressMsg.Wrapping = fyne.TextWrapWord
	v.progressMsg.Hide()
	v.status = newStatusLine()

	v.apply = widget.NewButtonWithIcon("Apply: create and upload", theme.ConfirmIcon(), v.applyNow)
	v.apply.Importance = widget.HighImportance

	toolbar := []fyne.CanvasObject{
		widget.NewButtonWithIcon("Add files…", theme.FileIcon(), v.askFile),
		widget.NewButtonWithIcon("Add folder…", theme.FolderOpenIcon(), v.askFolder),
		v.apply,
	}
	if v.opts.OpenSettings != nil {
		toolbar = append(toolbar, widget.NewButtonWithIcon("Settings…", theme.SettingsIcon(), v.opts.OpenSettings))
	}

	form := widget.NewForm(
		widget.NewFormItem("Name", v.name),
		widget.NewFormItem("Description", container.NewVBox(v.description, v.descPreview)),
		widget.NewFormItem("Compression", v.compression),
		widget.NewFormItem("Encryption", v.key),
		widget.NewFormItem("Vault", container.NewBorder(nil, nil, nil, v.newVault, v.vault)),
		widget.NewFormItem("Output", container.NewVBox(v.output, v.upload)),
	)
	bold := func(s string) fyne.CanvasObject {
		return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	files := container.NewBorder(bold("Files and folders"),
		container.NewVBox(bold("Filters"), container.NewGridWithColumns(2, toggles...), v.regex), nil,
		container.NewVBox(v.removeRoot), v.roots)
	top := container.NewVBox(
		container.NewHBox(toolbar...),
		container.NewGridWithColumns(2, form, files),
	)
	bottom := container.NewVBox(v.summary, v.progress, v.progressMsg, v.status)
	v.content = container.NewBorder(top, bottom, nil, nil, v.contents)
	v.built = true
}

// updateCell draws one cell of the contents overview.
func (v *ArchiveView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	st := o.(*fyne.Container)
	icon, label := st.Objects[0].(*widget.Icon), st.Objects[1].(*widget.Label)
	if v.doc == nil || id.Row >= len(v.doc.Entries) {
		icon.Hide()
		label.SetText("")
		return
	}
	e := v.doc.Entries[id.Row]
	if id.Col == 0 {
		label.Hide()
		icon.Show()
		if e.Selected {
			icon.SetResource(theme.CheckButtonCheckedIcon())
		} else {
			icon.SetResource(theme.CheckButtonIcon())
		}
		return
	}
	icon.Hide()
	label.Show()
	switch id.Col {
	case 1:
		name := e.Name
		if e.Type == "dir" {
			name += "/"
		}
		label.SetText(name)
	case 2:
		if e.Type == "dir" {
			label.SetText("")
		} else {
			label.SetText(bytesText(e.Size))
		}
	case 3:
		label.SetText(whyText(e))
	}
}

// filterNames are the filters in effect: the toggles, and regex (which
// does nothing until an expression is given).
func (v *ArchiveView) filterNames() []string {
	var out []string
	for _, f := range []string{"frozen", "backup", "excluded", "manual"} {
		if v.filters[f].Checked {
			out = append(out, f)
		}
	}
	out = append(out, "regex")
	if v.filters["drop"].Checked {
		out = append(out, "drop")
	}
	return out
}

func (v *ArchiveView) selection() mountctl.Selection {
	return mountctl.Selection{
		Paths:   slices.Clone(v.paths),
		Filters: v.filterNames(),
		Regex:   strings.TrimSpace(v.regex.Text),
		Exclude: slices.Clone(v.exclude),
		Include: slices.Clone(v.include),
	}
}

// replan asks the mount for the plan of the current selection; only the
// newest answer is shown.
func (v *ArchiveView) replan() {
	v.planGen++
	gen := v.planGen
	if len(v.paths) == 0 {
		v.doc = nil
		v.contents.Refresh()
		v.summary.SetText("Add files or folders to see what the archive would hold.")
		v.updateDerived()
		return
	}
	sel := v.selection()
	v.summary.SetText("Planning…")
	run(v.w, func(ctx context.Context) (*filter.Document, error) { return v.ctl.Plan(ctx, sel) },
		func(d *filter.Document, err error) {
			if gen != v.planGen {
				return
			}
			if err != nil {
				v.status.fail("The plan was refused", err)
				if v.doc != nil {
					v.summary.SetText(summaryText(v.doc))
				} else {
					v.summary.SetText("No plan.")
				}
				return
			}
			v.doc = d
			v.status.info("")
			v.summary.SetText(summaryText(d))
			v.contents.Refresh()
			v.updateDerived()
		})
}

// regexChanged asks for a new plan once typing pauses.
func (v *ArchiveView) regexChanged() {
	v.regexGen++
	gen := v.regexGen
	run(v.w, func(ctx context.Context) (struct{}, error) { return struct{}{}, sleep(ctx, v.opts.Debounce) },
		func(_ struct{}, err error) {
			if err == nil && gen == v.regexGen {
				v.replan()
			}
		})
}

// addPath adds a file or folder to the selection.
func (v *ArchiveView) addPath(p string, plan bool) {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		v.status.fail("Cannot add "+p, fmt.Errorf("not an absolute path"))
		return
	}
	if slices.Contains(v.paths, p) {
		return
	}
	v.paths = append(v.paths, p)
	v.roots.Refresh()
	if v.name.Text == "" {
		v.name.SetText(filepath.Base(p))
	}
	if plan {
		v.replan()
	}
}

func (v *ArchiveView) removeSelectedRoot() {
	i := v.selectedRoot
	if i < 0 || i >= len(v.paths) {
		return
	}
	root := v.paths[i]
	v.paths = slices.Delete(v.paths, i, i+1)
	keep := func(p string) bool { return !under(p, root) }
	v.exclude = slices.DeleteFunc(v.exclude, func(p string) bool { return !keep(p) })
	v.include = slices.DeleteFunc(v.include, func(p string) bool { return !keep(p) })
	v.roots.UnselectAll()
	v.roots.Refresh()
	v.replan()
}

func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

func (v *ArchiveView) askFile() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			v.status.fail("Cannot add the file", err)
			return
		}
		if r == nil {
			return
		}
		p := r.URI().Path()
		r.Close()
		v.addPath(p, true)
	}, v.win)
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

func (v *ArchiveView) askFolder() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			v.status.fail("Cannot add the folder", err)
			return
		}
		if u == nil {
			return
		}
		v.addPath(u.Path(), true)
	}, v.win)
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// toggle flips an entry of the contents overview. A deselection becomes a
// manual exclusion (the engine remembers it for later selections); a
// selection overrides the filters for that file, or for every file
// beneath a folder.
func (v *ArchiveView) toggle(row int) {
	if v.doc == nil || row < 0 || row >= len(v.doc.Entries) {
		return
	}
	e := v.doc.Entries[row]
	p, err := filter.DecodePath(e.Path, e.PathB64)
	if err != nil {
		v.status.fail("Cannot toggle "+e.Path, err)
		return
	}
	drop := func(list []string) []string {
		return slices.DeleteFunc(list, func(x string) bool { return under(x, p) })
	}
	v.exclude, v.include = drop(v.exclude), drop(v.include)
	if e.Selected {
		v.exclude = append(v.exclude, p)
	} else if e.Type == "dir" {
		// The engine applies every exclusion before the inclusions, so a
		// folder is selected through its files: a later deselection of one
		// of them still holds.
		for _, c := range v.doc.Entries {
			if c.Type != "dir" && !c.Selected && under(c.Path, p) {
				cp, err := filter.DecodePath(c.Path, c.PathB64)
				if err == nil {
					v.include = append(v.include, cp)
				}
			}
		}
	} else {
		v.include = append(v.include, p)
	}
	v.replan()
}

// updateDerived refreshes what follows from the fields: the description
// freezer will write, the output line, and whether Apply can run.
func (v *ArchiveView) updateDerived() {
	if !v.built {
		return
	}
	name := strings.TrimSpace(v.name.Text)
	d := desc.Description{Name: name, Compression: v.compression.Selected, Cipher: desc.CipherNone, Text: strings.TrimSpace(v.description.Text)}
	if d.Name == "" {
		d.Name = "NAME"
	}
	k := v.chosenKey()
	defaultKey := k == ""
	for _, key := range v.keys {
		if key.ID == k || (defaultKey && key.Default) {
			d.Cipher, d.KeyID = key.Algorithm, key.ID
			defaultKey = false // known: shown as it will be
		}
	}
	text, err := desc.Format(d)
	switch {
	case err != nil:
		v.descPreview.SetText("The description cannot be made: " + err.Error())
	case defaultKey:
		v.descPreview.SetText("Glacier description: " + strings.Replace(text, " unencrypted", " CIPHER key=ID", 1) +
			"\n(CIPHER and ID of the default key; unencrypted without one)")
	default:
		v.descPreview.SetText("Glacier description: " + text)
	}
	vault := v.vault.Selected
	out := "Glacier vault: " + orDash(vault)
	if v.dataDir != "" && vault != "" {
		out += "   ·   local archive file: " + filepath.Join(v.dataDir, "archives", vault, d.Name)
	}
	v.output.SetText(out)
	if v.task != 0 || name == "" || vault == "" || v.doc == nil || v.doc.Summary.Selected.Files == 0 {
		v.apply.Disable()
	} else {
		v.apply.Enable()
	}
	if v.upload.Checked {
		v.apply.SetText("Apply: create and upload")
	} else {
		v.apply.SetText("Apply: create (local only)")
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// chosenKey is the key= value: "" for the default key, "none", or an id.
func (v *ArchiveView) chosenKey() string {
	switch s := v.key.Selected; s {
	case keyDefault, "":
		return ""
	case keyNone:
		return "none"
	default:
		id, _, _ := strings.Cut(s, " ")
		return id
	}
}

func keyLabel(k mountctl.Key) string {
	s := k.ID + " " + k.Algorithm
	if k.Name != "" {
		s += " — " + k.Name
	}
	if k.Default {
		s += " (default)"
	}
	return s
}

func (v *ArchiveView) refreshVaults(want string) {
	run(v.w, v.ctl.Vaults, func(vaults []string, err error) {
		if err != nil {
			v.status.fail("Cannot list the vaults", err)
			return
		}
		cur := v.vault.Selected
		v.vault.SetOptions(vaults)
		switch {
		case want != "" && slices.Contains(vaults, want):
			v.vault.SetSelected(want)
		case cur != "" && slices.Contains(vaults, cur):
			v.vault.SetSelected(cur)
		case len(vaults) > 0 && cur == "":
			v.vault.SetSelected(vaults[0])
		}
		v.updateDerived()
	})
}

func (v *ArchiveView) refreshKeys() {
	run(v.w, v.ctl.Keys, func(keys []mountctl.Key, err error) {
		if err != nil {
			v.status.fail("Cannot list the keys", err)
			return
		}
		v.keys = keys
		opts := []string{keyDefault, keyNone}
		for _, k := range keys {
			opts = append(opts, keyLabel(k))
		}
		v.key.SetOptions(opts)
		v.updateDerived()
	})
}

func (v *ArchiveView) refreshSettings() {
	run(v.w, v.ctl.Settings, func(s control.SettingsJSON, err error) {
		if err != nil {
			v.status.fail("Cannot read the settings", err)
			return
		}
		for _, x := range s.Settings {
			if x.Key == "data-dir" {
				v.dataDir = x.Value
			}
		}
		v.updateDerived()
	})
}

func (v *ArchiveView) askNewVault() {
	e := widget.NewEntry()
	e.SetPlaceHolder("1–255 of a-z A-Z 0-9 _ - .")
	dialog.ShowForm("New vault", "Create", "Cancel", []*widget.FormItem{widget.NewFormItem("Name", e)}, func(ok bool) {
		if ok {
			v.createVault(strings.TrimSpace(e.Text))
		}
	}, v.win)
}

func (v *ArchiveView) createVault(name string) {
	v.status.info("Creating vault " + name + "…")
	run(v.w, func(ctx context.Context) (struct{}, error) { return struct{}{}, v.ctl.CreateVault(ctx, name) },
		func(_ struct{}, err error) {
			if err != nil {
				v.status.fail("Vault "+name+" was not created", err)
				return
			}
			v.status.success("Vault " + name + " created.")
			v.refreshVaults(name)
		})
}

// request is the new-archive request the fields make.
func (v *ArchiveView) request() mountctl.NewArchive {
	return mountctl.NewArchive{
		Vault:       v.vault.Selected,
		Name:        strings.TrimSpace(v.name.Text),
		Selection:   v.selection(),
		Compression: v.compression.Selected,
		Key:         v.chosenKey(),
		Description: strings.TrimSpace(v.description.Text),
		NoUpload:    !v.upload.Checked,
	}
}

// applyNow writes new-archive, then follows the task it started.
func (v *ArchiveView) applyNow() {
	r := v.request()
	v.apply.Disable()
	v.status.info(fmt.Sprintf("Creating %s/%s…", r.Vault, r.Name))
	run(v.w, func(ctx context.Context) (int64, error) { return v.ctl.NewArchive(ctx, r) },
		func(id int64, err error) {
			if err != nil {
				v.status.fail("The archive was not created", err)
				v.updateDerived()
				return
			}
			v.task = id
			v.status.info(fmt.Sprintf("Task %d started: %s/%s.", id, r.Vault, r.Name))
			v.progress.SetValue(0)
			v.progress.Show()
			v.progressMsg.SetText(fmt.Sprintf("Task %d queued", id))
			v.progressMsg.Show()
			v.follow(id, 0)
		})
}

// follow reads the task's progress until it ends. A failed read is shown
// and retried: the task goes on in the mount whatever the window does.
func (v *ArchiveView) follow(id int64, wait time.Duration) {
	run(v.w, func(ctx context.Context) (control.TaskJSON, error) {
		if err := sleep(ctx, wait); err != nil {
			return control.TaskJSON{}, err
		}
		return v.ctl.Task(ctx, id)
	}, func(t control.TaskJSON, err error) {
		if err != nil {
			v.status.fail(fmt.Sprintf("Cannot read the progress of task %d", id), err)
			v.follow(id, 4*v.opts.Poll)
			return
		}
		v.showTask(t)
		if !taskEnded(t.State) {
			v.follow(id, v.opts.Poll)
		}
	})
}

func (v *ArchiveView) showTask(t control.TaskJSON) {
	if t.BytesTotal > 0 {
		v.progress.SetValue(float64(t.BytesDone) / float64(t.BytesTotal))
	}
	v.progressMsg.SetText(taskText(t))
	switch t.State {
	case "done":
		v.progress.SetValue(1)
		v.status.success(fmt.Sprintf("Archive %s/%s is made.", t.Vault, t.Archive))
	case "failed", "interrupted", "cancelled":
		msg := t.Error
		if msg == "" {
			msg = t.State
		}
		v.status.fail(fmt.Sprintf("Archive %s/%s failed", t.Vault, t.Archive), fmt.Errorf("%s", msg))
	default:
		return
	}
	v.task = 0
	v.updateDerived()
}
