package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"freezer/filter"
	"freezer/pipeline"
	"freezer/pipeline/compress"
	"freezer/pipeline/desc"
	"freezer/pipeline/tarball"
	"freezer/store"
)

// PlanRequest is a selection of files and folders and how to filter it
// (verb plan).
type PlanRequest struct {
	Paths   []string
	Filters filter.Set // filter.DefaultFilters for the manual's defaults
	Regex   string
	// Exclude are paths the person deselects now; with Remember (and
	// always when an archive is made of the selection) they are
	// remembered as manual exclusions for later selections.
	Exclude []string
	// Include are paths the person selects although a filter left them
	// out; with Remember, a manual exclusion of them is forgotten.
	Include []string
	// Remember stores Exclude and Include as manual exclusions. A plan
	// alone is a dry run and changes nothing unless asked; creating an
	// archive always remembers what its selection left out by hand.
	Remember bool
	// Drop removes unselected files from the plan.
	Drop     bool
	Progress func(done, total int)
}

// Verb is "plan".
func (r *PlanRequest) Verb() string { return "plan" }

// Line writes the request as a control line.
func (r *PlanRequest) Line() string {
	kv := r.selectionArgs()
	if r.Remember {
		kv = append(kv, "remember", "yes")
	}
	return line(append([]string{"plan"}, r.Paths...), kv...)
}

func (r *PlanRequest) selectionArgs() []string {
	var kv []string
	if r.Filters != filter.DefaultFilters || r.Drop {
		f := r.Filters
		if r.Drop {
			f = f.With(filter.FilterDrop)
		}
		kv = append(kv, "filter", f.String())
	}
	kv = append(kv, "regex", r.Regex)
	for _, p := range r.Exclude {
		kv = append(kv, "exclude", p)
	}
	for _, p := range r.Include {
		kv = append(kv, "include", p)
	}
	return kv
}

// checkPaths validates what can be checked without walking: the paths
// exist, the regex compiles.
func (r *PlanRequest) checkPaths() error {
	if len(r.Paths) == 0 {
		return refuse(ErrInvalid, "no files or folders given")
	}
	for _, p := range r.Paths {
		if _, err := os.Lstat(p); err != nil {
			return mark(ErrNotFound, fmt.Errorf("%s: %w", p, unwrapPathError(err)))
		}
	}
	if r.Regex != "" {
		if _, err := regexp.Compile(r.Regex); err != nil {
			return refuse(ErrInvalid, "regex %s: %v", Quote(r.Regex), err)
		}
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *PlanRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if err := r.checkPaths(); err != nil {
		return nil, err
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		sel, err := e.Plan(ctx, *r)
		if err != nil {
			return Reply{}, err
		}
		var b strings.Builder
		if err := sel.Plan.WriteJSON(&b); err != nil {
			return Reply{}, err
		}
		s := sel.Plan.Summary()
		return Reply{Text: b.String(), Message: fmt.Sprintf("%d files selected", s.Selected.Files)}, nil
	}}, nil
}

// Selection is a plan together with what the tar needs of the entries it
// selects beyond the plan itself.
type Selection struct {
	Plan *filter.Plan
	meta map[fileID]entryMeta
}

// fileID is a walked entry's device and inode.
type fileID struct{ dev, ino uint64 }

// entryMeta is what a tar header of a directory or symbolic link takes
// from the walk and the plan does not keep (a regular file's header comes
// from the open file). Entries sharing an inode share it.
type entryMeta struct {
	mode     fs.FileMode
	uid, gid uint32
	target   string
}

// Entries are the selected entries, in archive order, ready for the tar.
func (s *Selection) Entries() []tarball.Entry {
	var out []tarball.Entry
	for e := range s.Each() {
		out = append(out, e)
	}
	return out
}

