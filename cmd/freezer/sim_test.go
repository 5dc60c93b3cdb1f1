package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimTildeAndOwnCatalog: the README's walkthrough writes
// F="freezer --sim ~/freezer-sim", so freezer gets a literal ~. It used to
// make a folder named ~ in the working directory, share the default
// catalog with every other simulator, and, run from another directory,
// meet a fresh empty simulator through that catalog — whose disconnect
// then deleted a local copy whose remote did not exist.
func TestSimTildeAndOwnCatalog(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	work, other := filepath.Join(dir, "work"), filepath.Join(dir, "other")
	for _, d := range []string{home, work, other} {
		os.MkdirAll(d, 0o700)
	}
	writeFile(t, filepath.Join(home, "Pictures", "a.jpg"), "a")
	run := func(cwd string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, cwd, args...)
	}
	// runCLI sets HOME to DIR/home for the working directory DIR; keep one
	// HOME by running from dir and changing only --sim's relative base.
	for _, args := range [][]string{
		{"--sim", "~/freezer-sim", "vault", "create", "photos"},
		{"--sim", "~/freezer-sim", "archive", "create", "--vault", "photos", "--name", "p", "--key", "none", filepath.Join(home, "Pictures")},
	} {
		if code, _, errs := run(dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "~")); err == nil {
		t.Fatal("a folder named ~ was made in the working directory")
	}
	simDir := filepath.Join(home, "freezer-sim")
	for _, f := range []string{"freezer.db", "data", "glacier"} {
		if _, err := os.Stat(filepath.Join(simDir, f)); err != nil {
			t.Errorf("--sim DIR does not keep %s inside DIR: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "xdg-data", "freezer", "freezer.db")); err == nil {
		t.Error("--sim used the default catalog")
	}
	local := filepath.Join(simDir, "data", "archives", "photos", "p")
	if _, err := os.Stat(local); err != nil {
		t.Fatalf("local copy: %v", err)
	}

	// Another simulator against the same catalog: refused, nothing deleted.
	db := filepath.Join(simDir, "freezer.db")
	for _, args := range [][]string{
		{"--sim", filepath.Join(other, "sim"), "--database", db, "archive", "disconnect", "photos/p"},
		{"--sim", filepath.Join(other, "sim"), "--database", db, "archive", "remove", "--confirm", "I am sure", "photos/p"},
		{"--sim", filepath.Join(other, "sim"), "--database", db, "archive", "cancel", "photos/p"},
	} {
		code, _, errs := run(dir, args...)
		if code == 0 || !strings.Contains(errs, "vault photos lives in sim:"+simDir) {
			t.Errorf("%v through another simulator: exit %d, %s", args[4:], code, errs)
		}
	}
	if _, err := os.Stat(local); err != nil {
		t.Fatalf("the local copy is gone after a refused disconnect: %v", err)
	}
	// Through its own simulator it works.
	if code, _, errs := run(dir, "--sim", "~/freezer-sim", "archive", "disconnect", "photos/p"); code != 0 {
		t.Fatalf("disconnect through the vault's own simulator: %s", errs)
	}
	if code, _, errs := run(dir, "--sim", "~user/sim", "vault", "list"); code != 2 || !strings.Contains(errs, "~user") {
		t.Errorf("~user: exit %d, %s", code, errs)
	}
}

// TestSimRebuildCatalog is the README's "an empty catalog can be rebuilt"
// with the in-process simulator: it takes freezer sim's delays and
// inventory interval, so the inventory is there at once.
func TestSimRebuildCatalog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "hello")
	sim := []string{"--sim", filepath.Join(dir, "sim")}
	must := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, dir, append(sim, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return out
	}
	id := strings.TrimSpace(must("key", "create"))
	writeFile(t, filepath.Join(dir, "key.json"), must("key", "export", id))
	must("vault", "create", "v")
	must("archive", "create", "--vault", "v", "--name", "a", filepath.Join(dir, "src"))

	sim = append(sim, "--database", filepath.Join(dir, "new.db"), "--data-dir", filepath.Join(dir, "new"),
		"--sim-job-delay", "0", "--sim-inventory-interval", "0")
	must("key", "import", filepath.Join(dir, "key.json"))
	must("vault", "inventory", "--wait", "v")
	if out := must("archive", "list", "v"); !strings.Contains(out, "frozen") {
		t.Fatalf("rebuilt catalog:\n%s", out)
	}
	must("archive", "retrieve", "--wait", "v/a")
	must("archive", "extract", "v/a", filepath.Join(dir, "restored"))
	if b, err := os.ReadFile(filepath.Join(dir, "restored", "src", "a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("restored %q, %v", b, err)
	}
	if code, _, errs := runCLI(t, dir, "--sim", filepath.Join(dir, "sim"), "--sim-standard-delay", "0", "vault", "list"); code != 2 || !strings.Contains(errs, "--sim-job-delay 0") {
		t.Errorf("a zero tier delay: exit %d, %s", code, errs)
	}
}
