package filter

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// ErrEmptySelection is returned (wrapped) by Plan.Check when no file is
// selected: an archive would hold nothing.
var ErrEmptySelection = errors.New("empty selection")

// Item is one entry of a plan.
type Item struct {
	Entry
	// Selected says the entry goes into the archive.
	Selected bool
	// Override says a person selected the entry although Reasons would leave
	// it out. (A directory is selected whenever something beneath it is, and
	// keeps its own reasons then without Override.)
	Override bool
	// Reasons are every reason that applies, in their stable order.
	Reasons Reasons
	// ExcludedBy is the settings entry behind ReasonExcluded.
	ExcludedBy string
	// SHA256 is set when the frozen filter hashed the file.
	SHA256 string
	// FrozenCopies are where the file is already kept, newest archive first.
	FrozenCopies []Location
}

// Count is a number of files and their bytes.
type Count struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

func (c *Count) add(size int64) { c.Files++; c.Bytes += size }

// ReasonCount is how many files one reason leaves out.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count
}

// Summary sums a plan up. "Files" are every entry but directories (regular
// files, symlinks and special files).
type Summary struct {
	Selected Count `json:"selected"`
	// LeftOut includes the dropped files.
	LeftOut Count `json:"left_out"`
	// Dropped are the files removed from the plan by the drop step.
	Dropped Count `json:"dropped"`
	// ByReason lists left-out files per reason, in the stable reason order,
	// for every filter that is on and every reason that occurs. A file left
	// out for two reasons counts under both, so the rows can add up to more
	// than LeftOut.
	ByReason     []ReasonCount `json:"by_reason"`
	DirsSelected int64         `json:"dirs_selected"`
	DirsLeftOut  int64         `json:"dirs_left_out"`
	Hashing      HashStats     `json:"hashing"`
}

// ManualChanges are the person's decisions in this plan that the catalog
// must remember: Excluded paths to add to the manual exclusions, Included
// paths to remove from them. Both are sorted.
type ManualChanges struct {
	Excluded []string
	Included []string
}

// Plan is a selection plan. It is not safe for concurrent use.
//
// It keeps its entries compactly (see EntryList): Items, Item and
// Selected build Entry values on demand; All and SelectedEntries do so one
// at a time, which is what a plan of a million files should use.
type Plan struct {
	roots    []string
	filters  Set
	regex    string
	list     *EntryList
	problems []Problem
	hashing  HashStats

	dirParent  []int32 // for each folder of list.dirs, the folder holding it (-1: none)
	sums       [][sha256.Size]byte
	excludedBy map[int32]string
	copies     copyTable

	manualGiven  map[string]struct{}
	manualAdded  map[string]struct{}
	manualLifted map[string]struct{}

	dropped         Count
	droppedByReason [numReasons]Count
	droppedDirs     int64

	dirty   bool
	summary *Summary
}

func (p *Plan) row(i int) *row { return p.list.at(i) }

// dirRow is the row of folder d, -1 when that row was dropped.
func (p *Plan) dirRow(d int32) int {
	i := int(p.list.dirs[d].row)
	if p.row(i).has(flagDropped) {
		return -1
	}
	return i
}

func (p *Plan) indexDirs() {
	dirs := p.list.dirs
	p.dirParent = make([]int32, len(dirs))
	for d := range dirs {
		p.dirParent[d] = p.list.parentDir(int(dirs[d].row))
	}
}

// resolve settles directories from their contents.
func (p *Plan) resolve() {
	const nothing = Reasons(1 << ReasonNothingSelected)
	n := p.list.n
	for i := range n {
		p.row(i).set(flagDescSelected, false)
	}
	lastMarked := int32(-2)
	for i := range n {
		r := p.row(i)
		if r.has(flagDropped) {
			continue
		}
		leaf := r.has(flagSelected)
		if r.typ == TypeDir {
			own := r.reasons &^ nothing
			leaf = !r.has(flagHasChildren) && (own == 0 || r.has(flagOverride))
		}
		if !leaf {
			continue
		}
		// Mark the folders above; stop at one already marked, so the whole
		// pass costs one visit per directory.
		d := p.list.parentDir(i)
		if d == lastMarked {
			continue
		}
		lastMarked = d
		for ; d >= 0; d = p.dirParent[d] {
			j := p.dirRow(d)
			if j < 0 {
				continue
			}
			if p.row(j).has(flagDescSelected) {
				break
			}
			p.row(j).set(flagDescSelected, true)
		}
	}
	for i := range n {
		r := p.row(i)
		if r.typ != TypeDir || r.has(flagDropped) {
			continue
		}
		r.reasons &^= nothing
		sel := r.has(flagDescSelected) || (!r.has(flagHasChildren) && (r.reasons == 0 || r.has(flagOverride)))
		r.set(flagSelected, sel)
		if !sel && r.reasons == 0 {
			r.reasons |= nothing
		}
	}
	p.dirty = false
	p.summary = nil
}

