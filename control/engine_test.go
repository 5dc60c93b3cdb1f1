package control_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/control"
	"freezer/filter"
	"freezer/pipeline/tarball/tarballtest"
	"freezer/store"
)

// env is an engine wired to a simulator over real HTTP, with the real SDK
// clients, a real catalog and a data folder.
type env struct {
	t       *testing.T
	sim     *sim.Sim
	url     string
	db      *store.DB
	glacier *aws.Glacier
	e       *control.Engine
	dataDir string
	opts    control.Options
}

func newEnv(t *testing.T, tune func(*sim.Options, *control.Options)) *env {
	t.Helper()
	ctx := context.Background()
	zero := time.Duration(0)
	so := sim.Options{Dir: t.TempDir(), JobDelay: &zero}
	co := control.Options{Threads: 4, ChunkSize: 1 << 20, JobPollMax: 200 * time.Millisecond}
	if tune != nil {
		tune(&so, &co)
	}
	s, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	settings := aws.Settings{Endpoint: srv.URL, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, settings)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "freezer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g := aws.NewGlacier(cfg, settings)
	co.DB, co.Glacier, co.DataDir = db, g, t.TempDir()
	ev := &env{t: t, sim: s, url: srv.URL, db: db, glacier: g, dataDir: co.DataDir, opts: co}
	ev.e = control.New(co)
	if err := ev.e.CreateVault(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	return ev
}

// makeTree writes a tree of the kind people back up: many small files in
// nested folders, a few larger random ones, symlinks (relative, absolute,
// dangling), names with spaces and non-ASCII, an empty file and folder.
func makeTree(t testing.TB, root string, files int, bigBytes int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	for i := range files {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i%37), fmt.Sprintf("e%d", i%5))
		must(os.MkdirAll(dir, 0o755))
		data := make([]byte, rng.IntN(3000))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		p := filepath.Join(dir, fmt.Sprintf("f%04d.txt", i))
		must(os.WriteFile(p, data, 0o640))
		mt := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC).Add(time.Duration(i) * time.Minute)
		must(os.Chtimes(p, mt, mt))
	}
	big := make([]byte, bigBytes)
	rand.NewChaCha8([32]byte{7, 11}).Read(big)
	must(os.WriteFile(filepath.Join(root, "big.bin"), big, 0o600))
	must(os.MkdirAll(filepath.Join(root, "holiday pictures", "Ελλάδα"), 0o750))
	must(os.WriteFile(filepath.Join(root, "holiday pictures", "Ελλάδα", "παραλία 1.jpg"), []byte("sea"), 0o644))
	must(os.WriteFile(filepath.Join(root, "holiday pictures", "naïve café.txt"), []byte("coffee"), 0o644))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	must(os.MkdirAll(filepath.Join(root, "empty dir"), 0o700))
	must(os.Symlink("holiday pictures/naïve café.txt", filepath.Join(root, "link to café")))
	must(os.Symlink("/etc/hostname", filepath.Join(root, "absolute link")))
	must(os.Symlink("does-not-exist", filepath.Join(root, "dangling")))
	must(os.WriteFile(filepath.Join(root, "script.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chtimes(filepath.Join(root, "empty dir"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
}

func (ev *env) create(name, compression string, paths ...string) control.ArchiveInfo {
	ev.t.Helper()
	info, err := ev.e.CreateArchive(context.Background(), control.CreateRequest{
		Vault: "photos", Name: name, Compression: compression,
		Plan: control.PlanRequest{Paths: paths, Filters: filter.DefaultFilters}})
	if err != nil {
		ev.t.Fatal(err)
	}
	return info
}

func TestRoundTripEveryCompression(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	if _, err := ev.e.CreateKey(ctx, "aes-256-cbc", "main"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "backup")
	makeTree(t, src, 800, 3<<20)
	// bzip2 is slow (and far slower under the race detector): a smaller
	// tree, still more than one part.
	small := filepath.Join(t.TempDir(), "backup")
	makeTree(t, small, 200, 3<<19)
	for _, comp := range []string{"none", "gzip", "bzip2", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			src, files, parts := src, int64(800), int64(3<<20)
			if comp == "bzip2" {
				src, files, parts = small, 200, 1<<20
			}
			info := ev.create("tree-"+comp, comp, src)
			if info.State != store.StateLiquid || info.FileCount < files || info.Cipher != "aes-256-cbc" {
				t.Fatalf("after create: %+v", info)
			}
			if info.Size < parts {
				t.Fatalf("archive of %d bytes is too small to need several parts", info.Size)
			}
			if err := ev.e.Disconnect(ctx, "photos", info.Name); err != nil {
				t.Fatal(err)
			}
			if got, _ := ev.e.Archive(ctx, "photos", info.Name); got.State != store.StateFrozen {
				t.Fatalf("after disconnect: %s", got.State)
			}
			res, err := ev.e.RetrieveAndWait(ctx, "photos", info.Name, "Expedited")
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != control.RetrieveDownloaded || res.Archive.State != store.StateLiquid {
				t.Fatalf("retrieve: %s, state %s", res.Outcome, res.Archive.State)
			}
			job, err := ev.db.Job(ctx, res.Job.ID)
			if err != nil || job.Executed.IsZero() {
				t.Errorf("job executed date not set: %+v %v", job, err)
			}
			dest := t.TempDir()
			if _, err := ev.e.Extract(ctx, "photos", info.Name, dest, control.ExtractOptions{AllowOutsideLinks: true}); err != nil {
				t.Fatal(err)
			}
			tarballtest.CompareTrees(t, src, filepath.Join(dest, "backup"))
		})
	}
}

