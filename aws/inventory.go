package aws

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"freezer/aws/treehash"
)

// Inventory is a vault inventory as an inventory-retrieval job returns it.
// The CSV form carries no vault ARN or date.
type Inventory struct {
	VaultARN string
	Date     time.Time
	Archives []InventoryArchive
}

// InventoryArchive is one archive of an inventory.
type InventoryArchive struct {
	ID, Description string
	Created         time.Time
	Size            int64
	TreeHash        string
}

type inventoryArchiveJSON struct {
	ArchiveId          *string
	ArchiveDescription *string
	CreationDate       *string
	Size               *int64
	SHA256TreeHash     *string
}

// ParseInventory reads the JSON inventory format:
//
//	{"VaultARN": "...", "InventoryDate": "...", "ArchiveList": [{"ArchiveId": "...",
//	 "ArchiveDescription": "...", "CreationDate": "...", "Size": 123, "SHA256TreeHash": "..."}]}
//
// It streams the archive list, so memory holds the result and not the text
// too. Anything that is not a complete, valid inventory is an error.
func ParseInventory(r io.Reader) (Inventory, error) {
	var inv Inventory
	fail := func(err error) (Inventory, error) { return Inventory{}, fmt.Errorf("inventory (JSON): %w", err) }
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return fail(err)
	}
	var haveARN, haveDate, haveList bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		switch key {
		case "VaultARN":
			if err := dec.Decode(&inv.VaultARN); err != nil {
				return fail(fmt.Errorf("VaultARN: %w", err))
			}
			haveARN = inv.VaultARN != ""
		case "InventoryDate":
			var s string
			if err := dec.Decode(&s); err != nil {
				return fail(fmt.Errorf("InventoryDate: %w", err))
			}
			if inv.Date, err = parseISO(s); err != nil {
				return fail(fmt.Errorf("InventoryDate: %w", err))
			}
			haveDate = true
		case "ArchiveList":
			if haveList {
				return fail(errors.New("ArchiveList given twice"))
			}
			haveList = true
			if err := decodeArchiveList(dec, &inv); err != nil {
				return fail(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(errors.New("data after the inventory"))
	}
	if !haveARN || !haveDate || !haveList {
		return fail(errors.New("VaultARN, InventoryDate or ArchiveList missing"))
	}
	return inv, nil
}

func decodeArchiveList(dec *json.Decoder, inv *Inventory) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("ArchiveList: %w", err)
	}
	if tok == nil { // null: no archives
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("ArchiveList: want a list, got %v", tok)
	}
	for dec.More() {
		var a inventoryArchiveJSON
		if err := dec.Decode(&a); err != nil {
			return fmt.Errorf("archive %d: %w", len(inv.Archives)+1, err)
		}
		if a.ArchiveId == nil || a.CreationDate == nil || a.Size == nil || a.SHA256TreeHash == nil {
			return fmt.Errorf("archive %d: ArchiveId, CreationDate, Size or SHA256TreeHash missing", len(inv.Archives)+1)
		}
		ar, err := checkArchive(*a.ArchiveId, str(a.ArchiveDescription), *a.CreationDate, *a.Size, *a.SHA256TreeHash)
		if err != nil {
			return fmt.Errorf("archive %d: %w", len(inv.Archives)+1, err)
		}
		inv.Archives = append(inv.Archives, ar)
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

func checkArchive(id, desc, created string, size int64, hash string) (InventoryArchive, error) {
	if id == "" || strings.ContainsAny(id, " \t\",") {
		return InventoryArchive{}, fmt.Errorf("bad archive ID %q", id)
	}
	t, err := parseISO(created)
	if err != nil {
		return InventoryArchive{}, fmt.Errorf("archive %s: CreationDate: %w", id, err)
	}
	if size < 0 {
		return InventoryArchive{}, fmt.Errorf("archive %s: negative size %d", id, size)
	}
	if _, err := treehash.ParseHex(hash); err != nil {
		return InventoryArchive{}, fmt.Errorf("archive %s: %w", id, err)
	}
	return InventoryArchive{ID: id, Description: desc, Created: t, Size: size, TreeHash: strings.ToLower(hash)}, nil
}

func parseISO(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not ISO 8601", s)
	}
	return t.UTC(), nil
}

// ParseInventoryCSV reads the CSV inventory format: one archive a line,
// ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash, with an
// optional header line. Glacier quotes a field that holds a comma or a double
// quote and escapes an inner quote with a backslash, while a backslash itself
// is not escaped; that is ambiguous for standard CSV readers (a description
// ending in a backslash), so the line is cut from both ends instead: only the
// description can hold commas or quotes, the other four fields cannot.
func ParseInventoryCSV(r io.Reader) (Inventory, error) {
	var inv Inventory
	sc := bufio.NewScanner(r)
	// A description is at most 1024 bytes: a line is far below this.
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		a, header, err := parseCSVLine(text)
		if err != nil {
			return Inventory{}, fmt.Errorf("inventory (CSV) line %d: %w", line, err)
		}
		if header {
			if line != 1 {
				return Inventory{}, fmt.Errorf("inventory (CSV) line %d: header inside the data", line)
			}
			continue
		}
		inv.Archives = append(inv.Archives, a)
	}
	if err := sc.Err(); err != nil {
		return Inventory{}, fmt.Errorf("inventory (CSV) line %d: %w", line+1, err)
	}
	return inv, nil
}

func parseCSVLine(s string) (a InventoryArchive, header bool, err error) {
	first, rest, ok := strings.Cut(s, ",")
	if !ok {
		return a, false, errors.New("want 5 comma-separated fields")
	}
	fields := make([]string, 3)
	for i := 2; i >= 0; i-- {
		j := strings.LastIndexByte(rest, ',')
		if j < 0 {
			return a, false, errors.New("want 5 comma-separated fields")
		}
		fields[i] = unquoteSimple(rest[j+1:])
		rest = rest[:j]
	}
	id := unquoteSimple(first)
	if id == "ArchiveId" {
		return a, true, nil
	}
	desc, err := unquoteDescription(rest)
	if err != nil {
		return a, false, err
	}
	size, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return a, false, fmt.Errorf("size %q is not a number", fields[1])
	}
	a, err = checkArchive(id, desc, fields[0], size, fields[2])
	return a, false, err
}

// unquoteSimple strips optional quotes from a field that cannot hold any.
func unquoteSimple(f string) string {
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		return f[1 : len(f)-1]
	}
	return f
}

func unquoteDescription(f string) (string, error) {
	if !strings.HasPrefix(f, `"`) {
		if strings.Contains(f, `"`) {
			return "", fmt.Errorf("description %s: unquoted field holds a quote", f)
		}
		return f, nil
	}
	if len(f) < 2 || !strings.HasSuffix(f, `"`) {
		return "", fmt.Errorf("description %s: unterminated quote", f)
	}
	inner := f[1 : len(f)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c == '\\' && i+1 < len(inner) && inner[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		if c == '"' {
			return "", fmt.Errorf("description %s: unescaped quote inside", f)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
