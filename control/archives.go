package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"freezer/aws"
	"freezer/pipeline/compress"
	"freezer/pipeline/tarball"
	"freezer/store"
)

// RemovePhrase is the confirmation the manual requires before an archive
// is deleted from Glacier.
const RemovePhrase = "I am sure"

// ReservedArchiveName is the name the mount gives each vault's folder of
// archive contents; no archive may take it.
const ReservedArchiveName = ".contents"

// DisconnectRequest deletes only an archive's local file (verb
// disconnect).
type DisconnectRequest struct{ Vault, Name string }

// Verb is "disconnect".
func (r *DisconnectRequest) Verb() string { return "disconnect" }

// Line writes the request as a control line.
func (r *DisconnectRequest) Line() string {
	return line([]string{"disconnect", r.Vault + "/" + r.Name})
}

// check: as the manual says, liquid becomes frozen (or melted while the
// job output is current). An archive that is only local is refused: that
// would lose it.
func (r *DisconnectRequest) check(ctx context.Context, e *Engine) (*action, error) {
	a, err := e.o.DB.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, archiveNotFound(r.Vault, r.Name, err)
	}
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	if err := e.archiveHere(ctx, a); err != nil {
		return nil, err
	}
	if !a.Remote() {
		return nil, withHint(refuse(ErrPermission, "%s is not in Glacier yet; disconnecting would lose it (upload it first)", what),
			line([]string{"upload", r.Vault + "/" + r.Name}))
	}
	if a.LocalPath == "" {
		return &action{reply: Reply{Message: what + " has no local copy; nothing to do"}}, nil
	}
	claims, err := e.claim(ctx, "disconnected", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		// Catalog first: a crash after it leaves an orphan file (which the
		// next download of the archive replaces), never a catalog entry
		// pointing at nothing.
		if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetLocalPath(ctx, a.ID, "") }); err != nil {
			return Reply{}, err
		}
		e.changed()
		if err := os.Remove(a.LocalPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Reply{}, fmt.Errorf("%s: %w", what, err)
		}
		info, err := e.Archive(ctx, r.Vault, r.Name)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Fields: map[string]string{"state": string(info.State)},
			Message: fmt.Sprintf("%s: local copy deleted; now %s", what, info.State)}, nil
	}}, nil
}

// RemoveRequest deletes an archive from Glacier (verb remove), only with
// the exact phrase "I am sure". It never deletes a local file: an archive
// with a local copy stays, as a local archive; one with nothing left
// leaves the catalog.
type RemoveRequest struct{ Vault, Name, Confirm string }

// Verb is "remove".
func (r *RemoveRequest) Verb() string { return "remove" }

// Line writes the request as a control line.
func (r *RemoveRequest) Line() string {
	return line([]string{"remove", r.Vault + "/" + r.Name}, "confirm", r.Confirm)
}

