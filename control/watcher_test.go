package control_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/aws/treehash"
	"freezer/control"
	"freezer/store"
)

// withQueue gives ev's engine options the simulator's SNS topic and an
// SQS queue subscribed to it, as the manual has people set up in AWS.
func withQueue(t *testing.T, ev *env) (topic, queueURL string, q *aws.Queue) {
	t.Helper()
	ctx := context.Background()
	settings := aws.Settings{Endpoint: ev.url, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, settings)
	if err != nil {
		t.Fatal(err)
	}
	tp, q := aws.NewTopic(cfg, settings), aws.NewQueue(cfg, settings)
	if topic, err = tp.CreateTopic(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	if queueURL, err = q.CreateQueue(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	arn, err := q.QueueARN(ctx, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.SetQueuePolicy(ctx, queueURL, arn, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Subscribe(ctx, topic, arn, false); err != nil {
		t.Fatal(err)
	}
	return topic, queueURL, q
}

// waitState waits until an archive reaches a state, or fails the test.
func waitState(t *testing.T, e *control.Engine, vault, name string, want store.State, within time.Duration) control.ArchiveInfo {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		info, err := e.Archive(context.Background(), vault, name)
		if err == nil && info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: state %s after %s, want %s (%v)", vault, name, info.State, within, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatcherHearsSQS: with DescribeJob failing every time, the real
// SNS → SQS notification alone tells the watcher that the retrieval
// finished, and it downloads the archive and sets the job's executed
// date; the message is consumed.
func TestWatcherHearsSQS(t *testing.T) {
	ctx := context.Background()
	delay := time.Second
	var topic, queueURL string
	var q *aws.Queue
	ev := newEnv(t, func(so *sim.Options, co *control.Options) { so.JobDelay = &delay })
	topic, queueURL, q = withQueue(t, ev)
	o := ev.opts
	o.Queue, o.QueueURL, o.SNSTopic, o.PollTime = q, queueURL, topic, 2*time.Second
	o.JobPollMax = time.Hour
	e := control.New(o)
	defer e.Close(ctx)

	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 5, 100000)
	ev.create("a", "gzip", src)
	if err := e.Disconnect(ctx, "photos", "a"); err != nil {
		t.Fatal(err)
	}
	ev.sim.Faults().Add(sim.Fault{Op: "DescribeJob", Kind: sim.FaultServiceUnavailable, Rate: 1})
	rep, err := e.Do(ctx, &control.RetrieveRequest{Vault: "photos", Name: "a"})
	if err != nil || rep[0].Fields["job"] == "" {
		t.Fatalf("retrieve: %+v %v", rep, err)
	}
	e.Watch(control.WatchOptions{Download: true})
	info := waitState(t, e, "photos", "a", store.StateLiquid, 30*time.Second)
	j, err := ev.db.Job(ctx, rep[0].Fields["job"])
	if err != nil || j.Executed.IsZero() || j.Status != store.JobStatusSucceeded {
		t.Fatalf("job after the download: %+v %v", j, err)
	}
	if info.Job == nil || info.Job.ID != j.ID {
		t.Errorf("state decided by %+v", info.Job)
	}
	msgs, err := q.Receive(ctx, queueURL, 10, 0, time.Second)
	if err != nil || len(msgs) != 0 {
		t.Errorf("messages left in the queue: %+v %v", msgs, err)
	}
}

// TestWatcherPollsWithoutQueue: without a queue, DescribeJob polls find
// the finished job.
func TestWatcherPollsWithoutQueue(t *testing.T) {
	ctx := context.Background()
	delay := 1500 * time.Millisecond
	ev := newEnv(t, func(so *sim.Options, co *control.Options) { so.JobDelay = &delay })
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 5, 100000)
	ev.create("a", "gzip", src)
	if err := ev.e.Disconnect(ctx, "photos", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.e.Do(ctx, &control.RetrieveRequest{Vault: "photos", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ev.e, "photos", "a", store.StateMelting, time.Second)
	ev.e.Watch(control.WatchOptions{Download: true})
	waitState(t, ev.e, "photos", "a", store.StateLiquid, 30*time.Second)
}

// TestUnknownJobsStayInTheQueue: a notification of a job another catalog
// made is left for it: this engine neither deletes nor spins on it, and
// the other catalog's engine receives it and downloads.
func TestUnknownJobsStayInTheQueue(t *testing.T) {
	ctx := context.Background()
	delay := time.Second
	ev := newEnv(t, func(so *sim.Options, co *control.Options) { so.JobDelay = &delay })
	topic, queueURL, q := withQueue(t, ev)
	src := filepath.Join(t.TempDir(), "d")
	makeTree(t, src, 5, 100000)
	ev.create("a", "gzip", src)
	ev.sim.Faults().Add(sim.Fault{Op: "DescribeJob", Kind: sim.FaultServiceUnavailable, Rate: 1})

	// The other catalog learns of the archive from an inventory, and asks
	// for it.
	other := rebuiltWith(t, ev, func(o *control.Options) {
		o.Queue, o.QueueURL, o.SNSTopic, o.PollTime, o.JobPollMax = q, queueURL, topic, time.Second, time.Hour
		o.UnknownVisibility = time.Second
	})
	// This engine listens on the same queue but knows no job.
	o := ev.opts
	o.Queue, o.QueueURL, o.SNSTopic, o.PollTime, o.JobPollMax = q, queueURL, topic, time.Second, time.Hour
	o.UnknownVisibility = time.Second
	here := control.New(o)
	defer here.Close(ctx)
	here.Watch(control.WatchOptions{Download: true})

	reps, err := other.Do(ctx, &control.RetrieveRequest{Vault: "photos", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// This catalog lists the other's job as Glacier lists it (the
	// manual's job dialog), as another client's, on its archive.
	ev.sim.Faults().Clear()
	if err := here.Refresh(ctx, true); err != nil {
		t.Fatal(err)
	}
	jobs, err := here.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, j := range jobs {
		if j.ID == reps[0].Fields["job"] {
			found = j.Foreign && j.Archive == "a" && j.Action == store.ActionArchiveRetrieval
		}
	}
	if !found {
		t.Fatalf("the other catalog's job is not listed as a foreign job on archive a: %+v", jobs)
	}
	ev.sim.Faults().Add(sim.Fault{Op: "DescribeJob", Kind: sim.FaultServiceUnavailable, Rate: 1})
	// Count receives: a fault that only delays by a millisecond fires on
	// every call.
	ev.sim.Faults().Add(sim.Fault{Op: "ReceiveMessage", Kind: sim.FaultDelay, Rate: 1, Delay: sim.Duration(time.Millisecond)})
	time.Sleep(3 * time.Second) // the notification arrives; only "here" listens
	if got := ev.sim.Faults().FiredFor("ReceiveMessage"); got > 10 {
		t.Errorf("%d receives in 3 seconds: spinning on a message", got)
	}
	other.Watch(control.WatchOptions{Download: true})
	waitState(t, other, "photos", "a", store.StateLiquid, 30*time.Second)
}

// rebuiltWith is rebuilt with options tuned.
func rebuiltWith(t *testing.T, old *env, tune func(*control.Options)) *control.Engine {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "other.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	opts := old.opts
	opts.DB, opts.DataDir = db, t.TempDir()
	tune(&opts)
	e := control.New(opts)
	t.Cleanup(func() { e.Close(ctx) })
	faults := old.sim.Faults().Rules()
	old.sim.Faults().Clear()
	if _, err := e.InventoryAndWait(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		old.sim.Faults().Add(f)
	}
	return e
}

// TestDisagreementRequestsOneInventory: when Glacier's last inventory and
// the catalog disagree (another tool uploaded an archive), a refresh asks
// for an inventory once for that inventory date — not again on the next
// refresh — and the watcher applies it when it completes.
func TestDisagreementRequestsOneInventory(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, func(so *sim.Options, co *control.Options) {
		so.InventoryInterval = sim.DefaultInventoryInterval
		co.RefreshInterval = time.Millisecond
	})
	body := []byte("another tool's archive")
	linear, tree, _, _ := treehash.Compute(bytes.NewReader(body))
	if _, err := ev.glacier.UploadArchive(ctx, "photos", "made elsewhere", bytes.NewReader(body), int64(len(body)), treehash.Hex(tree), treehash.Hex(linear)); err != nil {
		t.Fatal(err)
	}
	if err := ev.sim.ForceInventory("photos"); err != nil {
		t.Fatal(err)
	}
	inventories := func() int {
		jobs, err := ev.db.Jobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, j := range jobs {
			if j.Action == store.ActionInventoryRetrieval {
				n++
			}
		}
		return n
	}
	for range 3 {
		if err := ev.e.Refresh(ctx, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := inventories(); n != 1 {
		t.Fatalf("%d inventories requested for one disagreement, want 1", n)
	}
	ev.e.Watch(control.WatchOptions{ApplyInventories: true})
	deadline := time.Now().Add(30 * time.Second)
	for {
		as, err := ev.e.Archives(ctx, "photos")
		if err == nil && len(as) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the inventory was never applied: %+v %v", as, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := ev.e.Refresh(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := inventories(); n != 1 {
		t.Fatalf("%d inventories after the catalog agreed, want 1", n)
	}
}

// TestEventsAcrossEnginesAndExpiry: a change committed by another engine
// reaches a subscriber within a second; a melted archive's job output
// expiring fires an event at its time and the state turns frozen.
func TestEventsAcrossEnginesAndExpiry(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	b := ev.second(t, "other")
	got := make(chan control.Event, 64)
	unsub := ev.e.Subscribe(func(evs []control.Event) {
		for _, e := range evs {
			got <- e
		}
	})
	defer unsub()
	time.Sleep(300 * time.Millisecond)

	start := time.Now()
	if err := b.CreateVault(ctx, "other-vault"); err != nil {
		t.Fatal(err)
	}
	waitEventKind(t, got, control.EventVault, "other-vault", time.Second)
	t.Logf("event from another engine after %s", time.Since(start))

	// A melted archive whose output expires in a moment.
	now := time.Now().UTC()
	err := ev.db.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Vault(ctx, "photos")
		if err != nil {
			return err
		}
		id, err := tx.PutArchive(ctx, store.Archive{VaultID: v.ID, Name: "x", RemoteID: "R", Created: now.Add(-time.Hour)})
		if err != nil {
			return err
		}
		return tx.PutJob(ctx, store.Job{ID: "J", VaultID: v.ID, Action: store.ActionArchiveRetrieval, ArchiveID: id,
			Status: store.JobStatusSucceeded, Created: now.Add(-25 * time.Hour), Completed: now.Add(-24 * time.Hour).Add(1500 * time.Millisecond),
			Expires: now.Add(1500 * time.Millisecond)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := ev.e.Archive(ctx, "photos", "x"); info.State != store.StateMelted {
		t.Fatalf("state %s, want melted", info.State)
	}
	waitEventKind(t, got, control.EventArchive, "x", time.Second) // its creation
	time.Sleep(300 * time.Millisecond)
	drain(got)
	waitEventKind(t, got, control.EventArchive, "x", 3*time.Second) // its expiry
	if d := time.Since(now); d < 1400*time.Millisecond {
		t.Errorf("expiry event after %s, before the output expired", d)
	}
	if info, _ := ev.e.Archive(ctx, "photos", "x"); info.State != store.StateFrozen {
		t.Fatalf("state %s after expiry, want frozen", info.State)
	}
}

func drain(c chan control.Event) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func waitEventKind(t *testing.T, c chan control.Event, kind, name string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-c:
			if e.Kind == kind && (e.Vault == name || e.Archive == name) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event for %s within %s", kind, name, within)
		}
	}
}

// TestStoredSettingReachesRunningEngine: a setting stored by another
// engine applies to a running one.
func TestStoredSettingReachesRunningEngine(t *testing.T) {
	ctx := context.Background()
	ev := newEnv(t, nil)
	o := ev.opts
	o.Settings = control.SettingsInput{Defaults: map[string]string{"threads": "4", "chunk-size": "1MiB", "poll-time": "20"}}
	e := control.New(o)
	defer e.Close(ctx)
	unsub := e.Subscribe(func([]control.Event) {})
	defer unsub()
	b := ev.second(t, "other")
	if _, err := b.Do(ctx, &control.SettingSetRequest{Key: "chunk-size", Value: "4MiB"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for e.Tunables().ChunkSize != 4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("chunk size %d two seconds after another engine stored 4MiB", e.Tunables().ChunkSize)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
