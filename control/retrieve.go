package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"freezer/aws"
	"freezer/pipeline"
	"freezer/pipeline/compress"
	"freezer/pipeline/tarball"
	"freezer/store"
)

// ParseTier accepts a retrieval tier in any case; "" is Standard.
func ParseTier(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "standard":
		return aws.TierStandard, nil
	case "expedited":
		return aws.TierExpedited, nil
	case "bulk":
		return aws.TierBulk, nil
	}
	return "", mark(ErrInvalid, fmt.Errorf("tier %q is not Expedited, Standard or Bulk", s))
}

// Retrieval outcomes.
const (
	RetrieveRequested  = "requested"   // a retrieval job was started
	RetrieveInProgress = "in progress" // Glacier is still preparing it
	RetrieveDownloaded = "downloaded"  // the local file is there now
	RetrieveLocal      = "already local"
)

// RetrieveResult says what Retrieve did.
type RetrieveResult struct {
	Outcome string
	Job     store.Job
	Archive ArchiveInfo
}

// Retrieve is the manual's retrieve action: request a retrieval job when
// none is current, or download the output when one has succeeded.
func (e *Engine) Retrieve(ctx context.Context, vault, name, tier string) (RetrieveResult, error) {
	tier, err := ParseTier(tier)
	if err != nil {
		return RetrieveResult{}, err
	}
	release, err := e.claim(vault, name, "retrieve")
	if err != nil {
		return RetrieveResult{}, err
	}
	defer release()
	info, err := e.Archive(ctx, vault, name)
	if err != nil {
		return RetrieveResult{}, err
	}
	switch info.State {
	case store.StateLiquid, store.StateLocal:
		return RetrieveResult{Outcome: RetrieveLocal, Archive: info}, nil
	case store.StateInvalid:
		return RetrieveResult{}, mark(ErrNotFound, fmt.Errorf("vault %s: archive %s is neither in Glacier nor local: nothing to retrieve", vault, name))
	}
	if info.State == store.StateMelting {
		job, err := e.refreshJob(ctx, *info.Job)
		if err != nil {
			return RetrieveResult{}, err
		}
		if job.Phase(e.o.Now()) == store.JobInProgress {
			return RetrieveResult{Outcome: RetrieveInProgress, Job: job, Archive: info}, nil
		}
		if info, err = e.Archive(ctx, vault, name); err != nil {
			return RetrieveResult{}, err
		}
	}
	if info.State == store.StateMelted {
		if err := e.download(ctx, info, *info.Job); err != nil {
			return RetrieveResult{}, err
		}
		info, err = e.Archive(ctx, vault, name)
		if err != nil {
			return RetrieveResult{}, err
		}
		return RetrieveResult{Outcome: RetrieveDownloaded, Job: *info.Job, Archive: info}, nil
	}
	// Frozen (or a job that failed or expired): ask Glacier.
	id, err := e.o.Glacier.InitiateArchiveRetrieval(ctx, vault, aws.RetrievalRequest{
		ArchiveID: info.RemoteID, Tier: tier, SNSTopic: e.o.SNSTopic,
		Description: "freezer retrieve " + truncate(vault+"/"+name, 900),
	})
	if err != nil {
		return RetrieveResult{}, fmt.Errorf("vault %s: archive %s: request retrieval: %w", vault, name, err)
	}
	job := store.Job{ID: id, VaultID: info.VaultID, Vault: vault, Action: store.ActionArchiveRetrieval,
		ArchiveID: info.ID, RemoteArchiveID: info.RemoteID, Tier: tier, Status: store.JobStatusInProgress,
		Size: info.Size, Created: e.o.Now()}
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, job) }); err != nil {
		return RetrieveResult{}, err
	}
	e.log.Info().Str("vault", vault).Str("archive", name).Str("job", id).Str("tier", tier).Msg("retrieval requested")
	info.State, info.Job = store.StateMelting, &job
	return RetrieveResult{Outcome: RetrieveRequested, Job: job, Archive: info}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// refreshJob asks Glacier for a job's status and records it.
