package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"freezer/gui-helper/mountctl"
)

// ExistingView is the archive dialog opened on an archive that exists:
// its description and contents, read-only. As the manual says, several
// options are not applicable as the archive cannot be changed: the
// filters, compression, key and Apply are shown disabled.
type ExistingView struct {
	w        *worker
	ctl      Control
	vault    string
	name     string
	arch     mountctl.Archive
	desc     *widget.Label
	contents *widget.Table
	status   statusLine
	content  fyne.CanvasObject
	labels   map[string]*widget.Label
}

// NewExistingView builds the dialog and reads the archive from the mount.
func NewExistingView(c Control, vault, name string) *ExistingView {
	v := &ExistingView{w: newWorker(), ctl: c, vault: vault, name: name, labels: map[string]*widget.Label{}}
	v.build()
	v.load()
	return v
}

// Content is the dialog's canvas object.
func (v *ExistingView) Content() fyne.CanvasObject { return v.content }

// Stop ends the view's background work.
func (v *ExistingView) Stop() { v.w.Stop() }

var existingFacts = []string{"Archive", "State", "Size", "Files", "Created", "Compression", "Encryption", "Key"}

func (v *ExistingView) build() {
	forms := [2]*widget.Form{widget.NewForm(), widget.NewForm()}
	for i, f := range existingFacts {
		l := widget.NewLabel("…")
		v.labels[f] = l
		forms[i*2/len(existingFacts)].Append(f, l)
	}
	v.labels["Archive"].SetText(v.vault + "/" + v.name)
	// A label, not a disabled entry: readable, and selectable for copying.
	v.desc = widget.NewLabel("…")
	v.desc.Wrapping = fyne.TextWrapBreak
	v.desc.Selectable = true
	v.desc.TextStyle = fyne.TextStyle{Monospace: true}
	description := widget.NewForm(widget.NewFormItem("Description", v.desc))

	var disabled []fyne.CanvasObject
	for _, f := range filterToggles {
		c := widget.NewCheck(f.label, nil)
		c.SetChecked(defaultFilters[f.name])
		c.Disable()
		disabled = append(disabled, c)
	}
	regex := widget.NewEntry()
	regex.SetPlaceHolder("regex")
	regex.Disable()
	apply := widget.NewButton("Apply", nil)
	apply.Disable()
	note := widget.NewLabel("This archive exists: it cannot be changed, so the filters, compression, key and Apply do not apply.")
	note.Wrapping = fyne.TextWrapWord

	v.contents = widget.NewTableWithHeaders(
		func() (int, int) { return len(v.arch.Contents), 2 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if id.Row >= len(v.arch.Contents) {
				l.SetText("")
				return
			}
			f := v.arch.Contents[id.Row]
			switch {
			case id.Col == 0 && f.Dir:
				l.SetText(f.Path + "/")
			case id.Col == 0:
				l.SetText(f.Path)
			case f.Dir:
				l.SetText("")
			default:
				l.SetText(bytesText(f.Size))
			}
		})
	v.contents.ShowHeaderColumn = false
	v.contents.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	v.contents.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		o.(*widget.Label).SetText([]string{"Contents (as the catalog knows them)", "Size"}[id.Col])
		o.(*widget.Label).TextStyle = fyne.TextStyle{Bold: true}
	}
	v.contents.SetColumnWidth(0, 640)
	v.contents.SetColumnWidth(1, 110)
	v.status = newStatusLine()

	top := container.NewVBox(container.NewGridWithColumns(2, forms[0], forms[1]), description, note,
		container.NewHBox(disabled...), container.NewBorder(nil, nil, nil, apply, regex))
	v.content = container.NewBorder(top, v.status, nil, nil, v.contents)
}

func (v *ExistingView) load() {
	run(v.w, func(ctx context.Context) (mountctl.Archive, error) { return v.ctl.Archive(ctx, v.vault, v.name) },
		func(a mountctl.Archive, err error) {
			if err != nil {
				v.status.fail("Cannot read "+v.vault+"/"+v.name, err)
				return
			}
			v.arch = a
			set := func(k, val string) { v.labels[k].SetText(orDash(val)) }
			set("State", a.State)
			set("Size", bytesText(a.Size))
			set("Files", fmt.Sprint(a.Files))
			set("Created", a.Created)
			set("Compression", a.Compression)
			set("Encryption", a.Encryption)
			set("Key", a.Key)
			v.desc.SetText(a.Description)
			v.contents.Refresh()
			if len(a.Contents) == 0 {
				v.status.info("The catalog lists no files for this archive (made elsewhere, or not yet retrieved).")
			}
		})
}
