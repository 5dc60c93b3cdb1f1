package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"freezer/aws"
	"freezer/store"
)

// VaultCreateRequest creates a vault (verb vault create).
type VaultCreateRequest struct{ Name string }

// Verb is "vault create".
func (r *VaultCreateRequest) Verb() string { return "vault create" }

// Line writes the request as a control line.
func (r *VaultCreateRequest) Line() string { return line([]string{"vault", "create", r.Name}) }

// check: Glacier's create is idempotent; the vault's job notifications are
// pointed at the configured SNS topic, and the vault is recorded with the
// account it lives in.
func (r *VaultCreateRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if err := CheckVaultName(r.Name); err != nil {
		return nil, err
	}
	g, err := e.glacier()
	if err != nil {
		return nil, err
	}
	existed := false
	if v, err := e.o.DB.Vault(ctx, r.Name); err == nil {
		if err := e.checkLocation(v); err != nil {
			return nil, err
		}
		existed = true
	}
	claims, err := e.claim(ctx, "created", vaultResource(r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		if _, err := g.CreateVault(ctx, r.Name); err != nil {
			return Reply{}, dress(fmt.Sprintf("vault %s: create", r.Name), err)
		}
		if e.tune().SNSTopic != "" {
			events := []string{aws.EventArchiveRetrievalCompleted, aws.EventInventoryRetrievalCompleted}
			if err := g.SetVaultNotifications(ctx, r.Name, e.tune().SNSTopic, events); err != nil {
				return Reply{}, dress(fmt.Sprintf("vault %s: notifications to %s", r.Name, e.tune().SNSTopic), err)
			}
		}
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.PutVault(ctx, store.Vault{Name: r.Name, Location: e.o.Location})
			return err
		})
		if err != nil {
			return Reply{}, err
		}
		e.changed()
		if existed {
			return Reply{Message: fmt.Sprintf("vault %s already exists", r.Name)}, nil
		}
		return Reply{Message: fmt.Sprintf("vault %s created", r.Name)}, nil
	}}, nil
}

// VaultRemoveRequest removes an empty vault (verb vault remove).
type VaultRemoveRequest struct{ Name string }

// Verb is "vault remove".
func (r *VaultRemoveRequest) Verb() string { return "vault remove" }

// Line writes the request as a control line.
func (r *VaultRemoveRequest) Line() string { return line([]string{"vault", "remove", r.Name}) }

// check: the catalog must hold no archive in it; Glacier refuses too
// unless its last inventory shows none.
func (r *VaultRemoveRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if err := CheckVaultName(r.Name); err != nil {
		return nil, err
	}
	g, err := e.glacier()
	if err != nil {
		return nil, err
	}
	if _, err := e.knownVault(ctx, r.Name); err != nil {
		return nil, err
	}
	archives, err := e.o.DB.Archives(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	if len(archives) > 0 {
		return nil, refuse(ErrNotEmpty, "vault %s holds %d archive(s); only empty vaults can be removed", r.Name, len(archives))
	}
	claims, err := e.claim(ctx, "removed", vaultResource(r.Name))
	if err != nil {
		return nil, err
	}
	return &action{claims: claims, now: func(ctx context.Context) (Reply, error) {
		if err := g.DeleteVault(ctx, r.Name); err != nil {
			if aws.Code(err) == "InvalidParameterValueException" {
				return Reply{}, refuse(ErrBusy, "vault %s: Glacier removes a vault only when its last inventory (made about once a day) shows no archives and nothing was written since; try again after the next inventory (%s)", r.Name, awsMessage(err))
			}
			if !aws.IsNotFound(err) {
				return Reply{}, dress(fmt.Sprintf("vault %s: remove", r.Name), err)
			}
		}
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			n, err := tx.Archives(ctx, r.Name)
			if err != nil {
				return err
			}
			if len(n) > 0 {
				return refuse(ErrNotEmpty, "vault %s: an archive was added meanwhile; the vault is gone from Glacier but its archive stays in the catalog", r.Name)
			}
			return tx.DeleteVault(ctx, r.Name)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Reply{}, err
		}
		e.changed()
		return Reply{Message: fmt.Sprintf("vault %s removed", r.Name)}, nil
	}}, nil
}