func (e *Engine) refreshJob(ctx context.Context, j store.Job) (store.Job, error) {
	rj, err := e.o.Glacier.DescribeJob(ctx, j.Vault, j.ID)
	if aws.IsNotFound(err) {
		// Glacier forgets jobs some time after their output expires.
		j.Status, j.StatusMessage = store.JobStatusFailed, "Glacier no longer knows this job"
		return j, e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, j) })
	}
	if err != nil {
		return j, fmt.Errorf("vault %s: job %s: %w", j.Vault, j.ID, err)
	}
	return e.recordJob(ctx, j, rj)
}

// recordJob stores what Glacier says of a job we know.
func (e *Engine) recordJob(ctx context.Context, j store.Job, rj aws.Job) (store.Job, error) {
	j.Status, j.StatusMessage = rj.Status, rj.StatusMessage
	if rj.TreeHash != "" {
		j.TreeHash = rj.TreeHash
	} else if rj.ArchiveTreeHash != "" {
		j.TreeHash = rj.ArchiveTreeHash
	}
	if rj.ArchiveSize > 0 {
		j.Size = rj.ArchiveSize
	}
	if rj.Completed {
		j.Completed = rj.CompletedAt
		if j.Completed.IsZero() {
			j.Completed = e.o.Now()
		}
		j.Expires = expiresAt(j.Completed)
	}
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, j) })
	return j, err
}

// download installs a succeeded job's output as the archive's local file
// and sets the job's executed date.
func (e *Engine) download(ctx context.Context, info ArchiveInfo, job store.Job) error {
	key, err := e.keyFor(ctx, info.Archive)
	if err != nil {
		return err
	}
	// Compression is checked for archives whose making freezer knows
	// (its own, or found in an inventory with a freezer description).
	alg := compress.Algorithm("")
	if info.Compression != CompressionUnknown {
		a, err := compress.Parse(info.Compression)
		if err != nil {
			return fmt.Errorf("vault %s: archive %s: %w", info.Vault, info.Name, err)
		}
		alg = a
	}
	size := info.Size
	if size == 0 {
		size = job.Size
	}
	treeHash := info.TreeHash
	if treeHash == "" {
		treeHash = job.TreeHash
	}
	dest := e.localPath(info.Vault, info.Name)
	e.removeStaleSpools()
	prog := e.progress(fmt.Sprintf("download %s/%s", info.Vault, info.Name), size)
	defer prog.Done()
	res, err := pipeline.Download(ctx, e.o.Glacier, pipeline.DownloadRequest{
		Vault: info.Vault, Name: info.Name, JobID: job.ID, Size: size, TreeHash: treeHash, Key: key,
		Compression: alg, SHA256: info.SHA256, Dest: dest, TempDir: e.tempDir(), Chunk: e.o.ChunkSize,
		Threads: e.o.Threads, Progress: prog.Add, Logger: e.log,
	})
	if err != nil {
		return err
	}
	now := e.o.Now()
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		a := info.Archive
		a.LocalPath, a.LocalSize = dest, res.Size
		if a.SHA256 == "" {
			a.SHA256 = res.SHA256
		}
		if _, err := tx.PutArchive(ctx, a); err != nil {
			return err
		}
		return tx.MarkExecuted(ctx, job.ID, now)
	})
	if err != nil {
		return err
	}
	e.log.Info().Str("vault", info.Vault).Str("archive", info.Name).Int64("bytes", res.Size).Int("refetched_ranges", res.Retries).Msg("retrieved")
	if info.FileCount == 0 && alg != "" {
		// Found in an inventory: learn its files now that it is here.
		if err := e.learnFiles(ctx, info.Archive, dest, alg); err != nil {
			e.log.Warn().Err(err).Str("vault", info.Vault).Str("archive", info.Name).Msg("could not list the files of the retrieved archive")
		}
	}
	return nil
}

// learnFiles records the files inside a local archive file.
func (e *Engine) learnFiles(ctx context.Context, a store.Archive, file string, alg compress.Algorithm) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := compress.NewReader(f, alg)
	if err != nil {
		return err
	}
	defer zr.Close()
	var files []store.FileRecord
	_, err = tarball.List(ctx, zr, tarball.ListOptions{Hash: true}, func(le tarball.ListEntry) error {
		if le.Type == tarball.TypeFile {
			files = append(files, store.FileRecord{Path: le.Name, Name: path.Base(le.Name), Size: le.Size, SHA256: le.SHA256})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddFiles(ctx, a.ID, files) })
}

