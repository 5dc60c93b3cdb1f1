package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"freezer/aws"
	"freezer/store"
)

// What the daemon (`freezer daemon`, the manual's --no-gui) needs of the
// engine beyond the job watcher: a download that never requests a
// retrieval, the adoption of jobs another freezer requested for archives
// this catalog knows (a slim catalog on a server learns of retrievals asked
// for at a desk), the repair of installs a crash cut short, and one pass
// of the watcher for cron.

// freezerJobPrefix starts the description of every retrieval job a freezer
// requests (jobDescription): a job another client made with it is a
// freezer's, and its output is meant to be downloaded.
const freezerJobPrefix = "freezer retrieve "

// downloadRequest downloads the output of a succeeded retrieval job into
// the archive's local file. Unlike retrieve, it never requests a
// retrieval: the watcher acts on what Glacier has ready, and an archive
// whose job expired or that became local meanwhile is left as it is.
type downloadRequest struct{ Vault, Name, Job string }

func (r *downloadRequest) Verb() string { return "retrieve" }

func (r *downloadRequest) Line() string { return line([]string{"retrieve", r.Vault + "/" + r.Name}) }

func (r *downloadRequest) check(ctx context.Context, e *Engine) (*action, error) {
	info, err := e.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, err
	}
	if !r.ready(info) {
		return &action{reply: Reply{Fields: map[string]string{"state": string(info.State)}}}, nil
	}
	if _, err := e.glacier(); err != nil {
		return nil, err
	}
	if _, err := e.keyFor(ctx, info.Archive); err != nil {
		return nil, err
	}
	claims, err := e.claim(ctx, "downloaded", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	// Another process may have installed it between the look and the claim.
	if info, err = e.Archive(ctx, r.Vault, r.Name); err != nil || !r.ready(info) {
		claims.Release()
		if err != nil {
			return nil, err
		}
		return &action{reply: Reply{Fields: map[string]string{"state": string(info.State)}}}, nil
	}
	return e.downloadAction(info, *info.Job, claims), nil
}

// ready reports whether the archive waits for this job's output.
func (r *downloadRequest) ready(info ArchiveInfo) bool {
	return !info.Local && info.State == store.StateMelted && info.Job != nil && info.Job.ID == r.Job
}

// wantsOutput reports whether the watcher acts on a finished job: jobs
// this catalog's processes requested, and retrievals another freezer
// requested (its description says so). Another tool's jobs are left to it:
// downloading them would cost transfer nobody here asked for, and applying
// another client's inventory, or asking for one in its place, is not ours.
func wantsOutput(j store.Job) bool {
	if !j.Foreign {
		return true
	}
	return j.Action == store.ActionArchiveRetrieval && strings.HasPrefix(j.Description, freezerJobPrefix)
}

// adoptJob records a finished retrieval this catalog did not request, when
// it is a freezer's retrieval of an archive the catalog knows (in the
// vault the notification names), so that the watcher downloads it. The
// notification itself stays in the queue for the client that asked.
func (e *Engine) adoptJob(rj aws.Job) bool {
	if !e.watchOptions().Download || rj.Action != store.ActionArchiveRetrieval || rj.ArchiveID == "" ||
		!strings.HasPrefix(rj.Description, freezerJobPrefix) {
		return false
	}
	ctx := e.ctx
	a, err := e.o.DB.ArchiveByRemoteID(ctx, rj.ArchiveID)
	if err != nil {
		return false
	}
	v, err := e.o.DB.Vault(ctx, a.Vault)
	if err != nil || e.checkLocation(v) != nil || (v.ARN != "" && rj.VaultARN != "" && v.ARN != rj.VaultARN) ||
		(v.ARN == "" && !strings.HasSuffix(rj.VaultARN, ":vaults/"+v.Name)) {
		return false
	}
	j := store.Job{ID: rj.ID, VaultID: v.ID, Vault: v.Name, Action: rj.Action, ArchiveID: a.ID, RemoteArchiveID: rj.ArchiveID,
		Tier: rj.Tier, ByteRange: rj.RetrievalRange, Created: rj.Created, Description: rj.Description, Foreign: true}
	if j.Created.IsZero() {
		j.Created = e.o.Now()
	}
	j = jobUpdate(j, rj, e.o.Now())
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, j) }); err != nil {
		e.log.Warn().Err(err).Str("job", rj.ID).Msg("could not record another freezer's retrieval job")
		return false
	}
	e.changed()
	e.log.Info().Str("vault", v.Name).Str("archive", a.Name).Str("job", rj.ID).Str("status", j.Status).
		Msg("retrieval requested by another freezer; recorded, to download it here")
	return true
}

// ReapDead clears the claims of processes found dead and marks their
// tasks interrupted, so that status shows the truth without anyone
// tripping over a stale claim first. A long-running process calls it now
// and then.
func (e *Engine) ReapDead(ctx context.Context) error { return e.reapDead(ctx) }

