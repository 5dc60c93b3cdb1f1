package filter

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const proj = "/home/me/proj"

func TestFilters(t *testing.T) {
	only := func(fs ...Filter) Set {
		var s Set
		for _, f := range fs {
			s = s.With(f)
		}
		return s
	}
	tests := []struct {
		name       string
		filters    Set
		exclusions []string
		backup     []string
		manual     []string
		regex      string
		want       map[string]string // path (relative to proj) -> state; unlisted paths are not checked
	}{
		{
			name:    "defaults",
			filters: DefaultFilters,
			want: map[string]string{
				"": "yes", "main.c": "yes", "main.o": "no:backup", "notes.txt~": "no:backup",
				"#notes.txt#": "no:backup", ".#notes.txt": "no:backup", "photo.jpg": "yes", "empty.py": "yes",
				"build": "yes", "build/out.bin": "yes", "buildx": "yes", "buildx/keep.txt": "yes",
				"emptydir": "yes", "fifo": "no:special",
			},
		},
		{
			name:    "no filters",
			filters: 0,
			want: map[string]string{
				"main.o": "yes", "notes.txt~": "yes", "#notes.txt#": "yes", ".#notes.txt": "yes", "fifo": "no:special",
			},
		},
		{
			name:    "backup pattern from the settings",
			filters: only(FilterBackup),
			backup:  []string{`\.jpg$`},
			want:    map[string]string{"photo.jpg": "no:backup", "main.c": "yes", "main.o": "no:backup"},
		},
		{
			name:       "excluded folder: components, not string prefix",
			filters:    only(FilterExcluded),
			exclusions: []string{proj + "/build"},
			want: map[string]string{
				"build": "no:excluded", "build/out.bin": "no:excluded", "buildx": "yes", "buildx/keep.txt": "yes",
				"main.o": "yes",
			},
		},
		{
			name:       "excluded off ignores the settings",
			filters:    only(FilterBackup),
			exclusions: []string{proj + "/build"},
			want:       map[string]string{"build": "yes", "build/out.bin": "yes"},
		},
		{
			name:       "excluded by expression",
			filters:    only(FilterExcluded),
			exclusions: []string{`re:\.(o|c)$`},
			want:       map[string]string{"main.o": "no:excluded", "main.c": "no:excluded", "photo.jpg": "yes"},
		},
		{
			name:       "excluded empty dir",
			filters:    only(FilterExcluded),
			exclusions: []string{proj + "/emptydir"},
			want:       map[string]string{"emptydir": "no:excluded"},
		},
		{
			name:    "manual on",
			filters: only(FilterManual),
			manual:  []string{proj + "/photo.jpg", "/elsewhere/x"},
			want:    map[string]string{"photo.jpg": "no:manual", "main.c": "yes"},
		},
		{
			name:    "manual is exact, not a prefix",
			filters: only(FilterManual),
			manual:  []string{proj + "/build"},
			// The folder keeps its reason but is selected for its contents.
			want: map[string]string{"build": "yes:manual", "build/out.bin": "yes"},
		},
		{
			name:    "manual off",
			filters: only(FilterBackup),
			manual:  []string{proj + "/photo.jpg"},
			want:    map[string]string{"photo.jpg": "yes"},
		},
		{
			name:    "regex on the full path",
			filters: only(FilterRegex),
			regex:   `/buildx?/`,
			want: map[string]string{
				"build/out.bin": "no:regex", "buildx/keep.txt": "no:regex",
				"build": "no:regex", "buildx": "no:regex", "main.c": "yes",
			},
		},
		{
			name:    "regex leaves a folder with nothing selected",
			filters: only(FilterRegex),
			regex:   `keep`,
			want:    map[string]string{"buildx/keep.txt": "no:regex", "buildx": "no:nothing-selected", "build": "yes"},
		},
		{
			name:    "regex tests folders with a trailing slash",
			filters: only(FilterRegex),
			regex:   `emptydir/$`,
			want:    map[string]string{"emptydir": "no:regex"},
		},
		{
			name:    "regex given but the filter off",
			filters: only(FilterBackup),
			regex:   `main`,
			want:    map[string]string{"main.c": "yes"},
		},
		{
			name:       "every reason that matches, in order",
			filters:    DefaultFilters,
			exclusions: []string{proj + "/build", `re:notes`},
			manual:     []string{proj + "/main.o", proj + "/build/out.bin"},
			regex:      `\.(o|bin)$`,
			want: map[string]string{
				"main.o":        "no:backup,manual,regex",
				"build/out.bin": "no:excluded,manual,regex",
				"notes.txt~":    "no:backup,excluded",
				"build":         "no:excluded",
				"main.c":        "yes",
				"":              "yes",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := newPlanner(t, Config{Exclusions: tt.exclusions, BackupPatterns: tt.backup})
			p := mustPlan(t, pl, Request{Roots: []string{proj}, Entries: sampleTree(), Filters: tt.filters,
				Regex: tt.regex, ManualExclusions: tt.manual})
			got := states(p)
			for rel, want := range tt.want {
				path := proj
				if rel != "" {
					path += "/" + rel
				}
				if got[path] != want {
					t.Errorf("%s: %q, want %q", path, got[path], want)
				}
			}
		})
	}
}

