package fusefs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"freezer/aws/sim"
)

// TestFileManagerProbes: what Nautilus, Thunar, Dolphin and their
// thumbnailers do — look up names that are not there, read the first bytes
// of every file, ask for free space — is answered at once from the
// catalog, even while Glacier does not answer at all.
func TestFileManagerProbes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	src := h.tree("pics", 2)
	h.ok(`mkdir "$M/pics"`)
	h.create("pics", "frozen-one", src)
	h.ok(`echo pics/frozen-one > "$M/.control/disconnect"`)
	h.waitXattr("pics/frozen-one", "state", "frozen", 2*time.Second)

	// From now on every Glacier call hangs for a long time.
	if _, err := h.sim.Faults().Add(sim.Fault{Op: "*", Kind: sim.FaultDelay, Delay: sim.Duration(30 * time.Second), Rate: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	probes := []string{".hidden", ".Trash-0", ".Trash", ".xdg-volume-info", ".directory", "autorun.inf", "desktop.ini", ".DS_Store", "folder.jpg"}
	for _, dir := range []string{"", "pics", "pics/.contents", "pics/.contents/frozen-one"} {
		for _, name := range probes {
			if _, err := os.Lstat(filepath.Join(h.mnt, dir, name)); errnoOf(err) != syscall.ENOENT {
				t.Errorf("%s/%s: %v, want ENOENT", dir, name, err)
			}
		}
	}
	// A thumbnailer reads the first bytes: EREMOTE at once, every time.
	for range 3 {
		out, errs, code := h.sh(`head -c 512 "$M/pics/frozen-one"; head -c 64 "$M/pics/.contents/frozen-one/pics/d0/f000.txt"`)
		if code == 0 || strings.Count(errs, "Object is remote") != 2 || out != "" {
			t.Fatalf("reading a frozen archive: exit %d %q %q", code, out, errs)
		}
	}
	h.ok(`ls -la "$M" "$M/pics" "$M/pics/.contents/frozen-one/pics" >/dev/null && getfattr -d "$M/pics/frozen-one" >/dev/null && stat -f "$M" >/dev/null`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("probing took %v with Glacier not answering", d)
	}
	out := h.ok(`df -P "$M/pics/.contents" | tail -n 1`)
	if f := strings.Fields(out); len(f) < 4 || f[1] == "0" || f[3] == "0" {
		t.Errorf("df shows no space: %q", out)
	}
	h.sim.Faults().Clear()
}

// TestPrepareMountpoint: only an empty folder that is no mount point yet.
func TestPrepareMountpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	full := filepath.Join(dir, "full")
	file := filepath.Join(dir, "file")
	for _, d := range []string{empty, full} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	os.WriteFile(file, nil, 0o600)
	if got, cleared, err := PrepareMountpoint(empty); err != nil || cleared || got != empty {
		t.Errorf("empty folder: %q %v %v", got, cleared, err)
	}
	for path, want := range map[string]string{
		full:                         "not empty",
		file:                         "not a folder",
		filepath.Join(dir, "absent"): "does not exist",
		"/proc":                      "already a mount point",
	} {
		if _, _, err := PrepareMountpoint(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}
