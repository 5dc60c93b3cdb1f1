package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"freezer/aws/sim"
)

// simCLI runs freezer with the in-process simulator and private folders.
func simCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	base := []string{"--sim", filepath.Join(dir, "sim"), "--database", filepath.Join(dir, "freezer.db"), "--data-dir", filepath.Join(dir, "data"), "--chunk-size", "1MiB"}
	return runCLI(t, dir, append(base, args...)...)
}

func mustCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out, errs := simCLI(t, dir, args...)
	if code != 0 {
		t.Fatalf("freezer %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

type planDoc struct {
	Entries []struct {
		Path         string   `json:"path"`
		Selected     bool     `json:"selected"`
		Reasons      []string `json:"reasons"`
		FrozenCopies []struct {
			Vault, Archive, Path string
		} `json:"frozen_copies"`
	} `json:"entries"`
}

func readPlan(t *testing.T, out string) planDoc {
	t.Helper()
	var d planDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("plan --json is not JSON: %v\n%s", err, out)
	}
	return d
}

// TestPlanNamesArchiveHoldingCopies: files already frozen elsewhere are left
// out, and the plan says in which vault, archive and path their copy is.
func TestPlanNamesArchiveHoldingCopies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "photos", "2024", "beach.jpg"), "sand and sea")
	writeFile(t, filepath.Join(dir, "photos", "2024", "sunset.jpg"), "orange sky")
	mustCLI(t, dir, "vault", "create", "pictures")
	mustCLI(t, dir, "archive", "create", "--vault", "pictures", "--name", "photos-2024", "--key", "none", filepath.Join(dir, "photos"))

	// Another folder holds a copy of beach.jpg (same name, size, content)
	// and a new file.
	writeFile(t, filepath.Join(dir, "desktop", "beach.jpg"), "sand and sea")
	writeFile(t, filepath.Join(dir, "desktop", "todo.txt"), "buy milk")
	d := readPlan(t, mustCLI(t, dir, "plan", "--filter", "default,frozen", "--json", filepath.Join(dir, "desktop")))
	found := false
	for _, e := range d.Entries {
		switch filepath.Base(e.Path) {
		case "beach.jpg":
			found = true
			if e.Selected || len(e.FrozenCopies) != 1 {
				t.Fatalf("beach.jpg: %+v", e)
			}
			c := e.FrozenCopies[0]
			if c.Vault != "pictures" || c.Archive != "photos-2024" || c.Path != "photos/2024/beach.jpg" {
				t.Errorf("copy of beach.jpg named as %+v", c)
			}
		case "todo.txt":
			if !e.Selected {
				t.Errorf("todo.txt left out: %+v", e)
			}
		}
	}
	if !found {
		t.Fatal("plan lacks beach.jpg")
	}
	// The second plan reads no file: the hash cache knows them all.
	_, out, _ := simCLI(t, dir, "plan", "--filter", "default,frozen", "--json", filepath.Join(dir, "desktop"))
	if !strings.Contains(out, `"read":0,`) {
		t.Errorf("a warm plan read files again: %s", out[strings.Index(out, `"hashing"`):])
	}
}