func TestBackupOnByDefault(t *testing.T) {
	pl := newPlanner(t, Config{})
	var filters Set
	if err := filters.UnmarshalText([]byte("default")); err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, pl, Request{Entries: sampleTree(), Filters: filters})
	if !p.Filters().Has(FilterBackup) {
		t.Fatal("backup is off by default")
	}
	if got := states(p)[proj+"/main.o"]; got != "no:backup" {
		t.Fatalf("main.o: %q", got)
	}
}

func TestSummary(t *testing.T) {
	pl := newPlanner(t, Config{})
	p := mustPlan(t, pl, Request{Entries: sampleTree(), Filters: DefaultFilters})
	s := p.Summary()
	want := Summary{
		Selected: Count{Files: 5, Bytes: 1200 + 250000 + 8000 + 40},
		LeftOut:  Count{Files: 5, Bytes: 5000 + 300 + 310 + 7},
		ByReason: []ReasonCount{
			{Reason: "backup", Count: Count{Files: 4, Bytes: 5617}},
			{Reason: "excluded"},
			{Reason: "manual"},
			{Reason: "special", Count: Count{Files: 1}},
		},
		DirsSelected: 4,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("summary\n got %+v\nwant %+v", s, want)
	}
	if err := p.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestManualExclusionRoundTrip(t *testing.T) {
	pl := newPlanner(t, Config{})
	photo := proj + "/photo.jpg"
	req := Request{Roots: []string{proj}, Entries: sampleTree(), Filters: DefaultFilters}

	p1 := mustPlan(t, pl, req)
	if err := p1.Select(photo, false); err != nil {
		t.Fatal(err)
	}
	if got := states(p1)[photo]; got != "no:manual" {
		t.Fatalf("after deselecting: %q", got)
	}
	mc := p1.ManualChanges()
	if !reflect.DeepEqual(mc, ManualChanges{Excluded: []string{photo}, Included: []string{}}) {
		t.Fatalf("changes to persist: %+v", mc)
	}

	// The lead persists mc.Excluded; the next plan is handed them back.
	req.ManualExclusions = mc.Excluded
	p2 := mustPlan(t, pl, req)
	if got := states(p2)[photo]; got != "no:manual" {
		t.Fatalf("next plan: %q", got)
	}
	if mc := p2.ManualChanges(); len(mc.Excluded)+len(mc.Included) != 0 {
		t.Fatalf("nothing changed, yet %+v", mc)
	}
	// Deselecting again changes nothing to persist.
	if err := p2.Select(photo, false); err != nil {
		t.Fatal(err)
	}
	if mc := p2.ManualChanges(); len(mc.Excluded)+len(mc.Included) != 0 {
		t.Fatalf("re-deselecting: %+v", mc)
	}
	// Selecting it lifts the exclusion.
	if err := p2.Select(photo, true); err != nil {
		t.Fatal(err)
	}
	if got := states(p2)[photo]; got != "yes" {
		t.Fatalf("after selecting: %q", got)
	}
	if mc := p2.ManualChanges(); !reflect.DeepEqual(mc.Included, []string{photo}) || len(mc.Excluded) != 0 {
		t.Fatalf("lifting: %+v", mc)
	}
	req.ManualExclusions = nil
	if got := states(mustPlan(t, pl, req))[photo]; got != "yes" {
		t.Fatalf("after lifting: %q", got)
	}
}

func TestSelect(t *testing.T) {
	pl := newPlanner(t, Config{Exclusions: []string{proj + "/build"}})
	p := mustPlan(t, pl, Request{Entries: sampleTree(), Filters: DefaultFilters})

	// A person keeps a backup file anyway.
	if err := p.Select(proj+"/main.o", true); err != nil {
		t.Fatal(err)
	}
	// ... and a file of an excluded folder, which brings the folder along.
	if err := p.Select(proj+"/build/out.bin", true); err != nil {
		t.Fatal(err)
	}
	// Deselecting a folder deselects what is beneath it.
	if err := p.Select(proj+"/buildx", false); err != nil {
		t.Fatal(err)
	}
	got := states(p)
	for path, want := range map[string]string{
		"main.o":          "yes:backup!",
		"build/out.bin":   "yes:excluded!",
		"build":           "yes:excluded",
		"buildx":          "no:manual",
		"buildx/keep.txt": "no:manual",
	} {
		if got[proj+"/"+path] != want {
			t.Errorf("%s: %q, want %q", path, got[proj+"/"+path], want)
		}
	}
	mc := p.ManualChanges()
	if want := []string{proj + "/buildx", proj + "/buildx/keep.txt"}; !reflect.DeepEqual(mc.Excluded, want) {
		t.Errorf("excluded %q, want %q", mc.Excluded, want)
	}
	if s := p.Summary(); s.Selected.Files != 5 || s.DirsLeftOut != 1 {
		t.Errorf("summary after selecting: %+v", s)
	}
	// Back again: the folder and its file are selected, nothing to persist.
	if err := p.Select(proj+"/buildx", true); err != nil {
		t.Fatal(err)
	}
	if got := states(p)[proj+"/buildx/keep.txt"]; got != "yes" {
		t.Errorf("keep.txt after reselecting: %q", got)
	}
	if mc := p.ManualChanges(); len(mc.Excluded) != 0 {
		t.Errorf("still to persist: %q", mc.Excluded)
	}

	if err := p.Select("/nowhere", false); err == nil || !strings.Contains(err.Error(), `"/nowhere"`) {
		t.Errorf("unknown path: %v", err)
	}
	if err := p.Select(proj+"/fifo", true); err == nil {
		t.Error("a FIFO was selected")
	}
	if err := p.Select(proj+"/fifo", false); err != nil {
		t.Errorf("deselecting a FIFO: %v", err)
	}
}

func TestSelectRootDir(t *testing.T) {
	pl := newPlanner(t, Config{})
	p := mustPlan(t, pl, Request{Entries: []Entry{dir("/"), file("/a", 1), dir("/d"), file("/d/b", 2)}, Filters: DefaultFilters})
	if err := p.Select("/", false); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); !errors.Is(err, ErrEmptySelection) {
		t.Fatalf("everything deselected: Check = %v", err)
	}
	if got := len(p.ManualChanges().Excluded); got != 4 {
		t.Fatalf("%d manual exclusions, want 4", got)
	}
}

