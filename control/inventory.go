package control

import (
	"context"
	"fmt"
	"strings"

	"freezer/aws"
	"freezer/pipeline/desc"
	"freezer/store"
)

// CompressionUnknown marks archives found in an inventory whose
// description does not say how they were made (other tools' archives):
// they are downloaded as they are, without decryption or a decompression
// check.
const CompressionUnknown = "unknown"

// InventoryResult says what an inventory changed in the catalog.
type InventoryResult struct {
	Outcome string // RetrieveRequested, RetrieveInProgress or "applied"
	Job     store.Job
	Added   int // archives Glacier has that the catalog did not know
	Updated int // archives whose size, tree hash or description were filled in
	Gone    int // archives the catalog knew that Glacier no longer has
}

// InventoryApplied is the outcome of an inventory whose output was read.
const InventoryApplied = "applied"

// Inventory is the manual's "request an explicit vault inventory": it
// requests an inventory job when none is current, or reads a finished one
// and reconciles the catalog with it.
func (e *Engine) Inventory(ctx context.Context, vault string) (InventoryResult, error) {
	v, err := e.vault(ctx, vault)
	if err != nil {
		return InventoryResult{}, err
	}
	jobs, err := e.o.DB.Jobs(ctx)
	if err != nil {
		return InventoryResult{}, err
	}
	for _, j := range jobs {
		if j.VaultID != v.ID || j.Action != store.ActionInventoryRetrieval || !j.Executed.IsZero() {
			continue
		}
		if j.Status == store.JobStatusInProgress {
			if j, err = e.refreshJob(ctx, j); err != nil {
				return InventoryResult{}, err
			}
		}
		switch j.Phase(e.o.Now()) {
		case store.JobInProgress:
			return InventoryResult{Outcome: RetrieveInProgress, Job: j}, nil
		case store.JobReady:
			return e.applyInventory(ctx, v, j)
		}
	}
	id, err := e.o.Glacier.InitiateInventoryRetrieval(ctx, vault, aws.InventoryRequest{Format: "JSON", SNSTopic: e.o.SNSTopic, Description: "freezer inventory " + vault})
	if err != nil {
		return InventoryResult{}, fmt.Errorf("vault %s: request inventory: %w", vault, err)
	}
	j := store.Job{ID: id, VaultID: v.ID, Vault: vault, Action: store.ActionInventoryRetrieval, Format: "JSON",
		Status: store.JobStatusInProgress, Created: e.o.Now()}
	if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutJob(ctx, j) }); err != nil {
		return InventoryResult{}, err
	}
	e.log.Info().Str("vault", vault).Str("job", id).Msg("inventory requested")
	return InventoryResult{Outcome: RetrieveRequested, Job: j}, nil
}

// InventoryAndWait requests an inventory, waits for Glacier and applies it.
func (e *Engine) InventoryAndWait(ctx context.Context, vault string) (InventoryResult, error) {
	for {
		res, err := e.Inventory(ctx, vault)
		if err != nil || res.Outcome == InventoryApplied {
			return res, err
		}
		if err := e.waitJob(ctx, res.Job); err != nil {
			return res, err
		}
	}
}

// applyInventory reads a finished inventory job and makes the catalog
// agree with it: archives Glacier has and the catalog lacks are added
// (named from their descriptions), known ones get what Glacier reports,
// and archives gone from Glacier lose their remote side. Archives created
// after the inventory's date are left alone: the inventory cannot know them.
func (e *Engine) applyInventory(ctx context.Context, v store.Vault, j store.Job) (InventoryResult, error) {
	out, err := e.o.Glacier.GetJobOutput(ctx, v.Name, j.ID, -1, -1)
	if err != nil {
		return InventoryResult{}, fmt.Errorf("vault %s: inventory job %s: %w", v.Name, j.ID, err)
	}
	inv, err := aws.ParseInventory(out.Body)
	out.Body.Close()
	if err != nil {
		return InventoryResult{}, fmt.Errorf("vault %s: inventory job %s: %w", v.Name, j.ID, err)
	}
	known, err := e.o.DB.Archives(ctx, v.Name)
	if err != nil {
		return InventoryResult{}, err
	}
	byID := map[string]store.Archive{}
	names := map[string]bool{}
	for _, a := range known {
		names[a.Name] = true
		if a.Remote() {
			byID[a.RemoteID] = a
		}
	}
	res := InventoryResult{Outcome: InventoryApplied, Job: j}
	var size int64
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		seen := map[string]bool{}
		for _, ia := range inv.Archives {
			seen[ia.ID] = true
			size += ia.Size
			if a, ok := byID[ia.ID]; ok {
				if a.Size == ia.Size && a.TreeHash == ia.TreeHash && a.Description != "" {
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
			if a.KeyID != "" {
				if _, err := e.o.DB.Key(ctx, a.KeyID); err != nil {
					// The description keeps the key id; the catalog can only
					// point at keys it holds.
					e.log.Warn().Str("vault", v.Name).Str("archive", a.Name).Str("key", a.KeyID).
						Msg("archive is encrypted with a key the catalog does not hold; import it with 'freezer key import' before retrieving")
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
			if hasLocal(a) {
				a.RemoteID, a.Size, a.TreeHash = "", 0, ""
				if _, err := tx.PutArchive(ctx, a); err != nil {
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
		if CheckArchiveName(d.Name) == nil {
			name = d.Name
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