// Each yields the selected entries, in archive order, ready for the tar,
// one at a time.
func (s *Selection) Each() iter.Seq[tarball.Entry] {
	return func(yield func(tarball.Entry) bool) {
		for e := range s.Plan.SelectedEntries() {
			t := tarball.Entry{Source: e.Path, Name: e.Name, Type: tarType(e.Type), Size: e.Size,
				ModTime: e.ModTime, Dev: e.Dev, Inode: e.Inode}
			if m, ok := s.meta[fileID{e.Dev, e.Inode}]; ok && t.Type != tarball.TypeFile {
				t.Mode, t.Uid, t.Gid, t.LinkTarget = m.mode, m.uid, m.gid, m.target
			}
			if !yield(t) {
				return
			}
		}
	}
}

// Plan walks the paths and proposes a selection: which files go into an
// archive and, for each one left out, why. With req.Remember the person's
// exclusions and inclusions are remembered in the catalog; otherwise the
// plan changes nothing there but the hash cache.
//
// Nothing here grows by more than a compact plan row per walked entry: the
// walk feeds the plan's entry list as it goes, the hash cache and the
// catalog's files are asked in batches (see cacheHasher, catalogIndex),
// and only directories and symbolic links keep what the tar needs besides.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*Selection, error) {
	if len(req.Paths) == 0 {
		return nil, refuse(ErrInvalid, "no files or folders given")
	}
	roots := make([]string, len(req.Paths))
	for i, p := range req.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if _, err := os.Lstat(abs); err != nil {
			return nil, mark(ErrNotFound, fmt.Errorf("%s: %w", p, unwrapPathError(err)))
		}
		roots[i] = abs
	}
	list := filter.NewEntryList()
	meta := map[fileID]entryMeta{}
	var problems []filter.Problem
	opts := tarball.WalkOptions{Logger: e.log, OnProblem: func(p tarball.Problem) {
		if p.Kind == tarball.ProblemNonUTF8 {
			return // kept byte for byte: nothing is left out, nothing to warn of
		}
		problems = append(problems, filter.Problem{Path: p.Source, Op: "walk", Err: errors.New(p.String())})
	}}
	err := tarball.WalkEach(ctx, roots, opts, func(w *tarball.Entry) error {
		list.Add(filter.Entry{Path: w.Source, Name: w.Name, Type: entryType(w.Type), Size: w.Size,
			ModTime: w.ModTime, Inode: w.Inode, Dev: w.Dev})
		if w.Type == tarball.TypeDir || w.Type == tarball.TypeSymlink {
			meta[fileID{w.Dev, w.Inode}] = entryMeta{mode: w.Mode, uid: w.Uid, gid: w.Gid, target: w.LinkTarget}
		}
		return nil
	})
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}

	x, err := e.ExclusionSettings(ctx)
	if err != nil {
		return nil, err
	}
	cfg := filter.Config{Exclusions: x.Exclude, BackupPatterns: x.Backup, HashWorkers: e.tune().Threads, Logger: e.log}
	var hasher *cacheHasher
	if req.Filters.Has(filter.FilterFrozen) {
		hasher = newCacheHasher(e.o.DB)
		index := frozenIndex(e.o.DB)
		defer index.Close()
		cfg.Hasher, cfg.Frozen = hasher, index
	}
	planner, err := filter.NewPlanner(cfg)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	plan, err := planner.Plan(ctx, filter.Request{Roots: roots, List: list, Filters: req.Filters,
		Regex: req.Regex, ManualExclusions: x.Manual, Problems: problems, Progress: req.Progress})
	if err != nil {
		if hasher != nil {
			// What was read is worth keeping even when the plan failed.
			hasher.Flush(context.WithoutCancel(ctx))
		}
		return nil, mark(ErrInvalid, err)
	}
	if hasher != nil {
		if err := hasher.Flush(ctx); err != nil {
			return nil, err
		}
	}
	for _, p := range req.Exclude {
		if err := plan.Select(absPath(p), false); err != nil {
			return nil, refuse(ErrInvalid, "exclude %s: %v", p, err)
		}
	}
	for _, p := range req.Include {
		if err := plan.Select(absPath(p), true); err != nil {
			return nil, refuse(ErrInvalid, "include %s: %v", p, err)
		}
	}
	if req.Drop {
		plan.Drop()
	}
	changes := plan.ManualChanges()
	if req.Remember && len(changes.Excluded)+len(changes.Included) > 0 {
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			for _, p := range changes.Excluded {
				if err := tx.AddManualExclusion(ctx, p); err != nil {
					return err
				}
			}
			for _, p := range changes.Included {
				if _, err := tx.RemoveManualExclusion(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return &Selection{Plan: plan, meta: meta}, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func tarType(t filter.EntryType) tarball.EntryType {
	switch t {
	case filter.TypeFile:
		return tarball.TypeFile
	case filter.TypeDir:
		return tarball.TypeDir
	case filter.TypeSymlink:
		return tarball.TypeSymlink
	default:
		return tarball.TypeOther
	}
}

func entryType(t tarball.EntryType) filter.EntryType {
	switch t {
	case tarball.TypeFile:
		return filter.TypeFile
	case tarball.TypeDir:
		return filter.TypeDir
	case tarball.TypeSymlink:
		return filter.TypeSymlink
	default:
		return filter.TypeOther
	}
}

// CreateRequest is a new archive (verb new-archive).
type CreateRequest struct {
	Vault, Name string
	Plan        PlanRequest
	Compression string // none, gzip, bzip2, zstd
	KeyID       string // "" the default key, "none" no encryption
	Description string // the person's text, added to freezer's description
	// NoUpload builds and records the archive but leaves it local; upload
	// it later with an UploadRequest.
	NoUpload bool
}

// Verb is "new-archive".
func (r *CreateRequest) Verb() string { return "new-archive" }

// Line writes the request as a control line.
func (r *CreateRequest) Line() string {
	kv := []string{"compression", r.Compression, "key", r.KeyID, "description", r.Description}
	kv = append(kv, r.Plan.selectionArgs()...)
	if r.NoUpload {
		kv = append(kv, "no-upload", "yes")
	}
	return line(append([]string{"new-archive", r.Vault + "/" + r.Name}, r.Plan.Paths...), kv...)
}

func (r *CreateRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if err := CheckVaultName(r.Vault); err != nil {
		return nil, err
	}
	if err := CheckArchiveName(r.Name); err != nil {
		return nil, err
	}
	alg, err := compress.Parse(r.Compression)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	if err := r.Plan.checkPaths(); err != nil {
		return nil, err
	}
	if _, err := e.knownVault(ctx, r.Vault); err != nil {
		return nil, err
	}
	claims, err := e.claim(ctx, "created", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	act, err := e.checkCreate(ctx, r, alg, claims)
	if err != nil {
		claims.Release()
		return nil, err
	}
	return act, nil
}

// checkCreate decides, under the archive's claim, what a create request
// does: build a new archive, resume the upload of the one an interrupted
// run of the same request built, or nothing (built and left local, as
// asked).
func (e *Engine) checkCreate(ctx context.Context, r *CreateRequest, alg compress.Algorithm, claims *claimSet) (*action, error) {
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	existing, err := e.o.DB.Archive(ctx, r.Vault, r.Name)
	switch {
	case err == nil:
		if existing.Remote() || existing.LocalPath == "" || !e.sameCreate(ctx, r) {
			return nil, refuse(ErrExists, "%s already exists", what)
		}
		if r.NoUpload {
			return &action{claims: claims, reply: Reply{Fields: map[string]string{"state": string(store.StateLocal)},
				Message: what + " is already built and left local, as asked"}}, nil
		}
		e.log.Info().Str("vault", r.Vault).Str("archive", r.Name).Msg("archive already built and not yet in Glacier: resuming its upload")
		return e.uploadAction(ctx, existing, claims, r.Line())
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	key, err := e.archiveKey(ctx, r.KeyID)
	if err != nil {
		return nil, err
	}
	d := desc.Description{Version: desc.Version, Name: r.Name, Compression: string(alg), Cipher: "none", Text: r.Description}
	if key != nil {
		d.Cipher, d.KeyID = key.Algorithm, key.ID
	}
	description, err := desc.Format(d)
	if err != nil {
		return nil, refuse(ErrInvalid, "%s: %v", what, err)
	}
	req := *r
	return &action{claims: claims, task: &taskSpec{kind: TaskCreate, vault: r.Vault, archive: r.Name, phase: "plan",
		resume: r.Line(),
		run: func(ctx context.Context, run *Run) (string, error) {
			return e.create(ctx, run, req, alg, d, description)
		}}}, nil
}

// sameCreate reports whether the newest create task of the archive was
// this very request: only then may a rerun resume its upload. A create of
// other files under a taken name must never pass off the old archive as
// its own.
func (e *Engine) sameCreate(ctx context.Context, r *CreateRequest) bool {
	ts, err := e.o.DB.ArchiveTasks(ctx, r.Vault, r.Name, TaskCreate)
	if err != nil || len(ts) == 0 {
		return false
	}
	return ts[len(ts)-1].Request == r.Line()
}

// create is a create task: plan, build into a temporary file, record the
// archive, install its file, upload.
func (e *Engine) create(ctx context.Context, run *Run, req CreateRequest, alg compress.Algorithm, d desc.Description, description string) (string, error) {
	what := fmt.Sprintf("vault %s: archive %s", req.Vault, req.Name)
	plan := req.Plan
	plan.Remember = true // what an archive left out by hand stays left out
	sel, err := e.Plan(ctx, plan)
	if err != nil {
		return "", err
	}
	if err := sel.Plan.Check(); err != nil {
		return "", refuse(ErrInvalid, "%s: %v", what, err)
	}
	for _, p := range sel.Plan.Problems() {
		e.log.Warn().Str("path", p.Path).Str("op", p.Op).Err(p.Err).Msg("left out of the archive")
	}
	run.Phase("build", sel.Plan.Summary().Selected.Bytes)
	temp := filepath.Join(e.tempDir(), fmt.Sprintf("%s%s-%d", buildPrefix, e.id, run.ID()))
	if err := os.MkdirAll(filepath.Dir(temp), 0o700); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	// The files' records wait in a file beside the build, not in memory,
	// until the archive's row commits with them.
	records, err := newFileRecords(temp + ".files")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer records.remove()
	built, err := pipeline.Build(ctx, pipeline.BuildRequest{Each: sel.Each(), OnFile: records.add, Compression: alg,
		Threads: e.tune().Threads, Dest: temp, Progress: run.Add, Logger: e.log})
	if err == nil {
		err = records.done()
	}
	if err != nil {
		os.Remove(temp)
		return "", fmt.Errorf("%s: %w", what, err)
	}
	a := store.Archive{Vault: req.Vault, Name: req.Name, Description: description,
		SHA256: built.SHA256, LocalSize: built.Size, Compression: string(alg), Cipher: d.Cipher, KeyID: d.KeyID,
		Created: e.o.Now(), LocalPath: e.localPath(req.Vault, req.Name), Installing: temp}
	// An archive of up to Options.RecordBatch files is recorded with its
	// files in one transaction. A bigger one would hold the catalog for too
	// long (a million files take tens of seconds), so its row commits
	// first, still installing, and its files follow a batch a transaction;
	// the records stay beside the build until all are in, so that after a
	// crash Recover can finish recording them before installing the copy.
	whole := records.n <= int64(e.o.RecordBatch)
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.Vault(ctx, req.Vault)
		if err != nil {
			return vaultNotFound(req.Vault, err)
		}
		if _, err := os.Lstat(a.LocalPath); err == nil {
			return refuse(ErrExists, "%s: a file is in the way at %s (left by an earlier archive of that name); move it away", what, a.LocalPath)
		}
		a.VaultID = v.ID
		id, err := tx.PutArchive(ctx, a)
		if err != nil {
			return dress(what, err)
		}
		a.ID = id
		if !whole {
			return nil
		}
		if err := tx.AddFilesFrom(ctx, id, records.files()); err != nil {
			return err
		}
		return tx.PutHashesFrom(ctx, records.hashes())
	})
	if err != nil {
		records.remove()
		os.Remove(temp)
		return "", err
	}
	if !whole {
		e.changed()
		if err := e.recordFiles(ctx, a.ID, records); err != nil {
			records.keep()
			return "", fmt.Errorf("%s: recording its files (the next start of freezer finishes it): %w", what, err)
		}
	}
	files := records.n
	records.remove() // not kept through the upload
	e.changed()
	if err := e.install(ctx, a); err != nil {
		return "", err
	}
	a.FileCount, a.Installing = files, ""
	e.log.Info().Str("vault", req.Vault).Str("archive", req.Name).Int64("files", files).
		Int64("bytes", built.Size).Str("compression", string(alg)).Str("cipher", d.Cipher).Msg("archive built")
	holds := tallyBuilt(built.Result)
	if req.NoUpload {
		return fmt.Sprintf("%s/%s: %s; local, %s (not uploaded, as asked)", req.Vault, req.Name, holds, FormatBytes(built.Size)), nil
	}
	// From here on, what resumes the task is an upload of what was built.
	run.resumeWith(line([]string{"upload", req.Vault + "/" + req.Name}))
	result, err := e.upload(ctx, run, a)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s: %s; %s", req.Vault, req.Name, holds, strings.TrimPrefix(result, req.Vault+"/"+req.Name+": ")), nil
}

// buildPrefix starts the names of archives being built in the temporary
// folder; the engine id after it tells whose they are.
const buildPrefix = "build-"

// install renames a new local copy from its temporary name into place,
// after its catalog row committed, and records that it is there.
func (e *Engine) install(ctx context.Context, a store.Archive) error {
	return e.installReleasing(ctx, a, nil)
}

// installReleasing is install that also gives back claims in the
// transaction recording the copy in place: a download is over for others
// the moment its archive reads liquid.
func (e *Engine) installReleasing(ctx context.Context, a store.Archive, claims *claimSet) error {
	if err := os.MkdirAll(filepath.Dir(a.LocalPath), 0o700); err != nil {
		return fmt.Errorf("vault %s: archive %s: %w", a.Vault, a.Name, err)
	}
	if err := os.Rename(a.Installing, a.LocalPath); err != nil {
		return fmt.Errorf("vault %s: archive %s: install the local copy: %w", a.Vault, a.Name, err)
	}
	err := e.o.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.Installed(ctx, a.ID); err != nil {
			return err
		}
		if claims != nil {
			return claims.release(ctx, tx)
		}
		return nil
	})
	if err == nil && claims != nil {
		claims.once.Do(func() {}) // released above
	}
	if err != nil {
		// The file is in place; the catalog still names the temporary file,
		// which Recover sorts out.
		e.log.Warn().Err(err).Str("vault", a.Vault).Str("archive", a.Name).Msg("local copy installed but not yet recorded as such")
	}
	e.changed()
	return nil
}

// knownVault finds a vault in the catalog, asking Glacier (at a bounded
// rate) when the catalog does not know it yet: a vault made by another
// tool or on another machine.
func (e *Engine) knownVault(ctx context.Context, name string) (store.Vault, error) {
	if err := CheckVaultName(name); err != nil {
		return store.Vault{}, err
	}
	v, err := e.o.DB.Vault(ctx, name)
	if errors.Is(err, store.ErrNotFound) && e.o.Glacier != nil {
		if rerr := e.refreshVaults(ctx, false); rerr != nil {
			e.log.Debug().Err(rerr).Msg("could not list vaults in Glacier")
		}
		v, err = e.o.DB.Vault(ctx, name)
	}
	if err != nil {
		return store.Vault{}, vaultNotFound(name, err)
	}
	if err := e.checkLocation(v); err != nil {
		return store.Vault{}, err
	}
	return v, nil
}

// UploadRequest uploads (or resumes uploading) an archive that is only
// local (verb upload).
type UploadRequest struct{ Vault, Name string }

// Verb is "upload".
func (r *UploadRequest) Verb() string { return "upload" }

// Line writes the request as a control line.
func (r *UploadRequest) Line() string { return line([]string{"upload", r.Vault + "/" + r.Name}) }

func (r *UploadRequest) check(ctx context.Context, e *Engine) (*action, error) {
	a, err := e.o.DB.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, archiveNotFound(r.Vault, r.Name, err)
	}
	if a.Remote() {
		return &action{reply: Reply{Fields: map[string]string{"archive-id": a.RemoteID},
			Message: fmt.Sprintf("vault %s: archive %s is already in Glacier", r.Vault, r.Name)}}, nil
	}
	if _, err := e.knownVault(ctx, r.Vault); err != nil {
		return nil, err
	}
	claims, err := e.claim(ctx, "uploaded", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	act, err := e.uploadAction(ctx, a, claims, r.Line())
	if err != nil {
		claims.Release()
		return nil, err
	}
	return act, nil
}

// uploadAction checks that an archive can be uploaded (its local file is
// there, its key is known) and returns the upload task.
func (e *Engine) uploadAction(ctx context.Context, a store.Archive, claims *claimSet, resume string) (*action, error) {
	if _, err := e.glacier(); err != nil {
		return nil, err
	}
	if !hasLocal(a) {
		return nil, refuse(ErrNotFound, "vault %s: archive %s: its local file %s is gone; nothing to upload", a.Vault, a.Name, a.LocalPath)
	}
	if _, err := e.keyFor(ctx, a); err != nil {
		return nil, err
	}
	return &action{claims: claims, task: &taskSpec{kind: TaskUpload, vault: a.Vault, archive: a.Name, phase: "upload",
		total: a.LocalSize, resume: line([]string{"upload", a.Vault + "/" + a.Name}),
		run: func(ctx context.Context, run *Run) (string, error) { return e.upload(ctx, run, a) }}}, nil
}

// upload sends a local archive to Glacier and records the result (only
// the columns the upload decides).
func (e *Engine) upload(ctx context.Context, run *Run, a store.Archive) (string, error) {
	what := fmt.Sprintf("vault %s: archive %s", a.Vault, a.Name)
	if !hasLocal(a) {
		return "", refuse(ErrNotFound, "%s: its local file %s is gone; nothing to upload", what, a.LocalPath)
	}
	k, err := e.keyFor(ctx, a)
	if err != nil {
		return "", err
	}
	g, err := e.glacier()
	if err != nil {
		return "", err
	}
	run.Phase("upload", a.LocalSize)
	j := journal{db: e.o.DB, archiveID: a.ID}
	if rec, ok, err := j.Load(ctx); err == nil && ok && len(rec.Started) > 0 {
		// Said before the upload goes quiet waiting for them at its end.
		e.log.Info().Str("vault", a.Vault).Str("archive", a.Name).Int("parts", len(rec.Started)).
			Msg("parts were on the wire when the last run stopped: after the other parts, Glacier is asked about them, and they are sent again only if they never arrived (this can take a few seconds)")
	}
	res, err := pipeline.Upload(ctx, g, pipeline.UploadRequest{
		Vault: a.Vault, Name: a.Name, Source: a.LocalPath, SourceSHA256: a.SHA256, Key: k,
		Description: a.Description, PartSize: e.tune().ChunkSize, Threads: e.tune().Threads,
		Journal: j, Progress: run.Add, Logger: e.log, Slots: run.slots,
	})
	if err != nil {
		return "", dress(what+": upload", err)
	}
	err = e.o.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return tx.SetUploaded(ctx, a.ID, res.ArchiveID, res.Size, res.TreeHash)
	})
	if err != nil {
		return "", fmt.Errorf("%s was uploaded as %s but could not be recorded: %w", what, res.ArchiveID, err)
	}
	e.log.Info().Str("vault", a.Vault).Str("archive", a.Name).Str("archive_id", res.ArchiveID).
		Int64("bytes", res.Size).Bool("resumed", res.Resumed).Int("parts_sent", res.PartsSent).Int("parts_kept", res.PartsKept).
		Msg("uploaded")
	return fmt.Sprintf("%s/%s: liquid, %s in Glacier", a.Vault, a.Name, FormatBytes(res.Size)), nil
}