func (r *RemoveRequest) check(ctx context.Context, e *Engine) (*action, error) {
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	if r.Confirm != RemovePhrase {
		return nil, refuse(ErrPermission, "%s: removing an archive from Glacier needs the confirmation %q", what, RemovePhrase)
	}
	a, err := e.o.DB.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, archiveNotFound(r.Vault, r.Name, err)
	}
	if err := e.archiveHere(ctx, a); err != nil {
		return nil, err
	}
	if !a.Remote() && hasLocal(a) {
		// Never delete a local file: it may be the only copy. A person who
		// wants the archive gone deletes the file; the entry left with
		// nothing can then be removed.
		return nil, refuse(ErrNotFound, "%s is not in Glacier: nothing to remove there; its local copy (perhaps the only one) stays at %s — delete that file yourself if you are sure, then remove the archive", what, a.LocalPath)
	}
	var g Glacier
	if a.Remote() {
		if g, err = e.glacier(); err != nil {
			return nil, err
		}
	}
	claims, err := e.claim(ctx, "removed", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		if a.Remote() {
			err := g.DeleteArchive(ctx, r.Vault, a.RemoteID)
			if err != nil && !aws.IsNotFound(err) {
				return Reply{}, dress(what+": delete from Glacier", err)
			}
			e.log.Info().Str("vault", r.Vault).Str("archive", r.Name).Str("archive_id", a.RemoteID).Bool("already_gone", err != nil).Msg("deleted from Glacier")
		}
		// Decide inside the transaction: the local copy as the catalog has
		// it now, not as it was before the network call.
		kept := false
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			cur, err := tx.Archive(ctx, r.Vault, r.Name)
			if err != nil {
				return err
			}
			if hasLocal(cur) {
				kept = true
				return tx.SetUploaded(ctx, cur.ID, "", 0, "")
			}
			return tx.DeleteArchive(ctx, cur.ID)
		})
		if err != nil {
			return Reply{}, dress(what, err)
		}
		e.changed()
		if !kept {
			// The manual's database maintenance: files no archive holds go.
			if n, err := e.o.DB.Maintain(ctx); err != nil {
				e.log.Warn().Err(err).Msg("catalog maintenance failed; it runs again at the next removal")
			} else if n > 0 {
				e.log.Debug().Int64("files", n).Msg("catalog maintenance removed files no archive holds")
			}
			return Reply{Message: what + ": removed from Glacier and from the catalog"}, nil
		}
		return Reply{Fields: map[string]string{"state": string(store.StateLocal)},
			Message: what + ": removed from Glacier; its local copy stays (now local)"}, nil
	}}, nil
}

// ExtractOptions tune Extract.
type ExtractOptions struct {
	Overwrite         bool // replace existing files
	SkipExisting      bool // restore only what is missing; leave what is there as it is
	AllowOutsideLinks bool // restore symbolic links that point outside dest, as they are
	// Include restores only what matches one of these patterns (a path
	// inside the archive, or a shell pattern: "2024", "2024/*.jpg"), with
	// the folders holding it. Empty: everything.
	Include []string
}

// ExtractRequest restores an archive's files from its local copy into a
// folder (verb extract).
type ExtractRequest struct {
	Vault, Name string
	Dest        string
	ExtractOptions
}

// Verb is "extract".
func (r *ExtractRequest) Verb() string { return "extract" }

// Line writes the request as a control line.
func (r *ExtractRequest) Line() string {
	var kv []string
	if r.Overwrite {
		kv = append(kv, "overwrite", "yes")
	}
	if r.SkipExisting {
		kv = append(kv, "skip-existing", "yes")
	}
	if r.AllowOutsideLinks {
		kv = append(kv, "allow-outside-links", "yes")
	}
	for _, p := range r.Include {
		kv = append(kv, "include", p)
	}
	return line([]string{"extract", r.Vault + "/" + r.Name, r.Dest}, kv...)
}