func (p *Plan) settle() {
	if p.dirty {
		p.resolve()
	}
}

// item builds the Item of row i.
func (p *Plan) item(i int) Item {
	r := p.row(i)
	it := Item{Entry: p.list.entry(i), Selected: r.has(flagSelected), Override: r.has(flagOverride),
		Reasons: r.reasons, ExcludedBy: p.excludedBy[int32(i)], FrozenCopies: p.copies.of(int32(i))}
	if r.has(flagSum) {
		it.SHA256 = hex.EncodeToString(p.sums[i][:])
	}
	return it
}

// Roots are the picked files and folders.
func (p *Plan) Roots() []string { return p.roots }

// Filters are the filters in effect (the regex filter only with an
// expression; drop once the plan was dropped).
func (p *Plan) Filters() Set { return p.filters }

// Regex is the selection's expression, "" when the regex filter is off.
func (p *Plan) Regex() string { return p.regex }

// Items are the plan's entries in archive order, built anew on each call
// (a large plan is better read with All).
func (p *Plan) Items() []Item {
	var out []Item
	for it := range p.All() {
		out = append(out, it)
	}
	return out
}

// All yields the plan's entries in archive order, one at a time.
func (p *Plan) All() iter.Seq[Item] {
	return func(yield func(Item) bool) {
		p.settle()
		for i := range p.list.n {
			if p.row(i).has(flagDropped) {
				continue
			}
			if !yield(p.item(i)) {
				return
			}
		}
	}
}

// Item finds the entry for a path.
func (p *Plan) Item(path string) (Item, bool) {
	p.settle()
	i, ok := p.lookup(path)
	if !ok {
		return Item{}, false
	}
	return p.item(i), true
}

// Selected are the entries that go into the archive, in archive order.
func (p *Plan) Selected() []Entry {
	out := []Entry{}
	for e := range p.SelectedEntries() {
		out = append(out, e)
	}
	return out
}

// SelectedEntries yields the entries that go into the archive, in archive
// order, one at a time. The plan must not change while it runs.
func (p *Plan) SelectedEntries() iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		p.settle()
		for i := range p.list.n {
			if r := p.row(i); r.has(flagSelected) && !r.has(flagDropped) {
				if !yield(p.list.entry(i)) {
					return
				}
			}
		}
	}
}

// Problems are the walk's problems followed by the plan's own (files that
// could not be hashed), in entry order.
func (p *Plan) Problems() []Problem { return p.problems }

// lookup finds the row of a path that was not dropped. Folders are found
// in the index; other entries by one pass over the rows, comparing base
// names first (Select is a person's act, a few per plan).
func (p *Plan) lookup(path string) (int, bool) {
	l := p.list
	if d, ok := l.dirIndex[path]; ok {
		if i := p.dirRow(d); i >= 0 && l.path(i) == path {
			return i, true
		}
	}
	d, inDir := l.dirIndex[parent(path)]
	b := base(path)
	for i := range l.n {
		r := l.at(i)
		if r.has(flagDropped) {
			continue
		}
		if r.dir >= 0 {
			if inDir && r.dir == d && l.base(i) == b {
				return i, true
			}
			continue
		}
		if l.loose[-1-r.dir].path == path {
			return i, true
		}
	}
	return 0, false
}

// Select is a person ticking (selected) or unticking an entry. For a
// directory it applies to the directory and everything beneath it.
// Deselecting records a manual exclusion for each path touched (see
// ManualChanges); selecting lifts one where there was one, and selects the
// entry whatever the filters said (Override). Special files cannot be
// selected.
func (p *Plan) Select(path string, selected bool) error {
	i, ok := p.lookup(path)
	if !ok {
		return fmt.Errorf("%q is not in this selection (dropped, or never walked)", path)
	}
	switch p.row(i).typ {
	case TypeOther:
		if selected {
			return fmt.Errorf("%q is a device, socket or FIFO and cannot be archived", path)
		}
		return nil
	case TypeDir:
		prefix := path + "/"
		if path == "/" {
			prefix = "/"
		}
		l := p.list
		under := make([]bool, len(l.dirs))
		for d := range l.dirs {
			dp := l.dirs[d].path
			under[d] = dp == path || strings.HasPrefix(dp, prefix)
		}
		for j := range l.n {
			r := l.at(j)
			if r.has(flagDropped) {
				continue
			}
			if r.dir >= 0 && under[r.dir] || r.dir < 0 && strings.HasPrefix(l.loose[-1-r.dir].path, prefix) {
				p.mark(j, selected)
			}
		}
	}
	p.mark(i, selected)
	p.dirty = true
	p.summary = nil
	return nil
}