func TestUploadUsesParallelParts(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "big")
	makeTree(t, src, 10, 9<<20)
	info := ev.create("big", "none", src)
	uploads, err := ev.glacier.ListMultipartUploads(ctx, "photos")
	if err != nil || len(uploads) != 0 {
		t.Fatalf("uploads left open: %v %v", uploads, err)
	}
	if info.Size < 9<<20 || info.TreeHash == "" {
		t.Fatalf("archive %+v", info)
	}
	if _, err := ev.db.Upload(ctx, info.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finished upload's record was kept: %v", err)
	}
}

func TestInjectedFaultsAreRetried(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	f := ev.sim.Faults()
	for _, r := range []sim.Fault{
		{Op: "UploadMultipartPart", Kind: sim.FaultThrottling, Count: 2},
		{Op: "UploadMultipartPart", Kind: sim.FaultServiceUnavailable, Count: 2},
		{Op: "UploadMultipartPart", Kind: sim.FaultRequestTimeout, Count: 2},
		{Op: "InitiateMultipartUpload", Kind: sim.FaultServiceUnavailable, Count: 1},
		{Op: "GetJobOutput", Kind: sim.FaultThrottling, Count: 2},
		{Op: "GetJobOutput", Kind: sim.FaultReset, Count: 1, AfterBytes: 1000},
		{Op: "DescribeJob", Kind: sim.FaultServiceUnavailable, Count: 1},
	} {
		if _, err := f.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 20, 5<<20)
	info := ev.create("faulty", "gzip", src)
	if err := ev.e.Disconnect(ctx, "photos", info.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.e.RetrieveAndWait(ctx, "photos", info.Name, ""); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"UploadMultipartPart", "InitiateMultipartUpload", "GetJobOutput", "DescribeJob"} {
		if f.FiredFor(op) == 0 {
			t.Errorf("no fault fired on %s", op)
		}
	}
	if f.FiredFor("UploadMultipartPart") != 6 {
		t.Errorf("%d part faults fired, want 6", f.FiredFor("UploadMultipartPart"))
	}
	dest := t.TempDir()
	if _, err := ev.e.Extract(ctx, "photos", info.Name, dest, control.ExtractOptions{AllowOutsideLinks: true}); err != nil {
		t.Fatal(err)
	}
	tarballtest.CompareTrees(t, src, filepath.Join(dest, "data"))
}

func TestCorruptJobOutputNeverReachesTheLocalFile(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 20, 4<<20)
	info := ev.create("precious", "gzip", src)
	if err := ev.e.Disconnect(ctx, "photos", info.Name); err != nil {
		t.Fatal(err)
	}

	// Every range comes back corrupted: the download fails, and leaves
	// neither a local file nor a temporary one.
	id, err := ev.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultCorrupt, Rate: 1, Bytes: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ev.e.RetrieveAndWait(ctx, "photos", info.Name, "")
	if err == nil || !strings.Contains(err.Error(), "tree hash") {
		t.Fatalf("corrupt download: err = %v", err)
	}
	if got, _ := ev.e.Archive(ctx, "photos", info.Name); got.Local || got.State != store.StateMelted {
		t.Fatalf("after a failed download: local=%v state=%s", got.Local, got.State)
	}
	assertNoStrayFiles(t, ev.dataDir)

	// A few corrupted ranges are fetched again and the archive arrives whole.
	ev.sim.Faults().Remove(id)
	if _, err := ev.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultCorrupt, Count: 3}); err != nil {
		t.Fatal(err)
	}
	res, err := ev.e.RetrieveAndWait(ctx, "photos", info.Name, "")
	if err != nil || res.Archive.State != store.StateLiquid {
		t.Fatalf("retry after corruption: %v, %+v", err, res)
	}
	dest := t.TempDir()
	if _, err := ev.e.Extract(ctx, "photos", info.Name, dest, control.ExtractOptions{AllowOutsideLinks: true}); err != nil {
		t.Fatal(err)
	}
	tarballtest.CompareTrees(t, src, filepath.Join(dest, "data"))
}

