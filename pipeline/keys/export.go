package keys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The export format: one JSON object, written indented by Export.
//
//	{
//	  "format": "freezer-key",
//	  "version": 1,
//	  "id": "3f2a9c0d51e8b7a4",
//	  "name": "home backups",
//	  "algorithm": "aes-256-cbc",
//	  "key": "<64 hex digits>",
//	  "created": "2024-05-01T12:00:00Z"
//	}
//
// format, version, algorithm and key are required; id, name and created may
// be left out (a hand-written file importing a key made elsewhere). key is
// hex only (either case), with no prefix or spaces. When id is given it must
// be the id the material gives: a mismatch means a damaged export.
const (
	exportFormat  = "freezer-key"
	exportVersion = 1

	// maxImportSize bounds Import: a key export is a few hundred bytes.
	maxImportSize = 64 << 10
)

type exported struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Algorithm string `json:"algorithm"`
	Key       string `json:"key"`
	Created   string `json:"created,omitempty"`
}

// Export writes k, material included, as indented JSON. The result is
// secret: whoever holds it can read every archive encrypted with k.
func Export(k Key) ([]byte, error) {
	if !k.HasMaterial() {
		return nil, fmt.Errorf("export key %s: %w", k.ID, ErrNoMaterial)
	}
	if _, ok := lookup(k.Algorithm); !ok {
		return nil, fmt.Errorf("export key %s: unknown algorithm %s", k.ID, quoteShort(k.Algorithm))
	}
	e := exported{
		Format:    exportFormat,
		Version:   exportVersion,
		ID:        ComputeID(k.Algorithm, k.secret.b),
		Name:      k.Name,
		Algorithm: k.Algorithm,
		Key:       hex.EncodeToString(k.secret.b),
	}
	if !k.Created.IsZero() {
		e.Created = k.Created.UTC().Format(time.RFC3339Nano)
	}
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export key %s: %w", k.ID, err)
	}
	return append(out, '\n'), nil
}

// importFields are the known fields in their documented order; valid is the
// list shown in errors.
var importFields = []string{"format", "version", "id", "name", "algorithm", "key", "created"}

// Import reads a key exported by Export (or written by hand in that format).
// It is strict: malformed JSON (with line and column), unknown or repeated
// fields, an unknown algorithm, a wrong key length, bad hex or an id that
// does not match the material are all refused. Errors never contain the key
// material, not even part of it.
func Import(data []byte) (Key, error) {
	k, err := parseExport(data)
	if err != nil {
		return Key{}, fmt.Errorf("import key: %w", err)
	}
	return k, nil
}

