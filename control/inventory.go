package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"freezer/aws"
	"freezer/pipeline/desc"
	"freezer/store"
)

// CompressionUnknown marks archives found in an inventory whose
// description does not say how they were made (other tools' archives):
// they are downloaded as they are, without decryption or a decompression
// check.
const CompressionUnknown = "unknown"

// InventoryRequest is the manual's "request an explicit vault inventory"
// (verb inventory): request an inventory job when none is current, or
// apply a finished one to the catalog.
type InventoryRequest struct{ Vault string }

// Verb is "inventory".
func (r *InventoryRequest) Verb() string { return "inventory" }

// Line writes the request as a control line.
func (r *InventoryRequest) Line() string { return line([]string{"inventory", r.Vault}) }

func (r *InventoryRequest) check(ctx context.Context, e *Engine) (*action, error) {
	v, err := e.knownVault(ctx, r.Vault)
	if err != nil {
		return nil, err
	}
	g, err := e.glacier()
	if err != nil {
		return nil, err
	}
	jobs, err := e.o.DB.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.VaultID != v.ID || j.Action != store.ActionInventoryRetrieval || !j.Executed.IsZero() || j.Foreign {
			continue
		}
		if j.Status == store.JobStatusInProgress {
			if j, err = e.refreshJob(ctx, j); err != nil {
				return nil, err
			}
		}
		switch j.Phase(e.o.Now()) {
		case store.JobInProgress:
			return nil, withHint(refuse(ErrNotYet, "vault %s: Glacier is preparing inventory job %s (requested %s; inventories take about 4 hours)",
				r.Vault, j.ID, j.Created.UTC().Format(time.DateTime)), r.Line())
		case store.JobReady:
			claims, err := e.claim(ctx, "inventoried", vaultResource(r.Vault))
			if err != nil {
				return nil, err
			}
			job := j
			return &action{claims: claims, task: &taskSpec{kind: TaskInventory, vault: r.Vault, phase: "inventory",
				resume: r.Line(), run: func(ctx context.Context, run *Run) (string, error) {
					res, err := e.applyInventory(ctx, v, job)
					if err != nil {
						return "", err
					}
					return res.String(), nil
				}}}, nil
		}
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		j, err := e.requestInventory(ctx, g, v)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Fields: map[string]string{"job": j.ID},
			Message: fmt.Sprintf("vault %s: inventory requested (job %s; Glacier usually takes about 4 hours)", r.Vault, j.ID)}, nil
	}}, nil
}

// requestInventory asks Glacier for a vault's inventory and records the
// job.
func (e *Engine) requestInventory(ctx context.Context, g Glacier, v store.Vault) (store.Job, error) {
	id, err := g.InitiateInventoryRetrieval(ctx, v.Name, aws.InventoryRequest{Format: "JSON", SNSTopic: e.tune().SNSTopic,
		Description: jobDescription("freezer inventory", v.Name)})
	if err != nil {
		return store.Job{}, dress(fmt.Sprintf("vault %s: request inventory", v.Name), err)
	}
	j := store.Job{ID: id, VaultID: v.ID, Vault: v.Name, Action: store.ActionInventoryRetrieval, Format: "JSON",
		Status: store.JobStatusInProgress, Created: e.o.Now()}
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, j) }); err != nil {
		return store.Job{}, fmt.Errorf("vault %s: inventory job %s requested but not recorded: %w", v.Name, id, err)
	}
	e.changed()
	e.pollSoon()
	e.log.Info().Str("vault", v.Name).Str("job", id).Msg("inventory requested")
	return j, nil
}

// InventoryResult says what an inventory changed in the catalog.
type InventoryResult struct {
	Outcome string // RetrieveRequested, RetrieveInProgress or InventoryApplied
	Job     store.Job
	Added   int // archives Glacier has that the catalog did not know
	Updated int // archives whose size, tree hash or description changed
	Gone    int // archives the catalog knew that Glacier no longer has
}

// InventoryApplied is the outcome of an inventory whose output was read.
const InventoryApplied = "applied"

