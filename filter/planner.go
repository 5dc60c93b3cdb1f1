package filter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Config holds what a Planner needs for every plan: its dependencies and the
// filter settings. Build a new Planner when the settings change.
type Config struct {
	// Hasher and Frozen serve the frozen filter; they may be nil when no
	// plan uses it.
	Hasher Hasher
	Frozen FrozenIndex
	// Exclusions are the settings' exclusion entries (see ParseExclusion).
	Exclusions []string
	// BackupPatterns are RE2 expressions the settings add to the backup
	// filter, matched against base names like BuiltinBackupPatterns.
	BackupPatterns []string
	// HashWorkers is how many files are hashed at once (default 4).
	HashWorkers int
	// Logger defaults to a disabled logger.
	Logger zerolog.Logger
}

// Planner makes selection plans. Its expressions are compiled once, in
// NewPlanner; it is safe for concurrent use.
type Planner struct {
	hasher     Hasher
	frozen     FrozenIndex
	exclusions *Exclusions
	backup     backupMatcher
	workers    int
	log        zerolog.Logger
}

// NewPlanner compiles the settings. A bad exclusion or backup pattern is an
// *ExpressionError naming it.
func NewPlanner(cfg Config) (*Planner, error) {
	x, err := ParseExclusions(cfg.Exclusions)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	b, err := newBackupMatcher(cfg.BackupPatterns)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	w := cfg.HashWorkers
	if w <= 0 {
		w = 4
	}
	return &Planner{hasher: cfg.Hasher, frozen: cfg.Frozen, exclusions: x, backup: b, workers: w, log: cfg.Logger}, nil
}

// Request is one selection: what the walk found and which filters are on.
type Request struct {
	// Roots are the files and folders the person picked, for the record.
	Roots []string
	// Entries are the walk's result, in archive order.
	Entries []Entry
	// List, when set, is the walk's result instead of Entries, kept
	// compactly (see EntryList); the plan takes it over.
	List *EntryList
	// Filters are the filters on for this selection (DefaultFilters for the
	// manual's defaults).
	Filters Set
	// Regex is this selection's RE2 expression: with the regex filter on,
	// files whose full absolute path matches it are left out (directories
	// are tested with a trailing slash). Empty means the regex filter does
	// nothing and is not reported as on.
	Regex string
	// ManualExclusions are the paths persisted from earlier selections
	// (exact paths; see Plan.ManualChanges).
	ManualExclusions []string
	// Problems are the walk's own problems, passed through to the plan.
	Problems []Problem
	// Progress, when set, is called from Plan's goroutine while files are
	// hashed, at most a few times a second and once at the end.
	Progress func(done, total int)
}

