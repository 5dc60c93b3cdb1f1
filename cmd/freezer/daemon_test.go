package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoGUISpelling: --no-gui alone is the daemon (the manual's spelling);
// with another command on the command line it is refused; from a config
// file it only says what 'freezer' alone does; 'freezer' with flags but no
// command is still a usage error, never a daemon.
func TestNoGUISpelling(t *testing.T) {
	dir := t.TempDir()
	sim := []string{"--database", "x.db", "--sim", "sim", "--data-dir", "data"}

	if code, _, errs := runCLI(t, dir, "--database", "x.db", "--verbose"); code != 2 || !strings.Contains(errs, "no command given") {
		t.Errorf("flags without a command: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "--no-gui", "vault", "list"); code != 2 || !strings.Contains(errs, "--no-gui runs the daemon") {
		t.Errorf("--no-gui with a command: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, append(sim, "--no-gui", "--once")...); code != 0 {
		t.Errorf("--no-gui --once: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, append(sim, "daemon", "--once")...); code != 0 || !strings.Contains(errs, "daemon: one pass") {
		t.Errorf("daemon --once: exit %d, %s", code, errs)
	}

	conf := filepath.Join(dir, "server.conf")
	if err := os.WriteFile(conf, []byte("no-gui = true\ndatabase = \"x.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, dir, "--config", conf, "settings", "list"); code != 0 {
		t.Errorf("no-gui in the config file broke another command: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, "--config", conf, "--sim", "sim", "--data-dir", "data", "--once"); code != 0 || !strings.Contains(errs, "daemon: one pass") {
		t.Errorf("no-gui from the config file, no command: exit %d, %s", code, errs)
	}
}

func TestCatalogSlimCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "key", "create"); code != 0 {
		t.Fatalf("key create: %s", errs)
	}
	code, _, errs := runCLI(t, dir, "--database", "x.db", "catalog", "slim", "slim.db")
	if code != 0 || !strings.Contains(errs, "1 key(s)") {
		t.Fatalf("catalog slim: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "catalog", "slim", "slim.db"); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("catalog slim over an existing file: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "catalog", "slim", "--force", "slim.db"); code != 0 {
		t.Errorf("catalog slim --force: exit %d, %s", code, errs)
	}
	// The slim catalog is a catalog: the key is there, the settings are not.
	if code, out, errs := runCLI(t, dir, "--database", "slim.db", "key", "list"); code != 0 || strings.Count(out, "aes-256-cbc") != 1 {
		t.Errorf("key list on the slim catalog: exit %d, %s %s", code, out, errs)
	}
}
