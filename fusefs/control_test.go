package fusefs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestControlFiles drives the control directory from bash: the shell's
// `>` redirect (O_TRUNC), several commands in one write, a batch with a
// bad line running nothing, replies read on the same descriptor, refusals
// in errors, the snapshots and their JSON twins, and keys.
func TestControlFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	src := h.tree("docs", 3)
	h.ok(`mkdir "$M/docs"`)

	// Before a write, a control file says what it takes.
	if got := h.ok(`cat "$M/.control/retrieve"`); !strings.Contains(got, "retrieve VAULT/NAME") {
		t.Errorf("usage of retrieve: %q", got)
	}

	// A bad line in a batch: the write fails, nothing runs, and the
	// reason is in errors.
	// (bash writes echo's and printf's output line by line; cat writes a
	// here-document in one write.)
	_, errs, code := h.sh(`cat > "$M/.control/ctl" <<EOF
new-archive docs/a ` + src + `
retrieve nowhere
new-archive docs/b ` + src + `
EOF`)
	if code == 0 || !strings.Contains(errs, "Invalid argument") {
		t.Fatalf("a batch with a bad line: exit %d %q", code, errs)
	}
	time.Sleep(300 * time.Millisecond)
	if got := h.ok(`ls "$M/docs"`); got != "" {
		t.Fatalf("a refused batch made %q", got)
	}
	if got := h.ok(`tail -n 1 "$M/.control/errors"`); !strings.Contains(got, "nowhere") || !strings.Contains(got, "line 2") {
		t.Errorf("errors after the refused batch: %q", got)
	}
	_, errs, code = h.sh(`echo bad > "$M/.control/retrieve"`)
	if code == 0 || !strings.Contains(errs, "write error: Invalid argument") {
		t.Errorf("echo bad > retrieve: exit %d %q", code, errs)
	}
	if got := h.ok(`tail -n 1 "$M/.control/errors"`); !strings.Contains(got, `retrieve bad`) || !strings.Contains(got, "not VAULT/ARCHIVE") {
		t.Errorf("the reason is not in errors: %q", got)
	}

	// Several commands in one write, replies on the same descriptor.
	out := h.ok(`exec 3<>"$M/.control/ctl"
cat >&3 <<EOF
new-archive docs/a ` + src + `
new-archive docs/b ` + src + ` compression=zstd
EOF
cat <&3`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ok task=") || !strings.HasPrefix(lines[1], "ok task=") {
		t.Fatalf("replies: %q", out)
	}
	h.waitTasks(time.Minute)
	if got := h.ok(`ls "$M/docs"`); got != "a\nb\n" {
		t.Fatalf("after the batch: %q", got)
	}
	if got := h.xattr("docs/b", "compression"); got != "zstd" {
		t.Errorf("docs/b compression %q", got)
	}
	// A failed write's reply, read on the same descriptor.
	out, _, _ = h.sh(`exec 3<>"$M/.control/disconnect"; echo docs/nothing >&3; cat <&3`)
	if !strings.HasPrefix(out, "error: ") || !strings.Contains(out, "nothing") {
		t.Errorf("reply after a refusal: %q", out)
	}
	// A script can read its reply with read.
	out = h.ok(`exec 3<>"$M/.control/ctl"; echo 'disconnect docs/a' >&3; read -r reply <&3; echo "$reply"`)
	if out != "ok state=frozen\n" {
		t.Errorf("reply read with read: %q", out)
	}

	// Snapshots and their JSON twins.
	if got := h.ok(`cat "$M/.control/status"`); !strings.Contains(got, "create") || !strings.Contains(got, "docs/b") || !strings.Contains(got, "done") {
		t.Errorf("status: %q", got)
	}
	for _, name := range []string{"status.json", "jobs.json", "files.json", "errors.json", "settings.json"} {
		data, err := os.ReadFile(h.path(".control", name))
		var doc struct {
			Version int `json:"version"`
		}
		if err != nil || json.Unmarshal(data, &doc) != nil || doc.Version != 1 {
			t.Errorf("%s: %v %.200s", name, err, data)
		}
	}
	if got := h.ok(`cat "$M/.control/files"`); !strings.Contains(got, "f001.txt") {
		t.Errorf("files: %.300q", got)
	}
	// settings: read, then a write through the shell's redirect.
	if got := h.ok(`cat "$M/.control/settings"`); !strings.Contains(got, "threads") {
		t.Errorf("settings: %q", got)
	}
	h.ok(`echo 'chunk-size 16MiB' > "$M/.control/settings"`)
	if got := h.ok(`cat "$M/.control/settings"`); !strings.Contains(got, "16MiB") || !strings.Contains(got, "database") {
		t.Errorf("settings after a write: %q", got)
	}
	h.ok(`echo 'secret-key not-a-real-one' > "$M/.control/settings"`)
	if got := h.ok(`cat "$M/.control/settings" "$M/.control/settings.json"`); strings.Contains(got, "not-a-real-one") {
		t.Errorf("a secret shows in settings")
	}
	if err := os.WriteFile(h.path(".control", "status"), []byte("x"), 0); errnoOf(err) != syscall.EPERM && errnoOf(err) != syscall.EACCES {
		t.Errorf("writing status: %v", err)
	}

	// Keys: new-key, its export (0400, as the engine exports it), import.
	out = h.ok(`exec 3<>"$M/.control/new-key"; echo 'name=home' >&3; cat <&3`)
	id, ok := strings.CutPrefix(strings.TrimSpace(out), "ok key=")
	if !ok {
		t.Fatalf("new-key reply %q", out)
	}
	keyFile := h.path(".control", "keys", id+".json")
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o400 {
		t.Fatalf("key file: %v %v", st, err)
	}
	want, err := h.e.ExportKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.ok(`cat "$M/.control/keys/` + id + `.json"`); got != string(want) {
		t.Errorf("key export differs:\n%s\nwant\n%s", got, want)
	}
	if got := h.xattr(".control/keys/"+id+".json", "name"); got != "home" {
		t.Errorf("key name attribute %q", got)
	}
	out = h.ok(`cp "$M/.control/keys/` + id + `.json" key.json && exec 3<>"$M/.control/keys/import" && cat key.json >&3 && cat <&3`)
	if strings.TrimSpace(out) != "ok key="+id {
		t.Errorf("import reply %q", out)
	}
	_, errs, code = h.sh(`echo '{"format":"freezer-key"}' > "$M/.control/keys/import"`)
	if code == 0 || !strings.Contains(errs, "Invalid argument") {
		t.Errorf("importing bad JSON: exit %d %q", code, errs)
	}
	if got, _ := os.ReadFile(h.path(".control", "errors")); strings.Contains(string(got), string(want[len(want)/2:])) {
		t.Errorf("key material in errors")
	}
	if got := h.ok(`ls "$M/.control/keys"`); got != id+".json\nimport\n" {
		t.Errorf("keys: %q", got)
	}
	if _, err := os.ReadFile(filepath.Join(h.mnt, ".control", "keys", "0000000000000000.json")); errnoOf(err) != syscall.ENOENT {
		t.Errorf("unknown key: %v", err)
	}

	// A line without its newline runs too.
	h.ok(`printf 'name=no-newline' > "$M/.control/new-key"`)
	// A batch bigger than cat's 128 KiB pieces: lines cut between two
	// writes wait for their rest.
	var batch strings.Builder
	for i := range 3000 {
		if i%500 == 250 {
			fmt.Fprintf(&batch, "new-key name=big-%d\n", i)
		} else {
			fmt.Fprintf(&batch, "# line %d of a long batch, padded to cross page boundaries ......\n", i)
		}
	}
	if err := os.WriteFile(filepath.Join(h.work, "batch"), []byte(batch.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h.ok(`cat batch > "$M/.control/ctl"`)
	ks, err := h.e.Keys(context.Background())
	if err != nil || len(ks) != 2+6 {
		t.Errorf("%d keys after the big batch and the line without newline, want 8: %v", len(ks), err)
	}
}
