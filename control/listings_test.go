package control_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"freezer/control"
	"freezer/store"
)

// TestViewFollowsOtherProcesses: a view's listings, which reread only
// what changed, always equal a fresh view's, whatever another connection
// (as another process) changes between them: an archive added, one
// removed, a job changing a state, many archives at once, a vault gone.
func TestViewFollowsOtherProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "freezer.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := time.Now().UTC()
	var vid int64
	put := func(names ...string) {
		t.Helper()
		err := other.Update(ctx, func(tx *store.Tx) error {
			var err error
			if vid, err = tx.PutVault(ctx, store.Vault{Name: "photos"}); err != nil {
				return err
			}
			for _, n := range names {
				if _, err := tx.PutArchive(ctx, store.Archive{VaultID: vid, Name: n, RemoteID: "R-" + n, Created: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	v := control.NewView(db, nil)
	defer v.Close()
	check := func(step string) {
		t.Helper()
		got, err := v.Archives(ctx, "photos")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		fresh := control.NewView(db, nil)
		defer fresh.Close()
		want, err := fresh.Archives(ctx, "photos")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the view lists\n%+v\nwant\n%+v", step, got, want)
		}
	}
	put("b", "d")
	check("first")
	put("a", "c", "e")
	check("added")
	err = other.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.Archive(ctx, "photos", "c")
		if err != nil {
			return err
		}
		if err := tx.DeleteArchive(ctx, a.ID); err != nil {
			return err
		}
		d, err := tx.Archive(ctx, "photos", "d")
		if err != nil {
			return err
		}
		return tx.PutJob(ctx, store.Job{ID: "J", VaultID: vid, Action: store.ActionArchiveRetrieval, ArchiveID: d.ID,
			Status: store.JobStatusInProgress, Created: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	check("removed, and a job")
	if as, _ := v.Archives(ctx, "photos"); len(as) != 4 || as[2].Name != "d" || as[2].State != store.StateMelting {
		t.Fatalf("after a job: %+v", as)
	}
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("m%03d", i)
	}
	put(many...)
	check("many at once")
	err = other.Update(ctx, func(tx *store.Tx) error {
		for _, n := range append(many, "a", "b", "d", "e") {
			a, err := tx.Archive(ctx, "photos", n)
			if err != nil {
				return err
			}
			if err := tx.DeleteArchive(ctx, a.ID); err != nil {
				return err
			}
		}
		return tx.DeleteVault(ctx, "photos")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Archives(ctx, "photos"); err == nil {
		t.Fatal("a removed vault still lists")
	}
}