// assertNoStrayFiles fails when anything but finished archives is left in
// the data folder.
func assertNoStrayFiles(t *testing.T, dataDir string) {
	t.Helper()
	filepath.Walk(dataDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dataDir, p)
		if strings.HasPrefix(filepath.Base(p), ".") || strings.HasPrefix(rel, "tmp") {
			t.Errorf("stray file left behind: %s", rel)
		}
		return nil
	})
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 5, 1000)
	info := ev.create("a", "gzip", src)

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"remove without phrase", ev.e.Remove(ctx, "photos", "a", "i am sure"), control.ErrPermission},
		{"remove missing", ev.e.Remove(ctx, "photos", "nope", control.RemovePhrase), control.ErrNotFound},
		{"vault not empty", ev.e.RemoveVault(ctx, "photos"), control.ErrNotEmpty},
		{"bad vault name", ev.e.CreateVault(ctx, "no spaces please"), control.ErrInvalid},
		{"control dir name", ev.e.CreateVault(ctx, ".control"), control.ErrInvalid},
		{"name taken", createErr(ev, "a", src), control.ErrExists},
		{"bad archive name", createErr(ev, "a/b", src), control.ErrInvalid},
		{"unknown vault", func() error {
			_, err := ev.e.CreateArchive(ctx, control.CreateRequest{Vault: "nowhere", Name: "x", Compression: "gzip",
				Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}})
			return err
		}(), control.ErrNotFound},
		{"empty selection", func() error {
			empty := t.TempDir()
			os.WriteFile(filepath.Join(empty, "x.bak"), []byte("x"), 0o600)
			_, err := ev.e.CreateArchive(ctx, control.CreateRequest{Vault: "photos", Name: "empty", Compression: "gzip",
				Plan: control.PlanRequest{Paths: []string{empty}, Filters: filter.DefaultFilters}})
			return err
		}(), control.ErrInvalid},
		{"unknown compression", func() error {
			_, err := ev.e.CreateArchive(ctx, control.CreateRequest{Vault: "photos", Name: "c", Compression: "lzma",
				Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}})
			return err
		}(), control.ErrInvalid},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	// Refused requests changed nothing.
	got, err := ev.e.Archive(ctx, "photos", "a")
	if err != nil || got.State != store.StateLiquid || got.RemoteID != info.RemoteID {
		t.Errorf("archive changed by refused requests: %+v %v", got, err)
	}
	if _, err := ev.e.Archive(ctx, "photos", "empty"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("an empty selection left an archive behind: %v", err)
	}
	assertNoStrayFiles(t, ev.dataDir)

	// With the phrase, the remote archive goes; the local copy stays.
	if err := ev.e.Remove(ctx, "photos", "a", control.RemovePhrase); err != nil {
		t.Fatal(err)
	}
	if got, _ := ev.e.Archive(ctx, "photos", "a"); got.State != store.StateLocal {
		t.Errorf("after remove with a local copy: %s", got.State)
	}
	if err := ev.e.Disconnect(ctx, "photos", "a"); !errors.Is(err, control.ErrPermission) {
		t.Errorf("disconnecting a local-only archive: %v", err)
	}
	// Removing it again never deletes the local copy, perhaps the only one.
	local, _ := ev.e.Archive(ctx, "photos", "a")
	if err := ev.e.Remove(ctx, "photos", "a", control.RemovePhrase); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	if _, err := os.Stat(local.LocalPath); err != nil {
		t.Fatalf("second remove deleted the local copy: %v", err)
	}
	// Once the person deletes the file, the empty entry goes.
	os.Remove(local.LocalPath)
	if err := ev.e.Remove(ctx, "photos", "a", control.RemovePhrase); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.e.Archive(ctx, "photos", "a"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("archive still listed after removing everything: %v", err)
	}
}

func createErr(ev *env, name, src string) error {
	_, err := ev.e.CreateArchive(context.Background(), control.CreateRequest{Vault: "photos", Name: name, Compression: "gzip",
		Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}})
	return err
}

