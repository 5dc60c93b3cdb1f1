package filter

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// TestListMatchesEntries: a plan fed one entry at a time through an
// EntryList is the plan made from a list of entries, in every form it
// takes (items, JSON, selection, after Select and Drop), including entries
// that do not follow archive order and so are kept in full.
func TestListMatchesEntries(t *testing.T) {
	tree := sampleTree()
	// Out of order: a file before its folder, and a folder that is not
	// the parent of what follows.
	tree = append(tree, file("/home/me/other/late.txt", 3), dir("/home/me/other"), file("/home/me/other/x.bak", 4),
		dir("/"), file("/top", 5))
	x := &fakeIndex{}
	x.freeze(tree[6], "photos", "old", "proj/photo.jpg", testTime)
	pl := newPlanner(t, Config{Hasher: &fakeHasher{}, Frozen: x, Exclusions: []string{"/home/me/proj/build"}})
	filters := DefaultFilters.With(FilterFrozen)
	manual := []string{"/home/me/proj/main.c"}
	a := mustPlan(t, pl, Request{Roots: []string{proj}, Entries: tree, Filters: filters, Regex: `buildx`, ManualExclusions: manual})
	list := NewEntryList()
	for _, e := range tree {
		list.Add(e)
	}
	if len(list.loose) > 6 {
		t.Errorf("%d of %d entries kept in full; only those out of archive order should be", len(list.loose), len(tree))
	}
	b := mustPlan(t, pl, Request{Roots: []string{proj}, List: list, Filters: filters, Regex: `buildx`, ManualExclusions: manual})
	same := func(step string) {
		t.Helper()
		ja, _ := a.MarshalJSON()
		jb, _ := b.MarshalJSON()
		if !bytes.Equal(ja, jb) {
			t.Fatalf("%s: plans differ:\n%s\nwant:\n%s", step, jb, ja)
		}
		if !slices.Equal(a.Selected(), b.Selected()) {
			t.Fatalf("%s: selections differ", step)
		}
	}
	same("plan")
	for _, p := range []*Plan{a, b} {
		if err := p.Select("/home/me/proj/build", true); err != nil {
			t.Fatal(err)
		}
		if err := p.Select("/home/me/other", false); err != nil {
			t.Fatal(err)
		}
	}
	same("select")
	a.Drop()
	b.Drop()
	same("drop")
	if _, ok := b.Item("/home/me/other/late.txt"); ok {
		t.Error("a dropped entry is still found")
	}
	it, ok := b.Item("/home/me/proj/build/out.bin")
	if !ok || !it.Selected || !it.Override || it.ExcludedBy != "/home/me/proj/build" || it.ModTime.IsZero() || it.Name != "home/me/proj/build/out.bin" {
		t.Errorf("out.bin after drop: %+v, %v", it, ok)
	}
}

// TestListMemoryPerEntry: what a plan keeps per walked file is bounded:
// a row, the base name and (frozen filter on) the sum, not two paths.
func TestListMemoryPerEntry(t *testing.T) {
	const n = 200_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	list := NewEntryList()
	dirPath := ""
	for i := range n {
		if i%100 == 0 {
			dirPath = fmt.Sprintf("/home/someone/a-rather-long-folder-name/projects/p%03d/folder%05d", i/10000, i/100)
			list.Add(dir(dirPath))
		}
		// A path made for each entry, as a walk does, and dropped after.
		list.Add(file(fmt.Sprintf("%s/document-%07d.txt", dirPath, i), int64(i)))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes a file (paths of about %d bytes)", per, len(dirPath)+22)
	if per > 120 {
		t.Errorf("the entry list keeps %.0f bytes a file; want at most 120", per)
	}
	runtime.KeepAlive(list)
}

// TestFrozenInBatches: the frozen filter's pipeline over several batches
// gives each file its own sum and copies, prefetching every batch once,
// in order.
func TestFrozenInBatches(t *testing.T) {
	var entries []Entry
	x := &fakeIndex{}
	entries = append(entries, dir("/d"))
	n := 3*LookupBatch + 10
	for i := range n {
		e := file(fmt.Sprintf("/d/f%05d", i), int64(i+1))
		entries = append(entries, e)
		if i%7 == 0 {
			x.freeze(e, "v", "a", e.Name, testTime)
		}
	}
	h := &prefetchHasher{}
	var last [2]int
	p := mustPlan(t, newPlanner(t, Config{Hasher: h, Frozen: x, HashWorkers: 3}), Request{Entries: entries,
		Filters: Set(0).With(FilterFrozen), Progress: func(done, total int) { last = [2]int{done, total} }})
	if got := p.Summary().Hashing; got.Read != n {
		t.Errorf("hashing %+v, want %d read", got, n)
	}
	if len(h.batches) != 4 || h.batches[0] != LookupBatch || h.batches[3] != 10 {
		t.Errorf("prefetched batches %v", h.batches)
	}
	if last != [2]int{n, n} {
		t.Errorf("last progress %v, want %d of %d", last, n, n)
	}
	for i, it := range p.Items()[1:] {
		if it.SHA256 != fakeSum(it.Entry) {
			t.Fatalf("%s: sum %s, want %s", it.Path, it.SHA256, fakeSum(it.Entry))
		}
		if frozen := i%7 == 0; it.Reasons.Has(ReasonFrozen) != frozen || (len(it.FrozenCopies) == 1) != frozen {
			t.Fatalf("%s: reasons %v copies %v", it.Path, it.Reasons, it.FrozenCopies)
		}
	}
}

type prefetchHasher struct {
	fakeHasher
	batches []int
}

func (h *prefetchHasher) Prefetch(ctx context.Context, batch []Entry) error {
	h.batches = append(h.batches, len(batch))
	return nil
}
