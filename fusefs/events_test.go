package fusefs

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"freezer/control"
	"freezer/filter"
	"freezer/store"
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

// TestManyArchivesAtOnce: an inventory applied by another process adds
// archives by the hundred in one transaction; the mount reads the vault
// again once, and shows them all within 2 s.
func TestManyArchivesAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.ok(`mkdir "$M/inv"`)
	if got := h.ok(`ls "$M/inv"; stat "$M/inv/found-0042" 2>/dev/null || true`); got != "" {
		t.Fatalf("a new vault lists %q", got)
	}
	v, err := h.db.Vault(ctx, "inv")
	if err != nil {
		t.Fatal(err)
	}
	const n = 150
	err = h.db.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			a := store.Archive{VaultID: v.ID, Name: fmt.Sprintf("found-%04d", i), RemoteID: fmt.Sprintf("remote-%d", i),
				Size: int64(i), Compression: control.CompressionUnknown, Created: time.Now()}
			if _, err := tx.PutArchive(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		out, _, _ := h.sh(`ls "$M/inv" | wc -l; getfattr --only-values -n user.freezer.state "$M/inv/found-0042"`)
		if out == fmt.Sprintf("%d\nfrozen", n) {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("after 2 s: %q", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d archives seen after %v", n, time.Since(start))
}
