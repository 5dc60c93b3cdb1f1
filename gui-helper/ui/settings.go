package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"freezer/control"
	"freezer/gui-helper/mountctl"
)

// awsFields are the settings of the AWS tab, the manual's first; the
// labels are the settings dialog's.
var awsFields = []struct{ key, label string }{
	{"accountid", "Account id"},
	{"region", "Region"},
	{"access-key", "Access key"},
	{"secret-key", "Secret key"},
	{"sns-topic", "SNS topic"},
	{"queue", "SQS queue"},
	{"poll-time", "Poll time (s)"},
	{"chunk-size", "Chunk size"},
	{"threads", "Threads"},
	{"profile", "AWS profile"},
	{"endpoint", "Endpoint"},
	{"data-dir", "Data folder"},
}

// SettingsView is the manual's settings dialog: AWS values, encryption
// keys and exclusion paths, read from .control/settings.json and the key
// exports, written through .control/settings, new-key, keys/import and
// ctl.
type SettingsView struct {
	w   *worker
	ctl Control
	win fyne.Window

	// AWS tab.
	fields   map[string]*widget.Entry
	items    map[string]*widget.FormItem
	form     *widget.Form
	loaded   map[string]control.SettingJSON
	save     *widget.Button
	awsState statusLine

	// Encryption tab.
	algorithm *widget.Select
	keyName   *widget.Entry
	create    *widget.Button
	keyList   *widget.List
	keys      []mountctl.Key
	keySel    int
	keyJSON   *widget.Entry
	importBtn *widget.Button
	keyState  statusLine

	// Exclusions tab.
	exclusions control.SettingsJSON
	lists      map[string]*exclusionList
	exclState  statusLine

	tabs    *container.AppTabs
	content fyne.CanvasObject
}

// NewSettingsView builds the dialog and reads the settings and keys.
func NewSettingsView(win fyne.Window, c Control) *SettingsView {
	v := &SettingsView{w: newWorker(), ctl: c, win: win, keySel: -1,
		fields: map[string]*widget.Entry{}, items: map[string]*widget.FormItem{}, lists: map[string]*exclusionList{}}
	v.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("AWS", theme.StorageIcon(), v.buildAWS()),
		container.NewTabItemWithIcon("Encryption", theme.VisibilityOffIcon(), v.buildKeys()),
		container.NewTabItemWithIcon("Exclusions", theme.ContentRemoveIcon(), v.buildExclusions()),
	)
	v.content = v.tabs
	v.reload()
	v.reloadKeys()
	return v
}

// Content is the dialog's canvas object.
func (v *SettingsView) Content() fyne.CanvasObject { return v.content }

// Stop ends the view's background work.
func (v *SettingsView) Stop() { v.w.Stop() }

// SelectTab shows the tab with this title (AWS, Encryption, Exclusions).
func (v *SettingsView) SelectTab(title string) {
	for _, t := range v.tabs.Items {
		if t.Text == title {
			v.tabs.Select(t)
		}
	}
}

func (v *SettingsView) buildAWS() fyne.CanvasObject {
	v.form = widget.NewForm()
	for _, f := range awsFields {
		var e *widget.Entry
		if f.key == "secret-key" {
			e = widget.NewPasswordEntry()
		} else {
			e = widget.NewEntry()
		}
		v.fields[f.key] = e
		it := widget.NewFormItem(f.label, e)
		v.items[f.key] = it
		v.form.AppendItem(it)
	}
	v.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), v.saveAWS)
	v.save.Importance = widget.HighImportance
	reload := widget.NewButtonWithIcon("Reload", theme.ViewRefreshIcon(), v.reload)
	v.awsState = newStatusLine()
	note := widget.NewLabel("Values stored here are kept in freezer's catalog and override the command line and the config file. " +
		"Clear a field to remove its stored value. The secret key is never shown: type a new one to replace it.")
	note.Wrapping = fyne.TextWrapWord
	return container.NewBorder(nil, container.NewVBox(container.NewHBox(v.save, reload), v.awsState), nil, nil,
		container.NewVScroll(container.NewVBox(note, v.form)))
}

