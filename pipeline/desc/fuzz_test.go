package desc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func checkParsed(t *testing.T, in string, p Parsed) {
	t.Helper()
	switch p.Source {
	case SourceFreezer, SourceFastGlacier, SourceMtAwsGlacier, SourceCloudBerry, SourceText:
	default:
		t.Fatalf("Parse(%q): unknown source %q", in, p.Source)
	}
	if (p.Source == SourceFreezer) != (p.Description != nil) {
		t.Fatalf("Parse(%q): source %s with description %v", in, p.Source, p.Description)
	}
	dn := p.DisplayName
	if !utf8.ValidString(dn) || len(dn) > maxDisplayBytes || strings.ContainsRune(dn, '/') || dn == "." || dn == ".." ||
		strings.IndexFunc(dn, unicode.IsControl) >= 0 || dn != strings.TrimSpace(dn) {
		t.Fatalf("Parse(%q): unsafe display name %q", in, dn)
	}
}

// shortenedFrom reports whether got is what Format may make of text when
// the description s is full: a prefix of it cut between characters and
// marked, or nothing at all.
func shortenedFrom(text, got, s string) bool {
	if len(s) <= MaxLen-20 {
		return false
	}
	if got == "" {
		return true
	}
	return strings.HasSuffix(got, shortened) && strings.HasPrefix(text, strings.TrimSuffix(got, shortened))
}

// FuzzParse: Parse never panics, its display names are safe, and a freezer
// description it reads formats and parses back to the same fields.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "descriptions", "*.txt"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(strings.TrimSuffix(string(data), "\n"))
		}
	}
	f.Add("freezer v1 name=%FF%00 tar+zstd aes-192-cbc key=x : %%41%4")
	f.Add("mt2 eyJmaWxlbmFtZSI6bnVsbCwibXRpbWUiOjF9")
	f.Add(`"<m><v>x</v><p></p><lm></lm></m>"`)
	f.Add(`{"path":"..","UTCDateModified":"99999999T999999Z"}`)

	f.Fuzz(func(t *testing.T, s string) {
		p := Parse(s)
		checkParsed(t, s, p)
		if p.Description == nil {
			return
		}
		again, err := Format(*p.Description)
		if err != nil {
			// Only a name longer than Format allows can fail: the input
			// may exceed Glacier's limit or use a shorter spelling.
			if !strings.Contains(err.Error(), "name too long") {
				t.Fatalf("Format(Parse(%q)): %v", s, err)
			}
			return
		}
		q := Parse(again)
		if q.Description == nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %+v", s, q)
		}
		a, b := *p.Description, *q.Description
		if b.Text != a.Text && !shortenedFrom(a.Text, b.Text, again) {
			t.Fatalf("text changed on the round trip of %q: %q -> %q", s, a.Text, b.Text)
		}
		a.Text, b.Text = "", ""
		if a != b {
			t.Fatalf("round trip of %q: %+v -> %+v", s, a, b)
		}
	})
}

// FuzzFormat: whatever Format accepts is Glacier-valid and parses back to
// exactly the normalized description.
func FuzzFormat(f *testing.F) {
	f.Add("holiday 2024", "photos from Crete", uint8(1), uint8(1), "c2feb984a8d97d40")
	f.Add("é\xff/%41=:", " 50% %2g %41 \x00 ", uint8(3), uint8(4), "k")
	f.Add("n", strings.Repeat("ü", 600), uint8(0), uint8(0), "")
	f.Fuzz(func(t *testing.T, name, text string, comp, ciph uint8, keyID string) {
		d := Description{
			Name:        name,
			Text:        text,
			Compression: []string{"none", "gzip", "bzip2", "zstd"}[comp%4],
			Cipher:      []string{"none", "aes-256-cbc", "aes-192-cbc", "aes-128-cbc", "bf-cbc", "des-ede3-cbc"}[ciph%6],
			KeyID:       keyID,
		}
		s, err := Format(d)
		if err != nil {
			return
		}
		if len(s) > MaxLen || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
			t.Fatalf("Format(%+v) = %q: %d characters or surrounding spaces", d, s, len(s))
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				t.Fatalf("Format(%+v) = %q: byte %#x outside printable ASCII", d, s, s[i])
			}
		}
		p := Parse(s)
		checkParsed(t, s, p)
		want, _ := normalize(d)
		if p.Description == nil {
			t.Fatalf("Parse(Format(%+v)) = %+v", d, p)
		}
		got := *p.Description
		if got.Text != want.Text {
			if !shortenedFrom(want.Text, got.Text, s) {
				t.Fatalf("text %q came back as %q from %q", want.Text, got.Text, s)
			}
			got.Text, want.Text = "", ""
		}
		if got != want {
			t.Fatalf("Parse(Format(%+v)) = %+v, want %+v", d, got, want)
		}
	})
}