func (p *Plan) mark(i int, selected bool) {
	const manual = Reasons(1 << ReasonManual)
	const nothing = Reasons(1 << ReasonNothingSelected)
	r := p.row(i)
	if r.typ == TypeOther {
		return
	}
	path := p.list.path(i)
	_, given := p.manualGiven[path]
	if !selected {
		r.reasons |= manual
		r.set(flagOverride, false)
		r.set(flagSelected, false)
		if given {
			delete(p.manualLifted, path)
		} else {
			if p.manualAdded == nil {
				p.manualAdded = map[string]struct{}{}
			}
			p.manualAdded[path] = struct{}{}
		}
		return
	}
	r.reasons &^= manual | nothing
	r.set(flagOverride, r.reasons != 0)
	r.set(flagSelected, true)
	delete(p.manualAdded, path)
	if given {
		if p.manualLifted == nil {
			p.manualLifted = map[string]struct{}{}
		}
		p.manualLifted[path] = struct{}{}
	}
}

// ManualChanges are the manual exclusions the catalog must add and remove
// after this plan: paths a person deselected that were not excluded before,
// and previously excluded paths a person selected again.
func (p *Plan) ManualChanges() ManualChanges {
	keys := func(m map[string]struct{}) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return ManualChanges{Excluded: keys(p.manualAdded), Included: keys(p.manualLifted)}
}

// Drop removes every unselected entry from the plan (the manual's "remove
// from this selection all files that are currently unselected"). The summary
// keeps counting them, as left out and as dropped. Manual changes made
// before the drop are kept.
func (p *Plan) Drop() {
	p.settle()
	for i := range p.list.n {
		r := p.row(i)
		if r.has(flagSelected) || r.has(flagDropped) {
			continue
		}
		r.flags |= flagDropped
		if r.typ == TypeDir {
			p.droppedDirs++
			continue
		}
		p.dropped.add(r.size)
		for k := range numReasons {
			if r.reasons.Has(k) {
				p.droppedByReason[k].add(r.size)
			}
		}
	}
	p.filters = p.filters.With(FilterDrop)
	p.summary = nil
}

// Summary sums the plan up.
func (p *Plan) Summary() Summary {
	p.settle()
	if p.summary != nil {
		return *p.summary
	}
	s := Summary{Hashing: p.hashing, Dropped: p.dropped, LeftOut: p.dropped, DirsLeftOut: p.droppedDirs}
	byReason := p.droppedByReason
	for i := range p.list.n {
		r := p.row(i)
		if r.has(flagDropped) {
			continue
		}
		if r.typ == TypeDir {
			if r.has(flagSelected) {
				s.DirsSelected++
			} else {
				s.DirsLeftOut++
			}
			continue
		}
		if r.has(flagSelected) {
			s.Selected.add(r.size)
			continue
		}
		s.LeftOut.add(r.size)
		for k := range numReasons {
			if r.reasons.Has(k) {
				byReason[k].add(r.size)
			}
		}
	}
	s.ByReason = make([]ReasonCount, 0, numReasons)
	for k := range numReasons {
		if byReason[k].Files > 0 || p.reasonOn(k) {
			s.ByReason = append(s.ByReason, ReasonCount{Reason: reasonNames[k], Count: byReason[k]})
		}
	}
	p.summary = &s
	return s
}

// reasonOn says a filter giving r is on, so its row shows even when zero.
func (p *Plan) reasonOn(r Reason) bool {
	switch r {
	case ReasonFrozen:
		return p.filters.Has(FilterFrozen)
	case ReasonBackup:
		return p.filters.Has(FilterBackup)
	case ReasonExcluded:
		return p.filters.Has(FilterExcluded)
	case ReasonManual:
		return p.filters.Has(FilterManual)
	case ReasonRegex:
		return p.filters.Has(FilterRegex)
	}
	return false
}

// Check returns an error wrapping ErrEmptySelection when no file is
// selected; archive create refuses such a selection.
func (p *Plan) Check() error {
	s := p.Summary()
	switch {
	case s.Selected.Files > 0:
		return nil
	case s.LeftOut.Files == 0:
		return fmt.Errorf("%w: the chosen files and folders hold no files", ErrEmptySelection)
	}
	return fmt.Errorf("%w: all %d files are left out (see the reasons in the plan)", ErrEmptySelection, s.LeftOut.Files)
}
