package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"
)

type jobParamsIn struct {
	Type                         *string          `json:"Type"`
	ArchiveId                    *string          `json:"ArchiveId"`
	Description                  *string          `json:"Description"`
	Format                       *string          `json:"Format"`
	SNSTopic                     *string          `json:"SNSTopic"`
	RetrievalByteRange           *string          `json:"RetrievalByteRange"`
	Tier                         *string          `json:"Tier"`
	InventoryRetrievalParameters *invParams       `json:"InventoryRetrievalParameters"`
	SelectParameters             *json.RawMessage `json:"SelectParameters"`
	OutputLocation               *json.RawMessage `json:"OutputLocation"`
}

var validTiers = map[string]bool{"Expedited": true, "Standard": true, "Bulk": true}

var byteRangeRE = regexp.MustCompile(`^([0-9]{1,19})-([0-9]{1,19})$`)

// parseRetrievalRange checks an InitiateJob RetrievalByteRange: start a
// multiple of 1 MiB, end+1 a multiple of 1 MiB or end the last byte, inside
// the archive; anything else is a 400 (documented). Returns [start, end).
// [UNCERTAIN] the message text.
func parseRetrievalRange(v string, size int64) (int64, int64, *apiError) {
	m := byteRangeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, invalidParam("Invalid RetrievalByteRange: %s. The format is StartByteValue-EndByteValue.", v)
	}
	start, err1 := strconv.ParseInt(m[1], 10, 64)
	end, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil || end < start || end >= size {
		return 0, 0, invalidParam("Invalid RetrievalByteRange: %s for an archive of %d bytes.", v, size)
	}
	if start%mib != 0 || ((end+1)%mib != 0 && end != size-1) {
		return 0, 0, invalidParam("Invalid RetrievalByteRange: %s. The range must be megabyte aligned: the start a multiple of 1 MiB and the end one byte before a multiple of 1 MiB or the archive's last byte.", v)
	}
	return start, end + 1, nil
}

func (s *Sim) jobLocation(vaultName, id string) string {
	return s.vaultLocation(vaultName) + "/jobs/" + id
}

