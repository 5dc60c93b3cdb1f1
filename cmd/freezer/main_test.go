package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs freezer in-process with a private HOME and XDG folders, from
// dir as working directory.
func runCLI(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIStdin(t, dir, "", args...)
}

// runCLIStdin is runCLI with stdin.
func runCLIStdin(t *testing.T, dir, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIEnv(t, dir, nil, stdin, args...)
}

// runCLIEnv is runCLI with stdin and more environment variables.
func runCLIEnv(t *testing.T, dir string, extra map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env := map[string]string{
		"HOME":            filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME": filepath.Join(dir, "xdg-config"),
		"XDG_DATA_HOME":   filepath.Join(dir, "xdg-data"),
	}
	for k, v := range extra {
		env[k] = v
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestHelpListsEveryManualFlag(t *testing.T) {
	code, out, _ := runCLI(t, t.TempDir(), "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"--help", "--verbose", "--trace", "--threads", "--no-gui", "--config", "--database",
		"--accountid", "--region", "--access-key", "--secret-key", "--chunk-size", "--queue", "--poll-time",
		"--endpoint", "--sim", "--profile", "--sns-topic", "--data-dir"} {
		if !strings.Contains(out, f) {
			t.Errorf("--help does not document %s", f)
		}
	}
}

func TestDatabaseOverridesCommandLine(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "settings", "set", "region", "eu-west-1"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, dir, "--database", "x.db", "--region", "us-east-1", "settings", "get", "region")
	if code != 0 || strings.TrimSpace(out) != "eu-west-1" {
		t.Fatalf("get: exit %d, out %q, err %s", code, out, errs)
	}
	if !strings.Contains(errs, "--region is overridden") || !strings.Contains(errs, "freezer settings unset region") {
		t.Errorf("no override warning naming --region and how to change it: %s", errs)
	}
	st, err := os.Stat(filepath.Join(dir, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v", st.Mode().Perm())
	}

	// Unset: the command line applies again, without warning.
	if code, _, errs := runCLI(t, dir, "--database", "x.db", "settings", "unset", "region"); code != 0 {
		t.Fatalf("unset: %s", errs)
	}
	code, out, errs = runCLI(t, dir, "--database", "x.db", "--region", "us-east-1", "settings", "get", "region")
	if code != 0 || strings.TrimSpace(out) != "us-east-1" || strings.Contains(errs, "overridden") {
		t.Errorf("after unset: exit %d out %q err %s", code, out, errs)
	}
}

func TestPrecedenceConfigCommandLineDefault(t *testing.T) {
	dir := t.TempDir()
	conf := "region = \"ap-south-1\"\nthreads = 8\nchunk-size = \"16MiB\"\n"
	if err := os.WriteFile(filepath.Join(dir, "freezer.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, dir, "--database", "x.db", "--threads", "2", "settings", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := settingsRows(out)
	for key, want := range map[string]string{
		"region":     "ap-south-1 config file",
		"threads":    "2 command line",
		"chunk-size": "16MiB config file",
		"poll-time":  "20 default",
	} {
		if rows[key] != want {
			t.Errorf("settings list: %s = %q, want %q:\n%s", key, rows[key], want, out)
		}
	}
	// The database beats the config file too, and the warning names file and line.
	runCLI(t, dir, "--database", "x.db", "settings", "set", "chunk-size", "32M")
	code, out, errs = runCLI(t, dir, "--database", "x.db", "settings", "get", "chunk-size")
	if code != 0 || strings.TrimSpace(out) != "32MiB" || !strings.Contains(errs, "freezer.conf:3 is overridden") {
		t.Errorf("exit %d out %q err %s", code, out, errs)
	}

	// The XDG config file is used when there is none in the working directory.
	xdg := filepath.Join(dir, "xdg-config", "freezer")
	os.MkdirAll(xdg, 0o700)
	os.WriteFile(filepath.Join(xdg, "freezer.conf"), []byte("region = \"sa-east-1\"\n"), 0o600)
	os.Remove(filepath.Join(dir, "freezer.conf"))
	code, out, _ = runCLI(t, dir, "--database", "x.db", "settings", "get", "region")
	if code != 0 || strings.TrimSpace(out) != "sa-east-1" {
		t.Errorf("XDG config not used: %q", out)
	}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	malformed := write("bad.conf", "region = \"eu-west-1\"\nthreads = = 3\n", 0o600)
	badValue := write("badvalue.conf", "# comment\nregion = \"eu-west-1\"\npoll-time = 99\n", 0o600)
	unknown := write("unknown.conf", "region = \"eu-west-1\"\n\ncolour = \"blue\"\n", 0o600)
	section := write("section.conf", "[aws]\nregion = \"x\"\n", 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--frobnicate", "version"}, "unknown flag --frobnicate"},
		{"threads 0", []string{"--threads", "0", "version"}, "--threads"},
		{"threads word", []string{"--threads", "many", "version"}, "--threads"},
		{"chunk 3MiB", []string{"--chunk-size", "3MiB", "version"}, "1MiB × 2ⁿ"},
		{"chunk garbage", []string{"--chunk-size", "lots", "version"}, "--chunk-size"},
		{"poll 30", []string{"--poll-time", "30", "version"}, "0 to 20"},
		{"bad region", []string{"--region", "Mars 1", "version"}, "--region"},
		{"bad account", []string{"--accountid", "1234-5678", "version"}, "12 digits"},
		{"bad trace module", []string{"--trace", "store,bogus", "version"}, `unknown module "bogus"`},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.conf"), "version"}, "nope.conf"},
		{"malformed config", []string{"--config", malformed, "version"}, "bad.conf:2"},
		{"bad config value", []string{"--config", badValue, "version"}, "badvalue.conf:3"},
		{"unknown config key", []string{"--config", unknown, "version"}, "unknown.conf:3"},
		{"config section", []string{"--config", section, "version"}, "section.conf:1"},
		{"unknown setting", []string{"--database", "x.db", "settings", "set", "colour", "blue"}, `unknown setting "colour"`},
		{"bad setting value", []string{"--database", "x.db", "settings", "set", "chunk-size", "3MiB"}, "1MiB × 2ⁿ"},
		{"no-gui", []string{"--no-gui", "version"}, "takes no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, dir, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "freezer: error: ") || !strings.Contains(errs, tt.want) {
				t.Errorf("stderr %q: want one line containing %q", errs, tt.want)
			}
		})
	}
}

func TestUnreadableConfigFile(t *testing.T) {
	dir := t.TempDir()
	// Root reads any file, so make it unreadable by being a folder.
	if err := os.Mkdir(filepath.Join(dir, "freezer.conf"), 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, dir, "version")
	if code != 2 || !strings.Contains(errs, "freezer.conf") {
		t.Errorf("unreadable default config: exit %d, %q", code, errs)
	}
}

func TestSecretsNeverReachOutputOrLogs(t *testing.T) {
	dir := t.TempDir()
	const secret = "TOPSECRETvalue/1234567890abcdefghijKLMN"
	const stored = "STOREDsecret/0987654321zyxwvutsrqpONML"
	var all strings.Builder
	for _, args := range [][]string{
		{"--database", "x.db", "--verbose", "settings", "set", "secret-key", stored},
		{"--database", "x.db", "--verbose", "--secret-key", secret, "settings", "list"},
		{"--database", "x.db", "--verbose", "--secret-key", secret, "settings", "get", "secret-key"},
		{"--database", "x.db", "--verbose", "--secret-key", secret, "--threads", "0", "version"},
		{"--database", "x.db", "--verbose", "settings", "unset", "secret-key"},
		{"--database", "x.db", "--verbose", "--secret-key", secret, "settings", "list"},
	} {
		_, out, errs := runCLI(t, dir, args...)
		all.WriteString(out + errs)
	}
	text := all.String()
	if strings.Contains(text, secret) || strings.Contains(text, stored) {
		t.Fatalf("a secret key reached the output:\n%s", text)
	}
	_, out, _ := runCLI(t, dir, "--database", "x.db", "--secret-key", secret, "settings", "list")
	if got := settingsRows(out)["secret-key"]; got != "******** command line" {
		t.Errorf("settings list shows secret-key as %q, want it redacted", got)
	}
}

// settingsRows reads 'settings list' output as key → "value source".
func settingsRows(out string) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return rows
}

// TestReadmeConfigExample keeps the README's full config example valid.
func TestReadmeConfigExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```toml\n")
	if start < 0 {
		t.Fatal("README has no ```toml config example")
	}
	block := text[start+len("```toml\n"):]
	block = block[:strings.Index(block, "```")]
	dir := t.TempDir()
	block = strings.ReplaceAll(block, "/srv/backup/freezer", filepath.Join(dir, "data"))
	if err := os.WriteFile(filepath.Join(dir, "freezer.conf"), []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, dir, "settings", "list")
	if code != 0 {
		t.Fatalf("README config example refused: %s", errs)
	}
	if got := settingsRows(out)["chunk-size"]; got != "64MiB config file" {
		t.Errorf("chunk-size from README example = %q", got)
	}
}
