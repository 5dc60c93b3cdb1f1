package sim

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	minPartSize = 1 << 20
	maxPartSize = 4 << 30
	maxParts    = 10000
	listMax     = 50 // ListJobs, ListMultipartUploads, ListParts: default and maximum
	// endedUploadLifetime is how long a completed or aborted upload ID is
	// remembered, so that a repeated Complete returns the same archive ID and
	// a repeated Abort succeeds "for a short time" (developer guide).
	endedUploadLifetime = 24 * time.Hour
)

func validPartSize(n int64) bool {
	return n >= minPartSize && n <= maxPartSize && n&(n-1) == 0
}

func (s *Sim) uploadLocation(vaultName, id string) string {
	return s.vaultLocation(vaultName) + "/multipart-uploads/" + id
}

func uploadNotFound(id string) *apiError {
	// [UNCERTAIN] message text, modelled on "The job ID was not found: ...".
	return notFound("The upload ID was not found: %s", id)
}

func (s *Sim) initiateMultipartUpload(w http.ResponseWriter, q *glacierReq) *apiError {
	raw := q.r.Header.Get("X-Amz-Part-Size")
	if raw == "" {
		return missingParam("x-amz-part-size")
	}
	size, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || !validPartSize(size) {
		// [UNCERTAIN] message text; the rule (1 MiB x 2^n, up to 4 GiB) is
		// documented.
		return invalidParam("Invalid part size: %s. The part size must be a megabyte (1024 KB) multiplied by a power of 2, from 1 MiB to 4 GiB.", raw)
	}
	desc, present, e := archiveDescription(q.r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	u := &upload{
		ID:       randomID(uploadIDLen),
		PartSize: size,
		Created:  s.clock.Now(),
		State:    uploadActive,
		parts:    map[int64]*part{},
	}
	if present {
		// "Leading spaces in archive descriptions are removed." (Go's HTTP
		// server already trims header values; this keeps the rule explicit.)
		d := strings.TrimLeft(desc, " ")
		u.Description = &d
	}
	u.dir = filepath.Join(v.dir, "uploads", u.ID)
	if err := os.MkdirAll(u.dir, dirPerm); err != nil {
		return internalErr(err)
	}
	if err := writeJSON(u.metaPath(), u); err != nil {
		return internalErr(err)
	}
	v.uploads[u.ID] = u
	h := w.Header()
	h.Set("Location", s.uploadLocation(v.Name, u.ID))
	h.Set("x-amz-multipart-upload-id", u.ID)
	w.WriteHeader(http.StatusCreated)
	return nil
}

var contentRangeRE = regexp.MustCompile(`^bytes ([0-9]{1,19})-([0-9]{1,19})/\*$`)

// parseContentRange parses an UploadMultipartPart Content-Range, "bytes
// S-E/*" (RFC 2616 form with total length "*", as the docs require).
func parseContentRange(v string) (start, end int64, ok bool) {
	m := contentRangeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(m[1], 10, 64)
	end, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// activeUpload finds an upload that still accepts parts. Callers hold s.mu.
func activeUpload(v *vault, id string) (*upload, *apiError) {
	u := v.uploads[id]
	if u == nil || u.State != uploadActive {
		return nil, uploadNotFound(id)
	}
	return u, nil
}

func (s *Sim) uploadMultipartPart(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	var u *upload
	if e == nil {
		u, e = activeUpload(v, q.id)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	cr := q.r.Header.Get("Content-Range")
	if cr == "" {
		return missingParam("Content-Range")
	}
	start, end, ok := parseContentRange(cr)
	if !ok {
		// Observed wire message, e.g. "Invalid Content-Range: bytes
		// 909994937-909994936/*".
		return invalidParam("Invalid Content-Range: %s", cr)
	}
	n := q.r.ContentLength
	if n < 0 {
		return missingParam("Content-Length")
	}
	if end-start+1 != n {
		// Observed wire message.
		return invalidParam("Content-Range: %s is incompatible with Content-Length: %d", cr, n)
	}
	// [UNCERTAIN] message texts for the next three rules, which are
	// documented: a part may not exceed the part size, must start on a
	// part boundary, and an upload has at most 10,000 parts.
	if n > u.PartSize {
		return invalidParam("Content-Range: %s is incompatible with the part size %d of upload %s", cr, u.PartSize, u.ID)
	}
	if start%u.PartSize != 0 {
		return invalidParam("Content-Range: %s is not aligned to the part size %d of upload %s", cr, u.PartSize, u.ID)
	}
	if start/u.PartSize >= maxParts {
		return invalidParam("Content-Range: %s is beyond the %d-part limit of a multipart upload", cr, maxParts)
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
	if s.vaults[v.Name] != v || v.uploads[u.ID] != u || u.State != uploadActive {
		return uploadNotFound(u.ID)
	}
	p := &part{
		Start:    start,
		Size:     n,
		TreeHash: hexHash(treeRoot(rc.leaves)),
		Leaves:   encodeLeaves(rc.leaves),
		DataFile: partDataName(start),
	}
	// The data goes in under a fresh name, then the metadata that names it,
	// then the data it replaces (re-uploading a range overwrites it, as
	// documented) is removed: a crash leaves either the old part or the new
	// one, never a mix. Unnamed data files are removed by loadState.
	if err := os.Rename(rc.path, filepath.Join(u.dir, p.DataFile)); err != nil {
		return internalErr(err)
	}
	if err := writeJSON(filepath.Join(u.dir, partMetaName(start)), p); err != nil {
		os.Remove(filepath.Join(u.dir, p.DataFile))
		return internalErr(err)
	}
	if old := u.parts[start]; old != nil {
		os.Remove(filepath.Join(u.dir, old.DataFile))
	}
	u.parts[start] = p
	if s.accepted == nil {
		s.accepted = map[string]map[string]int{}
	}
	if s.accepted[u.ID] == nil {
		s.accepted[u.ID] = map[string]int{}
	}
	s.accepted[u.ID][fmt.Sprintf("%d-%d", start, end)]++
	w.Header().Set("x-amz-sha256-tree-hash", p.TreeHash)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Sim) completeMultipartUpload(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	u := v.uploads[q.id]
	if u != nil && u.State == uploadCompleted {
		// "if you call the operation again within a short period, the
		// operation will succeed and return the same archive ID".
		if a := v.archives[u.ArchiveID]; a != nil {
			s.writeArchiveCreated(w, v, a)
			return nil
		}
	}
	if u == nil || u.State != uploadActive {
		return uploadNotFound(q.id)
	}
	rawSize := q.r.Header.Get("X-Amz-Archive-Size")
	if rawSize == "" {
		return missingParam("x-amz-archive-size")
	}
	treeHash := q.r.Header.Get("X-Amz-Sha256-Tree-Hash")
	if treeHash == "" {
		return missingParam("x-amz-sha256-tree-hash")
	}
	size, err := strconv.ParseInt(rawSize, 10, 64)
	if err != nil || size < 1 {
		return invalidParam("Invalid x-amz-archive-size: %s", rawSize)
	}
	// Every part but the last must be exactly the part size, the parts must
	// cover [0, size) with nothing beyond, and there are at most 10,000.
	// [UNCERTAIN] the message texts; the rules are documented.
	count := (size + u.PartSize - 1) / u.PartSize
	if count > maxParts {
		return invalidParam("Invalid x-amz-archive-size: %d needs %d parts of %d bytes; the limit is %d", size, count, u.PartSize, maxParts)
	}
	parts := make([]*part, 0, count)
	var leaves [][32]byte
	for i := int64(0); i < count; i++ {
		start := i * u.PartSize
		want := min(u.PartSize, size-start)
		p := u.parts[start]
		if p == nil {
			return invalidParam("Invalid x-amz-archive-size: %s. Missing content range: bytes %d-%d", rawSize, start, start+want-1)
		}
		if p.Size != want {
			return invalidParam("Invalid x-amz-archive-size: %s. The part at bytes %d-%d is %d bytes; every part except the last must be the part size (%d bytes)",
				rawSize, start, start+p.Size-1, p.Size, u.PartSize)
		}
		pl, err := decodeLeaves(p.Leaves)
		if err != nil {
			return internalErr(fmt.Errorf("upload %s part %d: %w", u.ID, start, err))
		}
		leaves = append(leaves, pl...)
		parts = append(parts, p)
	}
	for start, p := range u.parts {
		if start >= size {
			return invalidParam("Invalid x-amz-archive-size: %s. A part was uploaded at bytes %d-%d, beyond the archive's end", rawSize, start, start+p.Size-1)
		}
	}
	// Glacier combines the parts' tree hashes; with parts of 1 MiB x 2^n
	// that equals the tree over all leaves.
	root := hexHash(treeRoot(leaves))
	if !sameHash(treeHash, root) {
		return invalidParam("Invalid x-amz-sha256-tree-hash: %s", treeHash)
	}
	if err := s.advanceVault(v, s.clock.Now()); err != nil {
		return internalErr(err)
	}

	a := &archive{
		ID:       randomID(archiveIDLen),
		Created:  s.clock.Now(),
		Size:     size,
		TreeHash: root,
		SegSize:  u.PartSize,
		Segs:     len(parts),
	}
	if u.Description != nil {
		a.Description = *u.Description
	}
	// Parts become the archive's segments by hard link: no copy, and the
	// upload stays intact until the archive is committed.
	dir := a.dir(v)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return internalErr(err)
	}
	for i, p := range parts {
		if err := linkOrCopy(filepath.Join(u.dir, p.DataFile), filepath.Join(dir, segName(i))); err != nil {
			os.RemoveAll(dir)
			return internalErr(err)
		}
	}
	if err := s.commitArchive(v, a, leaves); err != nil {
		return internalErr(err)
	}
	u.State = uploadCompleted
	u.ArchiveID = a.ID
	u.Ended = s.clock.Now()
	if err := writeJSON(u.metaPath(), u); err != nil {
		return internalErr(err)
	}
	s.dropParts(u)
	s.writeArchiveCreated(w, v, a)
	return nil
}

// dropParts removes an ended upload's part files; upload.json stays until
// the upload ID is forgotten. Callers hold s.mu.
func (s *Sim) dropParts(u *upload) {
	for start, p := range u.parts {
		os.Remove(filepath.Join(u.dir, partMetaName(start)))
		os.Remove(filepath.Join(u.dir, p.DataFile))
	}
	u.parts = map[int64]*part{}
}

func (s *Sim) writeArchiveCreated(w http.ResponseWriter, v *vault, a *archive) {
	h := w.Header()
	h.Set("Location", s.archiveLocation(v.Name, a.ID))
	h.Set("x-amz-archive-id", a.ID)
	h.Set("x-amz-sha256-tree-hash", a.TreeHash)
	w.WriteHeader(http.StatusCreated)
}

// abortMultipartUpload: "Aborting a completed upload fails. However,
// aborting an already-aborted upload will succeed, for a short time."
// [UNCERTAIN] the error for a completed upload (404 here, as the upload no
// longer exists for ListParts either).
func (s *Sim) abortMultipartUpload(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	u := v.uploads[q.id]
	if u == nil || u.State == uploadCompleted {
		return uploadNotFound(q.id)
	}
	if u.State == uploadActive {
		u.State = uploadAborted
		u.Ended = s.clock.Now()
		if err := writeJSON(u.metaPath(), u); err != nil {
			return internalErr(err)
		}
		s.dropParts(u)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type uploadJSON struct {
	ArchiveDescription *string `json:"ArchiveDescription"`
	CreationDate       string  `json:"CreationDate"`
	MultipartUploadId  string  `json:"MultipartUploadId"`
	PartSizeInBytes    int64   `json:"PartSizeInBytes"`
	VaultARN           string  `json:"VaultARN"`
}

// listMultipartUploads lists active uploads, oldest first ("no guaranteed
// order" in the docs). The marker is the upload ID the next page starts at.
func (s *Sim) listMultipartUploads(w http.ResponseWriter, q *glacierReq) *apiError {
	limit, e := parseLimit(q, listMax, listMax)
	if e != nil {
		return e
	}
	marker := q.r.URL.Query().Get("marker")
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var ups []*upload
	for _, u := range v.uploads {
		if u.State == uploadActive {
			ups = append(ups, u)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if !ups[i].Created.Equal(ups[j].Created) {
			return ups[i].Created.Before(ups[j].Created)
		}
		return ups[i].ID < ups[j].ID
	})
	first, ok := markerIndex(ups, marker, func(u *upload) string { return u.ID })
	if !ok {
		s.mu.Unlock()
		return invalidParam("Invalid marker: %s", marker)
	}
	out := struct {
		Marker      *string      `json:"Marker"`
		UploadsList []uploadJSON `json:"UploadsList"`
	}{UploadsList: []uploadJSON{}}
	for i := first; i < len(ups); i++ {
		if i-first == limit {
			m := ups[i].ID
			out.Marker = &m
			break
		}
		u := ups[i]
		out.UploadsList = append(out.UploadsList, uploadJSON{
			ArchiveDescription: u.Description,
			CreationDate:       fmtMillis(u.Created),
			MultipartUploadId:  u.ID,
			PartSizeInBytes:    u.PartSize,
			VaultARN:           s.vaultARN(v.Name),
		})
	}
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

// listParts lists an active upload's parts sorted by range. The marker is the
// byte offset of the part the next page starts at.
func (s *Sim) listParts(w http.ResponseWriter, q *glacierReq) *apiError {
	limit, e := parseLimit(q, listMax, listMax)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	u, e := activeUpload(v, q.id)
	if e != nil {
		return e
	}
	from := int64(0)
	if m := q.r.URL.Query().Get("marker"); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n < 0 || u.parts[n] == nil {
			return invalidParam("Invalid marker: %s", m)
		}
		from = n
	}
	starts := make([]int64, 0, len(u.parts))
	for st := range u.parts {
		if st >= from {
			starts = append(starts, st)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	type partJSON struct {
		RangeInBytes   string `json:"RangeInBytes"`
		SHA256TreeHash string `json:"SHA256TreeHash"`
	}
	out := struct {
		ArchiveDescription *string    `json:"ArchiveDescription"`
		CreationDate       string     `json:"CreationDate"`
		Marker             *string    `json:"Marker"`
		MultipartUploadId  string     `json:"MultipartUploadId"`
		PartSizeInBytes    int64      `json:"PartSizeInBytes"`
		Parts              []partJSON `json:"Parts"`
		VaultARN           string     `json:"VaultARN"`
	}{
		ArchiveDescription: u.Description,
		CreationDate:       fmtMillis(u.Created),
		MultipartUploadId:  u.ID,
		PartSizeInBytes:    u.PartSize,
		Parts:              []partJSON{},
		VaultARN:           s.vaultARN(v.Name),
	}
	for i, st := range starts {
		if i == limit {
			m := strconv.FormatInt(st, 10)
			out.Marker = &m
			break
		}
		p := u.parts[st]
		out.Parts = append(out.Parts, partJSON{
			RangeInBytes:   fmt.Sprintf("%d-%d", p.Start, p.Start+p.Size-1),
			SHA256TreeHash: p.TreeHash,
		})
	}
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

// PartStats returns, per multipart upload id, how many times each byte
// range ("start-end") was accepted by UploadMultipartPart since the
// simulator started. It is not persisted.
func (s *Sim) PartStats() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]int, len(s.accepted))
	for id, ranges := range s.accepted {
		m := make(map[string]int, len(ranges))
		for r, n := range ranges {
			m[r] = n
		}
		out[id] = m
	}
	return out
}

// markerIndex is where a list page starts: at the item whose id is marker
// (the first item of the page, as Glacier's examples show), or at 0 without
// a marker. ok is false for a marker naming no item.
func markerIndex[T any](items []T, marker string, id func(T) string) (int, bool) {
	if marker == "" {
		return 0, true
	}
	for i, it := range items {
		if id(it) == marker {
			return i, true
		}
	}
	return 0, false
}
