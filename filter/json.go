package filter

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// DocumentVersion is the version of the JSON form. It changes only when a
// field changes meaning or goes away; new fields may appear within a version.
const DocumentVersion = 1

// Document is the JSON form of a plan, as WriteJSON writes it and a reader
// (the control directory, the GUI helper) decodes it.
//
// Paths are bytes on Unix and need not be UTF-8. Every path field is a JSON
// string in which bytes that are not UTF-8 are replaced by U+FFFD, good for
// showing; when (and only when) such a replacement happened, a sibling field
// with the suffix "_b64" holds the exact bytes in standard base64. Use
// DecodePath to get the exact path back.
type Document struct {
	Version int       `json:"version"`
	Roots   []DocPath `json:"roots"`
	// Filters are the filters in effect, in the stable order frozen,
	// backup, excluded, manual, regex, drop.
	Filters []string `json:"filters"`
	// Regex is the selection's expression, "" when the regex filter is off.
	Regex string `json:"regex"`
	// Reasons explains every reason name that may appear in an entry.
	Reasons  map[string]string `json:"reasons"`
	Entries  []DocEntry        `json:"entries"`
	Summary  Summary           `json:"summary"`
	Problems []DocProblem      `json:"problems"`
	// ManualChanges are the manual exclusions to add and to remove.
	ManualChanges DocManualChanges `json:"manual_changes"`
}

// DocPath is one path.
type DocPath struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"`
}

// DocEntry is one entry of the plan.
type DocEntry struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"`
	// Name is the path stored inside the archive.
	Name    string `json:"name"`
	NameB64 string `json:"name_b64,omitempty"`
	Type    string `json:"type"` // file, dir, symlink, other
	Size    int64  `json:"size"`
	// ModTime is RFC 3339 in UTC; absent when unknown.
	ModTime  string `json:"mtime,omitempty"`
	Selected bool   `json:"selected"`
	// Override: a person selected the entry although its reasons would
	// leave it out.
	Override bool     `json:"override"`
	Reasons  []string `json:"reasons"`
	// ExcludedBy is the settings entry behind the "excluded" reason.
	ExcludedBy   string        `json:"excluded_by,omitempty"`
	SHA256       string        `json:"sha256,omitempty"`
	FrozenCopies []DocLocation `json:"frozen_copies"`
}

// DocLocation is a frozen copy: vault, archive, path inside the archive.
type DocLocation struct {
	Vault   string `json:"vault"`
	Archive string `json:"archive"`
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"`
	// Created is the archive's creation date, RFC 3339; absent when unknown.
	Created string `json:"created,omitempty"`
}

// DocProblem is a problem with one path.
type DocProblem struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"`
	Op      string `json:"op"`
	Error   string `json:"error"`
}

// DocManualChanges are Plan.ManualChanges.
type DocManualChanges struct {
	Excluded []DocPath `json:"excluded"`
	Included []DocPath `json:"included"`
}

// encodePath gives the display string and, when the path is not UTF-8, its
// exact bytes in base64.
func encodePath(p string) (string, string) {
	if utf8.ValidString(p) {
		return p, ""
	}
	return string(bytes.ToValidUTF8([]byte(p), []byte("\uFFFD"))), base64.StdEncoding.EncodeToString([]byte(p))
}

// DecodePath gives the exact path from a path field and its _b64 sibling.
func DecodePath(path, b64 string) (string, error) {
	if b64 == "" {
		return path, nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("path %q: bad base64: %w", path, err)
	}
	return string(raw), nil
}

func docPath(p string) DocPath {
	s, b := encodePath(p)
	return DocPath{Path: s, PathB64: b}
}