func (r *ExtractRequest) check(ctx context.Context, e *Engine) (*action, error) {
	info, err := e.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	if !info.Local || !hasLocal(info.Archive) {
		return nil, withHint(refuse(ErrRemote, "%s is %s: it has no local copy; retrieve it first", what, info.State),
			line([]string{"retrieve", r.Vault + "/" + r.Name}))
	}
	if r.Dest == "" {
		return nil, refuse(ErrInvalid, "%s: no folder to restore into", what)
	}
	if r.Overwrite && r.SkipExisting {
		return nil, refuse(ErrInvalid, "%s: replacing what exists and skipping what exists exclude each other", what)
	}
	if _, err := tarball.CleanPatterns(r.Include); err != nil {
		return nil, mark(ErrInvalid, fmt.Errorf("%s: %w", what, err))
	}
	claims, err := e.claim(ctx, "extracted", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	req := *r
	return &action{claims: claims, task: &taskSpec{kind: TaskExtract, vault: r.Vault, archive: r.Name, phase: "extract",
		total: info.LocalSize, resume: r.Line(),
		run: func(ctx context.Context, run *Run) (string, error) { return e.extract(ctx, run, info, req) }}}, nil
}

// extract is an extract task: the local copy, decompressed, read once to
// check it (nothing is written when something would be refused, or is in
// the way), then again through the safe tar reader into the destination.
func (e *Engine) extract(ctx context.Context, run *Run, info ArchiveInfo, r ExtractRequest) (string, error) {
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	opts := tarball.ExtractOptions{Overwrite: r.Overwrite, SkipExisting: r.SkipExisting, SameOwner: os.Geteuid() == 0,
		AllowOutsideLinks: r.AllowOutsideLinks, Include: r.Include, Logger: e.log}
	run.Phase("check", info.LocalSize)
	plan, err := withArchive(info, run, func(zr io.Reader) (*tarball.ExtractPlan, error) {
		return tarball.Preflight(ctx, zr, r.Dest, opts)
	})
	if err != nil {
		return "", e.extractRefused(run, info, r, err)
	}
	if plan.Restored == 0 && plan.Existing > 0 {
		return fmt.Sprintf("nothing to restore: all %d entries are already in %s", plan.Existing, r.Dest), nil
	}
	run.Phase("extract", info.LocalSize)
	opts.Plan = plan
	st, err := withArchive(info, run, func(zr io.Reader) (tarball.Stats, error) {
		return tarball.Extract(ctx, zr, r.Dest, opts)
	})
	if err != nil {
		return "", fmt.Errorf("%s: extract into %s: %w", what, r.Dest, err)
	}
	msg := fmt.Sprintf("%s restored into %s", tallyExtracted(st), r.Dest)
	if st.Existing > 0 {
		msg += fmt.Sprintf("; %d already there left as they were", st.Existing)
	}
	if st.Excluded > 0 {
		msg += fmt.Sprintf("; %d not matching the include patterns left out", st.Excluded)
	}
	return msg, nil
}

// extractRefused explains a refused extract and sets what the task's
// hint suggests: the same request with the option that allows it, or
// nothing when no option does.
func (e *Engine) extractRefused(run *Run, info ArchiveInfo, r ExtractRequest, err error) error {
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	retry := func(change func(*ExtractRequest)) {
		alt := r
		change(&alt)
		run.resumeWith(alt.Line())
	}
	run.resumeWith("")
	var conflict *tarball.ConflictError
	var refused *tarball.RefusedError
	switch {
	case errors.Is(err, tarball.ErrNotTar):
		return fmt.Errorf("%s: not a tar archive; the retrieved file is at %s", what, info.LocalPath)
	case errors.As(err, &conflict):
		retry(func(x *ExtractRequest) { x.Overwrite, x.SkipExisting = false, true })
		how := "skip them to restore only what is missing, or replace them"
		if conflict.DirsInWay > 0 {
			how = "skip them to restore only what is missing (a folder in the way of a file is never replaced)"
		}
		return mark(ErrExists, fmt.Errorf("%s: %v (%s)", what, err, how))
	case errors.As(err, &refused):
		switch refused.Allow {
		case "allow-outside-links":
			retry(func(x *ExtractRequest) { x.AllowOutsideLinks = true })
		case "skip-existing":
			retry(func(x *ExtractRequest) { x.Overwrite, x.SkipExisting = false, true })
		}
		return mark(ErrPermission, fmt.Errorf("%s: %w", what, err))
	case strings.Contains(err.Error(), "nothing in the archive matches"):
		return mark(ErrNotFound, fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// withArchive runs fn on the decompressed bytes of an archive's local copy,
// counting the compressed bytes read as the task's progress.
func withArchive[T any](info ArchiveInfo, run *Run, fn func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(info.LocalPath)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	var src io.Reader = &countingReader{r: f, add: run.Add}
	var zr io.ReadCloser
	if info.Compression == CompressionUnknown {
		// Another tool's archive: whatever compression its bytes show.
		zr, _, err = compress.NewDetectingReader(src)
	} else {
		var alg compress.Algorithm
		if alg, err = compress.Parse(info.Compression); err == nil {
			zr, err = compress.NewReader(src, alg)
		}
	}
	if err != nil {
		return zero, err
	}
	defer zr.Close()
	return fn(zr)
}

type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(int64(n))
	return n, err
}

// expiresAt is when a job's output stops being downloadable: Glacier keeps
// it 24 hours after completion.
func expiresAt(completed time.Time) time.Time {
	if completed.IsZero() {
		return time.Time{}
	}
	return completed.Add(24 * time.Hour)
}

// Disconnect deletes only an archive's local file.
func (e *Engine) Disconnect(ctx context.Context, vault, name string) error {
	_, err := one(e.Do(ctx, &DisconnectRequest{Vault: vault, Name: name}))
	return err
}

// Remove deletes an archive from Glacier, only with the phrase "I am sure".
func (e *Engine) Remove(ctx context.Context, vault, name, phrase string) error {
	_, err := one(e.Do(ctx, &RemoveRequest{Vault: vault, Name: name, Confirm: phrase}))
	return err
}

// Extract restores an archive's files from its local copy into dest and
// waits; it returns what was restored.
func (e *Engine) Extract(ctx context.Context, vault, name, dest string, o ExtractOptions) (string, error) {
	rep, err := e.RunWait(ctx, &ExtractRequest{Vault: vault, Name: name, Dest: dest, ExtractOptions: o})
	if err != nil {
		return "", err
	}
	t, err := e.Task(ctx, rep.Task)
	return t.Result, err
}

// FormatBytes prints a byte count for people, with a binary unit
// ("12.3 MiB"); every front end shows sizes this way.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Tally counts what an archive holds, the same way wherever it is told
// (plan, create, extract), so that one tree gives one set of figures:
// Files are regular files with their hard links (each link is a name
// that restores as a file), Bytes the contents stored once per file.
type Tally struct {
	Files     int64
	HardLinks int64 // of Files, stored as links to an earlier file
	Symlinks  int64
	Dirs      int64
	Bytes     int64
}

func (t Tally) String() string {
	var b strings.Builder
	b.WriteString(plural(t.Files, "file", "files"))
	if t.HardLinks > 0 {
		fmt.Fprintf(&b, " (%s)", plural(t.HardLinks, "hard link", "hard links"))
	}
	if t.Symlinks > 0 {
		b.WriteString(", " + plural(t.Symlinks, "symbolic link", "symbolic links"))
	}
	fmt.Fprintf(&b, ", %s, %s", plural(t.Dirs, "folder", "folders"), FormatBytes(t.Bytes))
	return b.String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Tally counts the selected entries as the archive will hold them.
func (s *Selection) Tally() Tally {
	var t Tally
	type fileID struct{ dev, ino uint64 }
	seen := map[fileID]bool{}
	for _, e := range s.Entries() {
		switch e.Type {
		case tarball.TypeDir:
			t.Dirs++
		case tarball.TypeSymlink:
			t.Symlinks++
		case tarball.TypeFile:
			t.Files++
			if e.Nlink > 1 {
				id := fileID{e.Dev, e.Inode}
				if seen[id] {
					t.HardLinks++
					continue
				}
				seen[id] = true
			}
			t.Bytes += e.Size
		}
	}
	return t
}

func tallyBuilt(r tarball.Result) Tally {
	return Tally{Files: int64(len(r.Files)), HardLinks: int64(r.HardLinks), Symlinks: int64(r.Symlinks), Dirs: int64(r.Dirs), Bytes: r.Bytes}
}

func tallyExtracted(st tarball.Stats) Tally {
	return Tally{Files: int64(st.Files + st.HardLinks), HardLinks: int64(st.HardLinks), Symlinks: int64(st.Symlinks), Dirs: int64(st.Dirs), Bytes: st.Bytes}
}