// RecoverInstalls finishes what a process that died between recording a
// new local copy and renaming it into place left behind: the file is
// renamed into place (or, when it is already there, recorded so), and a
// copy whose file is gone altogether is forgotten. Archives a live process
// holds are left to it. It returns how many it repaired.
func (e *Engine) RecoverInstalls(ctx context.Context) (int, error) {
	pending, err := e.o.DB.Installing(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range pending {
		claims, err := e.claim(ctx, "installed", archiveResource(a.Vault, a.Name))
		if errors.Is(err, ErrBusy) {
			continue // its process lives: it installs the file itself
		}
		if err != nil {
			return n, err
		}
		done, err := e.recoverInstall(ctx, a.ID)
		claims.Release()
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

func (e *Engine) recoverInstall(ctx context.Context, id int64) (bool, error) {
	a, err := e.o.DB.ArchiveByID(ctx, id)
	if err != nil || a.Installing == "" {
		return false, notFound(err)
	}
	log := e.log.Info().Str("vault", a.Vault).Str("archive", a.Name)
	// A big archive's files are recorded after its row; the records stay
	// beside the build until all are in.
	if recs, err := openFileRecords(a.Installing + ".files"); err == nil {
		err := e.recordFiles(ctx, a.ID, recs)
		recs.remove()
		if err != nil {
			e.log.Warn().Err(err).Str("vault", a.Vault).Str("archive", a.Name).
				Msg("could not finish recording the files of an archive an interrupted run built; its file list may be short")
		} else {
			log.Msg("finished recording the files of an archive an interrupted run built")
		}
	}
	if isFile(a.Installing) {
		if err := os.MkdirAll(filepath.Dir(a.LocalPath), 0o700); err != nil {
			return false, err
		}
		if err := os.Rename(a.Installing, a.LocalPath); err != nil {
			return false, fmt.Errorf("vault %s: archive %s: install the local copy: %w", a.Vault, a.Name, err)
		}
		log.Msg("installed a local copy whose process stopped before renaming it into place")
	} else if !isFile(a.LocalPath) {
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetLocal(ctx, a.ID, "", "", 0, "") })
		if err != nil {
			return false, err
		}
		e.changed()
		e.log.Warn().Str("vault", a.Vault).Str("archive", a.Name).Str("file", a.Installing).
			Msg("a local copy was recorded but its file is gone; the archive is no longer counted as local")
		return true, nil
	}
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.Installed(ctx, a.ID) })
	if err != nil {
		return false, err
	}
	e.changed()
	return true, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// PassResult says what one pass of the job watcher did and left.
type PassResult struct {
	Tasks  []TaskInfo  // downloads and inventory applies it ran, as they ended
	Ready  []store.Job // finished jobs it could not act on (another process holds the archive, or it was refused)
	Failed int         // of Tasks, those that did not succeed
	// Pending are jobs still in Glacier's hands whose output this process
	// would act on: come back later.
	Pending []store.Job
	// Errors are transient failures met on the way (SQS or Glacier out of
	// reach); the pass went on without what they would have told.
	Errors []error
}

// WatchPass is one pass of the job watcher, for a run from cron: it reads
// the queue until it is empty, asks Glacier about every job in progress,
// acts on every finished one as the watcher would (o), and waits for the
// tasks it started.
func (e *Engine) WatchPass(ctx context.Context, o WatchOptions) (PassResult, error) {
	var res PassResult
	if e.o.Queue != nil && e.tune().QueueURL != "" {
		// Messages of jobs this catalog does not know stay hidden for a
		// while once seen, so this ends; the bound is for a queue that
		// fills faster than it drains.
		for range 20 {
			n, err := e.receive(time.Second)
			if err != nil {
				if e.ctx.Err() != nil || ctx.Err() != nil {
					return res, mark(ErrInterrupted, errors.New("freezer is stopping"))
				}
				res.Errors = append(res.Errors, fmt.Errorf("reading the SQS queue: %w", err))
				break
			}
			if n == 0 {
				break
			}
		}
	}
	pending, err := e.o.DB.PendingJobs(ctx)
	if err != nil {
		return res, err
	}
	for _, j := range pending {
		if _, err := e.refreshJob(ctx, j); err != nil {
			if ctx.Err() != nil {
				return res, mark(ErrInterrupted, ctx.Err())
			}
			res.Errors = append(res.Errors, err)
		}
	}
	ids := e.actOn(o, map[string]*pollState{})
	for _, id := range ids {
		t, err := e.Wait(ctx, id)
		if err != nil {
			return res, err
		}
		res.Tasks = append(res.Tasks, t)
		if t.State != store.TaskDone {
			res.Failed++
		}
	}
	ready, err := e.o.DB.ReadyJobs(ctx, e.o.Now())
	if err != nil {
		return res, err
	}
	ran := map[string]bool{}
	for _, t := range res.Tasks {
		ran[t.Target()] = true
	}
	for _, j := range ready {
		target := j.Vault
		if j.Action == store.ActionArchiveRetrieval {
			target += "/" + j.Archive
		}
		if e.actsOn(o, j) && !ran[target] {
			res.Ready = append(res.Ready, j)
		}
	}
	if pending, err = e.o.DB.PendingJobs(ctx); err != nil {
		return res, err
	}
	for _, j := range pending {
		if e.actsOn(o, j) {
			res.Pending = append(res.Pending, j)
		}
	}
	return res, nil
}

// actsOn reports whether the watcher, with options o, would act on job j
// once it finished.
func (e *Engine) actsOn(o WatchOptions, j store.Job) bool {
	if !wantsOutput(j) {
		return false
	}
	switch j.Action {
	case store.ActionArchiveRetrieval:
		if !o.Download || j.Archive == "" {
			return false
		}
		info, err := e.Archive(e.ctx, j.Vault, j.Archive)
		return err == nil && !info.Local
	case store.ActionInventoryRetrieval:
		return o.ApplyInventories
	}
	return false
}
