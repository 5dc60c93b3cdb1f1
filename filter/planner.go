package filter

import (
	"context"
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

	p := &Plan{
		roots:    append([]string(nil), req.Roots...),
		filters:  filters,
		regex:    req.Regex,
		items:    make([]Item, len(req.Entries)),
		problems: append([]Problem(nil), req.Problems...),
	}
	p.manualGiven = make(map[string]struct{}, len(req.ManualExclusions))
	for _, m := range req.ManualExclusions {
		p.manualGiven[m] = struct{}{}
	}
	for i, e := range req.Entries {
		if !strings.HasPrefix(e.Path, "/") {
			return nil, fmt.Errorf("selection plan: entry %q: path is not absolute", e.Path)
		}
		p.items[i].Entry = e
	}
	p.indexDirs()

	manualOn := filters.Has(FilterManual) && len(p.manualGiven) > 0
	excludedOn := filters.Has(FilterExcluded) && pl.exclusions.Len() > 0
	backupOn := filters.Has(FilterBackup)
	var excl exclusionCursor
	lastDir := ""
	for i := range p.items {
		it := &p.items[i]
		// Files of one folder come together; look their folder up once.
		if d := parent(it.Path); d != lastDir {
			lastDir = d
			if j, ok := p.dirIndex[d]; ok {
				p.items[j].hasChildren = true
			}
		}
		isDir := it.Type == TypeDir
		var r Reasons
		if backupOn && !isDir && pl.backup.match(base(it.Path)) {
			r |= reasonBit(ReasonBackup)
		}
		if excludedOn {
			if k := excl.match(pl.exclusions, it.Path, isDir); k >= 0 {
				r |= reasonBit(ReasonExcluded)
				it.ExcludedBy = pl.exclusions.list[k].Source
			}
		}
		if manualOn {
			if _, ok := p.manualGiven[it.Path]; ok {
				r |= reasonBit(ReasonManual)
			}
		}
		if rx != nil {
			s := it.Path
			if isDir && !strings.HasSuffix(s, "/") {
				s += "/"
			}
			if rx.match(s) {
				r |= reasonBit(ReasonRegex)
			}
		}
		if it.Type == TypeOther {
			r |= reasonBit(ReasonSpecial)
		}
		it.Reasons = r
		it.Selected = r == 0
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
	pl.log.Debug().Int("entries", len(req.Entries)).Str("filters", filters.String()).
		Int64("selected_files", s.Selected.Files).Int64("left_out_files", s.LeftOut.Files).
		Int("hashed", s.Hashing.Read).Int("hash_cached", s.Hashing.Cached).Msg("selection plan")
	return p, nil
}

// applyFrozen hashes the regular files still selected and asks the index
// where copies are. Files already left out by a cheaper filter are not
// hashed (an excluded folder may hold far more bytes than the selection),
// so "frozen" is listed only for files no other filter left out. Empty files
// are never left out as frozen: they cost nothing to keep, and restored
// folders would otherwise miss marker files such as __init__.py.
func (pl *Planner) applyFrozen(ctx context.Context, p *Plan, progress func(done, total int)) error {
	var cands []int32
	for i := range p.items {
		it := &p.items[i]
		if it.Type == TypeFile && it.Selected && it.Size > 0 {
			cands = append(cands, int32(i))
		}
	}
	n := len(cands)
	sums := make([]string, n)
	cached := make([]bool, n)
	errs := make([]error, n)

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(pl.workers, max(n, 1)) {
		wg.Go(func() {
			for hctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= int64(n) {
					return
				}
				sums[k], cached[k], errs[k] = pl.hasher.Hash(hctx, p.items[cands[k]].Entry)
				done.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if progress != nil {
		tick := time.NewTicker(250 * time.Millisecond)
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-tick.C:
				progress(int(done.Load()), n)
			}
		}
		tick.Stop()
		progress(int(done.Load()), n)
	} else {
		<-finished
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("selection plan: hashing files: %w", err)
	}

	keys := make([]FileKey, 0, min(n, LookupBatch))
	at := make([]int32, 0, min(n, LookupBatch))
	flush := func() error {
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
		for j, l := range locs {
			if len(l) == 0 {
				continue
			}
			it := &p.items[at[j]]
			it.FrozenCopies = l
			it.Reasons |= reasonBit(ReasonFrozen)
			it.Selected = false
		}
		keys, at = keys[:0], at[:0]
		return nil
	}
	for k, i := range cands {
		it := &p.items[i]
		if errs[k] != nil {
			// Without a sum nothing proves a copy exists, so the file stays
			// selected; the problem is shown with the plan.
			p.hashing.Failed++
			p.problems = append(p.problems, Problem{Path: it.Path, Op: "hash", Err: errs[k]})
			continue
		}
		if cached[k] {
			p.hashing.Cached++
		} else {
			p.hashing.Read++
			p.hashing.ReadBytes += it.Size
		}
		it.SHA256 = sums[k]
		name := it.Name
		if name == "" {
			name = it.Path
		}
		keys = append(keys, FileKey{Name: base(name), Size: it.Size, SHA256: sums[k]})
		at = append(at, i)
		if len(keys) == LookupBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