func TestFrozen(t *testing.T) {
	tree := sampleTree()
	byPath := map[string]Entry{}
	for _, e := range tree {
		byPath[e.Path] = e
	}
	idx := &fakeIndex{}
	newest := Location{Vault: "photos", Archive: "holiday-2024", Path: "pics/photo.jpg", Created: testTime}
	idx.freeze(byPath[proj+"/photo.jpg"], newest.Vault, newest.Archive, newest.Path, newest.Created)
	idx.freeze(byPath[proj+"/photo.jpg"], "old", "2019", "x/photo.jpg", testTime.AddDate(-5, 0, 0))
	idx.freeze(byPath[proj+"/empty.py"], "code", "a", "empty.py", testTime)
	idx.freeze(byPath[proj+"/main.o"], "code", "a", "main.o", testTime)
	h := &fakeHasher{}
	pl := newPlanner(t, Config{Hasher: h, Frozen: idx})

	var progress [][2]int
	p := mustPlan(t, pl, Request{Entries: tree, Filters: DefaultFilters.With(FilterFrozen),
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})

	photo, _ := p.Item(proj + "/photo.jpg")
	if photo.Selected || photo.Reasons.String() != "frozen" {
		t.Fatalf("photo: selected=%v reasons=%v", photo.Selected, photo.Reasons)
	}
	if len(photo.FrozenCopies) != 2 || photo.FrozenCopies[0] != newest {
		t.Fatalf("photo copies: %+v", photo.FrozenCopies)
	}
	if photo.SHA256 != fakeSum(byPath[proj+"/photo.jpg"]) {
		t.Fatalf("photo sum %q", photo.SHA256)
	}
	got := states(p)
	for path, want := range map[string]string{
		"main.c":   "yes",
		"empty.py": "yes",       // empty files are never left out as frozen
		"main.o":   "no:backup", // left out already, so not hashed
	} {
		if got[proj+"/"+path] != want {
			t.Errorf("%s: %q, want %q", path, got[proj+"/"+path], want)
		}
	}
	// main.c, photo.jpg, build/out.bin, buildx/keep.txt: not main.o
	// (backup), not empty.py (empty), not the symlink.
	if n := h.calls.Load(); n != 4 {
		t.Errorf("hasher called %d times, want 4", n)
	}
	if idx.calls != 1 || idx.keys != 4 {
		t.Errorf("index: %d calls for %d keys", idx.calls, idx.keys)
	}
	s := p.Summary()
	if s.Hashing != (HashStats{Read: 4, ReadBytes: 1200 + 250000 + 8000 + 40}) {
		t.Errorf("hashing %+v", s.Hashing)
	}
	if s.ByReason[0] != (ReasonCount{Reason: "frozen", Count: Count{Files: 1, Bytes: 250000}}) {
		t.Errorf("by reason %+v", s.ByReason)
	}
	if len(progress) == 0 || progress[len(progress)-1] != [2]int{4, 4} {
		t.Errorf("progress %v", progress)
	}
	// A person may keep the copy anyway.
	if err := p.Select(proj+"/photo.jpg", true); err != nil {
		t.Fatal(err)
	}
	if got := states(p)[proj+"/photo.jpg"]; got != "yes:frozen!" {
		t.Errorf("photo kept anyway: %q", got)
	}
}

