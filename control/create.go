package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"freezer/filter"
	"freezer/pipeline"
	"freezer/pipeline/compress"
	"freezer/pipeline/desc"
	"freezer/pipeline/tarball"
	"freezer/store"
)

// PlanRequest is a selection of files and folders and how to filter it.
type PlanRequest struct {
	Paths   []string
	Filters filter.Set // filter.DefaultFilters for the manual's defaults
	Regex   string
	// Exclude are paths the person deselects now; they are remembered as
	// manual exclusions for later selections.
	Exclude []string
	// Include are paths the person selects although a filter left them
	// out; a manual exclusion of them is forgotten.
	Include []string
	// Drop removes unselected files from the plan.
	Drop     bool
	Progress func(done, total int)
}

// Selection is a plan together with the walk entries it selects.
type Selection struct {
	Plan    *filter.Plan
	entries map[string]tarball.Entry // by source path
}

// Entries are the selected entries, in archive order, ready for the tar.
func (s *Selection) Entries() []tarball.Entry {
	sel := s.Plan.Selected()
	out := make([]tarball.Entry, 0, len(sel))
	for _, e := range sel {
		out = append(out, s.entries[e.Path])
	}
	return out
}

// Plan walks the paths and proposes a selection: which files go into an
// archive and, for each one left out, why. The person's exclusions and
// inclusions are remembered in the catalog.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*Selection, error) {
	if len(req.Paths) == 0 {
		return nil, mark(ErrInvalid, errors.New("no files or folders given"))
	}
	roots := make([]string, len(req.Paths))
	for i, p := range req.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if _, err := os.Lstat(abs); err != nil {
			return nil, mark(ErrNotFound, fmt.Errorf("%s: %w", p, err))
		}
		roots[i] = abs
	}
	walked, err := tarball.Walk(ctx, roots, tarball.WalkOptions{Logger: e.log})
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	entries := make([]filter.Entry, len(walked.Entries))
	byPath := make(map[string]tarball.Entry, len(walked.Entries))
	for i, w := range walked.Entries {
		entries[i] = filter.Entry{Path: w.Source, Name: w.Name, Type: entryType(w.Type), Size: w.Size,
			ModTime: w.ModTime, Inode: w.Inode, Dev: w.Dev}
		byPath[w.Source] = w
	}
	problems := make([]filter.Problem, len(walked.Problems))
	for i, p := range walked.Problems {
		problems[i] = filter.Problem{Path: p.Source, Op: "walk", Err: errors.New(p.String())}
	}

	exclusions, err := e.o.DB.Exclusions(ctx, store.ExclusionExclude)
	if err != nil {
		return nil, err
	}
	backup, err := e.o.DB.Exclusions(ctx, store.ExclusionBackup)
	if err != nil {
		return nil, err
	}
	manual, err := e.o.DB.ManualExclusions(ctx)
	if err != nil {
		return nil, err
	}
	cfg := filter.Config{Exclusions: exclusions, BackupPatterns: backup, HashWorkers: e.o.Threads, Logger: e.log}
	var hasher *cacheHasher
	if req.Filters.Has(filter.FilterFrozen) {
		cache, err := e.o.DB.HashCacheUnder(ctx, roots)
		if err != nil {
			return nil, err
		}
		hasher = newCacheHasher(cache)
		cfg.Hasher = hasher
		if cfg.Frozen, err = frozenIndex(ctx, e.o.DB); err != nil {
			return nil, err
		}
	}
	planner, err := filter.NewPlanner(cfg)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	plan, err := planner.Plan(ctx, filter.Request{Roots: roots, Entries: entries, Filters: req.Filters,
		Regex: req.Regex, ManualExclusions: manual, Problems: problems, Progress: req.Progress})
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	if hasher != nil {
		if err := e.o.DB.PutHashes(ctx, hasher.fresh); err != nil {
			return nil, err
		}
	}
	for _, p := range req.Exclude {
		if err := plan.Select(absPath(p), false); err != nil {
			return nil, mark(ErrInvalid, fmt.Errorf("--exclude %s: %w", p, err))
		}
	}
	for _, p := range req.Include {
		if err := plan.Select(absPath(p), true); err != nil {
			return nil, mark(ErrInvalid, fmt.Errorf("--include %s: %w", p, err))
		}
	}
	if req.Drop {
		plan.Drop()
	}
	changes := plan.ManualChanges()
	if len(changes.Excluded)+len(changes.Included) > 0 {
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
	return &Selection{Plan: plan, entries: byPath}, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
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

// CreateRequest is a new archive.
type CreateRequest struct {
	Vault, Name string
	Plan        PlanRequest
	Compression string // none, gzip, bzip2, zstd
	KeyID       string // "" the default key, "none" no encryption
	Description string // the person's text, added to freezer's description
	// NoUpload builds and records the archive but leaves it local; upload
	// it later with UploadArchive.
	NoUpload bool
}

// CreateArchive builds an archive of the selected files into a local file,
// records it and its files in the catalog, and uploads it. Run again after
// a crash or an interrupt, it resumes the upload of the archive already
// built (the paths are not read again).
func (e *Engine) CreateArchive(ctx context.Context, req CreateRequest) (ArchiveInfo, error) {
	if err := CheckVaultName(req.Vault); err != nil {
		return ArchiveInfo{}, err
	}
	if err := CheckArchiveName(req.Name); err != nil {
		return ArchiveInfo{}, err
	}
	alg, err := compress.Parse(req.Compression)
	if err != nil {
		return ArchiveInfo{}, mark(ErrInvalid, err)
	}
	release, err := e.claim(req.Vault, req.Name, "create")
	if err != nil {
		return ArchiveInfo{}, err
	}
	defer release()

	if existing, err := e.o.DB.Archive(ctx, req.Vault, req.Name); err == nil {
		if existing.Remote() || !hasLocal(existing) {
			return ArchiveInfo{}, mark(ErrExists, fmt.Errorf("vault %s: archive %s already exists", req.Vault, req.Name))
		}
		e.log.Info().Str("vault", req.Vault).Str("archive", req.Name).Msg("archive already built and not yet in Glacier: resuming its upload")
		return e.upload(ctx, existing)
	} else if !errors.Is(err, store.ErrNotFound) {
		return ArchiveInfo{}, err
	}
	vault, err := e.vault(ctx, req.Vault)
	if err != nil {
		return ArchiveInfo{}, err
	}
	key, err := e.archiveKey(ctx, req.KeyID)
	if err != nil {
		return ArchiveInfo{}, err
	}
	d := desc.Description{Version: desc.Version, Name: req.Name, Compression: string(alg), Cipher: "none", Text: req.Description}
	if key != nil {
		d.Cipher, d.KeyID = key.Algorithm, key.ID
	}
	description, err := desc.Format(d)
	if err != nil {
		return ArchiveInfo{}, mark(ErrInvalid, fmt.Errorf("vault %s: archive %s: %w", req.Vault, req.Name, err))
	}

	sel, err := e.Plan(ctx, req.Plan)
	if err != nil {
		return ArchiveInfo{}, err
	}
	if err := sel.Plan.Check(); err != nil {
		return ArchiveInfo{}, mark(ErrInvalid, fmt.Errorf("vault %s: archive %s: %w", req.Vault, req.Name, err))
	}
	for _, p := range sel.Plan.Problems() {
		e.log.Warn().Str("path", p.Path).Str("op", p.Op).Err(p.Err).Msg("left out of the archive")
	}

	dest := e.localPath(req.Vault, req.Name)
	prog := e.progress(fmt.Sprintf("archive %s/%s", req.Vault, req.Name), sel.Plan.Summary().Selected.Bytes)
	built, err := pipeline.Build(ctx, pipeline.BuildRequest{Entries: sel.Entries(), Compression: alg,
		Threads: e.o.Threads, Dest: dest, Progress: prog.Add, Logger: e.log})
	prog.Done()
	if err != nil {
		return ArchiveInfo{}, fmt.Errorf("vault %s: archive %s: %w", req.Vault, req.Name, err)
	}

	a := store.Archive{VaultID: vault.ID, Vault: req.Vault, Name: req.Name, Description: description,
		SHA256: built.SHA256, LocalSize: built.Size, Compression: string(alg), Cipher: d.Cipher, KeyID: d.KeyID,
		Created: e.o.Now(), LocalPath: dest}
	files := make([]store.FileRecord, len(built.Files))
	hashes := make([]store.HashEntry, 0, len(built.Files))
	for i, f := range built.Files {
		files[i] = store.FileRecord{Path: f.Path, Name: f.Name, Size: f.Size, SHA256: f.SHA256}
		if f.LinkOf == "" {
			hashes = append(hashes, store.HashEntry{Path: f.Source, Size: f.Size, MtimeNS: f.ModTime.UnixNano(), Inode: f.Inode, SHA256: f.SHA256})
		}
	}
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		id, err := tx.PutArchive(ctx, a)
		if err != nil {
			return err
		}
		a.ID = id
		if err := tx.AddFiles(ctx, id, files); err != nil {
			return err
		}
		return tx.PutHashes(ctx, hashes)
	})
	if err != nil {
		os.Remove(dest)
		return ArchiveInfo{}, err
	}
	a.FileCount = int64(len(files))
	e.log.Info().Str("vault", req.Vault).Str("archive", req.Name).Int("files", len(files)).
		Int64("bytes", built.Size).Str("compression", string(alg)).Str("cipher", d.Cipher).Msg("archive built")
	if req.NoUpload {
		return e.archiveInfo(ctx, a)
	}
	return e.upload(ctx, a)
}

