package control_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"freezer/control"
	"freezer/store"
)

// TestRecoverInstalls: a process died between recording a new local copy
// and renaming it into place. The file is put in place; a rename that did
// happen is recorded; a copy whose file is gone is forgotten.
func TestRecoverInstalls(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	tmp := filepath.Join(ev.dataDir, "tmp")
	final := func(name string) string { return filepath.Join(ev.dataDir, "archives", "photos", name) }
	write := func(path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(path), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(tmp, "build-dead-1")) // not yet renamed
	write(final("renamed"))                   // renamed, not recorded
	err := ev.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Vault(ctx, "photos")
		if err != nil {
			return err
		}
		for _, a := range []store.Archive{
			{Name: "pending", RemoteID: "R1", LocalPath: final("pending"), Installing: filepath.Join(tmp, "build-dead-1")},
			{Name: "renamed", RemoteID: "R2", LocalPath: final("renamed"), Installing: filepath.Join(tmp, "build-dead-2")},
			{Name: "gone", RemoteID: "R3", LocalPath: final("gone"), Installing: filepath.Join(tmp, "build-dead-3")},
		} {
			a.VaultID = v.ID
			if _, err := tx.PutArchive(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ev.e.RecoverInstalls(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RecoverInstalls = %d, %v; want 3", n, err)
	}
	for name, want := range map[string]store.State{"pending": store.StateLiquid, "renamed": store.StateLiquid, "gone": store.StateFrozen} {
		info, err := ev.e.Archive(ctx, "photos", name)
		if err != nil {
			t.Fatal(err)
		}
		if info.State != want || info.Installing != "" {
			t.Errorf("%s: %s, installing %q; want %s", name, info.State, info.Installing, want)
		}
		if want == store.StateLiquid {
			if _, err := os.Stat(info.LocalPath); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if n, err := ev.e.RecoverInstalls(ctx); err != nil || n != 0 {
		t.Errorf("second RecoverInstalls = %d, %v; want nothing left", n, err)
	}
}

// TestWatchPass: one pass downloads a finished retrieval of this catalog
// and leaves other tools' jobs alone — neither downloading theirs nor
// asking Glacier for anything in their place.
func TestWatchPass(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 20, 1<<20)
	ev.create("mine", "gzip", src)
	other := ev.create("theirs", "gzip", src+"/")
	for _, name := range []string{"mine", "theirs"} {
		if err := ev.e.Disconnect(ctx, "photos", name); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ev.e.Retrieve(ctx, "photos", "mine", "")
	if err != nil || res.Outcome != control.RetrieveRequested {
		t.Fatalf("retrieve: %+v, %v", res, err)
	}
	// Another tool's finished jobs, as Glacier's job list shows them.
	now := time.Now().UTC()
	err = ev.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Vault(ctx, "photos")
		if err != nil {
			return err
		}
		if err := tx.PutJob(ctx, store.Job{ID: "other-retrieval", VaultID: v.ID, Action: store.ActionArchiveRetrieval, ArchiveID: other.ID,
			RemoteArchiveID: other.RemoteID, Status: store.JobStatusSucceeded, Description: "restore from another tool",
			Created: now.Add(-time.Hour), Completed: now, Expires: now.Add(24 * time.Hour), Foreign: true}); err != nil {
			return err
		}
		return tx.PutJob(ctx, store.Job{ID: "other-inventory", VaultID: v.ID, Action: store.ActionInventoryRetrieval,
			Status: store.JobStatusSucceeded, Created: now.Add(-time.Hour), Completed: now, Expires: now.Add(24 * time.Hour), Foreign: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	jobsBefore, _ := ev.db.Jobs(ctx)

	var pass control.PassResult
	for i := 0; i < 50; i++ { // the simulator completes the job on its next tick
		if pass, err = ev.e.WatchPass(ctx, control.WatchOptions{Download: true, ApplyInventories: true}); err != nil {
			t.Fatal(err)
		}
		if len(pass.Pending) == 0 && len(pass.Tasks) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(pass.Tasks) != 1 || pass.Failed != 0 || pass.Tasks[0].Kind != control.TaskDownload || pass.Tasks[0].Archive != "mine" {
		t.Fatalf("pass ran %+v (failed %d); want one download of mine", pass.Tasks, pass.Failed)
	}
	if len(pass.Pending) != 0 || len(pass.Ready) != 0 {
		t.Errorf("pass left pending %v, ready %v", pass.Pending, pass.Ready)
	}
	for name, want := range map[string]store.State{"mine": store.StateLiquid, "theirs": store.StateMelted} {
		if info, _ := ev.e.Archive(ctx, "photos", name); info.State != want {
			t.Errorf("%s is %s, want %s", name, info.State, want)
		}
	}
	jobsAfter, _ := ev.db.Jobs(ctx)
	if len(jobsAfter) != len(jobsBefore) {
		t.Errorf("the pass made Glacier jobs: %d before, %d after", len(jobsBefore), len(jobsAfter))
	}
}
