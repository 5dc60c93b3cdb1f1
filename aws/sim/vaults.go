package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	maxVaults = 1000 // per account and region (developer guide, creating-vaults)
	// archiveOverhead is added per archive to a vault's SizeInBytes. Real
	// DescribeVault output shows it: a 3,145,728-byte archive made
	// SizeInBytes 3,178,496, and two archives of 5,798,098 and 2,803 bytes
	// made 5,866,437 (32 KiB each).
	archiveOverhead = 32 << 10
	listVaultsMax   = 10
)

func (s *Sim) vaultARN(name string) string {
	return "arn:aws:glacier:" + s.region + ":" + s.account + ":vaults/" + name
}

func (s *Sim) vaultLocation(name string) string { return "/" + s.account + "/vaults/" + name }

// validVaultName applies the documented rule: 1 to 255 characters of
// a-z, A-Z, 0-9, '_', '-' and '.'. [UNCERTAIN] "." and ".." are refused
// although the rule allows them: as path segments they are removed by the
// URI normalisation of SigV4 and of HTTP front ends, so such a vault could not
// be used on AWS either.
func validVaultName(name string) bool {
	if len(name) < 1 || len(name) > 255 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// lookupVault returns the vault and brings it up to date (due jobs,
// scheduled inventory). Callers hold s.mu.
func (s *Sim) lookupVault(name string) (*vault, *apiError) {
	v := s.vaults[name]
	if v == nil {
		// Real Glacier answers invalid names the same way (observed:
		// "Vault not found for ARN: ...").
		return nil, notFound("Vault not found for ARN: %s", s.vaultARN(name))
	}
	if err := s.advanceVault(v, s.clock.Now()); err != nil {
		return nil, internalErr(err)
	}
	return v, nil
}

func internalErr(err error) *apiError {
	return errf(http.StatusInternalServerError, "ServiceUnavailableException", "freezer simulator storage error: %v", err)
}

type vaultJSON struct {
	CreationDate      string  `json:"CreationDate"`
	LastInventoryDate *string `json:"LastInventoryDate"`
	NumberOfArchives  int64   `json:"NumberOfArchives"`
	SizeInBytes       int64   `json:"SizeInBytes"`
	VaultARN          string  `json:"VaultARN"`
	VaultName         string  `json:"VaultName"`
}

// describe renders a vault from its last inventory. Before the first
// inventory the counts are 0 and LastInventoryDate is null ([CONFLICT] the
// docs say the counts are null; real responses and botocore's examples show
// 0, and aws-sdk-go-v2 types them as plain int64).
func (s *Sim) describe(v *vault) vaultJSON {
	out := vaultJSON{
		CreationDate: fmtMillis(v.Created),
		VaultARN:     s.vaultARN(v.Name),
		VaultName:    v.Name,
	}
	if v.inv != nil {
		d := fmtMillis(v.inv.Date)
		out.LastInventoryDate = &d
		for _, a := range v.inv.Archives {
			out.NumberOfArchives++
			out.SizeInBytes += a.Size + archiveOverhead
		}
	}
	return out
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeGlacierError(w, internalErr(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Sim) createVault(w http.ResponseWriter, q *glacierReq) *apiError {
	if !validVaultName(q.vault) {
		// [UNCERTAIN] message text; the rule (1-255 of [a-zA-Z0-9_.-]) is
		// documented.
		return invalidParam("Invalid vault name: %s. Vault names are 1 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'.", q.vault)
	}
	if len(q.body) != 0 {
		// The docs say the body "must be empty (0 bytes)".
		return invalidParam("The request body must be empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vaults[q.vault]; !ok {
		if len(s.vaults) >= maxVaults {
			return errf(http.StatusBadRequest, "LimitExceededException", "The maximum number of vaults (%d) has been reached for account %s.", maxVaults, s.account)
		}
		now := s.clock.Now()
		v := &vault{
			Name:         q.vault,
			Created:      now,
			InvScheduled: now,
			dir:          filepath.Join(s.root, "vaults", vaultDirName(q.vault)),
			archives:     map[string]*archive{},
			uploads:      map[string]*upload{},
			jobs:         map[string]*job{},
		}
		if err := os.MkdirAll(v.dir, dirPerm); err != nil {
			return internalErr(err)
		}
		if err := writeJSON(v.metaPath(), v); err != nil {
			return internalErr(err)
		}
		s.vaults[v.Name] = v
	}
	w.Header().Set("Location", s.vaultLocation(q.vault))
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Sim) describeVault(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	out := s.describe(v)
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

// parseLimit reads the limit query parameter: absent means def; otherwise an
// integer in [1, max]. Values beyond max are refused rather than capped so a
// client cannot come to rely on more than AWS promises.
func parseLimit(q *glacierReq, def, maxLimit int) (int, *apiError) {
	vals, ok := q.r.URL.Query()["limit"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidParam("Invalid limit: %s. The limit must be an integer from 1 to %d.", vals[0], maxLimit)
	}
	return n, nil
}

// listVaults pages through vaults in ASCII order. [CONFLICT] resolved as in
// the developer guide's example: the response Marker is the ARN of the first
// vault not returned, and a request marker starts the page at that vault.
// ListVaults' limit: default 10, maximum 10 (API reference; another page says
// "up to 1,000" — the smaller bound is enforced).
func (s *Sim) listVaults(w http.ResponseWriter, q *glacierReq) *apiError {
	limit, e := parseLimit(q, listVaultsMax, listVaultsMax)
	if e != nil {
		return e
	}
	marker := q.r.URL.Query().Get("marker")
	prefix := s.vaultARN("")
	if marker != "" && !strings.HasPrefix(marker, prefix) {
		return invalidParam("Invalid marker: %s", marker)
	}
	after := strings.TrimPrefix(marker, prefix)

	s.mu.Lock()
	names := make([]string, 0, len(s.vaults))
	for n := range s.vaults {
		if n >= after {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := struct {
		Marker    *string     `json:"Marker"`
		VaultList []vaultJSON `json:"VaultList"`
	}{VaultList: []vaultJSON{}}
	now := s.clock.Now()
	for i, n := range names {
		if i == limit {
			m := s.vaultARN(n)
			out.Marker = &m
			break
		}
		v := s.vaults[n]
		if err := s.advanceVault(v, now); err != nil {
			s.mu.Unlock()
			return internalErr(err)
		}
		out.VaultList = append(out.VaultList, s.describe(v))
	}
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

// deleteVault deletes a vault only if it held no archives as of its last
// inventory and nothing was written since (the documented rule; the error is
// the one observed on the wire).
func (s *Sim) deleteVault(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	empty := v.WriteSeq == 0
	if v.inv != nil {
		empty = len(v.inv.Archives) == 0 && v.inv.Seq == v.WriteSeq
	}
	if !empty {
		return invalidParam("Vault not empty or recently written to: %s", s.vaultARN(v.Name))
	}
	// vault.json goes first: a crash part-way leaves a directory without it,
	// which loadState removes.
	if err := os.Remove(v.metaPath()); err != nil {
		return internalErr(err)
	}
	delete(s.vaults, v.Name)
	if err := os.RemoveAll(v.dir); err != nil {
		s.log.Warn().Err(err).Str("vault", v.Name).Msg("sim: remove deleted vault's files")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var validEvents = map[string]bool{"ArchiveRetrievalCompleted": true, "InventoryRetrievalCompleted": true}

// decodeStrict decodes a JSON request body, refusing unknown fields and
// trailing data. [UNCERTAIN] whether AWS ignores unknown fields; refusing them
// catches mistakes such as wrapping InitiateJob's parameters in
// {"jobParameters": ...} (the developer guide's syntax block shows that
// wrapper, but the wire format is flat).
func decodeStrict(body []byte, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errf(http.StatusBadRequest, "SerializationException", "Could not parse the request body: %v", err)
	}
	if dec.More() {
		return errf(http.StatusBadRequest, "SerializationException", "Could not parse the request body: trailing data")
	}
	return nil
}

func (s *Sim) validTopicARN(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) == 6 && parts[0] == "arn" && parts[1] == "aws" && parts[2] == "sns" && parts[5] != ""
}

// checkTopic refuses topics that do not exist. [UNCERTAIN] the error text;
// the docs say the topic "must exist" and Glacier will not create it.
func (s *Sim) checkTopic(arn string) *apiError {
	if !s.validTopicARN(arn) {
		return invalidParam("Invalid SNS topic ARN: %s", arn)
	}
	if !s.notifier.TopicExists(arn) {
		return invalidParam("SNS topic does not exist: %s", arn)
	}
	return nil
}

func (s *Sim) setVaultNotifications(w http.ResponseWriter, q *glacierReq) *apiError {
	var in struct {
		SNSTopic *string  `json:"SNSTopic"`
		Events   []string `json:"Events"`
	}
	if e := decodeStrict(q.body, &in); e != nil {
		return e
	}
	if in.SNSTopic == nil || *in.SNSTopic == "" {
		return missingParam("SNSTopic")
	}
	if len(in.Events) == 0 {
		return missingParam("Events")
	}
	for _, ev := range in.Events {
		if !validEvents[ev] {
			return invalidParam("Invalid event: %s. Valid events are ArchiveRetrievalCompleted and InventoryRetrievalCompleted.", ev)
		}
	}
	// Checked without s.mu: the notifier has its own lock.
	if e := s.checkTopic(*in.SNSTopic); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	v.Notify = &notifyConfig{SNSTopic: *in.SNSTopic, Events: in.Events}
	if err := writeJSON(v.metaPath(), v); err != nil {
		return internalErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Sim) getVaultNotifications(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	if v.Notify == nil {
		s.mu.Unlock()
		// [UNCERTAIN] message; the docs give the 404.
		return notFound("No notification configuration is set for vault: %s", v.Name)
	}
	out := struct {
		Events   []string `json:"Events"`
		SNSTopic string   `json:"SNSTopic"`
	}{append([]string(nil), v.Notify.Events...), v.Notify.SNSTopic}
	s.mu.Unlock()
	writeJSONResponse(w, http.StatusOK, out)
	return nil
}

func (s *Sim) deleteVaultNotifications(w http.ResponseWriter, q *glacierReq) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.lookupVault(q.vault)
	if e != nil {
		return e
	}
	if v.Notify != nil {
		v.Notify = nil
		if err := writeJSON(v.metaPath(), v); err != nil {
			return internalErr(err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