// vault finds a vault in the catalog, asking Glacier when the catalog does
// not know it yet (a vault made by another tool).
func (e *Engine) vault(ctx context.Context, name string) (store.Vault, error) {
	v, err := e.o.DB.Vault(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := e.Vaults(ctx); err != nil {
			return store.Vault{}, err
		}
		v, err = e.o.DB.Vault(ctx, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Vault{}, mark(ErrNotFound, fmt.Errorf("vault %s does not exist; create it with 'freezer vault create %s'", name, name))
	}
	return v, err
}

// UploadArchive uploads (or resumes uploading) an archive that is only
// local.
func (e *Engine) UploadArchive(ctx context.Context, vault, name string) (ArchiveInfo, error) {
	release, err := e.claim(vault, name, "upload")
	if err != nil {
		return ArchiveInfo{}, err
	}
	defer release()
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return ArchiveInfo{}, notFound(err)
	}
	if a.Remote() {
		return e.archiveInfo(ctx, a)
	}
	return e.upload(ctx, a)
}

// upload sends a local archive to Glacier and records the result.
func (e *Engine) upload(ctx context.Context, a store.Archive) (ArchiveInfo, error) {
	if !hasLocal(a) {
		return ArchiveInfo{}, mark(ErrNotFound, fmt.Errorf("vault %s: archive %s: its local file %s is gone; nothing to upload", a.Vault, a.Name, a.LocalPath))
	}
	k, err := e.keyFor(ctx, a)
	if err != nil {
		return ArchiveInfo{}, err
	}
	prog := e.progress(fmt.Sprintf("upload %s/%s", a.Vault, a.Name), a.LocalSize)
	defer prog.Done()
	res, err := pipeline.Upload(ctx, e.o.Glacier, pipeline.UploadRequest{
		Vault: a.Vault, Name: a.Name, Source: a.LocalPath, SourceSHA256: a.SHA256, Key: k,
		Description: a.Description, PartSize: e.o.ChunkSize, Threads: e.o.Threads,
		Journal: journal{db: e.o.DB, archiveID: a.ID}, Progress: prog.Add, Logger: e.log,
	})
	if err != nil {
		return ArchiveInfo{}, err
	}
	a.RemoteID, a.Size, a.TreeHash = res.ArchiveID, res.Size, res.TreeHash
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.PutArchive(ctx, a)
		return err
	}); err != nil {
		return ArchiveInfo{}, fmt.Errorf("vault %s: archive %s was uploaded as %s but could not be recorded: %w", a.Vault, a.Name, res.ArchiveID, err)
	}
	e.log.Info().Str("vault", a.Vault).Str("archive", a.Name).Str("archive_id", res.ArchiveID).
		Int64("bytes", res.Size).Bool("resumed", res.Resumed).Int("parts_sent", res.PartsSent).Int("parts_kept", res.PartsKept).
		Msg("uploaded")
	return e.archiveInfo(ctx, a)
}

