package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"freezer/aws/sim"
)

// TestSecretKeyOutOfPS: the secret access key can come from a private
// file, stdin or the environment, never needing the command line, where
// every user sees it in ps; given there, freezer warns. A file others can
// read is refused.
func TestSecretKeyOutOfPS(t *testing.T) {
	const secret = "FileSecret/0123456789abcdefghijklmnopqrstu"
	dir := t.TempDir()
	s, err := sim.New(sim.Options{Dir: filepath.Join(dir, "simstate"), SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	base := []string{"--endpoint", srv.URL, "--region", sim.DefaultRegion, "--access-key", sim.DefaultAccessKey,
		"--database", filepath.Join(dir, "f.db"), "--data-dir", filepath.Join(dir, "data")}
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	try := func(env map[string]string, stdin string, args ...string) (int, string) {
		t.Helper()
		code, out, errs := runCLIEnv(t, dir, env, stdin, append(append([]string{}, base...), args...)...)
		all.WriteString(out + errs)
		return code, errs
	}
	if code, errs := try(nil, "", "--secret-key-file", file, "vault", "list"); code != 2 || !strings.Contains(errs, "chmod 600") {
		t.Errorf("a secret file others can read: exit %d, %s", code, errs)
	}
	os.Chmod(file, 0o600)
	if code, errs := try(nil, "", "--secret-key-file", file, "vault", "list"); code != 0 || strings.Contains(errs, "visible") {
		t.Errorf("secret from a private file: exit %d, %s", code, errs)
	}
	if code, errs := try(nil, secret+"\n", "--secret-key-file", "-", "vault", "list"); code != 0 {
		t.Errorf("secret on stdin: exit %d, %s", code, errs)
	}
	if code, errs := try(map[string]string{"AWS_SECRET_ACCESS_KEY": secret}, "", "vault", "list"); code != 0 {
		t.Errorf("secret from AWS_SECRET_ACCESS_KEY: exit %d, %s", code, errs)
	}
	if code, errs := try(nil, "", "--secret-key", secret, "vault", "list"); code != 0 || !strings.Contains(errs, "visible to every user") {
		t.Errorf("secret on the command line: exit %d, no warning: %s", code, errs)
	}
	if code, _ := try(nil, "", "--secret-key-file", filepath.Join(dir, "nope"), "vault", "list"); code != 2 {
		t.Errorf("a missing secret file: exit %d", code)
	}
	if strings.Contains(all.String(), secret) {
		t.Fatalf("the secret reached the output:\n%s", all.String())
	}
}

// TestConfigNotARegularFile: a FIFO or a device given as --config used to
// hang forever, deaf to SIGINT and SIGTERM. It is refused at once; a file
// too large is refused too.
func TestConfigNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.conf")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{fifo, "not a regular file"},
		{"/dev/zero", "not a regular file"},
		{dir, "not a regular file"},
		{big, "too large"},
	} {
		done := make(chan struct{})
		var code int
		var errs string
		go func() {
			defer close(done)
			code, _, errs = runCLI(t, dir, "--config", tt.path, "version")
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("--config %s hangs", tt.path)
		}
		if code != 2 || !strings.Contains(errs, tt.want) {
			t.Errorf("--config %s: exit %d, %s", tt.path, code, errs)
		}
	}
}