func TestFrozenOffReadsNothing(t *testing.T) {
	h := &fakeHasher{}
	idx := &fakeIndex{}
	pl := newPlanner(t, Config{Hasher: h, Frozen: idx})
	for _, filters := range []Set{DefaultFilters, 0, DefaultFilters.With(FilterDrop)} {
		mustPlan(t, pl, Request{Entries: sampleTree(), Filters: filters})
	}
	if h.calls.Load() != 0 || idx.calls != 0 {
		t.Fatalf("frozen off: hasher called %d times, index %d times", h.calls.Load(), idx.calls)
	}
}

func TestFrozenCached(t *testing.T) {
	h := &fakeHasher{cached: true}
	pl := newPlanner(t, Config{Hasher: h, Frozen: &fakeIndex{}})
	p := mustPlan(t, pl, Request{Entries: sampleTree(), Filters: Set(0).With(FilterFrozen)})
	if got := p.Summary().Hashing; got != (HashStats{Cached: 7}) {
		t.Fatalf("hashing %+v", got)
	}
}

func TestHashErrorIsAProblem(t *testing.T) {
	main := proj + "/main.c"
	h := &fakeHasher{errs: map[string]error{main: errGone}}
	pl := newPlanner(t, Config{Hasher: h, Frozen: &fakeIndex{}})
	walk := Problem{Path: proj + "/secret", Op: "walk", Err: errors.New("permission denied")}
	p := mustPlan(t, pl, Request{Entries: sampleTree(), Filters: DefaultFilters.With(FilterFrozen), Problems: []Problem{walk}})
	probs := p.Problems()
	if len(probs) != 2 || probs[0].Path != walk.Path || probs[1].Path != main || probs[1].Op != "hash" || !errors.Is(probs[1], errGone) {
		t.Fatalf("problems %+v", probs)
	}
	if !strings.Contains(probs[1].Error(), main) {
		t.Errorf("problem %q does not name the file", probs[1].Error())
	}
	if it, _ := p.Item(main); !it.Selected || it.SHA256 != "" {
		t.Errorf("main.c after a hash error: %+v", it)
	}
	if got := p.Summary().Hashing.Failed; got != 1 {
		t.Errorf("failed %d", got)
	}
}