// CancelUpload aborts an archive's unfinished multipart upload in Glacier
// (the local archive stays, and can be uploaded again).
func (e *Engine) CancelUpload(ctx context.Context, vault, name string) error {
	release, err := e.claim(vault, name, "cancel")
	if err != nil {
		return err
	}
	defer release()
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return notFound(err)
	}
	if _, err := e.o.DB.Upload(ctx, a.ID); errors.Is(err, store.ErrNotFound) {
		return mark(ErrNotFound, fmt.Errorf("vault %s: archive %s has no upload in progress", vault, name))
	}
	return pipeline.Abort(ctx, e.o.Glacier, vault, journal{db: e.o.DB, archiveID: a.ID})
}

// HashArchive runs the encryption and tree-hash pass of an upload over an
// archive's local file without sending anything (benchmarks, checks).
func (e *Engine) HashArchive(ctx context.Context, vault, name string) (pipeline.Hashes, error) {
	a, err := e.o.DB.Archive(ctx, vault, name)
	if err != nil {
		return pipeline.Hashes{}, notFound(err)
	}
	if !hasLocal(a) {
		return pipeline.Hashes{}, mark(ErrNotFound, fmt.Errorf("vault %s: archive %s has no local file", vault, name))
	}
	k, err := e.keyFor(ctx, a)
	if err != nil {
		return pipeline.Hashes{}, err
	}
	return pipeline.HashUpload(ctx, a.LocalPath, k, e.o.ChunkSize)
}