func docPaths(ps []string) []DocPath {
	out := make([]DocPath, len(ps))
	for i, p := range ps {
		out[i] = docPath(p)
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func docEntry(it *Item) DocEntry {
	d := DocEntry{
		Type:         it.Type.String(),
		Size:         it.Size,
		ModTime:      formatTime(it.ModTime),
		Selected:     it.Selected,
		Override:     it.Override,
		Reasons:      it.Reasons.Names(),
		ExcludedBy:   it.ExcludedBy,
		SHA256:       it.SHA256,
		FrozenCopies: make([]DocLocation, len(it.FrozenCopies)),
	}
	d.Path, d.PathB64 = encodePath(it.Path)
	d.Name, d.NameB64 = encodePath(it.Name)
	for i, l := range it.FrozenCopies {
		c := DocLocation{Vault: l.Vault, Archive: l.Archive, Created: formatTime(l.Created)}
		c.Path, c.PathB64 = encodePath(l.Path)
		d.FrozenCopies[i] = c
	}
	return d
}

func (p *Plan) docHead() Document {
	legend := make(map[string]string, numReasons)
	for r := range numReasons {
		legend[reasonNames[r]] = reasonHelp[r]
	}
	problems := make([]DocProblem, len(p.problems))
	for i, pr := range p.problems {
		d := DocProblem{Op: pr.Op}
		d.Path, d.PathB64 = encodePath(pr.Path)
		if pr.Err != nil {
			d.Error = pr.Err.Error()
		}
		problems[i] = d
	}
	mc := p.ManualChanges()
	return Document{
		Version:       DocumentVersion,
		Roots:         docPaths(p.roots),
		Filters:       p.filters.Names(),
		Regex:         p.regex,
		Reasons:       legend,
		Summary:       p.Summary(),
		Problems:      problems,
		ManualChanges: DocManualChanges{Excluded: docPaths(mc.Excluded), Included: docPaths(mc.Included)},
	}
}

// Document builds the JSON form in memory; WriteJSON streams the same.
func (p *Plan) Document() Document {
	d := p.docHead()
	d.Entries = []DocEntry{}
	for it := range p.All() {
		d.Entries = append(d.Entries, docEntry(&it))
	}
	return d
}

// WriteJSON writes the plan as one JSON object (see Document), with one
// entry per line so that a large plan can be read by eye and diffed. The
// entries are encoded one at a time rather than built in memory first.
func (p *Plan) WriteJSON(w io.Writer) error {
	d := p.docHead()
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	field := func(sep, name string, v any) error {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("selection plan: json %s: %w", name, err)
		}
		bw.WriteString(sep)
		bw.WriteString(`"` + name + `":`)
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return nil
	}
	fields := []struct {
		name string
		v    any
	}{{"version", d.Version}, {"roots", d.Roots}, {"filters", d.Filters}, {"regex", d.Regex}, {"reasons", d.Reasons}}
	for i, f := range fields {
		sep := ",\n"
		if i == 0 {
			sep = "{"
		}
		if err := field(sep, f.name, f.v); err != nil {
			return err
		}
	}
	bw.WriteString(",\n\"entries\":[")
	n := 0
	var line []byte
	for it := range p.All() {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteByte('\n')
		line = appendEntry(line[:0], &it)
		bw.Write(line)
	}
	if n > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteByte(']')
	for _, f := range []struct {
		name string
		v    any
	}{{"summary", d.Summary}, {"problems", d.Problems}, {"manual_changes", d.ManualChanges}} {
		if err := field(",\n", f.name, f.v); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// appendEntry appends the JSON of docEntry(it), byte for byte what
// encoding/json writes for it (TestAppendEntryMatchesEncoder holds the two
// equal), without building the DocEntry or reflecting on it: a plan of a
// million entries spends most of its JSON time there otherwise.
func appendEntry(b []byte, it *Item) []byte {
	path, pathB64 := encodePath(it.Path)
	name, nameB64 := encodePath(it.Name)
	b = append(b, `{"path":`...)
	b = appendString(b, path)
	if pathB64 != "" {
		b = append(b, `,"path_b64":`...)
		b = appendString(b, pathB64)
	}
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	if nameB64 != "" {
		b = append(b, `,"name_b64":`...)
		b = appendString(b, nameB64)
	}
	b = append(b, `,"type":`...)
	b = appendString(b, it.Type.String())
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, it.Size, 10)
	if !it.ModTime.IsZero() {
		b = append(b, `,"mtime":"`...)
		b = it.ModTime.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"selected":`...)
	b = strconv.AppendBool(b, it.Selected)
	b = append(b, `,"override":`...)
	b = strconv.AppendBool(b, it.Override)
	b = append(b, `,"reasons":[`...)
	k := 0
	for r := range numReasons {
		if it.Reasons.Has(r) {
			if k > 0 {
				b = append(b, ',')
			}
			k++
			b = appendString(b, reasonNames[r])
		}
	}
	b = append(b, ']')
	if it.ExcludedBy != "" {
		b = append(b, `,"excluded_by":`...)
		b = appendString(b, it.ExcludedBy)
	}
	if it.SHA256 != "" {
		b = append(b, `,"sha256":`...)
		b = appendString(b, it.SHA256)
	}
	b = append(b, `,"frozen_copies":[`...)
	for i, l := range it.FrozenCopies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"vault":`...)
		b = appendString(b, l.Vault)
		b = append(b, `,"archive":`...)
		b = appendString(b, l.Archive)
		lp, lb := encodePath(l.Path)
		b = append(b, `,"path":`...)
		b = appendString(b, lp)
		if lb != "" {
			b = append(b, `,"path_b64":`...)
			b = appendString(b, lb)
		}
		if !l.Created.IsZero() {
			b = append(b, `,"created":"`...)
			b = l.Created.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendString appends s as a JSON string. Plain printable ASCII is copied
// as it is; anything else goes through encoding/json (without HTML
// escaping), so every escape is the one it writes.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// MarshalJSON is WriteJSON into memory.
func (p *Plan) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReadDocument decodes a plan's JSON form, refusing other versions.
func ReadDocument(r io.Reader) (*Document, error) {
	var d Document
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("selection plan json: %w", err)
	}
	if d.Version != DocumentVersion {
		return nil, fmt.Errorf("selection plan json: version %d, this freezer reads version %d", d.Version, DocumentVersion)
	}
	return &d, nil
}
