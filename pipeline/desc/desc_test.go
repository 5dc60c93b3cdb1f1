package desc

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormatExamples(t *testing.T) {
	tests := []struct {
		d    Description
		want string
	}{
		{Description{Name: "holiday 2024", Compression: "gzip", Cipher: "aes-256-cbc", KeyID: "c2feb984a8d97d40", Text: "photos from Crete"},
			"freezer v1 name=holiday%202024 tar+gzip aes-256-cbc key=c2feb984a8d97d40 : photos from Crete"},
		{Description{Version: 1, Name: "documents", Compression: "none", Cipher: "none"},
			"freezer v1 name=documents tar unencrypted"},
		{Description{Name: "été 2023: α", Compression: "zstd", Cipher: "AES128", KeyID: "ccf9bfebc7501010", Text: "  café notes, 50% done, 100%41 literal\n"},
			"freezer v1 name=%C3%A9t%C3%A9%202023%3A%20%CE%B1 tar+zstd aes-128-cbc key=ccf9bfebc7501010 : caf%C3%A9 notes, 50% done, 100%2541 literal"},
		{Description{Name: "a=b%c", Compression: "bzip2", Cipher: "bf-cbc", KeyID: "a27783989b68c2ba", Text: "x : y"},
			"freezer v1 name=a%3Db%25c tar+bzip2 bf-cbc key=a27783989b68c2ba : x : y"},
		{Description{Name: "bad\xffutf8\x00", Compression: "gzip", Cipher: "des-ede3-cbc", KeyID: "a24f87f944fafe70", Text: "tab\there\xfe"},
			"freezer v1 name=bad%FFutf8%00 tar+gzip des-ede3-cbc key=a24f87f944fafe70 : tab%09here%FE"},
		{Description{Name: "n", Compression: "none", Cipher: "none", Text: "   "},
			"freezer v1 name=n tar unencrypted"},
	}
	for _, tt := range tests {
		got, err := Format(tt.d)
		if err != nil {
			t.Errorf("Format(%+v): %v", tt.d, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Format(%+v)\n got %s\nwant %s", tt.d, got, tt.want)
		}
		p := Parse(got)
		want, _ := normalize(tt.d)
		if p.Source != SourceFreezer || p.Description == nil || *p.Description != want {
			t.Errorf("Parse(%q) = %+v, want %+v", got, p.Description, want)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	ok := Description{Name: "x", Compression: "gzip", Cipher: "aes-256-cbc", KeyID: "c2feb984a8d97d40"}
	tests := []struct {
		change func(*Description)
		want   string
	}{
		{func(d *Description) { d.Version = 2 }, "version 2"},
		{func(d *Description) { d.Name = "" }, "name is empty"},
		{func(d *Description) { d.Compression = "xz" }, `unknown compression "xz" (valid: none, gzip, bzip2, zstd)`},
		{func(d *Description) { d.Compression = "" }, "unknown compression"},
		{func(d *Description) { d.Cipher = "" }, `cipher is empty (use "none"`},
		{func(d *Description) { d.Cipher = "aes-256-gcm" }, "unknown algorithm"},
		{func(d *Description) { d.KeyID = "" }, "key id"},
		{func(d *Description) { d.KeyID = "has space" }, "key id"},
		{func(d *Description) { d.Cipher = "none" }, "given for an unencrypted archive"},
		{func(d *Description) { d.Name = strings.Repeat("é", 400) }, "archive name too long for a Glacier description: encoded it takes 2400 characters"},
	}
	for _, tt := range tests {
		d := ok
		tt.change(&d)
		_, err := Format(d)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Format(%+v) = %v, want error containing %q", d, err, tt.want)
		}
	}
}

func TestFormatLimits(t *testing.T) {
	base := Description{Compression: "gzip", Cipher: "aes-256-cbc", KeyID: "c2feb984a8d97d40"}
	head := len("freezer v1 name= tar+gzip aes-256-cbc key=c2feb984a8d97d40")

	// The longest name that fits, and one more character.
	d := base
	d.Name = strings.Repeat("n", MaxLen-head)
	s, err := Format(d)
	if err != nil || len(s) != MaxLen {
		t.Fatalf("name filling the description: %d characters, %v", len(s), err)
	}
	d.Name += "n"
	if _, err := Format(d); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("name one too long: %v", err)
	}

	// A long text is shortened between characters of the original and
	// marked; the name is never touched.
	d = base
	d.Name = "photos"
	d.Text = strings.Repeat("ça va ", 300)
	s, err = Format(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) > MaxLen || !strings.HasSuffix(s, "...") {
		t.Fatalf("shortened text: %d characters, ends %q", len(s), s[len(s)-10:])
	}
	p := Parse(s)
	if p.Description == nil || p.Description.Name != "photos" {
		t.Fatalf("shortened description does not parse: %+v", p)
	}
	text := strings.TrimSuffix(p.Description.Text, "...")
	if !strings.HasPrefix(d.Text, text) || !utf8.ValidString(text) || len(text) < 500 {
		t.Errorf("shortened text %q is not a clean prefix of the original", text)
	}

	// When only the name fits, the text goes.
	d = base
	d.Name = strings.Repeat("n", MaxLen-head-4)
	d.Text = "hello"
	if s, err := Format(d); err != nil || strings.Contains(s, " : ") {
		t.Errorf("no room for text: %q, %v", s, err)
	}
}

func TestParseFreezerRejects(t *testing.T) {
	tests := []struct{ in, problem string }{
		{"freezer v2 name=x tar+gzip aes-256-cbc key=abc", "this freezer reads v1 only"},
		{"freezer v1 name=x tar+gzip aes-256-cbc", "no key= id"},
		{"freezer v1 name=x tar+gzip unencrypted key=abc", "given for an unencrypted archive"},
		{"freezer v1 name=x tar+xz unencrypted", `unknown payload "tar+xz"`},
		{"freezer v1 name=x tar unencrypted extra", `unknown or repeated token "extra"`},
		{"freezer v1 name=x tar AES256 key=abc", `unknown token "AES256"`},
		{"freezer v1 name=x name=y tar unencrypted", "name given twice"},
		{"freezer v1 name=x%4 tar unencrypted", "name: bad escape"},
		{"freezer v1 name= tar unencrypted", "name: empty"},
		{"freezer v1 tar unencrypted", "no name"},
		{"freezer v1 name=x unencrypted", "no payload"},
		{"freezer v1 name=x tar", "no cipher"},
		{"freezer v1 name=x tar+gzip tar unencrypted", "payload given twice"},
	}
	for _, tt := range tests {
		p := Parse(tt.in)
		if p.Source != SourceText || p.Description != nil || !strings.Contains(p.Problem, tt.problem) {
			t.Errorf("Parse(%q) = %+v, want text with problem containing %q", tt.in, p, tt.problem)
		}
	}
	if p := Parse("freezer v2 name=caf%C3%A9 tar+gzip"); p.DisplayName != "café" {
		t.Errorf("a future freezer description should still show its name, got %q", p.DisplayName)
	}
	if p := Parse("<m><v>4</v><p>plain/path &amp; more.txt</p><lm>2019-01-21T08:52:42Z</lm></m>"); p.Path != "plain/path & more.txt" ||
		p.DisplayName != "path & more.txt" || p.Modified.Year() != 2019 {
		t.Errorf("FastGlacier path that is not base64: %+v", p)
	}
	if p := Parse("freezer: my notes"); p.Source != SourceText || p.Problem != "" {
		t.Errorf("free text starting with freezer: %+v", p)
	}
}

func TestSampleDescriptions(t *testing.T) {
	date := func(s string) time.Time {
		tm, err := time.Parse("20060102T150405Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	type want struct {
		source, display, path string
		modified              time.Time
		problem               string
		d                     *Description
	}
	cases := map[string]want{
		"freezer-aes256-gzip.txt":         {source: SourceFreezer, display: "holiday 2024", d: &Description{1, "holiday 2024", "gzip", "aes-256-cbc", "c2feb984a8d97d40", "photos from Crete"}},
		"freezer-unencrypted-no-text.txt": {source: SourceFreezer, display: "documents", d: &Description{1, "documents", "none", "none", "", ""}},
		"freezer-utf8-name.txt": {source: SourceFreezer, display: "été 2023: α",
			d: &Description{1, "été 2023: α", "zstd", "aes-128-cbc", "ccf9bfebc7501010", "café notes, 50% done, 100%41 literal"}},
		"freezer-legacy-bf.txt":              {source: SourceFreezer, display: "old-stuff", d: &Description{1, "old-stuff", "bzip2", "bf-cbc", "a27783989b68c2ba", "imported from the original AWS Freezer"}},
		"freezer-3des.txt":                   {source: SourceFreezer, display: "scans", d: &Description{1, "scans", "gzip", "des-ede3-cbc", "a24f87f944fafe70", ""}},
		"fastglacier-v4.txt":                 {source: SourceFastGlacier, display: "IMG_0001.JPG", path: "Photos/2019/IMG_0001.JPG", modified: date("20190501T100059Z")},
		"fastglacier-v2.txt":                 {source: SourceFastGlacier, display: "db-dump.sql.gz", path: "backup/db-dump.sql.gz", modified: date("20140312T081500Z")},
		"fastglacier-v3-folder.txt":          {source: SourceFastGlacier, display: "2016", path: "Projects/2016/", modified: date("20160707T230000Z")},
		"fastglacier-v4-padded-utf8.txt":     {source: SourceFastGlacier, display: "01 Hunter.flac", path: "Music/Björk/Homogenic/01 Hunter.flac", modified: date("20190121T085242Z")},
		"fastglacier-v1-archivemetadata.txt": {source: SourceFastGlacier, display: "report.pdf", path: "D:/Archive/2012/report.pdf"},
		"mt-aws-glacier-mt2.txt":             {source: SourceMtAwsGlacier, display: "отчёт 2013.odt", path: "docs/отчёт 2013.odt", modified: date("20130115T101010Z")},
		"mt-aws-glacier-mt1.txt":             {source: SourceMtAwsGlacier, display: "canción.mp3", path: "música/canción.mp3", modified: date("20121230T000001Z")},
		"cloudberry.txt":                     {source: SourceCloudBerry, display: "tax-2015.xlsx", path: "CBB_SERVER/C:/Users/anna/Documents/tax-2015.xlsx", modified: date("20160310T110623Z")},
		"text-plain.txt":                     {source: SourceText, display: "my archive from 2015"},
		"text-empty.txt":                     {source: SourceText, display: ""},
		"text-freezer-lookalike.txt":         {source: SourceText, display: "freezer backup of the garage photos"},
		"text-freezer-v2.txt":                {source: SourceText, display: "future", problem: "reads v1 only"},
		"text-freezer-no-key.txt":            {source: SourceText, display: "broken", problem: "no key= id"},
		"text-mt2-not-base64.txt":            {source: SourceText, display: "mt2 !!!this is not base64!!!"},
		"text-broken-xml.txt":                {source: SourceText, display: "<m><v>4<_v><p>Y3V0L29mZg=="},
		"text-long-with-slashes.txt":         {source: SourceText, display: "Weekly backup of _home_anna_projects and _srv_www, taken with..."},
	}
	dir := filepath.Join("..", "..", "testdata", "descriptions")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample descriptions in %s: %v", dir, err)
	}
	if len(files) != len(cases) {
		t.Errorf("%d sample files, %d expectations", len(files), len(cases))
	}
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := cases[name]
		if !ok {
			t.Errorf("%s: sample without an expectation", name)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSuffix(string(data), "\n")
		if !strings.HasPrefix(name, strings.TrimSuffix(w.source, ".txt")) && !strings.HasPrefix(name, "text-") {
			t.Errorf("%s: file name does not start with its source %s", name, w.source)
		}
		if len(s) > MaxLen {
			t.Errorf("%s: %d characters, more than Glacier allows", name, len(s))
		}
		p := Parse(s)
		if p.Source != w.source || p.DisplayName != w.display || p.Path != w.path || !p.Modified.Equal(w.modified) {
			t.Errorf("%s: Parse = {%s %q %q %v}, want {%s %q %q %v}", name,
				p.Source, p.DisplayName, p.Path, p.Modified, w.source, w.display, w.path, w.modified)
		}
		if (w.problem == "") != (p.Problem == "") || !strings.Contains(p.Problem, w.problem) {
			t.Errorf("%s: problem %q, want %q", name, p.Problem, w.problem)
		}
		if (w.d == nil) != (p.Description == nil) || (w.d != nil && *w.d != *p.Description) {
			t.Errorf("%s: description %+v, want %+v", name, p.Description, w.d)
		}
		if w.d != nil {
			again, err := Format(*p.Description)
			if err != nil || again != s {
				t.Errorf("%s: Format(Parse(s)) = %q, %v; want the sample back", name, again, err)
			}
		}
	}
}

func TestDisplayName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a/b", "a_b"},
		{"tab\there", "tab_here"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"  spaced  ", "spaced"},
		{".", ""},
		{"..", ""},
		{"", ""},
		{strings.Repeat("é", 150), strings.Repeat("é", 98) + "..."},
	}
	for _, tt := range tests {
		if got := displayName(tt.in, maxDisplayBytes); got != tt.want {
			t.Errorf("displayName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if p := Parse("freezer v1 name=.. tar unencrypted"); p.Source != SourceFreezer || p.DisplayName != "" || p.Description.Name != ".." {
		t.Errorf("name '..': %+v", p)
	}
}

// randomDescription draws descriptions with awkward names and texts.
func randomDescription(r *rand.Rand) Description {
	alphabet := []string{"a", "Z", "0", " ", "%", "=", ":", " : ", "%41", "é", "日本", "\x00", "\xff", "\t", "/", "...", "freezer v1 ", "key=", "\U0001F600", "~"}
	str := func(max int) string {
		var b strings.Builder
		for range r.IntN(max) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	d := Description{
		Name:        str(40),
		Compression: []string{"none", "gzip", "bzip2", "zstd"}[r.IntN(4)],
		Cipher:      []string{"none", "aes-256-cbc", "aes-192-cbc", "aes-128-cbc", "bf-cbc", "des-ede3-cbc"}[r.IntN(6)],
		Text:        str(60),
	}
	if d.Name == "" {
		d.Name = "x"
	}
	if d.Cipher != "none" {
		d.KeyID = []string{"c2feb984a8d97d40", "0123456789ABCDEF", "k.e_y-1"}[r.IntN(3)]
	}
	return d
}

func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		d := randomDescription(r)
		s, err := Format(d)
		if err != nil {
			t.Fatalf("Format(%+v): %v", d, err)
		}
		if len(s) > MaxLen || strings.HasPrefix(s, " ") {
			t.Fatalf("Format(%+v) = %q: too long or leading space", d, s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				t.Fatalf("Format(%+v) = %q: byte %#x outside printable ASCII", d, s, s[i])
			}
		}
		want, _ := normalize(d)
		p := Parse(s)
		if p.Source != SourceFreezer || p.Description == nil || *p.Description != want {
			t.Fatalf("Parse(Format(%+v)) = %+v (%s)", d, p.Description, p.Problem)
		}
	}
}
