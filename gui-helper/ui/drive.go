package ui

import (
	"strings"

	"freezer/filter"
	"freezer/gui-helper/mountctl"
)

// What a person does in the dialogs, as methods: the end-to-end test
// drives the views with them on Fyne's headless driver. Each acts as the
// widget would (a disabled button does nothing) and returns at once; Wait
// waits for the work it started.

// Wait waits for the view's background work, and the work it started.
func (v *ArchiveView) Wait() { v.w.wait() }

// Plan is the plan on show (nil before the first).
func (v *ArchiveView) Plan() *filter.Document { return v.doc }

// ToggleRow clicks a row of the contents overview.
func (v *ArchiveView) ToggleRow(row int) { v.toggle(row) }

// Summary is the selected-files summary.
func (v *ArchiveView) Summary() string { return v.summary.Text }

// Status is the message line.
func (v *ArchiveView) Status() string { return v.status.Text }

// Progress is the task's progress line.
func (v *ArchiveView) Progress() string { return v.progressMsg.Text }

// SetFields types the name and description and picks a compression.
func (v *ArchiveView) SetFields(name, description, compression string) {
	v.name.SetText(name)
	v.description.SetText(description)
	if compression != "" {
		v.compression.SetSelected(compression)
	}
}

// Apply presses Apply.
func (v *ArchiveView) Apply() {
	if v.apply.Disabled() {
		v.status.info("Apply is not possible yet: a name, a vault and a selection are needed, and no task may be running.")
		return
	}
	v.apply.OnTapped()
}

// Wait waits for the view's background work.
func (v *ExistingView) Wait() { v.w.wait() }

// Description is the archive's description on show.
func (v *ExistingView) Description() string { return v.desc.Text }

// Wait waits for the view's background work.
func (v *SettingsView) Wait() { v.w.wait() }

// PasteKeyJSON puts text in the key JSON field.
func (v *SettingsView) PasteKeyJSON(text string) { v.keyJSON.SetText(text) }

// Import presses Import.
func (v *SettingsView) Import() { v.importBtn.OnTapped() }

// CreateKey picks an algorithm, types a name and presses Create Key.
func (v *SettingsView) CreateKey(algorithm, name string) {
	v.algorithm.SetSelected(algorithm)
	v.keyName.SetText(name)
	v.create.OnTapped()
}

// Keys are the keys listed.
func (v *SettingsView) Keys() []mountctl.Key { return v.keys }

// KeyStatus is the encryption tab's message line.
func (v *SettingsView) KeyStatus() string { return v.keyState.Text }

// SetField types a value in the AWS tab's field for a setting.
func (v *SettingsView) SetField(key, value string) {
	if e, ok := v.fields[key]; ok {
		e.SetText(value)
	}
}

// Save presses Save on the AWS tab.
func (v *SettingsView) Save() { v.save.OnTapped() }

// AWSStatus is the AWS tab's message line.
func (v *SettingsView) AWSStatus() string { return v.awsState.Text }

// AddExclusion types an expression (or a backup pattern) and presses Add.
func (v *SettingsView) AddExclusion(expr string, backup bool) {
	l := v.lists["exclude"]
	if backup {
		l = v.lists["backup"]
	}
	l.entry.SetText(strings.TrimSpace(expr))
	l.add.OnTapped()
}