// TestManualExclusionPersists: a file deselected in one selection stays
// deselected in the next, until a person includes it again. A plan is a
// dry run: it remembers only with --remember.
func TestManualExclusionPersists(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "work")
	writeFile(t, filepath.Join(tree, "keep.txt"), "keep")
	writeFile(t, filepath.Join(tree, "huge.iso"), "pretend this is big")
	code, _, errs := simCLI(t, dir, "plan", "--exclude", filepath.Join(tree, "huge.iso"), tree)
	if code != 0 || !strings.Contains(errs, "--remember") {
		t.Errorf("a plan with --exclude does not say it was not remembered: %s", errs)
	}
	if out := mustCLI(t, dir, "exclude", "list"); out != "" {
		t.Fatalf("a plain plan stored manual exclusions:\n%s", out)
	}
	mustCLI(t, dir, "plan", "--remember", "--exclude", filepath.Join(tree, "huge.iso"), tree)
	reasons := func() (bool, []string) {
		d := readPlan(t, mustCLI(t, dir, "plan", "--json", tree))
		for _, e := range d.Entries {
			if filepath.Base(e.Path) == "huge.iso" {
				return e.Selected, e.Reasons
			}
		}
		t.Fatal("huge.iso missing from plan")
		return false, nil
	}
	if sel, rs := reasons(); sel || len(rs) != 1 || rs[0] != "manual" {
		t.Fatalf("next plan: selected=%v reasons=%v, want left out as manual", sel, rs)
	}
	mustCLI(t, dir, "plan", "--remember", "--include", filepath.Join(tree, "huge.iso"), tree)
	if sel, _ := reasons(); !sel {
		t.Fatal("huge.iso still left out after --include")
	}

	// Forgetting a folder forgets what lies beneath it too.
	writeFile(t, filepath.Join(tree, "sub", "a"), "a")
	writeFile(t, filepath.Join(tree, "sub", "deep", "b"), "b")
	writeFile(t, filepath.Join(tree, "subway"), "not beneath sub")
	mustCLI(t, dir, "plan", "--remember", "--exclude", filepath.Join(tree, "sub", "a"), "--exclude", filepath.Join(tree, "sub", "deep", "b"),
		"--exclude", filepath.Join(tree, "subway"), tree)
	code, _, errs = simCLI(t, dir, "exclude", "forget", filepath.Join(tree, "sub"))
	if code != 0 || !strings.Contains(errs, "2 manual exclusion(s)") {
		t.Fatalf("exclude forget of a folder: exit %d, %s", code, errs)
	}
	if out := mustCLI(t, dir, "exclude", "list"); strings.Count(out, "manual") != 1 || !strings.Contains(out, "subway") {
		t.Errorf("after forgetting sub:\n%s", out)
	}
}

// TestKeyImportGarbage: every malformed key file is refused with a one-line
// error naming the problem, and stores nothing.
func TestKeyImportGarbage(t *testing.T) {
	dir := t.TempDir()
	bad, err := filepath.Glob(filepath.Join("..", "..", "testdata", "keys", "invalid-*.json"))
	if err != nil || len(bad) == 0 {
		t.Fatalf("no invalid key samples: %v", err)
	}
	for _, f := range bad {
		abs, _ := filepath.Abs(f)
		code, out, errs := simCLI(t, dir, "key", "import", abs)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", filepath.Base(f), code, out, errs)
		}
	}
	if out := mustCLI(t, dir, "key", "list"); strings.Count(out, "\n") != 1 {
		t.Errorf("refused imports stored keys:\n%s", out)
	}
	// Garbage on stdin too.
	code, _, errs := runCLIStdin(t, dir, "{not json", "--database", filepath.Join(dir, "freezer.db"), "key", "import", "-")
	if code != 2 || !strings.Contains(errs, "line 1") {
		t.Errorf("stdin garbage: exit %d, %q", code, errs)
	}
}

// TestKeyExportImportAndSecrecy: a key moves between catalogs through its
// JSON; its material shows in the export only, never in listings or logs.
func TestKeyExportImportAndSecrecy(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	id := strings.TrimSpace(mustCLI(t, a, "--verbose", "key", "create", "--name", "home"))
	export := mustCLI(t, a, "key", "export", id)
	var k struct{ Key, ID string }
	if err := json.Unmarshal([]byte(export), &k); err != nil || len(k.Key) != 64 || k.ID != id {
		t.Fatalf("export %q: %v", export, err)
	}
	path := filepath.Join(b, "key.json")
	os.WriteFile(path, []byte(export), 0o600)
	if got := strings.TrimSpace(mustCLI(t, b, "--verbose", "key", "import", path)); got != id {
		t.Fatalf("imported id %s, exported %s", got, id)
	}
	for _, d := range []string{a, b} {
		code, out, errs := simCLI(t, d, "--verbose", "key", "list")
		if code != 0 || !strings.Contains(out, id) || strings.Contains(out+errs, k.Key) || strings.Contains(strings.ToLower(out+errs), k.Key) {
			t.Errorf("key list: exit %d, shows material or misses the key:\n%s%s", code, out, errs)
		}
	}
	code, _, errs := simCLI(t, a, "key", "create", "--algorithm", "bf-cbc")
	if code != 2 || !strings.Contains(errs, "bf-cbc") {
		t.Errorf("legacy key creation: exit %d %q", code, errs)
	}
}