// CancelRequest aborts an archive's unfinished upload in Glacier (the
// local archive stays), or stops a task (verb cancel).
type CancelRequest struct {
	Vault, Name string
	Task        int64 // a task to stop, instead of an upload to abort
}

// Verb is "cancel".
func (r *CancelRequest) Verb() string { return "cancel" }

// Line writes the request as a control line.
func (r *CancelRequest) Line() string {
	if r.Task != 0 {
		return line([]string{"cancel"}, "task", fmt.Sprint(r.Task))
	}
	return line([]string{"cancel", r.Vault + "/" + r.Name})
}

func (r *CancelRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if r.Task != 0 {
		t, err := e.Task(ctx, r.Task)
		if err != nil {
			return nil, err
		}
		if t.Ended() {
			return nil, refuse(ErrInvalid, "task %d has already ended (%s)", r.Task, t.State)
		}
		return &action{now: func(ctx context.Context) (Reply, error) {
			return Reply{Message: fmt.Sprintf("task %d is being cancelled", r.Task)}, e.CancelTask(ctx, r.Task)
		}}, nil
	}
	a, err := e.o.DB.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, archiveNotFound(r.Vault, r.Name, err)
	}
	if err := e.archiveHere(ctx, a); err != nil {
		return nil, err
	}
	if _, err := e.o.DB.Upload(ctx, a.ID); errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ErrNotFound, "vault %s: archive %s has no upload in progress", r.Vault, r.Name)
	}
	g, err := e.glacier()
	if err != nil {
		return nil, err
	}
	claims, err := e.claim(ctx, "cancelled", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		if err := pipeline.Abort(ctx, g, r.Vault, journal{db: e.o.DB, archiveID: a.ID}); err != nil {
			return Reply{}, dress(fmt.Sprintf("vault %s: archive %s: cancel the upload", r.Vault, r.Name), err)
		}
		return Reply{Message: fmt.Sprintf("vault %s: archive %s: unfinished upload cancelled in Glacier; the local archive stays", r.Vault, r.Name)}, nil
	}}, nil
}

