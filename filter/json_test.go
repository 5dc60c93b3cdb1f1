package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenPlan has something for every field of the JSON form.
func goldenPlan(t *testing.T) *Plan {
	t.Helper()
	tree := append(sampleTree(), file(proj+"/caf\xe9.txt", 12))
	idx := &fakeIndex{}
	for _, e := range tree {
		if e.Path == proj+"/photo.jpg" {
			idx.freeze(e, "photos", "holiday-2024", "pics/photo.jpg", testTime)
			idx.freeze(e, "photos", "holiday-2019", "old/\xffphoto.jpg", testTime.AddDate(-5, 0, 0))
		}
	}
	h := &fakeHasher{errs: map[string]error{proj + "/build/out.bin": errGone}}
	pl := newPlanner(t, Config{Hasher: h, Frozen: idx, Exclusions: []string{proj + "/buildx"}})
	p := mustPlan(t, pl, Request{
		Roots:            []string{proj},
		Entries:          tree,
		Filters:          DefaultFilters.With(FilterFrozen),
		Regex:            `notes`,
		ManualExclusions: []string{proj + "/main.c"},
		Problems:         []Problem{{Path: proj + "/private", Op: "walk", Err: errors.New("open: permission denied")}},
	})
	for _, s := range []struct {
		path string
		sel  bool
	}{{proj + "/main.c", true}, {proj + "/main.o", true}, {proj + "/empty.py", false}} {
		if err := p.Select(s.path, s.sel); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the plan writes; got:\n%s", path, got)
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := goldenPlan(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", b.Bytes())
	if !json.Valid(b.Bytes()) {
		t.Fatal("not valid JSON")
	}
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := goldenPlan(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	p := goldenPlan(t)
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDocument(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if want := p.Document(); !reflect.DeepEqual(*d, want) {
		t.Fatalf("decoded document differs\n got %+v\nwant %+v", *d, want)
	}
	// The streamed form and json.Marshal of the Plan agree.
	m, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m, compact.Bytes()) {
		t.Fatalf("json.Marshal(plan) differs from WriteJSON")
	}
	// Every entry decodes back to its exact path, type and reasons.
	items := p.Items()
	if len(d.Entries) != len(items) {
		t.Fatalf("%d entries, want %d", len(d.Entries), len(items))
	}
	for i, e := range d.Entries {
		path, err := DecodePath(e.Path, e.PathB64)
		if err != nil {
			t.Fatal(err)
		}
		name, err := DecodePath(e.Name, e.NameB64)
		if err != nil {
			t.Fatal(err)
		}
		typ, ok := parseType(e.Type)
		if path != items[i].Path || name != items[i].Name || !ok || typ != items[i].Type {
			t.Errorf("entry %d: %q %q %q", i, path, name, e.Type)
		}
		var rs Reasons
		for _, n := range e.Reasons {
			r, ok := parseReason(n)
			if !ok {
				t.Errorf("%s: unknown reason %q", path, n)
			}
			rs |= reasonBit(r)
		}
		if rs != items[i].Reasons || e.Selected != items[i].Selected || e.Override != items[i].Override {
			t.Errorf("%s: reasons %v selected %v override %v", path, e.Reasons, e.Selected, e.Override)
		}
		if _, ok := d.Reasons[e.Type]; ok {
			t.Errorf("type %q collides with a reason name", e.Type)
		}
		for _, n := range e.Reasons {
			if d.Reasons[n] == "" {
				t.Errorf("reason %q has no explanation", n)
			}
		}
	}
}

func TestJSONNonUTF8(t *testing.T) {
	raw := "/data/\xff\xfe caf\xe9.txt"
	pl := newPlanner(t, Config{})
	p := mustPlan(t, pl, Request{
		Roots:   []string{"/data"},
		Entries: []Entry{dir("/data"), file(raw, 3), file("/data/ok.txt", 1)},
		Filters: DefaultFilters,
	})
	if err := p.Select(raw, false); err != nil {
		t.Fatal(err)
	}
	out, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) || bytes.Contains(out, []byte("\xff")) {
		t.Fatalf("invalid JSON: %q", out)
	}
	if n := bytes.Count(out, []byte(`"path_b64"`)); n != 2 { // the file and its manual exclusion
		t.Errorf("%d path_b64 fields, want 2:\n%s", n, out)
	}
	if n := bytes.Count(out, []byte(`"name_b64"`)); n != 1 {
		t.Errorf("%d name_b64 fields, want 1:\n%s", n, out)
	}
	if bytes.Contains(out, []byte(`ok.txt","path_b64"`)) {
		t.Error("a UTF-8 path got a path_b64 field")
	}
	d, err := ReadDocument(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	e := d.Entries[1]
	if e.Path != "/data/\uFFFD caf\uFFFD.txt" {
		t.Errorf("display path %q", e.Path)
	}
	if got, err := DecodePath(e.Path, e.PathB64); err != nil || got != raw {
		t.Errorf("decoded %q, %v", got, err)
	}
	m := d.ManualChanges.Excluded[0]
	if got, _ := DecodePath(m.Path, m.PathB64); got != raw {
		t.Errorf("manual exclusion decoded %q", got)
	}
	if _, err := DecodePath("x", "!!"); err == nil {
		t.Error("bad base64 accepted")
	}
	// The text form quotes such a path rather than printing raw bytes.
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"/data/\xff\xfe caf\xe9.txt"`) {
		t.Errorf("text form:\n%s", b.String())
	}
}

func TestReadDocumentVersion(t *testing.T) {
	if _, err := ReadDocument(strings.NewReader(`{"version":2}`)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("version 2: %v", err)
	}
	if _, err := ReadDocument(strings.NewReader(`{`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestJSONEmptyPlan(t *testing.T) {
	p := mustPlan(t, newPlanner(t, Config{}), Request{Filters: DefaultFilters})
	out, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"roots", "entries", "problems"} {
		if v, ok := raw[k].([]any); !ok || len(v) != 0 {
			t.Errorf("%s = %#v, want []", k, raw[k])
		}
	}
}

// TestAppendEntryMatchesEncoder: the hand-written entry encoder writes what
// encoding/json writes for the same DocEntry, byte for byte.
func TestAppendEntryMatchesEncoder(t *testing.T) {
	names := []string{"plain.txt", "with space", "quote\"and\\back", "tab\tnew\nline\r", "ctl\x01\x1f\x7f",
		"html <a href='x'>&amp;</a>", "sep\u2028para\u2029", "é ü 日本 🎉", "bad\xff\xfeutf8", "", "/", "a/b/c"}
	var items []Item
	for i, n := range names {
		it := Item{Entry: Entry{Path: "/home/" + n, Name: "home/" + n, Type: EntryType(i % 4), Size: int64(i) * 1000}}
		if i%2 == 0 {
			it.ModTime = testTime.Add(time.Duration(i) * 1234567 * time.Nanosecond)
		}
		it.Selected, it.Override = i%3 == 0, i%5 == 0
		it.Reasons = Reasons(i * 37 % (1 << numReasons))
		if i%4 == 1 {
			it.ExcludedBy = "re:" + n
		}
		if i%3 == 1 {
			it.SHA256 = fakeSum(it.Entry)
			it.FrozenCopies = []Location{{Vault: "v" + n, Archive: "a", Path: "p/" + n, Created: testTime}, {Vault: "w", Archive: n, Path: n}}
		}
		items = append(items, it)
	}
	for _, it := range items {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(docEntry(&it)); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendEntry(nil, &it); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", it.Path, got, want)
		}
	}
}
