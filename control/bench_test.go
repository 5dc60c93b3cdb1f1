package control_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"freezer/control"
	"freezer/store"
)

// Benchmarks for the engine's read view and change events; run them with
// scripts/bench-engine.sh, which prints their figures.

// TestMain lets the event-delay benchmark run this test binary as a
// second process that commits changes.
func TestMain(m *testing.M) {
	if db := os.Getenv("FREEZER_BENCH_WRITER"); db != "" {
		os.Exit(benchWriter(db))
	}
	os.Exit(m.Run())
}

// benchWriter commits one vault change at a time and prints, after each
// commit, the wall-clock time it committed at.
func benchWriter(path string) int {
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		name := in.Text()
		err := db.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.PutVault(ctx, store.Vault{Name: name})
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(time.Now().UnixNano())
	}
	return 0
}

// fillCatalog writes n archives (half of them with a retrieval job) into
// a fresh catalog.
func fillCatalog(b *testing.B, n int) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "freezer.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	err = db.Update(ctx, func(tx *store.Tx) error {
		vid, err := tx.PutVault(ctx, store.Vault{Name: "photos"})
		if err != nil {
			return err
		}
		for i := range n {
			id, err := tx.PutArchive(ctx, store.Archive{VaultID: vid, Name: fmt.Sprintf("archive-%05d", i), RemoteID: fmt.Sprintf("R%d", i),
				Size: int64(i) * 1000, Description: "freezer v1 name=x tar+gzip unencrypted", Created: now.Add(-time.Duration(i) * time.Minute)})
			if err != nil {
				return err
			}
			if i%2 == 0 {
				if err := tx.PutJob(ctx, store.Job{ID: fmt.Sprintf("J%d", i), VaultID: vid, Action: store.ActionArchiveRetrieval, ArchiveID: id,
					Status: store.JobStatusSucceeded, Created: now.Add(-time.Hour), Completed: now.Add(-time.Minute), Expires: now.Add(23 * time.Hour)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkViewArchives lists a vault of 10,000 archives with their states
// from the read view (target < 50 ms): the first listing of a view, a
// listing of the unchanged vault, and a listing after another connection
// (as another process would) changed one archive.
func BenchmarkViewArchives(b *testing.B) {
	db := fillCatalog(b, 10000)
	ctx := context.Background()
	list := func(v *control.View) {
		as, err := v.Archives(ctx, "photos")
		if err != nil || len(as) != 10000 {
			b.Fatalf("%d archives, %v", len(as), err)
		}
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			v := control.NewView(db, nil)
			list(v)
			v.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/listing")
	})
	b.Run("unchanged", func(b *testing.B) {
		v := control.NewView(db, nil)
		defer v.Close()
		list(v)
		b.ResetTimer()
		for b.Loop() {
			list(v)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/listing")
	})
	b.Run("one-changed", func(b *testing.B) {
		other, err := store.Open(ctx, db.Path(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer other.Close()
		v := control.NewView(db, nil)
		defer v.Close()
		list(v)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			a, err := other.Archive(ctx, "photos", fmt.Sprintf("archive-%05d", i%10000))
			if err != nil {
				b.Fatal(err)
			}
			err = other.Update(ctx, func(tx *store.Tx) error { return tx.SetLocalPath(ctx, a.ID, "/x") })
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			list(v)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/listing")
	})
}

// BenchmarkRawArchiveScan is the baseline: reading the same rows with no
// state computed.
func BenchmarkRawArchiveScan(b *testing.B) {
	db := fillCatalog(b, 10000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		as, err := db.Archives(ctx, "photos")
		if err != nil || len(as) != 10000 {
			b.Fatalf("%d archives, %v", len(as), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/listing")
}

// BenchmarkEventDelay measures the time from a commit in another process
// to the event reaching a subscriber here (target < 1 s).
func BenchmarkEventDelay(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "freezer.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := control.New(control.Options{DB: db, DataDir: b.TempDir()})
	defer e.Close(ctx)
	type seen struct {
		name string
		at   time.Time
	}
	times := make(chan seen, 1024)
	unsub := e.Subscribe(func(evs []control.Event) {
		now := time.Now()
		for _, ev := range evs {
			if ev.Kind == control.EventVault {
				times <- seen{ev.Vault, now}
			}
		}
	})
	defer unsub()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FREEZER_BENCH_WRITER="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	out := bufio.NewScanner(stdout)
	time.Sleep(500 * time.Millisecond) // the watcher is following
	var delays []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := "v" + strconv.Itoa(i)
		fmt.Fprintln(stdin, name)
		if !out.Scan() {
			b.Fatal("the writer process stopped")
		}
		ns, _ := strconv.ParseInt(strings.TrimSpace(out.Text()), 10, 64)
		committed := time.Unix(0, ns)
		for {
			s := <-times
			if s.name == name {
				delays = append(delays, s.at.Sub(committed))
				break
			}
		}
		// Spread commits out, as real changes are.
		time.Sleep(time.Duration(37*(i%7)) * time.Millisecond)
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "ms-max")
}
