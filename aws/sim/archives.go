package sim

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

const (
	maxDescription = 1024
	// maxSingleUpload is UploadArchive's limit ("from 1 byte to up to 4
	// GB"); [UNCERTAIN] read as 4 GiB.
	maxSingleUpload = 4 << 30
)

// validDescription applies the archive and job description rule: at most
// 1,024 characters, each 0x20-0x7E.
func validDescription(d string) bool {
	if len(d) > maxDescription {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < 0x20 || d[i] > 0x7e {
			return false
		}
	}
	return true
}

// archiveDescription reads x-amz-archive-description; present reports
// whether the header was sent at all.
func archiveDescription(r *http.Request) (desc string, present bool, e *apiError) {
	vals, ok := r.Header["X-Amz-Archive-Description"]
	if !ok {
		return "", false, nil
	}
	desc = strings.Join(vals, ",")
	if !validDescription(desc) {
		// [UNCERTAIN] message text; the rule is documented.
		return "", true, invalidParam("Invalid archive description. It must be at most %d characters, each printable ASCII (0x20-0x7E).", maxDescription)
	}
	return desc, true, nil
}

// sameHash compares two hex digests ignoring letter case.
func sameHash(a, b string) bool {
	x, err1 := hex.DecodeString(a)
	y, err2 := hex.DecodeString(b)
	return err1 == nil && err2 == nil && len(x) == 32 && string(x) == string(y)
}

// received is a request body spooled to a temporary file.
type received struct {
	path   string
	size   int64
	leaves [][32]byte
	linear [32]byte
}

func (rc *received) discard() {
	if rc != nil && rc.path != "" {
		os.Remove(rc.path)
	}
}

// receiveBuffer is the size of the writes of an upload's body.
const receiveBuffer = 1 << 20

// receive streams a body of exactly n bytes to a file under tmp/, hashing it
// on the way, and checks it against the client's linear and tree hashes.
func (s *Sim) receive(body io.Reader, n int64, contentSHA, treeHash string) (*received, *apiError) {
	f, err := newBodyWriter(filepath.Join(s.root, "tmp"), "body-*", receiveBuffer)
	if err != nil {
		return nil, internalErr(err)
	}
	rc := &received{path: f.Name()}
	h := newLeafHasher()
	// Read straight into the writer's MiB buffer and hashed from there:
	// one copy of each byte, and a MiB per write of the file (io.Copy's
	// 32 KiB would make 32 system calls a MiB, most of what receiving costs).
	written, err := f.ReadFrom(io.TeeReader(body, h))
	if err == nil && written != n {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rc.discard()
		if errors.Is(err, errInjectedReset) {
			return nil, errConnReset
		}
		return nil, errf(http.StatusRequestTimeout, "RequestTimeoutException", "Request timed out while receiving the body: %v", err)
	}
	rc.size = written
	rc.leaves, rc.linear = h.finish()
	if !sameHash(contentSHA, hexHash(rc.linear)) {
		rc.discard()
		// [UNCERTAIN] AWS's answer when the body does not match the signed
		// x-amz-content-sha256.
		return nil, invalidParam("Invalid x-amz-content-sha256: %s", contentSHA)
	}
	if !sameHash(treeHash, hexHash(treeRoot(rc.leaves))) {
		rc.discard()
		// Observed wire message; it quotes the client's value.
		return nil, invalidParam("Invalid x-amz-sha256-tree-hash: %s", treeHash)
	}
	return rc, nil
}

func (s *Sim) archiveLocation(vaultName, id string) string {
	return s.vaultLocation(vaultName) + "/archives/" + id
}

