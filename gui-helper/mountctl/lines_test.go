package mountctl

import (
	"errors"
	"reflect"
	"syscall"
	"testing"

	"freezer/control"
	"freezer/filter"
)

// The lines the helper writes are read back by the engine's own parser
// exactly as meant: the helper and the engine cannot drift.
func TestNewArchiveLineParses(t *testing.T) {
	r := NewArchive{
		Vault: "photos", Name: "holiday 2024 \"ü\"",
		Selection: Selection{
			Paths:   []string{"/home/me/Pictures/2024", "/home/me/notes with space.txt"},
			Filters: []string{"frozen", "backup", "manual"},
			Regex:   `\.tmp$`,
			Exclude: []string{"/home/me/Pictures/2024/x=y"},
			Include: []string{"/home/me/Pictures/2024/a.bak"},
		},
		Compression: "zstd", Key: "none", Description: "Crete, June: \"best\"\nweek", NoUpload: true,
	}
	reqs, err := control.Parse(NewArchiveLine(r), control.ParseOptions{Verb: "new-archive"})
	if err != nil {
		t.Fatalf("%s: %v", NewArchiveLine(r), err)
	}
	got := reqs[0].(*control.CreateRequest)
	if got.Vault != r.Vault || got.Name != r.Name || got.Compression != "zstd" || got.KeyID != "none" ||
		got.Description != r.Description || !got.NoUpload {
		t.Errorf("parsed %+v", got)
	}
	if !reflect.DeepEqual(got.Plan.Paths, r.Paths) || got.Plan.Regex != r.Regex ||
		!reflect.DeepEqual(got.Plan.Exclude, r.Exclude) || !reflect.DeepEqual(got.Plan.Include, r.Include) {
		t.Errorf("parsed plan %+v", got.Plan)
	}
	want, _ := filter.ParseFilters("frozen,backup,manual")
	if got.Plan.Filters != want {
		t.Errorf("filters %v, want %v", got.Plan.Filters, want)
	}
}

func TestPlanLineParses(t *testing.T) {
	for _, s := range []Selection{
		{Paths: []string{"/a"}},
		{Paths: []string{"/a b", "/c"}, Filters: []string{"backup", "drop"}, Regex: "x y"},
	} {
		reqs, err := control.Parse(PlanLine(s), control.ParseOptions{Verb: "plan"})
		if err != nil {
			t.Fatalf("%s: %v", PlanLine(s), err)
		}
		got := reqs[0].(*control.PlanRequest)
		want, _ := filter.ParseFilters(FilterArg(s.Filters))
		if !reflect.DeepEqual(got.Paths, s.Paths) || got.Filters != want || got.Regex != s.Regex {
			t.Errorf("%s parsed as %+v", PlanLine(s), got)
		}
	}
}

func TestOtherLinesParse(t *testing.T) {
	for _, c := range []struct{ verb, line string }{
		{"new-key", NewKeyLine("aes-128-cbc", "home backups")},
		{"settings", SettingLine("region", "eu-west-1", false)},
		{"settings", SettingLine("secret-key", "a b\"c", false)},
		{"settings", SettingLine("queue", "", true)},
		{"", ExcludeLine("add", "re:\\.cache/", false)},
		{"", ExcludeLine("remove", "~$", true)},
		{"", ExcludeLine("forget", "/home/me/x y", false)},
	} {
		if _, err := control.Parse(c.line, control.ParseOptions{Verb: c.verb}); err != nil {
			t.Errorf("%q (%s): %v", c.line, c.verb, err)
		}
	}
}

func TestParseOK(t *testing.T) {
	f, err := parseOK("new-key", "ok key=3f2a9c0d51e8b7a4\n")
	if err != nil || f["key"] != "3f2a9c0d51e8b7a4" {
		t.Errorf("got %v, %v", f, err)
	}
	_, err = parseOK("new-archive", "error: vault photos: no such vault\n")
	if err == nil || err.Error() != "vault photos: no such vault" {
		t.Errorf("got %v", err)
	}
	e := &Error{File: "plan", Errno: syscall.EINVAL, Message: "bad regex"}
	if !errors.Is(e, syscall.EINVAL) || !IsRefused(e) || e.Error() != "bad regex" {
		t.Errorf("error %v", e)
	}
}
