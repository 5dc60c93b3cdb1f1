package filter

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// cacheHasher stands for the lead's warm hash cache: one map lookup a file.
type cacheHasher map[string]string

func (c cacheHasher) Hash(_ context.Context, e Entry) (string, bool, error) {
	return c[e.Path], true, nil
}

// synthetic builds n files in folders of 50, with backup names, excluded
// folders, manual exclusions and frozen copies sprinkled in.
func synthetic(n int) (entries []Entry, hasher cacheHasher, index MapIndex, manual []string) {
	hasher = cacheHasher{}
	index = MapIndex{}
	exts := []string{".jpg", ".txt", ".go", ".o", ".c", ".pdf", ".pyc", ".md", "~", ".bak"}
	var dirPath string
	for i := range n {
		if i%50 == 0 {
			dirPath = fmt.Sprintf("/home/someone/archive/projects/p%03d/folder%05d", i/5000, i/50)
			entries = append(entries, dir(dirPath))
		}
		e := file(fmt.Sprintf("%s/document-%06d%s", dirPath, i, exts[i%len(exts)]), int64(1000+i))
		entries = append(entries, e)
		hasher[e.Path] = fakeSum(e)
		if i%10 == 2 {
			index[FileKey{Name: base(e.Path), Size: e.Size, SHA256: fakeSum(e)}] = []Location{{Vault: "v", Archive: "a", Path: e.Name}}
		}
		if i%100 == 7 {
			manual = append(manual, e.Path)
		}
	}
	return entries, hasher, index, manual
}

var benchExclusions = []string{
	"/home/someone/archive/projects/p003",
	"/home/someone/archive/projects/p007/folder00712",
	"/home/someone/.cache",
	"/tmp",
	`re:/folder0\d\d99/`,
	`re:\.iso$`,
}

func benchmarkPlan(b *testing.B, filters Set, regex string) {
	entries, hasher, index, manual := synthetic(100_000)
	pl := newPlanner(b, Config{Hasher: hasher, Frozen: index, Exclusions: benchExclusions, BackupPatterns: []string{`\.tmp$`, `^Thumbs\.db$`}})
	req := Request{Roots: []string{"/home/someone/archive"}, Entries: entries, Filters: filters, Regex: regex, ManualExclusions: manual}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := pl.Plan(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if s := p.Summary(); s.Selected.Files == 0 || s.LeftOut.Files == 0 {
			b.Fatalf("implausible summary %+v", s)
		}
	}
}

// BenchmarkPlan100k: 100,000 files (and 2,000 folders), every filter on,
// frozen with a warm cache.
func BenchmarkPlan100k(b *testing.B) {
	benchmarkPlan(b, DefaultFilters.With(FilterFrozen), `/folder\d+5/`)
}

// BenchmarkPlan100kNoFrozen: the defaults, no hashing at all.
func BenchmarkPlan100kNoFrozen(b *testing.B) {
	benchmarkPlan(b, DefaultFilters, "")
}

func BenchmarkWriteJSON100k(b *testing.B) {
	entries, hasher, index, manual := synthetic(100_000)
	pl := newPlanner(b, Config{Hasher: hasher, Frozen: index, Exclusions: benchExclusions})
	p := mustPlan(b, pl, Request{Entries: entries, Filters: DefaultFilters.With(FilterFrozen), ManualExclusions: manual})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelect100k(b *testing.B) {
	entries, _, _, _ := synthetic(100_000)
	p := mustPlan(b, newPlanner(b, Config{}), Request{Entries: entries, Filters: DefaultFilters})
	path := entries[len(entries)/2].Path
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := p.Select(path, i%2 == 0); err != nil {
			b.Fatal(err)
		}
		p.Summary()
	}
}

// TestPlan100kFrozenFacts checks the synthetic data does what the benchmark
// claims, so its numbers mean something.
func TestPlan100kFrozenFacts(t *testing.T) {
	entries, hasher, index, manual := synthetic(100_000)
	pl := newPlanner(t, Config{Hasher: hasher, Frozen: index, Exclusions: benchExclusions})
	p := mustPlan(t, pl, Request{Entries: entries, Filters: DefaultFilters.With(FilterFrozen), ManualExclusions: manual})
	s := p.Summary()
	count := map[string]int64{}
	for _, rc := range s.ByReason {
		count[rc.Reason] = rc.Files
	}
	for _, r := range []string{"frozen", "backup", "excluded", "manual"} {
		if count[r] == 0 {
			t.Errorf("no file left out as %s: %+v", r, s.ByReason)
		}
	}
	if s.Hashing.Cached == 0 || s.Hashing.Read != 0 {
		t.Errorf("hashing %+v", s.Hashing)
	}
}