func (s *Sim) uploadArchive(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	s.mu.Unlock()
	if e != nil {
		return e
	}
	desc, _, e := archiveDescription(q.r)
	if e != nil {
		return e
	}
	n := q.r.ContentLength
	switch {
	case n < 0:
		return missingParam("Content-Length")
	case n == 0 || n > maxSingleUpload:
		// [UNCERTAIN] message; the docs allow 1 byte to 4 GB.
		return invalidParam("Invalid Content-Length: %d. A single-request archive must be 1 byte to 4 GiB; use multipart upload above that.", n)
	}
	treeHash := q.r.Header.Get("X-Amz-Sha256-Tree-Hash")
	if treeHash == "" {
		return missingParam("x-amz-sha256-tree-hash")
	}
	rc, e := s.receive(q.r.Body, n, q.r.Header.Get("X-Amz-Content-Sha256"), treeHash)
	if e != nil {
		return e
	}
	defer rc.discard()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vaults[v.Name] != v {
		return notFound("Vault not found for ARN: %s", s.vaultARN(q.vault))
	}
	if err := s.advanceVault(v, s.clock.Now()); err != nil {
		return internalErr(err)
	}
	a := &archive{
		ID:          randomID(archiveIDLen),
		Description: desc,
		Created:     s.clock.Now(),
		Size:        rc.size,
		TreeHash:    hexHash(treeRoot(rc.leaves)),
		SegSize:     rc.size,
		Segs:        1,
	}
	dir := a.dir(v)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return internalErr(err)
	}
	if err := os.Rename(rc.path, filepath.Join(dir, segName(0))); err != nil {
		return internalErr(err)
	}
	if err := s.commitArchive(v, a, rc.leaves); err != nil {
		return internalErr(err)
	}
	h := w.Header()
	h.Set("Location", s.archiveLocation(v.Name, a.ID))
	h.Set("x-amz-archive-id", a.ID)
	h.Set("x-amz-sha256-tree-hash", a.TreeHash)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// commitArchive records an archive whose segments are in place: leaves, then
// meta.json (its presence is what makes the archive exist), then the vault's
// write count. Callers hold s.mu.
func (s *Sim) commitArchive(v *vault, a *archive, leaves [][32]byte) error {
	dir := a.dir(v)
	if err := writeLeaves(filepath.Join(dir, "leaves"), leaves); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "meta.json"), a); err != nil {
		return err
	}
	v.archives[a.ID] = a
	v.WriteSeq++
	return writeJSON(v.metaPath(), v)
}

// findArchive looks an archive ID up in every vault (live or deleted).
// Callers hold s.mu.
func (s *Sim) findArchive(id string) (*vault, *archive) {
	for _, v := range s.vaults {
		if a := v.archives[id]; a != nil {
			return v, a
		}
	}
	return nil, nil
}

// archiveInVault resolves an archive ID for an operation on vault v.
// Observed on the wire: an ID that belongs to another vault gets 400
// "Invalid vault name: <arn>". [UNCERTAIN] the answer for a well-formed ID
// that never existed (404 here) and for a malformed one (400 here).
func (s *Sim) archiveInVault(v *vault, id string) (*archive, *apiError) {
	if !validID(id, archiveIDLen) {
		return nil, invalidParam("Invalid archive ID: %s", id)
	}
	if a := v.archives[id]; a != nil {
		return a, nil
	}
	if other, _ := s.findArchive(id); other != nil {
		return nil, invalidParam("Invalid vault name: %s", s.vaultARN(v.Name))
	}
	return nil, notFound("Archive not found for ID: %s", id)
}

// deleteArchive is idempotent: deleting a deleted archive succeeds. The
// record stays as a tombstone so a later retrieval job fails as AWS's do.
func (s *Sim) deleteArchive(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	a, e := s.archiveInVault(v, q.id)
	if e != nil {
		return e
	}
	if a.Deleted == nil {
		now := s.clock.Now()
		a.Deleted = &now
		dir := a.dir(v)
		if err := writeJSON(filepath.Join(dir, "meta.json"), a); err != nil {
			return internalErr(err)
		}
		for i := 0; i < a.Segs; i++ {
			os.Remove(filepath.Join(dir, segName(i)))
		}
		os.Remove(filepath.Join(dir, "leaves"))
		v.WriteSeq++
		if err := writeJSON(v.metaPath(), v); err != nil {
			return internalErr(err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