// Problem is something that went wrong with one path. It does not stop the
// plan; it is shown with it.
type Problem struct {
	Path string
	Op   string // "walk", "hash", ...
	Err  error
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %s: %v", p.Path, p.Op, p.Err) }

func (p Problem) Unwrap() error { return p.Err }

// HashStats tells how the frozen filter got its hashes.
type HashStats struct {
	Cached    int   `json:"cached"`     // sums from the hash cache
	Read      int   `json:"read"`       // files read to hash them
	ReadBytes int64 `json:"read_bytes"` // bytes of those files
	Failed    int   `json:"failed"`     // files that could not be hashed (see problems)
}

// Plan makes the selection plan for one request.
func (pl *Planner) Plan(ctx context.Context, req Request) (*Plan, error) {
	filters := req.Filters & (1<<numFilters - 1)
	var rx *multiRE
	if filters.Has(FilterRegex) && req.Regex != "" {
		re, err := compileRE2("regex", req.Regex)
		if err != nil {
			return nil, err
		}
		m := newMultiRE([]*regexp.Regexp{re})
		rx = &m
	} else {
		filters = filters.Without(FilterRegex)
	}
	if filters.Has(FilterFrozen) && (pl.hasher == nil || pl.frozen == nil) {
		return nil, errors.New("selection plan: the frozen filter needs a hasher and a frozen index")
	}
	if rx == nil {
		req.Regex = ""
	}

	list := req.List
	if list == nil {
		list = NewEntryList()
		for _, e := range req.Entries {
			list.Add(e)
		}
	}
	if err := list.check(); err != nil {
		return nil, err
	}
	p := &Plan{
		roots:    append([]string(nil), req.Roots...),
		filters:  filters,
		regex:    req.Regex,
		list:     list,
		problems: append([]Problem(nil), req.Problems...),
	}
	p.manualGiven = make(map[string]struct{}, len(req.ManualExclusions))
	for _, m := range req.ManualExclusions {
		p.manualGiven[m] = struct{}{}
	}
	p.indexDirs()

	manualOn := filters.Has(FilterManual) && len(p.manualGiven) > 0
	excludedOn := filters.Has(FilterExcluded) && pl.exclusions.Len() > 0
	backupOn := filters.Has(FilterBackup)
	needPath := manualOn || excludedOn || rx != nil
	var excl exclusionCursor
	lastDir := int32(-2)
	for i := range list.n {
		r := list.at(i)
		// Files of one folder come together; mark their folder once.
		if d := list.parentDir(i); d != lastDir {
			lastDir = d
			if d >= 0 {
				list.at(int(list.dirs[d].row)).flags |= flagHasChildren
			}
		}
		isDir := r.typ == TypeDir
		var rs Reasons
		if backupOn && !isDir && pl.backup.match(list.baseName(i)) {
			rs |= reasonBit(ReasonBackup)
		}
		if needPath {
			path := list.path(i)
			if excludedOn {
				if k := excl.match(pl.exclusions, path, isDir); k >= 0 {
					rs |= reasonBit(ReasonExcluded)
					if p.excludedBy == nil {
						p.excludedBy = map[int32]string{}
					}
					p.excludedBy[int32(i)] = pl.exclusions.list[k].Source
				}
			}
			if manualOn {
				if _, ok := p.manualGiven[path]; ok {
					rs |= reasonBit(ReasonManual)
				}
			}
			if rx != nil {
				s := path
				if isDir && !strings.HasSuffix(s, "/") {
					s += "/"
				}
				if rx.match(s) {
					rs |= reasonBit(ReasonRegex)
				}
			}
		}
		if r.typ == TypeOther {
			rs |= reasonBit(ReasonSpecial)
		}
		r.reasons = rs
		r.set(flagSelected, rs == 0)
	}

	if filters.Has(FilterFrozen) {
		if err := pl.applyFrozen(ctx, p, req.Progress); err != nil {
			return nil, err
		}
	}
	p.resolve()
	if filters.Has(FilterDrop) {
		p.Drop()
	}
	s := p.Summary()
	pl.log.Debug().Int("entries", list.n).Str("filters", filters.String()).
		Int64("selected_files", s.Selected.Files).Int64("left_out_files", s.LeftOut.Files).
		Int("hashed", s.Hashing.Read).Int("hash_cached", s.Hashing.Cached).Msg("selection plan")
	return p, nil
}

// Prefetcher may be implemented by a Hasher that reads a cache: the
// planner hands it each batch of files (at most LookupBatch) before asking
// for their sums, so that the cache is read one query per batch and only
// the batches in hand are held. Prefetch is called from one goroutine at a
// time, while Hash may be running for the previous batch; a hasher may
// forget what it prefetched for batches before that.
type Prefetcher interface {
	Prefetch(ctx context.Context, batch []Entry) error
}

// hashBatch is one batch of files the frozen filter hashes together.
type hashBatch struct {
	rows    []int32
	entries []Entry
	sums    []string
	cached  []bool
	errs    []error
}

// applyFrozen hashes the regular files still selected and asks the index
// where copies are. Files already left out by a cheaper filter are not
// hashed (an excluded folder may hold far more bytes than the selection),
// so "frozen" is listed only for files no other filter left out. Empty files
// are never left out as frozen: they cost nothing to keep, and restored
// folders would otherwise miss marker files such as __init__.py.
//
// The files go in batches of LookupBatch through a pipeline, so memory
// stays bounded however many there are: while the workers hash batch b,
// the planner looks up the copies of batch b-1 and prefetches batch b+1.
func (pl *Planner) applyFrozen(ctx context.Context, p *Plan, progress func(done, total int)) error {
	l := p.list
	isCand := func(r *row) bool { return r.typ == TypeFile && r.has(flagSelected) && r.size > 0 }
	n := 0
	for i := range l.n {
		if isCand(l.at(i)) {
			n++
		}
	}
	p.sums = make([][sha256.Size]byte, l.n)
	pre, _ := pl.hasher.(Prefetcher)
	next := 0 // the row where the next batch starts looking
	fill := func() (*hashBatch, error) {
		b := &hashBatch{}
		for ; next < l.n && len(b.rows) < LookupBatch; next++ {
			if isCand(l.at(next)) {
				b.rows = append(b.rows, int32(next))
				b.entries = append(b.entries, l.entry(next))
			}
		}
		if len(b.rows) == 0 {
			return nil, nil
		}
		b.sums, b.cached, b.errs = make([]string, len(b.rows)), make([]bool, len(b.rows)), make([]error, len(b.rows))
		if pre != nil {
			if err := pre.Prefetch(ctx, b.entries); err != nil {
				return nil, fmt.Errorf("selection plan: hash cache: %w", err)
			}
		}
		return b, nil
	}

	var done atomic.Int64
	var tick <-chan time.Time
	if progress != nil {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	cur, err := fill()
	if err != nil {
		return err
	}
	var prev *hashBatch
	for cur != nil {
		finished := pl.hashAll(ctx, cur, &done)
		if prev != nil {
			if err := pl.record(ctx, p, prev); err != nil {
				<-finished
				return err
			}
		}
		nb, err := fill()
		if err != nil {
			<-finished
			return err
		}
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-tick:
				progress(int(done.Load()), n)
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("selection plan: hashing files: %w", err)
		}
		prev, cur = cur, nb
	}
	if prev != nil {
		if err := pl.record(ctx, p, prev); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(int(done.Load()), n)
	}
	return nil
}

// hashAll hashes a batch with the planner's workers; the channel closes
// when all are done.
func (pl *Planner) hashAll(ctx context.Context, b *hashBatch, done *atomic.Int64) <-chan struct{} {
	var next atomic.Int64
	var wg sync.WaitGroup
	n := int64(len(b.rows))
	for range min(pl.workers, len(b.rows)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= n {
					return
				}
				b.sums[k], b.cached[k], b.errs[k] = pl.hasher.Hash(ctx, b.entries[k])
				done.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	return finished
}

// record keeps a hashed batch's sums and asks the index where copies are.
func (pl *Planner) record(ctx context.Context, p *Plan, b *hashBatch) error {
	keys := make([]FileKey, 0, len(b.rows))
	at := make([]int32, 0, len(b.rows))
	for k, i := range b.rows {
		r := p.row(int(i))
		if b.errs[k] != nil {
			// Without a sum nothing proves a copy exists, so the file stays
			// selected; the problem is shown with the plan.
			p.hashing.Failed++
			p.problems = append(p.problems, Problem{Path: b.entries[k].Path, Op: "hash", Err: b.errs[k]})
			continue
		}
		if b.cached[k] {
			p.hashing.Cached++
		} else {
			p.hashing.Read++
			p.hashing.ReadBytes += r.size
		}
		if sum, err := hex.DecodeString(b.sums[k]); err == nil && len(sum) == sha256.Size {
			copy(p.sums[i][:], sum)
			r.flags |= flagSum
		} else {
			p.hashing.Failed++
			p.problems = append(p.problems, Problem{Path: b.entries[k].Path, Op: "hash", Err: fmt.Errorf("not a SHA-256: %q", b.sums[k])})
			continue
		}
		keys = append(keys, FileKey{Name: p.list.storedBase(int(i)), Size: r.size, SHA256: b.sums[k]})
		at = append(at, i)
	}
	if len(keys) == 0 {
		return nil
	}
	locs, err := pl.frozen.LookupMany(ctx, keys)
	if err != nil {
		return fmt.Errorf("selection plan: looking up frozen files: %w", err)
	}
	if len(locs) != len(keys) {
		return fmt.Errorf("selection plan: frozen index answered %d of %d files", len(locs), len(keys))
	}
	for j, loc := range locs {
		if len(loc) == 0 {
			continue
		}
		p.copies.add(at[j], loc)
		r := p.row(int(at[j]))
		r.reasons |= reasonBit(ReasonFrozen)
		r.set(flagSelected, false)
	}
	return nil
}