// CreateVault creates a vault.
func (e *Engine) CreateVault(ctx context.Context, name string) error {
	_, err := one(e.Do(ctx, &VaultCreateRequest{Name: name}))
	return err
}

// RemoveVault removes an empty vault.
func (e *Engine) RemoveVault(ctx context.Context, name string) error {
	_, err := one(e.Do(ctx, &VaultRemoveRequest{Name: name}))
	return err
}

// checkLocation refuses a vault recorded in another Glacier account than
// the one the engine talks to: acting on it here would find nothing, or
// another vault of the same name.
func (e *Engine) checkLocation(v store.Vault) error {
	if e.o.Location == "" || v.Location == "" || v.Location == e.o.Location {
		return nil
	}
	return refuse(ErrInvalid, "vault %s lives in %s, but freezer is connected to %s; use the settings it was made with (or another catalog)",
		v.Name, v.Location, e.o.Location)
}

// archiveHere refuses to act on an archive whose vault lives in another
// Glacier account than the one the engine talks to: disconnecting there
// would drop a local copy on the word of the wrong Glacier.
func (e *Engine) archiveHere(ctx context.Context, a store.Archive) error {
	v, err := e.o.DB.Vault(ctx, a.Vault)
	if err != nil {
		return notFound(err)
	}
	return e.checkLocation(v)
}

// Meta keys of the refresh bookkeeping.
const (
	metaVaultsRefreshed = "vaults-refreshed"
	metaJobsRefreshed   = "jobs-refreshed"
)

// Refresh brings the catalog up to date with Glacier: the vault list
// (ARNs, Glacier's archive counts and inventory dates) and the jobs
// Glacier lists. It is rate-limited across every process sharing the
// catalog (RefreshInterval) unless force. Where Glacier's last inventory
// and the catalog disagree, an inventory is requested — once per
// inventory date, never in a loop — and applied when it completes (by
// the job watcher, or the next inventory request).
func (e *Engine) Refresh(ctx context.Context, force bool) error {
	if err := e.refreshVaults(ctx, force); err != nil {
		return err
	}
	return e.refreshJobs(ctx, force)
}

// due reports whether a rate-limited refresh may run now, and claims the
// turn (so that another process does not run it at the same time).
func (e *Engine) due(ctx context.Context, key string, force bool) (bool, error) {
	interval := e.o.RefreshInterval
	if force {
		interval = min(interval, 5*time.Second) // even forced, not in a tight loop
	}
	ok := false
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		last, _, err := tx.Meta(ctx, key)
		if err != nil {
			return err
		}
		t, _ := time.Parse(time.RFC3339Nano, last)
		now := e.o.Now()
		if !t.IsZero() && now.Sub(t) < interval && now.After(t) {
			return nil
		}
		ok = true
		return tx.SetMeta(ctx, key, now.UTC().Format(time.RFC3339Nano))
	})
	return ok, err
}

// forgetTurn lets the next caller refresh at once after a failed refresh.
func (e *Engine) forgetTurn(ctx context.Context, key string) {
	e.o.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.SetMeta(ctx, key, "") })
}

