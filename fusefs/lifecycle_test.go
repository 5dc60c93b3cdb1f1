package fusefs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestArchiveLifeCycle follows an archive through its life as a person at
// a shell sees it: a vault made with mkdir, an archive made through a
// control file, its state and bytes, its contents, disconnect, retrieve,
// the refusals, remove, and the vault removed with rmdir.
func TestArchiveLifeCycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	src := h.tree("photos-2024", 7)

	// mkdir makes a vault; a bad name is EINVAL.
	h.ok(`mkdir "$M/photos"`)
	if err := os.Mkdir(h.path("bad name!"), 0o755); errnoOf(err) != syscall.EINVAL {
		t.Errorf("mkdir of a bad vault name: %v, want EINVAL", err)
	}
	if err := os.Mkdir(h.path("photos", "sub"), 0o755); errnoOf(err) != syscall.EPERM {
		t.Errorf("mkdir in a vault: %v, want EPERM", err)
	}

	h.create("photos", "holiday", src)
	if got := h.ok(`ls "$M/photos"`); got != "holiday\n" {
		t.Fatalf("ls of the vault: %q", got)
	}
	if got := h.xattr("photos/holiday", "state"); got != "liquid" {
		t.Fatalf("state after create: %q", got)
	}
	info, err := h.e.Archive(context.Background(), "photos", "holiday")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"archive-id": info.RemoteID, "tree-hash": info.TreeHash, "files": "7",
		"compression": "gzip", "encryption": "none", "created": info.Created.UTC().Format(time.RFC3339)} {
		if got := h.xattr("photos/holiday", name); got != want {
			t.Errorf("user.freezer.%s = %q, want %q", name, got, want)
		}
	}
	if got := h.xattr("photos", "archives"); got != "1" {
		t.Errorf("vault's user.freezer.archives = %q", got)
	}
	// Size and mtime; the bytes are the local copy's.
	st, err := os.Stat(h.path("photos", "holiday"))
	if err != nil || st.Size() != info.LocalSize || !st.ModTime().Equal(info.Created.Truncate(time.Second)) && !st.ModTime().Equal(info.Created) {
		t.Errorf("stat: %v %v (created %v, local size %d)", st, err, info.Created, info.LocalSize)
	}
	h.ok(`cmp "$M/photos/holiday" ` + shellQuote(info.LocalPath))
	h.ok(`cp "$M/photos/holiday" copy.tgz && cmp copy.tgz ` + shellQuote(info.LocalPath))

	// .contents shows the files, their sizes and hashes; their bytes come
	// out of the local copy.
	if got := h.ok(`ls "$M/photos/.contents/holiday/photos-2024"`); got != "d0\nd1\nd2\n" {
		t.Errorf("contents: %q", got)
	}
	h.ok(`cmp "$M/photos/.contents/holiday/photos-2024/d1/f004.txt" ` + shellQuote(filepath.Join(src, "d1", "f004.txt")))
	sum := h.ok(`sha256sum < ` + shellQuote(filepath.Join(src, "d2", "f005.txt")))
	if got := h.xattr("photos/.contents/holiday/photos-2024/d2/f005.txt", "sha256"); got == "" || !strings.HasPrefix(sum, got) {
		t.Errorf("member sha256 %q, file's %q", got, sum)
	}

	// Changes other than through the control files are refused.
	for what, script := range map[string]string{
		"unlink":   `rm -f "$M/photos/holiday"`,
		"rename":   `mv "$M/photos/holiday" "$M/photos/other"`,
		"write":    `echo x >> "$M/photos/holiday"`,
		"truncate": `truncate -s 0 "$M/photos/holiday"`,
		"setfattr": `setfattr -n user.freezer.state -v frozen "$M/photos/holiday"`,
		"create":   `touch "$M/photos/new"`,
		"member":   `rm -f "$M/photos/.contents/holiday/photos-2024/d0/f000.txt"`,
	} {
		_, errs, code := h.sh(script)
		if code == 0 || !strings.Contains(errs, "Operation not permitted") {
			t.Errorf("%s: exit %d, %q; want Operation not permitted", what, code, errs)
		}
	}
	if err := os.Remove(h.path("photos", "holiday")); errnoOf(err) != syscall.EPERM {
		t.Errorf("unlink: %v, want EPERM", err)
	}

	// disconnect: frozen, and the bytes are remote (EREMOTE), also inside.
	h.ok(`echo photos/holiday > "$M/.control/disconnect"`)
	h.waitXattr("photos/holiday", "state", "frozen", 2*time.Second)
	_, errs, code := h.sh(`cat "$M/photos/holiday"`)
	if code == 0 || !strings.Contains(errs, "Object is remote") {
		t.Errorf("cat of a frozen archive: exit %d %q", code, errs)
	}
	if _, err := os.ReadFile(h.path("photos", ".contents", "holiday", "photos-2024", "d0", "f000.txt")); errnoOf(err) != syscall.EREMOTE {
		t.Errorf("reading inside a frozen archive: %v, want EREMOTE", err)
	}
	if got := h.ok(`ls "$M/photos/.contents/holiday/photos-2024/d0"`); !strings.Contains(got, "f000.txt") {
		t.Errorf("a frozen archive's contents: %q", got)
	}

	// retrieve: melting, then (the mount downloads what is ready) liquid,
	// seen through the attributes.
	h.ok(`echo 'photos/holiday tier=Bulk' > "$M/.control/retrieve"`)
	if got := h.xattr("photos/holiday", "state"); got != "melting" && got != "melted" && got != "liquid" {
		t.Errorf("state right after retrieve: %q", got)
	}
	if job := h.xattr("photos/holiday", "job"); job == "" {
		t.Errorf("no user.freezer.job while retrieving")
	}
	h.waitXattr("photos/holiday", "state", "liquid", 30*time.Second)
	h.ok(`cmp "$M/photos/holiday" ` + shellQuote(info.LocalPath))
	// The download task ends (and lets go of the archive) a moment after
	// its copy is in place.
	h.waitTasks(10 * time.Second)

	// Disconnected again while the job's output is current: melted (and
	// not downloaded again: the output was used).
	h.ok(`echo photos/holiday > "$M/.control/disconnect"`)
	h.waitXattr("photos/holiday", "state", "melted", 2*time.Second)
	if got := h.xattr("photos/holiday", "job-expires"); got == "" {
		t.Errorf("no user.freezer.job-expires while melted")
	}

	// remove without the phrase: EPERM, nothing changed; with it: gone.
	_, errs, code = h.sh(`echo photos/holiday > "$M/.control/remove"`)
	if code == 0 || !strings.Contains(errs, "Operation not permitted") {
		t.Errorf("remove without the phrase: exit %d %q", code, errs)
	}
	if got := h.xattr("photos/holiday", "state"); got != "melted" {
		t.Errorf("after a refused remove: %q", got)
	}
	if got := h.ok(`tail -n 1 "$M/.control/errors"`); !strings.Contains(got, "I am sure") {
		t.Errorf("the refusal is not in errors: %q", got)
	}
	_, errs, code = h.sh(`rmdir "$M/photos"`)
	if code == 0 || !strings.Contains(errs, "not empty") {
		t.Errorf("rmdir of a vault holding an archive: exit %d %q", code, errs)
	}
	h.ok(`echo 'photos/holiday confirm="I am sure"' > "$M/.control/remove"`)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := os.Stat(h.path("photos", "holiday")); errnoOf(err) == syscall.ENOENT {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the removed archive is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.ok(`ls -A "$M/photos"`); got != ".contents\n" {
		t.Errorf("the vault after remove: %q", got)
	}
	h.ok(`rmdir "$M/photos"`)
	if got := h.ok(`ls "$M"`); got != "" {
		t.Errorf("root after rmdir: %q", got)
	}
	vaults, err := h.e.Vaults(context.Background())
	if err != nil || len(vaults) != 0 {
		t.Errorf("catalog vaults after rmdir: %+v %v", vaults, err)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
