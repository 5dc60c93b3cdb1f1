package fusefs

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"freezer/control"
	"freezer/filter"
)

// TestOtherProcessChanges: a second engine on the same catalog stands for
// another process (a CLI command, the daemon). What it changes reaches the
// mount within 2 s, through entries and attributes the kernel had cached,
// and a name the kernel had remembered as missing.
func TestOtherProcessChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	other := control.New(h.opts) // another process on the catalog
	t.Cleanup(func() { other.Close(ctx) })
	src := h.tree("music", 2)
	h.ok(`mkdir "$M/music"`)
	h.create("music", "one", src)

	// The kernel has seen these: the archive's attributes, and the
	// failed lookup of the one to come.
	h.ok(`ls -l "$M/music" && getfattr -d "$M/music/one" && stat "$M/music/two" || true`)

	start := time.Now()
	if err := other.Disconnect(ctx, "music", "one"); err != nil {
		t.Fatal(err)
	}
	d := h.waitXattr("music/one", "state", "frozen", 2*time.Second)
	t.Logf("another process's disconnect seen after %v", d)
	if _, err := os.ReadFile(h.path("music", "one")); errnoOf(err) != syscall.EREMOTE {
		t.Errorf("reading after another process's disconnect: %v", err)
	}

	_, err := other.CreateArchive(ctx, control.CreateRequest{Vault: "music", Name: "two", Compression: "gzip",
		Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	for {
		out, _, code := h.sh(`stat -c %s "$M/music/two"`)
		if code == 0 && strings.TrimSpace(out) != "" {
			break
		}
		if time.Since(created) > 2*time.Second {
			t.Fatalf("an archive made by another process is not there after 2 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.ok(`ls "$M/music"`); got != "one\ntwo\n" {
		t.Errorf("listing after the other process: %q", got)
	}
	t.Logf("all seen %v after the first change", time.Since(start))
}