func TestPlanErrors(t *testing.T) {
	idxErr := errors.New("catalog locked")
	tests := []struct {
		name string
		cfg  Config
		req  Request
		want string
	}{
		{"frozen without hasher", Config{}, Request{Filters: Set(0).With(FilterFrozen)}, "needs a hasher"},
		{"index fails", Config{Hasher: &fakeHasher{}, Frozen: &fakeIndex{err: idxErr}},
			Request{Entries: sampleTree(), Filters: Set(0).With(FilterFrozen)}, "catalog locked"},
		{"relative path", Config{}, Request{Entries: []Entry{file("rel/x", 1)}}, `"rel/x"`},
		{"bad regex", Config{}, Request{Filters: DefaultFilters, Regex: `a(b`}, `regex "a(b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPlanner(t, tt.cfg).Plan(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	_, err := newPlanner(t, Config{}).Plan(context.Background(), Request{Filters: DefaultFilters, Regex: `[`})
	var ee *ExpressionError
	if !errors.As(err, &ee) || ee.Kind != "regex" || ee.Expr != "[" {
		t.Fatalf("bad regex error %#v", err)
	}
	for _, cfg := range []Config{{Exclusions: []string{"tmp"}}, {BackupPatterns: []string{"*.o"}}} {
		if _, err := NewPlanner(cfg); !errors.As(err, &ee) {
			t.Errorf("NewPlanner(%+v) = %v", cfg, err)
		}
	}
}

func TestPlanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pl := newPlanner(t, Config{Hasher: &fakeHasher{}, Frozen: &fakeIndex{}})
	_, err := pl.Plan(ctx, Request{Entries: sampleTree(), Filters: Set(0).With(FilterFrozen)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled plan: %v", err)
	}
}

func TestDrop(t *testing.T) {
	pl := newPlanner(t, Config{Exclusions: []string{proj + "/buildx"}})
	req := Request{Entries: sampleTree(), Filters: DefaultFilters.With(FilterDrop)}
	p := mustPlan(t, pl, req)
	var paths []string
	for _, it := range p.Items() {
		paths = append(paths, strings.TrimPrefix(it.Path, proj))
	}
	want := []string{"", "/main.c", "/photo.jpg", "/empty.py", "/build", "/build/out.bin", "/emptydir"}
	if !slices.Equal(paths, want) {
		t.Fatalf("kept %q, want %q", paths, want)
	}
	s := p.Summary()
	if s.Dropped != (Count{Files: 6, Bytes: 5617 + 40}) || s.LeftOut != s.Dropped || s.DirsLeftOut != 1 {
		t.Fatalf("summary after drop %+v", s)
	}
	if s.ByReason[0] != (ReasonCount{Reason: "backup", Count: Count{Files: 4, Bytes: 5617}}) ||
		s.ByReason[1] != (ReasonCount{Reason: "excluded", Count: Count{Files: 1, Bytes: 40}}) {
		t.Fatalf("by reason %+v", s.ByReason)
	}
	if err := p.Select(proj+"/main.o", true); err == nil {
		t.Fatal("a dropped file was selected")
	}
	if !p.Filters().Has(FilterDrop) {
		t.Fatal("drop not reported")
	}

	// Dropping after a person's choice keeps the choice to persist.
	req.Filters = DefaultFilters
	p = mustPlan(t, pl, req)
	if err := p.Select(proj+"/photo.jpg", false); err != nil {
		t.Fatal(err)
	}
	p.Drop()
	if _, ok := p.Item(proj + "/photo.jpg"); ok {
		t.Fatal("photo not dropped")
	}
	if got := p.ManualChanges().Excluded; !slices.Equal(got, []string{proj + "/photo.jpg"}) {
		t.Fatalf("after drop, to persist: %q", got)
	}
	if !p.Filters().Has(FilterDrop) {
		t.Fatal("drop not reported")
	}
	// The folders' state survives the drop: main.c keeps the root selected.
	if err := p.Select(proj+"/main.c", false); err != nil {
		t.Fatal(err)
	}
	if got := states(p)[proj]; got != "yes" {
		t.Fatalf("root after deselecting main.c: %q", got)
	}
}

func TestEmptySelection(t *testing.T) {
	pl := newPlanner(t, Config{})
	tests := []struct {
		name    string
		entries []Entry
		regex   string
		empty   bool
	}{
		{"no entries", nil, "", true},
		{"only dirs", []Entry{dir("/a"), dir("/a/b")}, "", true},
		{"all left out", []Entry{dir("/a"), file("/a/x.o", 1), file("/a/y~", 1)}, "", true},
		{"all matched by the regex", []Entry{file("/a/x", 1)}, "x", true},
		{"a file", []Entry{dir("/a"), file("/a/x", 1)}, "", false},
		{"an empty file", []Entry{file("/a/x", 0)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, pl, Request{Entries: tt.entries, Filters: DefaultFilters, Regex: tt.regex})
			err := p.Check()
			if tt.empty != errors.Is(err, ErrEmptySelection) {
				t.Fatalf("Check = %v", err)
			}
			if !tt.empty && err != nil {
				t.Fatalf("Check = %v", err)
			}
		})
	}
}

func TestSelectedEntries(t *testing.T) {
	p := mustPlan(t, newPlanner(t, Config{}), Request{Entries: sampleTree(), Filters: DefaultFilters})
	var got []string
	for _, e := range p.Selected() {
		got = append(got, strings.TrimPrefix(e.Path, proj))
	}
	want := []string{"", "/main.c", "/photo.jpg", "/empty.py", "/build", "/build/out.bin", "/buildx", "/buildx/keep.txt", "/emptydir"}
	if !slices.Equal(got, want) {
		t.Fatalf("selected %q\nwant %q", got, want)
	}
}
