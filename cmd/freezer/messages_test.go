package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"freezer/aws/sim"
)

// TestEveryChangeSaysWhatItDid: each command that changes something says
// so in one line on stderr (disconnect, cancel, vault create/remove, key
// default, exclude add/remove printed nothing before); --quiet silences
// them, and stdout stays for data.
func TestEveryChangeSaysWhatItDid(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a")
	id := strings.TrimSpace(mustCLI(t, dir, "-q", "key", "create"))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"vault", "create", "v"}, "vault v created"},
		{[]string{"vault", "create", "w"}, "vault w created"},
		{[]string{"archive", "create", "--vault", "v", "--name", "a", "--no-upload", filepath.Join(dir, "src")}, "not uploaded"},
		{[]string{"archive", "upload", "v/a"}, "in Glacier"},
		{[]string{"archive", "disconnect", "v/a"}, "local copy deleted; now frozen"},
		{[]string{"vault", "remove", "w"}, "vault w removed"},
		{[]string{"key", "default", "none"}, "not encrypted"},
		{[]string{"key", "default", id}, "key " + id + " is the default"},
		{[]string{"exclude", "add", "/tmp/x"}, "expression /tmp/x added"},
		{[]string{"exclude", "remove", "/tmp/x"}, "expression /tmp/x removed"},
		{[]string{"settings", "set", "threads", "2"}, "threads"},
	} {
		code, out, errs := simCLI(t, dir, tt.args...)
		if code != 0 || !strings.Contains(errs, tt.want) || strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, want %q on stderr; stdout %q, stderr %q", tt.args, code, tt.want, out, errs)
		}
	}
	code, _, errs := simCLI(t, dir, "--quiet", "exclude", "add", "/tmp/y")
	if code != 0 || errs != "" {
		t.Errorf("--quiet: exit %d, stderr %q", code, errs)
	}
	// A create logs what it built and uploaded (and the simulator its
	// start) at info: --quiet silences those too, for cron.
	code, _, errs = simCLI(t, dir, "-q", "archive", "create", "--vault", "v", "--name", "quiet", filepath.Join(dir, "src"))
	if code != 0 || errs != "" {
		t.Errorf("-q archive create: exit %d, stderr %q", code, errs)
	}
}

// TestUsageAndWording: a missing argument shows the subcommand's usage;
// help works; one situation has one wording, with what to run.
func TestUsageAndWording(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, dir, "archive", "list")
	if code != 2 || !strings.Contains(errs, "usage: freezer archive list <vault>") {
		t.Errorf("missing argument: exit %d, %q", code, errs)
	}
	code, _, errs = runCLI(t, dir, "archive", "create", "/x")
	if code != 2 || !strings.Contains(errs, "usage: freezer archive create --vault=STRING --name=STRING") {
		t.Errorf("missing flags: exit %d, %q", code, errs)
	}
	for _, args := range [][]string{{"help"}, {"help", "archive", "extract"}, {"help", "ctl"}} {
		if code, out, _ := runCLI(t, dir, args...); code != 0 || out == "" {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	mustCLI(t, dir, "vault", "create", "v")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"archive", "list", "nope"}, "vault nope does not exist (run: freezer vault create nope)"},
		{[]string{"vault", "remove", "nope"}, "vault nope does not exist (run: freezer vault create nope)"},
		{[]string{"archive", "create", "--vault", "nope", "--name", "a", dir}, "vault nope does not exist (run: freezer vault create nope)"},
		{[]string{"key", "export", "0123456789abcdef"}, "(run: freezer key list)"},
		{[]string{"key", "default", "0123456789abcdef"}, "(run: freezer key list)"},
		{[]string{"archive", "create", "--vault", "v", "--name", "a", "--key", "0123456789abcdef", dir}, "(run: freezer key list)"},
	} {
		code, _, errs := simCLI(t, dir, tt.args...)
		if code != 1 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, want %q in %q", tt.args, code, tt.want, errs)
		}
	}
}

// TestInterruptedWaitSaysHowToResume: Ctrl-C while retrieve --wait waits
// for Glacier used to print "context canceled".
func TestInterruptedWaitSaysHowToResume(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a")
	base := []string{"--sim", filepath.Join(dir, "sim"), "--sim-job-delay", "1h"}
	for _, args := range [][]string{
		{"vault", "create", "v"},
		{"archive", "create", "--vault", "v", "--name", "a", "--key", "none", filepath.Join(dir, "src")},
		{"archive", "disconnect", "v/a"},
	} {
		if code, _, errs := runCLI(t, dir, append(base, args...)...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	env := map[string]string{"HOME": filepath.Join(dir, "home")}
	code := run(ctx, append(base, "archive", "retrieve", "--wait", "v/a"), strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	last := lastLine(errb.String())
	if code != 130 || strings.Contains(last, "context canceled") || !strings.Contains(last, "freezer archive retrieve --wait v/a") {
		t.Errorf("interrupted wait: exit %d, %q", code, last)
	}
}

// TestExhaustedRetriesSayHowToResume: an upload that gives up after the
// SDK's retries says what failed and the command that resumes it, not
// "exceeded maximum number of attempts, 5".
func TestExhaustedRetriesSayHowToResume(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.New(sim.Options{Dir: filepath.Join(dir, "simstate")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "a")
	base := []string{"--endpoint", srv.URL, "--region", sim.DefaultRegion, "--access-key", sim.DefaultAccessKey,
		"--secret-key-file", "-", "--database", filepath.Join(dir, "f.db"), "--data-dir", filepath.Join(dir, "data")}
	cli := func(args ...string) (int, string) {
		code, _, errs := runCLIStdin(t, dir, sim.DefaultSecretKey+"\n", append(base, args...)...)
		return code, errs
	}
	if code, errs := cli("vault", "create", "v"); code != 0 {
		t.Fatal(errs)
	}
	if _, err := s.Faults().Add(sim.Fault{Op: "UploadArchive", Kind: sim.FaultServiceUnavailable, Count: 100}); err != nil {
		t.Fatal(err)
	}
	code, errs := cli("archive", "create", "--vault", "v", "--name", "a", "--key", "none", filepath.Join(dir, "src"))
	last := lastLine(errs)
	t.Logf("%s", last)
	if code != 1 || !strings.Contains(last, "(run: freezer archive upload v/a)") || strings.Contains(last, "attempts, 5") && !strings.Contains(last, "try again") {
		t.Errorf("exhausted retries: exit %d, %q", code, last)
	}
	s.Faults().Clear()
	if code, errs := cli("archive", "upload", "v/a"); code != 0 {
		t.Errorf("the command the message gave: %s", errs)
	}
}
