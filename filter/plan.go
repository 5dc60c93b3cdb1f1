package filter

import (
	"errors"
	"fmt"
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

	hasChildren  bool // a directory that was not empty in the source
	descSelected bool // scratch for resolve
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
type Plan struct {
	roots    []string
	filters  Set
	regex    string
	items    []Item
	problems []Problem
	hashing  HashStats

	dirIndex  map[string]int32 // directory path -> item
	pathIndex map[string]int32 // every path -> item; built on the first Select

	manualGiven  map[string]struct{}
	manualAdded  map[string]struct{}
	manualLifted map[string]struct{}

	dropped         Count
	droppedByReason [numReasons]Count
	droppedDirs     int64

	dirty   bool
	summary *Summary
}

func (p *Plan) indexDirs() {
	p.dirIndex = make(map[string]int32)
	for i := range p.items {
		if p.items[i].Type == TypeDir {
			p.dirIndex[p.items[i].Path] = int32(i)
		}
	}
}

// resolve settles directories from their contents.
func (p *Plan) resolve() {
	const nothing = Reasons(1 << ReasonNothingSelected)
	for i := range p.items {
		p.items[i].descSelected = false
	}
	lastMarked := ""
	for i := range p.items {
		it := &p.items[i]
		leaf := it.Selected
		if it.Type == TypeDir {
			own := it.Reasons &^ nothing
			leaf = !it.hasChildren && (own == 0 || it.Override)
		}
		if !leaf {
			continue
		}
		// Mark the folders above; stop at one already marked, so the whole
		// pass costs one visit per directory.
		q := parent(it.Path)
		if q == lastMarked {
			continue
		}
		lastMarked = q
		for ; q != ""; q = parent(q) {
			j, ok := p.dirIndex[q]
			if !ok {
				continue
			}
			if p.items[j].descSelected {
				break
			}
			p.items[j].descSelected = true
		}
	}
	for i := range p.items {
		it := &p.items[i]
		if it.Type != TypeDir {
			continue
		}
		it.Reasons &^= nothing
		it.Selected = it.descSelected || (!it.hasChildren && (it.Reasons == 0 || it.Override))
		if !it.Selected && it.Reasons == 0 {
			it.Reasons |= nothing
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

// Roots are the picked files and folders.
func (p *Plan) Roots() []string { return p.roots }

// Filters are the filters in effect (the regex filter only with an
// expression; drop once the plan was dropped).
func (p *Plan) Filters() Set { return p.filters }

// Regex is the selection's expression, "" when the regex filter is off.
func (p *Plan) Regex() string { return p.regex }

// Items are the plan's entries in archive order. The slice belongs to the
// plan: read it, do not change it, and do not keep it across Select or Drop.
func (p *Plan) Items() []Item {
	p.settle()
	return p.items
}

// Item finds the entry for a path.
func (p *Plan) Item(path string) (Item, bool) {
	p.settle()
	i, ok := p.lookup(path)
	if !ok {
		return Item{}, false
	}
	return p.items[i], true
}

// Selected are the entries that go into the archive, in archive order.
func (p *Plan) Selected() []Entry {
	p.settle()
	out := make([]Entry, 0, len(p.items))
	for i := range p.items {
		if p.items[i].Selected {
			out = append(out, p.items[i].Entry)
		}
	}
	return out
}

// Problems are the walk's problems followed by the plan's own (files that
// could not be hashed), in entry order.
func (p *Plan) Problems() []Problem { return p.problems }

func (p *Plan) lookup(path string) (int32, bool) {
	if p.pathIndex == nil {
		p.pathIndex = make(map[string]int32, len(p.items))
		for i := range p.items {
			p.pathIndex[p.items[i].Path] = int32(i)
		}
	}
	i, ok := p.pathIndex[path]
	return i, ok
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
	it := &p.items[i]
	switch it.Type {
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
		for j := range p.items {
			if strings.HasPrefix(p.items[j].Path, prefix) {
				p.mark(&p.items[j], selected)
			}
		}
	}
	p.mark(it, selected)
	p.dirty = true
	p.summary = nil
	return nil
}

func (p *Plan) mark(it *Item, selected bool) {
	const manual = Reasons(1 << ReasonManual)
	const nothing = Reasons(1 << ReasonNothingSelected)
	if it.Type == TypeOther {
		return
	}
	_, given := p.manualGiven[it.Path]
	if !selected {
		it.Reasons |= manual
		it.Override = false
		it.Selected = false
		if given {
			delete(p.manualLifted, it.Path)
		} else {
			if p.manualAdded == nil {
				p.manualAdded = map[string]struct{}{}
			}
			p.manualAdded[it.Path] = struct{}{}
		}
		return
	}
	it.Reasons &^= manual | nothing
	it.Override = it.Reasons != 0
	it.Selected = true
	delete(p.manualAdded, it.Path)
	if given {
		if p.manualLifted == nil {
			p.manualLifted = map[string]struct{}{}
		}
		p.manualLifted[it.Path] = struct{}{}
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
	kept := p.items[:0]
	for _, it := range p.items {
		if it.Selected {
			kept = append(kept, it)
			continue
		}
		if it.Type == TypeDir {
			p.droppedDirs++
			continue
		}
		p.dropped.add(it.Size)
		for r := range numReasons {
			if it.Reasons.Has(r) {
				p.droppedByReason[r].add(it.Size)
			}
		}
	}
	clear(p.items[len(kept):])
	p.items = kept
	p.filters = p.filters.With(FilterDrop)
	p.indexDirs()
	p.pathIndex = nil
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
	for i := range p.items {
		it := &p.items[i]
		if it.Type == TypeDir {
			if it.Selected {
				s.DirsSelected++
			} else {
				s.DirsLeftOut++
			}
			continue
		}
		if it.Selected {
			s.Selected.add(it.Size)
			continue
		}
		s.LeftOut.add(it.Size)
		for r := range numReasons {
			if it.Reasons.Has(r) {
				byReason[r].add(it.Size)
			}
		}
	}
	s.ByReason = make([]ReasonCount, 0, numReasons)
	for r := range numReasons {
		if byReason[r].Files > 0 || p.reasonOn(r) {
			s.ByReason = append(s.ByReason, ReasonCount{Reason: reasonNames[r], Count: byReason[r]})
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