// reload reads settings.json into the AWS tab and the exclusion lists.
func (v *SettingsView) reload() {
	run(v.w, v.ctl.Settings, func(s control.SettingsJSON, err error) {
		if err != nil {
			v.awsState.fail("Cannot read the settings", err)
			return
		}
		v.loaded = map[string]control.SettingJSON{}
		for _, x := range s.Settings {
			v.loaded[x.Key] = x
			e, ok := v.fields[x.Key]
			if !ok {
				continue
			}
			hint := x.Help + " — from " + orDash(x.Source)
			if x.Secret {
				e.SetText("")
				if x.Value != "" {
					e.SetPlaceHolder("stored (hidden): type to replace")
				} else {
					e.SetPlaceHolder("not set")
				}
			} else {
				e.SetText(x.Value)
				e.SetPlaceHolder("")
			}
			v.items[x.Key].HintText = hint
		}
		v.form.Refresh()
		v.exclusions = s
		for _, l := range v.lists {
			l.list.UnselectAll()
			l.list.Refresh()
		}
	})
}

// awsLines are the settings lines the AWS tab's changes make: a changed
// field is stored, a cleared one unset (when stored in the catalog), and
// the secret key only when a new one was typed.
func (v *SettingsView) awsLines() []string {
	var lines []string
	for _, f := range awsFields {
		e, was := v.fields[f.key], v.loaded[f.key]
		text := strings.TrimSpace(e.Text)
		switch {
		case f.key == "secret-key":
			if e.Text != "" {
				lines = append(lines, mountctl.SettingLine(f.key, e.Text, false))
			}
		case text == was.Value:
		case text == "" && was.Source == "database":
			lines = append(lines, mountctl.SettingLine(f.key, "", true))
		case text != "":
			lines = append(lines, mountctl.SettingLine(f.key, text, false))
		}
	}
	return lines
}

func (v *SettingsView) saveAWS() {
	lines := v.awsLines()
	if len(lines) == 0 {
		v.awsState.info("Nothing changed.")
		return
	}
	v.save.Disable()
	v.awsState.info("Saving…")
	run(v.w, func(ctx context.Context) (struct{}, error) { return struct{}{}, v.ctl.SetSettings(ctx, lines) },
		func(_ struct{}, err error) {
			v.save.Enable()
			if err != nil {
				v.awsState.fail("Not saved (nothing was changed)", err)
				return
			}
			v.awsState.success(fmt.Sprintf("Saved %d setting(s).", len(lines)))
			v.reload()
		})
}

// Encryption tab.

var algorithms = []string{"aes-256-cbc", "aes-192-cbc", "aes-128-cbc"}

func (v *SettingsView) buildKeys() fyne.CanvasObject {
	v.algorithm = widget.NewSelect(algorithms, nil)
	v.algorithm.SetSelected(algorithms[0])
	v.keyName = widget.NewEntry()
	v.keyName.SetPlaceHolder("name (optional), e.g. home backups")
	v.create = widget.NewButtonWithIcon("Create Key", theme.ContentAddIcon(), v.createKey)

	v.keyList = widget.NewList(
		func() int { return len(v.keys) },
		func() fyne.CanvasObject { return newKeyRow() },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			r := o.(*keyRow)
			k := v.keys[i]
			r.SetText(fmt.Sprintf("%s   %s   %s   %s", k.ID, k.Algorithm, orDash(k.Created), k.Name))
			r.onTap = func() { v.keyList.Select(i) }
			r.onDoubleTap = func() { v.keyList.Select(i); v.showKey(i) }
		})
	v.keyList.OnSelected = func(i widget.ListItemID) { v.keySel = i }
	v.keyList.OnUnselected = func(widget.ListItemID) { v.keySel = -1 }

	show := widget.NewButtonWithIcon("Show JSON", theme.VisibilityIcon(), func() { v.showKey(v.keySel) })
	useKey := widget.NewButton("Use for new archives", func() {
		if v.keySel >= 0 && v.keySel < len(v.keys) {
			v.setDefault(v.keys[v.keySel].ID)
		} else {
			v.keyState.info("Choose a key in the list first.")
		}
	})
	noKey := widget.NewButton("Don't encrypt new archives", func() { v.setDefault("none") })

	v.keyJSON = widget.NewMultiLineEntry()
	v.keyJSON.SetPlaceHolder("Double click a key to see its JSON here, or paste a key's JSON and press Import.")
	v.keyJSON.TextStyle = fyne.TextStyle{Monospace: true}
	v.keyJSON.SetMinRowsVisible(9)
	v.importBtn = widget.NewButtonWithIcon("Import", theme.DownloadIcon(), v.importKey)
	clearJSON := widget.NewButtonWithIcon("Clear", theme.ContentClearIcon(), func() { v.keyJSON.SetText("") })
	v.keyState = newStatusLine()
	warn := widget.NewLabel("Keep each key's JSON in a safe place, offline and more than once: without the key, encrypted archives are useless.")
	warn.Wrapping = fyne.TextWrapWord

	top := container.NewVBox(
		container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("Algorithm"), v.algorithm), v.create, v.keyName),
		widget.NewLabelWithStyle("Keys (id, algorithm, created, name)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
	)
	bottom := container.NewVBox(
		container.NewHBox(show, useKey, noKey),
		warn,
		v.keyJSON,
		container.NewHBox(v.importBtn, clearJSON),
		v.keyState,
	)
	return container.NewBorder(top, bottom, nil, nil, v.keyList)
}