// HashArchive runs the encryption and tree-hash pass of an upload over an
// archive's local file without sending anything (benchmarks, checks).
func (e *Engine) HashArchive(ctx context.Context, vault, name string) (pipeline.Hashes, error) {
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return pipeline.Hashes{}, archiveNotFound(vault, name, err)
	}
	if !hasLocal(a) {
		return pipeline.Hashes{}, refuse(ErrRemote, "vault %s: archive %s has no local file", vault, name)
	}
	k, err := e.keyFor(ctx, a)
	if err != nil {
		return pipeline.Hashes{}, err
	}
	return pipeline.HashUpload(ctx, a.LocalPath, k, e.tune().ChunkSize)
}

// CreateArchive creates an archive and waits for it: Do, then Wait (what
// the CLI does, without its progress bar).
func (e *Engine) CreateArchive(ctx context.Context, req CreateRequest) (ArchiveInfo, error) {
	if _, err := e.RunWait(ctx, &req); err != nil {
		return ArchiveInfo{}, err
	}
	return e.Archive(ctx, req.Vault, req.Name)
}

// UploadArchive uploads (or resumes uploading) a local archive and waits.
func (e *Engine) UploadArchive(ctx context.Context, vault, name string) (ArchiveInfo, error) {
	if _, err := e.RunWait(ctx, &UploadRequest{Vault: vault, Name: name}); err != nil {
		return ArchiveInfo{}, err
	}
	return e.Archive(ctx, vault, name)
}

// CancelUpload aborts an archive's unfinished multipart upload in Glacier.
func (e *Engine) CancelUpload(ctx context.Context, vault, name string) error {
	_, err := one(e.Do(ctx, &CancelRequest{Vault: vault, Name: name}))
	return err
}
