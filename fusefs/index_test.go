package fusefs

import (
	"slices"
	"strings"
	"syscall"
	"testing"

	"freezer/control"
	"freezer/store"
)

// The index decides what each path shows: tested here as plain data.

func TestBuildTree(t *testing.T) {
	t.Parallel()
	files := []store.FileRecord{
		{Path: "2024/b.jpg", Size: 2},
		{Path: "2024/a.jpg", Size: 1},
		{Path: "./notes.txt", Size: 3},
		{Path: "2024/deep/er/x", Size: 4},
		{Path: "../escape", Size: 5},    // not a path of the mount
		{Path: "/abs", Size: 6},         // nor this
		{Path: "a//b", Size: 7},         // nor this
		{Path: "2024/a.jpg/x", Size: 8}, // a file's path used as a folder
		{Path: "notes.txt", Size: 9},    // the same path twice: the first stays
		{Path: "naïve café.txt", Size: 10},
	}
	tr := buildTree(files)
	names := func(dir string) []string {
		var out []string
		for _, e := range tr.dirs[dir] {
			n := e.name
			if e.dir {
				n += "/"
			}
			out = append(out, n)
		}
		return out
	}
	for dir, want := range map[string][]string{
		"":             {"2024/", "naïve café.txt", "notes.txt"},
		"2024":         {"a.jpg", "b.jpg", "deep/"},
		"2024/deep":    {"er/"},
		"2024/deep/er": {"x"},
	} {
		if got := names(dir); !slices.Equal(got, want) {
			t.Errorf("%q lists %q, want %q", dir, got, want)
		}
	}
	if f := tr.files["notes.txt"]; f.Size != 3 {
		t.Errorf("notes.txt is %+v, want the first record", f)
	}
	if len(tr.files) != 5 {
		t.Errorf("%d files, want 5: %v", len(tr.files), tr.files)
	}
}

func TestArchiveSetWith(t *testing.T) {
	t.Parallel()
	mk := func(name string, id int64) control.ArchiveInfo {
		return control.ArchiveInfo{Archive: store.Archive{ID: id, Name: name}}
	}
	s := newArchiveSet([]control.ArchiveInfo{mk("b", 2), mk("a", 1), mk(control.ReservedArchiveName, 9)})
	if !slices.Equal(s.names, []string{"a", "b"}) {
		t.Fatalf("names %q", s.names)
	}
	c := mk("c", 3)
	s2 := s.with("c", &c)
	s3 := s2.with("a", nil)
	b := mk("b", 7)
	s4 := s3.with("b", &b)
	if !slices.Equal(s.names, []string{"a", "b"}) || len(s.byName) != 2 {
		t.Errorf("the original changed: %q", s.names)
	}
	if !slices.Equal(s2.names, []string{"a", "b", "c"}) || !slices.Equal(s3.names, []string{"b", "c"}) {
		t.Errorf("names after add %q, after remove %q", s2.names, s3.names)
	}
	if s4.byName["b"].ID != 7 || !slices.Equal(s4.names, []string{"b", "c"}) {
		t.Errorf("replace: %+v %q", s4.byName["b"], s4.names)
	}
}

func TestXattrAnswers(t *testing.T) {
	t.Parallel()
	attrs := []xattr{{"state", "frozen"}, {"size", "12"}}
	if n, e := getXattr(attrs, "user.freezer.state", nil); e != syscall.ERANGE || n != 6 {
		t.Errorf("size probe: %d %v, want 6 ERANGE", n, e)
	}
	buf := make([]byte, 64)
	if n, e := getXattr(attrs, "user.freezer.state", buf); e != 0 || string(buf[:n]) != "frozen" {
		t.Errorf("get: %q %v", buf[:n], e)
	}
	if _, e := getXattr(attrs, "user.freezer.nothing", buf); e != syscall.ENODATA {
		t.Errorf("unknown name: %v, want ENODATA", e)
	}
	n, e := listXattr(attrs, nil)
	if e != syscall.ERANGE || int(n) != len("user.freezer.state\x00user.freezer.size\x00") {
		t.Errorf("list size probe: %d %v", n, e)
	}
	n, e = listXattr(attrs, buf)
	if e != 0 || string(buf[:n]) != "user.freezer.state\x00user.freezer.size\x00" {
		t.Errorf("list: %q %v", buf[:n], e)
	}
	if n, e := listXattr(nil, nil); n != 0 || e != 0 {
		t.Errorf("empty list: %d %v", n, e)
	}
}

func TestArchiveXattrs(t *testing.T) {
	t.Parallel()
	a := control.ArchiveInfo{Archive: store.Archive{Name: "x", RemoteID: "id", Size: 5, Compression: "gzip"},
		State: store.StateFrozen}
	got := map[string]string{}
	for _, x := range archiveXattrs(a) {
		got[x.name] = x.value
	}
	if got["state"] != "frozen" || got["archive-id"] != "id" || got["encryption"] != "none" || got["size"] != "5" {
		t.Errorf("attributes %v", got)
	}
	if _, ok := got["job-expires"]; ok {
		t.Errorf("job-expires shown for a frozen archive")
	}
	if _, ok := got["key"]; ok {
		t.Errorf("an empty key shown")
	}
}

func TestRefusalLineHidesSecrets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file *ctlFile
		text string
		want string
	}{
		{&controlFiles[0], "settings set secret-key abc def\n", "settings set secret-key …"},
		{findCtlFile("settings"), "secret-key abc def\nregion\n", "settings secret-key …; settings region"},
		{&controlFiles[0], `key import json="{\"key\":\"00\"}" x`, "key import json=…"},
		{findCtlFile("retrieve"), "bad\n\n# comment\n", "retrieve bad"},
	} {
		got := refusalLine(tc.file, tc.text)
		if got != tc.want {
			t.Errorf("%q: logged %q, want %q", tc.text, got, tc.want)
		}
		if strings.Contains(got, "abc") || strings.Contains(got, `\"00\"`) {
			t.Errorf("%q: a secret reached the log line %q", tc.text, got)
		}
	}
}

func findCtlFile(name string) *ctlFile {
	for i := range controlFiles {
		if controlFiles[i].name == name {
			return &controlFiles[i]
		}
	}
	panic(name)
}