func (r InventoryResult) String() string {
	return fmt.Sprintf("inventory applied: %d added, %d updated, %d gone", r.Added, r.Updated, r.Gone)
}

// Inventory does one inventory request; an applied inventory is waited
// for.
func (e *Engine) Inventory(ctx context.Context, vault string) (InventoryResult, error) {
	rep, err := e.RunWait(ctx, &InventoryRequest{Vault: vault})
	switch {
	case errors.Is(err, ErrNotYet):
		return InventoryResult{Outcome: RetrieveInProgress}, nil
	case err != nil:
		return InventoryResult{}, err
	case rep.Task != 0:
		t, err := e.Task(ctx, rep.Task)
		if err != nil {
			return InventoryResult{}, err
		}
		res := InventoryResult{Outcome: InventoryApplied}
		fmt.Sscanf(t.Result, "inventory applied: %d added, %d updated, %d gone", &res.Added, &res.Updated, &res.Gone)
		return res, nil
	}
	j, err := e.o.DB.Job(ctx, rep.Fields["job"])
	if err != nil {
		return InventoryResult{}, err
	}
	return InventoryResult{Outcome: RetrieveRequested, Job: j}, nil
}

// InventoryAndWait requests an inventory, waits for Glacier and applies it.
func (e *Engine) InventoryAndWait(ctx context.Context, vault string) (InventoryResult, error) {
	for {
		res, err := e.Inventory(ctx, vault)
		if err != nil || res.Outcome == InventoryApplied {
			return res, err
		}
		if res.Job.ID == "" {
			if res.Job, err = e.PendingInventory(ctx, vault); err != nil {
				return res, err
			}
		}
		if err := e.WaitJob(ctx, res.Job.ID); err != nil {
			return res, err
		}
	}
}

// PendingInventory returns the vault's inventory job in progress.
func (e *Engine) PendingInventory(ctx context.Context, vault string) (store.Job, error) {
	jobs, err := e.o.DB.PendingJobs(ctx)
	if err != nil {
		return store.Job{}, err
	}
	for _, j := range jobs {
		if j.Vault == vault && j.Action == store.ActionInventoryRetrieval && !j.Foreign {
			return j, nil
		}
	}
	return store.Job{}, refuse(ErrNotFound, "vault %s has no inventory in progress", vault)
}