func parseExport(data []byte) (Key, error) {
	if len(data) > maxImportSize {
		return Key{}, fmt.Errorf("%d bytes is too large for a key export (at most %d)", len(data), maxImportSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM some editors add
	if len(bytes.TrimSpace(data)) == 0 {
		return Key{}, errors.New("empty input: expected a JSON key export")
	}

	raw, err := readObject(data)
	if err != nil {
		return Key{}, err
	}

	var e exported
	for _, f := range importFields {
		v, ok := raw[f]
		if !ok {
			continue
		}
		var dst any
		switch f {
		case "format":
			dst = &e.Format
		case "version":
			dst = &e.Version
		case "id":
			dst = &e.ID
		case "name":
			dst = &e.Name
		case "algorithm":
			dst = &e.Algorithm
		case "key":
			dst = &e.Key
		case "created":
			dst = &e.Created
		}
		if err := json.Unmarshal(v.value, dst); err != nil {
			// Unmarshal's type errors name only JSON kinds, never values.
			want := "a string"
			if f == "version" {
				want = "a whole number"
			}
			line, col := position(data, v.offset)
			return Key{}, fmt.Errorf("%s (line %d, column %d): must be %s", f, line, col, want)
		}
	}

	for _, f := range []string{"format", "version", "algorithm", "key"} {
		if _, ok := raw[f]; !ok {
			return Key{}, fmt.Errorf("missing field %q (required: format, version, algorithm, key)", f)
		}
	}
	if e.Format != exportFormat {
		return Key{}, fmt.Errorf("format is %s, not %q: this is not a freezer key export", quoteShort(e.Format), exportFormat)
	}
	if e.Version != exportVersion {
		return Key{}, fmt.Errorf("version %d is not supported (this freezer reads version %d); a newer freezer may read it", e.Version, exportVersion)
	}
	alg, err := NormalizeAlgorithm(e.Algorithm)
	if err != nil {
		return Key{}, fmt.Errorf("algorithm: %w", err)
	}
	material, err := decodeHex(e.Key)
	if err != nil {
		return Key{}, fmt.Errorf("key: %w", err)
	}
	a, _ := lookup(alg)
	if err := a.checkLen(len(material)); err != nil {
		return Key{}, fmt.Errorf("key: %w", err)
	}
	id := ComputeID(alg, material)
	if _, ok := raw["id"]; ok && !strings.EqualFold(e.ID, id) {
		// The file's id is not repeated: if fields were swapped it could be
		// the material.
		return Key{}, fmt.Errorf("id does not match the key material (the material gives %s): the export is damaged or was edited; refusing it", id)
	}
	var created time.Time
	if e.Created != "" {
		created, err = time.Parse(time.RFC3339Nano, e.Created)
		if err != nil {
			return Key{}, fmt.Errorf("created: %s is not an RFC 3339 time such as 2024-05-01T12:00:00Z", quoteShort(e.Created))
		}
	}
	return Key{ID: id, Name: e.Name, Algorithm: alg, Created: created, secret: &secret{b: material}}, nil
}

type rawField struct {
	value  json.RawMessage
	offset int64
}

// readObject splits the top-level object into its fields, refusing syntax
// errors, unknown and repeated fields and anything after the object. Field
// names are never echoed: a misplaced key could sit where a name belongs.
func readObject(data []byte) (map[string]rawField, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, jsonReason(se))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			line, col := position(data, int64(len(data)))
			return fmt.Errorf("invalid JSON: input ends early at line %d, column %d", line, col)
		}
		line, col := position(data, dec.InputOffset())
		return fmt.Errorf("invalid JSON near line %d, column %d", line, col)
	}

	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		line, col := position(data, skipSpaceAndComma(data, 0))
		return nil, fmt.Errorf("invalid key export at line %d, column %d: expected a JSON object", line, col)
	}
	fields := map[string]rawField{}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		name, _ := tok.(string)
		line, col := position(data, skipSpaceAndComma(data, start))
		if !isKnownField(name) {
			return nil, fmt.Errorf("unknown field at line %d, column %d (valid fields: %s)", line, col, strings.Join(importFields, ", "))
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("field %q repeated at line %d, column %d", name, line, col)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, syntax(err)
		}
		fields[name] = rawField{value: v, offset: skipSpaceAndComma(data, start)}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		if err != nil {
			return nil, syntax(err)
		}
		return nil, fmt.Errorf("unexpected data after the key object near line %d, column %d", line, col)
	}
	return fields, nil
}

func isKnownField(name string) bool {
	for _, f := range importFields {
		if f == name {
			return true
		}
	}
	return false
}

// jsonReason keeps encoding/json's explanation but drops the quoted input
// character it may carry ("invalid character 'x' after ..."), so no byte of
// the input reaches the message.
func jsonReason(se *json.SyntaxError) string {
	msg := se.Error()
	if rest, ok := strings.CutPrefix(msg, "invalid character "); ok {
		// The character is quoted Go-style; find its closing quote.
		if i := strings.Index(rest, "' "); i >= 0 {
			return "unexpected character " + rest[i+2:]
		}
		return "unexpected character"
	}
	return msg
}

// skipSpaceAndComma moves an offset taken between tokens onto the next token.
func skipSpaceAndComma(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// position turns a byte offset into a 1-based line and column (in bytes).
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// decodeHex decodes the key field. Its errors give a position, never the
// digits.
func decodeHex(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty: expected the key as hex digits")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return nil, fmt.Errorf("invalid hex at position %d (the key must be hex digits only: no spaces, prefix or base64)", i+1)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d): a digit is missing or extra", len(s))
	}
	b := make([]byte, len(s)/2)
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		return nil, errors.New("invalid hex")
	}
	return b, nil
}