func (v *SettingsView) reloadKeys() {
	run(v.w, v.ctl.Keys, func(keys []mountctl.Key, err error) {
		if err != nil {
			v.keyState.fail("Cannot list the keys", err)
			return
		}
		v.keys = keys
		v.keyList.UnselectAll()
		v.keySel = -1
		v.keyList.Refresh()
	})
}

func (v *SettingsView) createKey() {
	alg, name := v.algorithm.Selected, strings.TrimSpace(v.keyName.Text)
	v.create.Disable()
	v.keyState.info("Creating a " + alg + " key…")
	run(v.w, func(ctx context.Context) (string, error) { return v.ctl.NewKey(ctx, alg, name) },
		func(id string, err error) {
			v.create.Enable()
			if err != nil {
				v.keyState.fail("No key was created", err)
				return
			}
			v.keyName.SetText("")
			v.keyState.success("Created key " + id + ". Double click it to see its JSON, and keep that safe.")
			v.reloadKeys()
		})
}

// showKey puts a key's JSON in the text field: the manual's double click.
func (v *SettingsView) showKey(i int) {
	if i < 0 || i >= len(v.keys) {
		v.keyState.info("Choose a key in the list first.")
		return
	}
	id := v.keys[i].ID
	run(v.w, func(ctx context.Context) ([]byte, error) { return v.ctl.KeyJSON(ctx, id) },
		func(b []byte, err error) {
			if err != nil {
				v.keyState.fail("Cannot export key "+id, err)
				return
			}
			v.keyJSON.SetText(string(b))
			v.keyState.info("Key " + id + " as JSON: whoever holds it can read every archive encrypted with it.")
		})
}

func (v *SettingsView) importKey() {
	data := strings.TrimSpace(v.keyJSON.Text)
	if data == "" {
		v.keyState.info("Paste a key's JSON in the field first.")
		return
	}
	v.importBtn.Disable()
	run(v.w, func(ctx context.Context) (string, error) { return v.ctl.ImportKey(ctx, []byte(data)) },
		func(id string, err error) {
			v.importBtn.Enable()
			if err != nil {
				v.keyState.fail("The key was not imported", err)
				return
			}
			v.keyJSON.SetText("")
			v.keyState.success("Imported key " + id + ".")
			v.reloadKeys()
		})
}

func (v *SettingsView) setDefault(id string) {
	line := "key default " + id
	run(v.w, func(ctx context.Context) (struct{}, error) { return struct{}{}, v.ctl.Ctl(ctx, line) },
		func(_ struct{}, err error) {
			switch {
			case err != nil:
				v.keyState.fail("The default key was not changed", err)
			case id == "none":
				v.keyState.success("New archives are not encrypted from now on.")
			default:
				v.keyState.success("New archives are encrypted with key " + id + ".")
			}
		})
}

