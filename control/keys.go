package control

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"freezer/pipeline/desc"
	"freezer/pipeline/keys"
	"freezer/store"
)

// defaultKeySetting is the catalog entry naming the key new archives are
// encrypted with ("none" once a person chose no encryption).
const defaultKeySetting = "default-key"

// NewKeyRequest makes a new random key (verb new-key). The first key
// becomes the default, so archives are encrypted from then on (the
// manual: when a key is set, archives are encrypted with it).
type NewKeyRequest struct{ Algorithm, Name string }

// Verb is "new-key".
func (r *NewKeyRequest) Verb() string { return "new-key" }

// Line writes the request as a control line.
func (r *NewKeyRequest) Line() string {
	return line([]string{"new-key"}, "algorithm", r.Algorithm, "name", r.Name)
}

func (r *NewKeyRequest) check(ctx context.Context, e *Engine) (*action, error) {
	alg := r.Algorithm
	if alg == "" {
		alg = "aes-256-cbc"
	}
	if keys.IsLegacy(alg) {
		return nil, refuse(ErrInvalid, "%s keys can only be imported (to read the original tool's archives); create an AES key", alg)
	}
	src := e.o.Rand
	if src == nil {
		src = rand.Reader
	}
	k, err := keys.Generate(alg, r.Name, src)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	return &action{now: func(ctx context.Context) (Reply, error) { return e.storeKey(ctx, k, "created") }}, nil
}

// KeyImportRequest stores a key exported as JSON, by freezer on this
// machine or another (verb key import).
type KeyImportRequest struct {
	JSON []byte // the key's JSON, or
	File string // a file holding it
}

// Verb is "key import".
func (r *KeyImportRequest) Verb() string { return "key import" }

// Line writes the request as a control line, never with the key itself.
func (r *KeyImportRequest) Line() string {
	if r.File != "" {
		return line([]string{"key", "import", r.File})
	}
	return line([]string{"key", "import"}, "json", "…")
}

func (r *KeyImportRequest) check(ctx context.Context, e *Engine) (*action, error) {
	data := r.JSON
	if r.File != "" {
		st, err := os.Stat(r.File)
		if err != nil {
			return nil, mark(ErrNotFound, fmt.Errorf("key file %s: %w", r.File, unwrapPathError(err)))
		}
		if st.Size() > 1<<20 {
			return nil, refuse(ErrInvalid, "key file %s is %d bytes: not a key's JSON", r.File, st.Size())
		}
		if data, err = os.ReadFile(r.File); err != nil {
			return nil, fmt.Errorf("key file %s: %w", r.File, err)
		}
	}
	k, err := keys.Import(data)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	return &action{now: func(ctx context.Context) (Reply, error) { return e.storeKey(ctx, k, "imported") }}, nil
}

// storeKey stores a key; the first AES key becomes the default, and
// archives whose descriptions name the key (found in an inventory before
// it was imported) now point at it. Every decision is read inside the
// transaction that writes it.
func (e *Engine) storeKey(ctx context.Context, k keys.Key, did string) (Reply, error) {
	becameDefault := false
	var adopted int64
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		becameDefault, adopted = false, 0
		if err := tx.PutKey(ctx, store.Key{ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Material: k.Material(), Created: k.Created}); err != nil {
			return err
		}
		var err error
		adopted, err = tx.AdoptKey(ctx, k.ID, func(d string) string {
			if p := desc.Parse(d); p.Description != nil {
				return p.Description.KeyID
			}
			return ""
		})
		if err != nil {
			return err
		}
		_, set, err := tx.Setting(ctx, defaultKeySetting)
		if err != nil || set || k.Legacy() {
			return err
		}
		becameDefault = true
		return tx.SetSetting(ctx, defaultKeySetting, k.ID)
	})
	if err != nil {
		return Reply{}, err
	}
	e.changed()
	msg := fmt.Sprintf("key %s %s (%s)", k.ID, did, k.Algorithm)
	if becameDefault {
		msg += "; it is the default: new archives are encrypted with it"
		e.log.Info().Str("key", k.ID).Msg("first key: new archives are encrypted with it from now on")
	}
	if adopted > 0 {
		msg += fmt.Sprintf("; %d archive(s) known from an inventory can now be read with it", adopted)
	}
	return Reply{Fields: map[string]string{"key": k.ID}, Message: msg}, nil
}

// KeyDefaultRequest chooses the key new archives are encrypted with; ID
// "none" means new archives are not encrypted (verb key default).
type KeyDefaultRequest struct{ ID string }

// Verb is "key default".
func (r *KeyDefaultRequest) Verb() string { return "key default" }

// Line writes the request as a control line.
func (r *KeyDefaultRequest) Line() string { return line([]string{"key", "default", r.ID}) }

func (r *KeyDefaultRequest) check(ctx context.Context, e *Engine) (*action, error) {
	if r.ID != "none" {
		k, err := e.Key(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if k.Legacy() {
			return nil, refuse(ErrInvalid, "key %s uses %s, which freezer only reads (for archives of the original tool); choose an AES key", r.ID, k.Algorithm)
		}
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, defaultKeySetting, r.ID) })
		if err != nil {
			return Reply{}, err
		}
		e.changed()
		if r.ID == "none" {
			return Reply{Message: "new archives are not encrypted from now on"}, nil
		}
		return Reply{Message: fmt.Sprintf("key %s is the default: new archives are encrypted with it", r.ID)}, nil
	}}, nil
}

// Key loads a key with its material.
func (e *Engine) Key(ctx context.Context, id string) (keys.Key, error) {
	return loadKey(ctx, e.o.DB, id)
}

// CreateKey makes a new random key and stores it.
func (e *Engine) CreateKey(ctx context.Context, alg, name string) (keys.Key, error) {
	rep, err := one(e.Do(ctx, &NewKeyRequest{Algorithm: alg, Name: name}))
	if err != nil {
		return keys.Key{}, err
	}
	return e.Key(ctx, rep.Fields["key"])
}

// ImportKey stores a key exported as JSON.
func (e *Engine) ImportKey(ctx context.Context, data []byte) (keys.Key, error) {
	rep, err := one(e.Do(ctx, &KeyImportRequest{JSON: data}))
	if err != nil {
		return keys.Key{}, err
	}
	return e.Key(ctx, rep.Fields["key"])
}

// SetDefaultKey chooses the key new archives are encrypted with.
func (e *Engine) SetDefaultKey(ctx context.Context, id string) error {
	_, err := one(e.Do(ctx, &KeyDefaultRequest{ID: id}))
	return err
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
			e.log.Warn().Msg("no encryption key is set: the archive goes to Glacier unencrypted; create a key to encrypt the next ones")
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
		return nil, refuse(ErrInvalid, "key %s uses %s, which freezer only reads; choose an AES key", id, k.Algorithm)
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
		return nil, refuse(ErrNotFound, "vault %s: archive %s is encrypted (%s) but names no key", a.Vault, a.Name, a.Cipher)
	}
	k, err := e.Key(ctx, a.KeyID)
	if err != nil {
		return nil, withHint(refuse(ErrNotFound, "vault %s: archive %s is encrypted with key %s, which is not in the catalog: import it first", a.Vault, a.Name, a.KeyID), "key import")
	}
	return &k, nil
}
