// Command mountfixture writes a vault of many archives straight into a
// catalog, for scripts/bench-mount.sh: making ten thousand archives
// through the pipeline takes minutes, and a listing reads the same rows
// however they were made. Every other archive is liquid (a small local
// file, and a made-up Glacier id), the others frozen (Glacier only). The
// vault exists only in the catalog.
//
//	go run ./scripts/bench/mountfixture -db CATALOG -data DATADIR -vault NAME -n 10000
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"freezer/store"
)

func main() {
	dbPath := flag.String("db", "", "catalog file (made if missing)")
	dataDir := flag.String("data", "", "data folder (local copies go to DATA/archives/VAULT/NAME)")
	vault := flag.String("vault", "bench", "vault name")
	n := flag.Int("n", 10000, "archives")
	flag.Parse()
	if *dbPath == "" || *dataDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dbPath, *dataDir, *vault, *n); err != nil {
		fmt.Fprintln(os.Stderr, "mountfixture:", err)
		os.Exit(1)
	}
}

func run(dbPath, dataDir, vault string, n int) error {
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	dir := filepath.Join(dataDir, "archives", vault)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return db.Update(ctx, func(tx *store.Tx) error {
		vid, err := tx.PutVault(ctx, store.Vault{Name: vault, Created: base})
		if err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("archive-%05d", i)
			sum := sha256.Sum256([]byte(name))
			a := store.Archive{VaultID: vid, Name: name, RemoteID: "bench-" + hex.EncodeToString(sum[:]),
				Description: "freezer v1 name=" + name + " tar+gzip unencrypted", Size: int64(1000 + i),
				TreeHash: hex.EncodeToString(sum[:]), Compression: "gzip", Cipher: "none",
				Created: base.Add(time.Duration(i) * time.Minute), FileCount: int64(1 + i%50)}
			if i%2 == 0 {
				a.LocalPath = filepath.Join(dir, name)
				a.LocalSize = int64(900 + i)
				a.SHA256 = hex.EncodeToString(sum[:])
				if err := os.WriteFile(a.LocalPath, make([]byte, a.LocalSize), 0o600); err != nil {
					return err
				}
			}
			if _, err := tx.PutArchive(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
}
