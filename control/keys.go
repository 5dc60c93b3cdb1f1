package control

import (
	"context"
	"crypto/rand"
	"fmt"

	"freezer/pipeline/desc"
	"freezer/pipeline/keys"
	"freezer/store"
)

// defaultKeySetting is the catalog entry naming the key new archives are
// encrypted with ("none" once a person chose no encryption).
const defaultKeySetting = "default-key"

// KeyInfo is a key as listed: never its material.
type KeyInfo struct {
	ID, Name, Algorithm string
	Default             bool
	Legacy              bool
	Created             string
}

// CreateKey makes a new random key and stores it. The first key becomes
// the default, so archives are encrypted from then on (the manual: when a
// key is set, archives are encrypted with it).
func (e *Engine) CreateKey(ctx context.Context, alg, name string) (keys.Key, error) {
	r := e.o.Rand
	if r == nil {
		r = rand.Reader
	}
	k, err := keys.Generate(alg, name, r)
	if err != nil {
		return keys.Key{}, mark(ErrInvalid, err)
	}
	if err := e.storeKey(ctx, k); err != nil {
		return keys.Key{}, err
	}
	return k, nil
}

// ImportKey stores a key exported as JSON (by freezer, on this machine or
// another).
func (e *Engine) ImportKey(ctx context.Context, data []byte) (keys.Key, error) {
	k, err := keys.Import(data)
	if err != nil {
		return keys.Key{}, mark(ErrInvalid, err)
	}
	if err := e.storeKey(ctx, k); err != nil {
		return keys.Key{}, err
	}
	return k, nil
}

func (e *Engine) storeKey(ctx context.Context, k keys.Key) error {
	return e.o.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutKey(ctx, store.Key{ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Material: k.Material(), Created: k.Created}); err != nil {
			return err
		}
		if _, set, err := e.o.DB.Setting(ctx, defaultKeySetting); err != nil || set || k.Legacy() {
			return err
		}
		e.log.Info().Str("key", k.ID).Msg("first key: new archives are encrypted with it from now on")
		return tx.SetSetting(ctx, defaultKeySetting, k.ID)
	})
}

// Key loads a key with its material.
func (e *Engine) Key(ctx context.Context, id string) (keys.Key, error) {
	sk, err := e.o.DB.Key(ctx, id)
	if err != nil {
		return keys.Key{}, notFound(err)
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

// ExportKey returns a key as JSON, the form 'key import' and the recovery
// recipe read.
func (e *Engine) ExportKey(ctx context.Context, id string) ([]byte, error) {
	k, err := e.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	return keys.Export(k)
}

// Keys lists the keys without their material.
func (e *Engine) Keys(ctx context.Context) ([]KeyInfo, error) {
	all, err := e.o.DB.Keys(ctx)
	if err != nil {
		return nil, err
	}
	def, _, err := e.o.DB.Setting(ctx, defaultKeySetting)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(all))
	for _, k := range all {
		out = append(out, KeyInfo{ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Default: k.ID == def,
			Legacy: keys.IsLegacy(k.Algorithm), Created: k.Created.UTC().Format("2006-01-02 15:04:05")})
	}
	return out, nil
}

// SetDefaultKey chooses the key new archives are encrypted with; "none"
// means new archives are not encrypted.
func (e *Engine) SetDefaultKey(ctx context.Context, id string) error {
	if id != "none" {
		k, err := e.Key(ctx, id)
		if err != nil {
			return err
		}
		if k.Legacy() {
			return mark(ErrInvalid, fmt.Errorf("key %s uses %s, which freezer only reads (for archives of the original tool); choose an AES key", id, k.Algorithm))
		}
	}
	return e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, defaultKeySetting, id) })
}

// archiveKey picks the key for a new archive: the one asked for ("none" for
// no encryption), else the default. nil means not encrypted.
func (e *Engine) archiveKey(ctx context.Context, asked string) (*keys.Key, error) {
	id := asked
	if id == "" {
		def, set, err := e.o.DB.Setting(ctx, defaultKeySetting)
		if err != nil {
			return nil, err
		}
		if !set {
			e.log.Warn().Msg("no encryption key is set: the archive goes to Glacier unencrypted; create one with 'freezer key create'")
			return nil, nil
		}
		id = def
	}
	if id == "none" {
		return nil, nil
	}
	k, err := e.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.Legacy() {
		return nil, mark(ErrInvalid, fmt.Errorf("key %s uses %s, which freezer only reads; choose an AES key", id, k.Algorithm))
	}
	return &k, nil
}

// keyFor loads the key an archive was encrypted with; nil when it was not.
// An archive found in an inventory before its key was imported names the
// key only in its description.
func (e *Engine) keyFor(ctx context.Context, a store.Archive) (*keys.Key, error) {
	if a.Cipher == "" || a.Cipher == "none" {
		return nil, nil
	}
	if a.KeyID == "" {
		if p := desc.Parse(a.Description); p.Description != nil {
			a.KeyID = p.Description.KeyID
		}
	}
	if a.KeyID == "" {
		return nil, fmt.Errorf("vault %s: archive %s is encrypted (%s) but names no key", a.Vault, a.Name, a.Cipher)
	}
	k, err := e.Key(ctx, a.KeyID)
	if err != nil {
		return nil, fmt.Errorf("vault %s: archive %s needs key %s; import it with 'freezer key import': %w", a.Vault, a.Name, a.KeyID, err)
	}
	return &k, nil
}
