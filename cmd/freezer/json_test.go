package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"freezer/control"
)

// TestEveryListingHasJSON runs every listing with --json on one catalog
// and reads each document back: a versioned shape a script can parse,
// with names and paths byte-exact even when they are not UTF-8. The same
// catalog holds a key named with an escape sequence and a file whose name
// is not UTF-8: the tables show both escaped, on one line each.
func TestEveryListingHasJSON(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	badName := "bad\xffname.txt"
	writeFile(t, filepath.Join(src, badName), "x")
	writeFile(t, filepath.Join(src, "ok.txt"), "ok")
	if err := os.Link(filepath.Join(src, "ok.txt"), filepath.Join(src, "hard.txt")); err != nil {
		t.Fatal(err)
	}
	keyName := "evil\x1b[31mred"
	keyID := strings.TrimSpace(mustCLI(t, dir, "key", "create", "--name", keyName))
	mustCLI(t, dir, "vault", "create", "v")
	code, _, errs := simCLI(t, dir, "archive", "create", "--vault", "v", "--name", "a", "--description", "holiday", src)
	if code != 0 {
		t.Fatalf("create: %s", errs)
	}
	if strings.Contains(errs, "left out") {
		t.Errorf("a file whose name is not UTF-8 was archived, yet reported left out:\n%s", errs)
	}

	type doc struct {
		Version int `json:"version"`
	}
	read := func(args ...string) []byte {
		t.Helper()
		out := mustCLI(t, dir, append(args, "--json")...)
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil || d.Version != control.JSONVersion {
			t.Fatalf("%v --json: version %d, %v:\n%s", args, d.Version, err, out)
		}
		return []byte(out)
	}

	var vaults control.VaultsJSON
	json.Unmarshal(read("vault", "list"), &vaults)
	if len(vaults.Vaults) != 1 || vaults.Vaults[0].Name != "v" || vaults.Vaults[0].Archives != 1 || !strings.HasPrefix(vaults.Vaults[0].Location, "sim:") {
		t.Errorf("vault list --json: %+v", vaults)
	}
	var archives control.ArchivesJSON
	json.Unmarshal(read("archive", "list", "v"), &archives)
	if len(archives.Archives) != 1 {
		t.Fatalf("archive list --json: %+v", archives)
	}
	if a := archives.Archives[0]; a.Name != "a" || a.State != "liquid" || a.Files != 3 || a.Key != keyID || a.ArchiveID == "" ||
		!strings.HasSuffix(a.Description, ": holiday") || a.Job != nil {
		t.Errorf("archive list --json: %+v", a)
	}
	var files control.ArchiveFilesJSON
	json.Unmarshal(read("archive", "files", "v/a"), &files)
	exact := map[string]bool{}
	for _, f := range files.Files {
		p := f.Path
		if f.PathB64 != "" {
			b, _ := base64.StdEncoding.DecodeString(f.PathB64)
			p = string(b)
		}
		exact[p] = true
	}
	if len(files.Files) != 3 || !exact["src/"+badName] || !exact["src/hard.txt"] {
		t.Errorf("archive files --json lost a name: %+v", files)
	}
	var all control.FilesJSON
	json.Unmarshal(read("files"), &all)
	found := false
	for _, f := range all.Files {
		if f.NameB64 != "" && f.Newest.PathB64 != "" {
			b, _ := base64.StdEncoding.DecodeString(f.Newest.PathB64)
			found = found || string(b) == "src/"+badName
		}
	}
	if len(all.Files) < 2 || !found {
		t.Errorf("files --json: %+v", all)
	}
	var ks control.KeysJSON
	json.Unmarshal(read("key", "list"), &ks)
	if len(ks.Keys) != 1 || ks.Keys[0].ID != keyID || ks.Keys[0].Name != keyName || !ks.Keys[0].Default {
		t.Errorf("key list --json: %+v", ks)
	}
	var settings control.SettingsJSON
	json.Unmarshal(read("settings", "list"), &settings)
	if len(settings.Settings) < 10 {
		t.Errorf("settings list --json: %+v", settings)
	}
	var status control.StatusJSON
	json.Unmarshal(read("status"), &status)
	if len(status.Tasks) == 0 || status.Tasks[0].Kind != "create" {
		t.Errorf("status --json: %+v", status)
	}
	read("errors")
	read("jobs", "--no-refresh")

	// Every document is in the README's table.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "### JSON output"); i >= 0 {
		section = section[i:]
	}
	for _, c := range []string{"vault list --json", "archive list --json", "archive files --json", "files --json", "key list --json",
		"settings list --json", "status --json", "jobs --json", "errors --json", "--progress json"} {
		if !strings.Contains(section, c) {
			t.Errorf("the README's JSON output section does not document %s", c)
		}
	}

	// The tables: every row on its own line, nothing raw a terminal would
	// act on or a reader choke on.
	for _, args := range [][]string{{"key", "list"}, {"files"}, {"archive", "files", "v/a"}, {"archive", "list", "-d", "v"}} {
		out := mustCLI(t, dir, args...)
		if strings.ContainsAny(out, "\x1b\r") || !utf8.ValidString(out) {
			t.Errorf("%v prints raw control characters or bytes that are not UTF-8:\n%q", args, out)
		}
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if strings.Contains(l, "\t") {
				t.Errorf("%v: a table row holds a raw tab: %q", args, l)
			}
		}
	}
	if out := mustCLI(t, dir, "key", "list"); !strings.Contains(out, `"evil\x1b[31mred"`) {
		t.Errorf("key list does not show the name escaped:\n%s", out)
	}
	if out := mustCLI(t, dir, "archive", "list", "--description", "v"); !strings.Contains(out, "freezer v1 name=a") || !strings.Contains(out, "holiday") {
		t.Errorf("archive list --description:\n%s", out)
	}
}