// TestCancelAndResumeInProcess: an upload that fails half-way keeps its
// record and resumes; an explicit cancel aborts it in Glacier and forgets
// it, and the next upload starts afresh.
func TestCancelAndResumeInProcess(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 5, 6<<20)
	info, err := ev.e.CreateArchive(ctx, control.CreateRequest{Vault: "photos", Name: "half", Compression: "none", KeyID: "none",
		NoUpload: true, Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}})
	if err != nil || info.State != store.StateLocal {
		t.Fatalf("create --no-upload: %+v %v", info, err)
	}

	// Parts fail after the first three, more often than the SDK retries.
	ev.sim.Faults().Add(sim.Fault{Op: "UploadMultipartPart", Kind: sim.FaultDelay, Count: 3, Delay: sim.Duration(time.Millisecond)})
	ev.sim.Faults().Add(sim.Fault{Op: "UploadMultipartPart", Kind: sim.FaultServiceUnavailable, Count: 1000})
	if _, err := ev.e.UploadArchive(ctx, "photos", "half"); err == nil {
		t.Fatal("upload succeeded through permanent failures")
	}
	if _, err := ev.db.Upload(ctx, info.ID); err != nil {
		t.Fatalf("a failed upload lost its record: %v", err)
	}
	uploads, _ := ev.glacier.ListMultipartUploads(ctx, "photos")
	if len(uploads) != 1 {
		t.Fatalf("%d uploads open in Glacier, want 1", len(uploads))
	}

	// Cancel: aborted in Glacier, forgotten in the catalog, archive still local.
	if err := ev.e.CancelUpload(ctx, "photos", "half"); err != nil {
		t.Fatal(err)
	}
	if uploads, _ := ev.glacier.ListMultipartUploads(ctx, "photos"); len(uploads) != 0 {
		t.Fatalf("cancelled upload still open: %v", uploads)
	}
	if _, err := ev.db.Upload(ctx, info.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled upload still recorded: %v", err)
	}
	if err := ev.e.CancelUpload(ctx, "photos", "half"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("second cancel: %v", err)
	}
	ev.sim.Faults().Clear()
	got, err := ev.e.UploadArchive(ctx, "photos", "half")
	if err != nil || got.State != store.StateLiquid {
		t.Fatalf("upload after cancel: %+v %v", got, err)
	}

	// The vault empties: remove the archive, then the vault itself.
	if err := ev.e.Remove(ctx, "photos", "half", control.RemovePhrase); err != nil {
		t.Fatal(err)
	}
	os.Remove(got.LocalPath)
	if err := ev.e.Remove(ctx, "photos", "half", control.RemovePhrase); err != nil {
		t.Fatal(err)
	}
	if err := ev.e.RemoveVault(ctx, "photos"); err != nil {
		t.Fatalf("removing the empty vault: %v", err)
	}
	vaults, err := ev.e.Vaults(ctx)
	if err != nil || len(vaults) != 0 {
		t.Fatalf("vaults after removal: %+v %v", vaults, err)
	}
}

// TestStateFollowsTheDecidingJob: with a ready job and a newer one in
// progress (another client asked again), the archive is melted and the
// ready job is the one to download.
func TestStateFollowsTheDecidingJob(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	now := time.Now().UTC()
	err := ev.db.Update(ctx, func(tx *store.Tx) error {
		v, err := ev.db.Vault(ctx, "photos")
		if err != nil {
			return err
		}
		id, err := tx.PutArchive(ctx, store.Archive{VaultID: v.ID, Name: "x", RemoteID: "R", Created: now.Add(-time.Hour)})
		if err != nil {
			return err
		}
		if err := tx.PutJob(ctx, store.Job{ID: "ready", VaultID: v.ID, Action: store.ActionArchiveRetrieval, ArchiveID: id,
			Status: store.JobStatusSucceeded, Created: now.Add(-3 * time.Hour), Completed: now.Add(-2 * time.Hour), Expires: now.Add(22 * time.Hour)}); err != nil {
			return err
		}
		return tx.PutJob(ctx, store.Job{ID: "newer", VaultID: v.ID, Action: store.ActionArchiveRetrieval, ArchiveID: id,
			Status: store.JobStatusInProgress, Created: now.Add(-time.Minute)})
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := ev.e.Archive(ctx, "photos", "x")
	if err != nil {
		t.Fatal(err)
	}
	if info.State != store.StateMelted || info.Job == nil || info.Job.ID != "ready" {
		t.Fatalf("state %s, job %+v; want melted with the ready job", info.State, info.Job)
	}
}
