package control_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"freezer/aws/sim"
	"freezer/control"
	"freezer/filter"
	"freezer/store"
)

// second opens another engine on ev's catalog file, through its own
// connections — as another process would — sharing the simulator and the
// data folder.
func (ev *env) second(t *testing.T, command string) *control.Engine {
	t.Helper()
	db, err := store.Open(context.Background(), ev.db.Path(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := ev.opts
	o.DB, o.Command = db, command
	e := control.New(o)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// TestTwoEnginesOneCatalog: claims keep two engines off one archive,
// whatever the order; one engine's tasks and changes are seen by the
// other; a closed engine's task reads as interrupted and the same request
// resumes it from the other engine.
func TestTwoEnginesOneCatalog(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, func(so *sim.Options, co *control.Options) { co.Threads = 2 })
	a := ev.e
	b := ev.second(t, "second engine")

	events := make(chan control.Event, 1024)
	unsub := b.Subscribe(func(evs []control.Event) {
		for _, e := range evs {
			select {
			case events <- e:
			default:
			}
		}
	})
	defer unsub()

	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 50, 24<<20)
	// Slow parts down so the upload is still running when b asks.
	ev.sim.Faults().Add(sim.Fault{Op: "UploadMultipartPart", Kind: sim.FaultDelay, Count: 1000, Delay: sim.Duration(150 * time.Millisecond)})
	req := &control.CreateRequest{Vault: "photos", Name: "same", Compression: "none", KeyID: "none",
		Plan: control.PlanRequest{Paths: []string{src}, Filters: filter.DefaultFilters}}
	reps, err := a.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	id := reps[0].Task

	// b refuses every action on the claimed archive, naming the holder.
	for _, r := range []control.Request{
		req,
		&control.UploadRequest{Vault: "photos", Name: "same"},
		&control.VaultRemoveRequest{Name: "photos"},
	} {
		_, err := b.Do(ctx, r)
		if err == nil {
			t.Fatalf("%s: accepted while another engine holds the archive", r.Line())
		}
		if !errors.Is(err, control.ErrBusy) && !errors.Is(err, control.ErrNotFound) && !errors.Is(err, control.ErrExists) {
			t.Errorf("%s: %v, want busy", r.Line(), err)
		}
	}
	if _, err := b.Do(ctx, req); !errors.Is(err, control.ErrBusy) || !strings.Contains(err.Error(), "second engine") && !strings.Contains(err.Error(), "busy: photos/same is being created by") {
		t.Errorf("busy message: %v", err)
	}

	// b sees a's task running, with bytes growing, and its change events.
	deadline := time.Now().Add(20 * time.Second)
	var seen control.TaskInfo
	for time.Now().Before(deadline) {
		seen, err = b.Task(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if seen.State == store.TaskRunning && seen.Phase == "upload" && seen.BytesDone > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen.Phase != "upload" || seen.BytesDone == 0 || seen.BytesTotal == 0 {
		t.Fatalf("the other engine's running task: %+v", seen.Task)
	}
	gotTaskEvent := false
	for !gotTaskEvent {
		select {
		case e := <-events:
			gotTaskEvent = e.Kind == control.EventTask && e.Task == id
		case <-time.After(5 * time.Second):
			t.Fatal("no task event from the other engine within 5 s")
		}
	}

	// a stops mid-upload: its task is interrupted, its claim released.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := b.Task(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.TaskInterrupted || got.Resume != "upload photos/same" {
		t.Fatalf("after close: state %s, resume %q", got.State, got.Resume)
	}
	if err := got.Err(); !errors.Is(err, control.ErrInterrupted) || control.Hint(err) != "upload photos/same" {
		t.Errorf("interrupted task's error: %v (hint %q)", err, control.Hint(err))
	}
	// b resumes with the same create request (it was this one).
	ev.sim.Faults().Clear()
	rep, err := b.RunWait(ctx, req)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if rep.Task == 0 {
		t.Fatal("resume started no task")
	}
	info, err := b.Archive(ctx, "photos", "same")
	if err != nil || info.State != store.StateLiquid {
		t.Fatalf("after resume: %+v %v", info, err)
	}
	// A create of other files under the same name never passes off the
	// old archive as its own.
	other := *req
	other.Plan.Paths = []string{t.TempDir()}
	os.WriteFile(filepath.Join(other.Plan.Paths[0], "x"), []byte("x"), 0o600)
	if _, err := b.Do(ctx, &other); !errors.Is(err, control.ErrExists) {
		t.Errorf("create of other files under a taken name: %v", err)
	}
}

// TestSameNameRace: many creates of one name at once, from two engines:
// exactly one wins each time, the others are refused busy or exists, and
// the winner's local copy holds the winner's files.
func TestSameNameRace(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	b := ev.second(t, "rival")
	for round := range 3 {
		name := "race-" + string(rune('a'+round))
		srcs := [2]string{filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")}
		for i, s := range srcs {
			os.MkdirAll(s, 0o700)
			os.WriteFile(filepath.Join(s, "who"), []byte(s), 0o600)
			_ = i
		}
		var wg sync.WaitGroup
		errs := [2]error{}
		for i, e := range []*control.Engine{ev.e, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.CreateArchive(ctx, control.CreateRequest{Vault: "photos", Name: name, Compression: "gzip", KeyID: "none",
					Plan: control.PlanRequest{Paths: []string{srcs[i]}, Filters: filter.DefaultFilters}})
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				files, ferr := ev.e.ArchiveFiles(ctx, "photos", name)
				if ferr != nil || len(files) != 1 || files[0].Path != filepath.Base(srcs[i])+"/who" {
					t.Fatalf("round %d: winner %d's archive lists %+v %v", round, i, files, ferr)
				}
			case errors.Is(err, control.ErrBusy), errors.Is(err, control.ErrExists):
			default:
				t.Fatalf("round %d: loser %d: %v", round, i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners (%v)", round, wins, errs)
		}
		info, err := ev.e.Archive(ctx, "photos", name)
		if err != nil || info.State != store.StateLiquid {
			t.Fatalf("round %d: %+v %v", round, info, err)
		}
		if _, err := os.Stat(info.LocalPath); err != nil {
			t.Fatalf("round %d: the winner's local copy is gone: %v", round, err)
		}
	}
	assertNoStrayFiles(t, ev.dataDir)
}

// TestCreateRecordsBigArchivesInBatches: an archive with more files than
// one catalog transaction records gets them all, a batch at a time, while
// another engine keeps writing to the catalog.
func TestCreateRecordsBigArchivesInBatches(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, func(so *sim.Options, co *control.Options) { co.RecordBatch = 40 })
	src := filepath.Join(t.TempDir(), "data")
	makeTree(t, src, 300, 1000)
	b := ev.second(t, "writer")
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := b.Do(ctx, &control.ExcludeAddRequest{Expr: fmt.Sprintf("/nowhere/%d", i)}); err != nil {
				done <- err
				return
			}
		}
	}()
	info := ev.create("big", "gzip", src)
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("the other engine's writes: %v", err)
	}
	files, err := ev.e.ArchiveFiles(ctx, "photos", "big")
	if err != nil || len(files) < 300 || int64(len(files)) != info.FileCount {
		t.Fatalf("%d files recorded, count %d (%v)", len(files), info.FileCount, err)
	}
	assertNoStrayFiles(t, ev.dataDir)
}