// applyInventory reads a finished inventory job and makes the catalog
// agree with it: archives Glacier has and the catalog lacks are added
// (named from their descriptions), known ones get what Glacier reports,
// and archives gone from Glacier lose their remote side. Archives created
// after the inventory's date are left alone: the inventory cannot know them.
// Every decision is taken inside the one transaction that writes it.
func (e *Engine) applyInventory(ctx context.Context, v store.Vault, j store.Job) (InventoryResult, error) {
	g, err := e.glacier()
	if err != nil {
		return InventoryResult{}, err
	}
	out, err := g.GetJobOutput(ctx, v.Name, j.ID, -1, -1)
	if err != nil {
		return InventoryResult{}, dress(fmt.Sprintf("vault %s: inventory job %s", v.Name, j.ID), err)
	}
	inv, err := aws.ParseInventory(out.Body)
	out.Body.Close()
	if err != nil {
		return InventoryResult{}, fmt.Errorf("vault %s: inventory job %s: %w", v.Name, j.ID, err)
	}
	res := InventoryResult{Outcome: InventoryApplied, Job: j}
	var size int64
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		res = InventoryResult{Outcome: InventoryApplied, Job: j}
		size = 0
		known, err := tx.Archives(ctx, v.Name)
		if err != nil {
			return err
		}
		byID := map[string]store.Archive{}
		names := map[string]bool{}
		for _, a := range known {
			names[a.Name] = true
			if a.Remote() {
				byID[a.RemoteID] = a
			}
		}
		seen := map[string]bool{}
		for _, ia := range inv.Archives {
			seen[ia.ID] = true
			size += ia.Size
			if a, ok := byID[ia.ID]; ok {
				if a.Size == ia.Size && a.TreeHash == ia.TreeHash && (a.Description != "" || ia.Description == "") {
					continue
				}
				a.Size, a.TreeHash = ia.Size, ia.TreeHash
				if a.Description == "" {
					a.Description = ia.Description
				}
				if _, err := tx.PutArchive(ctx, a); err != nil {
					return err
				}
				res.Updated++
				continue
			}
			a := archiveFromInventory(v, ia, names)
			names[a.Name] = true
			if d := desc.Parse(ia.Description).Description; d != nil && !utf8.ValidString(d.Name) {
				e.log.Warn().Str("vault", v.Name).Str("archive", a.Name).
					Msg("the archive's name in its description is not UTF-8; its bytes that are not are shown as \\xHH")
			}
			if a.KeyID != "" {
				if _, err := tx.Key(ctx, a.KeyID); err != nil {
					// The description keeps the key id; the catalog points at
					// the key once it is imported (keys.go adopts it).
					e.log.Warn().Str("vault", v.Name).Str("archive", a.Name).Str("key", a.KeyID).
						Msg("archive is encrypted with a key the catalog does not hold; import that key before retrieving it")
					a.KeyID = ""
				}
			}
			if _, err := tx.PutArchive(ctx, a); err != nil {
				return err
			}
			res.Added++
		}
		for _, a := range known {
			if !a.Remote() || seen[a.RemoteID] || !a.Created.Before(inv.Date) {
				continue
			}
			res.Gone++
			if a.LocalPath != "" {
				if err := tx.SetUploaded(ctx, a.ID, "", 0, ""); err != nil {
					return err
				}
				continue
			}
			if err := tx.DeleteArchive(ctx, a.ID); err != nil {
				return err
			}
		}
		v.InventoryDate, v.RemoteArchives, v.RemoteSize = inv.Date, int64(len(inv.Archives)), size
		if _, err := tx.PutVault(ctx, v); err != nil {
			return err
		}
		return tx.MarkExecuted(ctx, j.ID, e.o.Now())
	})
	if err != nil {
		return InventoryResult{}, err
	}
	e.changed()
	if res.Gone > 0 {
		if _, err := e.o.DB.Maintain(ctx); err != nil {
			e.log.Warn().Err(err).Msg("catalog maintenance failed")
		}
	}
	e.log.Info().Str("vault", v.Name).Int("added", res.Added).Int("updated", res.Updated).Int("gone", res.Gone).Msg("inventory applied")
	return res, nil
}

// archiveFromInventory makes the catalog entry of an archive the catalog
// did not know: a freezer description gives its name, compression, cipher
// and key; another tool's gives a display name, and the archive is kept
// as opaque bytes.
func archiveFromInventory(v store.Vault, ia aws.InventoryArchive, taken map[string]bool) store.Archive {
	p := desc.Parse(ia.Description)
	a := store.Archive{VaultID: v.ID, Vault: v.Name, RemoteID: ia.ID, Description: ia.Description, Size: ia.Size,
		TreeHash: ia.TreeHash, Created: ia.Created, Compression: CompressionUnknown, Cipher: "none"}
	name := p.DisplayName
	if d := p.Description; d != nil {
		a.Compression, a.Cipher, a.KeyID = d.Compression, d.Cipher, d.KeyID
		// A name whose bytes are not UTF-8 (another system's) keeps every
		// byte visible, as \xHH, so distinct names stay distinct and
		// nothing is silently changed.
		if n := escapeInvalidUTF8(d.Name); CheckArchiveName(n) == nil {
			name = n
		}
	}
	if CheckArchiveName(name) != nil {
		id := strings.TrimLeft(ia.ID, "-_")
		name = "archive-" + id[:min(len(id), 12)]
	}
	a.Name = name
	for i := 2; taken[a.Name]; i++ {
		a.Name = fmt.Sprintf("%s~%d", name, i)
	}
	return a
}

// escapeInvalidUTF8 writes the bytes of s that are not UTF-8 as \xHH.
func escapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&b, "\\x%02x", s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}