// keyRow is a key list row that answers a double click, as the manual's
// key list does.
type keyRow struct {
	widget.Label
	onTap, onDoubleTap func()
}

func newKeyRow() *keyRow {
	r := &keyRow{}
	r.TextStyle = fyne.TextStyle{Monospace: true}
	r.ExtendBaseWidget(r)
	return r
}

// Tapped selects the row.
func (r *keyRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap()
	}
}

// DoubleTapped shows the key's JSON.
func (r *keyRow) DoubleTapped(*fyne.PointEvent) {
	if r.onDoubleTap != nil {
		r.onDoubleTap()
	}
}

// Exclusions tab.

// exclusionList is one list of the exclusions tab with its entry and
// buttons.
type exclusionList struct {
	list   *widget.List
	entry  *widget.Entry
	sel    int
	items  func() []string
	add    *widget.Button
	remove *widget.Button
}

func (v *SettingsView) buildExclusions() fyne.CanvasObject {
	v.exclState = newStatusLine()
	mk := func(kind, title, placeholder string, items func() []string) fyne.CanvasObject {
		l := &exclusionList{sel: -1, items: items}
		l.list = widget.NewList(
			func() int { return len(l.items()) },
			func() fyne.CanvasObject { return widget.NewLabel("") },
			func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(l.items()[i]) })
		l.list.OnSelected = func(i widget.ListItemID) { l.sel = i }
		l.list.OnUnselected = func(widget.ListItemID) { l.sel = -1 }
		op := "remove"
		if kind == "manual" {
			op = "forget"
		}
		l.remove = widget.NewButtonWithIcon(map[bool]string{true: "Forget", false: "Remove"}[kind == "manual"], theme.ContentRemoveIcon(), func() {
			its := l.items()
			if l.sel < 0 || l.sel >= len(its) {
				v.exclState.info("Choose an entry in the list first.")
				return
			}
			v.exclude(op, its[l.sel], kind == "backup")
		})
		var controls fyne.CanvasObject = container.NewHBox(l.remove)
		if kind != "manual" {
			l.entry = widget.NewEntry()
			l.entry.SetPlaceHolder(placeholder)
			l.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() {
				x := strings.TrimSpace(l.entry.Text)
				if x == "" {
					return
				}
				v.exclude("add", x, kind == "backup")
			})
			l.entry.OnSubmitted = func(string) { l.add.OnTapped() }
			controls = container.NewBorder(nil, nil, nil, container.NewHBox(l.add, l.remove), l.entry)
		}
		v.lists[kind] = l
		head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		return container.NewBorder(head, controls, nil, nil, l.list)
	}
	excl := mk("exclude", "Exclusion expressions (an absolute path, or re: and an RE2 expression on the full path)",
		"/home/me/.cache  or  re:/node_modules/", func() []string { return v.exclusions.Exclusions.Exclude })
	backup := mk("backup", "Backup patterns (RE2 on file names, beside the manual's ~ .o .pyc .bak .P .Po #…#)",
		`\.tmp$`, func() []string { return v.exclusions.Exclusions.Backup })
	manual := mk("manual", "Manual exclusions (files deselected in an archive dialog)", "",
		func() []string { return v.exclusions.Exclusions.Manual })
	return container.NewBorder(nil, v.exclState, nil, nil, container.NewGridWithRows(3, excl, backup, manual))
}

// exclude runs an exclusion command: add, remove or forget.
func (v *SettingsView) exclude(op, expr string, backup bool) {
	line := mountctl.ExcludeLine(op, expr, backup)
	run(v.w, func(ctx context.Context) (struct{}, error) { return struct{}{}, v.ctl.Ctl(ctx, line) },
		func(_ struct{}, err error) {
			if err != nil {
				v.exclState.fail("Not changed", err)
				return
			}
			switch op {
			case "add":
				for _, l := range v.lists {
					if l.entry != nil && strings.TrimSpace(l.entry.Text) == expr {
						l.entry.SetText("")
					}
				}
				v.exclState.success("Added " + expr + ".")
			case "remove":
				v.exclState.success("Removed " + expr + ".")
			case "forget":
				v.exclState.success("Forgot the manual exclusion of " + expr + ".")
			}
			v.reload()
		})
}
