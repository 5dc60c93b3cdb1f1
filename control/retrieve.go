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
	return "", refuse(ErrInvalid, "tier %q is not Expedited, Standard or Bulk", s)
}

// TierHours is how long Glacier says a retrieval of a tier takes.
func TierHours(tier string) string {
	switch tier {
	case aws.TierExpedited:
		return "1-5 minutes"
	case aws.TierBulk:
		return "5-12 hours"
	}
	return "3-5 hours"
}

// RetrieveRequest is the manual's retrieve action (verb retrieve):
// request a retrieval job when none is current, or download the output
// when one has succeeded.
type RetrieveRequest struct{ Vault, Name, Tier string }

// Verb is "retrieve".
func (r *RetrieveRequest) Verb() string { return "retrieve" }

// Line writes the request as a control line.
func (r *RetrieveRequest) Line() string {
	tier := r.Tier
	if tier == aws.TierStandard {
		tier = ""
	}
	return line([]string{"retrieve", r.Vault + "/" + r.Name}, "tier", tier)
}

func (r *RetrieveRequest) check(ctx context.Context, e *Engine) (*action, error) {
	tier, err := ParseTier(r.Tier)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("vault %s: archive %s", r.Vault, r.Name)
	info, err := e.Archive(ctx, r.Vault, r.Name)
	if err != nil {
		return nil, err
	}
	switch info.State {
	case store.StateLiquid, store.StateLocal:
		return &action{reply: Reply{Fields: map[string]string{"state": string(info.State)}, Message: what + " is already local"}}, nil
	case store.StateInvalid:
		return nil, refuse(ErrNotFound, "%s is neither in Glacier nor local: nothing to retrieve", what)
	}
	g, err := e.glacier()
	if err != nil {
		return nil, err
	}
	if _, err := e.knownVault(ctx, r.Vault); err != nil {
		return nil, err
	}
	// A retrieval costs money and hours: refuse one whose bytes could not
	// be read here.
	if _, err := e.keyFor(ctx, info.Archive); err != nil {
		return nil, err
	}
	if info.State == store.StateMelting {
		job, err := e.refreshJob(ctx, *info.Job)
		if err != nil {
			return nil, err
		}
		if job.Phase(e.o.Now()) == store.JobInProgress {
			return nil, withHint(refuse(ErrNotYet, "%s is melting: Glacier is preparing retrieval job %s (%s, requested %s; %s usually take %s)",
				what, job.ID, job.Tier, job.Created.UTC().Format(time.DateTime), job.Tier, TierHours(job.Tier)), r.Line())
		}
		if info, err = e.Archive(ctx, r.Vault, r.Name); err != nil {
			return nil, err
		}
	}
	if info.State == store.StateMelted {
		claims, err := e.claim(ctx, "downloaded", archiveResource(r.Vault, r.Name))
		if err != nil {
			return nil, err
		}
		return e.downloadAction(info, *info.Job, claims), nil
	}
	// Frozen (or a job that failed or expired): ask Glacier.
	claims, err := e.claim(ctx, "retrieved", archiveResource(r.Vault, r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		id, err := g.InitiateArchiveRetrieval(ctx, r.Vault, aws.RetrievalRequest{
			ArchiveID: info.RemoteID, Tier: tier, SNSTopic: e.tune().SNSTopic,
			Description: jobDescription("freezer retrieve", r.Vault+"/"+r.Name),
		})
		if err != nil {
			return Reply{}, dress(what+": request retrieval", err)
		}
		job := store.Job{ID: id, VaultID: info.VaultID, Vault: r.Vault, Action: store.ActionArchiveRetrieval,
			ArchiveID: info.ID, RemoteArchiveID: info.RemoteID, Tier: tier, Status: store.JobStatusInProgress,
			Size: info.Size, Created: e.o.Now()}
		if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, job) }); err != nil {
			return Reply{}, fmt.Errorf("%s: retrieval job %s requested but not recorded: %w", what, id, err)
		}
		e.changed()
		e.pollSoon()
		e.log.Info().Str("vault", r.Vault).Str("archive", r.Name).Str("job", id).Str("tier", tier).Msg("retrieval requested")
		return Reply{Fields: map[string]string{"job": id, "state": string(store.StateMelting)},
			Message: fmt.Sprintf("%s: retrieval requested (job %s, %s: Glacier usually takes %s)", what, id, tier, TierHours(tier))}, nil
	}}, nil
}

