package control

import (
	"context"
	"errors"
	"fmt"

	"freezer/aws"
	"freezer/store"
)

// VaultInfo is a vault as Glacier and the catalog know it together.
type VaultInfo struct {
	store.Vault
	Remote        bool  // Glacier lists it
	Archives      int   // archives in the catalog
	LocalArchives int   // of which have a local file
	CatalogSize   int64 // bytes of the catalog's archives in Glacier
}

// Vaults lists Glacier's vaults matched with the catalog, recording what
// Glacier says (ARN, creation and inventory dates, its archive count).
func (e *Engine) Vaults(ctx context.Context) ([]VaultInfo, error) {
	remote, err := e.o.Glacier.ListVaults(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vaults: %w", err)
	}
	seen := map[string]bool{}
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error {
		for _, v := range remote {
			seen[v.Name] = true
			if _, err := tx.PutVault(ctx, storeVault(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	vaults, err := e.o.DB.Vaults(ctx)
	if err != nil {
		return nil, err
	}
	archives, err := e.o.DB.AllArchives(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]VaultInfo, 0, len(vaults))
	for _, v := range vaults {
		info := VaultInfo{Vault: v, Remote: seen[v.Name]}
		for _, a := range archives {
			if a.VaultID != v.ID {
				continue
			}
			info.Archives++
			if hasLocal(a) {
				info.LocalArchives++
			}
			if a.Remote() {
				info.CatalogSize += a.Size
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func storeVault(v aws.Vault) store.Vault {
	return store.Vault{Name: v.Name, ARN: v.ARN, Created: v.Created, InventoryDate: v.LastInventory,
		RemoteArchives: v.Archives, RemoteSize: v.Size}
}

// CreateVault creates a vault in Glacier (idempotent, as Glacier's is),
// points its job notifications at the configured SNS topic, and records it.
func (e *Engine) CreateVault(ctx context.Context, name string) error {
	if err := CheckVaultName(name); err != nil {
		return err
	}
	if _, err := e.o.Glacier.CreateVault(ctx, name); err != nil {
		return fmt.Errorf("vault %s: create: %w", name, err)
	}
	if e.o.SNSTopic != "" {
		events := []string{aws.EventArchiveRetrievalCompleted, aws.EventInventoryRetrievalCompleted}
		if err := e.o.Glacier.SetVaultNotifications(ctx, name, e.o.SNSTopic, events); err != nil {
			return fmt.Errorf("vault %s: notifications to %s: %w", name, e.o.SNSTopic, err)
		}
	}
	return e.o.DB.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.PutVault(ctx, store.Vault{Name: name})
		return err
	})
}

// RemoveVault deletes an empty vault. The catalog must hold no archive in
// it, and Glacier refuses too unless its last inventory shows none.
func (e *Engine) RemoveVault(ctx context.Context, name string) error {
	if err := CheckVaultName(name); err != nil {
		return err
	}
	archives, err := e.o.DB.Archives(ctx, name)
	if err != nil {
		return err
	}
	if len(archives) > 0 {
		return mark(ErrBusy, fmt.Errorf("vault %s holds %d archive(s); only empty vaults can be removed", name, len(archives)))
	}
	if err := e.o.Glacier.DeleteVault(ctx, name); err != nil {
		if aws.Code(err) == "InvalidParameterValueException" {
			return mark(ErrBusy, fmt.Errorf("vault %s: Glacier removes a vault only when its last inventory (made about once a day) shows no archives and nothing was written since; try again after the next inventory: %w", name, err))
		}
		if !aws.IsNotFound(err) {
			return fmt.Errorf("vault %s: remove: %w", name, err)
		}
	}
	err = e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.DeleteVault(ctx, name) })
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound))
}
