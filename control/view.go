package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"freezer/pipeline/keys"
	"freezer/store"
)

// View reads the catalog for listings: vaults, archives with their
// states, jobs, files, tasks, errors and keys. It never touches the
// network, never writes, and runs a bounded number of queries per listing
// whatever the number of archives — so a mount can list a vault of ten
// thousand archives on every ls, and a status reader can open the catalog
// read-only. An archive's local copy is what the catalog records: the
// engine keeps that true (it records a copy only once it is in place, and
// forgets it before deleting it).
type View struct {
	db       *store.DB
	now      func() time.Time
	me       identity
	engineID string
	cache    *listings // the archive rows of vaults listed, kept true by the change log
}

// NewView returns a view of a catalog (which may be open read-only).
func NewView(db *store.DB, now func() time.Time) *View {
	if now == nil {
		now = time.Now
	}
	return newView(db, now, selfIdentity(), "")
}

func newView(db *store.DB, now func() time.Time, me identity, engineID string) *View {
	return &View{db: db, now: now, me: me, engineID: engineID, cache: &listings{}}
}

// Close lets go of the connection the view follows the change log on.
func (v *View) Close() {
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	v.cache.close()
}

// ArchiveInfo is an archive with its state and the job behind it.
type ArchiveInfo struct {
	store.Archive
	State store.State
	Local bool       // the catalog records a local copy
	Job   *store.Job // the retrieval job behind the state (newest ready, else in progress, else newest), if any
}

// Expires is when a melted archive's job output stops being
// downloadable (zero unless melted).
func (a ArchiveInfo) Expires() time.Time {
	if a.State == store.StateMelted && a.Job != nil {
		return a.Job.Expires
	}
	return time.Time{}
}

// info computes an archive's state from the catalog and its jobs (newest
// first).
func (v *View) info(a store.Archive, jobs []store.Job) ArchiveInfo {
	now := v.now()
	info := ArchiveInfo{Archive: a, Local: a.LocalPath != ""}
	phase := store.CurrentPhase(jobs, now)
	for i := range jobs {
		if jobs[i].Phase(now) == phase {
			j := jobs[i]
			info.Job = &j
			break
		}
	}
	info.State = store.ArchiveState(a.Remote(), info.Local, phase)
	return info
}

// Archive returns one archive with its state.
func (v *View) Archive(ctx context.Context, vault, name string) (ArchiveInfo, error) {
	a, err := v.db.Archive(ctx, vault, name)
	if err != nil {
		return ArchiveInfo{}, archiveNotFound(vault, name, err)
	}
	jobs, err := v.db.ArchiveJobs(ctx, a.ID)
	if err != nil {
		return ArchiveInfo{}, err
	}
	return v.info(a, jobs), nil
}

func archiveNotFound(vault, name string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return mark(ErrNotFound, fmt.Errorf("vault %s: archive %s does not exist", vault, name))
	}
	return err
}

func vaultNotFound(name string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return withHint(mark(ErrNotFound, fmt.Errorf("vault %s does not exist", name)), "vault create "+name)
	}
	return err
}

// Archives lists a vault's archives with their states. The first listing
// of a vault reads it in two queries; later ones read only what changed
// meanwhile (listings.go).
func (v *View) Archives(ctx context.Context, vault string) ([]ArchiveInfo, error) {
	rows, err := v.cache.archives(ctx, v.db, vault)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		if _, err := v.db.Vault(ctx, vault); err != nil {
			return nil, vaultNotFound(vault, err)
		}
		return nil, nil
	}
	out := make([]ArchiveInfo, len(rows))
	for i, r := range rows {
		out[i] = v.info(r.a, r.jobs)
	}
	return out, nil
}

// VaultInfo is a vault with what the catalog holds in it.
type VaultInfo struct {
	store.Vault
	Archives      int64 // archives in the catalog
	LocalArchives int64 // of which have a local copy
	CatalogSize   int64 // bytes of the catalog's archives in Glacier
	LocalSize     int64 // bytes of their local copies
}

// Remote reports whether Glacier listed the vault at the last refresh.
func (vi VaultInfo) Remote() bool { return vi.ARN != "" }

// Vaults lists the vaults, in one query.
func (v *View) Vaults(ctx context.Context) ([]VaultInfo, error) {
	all, err := v.db.VaultSummaries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]VaultInfo, len(all))
	for i, s := range all {
		out[i] = VaultInfo{Vault: s.Vault, Archives: s.Archives, LocalArchives: s.LocalArchives,
			CatalogSize: s.RemoteBytes, LocalSize: s.LocalBytes}
	}
	return out, nil
}

// Vault returns one vault with its figures.
func (v *View) Vault(ctx context.Context, name string) (VaultInfo, error) {
	all, err := v.Vaults(ctx)
	if err != nil {
		return VaultInfo{}, err
	}
	for _, vi := range all {
		if vi.Name == name {
			return vi, nil
		}
	}
	return VaultInfo{}, vaultNotFound(name, store.ErrNotFound)
}

// ArchiveFiles lists the files inside an archive, as recorded when it was
// made (or when it was retrieved, for an archive found in an inventory).
func (v *View) ArchiveFiles(ctx context.Context, vault, name string) ([]store.FileRecord, error) {
	a, err := v.db.Archive(ctx, vault, name)
	if err != nil {
		return nil, archiveNotFound(vault, name, err)
	}
	return v.db.ArchiveFiles(ctx, a.ID)
}

// Files lists every file kept in an archive, with the path from the newest
// archive holding it (the manual's file dialog).
func (v *View) Files(ctx context.Context) ([]store.CatalogFile, error) {
	return v.db.Files(ctx)
}