func (s *Sim) initiateJob(w http.ResponseWriter, q *glacierReq) *apiError {
	var in jobParamsIn
	if e := decodeStrict(q.body, &in); e != nil {
		return e
	}
	if in.Type == nil || *in.Type == "" {
		return missingParam("Type")
	}
	switch *in.Type {
	case "archive-retrieval", "inventory-retrieval":
	case "select":
		return errf(http.StatusNotImplemented, "NotImplemented", "The freezer simulator does not implement select jobs.")
	default:
		// [UNCERTAIN] message text.
		return invalidParam("Invalid job type: %s. Valid types are archive-retrieval, inventory-retrieval and select.", *in.Type)
	}
	if in.SelectParameters != nil || in.OutputLocation != nil {
		return invalidParam("SelectParameters and OutputLocation are only valid for select jobs.")
	}
	if in.Description != nil && !validDescription(*in.Description) {
		return invalidParam("Invalid job description. It must be at most %d characters, each printable ASCII (0x20-0x7E).", maxDescription)
	}
	if in.Tier != nil && !validTiers[*in.Tier] {
		return invalidParam("Invalid tier: %s. Valid tiers are Expedited, Standard and Bulk.", *in.Tier)
	}
	if in.SNSTopic != nil {
		if e := s.checkTopic(*in.SNSTopic); e != nil {
			return e
		}
	}
	archiveJob := *in.Type == "archive-retrieval"
	if archiveJob {
		if in.ArchiveId == nil || *in.ArchiveId == "" {
			return missingParam("ArchiveId")
		}
		if in.Format != nil || in.InventoryRetrievalParameters != nil {
			return invalidParam("Format and InventoryRetrievalParameters are only valid for inventory-retrieval jobs.")
		}
	} else {
		// "An error occurs if you specify this field for an inventory
		// retrieval job request."
		if in.ArchiveId != nil {
			return invalidParam("ArchiveId is not valid for inventory-retrieval jobs.")
		}
		if in.RetrievalByteRange != nil {
			return invalidParam("RetrievalByteRange is not valid for inventory-retrieval jobs.")
		}
		if in.Format != nil && *in.Format != "JSON" && *in.Format != "CSV" {
			return invalidParam("Invalid Format: %s. Valid formats are CSV and JSON.", *in.Format)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	now := s.clock.Now()
	j := &job{
		ID:          randomID(jobIDLen),
		Description: in.Description,
		Created:     now,
		SNSTopic:    in.SNSTopic,
		Tier:        in.Tier,
		Status:      statusInProgress,
	}
	tier := "Standard"
	if in.Tier != nil {
		tier = *in.Tier
	}
	j.Due = now.Add(s.delays[tier])
	dir := j.dir(v)
	if archiveJob {
		if e := s.prepareArchiveJob(v, j, in, dir); e != nil {
			os.RemoveAll(dir)
			return e
		}
		j.Tier = &tier // archive jobs always report their tier
	} else if e := s.prepareInventoryJob(v, j, in, dir); e != nil {
		os.RemoveAll(dir)
		return e
	}
	if err := writeJSON(filepath.Join(dir, "job.json"), j); err != nil {
		os.RemoveAll(dir)
		return internalErr(err)
	}
	v.jobs[j.ID] = j
	if !j.Due.After(now) {
		if err := s.advanceVault(v, now); err != nil {
			return internalErr(err)
		}
	}
	h := w.Header()
	h.Set("Location", s.jobLocation(v.Name, j.ID))
	h.Set("x-amz-job-id", j.ID)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// prepareArchiveJob links the archive's data into the job directory, so the
// output survives a DeleteArchive made after the job completes; a deletion
// before completion makes the job fail (see completeJob). Callers hold s.mu.
func (s *Sim) prepareArchiveJob(v *vault, j *job, in jobParamsIn, dir string) *apiError {
	a, e := s.archiveInVault(v, *in.ArchiveId)
	if e != nil {
		return e
	}
	j.Action = actionArchive
	j.ArchiveID = a.ID
	j.ArchiveSize = a.Size
	j.ArchiveTreeHash = a.TreeHash
	j.ArchiveDescription = a.Description
	j.RangeStart, j.RangeEnd = 0, a.Size
	if in.RetrievalByteRange != nil {
		start, end, e := parseRetrievalRange(*in.RetrievalByteRange, a.Size)
		if e != nil {
			return e
		}
		j.RangeStart, j.RangeEnd = start, end
	}
	j.JobRangeAligned = treeHashAligned(j.RangeStart, j.RangeEnd, a.Size)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return internalErr(err)
	}
	if a.Deleted != nil {
		// "you might still be able to make a successful request to initiate
		// a job to retrieve the deleted archive, but the archive retrieval
		// job will fail."
		return nil
	}
	j.SegSize, j.Segs = a.SegSize, a.Segs
	src := a.dir(v)
	for i := 0; i < a.Segs; i++ {
		if err := linkOrCopy(filepath.Join(src, segName(i)), filepath.Join(dir, segName(i))); err != nil {
			return internalErr(err)
		}
	}
	if err := linkOrCopy(filepath.Join(src, "leaves"), filepath.Join(dir, "leaves")); err != nil {
		return internalErr(err)
	}
	if j.JobRangeAligned {
		leaves, err := readLeaves(filepath.Join(dir, "leaves"))
		if err != nil {
			return internalErr(err)
		}
		h := hexHash(rangeTreeHash(leaves, j.RangeStart, j.RangeEnd))
		j.RangeTreeHash = &h
	}
	return nil
}

// prepareInventoryJob writes the job's output from the vault's last
// inventory. Callers hold s.mu.
func (s *Sim) prepareInventoryJob(v *vault, j *job, in jobParamsIn, dir string) *apiError {
	if v.inv == nil {
		// Observed on the wire (AWS CLI, 2017).
		return notFound("Inventory retrieval jobs for vault %s cannot be initiated yet, as Amazon Glacier has not yet generated an initial inventory for this vault.", s.vaultARN(v.Name))
	}
	j.Action = actionInventory
	j.Format = "JSON"
	if in.Format != nil {
		j.Format = *in.Format
	}
	j.InvParams = in.InventoryRetrievalParameters
	sel, e := selectInventory(v.inv, j.InvParams)
	if e != nil {
		return e
	}
	j.NextMarker = sel.nextMarker
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return internalErr(err)
	}
	size, err := writeInventory(filepath.Join(dir, "output"), j.Format, s.vaultARN(v.Name), v.inv.Date, sel.archives)
	if err != nil {
		return internalErr(err)
	}
	j.InventorySize = size
	return nil
}

// advanceVault brings a vault to time now: scheduled inventory, due jobs,
// expired job output and forgotten upload IDs. Callers hold s.mu.
func (s *Sim) advanceVault(v *vault, now time.Time) error {
	var errs []error
	if err := s.refreshInventory(v, now); err != nil {
		errs = append(errs, err)
	}
	completed := false
	for id, j := range v.jobs {
		if !j.Completed && !now.Before(j.Due) {
			if err := s.completeJob(v, j); err != nil {
				errs = append(errs, err)
				continue
			}
			completed = true
		}
		// [UNCERTAIN] AWS keeps output "at least 24 hours"; here the job
		// disappears exactly then, so GetJobOutput and DescribeJob answer
		// 404 "The job ID was not found", as for any unknown job.
		if j.Completed && !now.Before(j.CompletedAt.Add(OutputLifetime)) {
			if err := os.RemoveAll(j.dir(v)); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(v.jobs, id)
		}
	}
	for id, u := range v.uploads {
		if u.State != uploadActive && !now.Before(u.Ended.Add(endedUploadLifetime)) {
			if err := os.RemoveAll(u.dir); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(v.uploads, id)
		}
	}
	if completed {
		s.poke()
	}
	return errors.Join(errs...)
}

// completeJob finishes a due job as of its due time and queues its
// notifications. Callers hold s.mu.
func (s *Sim) completeJob(v *vault, j *job) error {
	j.Completed = true
	j.CompletedAt = j.Due
	j.Status, j.StatusMessage = statusSucceeded, "Succeeded"
	if j.Action == actionArchive {
		if a := v.archives[j.ArchiveID]; a == nil || a.Deleted != nil {
			// [UNCERTAIN] the status message AWS uses.
			j.Status, j.StatusMessage = statusFailed, "The archive was deleted before the retrieval job completed."
			for i := 0; i < j.Segs; i++ {
				os.Remove(filepath.Join(j.dir(v), segName(i)))
			}
			os.Remove(filepath.Join(j.dir(v), "leaves"))
			j.Segs = 0
		}
	}
	if err := writeJSON(filepath.Join(j.dir(v), "job.json"), j); err != nil {
		return fmt.Errorf("vault %s: job %s: %w", v.Name, j.ID, err)
	}
	return s.queueNotifications(v, j)
}

type invParamsJSON struct {
	EndDate   *string `json:"EndDate"`
	Format    *string `json:"Format"`
	Limit     *string `json:"Limit"`
	Marker    *string `json:"Marker"`
	StartDate *string `json:"StartDate"`
}

// jobJSON is a GlacierJobDescription with every field printed, nulls
// included, keys in alphabetical order as in the developer guide examples.
type jobJSON struct {
	Action                       string         `json:"Action"`
	ArchiveId                    *string        `json:"ArchiveId"`
	ArchiveSHA256TreeHash        *string        `json:"ArchiveSHA256TreeHash"`
	ArchiveSizeInBytes           *int64         `json:"ArchiveSizeInBytes"`
	Completed                    bool           `json:"Completed"`
	CompletionDate               *string        `json:"CompletionDate"`
	CreationDate                 string         `json:"CreationDate"`
	InventoryRetrievalParameters *invParamsJSON `json:"InventoryRetrievalParameters"`
	InventorySizeInBytes         *int64         `json:"InventorySizeInBytes"`
	JobDescription               *string        `json:"JobDescription"`
	JobId                        string         `json:"JobId"`
	RetrievalByteRange           *string        `json:"RetrievalByteRange"`
	SHA256TreeHash               *string        `json:"SHA256TreeHash"`
	SNSTopic                     *string        `json:"SNSTopic"`
	StatusCode                   string         `json:"StatusCode"`
	StatusMessage                *string        `json:"StatusMessage"`
	Tier                         *string        `json:"Tier"`
	VaultARN                     string         `json:"VaultARN"`
}

func ptr[T any](v T) *T { return &v }

// renderJob describes a job. Choices where sources differ: SHA256TreeHash is
// null until the job succeeds ([CONFLICT] the API reference says null while
// InProgress; one doc example and a 2017 CLI capture show it early — a client
// must not rely on it before completion); StatusMessage is null while in
// progress (as in that capture).
func (s *Sim) renderJob(v *vault, j *job) jobJSON {
	out := jobJSON{
		Action:         j.Action,
		Completed:      j.Completed,
		CreationDate:   fmtMillis(j.Created),
		JobDescription: j.Description,
		JobId:          j.ID,
		SNSTopic:       j.SNSTopic,
		StatusCode:     j.Status,
		Tier:           j.Tier,
		VaultARN:       s.vaultARN(v.Name),
	}
	if j.Completed {
		out.CompletionDate = ptr(fmtMillis(j.CompletedAt))
		out.StatusMessage = ptr(j.StatusMessage)
	}
	switch j.Action {
	case actionArchive:
		out.ArchiveId = ptr(j.ArchiveID)
		out.ArchiveSHA256TreeHash = ptr(j.ArchiveTreeHash)
		out.ArchiveSizeInBytes = ptr(j.ArchiveSize)
		out.RetrievalByteRange = ptr(fmt.Sprintf("%d-%d", j.RangeStart, j.RangeEnd-1))
		if j.Completed && j.Status == statusSucceeded && j.RangeTreeHash != nil {
			out.SHA256TreeHash = ptr(*j.RangeTreeHash)
		}
	case actionInventory:
		p := &invParamsJSON{Format: ptr(j.Format)}
		if j.InvParams != nil {
			p.StartDate, p.EndDate, p.Limit = j.InvParams.StartDate, j.InvParams.EndDate, j.InvParams.Limit
		}
		if j.Completed {
			out.InventorySizeInBytes = ptr(j.InventorySize)
			p.Marker = j.NextMarker
		}
		out.InventoryRetrievalParameters = p
	}
	return out
}

func jobNotFound(id string) *apiError {
	// Documented body: "The job ID was not found: <jobId>".
	return notFound("The job ID was not found: %s", id)
}

func (s *Sim) describeJob(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	j := v.jobs[q.id]
	if j == nil {
		s.mu.Unlock()
		return jobNotFound(q.id)
	}
	out := s.renderJob(v, j)
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

// listJobs lists jobs by initiation time. The marker is the ID of the job the
// next page starts at. Invalid statuscode gets the documented message.
func (s *Sim) listJobs(w http.ResponseWriter, q *glacierReq) *apiError {
	limit, e := parseLimit(q, listMax, listMax)
	if e != nil {
		return e
	}
	query := q.r.URL.Query()
	status, hasStatus := query["statuscode"]
	if hasStatus {
		switch status[0] {
		case statusInProgress, statusSucceeded, statusFailed:
		default:
			return invalidParam("The job status code is not valid: %s", status[0])
		}
	}
	completed, hasCompleted := query["completed"]
	if hasCompleted && completed[0] != "true" && completed[0] != "false" {
		// [UNCERTAIN] message text.
		return invalidParam("The completed value is not valid: %s", completed[0])
	}
	marker := query.Get("marker")

	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var jobs []*job
	for _, j := range v.jobs {
		if hasStatus && j.Status != status[0] {
			continue
		}
		if hasCompleted && strconv.FormatBool(j.Completed) != completed[0] {
			continue
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(i, k int) bool {
		if !jobs[i].Created.Equal(jobs[k].Created) {
			return jobs[i].Created.Before(jobs[k].Created)
		}
		return jobs[i].ID < jobs[k].ID
	})
	first, ok := markerIndex(jobs, marker, func(j *job) string { return j.ID })
	if !ok {
		s.mu.Unlock()
		return invalidParam("Invalid marker: %s", marker)
	}
	out := struct {
		JobList []jobJSON `json:"JobList"`
		Marker  *string   `json:"Marker"`
	}{JobList: []jobJSON{}}
	for i := first; i < len(jobs); i++ {
		if i-first == limit {
			out.Marker = ptr(jobs[i].ID)
			break
		}
		out.JobList = append(out.JobList, s.renderJob(v, jobs[i]))
	}
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

var rangeRE = regexp.MustCompile(`^bytes=([0-9]{0,19})-([0-9]{0,19})$`)

// parseRange parses a single HTTP byte range against an output of length n
// and returns [start, end). [UNCERTAIN] the error for an unusable range
// (400 InvalidParameterValueException here).
func parseRange(v string, n int64) (int64, int64, *apiError) {
	m := rangeRE.FindStringSubmatch(v)
	bad := invalidParam("Invalid range: %s for job output of %d bytes. Use bytes=start-end.", v, n)
	if m == nil || (m[1] == "" && m[2] == "") {
		return 0, 0, bad
	}
	if m[1] == "" { // suffix: the last N bytes
		k, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || k == 0 {
			return 0, 0, bad
		}
		return max(n-k, 0), n, nil
	}
	start, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || start >= n {
		return 0, 0, bad
	}
	end := n - 1
	if m[2] != "" {
		e, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || e < start {
			return 0, 0, bad
		}
		end = min(e, n-1)
	}
	return start, end + 1, nil
}

func (s *Sim) getJobOutput(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	j := v.jobs[q.id]
	if j == nil {
		s.mu.Unlock()
		return jobNotFound(q.id)
	}
	if !j.Completed || j.Status != statusSucceeded {
		s.mu.Unlock()
		// Observed on the wire for a job still in progress; [UNCERTAIN]
		// that a failed job gets the same answer.
		return invalidParam("The job is not currently available for download: %s", j.ID)
	}
	jc := *j
	dir := j.dir(v)
	// Open the files while the job cannot expire under us; once open, a
	// removal does not disturb the reads.
	src, err := openJobOutput(dir, &jc)
	s.mu.Unlock()
	if err != nil {
		return internalErr(err)
	}
	defer src.Close()

	n := src.size
	start, end := int64(0), n
	partial := false
	if rh := q.r.Header.Get("Range"); rh != "" {
		if start, end, e = parseRange(rh, n); e != nil {
			return e
		}
		partial = true
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	switch {
	case jc.Action == actionArchive:
		h.Set("Content-Type", "application/octet-stream")
		if jc.ArchiveDescription != "" {
			h.Set("x-amz-archive-description", jc.ArchiveDescription)
		}
		// The checksum comes only when both the job's range and the
		// downloaded range are tree-hash aligned (the developer guide's
		// stricter rule; botocore's model text also allows any
		// megabyte-aligned range — a client must not expect it there).
		absStart, absEnd := jc.RangeStart+start, jc.RangeStart+end
		if jc.JobRangeAligned && treeHashAligned(absStart, absEnd, jc.ArchiveSize) {
			leaves, err := readLeaves(filepath.Join(dir, "leaves"))
			if err == nil {
				h.Set("x-amz-sha256-tree-hash", hexHash(rangeTreeHash(leaves, absStart, absEnd)))
			}
		}
	case jc.Format == "CSV":
		h.Set("Content-Type", "text/csv")
	default:
		h.Set("Content-Type", "application/json")
	}
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, n))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}

	var out io.Writer = w
	if f := q.fault; f != nil {
		switch f.kind {
		case FaultCorrupt:
			out = newCorruptWriter(out, end-start, f)
		case FaultReset:
			out = &resetWriter{w: w, left: f.afterBytes}
		}
	}
	if err := src.copyRange(out, start, end); err != nil {
		if errors.Is(err, errInjectedReset) {
			return errConnReset
		}
		// The client went away or a file vanished; the status line is
		// already sent, so cut the connection to make the failure visible.
		s.log.Debug().Err(err).Str("job", jc.ID).Msg("sim: job output copy")
		return errConnReset
	}
	return nil
}

// jobOutput is an opened job output: archive segments or an inventory file.
type jobOutput struct {
	files   []*os.File
	direct  []*os.File // the same segments opened with O_DIRECT; nil entries: none
	segSize int64
	size    int64
	offset  int64 // archive offset of output byte 0
}

func openJobOutput(dir string, j *job) (*jobOutput, error) {
	o := &jobOutput{}
	if j.Action == actionInventory {
		f, err := os.Open(filepath.Join(dir, "output"))
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		o.files, o.segSize, o.size = []*os.File{f}, st.Size(), st.Size()
		return o, nil
	}
	for i := 0; i < j.Segs; i++ {
		f, err := os.Open(filepath.Join(dir, segName(i)))
		if err != nil {
			o.Close()
			return nil, err
		}
		o.files = append(o.files, f)
		o.direct = append(o.direct, openDirectRead(f.Name()))
	}
	o.segSize = j.SegSize
	o.size = j.RangeEnd - j.RangeStart
	o.offset = j.RangeStart
	return o, nil
}

func (o *jobOutput) Close() error {
	for _, f := range o.files {
		f.Close()
	}
	for _, f := range o.direct {
		if f != nil {
			f.Close()
		}
	}
	return nil
}

// directFile is segment i's O_DIRECT descriptor, or nil.
func (o *jobOutput) directFile(i int64) *os.File {
	if i < int64(len(o.direct)) {
		return o.direct[i]
	}
	return nil
}

// copyRange streams output bytes [start, end) across segment files with a
// fixed-size buffer, read past the page cache where the file system allows
// it (the bodies were written that way: see direct.go).
func (o *jobOutput) copyRange(w io.Writer, start, end int64) error {
	pos := o.offset + start
	stop := o.offset + end
	buf := alignedBuffer(receiveBuffer)
	for pos < stop {
		i := pos / o.segSize
		if i >= int64(len(o.files)) {
			return io.ErrUnexpectedEOF
		}
		segEnd := min((i+1)*o.segSize, stop)
		var n int64
		var err error
		if d := o.directFile(i); d != nil {
			n, err = copyDirect(w, d, pos-i*o.segSize, segEnd-i*o.segSize, buf)
			if errors.Is(err, errDirectRefused) {
				d.Close()
				o.direct[i] = nil
				continue
			}
		} else {
			sr := io.NewSectionReader(o.files[i], pos-i*o.segSize, segEnd-pos)
			n, err = io.CopyBuffer(w, sr, buf[:cap(buf)])
		}
		pos += n
		if err != nil {
			return err
		}
		if pos < segEnd {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}
