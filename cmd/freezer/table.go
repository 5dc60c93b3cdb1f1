package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// Text from outside freezer (key names, archive names from other tools,
// file names inside archives, descriptions) may hold anything: an escape
// sequence that repaints the terminal, a tab or newline that breaks a
// table's columns, bytes that are not UTF-8. Every table cell and every
// message goes through cell or clean.

// cell is s as one table cell: as it is when every rune is printable, else
// Go-quoted ("bad\xffname", "key\x1b[31m"), which is unambiguous and keeps
// the row on one line.
func cell(s string) string {
	if printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// clean is s with every unprintable rune and every byte that is not UTF-8
// written as an escape (\x1b, \t, \u202e), for one-line messages whose
// surrounding text is freezer's own.
func clean(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func printable(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !unicode.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// table writes aligned columns; every cell is made safe with cell.
type table struct{ w *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.w, strings.Join(header, "\t"))
	return t
}

// row adds one row; strings are made safe, other values printed with %v.
func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		if s, ok := c.(string); ok {
			parts[i] = cell(s)
		} else {
			parts[i] = fmt.Sprint(c)
		}
	}
	fmt.Fprintln(t.w, strings.Join(parts, "\t"))
}

func (t *table) flush() error { return t.w.Flush() }

// writeJSON writes a document for scripts: one JSON value, indented, then
// a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
