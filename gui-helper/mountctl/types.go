package mountctl

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"freezer/control"
)

// Selection is what a plan or a new archive is made of, and how it is
// filtered: the options of `freezer plan`.
type Selection struct {
	// Paths are absolute paths of files and folders (a control file has no
	// working folder).
	Paths []string
	// Filters are filter names (frozen, backup, excluded, manual, regex,
	// drop); none when empty.
	Filters []string
	// Regex is the selection's RE2 expression ("" for none).
	Regex string
	// Exclude are paths the person deselected (remembered by the catalog
	// as manual exclusions); Include are paths the person selected although
	// a filter left them out. The engine applies every exclusion before the
	// inclusions.
	Exclude, Include []string
}

// NewArchive is a new-archive request.
type NewArchive struct {
	Vault, Name string
	Selection
	// Compression is gzip, zstd, bzip2 or none ("" for the engine's
	// default, gzip).
	Compression string
	// Key is a key id, "none" for no encryption, or "" for the default key.
	Key         string
	Description string
	// NoUpload keeps the archive local; it is uploaded later.
	NoUpload bool
}

// Key is a key as the helper lists it: never its material.
type Key struct {
	ID, Name, Algorithm, Created string
	// Default: new archives are encrypted with it (the mount's
	// user.freezer.default on keys/ID.json).
	Default bool
}

// Archive is an existing archive as the mount shows it.
type Archive struct {
	Vault, Name string
	// From the archive file's xattrs; "" when the mount does not say.
	State, Description, Compression, Encryption, Key, Created, ArchiveID string
	Size, Files                                                          int64
	// Contents are the archive's files as the catalog knows them
	// (VAULT/.contents/NAME), paths relative to the archive.
	Contents []File
}

// File is one entry of an archive's contents.
type File struct {
	Path string
	Size int64
	Dir  bool
}

// Error is a refused or failed request: the control file, the errno of
// the write (0 when the write succeeded but the reply says error) and the
// reply's message.
type Error struct {
	File    string
	Errno   syscall.Errno
	Message string
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Errno != 0:
		return fmt.Sprintf(".control/%s: %v", e.File, e.Errno)
	}
	return fmt.Sprintf(".control/%s: the request failed", e.File)
}

// Unwrap gives the errno, so errors.Is(err, syscall.EEXIST) works.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// IsRefused says whether err is a request the mount refused.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// FilterArg is the filter= value for a list of filter names.
func FilterArg(filters []string) string {
	if len(filters) == 0 {
		return "none"
	}
	return strings.Join(filters, ",")
}

// selectionArgs writes the filter arguments shared by plan and
// new-archive.
func selectionArgs(b *strings.Builder, s Selection) {
	b.WriteString(" filter=" + control.Quote(FilterArg(s.Filters)))
	if s.Regex != "" {
		b.WriteString(" regex=" + control.Quote(s.Regex))
	}
	for _, p := range s.Exclude {
		b.WriteString(" exclude=" + control.Quote(p))
	}
	for _, p := range s.Include {
		b.WriteString(" include=" + control.Quote(p))
	}
}

// PlanLine is the line written to .control/plan (the verb is implied).
func PlanLine(s Selection) string {
	var b strings.Builder
	for i, p := range s.Paths {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(control.Quote(p))
	}
	selectionArgs(&b, s)
	return b.String()
}

// NewArchiveLine is the line written to .control/new-archive (the verb is
// implied).
func NewArchiveLine(r NewArchive) string {
	var b strings.Builder
	b.WriteString(control.Quote(r.Vault + "/" + r.Name))
	for _, p := range r.Paths {
		b.WriteString(" " + control.Quote(p))
	}
	if r.Compression != "" {
		b.WriteString(" compression=" + control.Quote(r.Compression))
	}
	if r.Key != "" {
		b.WriteString(" key=" + control.Quote(r.Key))
	}
	if r.Description != "" {
		b.WriteString(" description=" + control.Quote(r.Description))
	}
	selectionArgs(&b, r.Selection)
	if r.NoUpload {
		b.WriteString(" no-upload=yes")
	}
	return b.String()
}

// NewKeyLine is the line written to .control/new-key.
func NewKeyLine(algorithm, name string) string {
	var parts []string
	if algorithm != "" {
		parts = append(parts, "algorithm="+control.Quote(algorithm))
	}
	if name != "" {
		parts = append(parts, "name="+control.Quote(name))
	}
	return strings.Join(parts, " ")
}

// SettingLine is a line of .control/settings: "KEY VALUE", or "unset KEY"
// when unset.
func SettingLine(key, value string, unset bool) string {
	if unset {
		return "unset " + control.Quote(key)
	}
	return control.Quote(key) + " " + control.Quote(value)
}

// ExcludeLine is an exclusion command for .control/ctl: op is add or
// remove (expressions and backup patterns) or forget (manual exclusions).
func ExcludeLine(op, expr string, backup bool) string {
	l := "exclude " + op + " " + control.Quote(expr)
	if backup {
		l += " backup=yes"
	}
	return l
}

// parseOK reads a reply's lines: every "error: " line is an error, and the
// key=value pairs of the "ok" lines are returned.
func parseOK(file, reply string) (map[string]string, error) {
	fields := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(reply), "\n") {
		l = strings.TrimSpace(l)
		if msg, ok := strings.CutPrefix(l, "error:"); ok {
			return nil, &Error{File: file, Message: strings.TrimSpace(msg)}
		}
		rest, ok := strings.CutPrefix(l, "ok")
		if !ok {
			if l == "" {
				continue
			}
			return nil, &Error{File: file, Message: fmt.Sprintf("unexpected reply from .control/%s: %q", file, l)}
		}
		for _, kv := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fields[k] = strings.Trim(v, `"`)
			}
		}
	}
	return fields, nil
}