// jobDescription makes a job description Glacier accepts (printable
// ASCII, at most 1,024 characters): bytes outside printable ASCII, and %,
// are written %XX, as archive names are in archive descriptions.
func jobDescription(prefix, s string) string {
	var b strings.Builder
	b.WriteString(prefix + " ")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			if b.Len()+3 > 1000 {
				break
			}
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		if b.Len()+1 > 1000 {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

// refreshJob asks Glacier for a job's status and records it.
func (e *Engine) refreshJob(ctx context.Context, j store.Job) (store.Job, error) {
	g, err := e.glacier()
	if err != nil {
		return j, err
	}
	rj, err := g.DescribeJob(ctx, j.Vault, j.ID)
	if aws.IsNotFound(err) {
		// Glacier forgets jobs some time after their output expires.
		j.Status, j.StatusMessage = store.JobStatusFailed, "Glacier no longer knows this job"
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetJobStatus(ctx, j) })
		e.changed()
		return j, err
	}
	if err != nil {
		return j, dress(fmt.Sprintf("vault %s: job %s", j.Vault, j.ID), err)
	}
	return e.recordJob(ctx, j, rj)
}

// recordJob stores what Glacier says of a job we know (only the columns
// Glacier decides).
func (e *Engine) recordJob(ctx context.Context, j store.Job, rj aws.Job) (store.Job, error) {
	j = jobUpdate(j, rj, e.o.Now())
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetJobStatus(ctx, j) })
	e.changed()
	return j, err
}

// downloadAction is the task that installs a succeeded job's output.
func (e *Engine) downloadAction(info ArchiveInfo, job store.Job, claims *claimSet) *action {
	size := info.Size
	if size == 0 {
		size = job.Size
	}
	return &action{claims: claims, task: &taskSpec{kind: TaskDownload, vault: info.Vault, archive: info.Name, phase: "download",
		total: size, resume: line([]string{"retrieve", info.Vault + "/" + info.Name}),
		run: func(ctx context.Context, run *Run) (string, error) { return e.download(ctx, run, info, job) }}}
}

// download installs a succeeded job's output as the archive's local file
// and sets the job's executed date: fetched and verified into a temporary
// file, recorded in the catalog, then renamed into place.
func (e *Engine) download(ctx context.Context, run *Run, info ArchiveInfo, job store.Job) (string, error) {
	what := fmt.Sprintf("vault %s: archive %s", info.Vault, info.Name)
	key, err := e.keyFor(ctx, info.Archive)
	if err != nil {
		return "", err
	}
	// Compression is checked for archives whose making freezer knows
	// (its own, or found in an inventory with a freezer description).
	alg := compress.Algorithm("")
	if info.Compression != CompressionUnknown {
		a, err := compress.Parse(info.Compression)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
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
	g, err := e.glacier()
	if err != nil {
		return "", err
	}
	temp := filepath.Join(e.tempDir(), fmt.Sprintf("%s%s-%d", buildPrefix, e.id, run.ID()))
	run.Phase("download", size)
	res, err := pipeline.Download(ctx, g, pipeline.DownloadRequest{
		Vault: info.Vault, Name: info.Name, JobID: job.ID, Size: size, TreeHash: treeHash, Key: key,
		Compression: alg, SHA256: info.SHA256, Dest: temp, TempDir: e.tempDir(), Chunk: e.tune().ChunkSize,
		Threads: e.tune().Threads, Progress: run.Add, Logger: e.log, Slots: run.slots,
	})
	if err != nil {
		return "", dress(what+": download", err)
	}
	final := e.localPath(info.Vault, info.Name)
	err = e.o.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.SetLocal(ctx, info.ID, final, temp, res.Size, res.SHA256); err != nil {
			return err
		}
		return tx.MarkExecuted(ctx, job.ID, e.o.Now())
	})
	if err != nil {
		os.Remove(temp)
		return "", err
	}
	a := info.Archive
	a.LocalPath, a.Installing = final, temp
	if err := e.installReleasing(ctx, a, run.claims); err != nil {
		return "", err
	}
	e.log.Info().Str("vault", info.Vault).Str("archive", info.Name).Int64("bytes", res.Size).Int("refetched_ranges", res.Retries).Msg("retrieved")
	if info.FileCount == 0 && alg != "" {
		// Found in an inventory: learn its files now that it is here.
		if err := e.learnFiles(ctx, info.Archive, final, alg); err != nil {
			e.log.Warn().Err(err).Str("vault", info.Vault).Str("archive", info.Name).Msg("could not list the files of the retrieved archive")
		}
	}
	return fmt.Sprintf("%s/%s: liquid, %s downloaded and verified", info.Vault, info.Name, FormatBytes(res.Size)), nil
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
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddFiles(ctx, a.ID, files) })
	e.changed()
	return err
}

