package sim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// On-disk layout under Options.Dir (metadata is JSON written atomically; data
// files are written once under a temporary name and renamed or hard-linked
// into place, so a crash never leaves a half-written file under a real name):
//
//	glacier/tmp/                                 incoming bodies, emptied at start
//	glacier/vaults/<sha256(name)>/vault.json     vault, notification config
//	                             /inventory.json last inventory snapshot
//	                             /archives/<id>/meta.json, leaves, seg-NNNNN
//	                             /uploads/<id>/upload.json, part-<start>.json, part-<start>.data
//	                             /jobs/<id>/job.json, leaves, seg-NNNNN or output
//
// Vault directories are named by a hash because vault names may be "." or
// ".." and may be 255 characters long.

const (
	dirPerm  = 0o700
	filePerm = 0o600
)

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := renameio.WriteFile(path, data, filePerm, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func vaultDirName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func segName(i int) string { return fmt.Sprintf("seg-%05d", i) }

func partDataName(start int64) string {
	return fmt.Sprintf("part-%d-%s.data", start, randomID(8))
}
func partMetaName(start int64) string { return fmt.Sprintf("part-%d.json", start) }

// randomID returns n characters of [A-Za-z0-9_-]. Real archive IDs are 138
// such characters and may begin with '-'; job and upload IDs seen on the wire
// are 92.
func randomID(n int) string {
	b := make([]byte, (n*6+7)/8+1)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

const (
	archiveIDLen = 138
	jobIDLen     = 92
	uploadIDLen  = 92
)

func validID(id string, n int) bool {
	if len(id) != n {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

func writeLeaves(path string, leaves [][32]byte) error {
	buf := make([]byte, 0, 32*len(leaves))
	for _, l := range leaves {
		buf = append(buf, l[:]...)
	}
	if err := renameio.WriteFile(path, buf, filePerm, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readLeaves(path string) ([][32]byte, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(buf)%32 != 0 {
		return nil, fmt.Errorf("%s: length %d is not a multiple of 32", path, len(buf))
	}
	leaves := make([][32]byte, len(buf)/32)
	for i := range leaves {
		copy(leaves[i][:], buf[i*32:])
	}
	return leaves, nil
}

func encodeLeaves(leaves [][32]byte) string {
	buf := make([]byte, 0, 32*len(leaves))
	for _, l := range leaves {
		buf = append(buf, l[:]...)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

func decodeLeaves(s string) ([][32]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(buf)%32 != 0 {
		return nil, errors.New("corrupt leaf list")
	}
	leaves := make([][32]byte, len(buf)/32)
	for i := range leaves {
		copy(leaves[i][:], buf[i*32:])
	}
	return leaves, nil
}

// linkOrCopy hard-links src to dst, copying when the file system refuses
// links. Links make a retrieval job's output independent of the archive (a
// later DeleteArchive unlinks only the archive's names) at no cost.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(out.Name())
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return err
	}
	return os.Rename(out.Name(), dst)
}

// subdirs lists the directories directly in dir, skipping dot entries
// (renameio temporaries).
func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

const (
	isoMillis  = "2006-01-02T15:04:05.000Z"
	isoSeconds = "2006-01-02T15:04:05Z"
)

func fmtMillis(t time.Time) string  { return t.UTC().Format(isoMillis) }
func fmtSeconds(t time.Time) string { return t.UTC().Format(isoSeconds) }