// RetrieveAndWait retrieves an archive and waits until its local file is
// there: it requests the job if needed, waits for Glacier (SQS
// notifications when a queue is configured, DescribeJob polls as well),
// then downloads.
func (e *Engine) RetrieveAndWait(ctx context.Context, vault, name, tier string) (RetrieveResult, error) {
	for {
		res, err := e.Retrieve(ctx, vault, name, tier)
		if err != nil {
			return res, err
		}
		switch res.Outcome {
		case RetrieveDownloaded, RetrieveLocal:
			return res, nil
		}
		if err := e.waitJob(ctx, res.Job); err != nil {
			return res, err
		}
	}
}

// waitJob returns once Glacier reports the job complete (or failed).
func (e *Engine) waitJob(ctx context.Context, job store.Job) error {
	interval := time.Second
	next := e.o.Now()
	for {
		if !e.o.Now().Before(next) {
			j, err := e.refreshJob(ctx, job)
			if err != nil {
				e.log.Warn().Err(err).Str("job", job.ID).Msg("could not ask Glacier about the job; will try again")
			} else if j.Status != store.JobStatusInProgress {
				if j.Status == store.JobStatusFailed {
					return fmt.Errorf("vault %s: job %s failed: %s", j.Vault, j.ID, j.StatusMessage)
				}
				return nil
			}
			next = e.o.Now().Add(interval)
			interval = min(interval*2, e.o.JobPollMax)
		}
		wait := time.Until(next)
		if e.o.Queue != nil && e.o.QueueURL != "" && e.o.PollTime > 0 {
			done, err := e.pollQueue(ctx, job.ID, min(e.o.PollTime, max(wait, time.Second)))
			if err != nil {
				e.log.Warn().Err(err).Msg("reading the SQS queue failed; polling Glacier instead")
			} else if done {
				j, err := e.o.DB.Job(ctx, job.ID)
				if err == nil && j.Status == store.JobStatusFailed {
					return fmt.Errorf("vault %s: job %s failed: %s", j.Vault, j.ID, j.StatusMessage)
				}
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(wait, 10*time.Millisecond)):
		}
	}
}

// pollQueue long-polls the SQS queue once, records every job notification
// for a job the catalog knows and deletes its message; it reports whether
// the job with id completed. Notifications of jobs this catalog does not
// know are left in the queue for the client that made them.
func (e *Engine) pollQueue(ctx context.Context, id string, wait time.Duration) (bool, error) {
	msgs, err := e.o.Queue.Receive(ctx, e.o.QueueURL, 10, wait, time.Minute)
	if err != nil {
		return false, err
	}
	done := false
	for _, m := range msgs {
		rj, err := aws.ParseJobNotification(m.Body)
		if err != nil {
			e.log.Warn().Err(err).Str("message", m.ID).Msg("SQS message is not a Glacier job notification; deleting it")
			if err := e.o.Queue.Delete(ctx, e.o.QueueURL, m.ReceiptHandle); err != nil {
				return done, err
			}
			continue
		}
		j, err := e.o.DB.Job(ctx, rj.ID)
		if errors.Is(err, store.ErrNotFound) {
			e.log.Debug().Str("job", rj.ID).Msg("notification for a job this catalog does not know; leaving it")
			continue
		}
		if err != nil {
			return done, err
		}
		if _, err := e.recordJob(ctx, j, rj); err != nil {
			return done, err
		}
		if err := e.o.Queue.Delete(ctx, e.o.QueueURL, m.ReceiptHandle); err != nil {
			return done, err
		}
		if rj.ID == id && rj.Completed {
			done = true
		}
	}
	return done, nil
}

// removeStaleSpools deletes download spools a crashed run left behind. A
// spool untouched for a day belongs to no download in progress.
func (e *Engine) removeStaleSpools() {
	old, _ := filepath.Glob(filepath.Join(e.tempDir(), pipeline.SpoolPattern))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && e.o.Now().Sub(st.ModTime()) > 24*time.Hour {
			if os.Remove(p) == nil {
				e.log.Info().Str("file", p).Msg("removed a download left behind by an interrupted run")
			}
		}
	}
}