// Retrieval outcomes, as Retrieve reports them.
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

// Retrieve does one retrieve request and waits for a download it starts;
// a retrieval still in Glacier's hands is RetrieveInProgress, not an
// error.
func (e *Engine) Retrieve(ctx context.Context, vault, name, tier string) (RetrieveResult, error) {
	rep, err := e.RunWait(ctx, &RetrieveRequest{Vault: vault, Name: name, Tier: tier})
	var res RetrieveResult
	switch {
	case errors.Is(err, ErrNotYet):
		res.Outcome = RetrieveInProgress
	case err != nil:
		return RetrieveResult{}, err
	case rep.Task != 0:
		res.Outcome = RetrieveDownloaded
	case rep.Fields["job"] != "":
		res.Outcome = RetrieveRequested
	default:
		res.Outcome = RetrieveLocal
	}
	if res.Archive, err = e.Archive(ctx, vault, name); err != nil {
		return RetrieveResult{}, err
	}
	if res.Archive.Job != nil {
		res.Job = *res.Archive.Job
	}
	return res, nil
}

// RetrieveAndWait retrieves an archive and waits until its local file is
// there: it requests the job if needed, waits for Glacier (SQS
// notifications when a queue is configured, DescribeJob polls as well),
// then downloads. waiting, when set, is told each time the wait for
// Glacier begins.
func (e *Engine) RetrieveAndWait(ctx context.Context, vault, name, tier string) (RetrieveResult, error) {
	return e.RetrieveAndWaitFunc(ctx, vault, name, tier, nil)
}

// RetrieveAndWaitFunc is RetrieveAndWait with a function told when the
// wait for Glacier begins (so a front end can say so).
func (e *Engine) RetrieveAndWaitFunc(ctx context.Context, vault, name, tier string, waiting func(store.Job)) (RetrieveResult, error) {
	for {
		res, err := e.Retrieve(ctx, vault, name, tier)
		if err != nil {
			return res, err
		}
		switch res.Outcome {
		case RetrieveDownloaded, RetrieveLocal:
			return res, nil
		}
		if waiting != nil {
			waiting(res.Job)
		}
		if err := e.WaitJob(ctx, res.Job.ID); err != nil {
			return res, err
		}
	}
}

// WaitJob returns once Glacier reports the job complete (succeeded or
// failed: a failure is the error). It hears of it from the job watcher:
// SQS notifications, DescribeJob polls, or another process recording it.
func (e *Engine) WaitJob(ctx context.Context, id string) error {
	e.Watch(WatchOptions{})
	for {
		j, err := e.o.DB.Job(ctx, id)
		if err != nil {
			return notFound(err)
		}
		switch j.Status {
		case store.JobStatusFailed:
			return fmt.Errorf("vault %s: job %s failed: %s", j.Vault, j.ID, j.StatusMessage)
		case store.JobStatusSucceeded:
			return nil
		}
		e.waitEvent(ctx, 5*time.Second, func(ev Event) bool { return ev.Kind == EventJob && ev.Job == id })
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.ctx.Err(); err != nil {
			return mark(ErrInterrupted, errors.New("freezer is stopping"))
		}
	}
}