func (e *Engine) refreshVaults(ctx context.Context, force bool) error {
	g, err := e.glacier()
	if err != nil {
		return err
	}
	ok, err := e.due(ctx, metaVaultsRefreshed, force)
	if err != nil || !ok {
		return err
	}
	remote, err := g.ListVaults(ctx)
	if err != nil {
		e.forgetTurn(ctx, metaVaultsRefreshed)
		return dress("list vaults", err)
	}
	var reconcile []store.Vault
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		reconcile = nil
		listed := map[string]bool{}
		for _, rv := range remote {
			listed[rv.Name] = true
			sv := storeVault(rv)
			sv.Location = e.o.Location
			if cur, err := tx.Vault(ctx, rv.Name); err == nil && e.checkLocation(cur) != nil {
				continue // a vault of the same name in another account
			}
			if _, err := tx.PutVault(ctx, sv); err != nil {
				return err
			}
			v, err := tx.Vault(ctx, rv.Name)
			if err != nil {
				return err
			}
			if disagree, err := e.disagrees(ctx, tx, v); err != nil {
				return err
			} else if disagree {
				reconcile = append(reconcile, v)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.changed()
	for _, v := range reconcile {
		if err := e.reconcile(ctx, g, v); err != nil {
			e.log.Warn().Err(err).Str("vault", v.Name).Msg("could not request an inventory to reconcile the catalog")
		}
	}
	return nil
}

// disagrees reports whether Glacier's last inventory of a vault and the
// catalog disagree (archive count or size of what the inventory could
// know), and no automatic inventory was asked for that inventory date yet.
func (e *Engine) disagrees(ctx context.Context, tx *store.Tx, v store.Vault) (bool, error) {
	if v.InventoryDate.IsZero() || !v.AutoInventory.Before(v.InventoryDate) && !v.AutoInventory.IsZero() {
		return false, nil
	}
	archives, err := tx.Archives(ctx, v.Name)
	if err != nil {
		return false, err
	}
	var n, size int64
	for _, a := range archives {
		if a.Remote() && a.Created.Before(v.InventoryDate) {
			n++
			size += a.Size
		}
	}
	return n != v.RemoteArchives || size != v.RemoteSize, nil
}

// reconcile requests the inventory a disagreement calls for, once per
// Glacier inventory date.
func (e *Engine) reconcile(ctx context.Context, g Glacier, v store.Vault) error {
	pending, err := e.o.DB.PendingJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range pending {
		if j.VaultID == v.ID && j.Action == store.ActionInventoryRetrieval && !j.Foreign {
			return nil
		}
	}
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetAutoInventory(ctx, v.ID, v.InventoryDate) })
	if err != nil {
		return err
	}
	e.log.Info().Str("vault", v.Name).Int64("glacier_archives", v.RemoteArchives).Time("inventory_date", v.InventoryDate).
		Msg("Glacier and the catalog disagree about this vault: requesting an inventory")
	_, err = e.requestInventory(ctx, g, v)
	return err
}

// refreshJobs records the jobs Glacier lists: news of jobs the catalog
// knows, and the others (another client's) as foreign jobs, for the
// manual's job dialog.
func (e *Engine) refreshJobs(ctx context.Context, force bool) error {
	g, err := e.glacier()
	if err != nil {
		return err
	}
	ok, err := e.due(ctx, metaJobsRefreshed, force)
	if err != nil || !ok {
		return err
	}
	vaults, err := e.o.DB.Vaults(ctx)
	if err != nil {
		return err
	}
	for _, v := range vaults {
		if e.checkLocation(v) != nil || v.ARN == "" {
			continue
		}
		jobs, err := g.ListJobs(ctx, v.Name, aws.JobFilter{})
		if err != nil {
			if aws.IsNotFound(err) {
				continue
			}
			e.forgetTurn(ctx, metaJobsRefreshed)
			return dress(fmt.Sprintf("vault %s: list jobs", v.Name), err)
		}
		err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
			for _, rj := range jobs {
				if cur, err := tx.Job(ctx, rj.ID); err == nil {
					j := jobUpdate(cur, rj, e.o.Now())
					if err := tx.SetJobStatus(ctx, j); err != nil {
						return err
					}
					continue
				}
				j := store.Job{ID: rj.ID, VaultID: v.ID, Vault: v.Name, Action: rj.Action, RemoteArchiveID: rj.ArchiveID,
					Tier: rj.Tier, ByteRange: rj.RetrievalRange, Format: rj.Format, Created: rj.Created,
					Description: rj.Description, Foreign: true}
				j = jobUpdate(j, rj, e.o.Now())
				if rj.ArchiveID != "" {
					if a, err := tx.ArchiveByRemoteID(ctx, rj.ArchiveID); err == nil {
						j.ArchiveID = a.ID
					}
				}
				if err := tx.PutJob(ctx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	e.changed()
	return nil
}

// jobUpdate applies what Glacier says of a job to the catalog's record.
func jobUpdate(j store.Job, rj aws.Job, now time.Time) store.Job {
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
			j.Completed = now
		}
		j.Expires = expiresAt(j.Completed)
	}
	return j
}

func storeVault(v aws.Vault) store.Vault {
	return store.Vault{Name: v.Name, ARN: v.ARN, Created: v.Created, InventoryDate: v.LastInventory,
		RemoteArchives: v.Archives, RemoteSize: v.Size}
}