// Jobs lists every job the catalog knows — requested here, or listed by
// Glacier at the last refresh — newest first.
func (v *View) Jobs(ctx context.Context) ([]store.Job, error) {
	return v.db.Jobs(ctx)
}

// TaskInfo is a task as people see it: its state says interrupted when
// its process died, with a rate and an ETA while it runs.
type TaskInfo struct {
	store.Task
	ETA   time.Duration // -1 when unknown
	Owner string        // "pid 1234 (archive create)", "this process"
}

// Ended reports whether the task will change no more.
func (t TaskInfo) Ended() bool { return store.TaskFinished(t.State) }

// Err is the task's failure as an error of its kind, with the control
// line that resumes it as its hint; nil unless it failed, was cancelled or
// was interrupted.
func (t TaskInfo) Err() error {
	switch t.State {
	case store.TaskDone, store.TaskQueued, store.TaskRunning:
		return nil
	}
	kind := KindError(t.ErrorKind)
	if kind == nil {
		kind = errors.New("failed")
	}
	msg := t.Error
	if msg == "" {
		msg = t.State
	}
	err := mark(kind, fmt.Errorf("task %d (%s %s): %s", t.ID, t.Kind, t.Target(), msg))
	if t.State == store.TaskInterrupted || t.State == store.TaskCancelled || errors.Is(kind, ErrInterrupted) {
		err = mark(ErrInterrupted, err)
	}
	if t.Resume != "" && t.State != store.TaskCancelled {
		err = withHint(err, t.Resume)
	}
	return err
}

// Target is "vault/archive", or the vault alone.
func (t TaskInfo) Target() string {
	if t.Archive == "" {
		return t.Vault
	}
	return t.Vault + "/" + t.Archive
}

func (v *View) taskInfo(t store.Task) TaskInfo {
	ti := TaskInfo{Task: t, ETA: -1}
	if !store.TaskFinished(t.State) {
		if t.Engine == nil || !v.me.alive(*t.Engine, v.engineID, v.now()) {
			ti.State = store.TaskInterrupted
			ti.ErrorKind = "interrupted"
			ti.Error = fmt.Sprintf("interrupted: its process (pid %d on %s) stopped before it finished", t.OwnerPID, t.OwnerHost)
		} else if t.State == store.TaskRunning && t.Rate > 0 && t.BytesTotal > t.BytesDone {
			ti.ETA = time.Duration(float64(t.BytesTotal-t.BytesDone) / t.Rate * float64(time.Second)).Round(time.Second)
		}
	}
	if t.Engine != nil {
		ti.Owner = v.me.describeOwner(*t.Engine, v.engineID)
	} else {
		ti.Owner = "pid " + strconv.Itoa(t.OwnerPID)
		if t.Command != "" {
			ti.Owner += " (" + t.Command + ")"
		}
		if t.OwnerHost != v.me.host {
			ti.Owner += " on " + t.OwnerHost
		}
	}
	return ti
}

// Tasks lists unfinished tasks of every process and the newest recent
// ended ones, oldest first.
func (v *View) Tasks(ctx context.Context, recent int) ([]TaskInfo, error) {
	ts, err := v.db.Tasks(ctx, recent)
	if err != nil {
		return nil, err
	}
	out := make([]TaskInfo, len(ts))
	for i, t := range ts {
		out[i] = v.taskInfo(t)
	}
	return out, nil
}

// Task returns one task.
func (v *View) Task(ctx context.Context, id int64) (TaskInfo, error) {
	t, err := v.db.Task(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return TaskInfo{}, mark(ErrNotFound, fmt.Errorf("task %d does not exist", id))
	}
	if err != nil {
		return TaskInfo{}, err
	}
	return v.taskInfo(t), nil
}

// Errors lists the newest n entries of the error log, oldest first.
func (v *View) Errors(ctx context.Context, n int) ([]store.ErrorEntry, error) {
	return v.db.Errors(ctx, n)
}

// KeyInfo is a key as listed: never its material.
type KeyInfo struct {
	ID, Name, Algorithm string
	Default             bool
	Legacy              bool
	Created             time.Time
}

// Keys lists the keys without their material.
func (v *View) Keys(ctx context.Context) ([]KeyInfo, error) {
	all, err := v.db.Keys(ctx)
	if err != nil {
		return nil, err
	}
	def, _, err := v.db.Setting(ctx, defaultKeySetting)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(all))
	for _, k := range all {
		out = append(out, KeyInfo{ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Default: k.ID == def,
			Legacy: keys.IsLegacy(k.Algorithm), Created: k.Created})
	}
	return out, nil
}

// ExportKey returns a key as JSON, the form key import and the recovery
// recipe read.
func (v *View) ExportKey(ctx context.Context, id string) ([]byte, error) {
	k, err := loadKey(ctx, v.db, id)
	if err != nil {
		return nil, err
	}
	return keys.Export(k)
}

// loadKey loads a key with its material.
func loadKey(ctx context.Context, db *store.DB, id string) (keys.Key, error) {
	sk, err := db.Key(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return keys.Key{}, withHint(mark(ErrNotFound, fmt.Errorf("key %s is not in the catalog", id)), "key list")
	}
	if err != nil {
		return keys.Key{}, err
	}
	k, err := keys.New(sk.Algorithm, sk.Name, sk.Material, sk.Created)
	if err != nil {
		return keys.Key{}, fmt.Errorf("key %s in the catalog is damaged: %w", id, err)
	}
	if k.ID != sk.ID {
		return keys.Key{}, fmt.Errorf("key %s in the catalog does not match its id", id)
	}
	return k, nil
}