func TestRemoveNeedsThePhrase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a")
	mustCLI(t, dir, "vault", "create", "v")
	mustCLI(t, dir, "archive", "create", "--vault", "v", "--name", "a", "--key", "none", filepath.Join(dir, "src"))
	code, _, errs := simCLI(t, dir, "archive", "remove", "v/a")
	if code == 0 || !strings.Contains(errs, "I am sure") {
		t.Fatalf("remove without phrase: exit %d %q", code, errs)
	}
	if out := mustCLI(t, dir, "archive", "list", "v"); !strings.Contains(out, "liquid") {
		t.Fatalf("refused remove changed the archive:\n%s", out)
	}
	mustCLI(t, dir, "archive", "remove", "--confirm", "I am sure", "v/a")
	if out := mustCLI(t, dir, "archive", "list", "v"); !strings.Contains(out, "local") {
		t.Fatalf("after remove:\n%s", out)
	}
	code, _, errs = simCLI(t, dir, "archive", "retrieve", "nonsense")
	if code != 2 || !strings.Contains(errs, "VAULT/ARCHIVE") {
		t.Errorf("bad archive path: exit %d %q", code, errs)
	}
}

// TestSecretKeyNeverLoggedAgainstAWS talks to a simulator that accepts a
// distinctive secret key, with every debug message on, and checks the
// secret shows up nowhere — not in AWS request logs, retries or errors.
func TestSecretKeyNeverLoggedAgainstAWS(t *testing.T) {
	const secret = "SuperSecretKeyMaterial/0123456789abcdefXYZ"
	dir := t.TempDir()
	s, err := sim.New(sim.Options{Dir: filepath.Join(dir, "simstate"), SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	if _, err := s.Faults().Add(sim.Fault{Op: "ListVaults", Kind: sim.FaultThrottling, Count: 1}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a")
	common := []string{"--verbose", "--endpoint", srv.URL, "--region", sim.DefaultRegion, "--access-key", sim.DefaultAccessKey,
		"--data-dir", filepath.Join(dir, "data")}
	base := append(common, "--secret-key", secret, "--database", filepath.Join(dir, "f.db"))
	var all strings.Builder
	for _, args := range [][]string{
		{"vault", "create", "v"},
		{"vault", "list"},
		{"archive", "create", "--vault", "v", "--name", "a", "--key", "none", filepath.Join(dir, "src")},
		{"archive", "retrieve", "v/a"},
		{"settings", "list"},
	} {
		code, out, errs := runCLI(t, dir, append(base, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errs)
		}
		all.WriteString(out + errs)
	}
	// A wrong secret: the error must not echo it either.
	code, out, errs := runCLI(t, dir, append(common[:len(common):len(common)],
		"--secret-key", "WrongSecret/abcdefghijklmnop", "--database", filepath.Join(dir, "g.db"), "vault", "list")...)
	if code == 0 {
		t.Fatal("a wrong secret key was accepted")
	}
	all.WriteString(out + errs)
	text := all.String()
	for _, s := range []string{secret, "WrongSecret/abcdefghijklmnop"} {
		if strings.Contains(text, s) {
			t.Fatalf("a secret key reached the output:\n%s", text)
		}
	}
	if !strings.Contains(text, `"module":"aws"`) && !strings.Contains(text, `"module":"control"`) {
		t.Errorf("no debug output was produced, so the test checked nothing:\n%s", text)
	}
}
