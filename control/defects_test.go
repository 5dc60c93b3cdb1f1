package control_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/aws/treehash"
	"freezer/control"
	"freezer/filter"
	"freezer/pipeline/desc"
	"freezer/pipeline/tarball/tarballtest"
	"freezer/store"
)

// Regression tests for defects found by trying freezer as a new user would.

// An archive whose name is not ASCII round trips through create,
// disconnect, retrieve and extract: the retrieval job's description, which
// Glacier wants in printable ASCII, escapes the name.
func TestNonASCIINameRoundTrip(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "Ελλάδα")
	makeTree(t, src, 20, 10000)
	for _, name := range []string{"fotos-ü 2024", "日本 " + strings.Repeat("写真", 10)} {
		ev.create(name, "gzip", src)
		if err := ev.e.Disconnect(ctx, "photos", name); err != nil {
			t.Fatal(err)
		}
		if _, err := ev.e.RetrieveAndWait(ctx, "photos", name, "Expedited"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dest := t.TempDir()
		if _, err := ev.e.Extract(ctx, "photos", name, dest, control.ExtractOptions{AllowOutsideLinks: true}); err != nil {
			t.Fatal(err)
		}
		tarballtest.CompareTrees(t, src, filepath.Join(dest, "Ελλάδα"))
		jobs, err := ev.glacier.ListJobs(ctx, "photos", aws.JobFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			for _, c := range []byte(j.Description) {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("job description %q is not printable ASCII", j.Description)
				}
			}
		}
	}
}

// Names of 236 to 255 bytes work: temporary files are not named after the
// archive.
func TestLongArchiveNames(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 3, 1000)
	for _, n := range []int{236, 250, 255} {
		name := strings.Repeat("n", n-2) + "ü" // ü is two bytes
		if len(name) != n {
			t.Fatalf("name of %d bytes", len(name))
		}
		ev.create(name, "none", src)
		if err := ev.e.Disconnect(ctx, "photos", name); err != nil {
			t.Fatal(err)
		}
		if _, err := ev.e.RetrieveAndWait(ctx, "photos", name, "Expedited"); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	assertNoStrayFiles(t, ev.dataDir)
}

// A retrieval (paid, hours on AWS) is refused before it is requested when
// the archive's key is not in the catalog; the refusal names the key.
func TestRetrieveRefusedWithoutKey(t *testing.T) {
	ctx := context.Background()
	old := newEnv(t, nil)
	k, err := old.e.CreateKey(ctx, "aes-256-cbc", "")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 3, 1000)
	old.create("secret", "gzip", src)

	fresh := rebuilt(t, old)
	_, err = fresh.Retrieve(ctx, "photos", "secret", "Expedited")
	if !errors.Is(err, control.ErrNotFound) || !strings.Contains(err.Error(), k.ID) || control.Hint(err) != "key import" {
		t.Fatalf("retrieve without the key: %v (hint %q)", err, control.Hint(err))
	}
	jobs, _ := old.glacier.ListJobs(ctx, "photos", aws.JobFilter{})
	for _, j := range jobs {
		if j.Action == aws.ActionArchiveRetrieval {
			t.Fatalf("a retrieval was requested anyway: %+v", j)
		}
	}

	// Once the key is imported, the archive points at it (the KEY column)
	// and the retrieval goes ahead.
	data, err := old.e.ExportKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.ImportKey(ctx, data); err != nil {
		t.Fatal(err)
	}
	info, err := fresh.Archive(ctx, "photos", "secret")
	if err != nil || info.KeyID != k.ID {
		t.Fatalf("after import the archive names key %q, want %s (%v)", info.KeyID, k.ID, err)
	}
	if _, err := fresh.RetrieveAndWait(ctx, "photos", "secret", "Expedited"); err != nil {
		t.Fatal(err)
	}
}

// rebuilt is a new machine's engine on an empty catalog against old's
// Glacier, after an inventory.
func rebuilt(t *testing.T, old *env) *control.Engine {
	t.Helper()
	return rebuiltWith(t, old, func(*control.Options) {})
}

// An inventory that changes nothing reports nothing updated.
func TestInventoryCountsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	old := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 3, 1000)
	old.create("a", "gzip", src)
	old.create("b", "zstd", src)
	for round := range 2 {
		res, err := old.e.InventoryAndWait(ctx, "photos")
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != 0 || res.Updated != 0 || res.Gone != 0 {
			t.Fatalf("round %d: an inventory of an unchanged vault reports %+v", round, res)
		}
	}
}

// create with no-upload, run again, leaves the archive local.
func TestNoUploadRerunStaysLocal(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 3, 1000)
	req := control.CreateRequest{Vault: "photos", Name: "later", Compression: "gzip", NoUpload: true,
		Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}}
	for range 2 {
		info, err := ev.e.CreateArchive(ctx, req)
		if err != nil || info.State != store.StateLocal {
			t.Fatalf("%+v %v", info, err)
		}
	}
	if ups, _ := ev.glacier.ListMultipartUploads(ctx, "photos"); len(ups) != 0 {
		t.Fatalf("an upload was started: %+v", ups)
	}
}

// Removing a vault that does not exist is an error.
func TestRemoveMissingVault(t *testing.T) {
	ev := newEnv(t, nil)
	if err := ev.e.RemoveVault(context.Background(), "nosuch"); !errors.Is(err, control.ErrNotFound) {
		t.Fatalf("vault remove nosuch: %v", err)
	}
}

// An archive whose description names it with bytes that are not UTF-8
// (another tool, another system) keeps a name that says so, distinct for
// distinct bytes, instead of being silently changed to U+FFFD.
func TestInvalidUTF8NameFromDescription(t *testing.T) {
	ctx := context.Background()
	old := newEnv(t, nil)
	put := func(name string) {
		d, err := desc.Format(desc.Description{Name: name, Compression: "none", Cipher: "none"})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte("x")
		linear, tree, _, _ := treehash.Compute(bytes.NewReader(body))
		if _, err := old.glacier.UploadArchive(ctx, "photos", d, bytes.NewReader(body), 1, treehash.Hex(tree), treehash.Hex(linear)); err != nil {
			t.Fatal(err)
		}
	}
	put("bad\xff name")
	put("bad\xfe name")
	fresh := rebuilt(t, old)
	as, err := fresh.Archives(ctx, "photos")
	if err != nil || len(as) != 2 {
		t.Fatalf("%+v %v", as, err)
	}
	names := map[string]bool{}
	for _, a := range as {
		if strings.ContainsRune(a.Name, '\uFFFD') || !strings.Contains(a.Name, `\x`) {
			t.Errorf("archive named %q", a.Name)
		}
		names[a.Name] = true
	}
	if !names[`bad\xff name`] || !names[`bad\xfe name`] {
		t.Errorf("names %v", names)
	}
}

// Waiting for a job works with an injected clock that stands still: the
// waiting schedules with real time only.
func TestWaitWithFrozenClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	frozen := time.Now()
	delay := 1500 * time.Millisecond
	ev := newEnv(t, func(so *sim.Options, co *control.Options) {
		so.JobDelay = &delay
		co.Now = func() time.Time { return frozen }
	})
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 3, 1000)
	ev.create("a", "gzip", src)
	if err := ev.e.Disconnect(ctx, "photos", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.e.RetrieveAndWait(ctx, "photos", "a", "Expedited"); err != nil {
		t.Fatal(err)
	}
}
