package control

import (
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"freezer/store"
)

// JSON shapes of the read view, version 1: `freezer … --json`, the
// control files' .json twins and the GUI helper read these. Fields are
// only added, never renamed or removed; readers must ignore fields they do
// not know. Times are RFC 3339 UTC, "" when unknown. The README documents
// every shape.

// JSONVersion is the version every document carries.
const JSONVersion = 1

// TaskJSON is a task.
type TaskJSON struct {
	ID         int64   `json:"id"`
	Kind       string  `json:"kind"`
	Vault      string  `json:"vault"`
	Archive    string  `json:"archive,omitempty"`
	Phase      string  `json:"phase"`
	State      string  `json:"state"`
	BytesDone  int64   `json:"bytes_done"`
	BytesTotal int64   `json:"bytes_total"`
	Rate       float64 `json:"rate"`        // bytes per second; 0 when not measured yet
	ETASeconds int64   `json:"eta_seconds"` // -1 when unknown
	Created    string  `json:"created"`
	Started    string  `json:"started"`
	Updated    string  `json:"updated"`
	Finished   string  `json:"finished"`
	Owner      struct {
		PID     int    `json:"pid"`
		Host    string `json:"host"`
		Command string `json:"command"`
	} `json:"owner"`
	Result    string `json:"result"`
	Error     string `json:"error"`
	ErrorKind string `json:"error_kind"`
	Resume    string `json:"resume"` // the control line that resumes or repeats it
}

// JSON is the task's document shape.
func (t TaskInfo) JSON() TaskJSON {
	j := TaskJSON{ID: t.ID, Kind: t.Kind, Vault: t.Vault, Archive: t.Archive, Phase: t.Phase, State: t.State,
		BytesDone: t.BytesDone, BytesTotal: t.BytesTotal, Rate: t.Rate, ETASeconds: -1,
		Created: jsonTime(t.Created), Started: jsonTime(t.Started), Updated: jsonTime(t.Updated), Finished: jsonTime(t.Finished),
		Result: t.Result, Error: t.Error, ErrorKind: t.ErrorKind, Resume: t.Resume}
	if t.ETA >= 0 {
		j.ETASeconds = int64(t.ETA / time.Second)
	}
	j.Owner.PID, j.Owner.Host, j.Owner.Command = t.OwnerPID, t.OwnerHost, t.Command
	return j
}

// StatusJSON is the document of `freezer status --json` and
// .control/status.json.
type StatusJSON struct {
	Version int        `json:"version"`
	Tasks   []TaskJSON `json:"tasks"`
}

// Status returns the status document for tasks.
func Status(ts []TaskInfo) StatusJSON {
	s := StatusJSON{Version: JSONVersion, Tasks: make([]TaskJSON, len(ts))}
	for i, t := range ts {
		s.Tasks[i] = t.JSON()
	}
	return s
}

// JobJSON is a Glacier job.
type JobJSON struct {
	ID            string `json:"id"`
	Vault         string `json:"vault"`
	Archive       string `json:"archive,omitempty"`
	Action        string `json:"action"`
	Tier          string `json:"tier,omitempty"`
	Status        string `json:"status"`
	StatusMessage string `json:"status_message,omitempty"`
	Size          int64  `json:"size"`
	Created       string `json:"created"`
	Completed     string `json:"completed"`
	Expires       string `json:"expires"`
	Executed      string `json:"executed"`
	Description   string `json:"description,omitempty"`
	Foreign       bool   `json:"foreign"` // not requested by a process of this catalog
}

// JobsJSON is the document of `freezer jobs --json` and .control/jobs.json.
type JobsJSON struct {
	Version int       `json:"version"`
	Jobs    []JobJSON `json:"jobs"`
}

// JobsDoc returns the jobs document.
func JobsDoc(js []store.Job) JobsJSON {
	d := JobsJSON{Version: JSONVersion, Jobs: make([]JobJSON, len(js))}
	for i, j := range js {
		d.Jobs[i] = jobJSON(j)
	}
	return d
}

func jobJSON(j store.Job) JobJSON {
	return JobJSON{ID: j.ID, Vault: j.Vault, Archive: j.Archive, Action: j.Action, Tier: j.Tier, Status: j.Status,
		StatusMessage: j.StatusMessage, Size: j.Size, Created: jsonTime(j.Created), Completed: jsonTime(j.Completed),
		Expires: jsonTime(j.Expires), Executed: jsonTime(j.Executed), Description: j.Description, Foreign: j.Foreign}
}

// ErrorJSON is one entry of the error log.
type ErrorJSON struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	Source  string `json:"source"`
	Command string `json:"command"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ErrorsJSON is the document of `freezer errors --json` and
// .control/errors.json.
type ErrorsJSON struct {
	Version int         `json:"version"`
	Errors  []ErrorJSON `json:"errors"`
}

// ErrorsDoc returns the error log document.
func ErrorsDoc(es []store.ErrorEntry) ErrorsJSON {
	d := ErrorsJSON{Version: JSONVersion, Errors: make([]ErrorJSON, len(es))}
	for i, e := range es {
		d.Errors[i] = ErrorJSON{ID: e.ID, At: jsonTime(e.At), Source: e.Source, Command: e.Command, Kind: e.Kind, Message: e.Message}
	}
	return d
}

// SettingJSON is one setting in effect; a secret's value is redacted.
type SettingJSON struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Secret bool   `json:"secret"`
	Help   string `json:"help"`
}

// SettingsJSON is the document of `freezer settings list --json` and
// .control/settings.json.
type SettingsJSON struct {
	Version    int           `json:"version"`
	Settings   []SettingJSON `json:"settings"`
	Exclusions struct {
		Exclude []string `json:"exclude"`
		Backup  []string `json:"backup"`
		Manual  []string `json:"manual"`
	} `json:"exclusions"`
}

// SettingsDoc returns the settings document, secrets redacted.
func SettingsDoc(all map[string]Resolved, x Exclusions) SettingsJSON {
	d := SettingsJSON{Version: JSONVersion}
	for _, s := range Settings() {
		r := all[s.Key]
		d.Settings = append(d.Settings, SettingJSON{Key: s.Key, Value: Redact(s, r.Value), Source: r.Source, Secret: s.Secret, Help: s.Help})
	}
	d.Exclusions.Exclude, d.Exclusions.Backup, d.Exclusions.Manual = nonNil(x.Exclude), nonNil(x.Backup), nonNil(x.Manual)
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Names and paths are bytes and need not be UTF-8 (file names inside an
// archive, names other tools gave archives). Such a field is a JSON string
// with the bytes that are not UTF-8 replaced by U+FFFD, good for showing;
// when (and only when) a replacement happened, a sibling field with the
// suffix "_b64" holds the exact bytes in standard base64, as in the plan.
func exactText(s string) (text, b64 string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return strings.ToValidUTF8(s, "\uFFFD"), base64.StdEncoding.EncodeToString([]byte(s))
}

// VaultJSON is a vault as the catalog knows it.
type VaultJSON struct {
	Name string `json:"name"`
	// InGlacier: Glacier listed the vault at the last refresh.
	InGlacier     bool   `json:"in_glacier"`
	ARN           string `json:"arn"`
	Created       string `json:"created"`
	Archives      int64  `json:"archives"`       // archives in the catalog
	LocalArchives int64  `json:"local_archives"` // of which have a local copy
	Size          int64  `json:"size"`           // bytes of the catalog's archives in Glacier
	LocalSize     int64  `json:"local_size"`     // bytes of their local copies
	// GlacierArchives and GlacierSize are what Glacier's last inventory
	// counted (it lags by about a day).
	GlacierArchives int64  `json:"glacier_archives"`
	GlacierSize     int64  `json:"glacier_size"`
	InventoryDate   string `json:"inventory_date"`
	// Location is the Glacier endpoint, region and account the vault
	// lives in ("" when not recorded).
	Location string `json:"location"`
}

// VaultsJSON is the document of `freezer vault list --json`.
type VaultsJSON struct {
	Version int         `json:"version"`
	Vaults  []VaultJSON `json:"vaults"`
}

// VaultsDoc returns the vaults document.
func VaultsDoc(vs []VaultInfo) VaultsJSON {
	d := VaultsJSON{Version: JSONVersion, Vaults: make([]VaultJSON, len(vs))}
	for i, v := range vs {
		d.Vaults[i] = VaultJSON{Name: v.Name, InGlacier: v.Remote(), ARN: v.ARN, Created: jsonTime(v.Created),
			Archives: v.Archives, LocalArchives: v.LocalArchives, Size: v.CatalogSize, LocalSize: v.LocalSize,
			GlacierArchives: v.RemoteArchives, GlacierSize: v.RemoteSize, InventoryDate: jsonTime(v.InventoryDate),
			Location: v.Location}
	}
	return d
}

// ArchiveJSON is an archive with its state.
type ArchiveJSON struct {
	Vault   string `json:"vault"`
	Name    string `json:"name"`
	NameB64 string `json:"name_b64,omitempty"`
	// State is local, liquid, frozen, melting, melted or invalid.
	State     string `json:"state"`
	ArchiveID string `json:"archive_id"` // Glacier's id; "" until uploaded
	Size      int64  `json:"size"`       // bytes in Glacier (encrypted)
	LocalSize int64  `json:"local_size"` // bytes of the local copy (the compressed tar)
	Local     bool   `json:"local"`      // a local copy is there
	Files     int64  `json:"files"`
	Created   string `json:"created"`
	// Compression and Cipher as the description says ("unknown" for
	// another tool's archive); Key is the key id, "" when unencrypted.
	Compression string `json:"compression"`
	Cipher      string `json:"cipher"`
	Key         string `json:"key"`
	Description string `json:"description"` // as stored in Glacier
	TreeHash    string `json:"tree_hash"`
	SHA256      string `json:"sha256"` // of the local copy
	// Job is the retrieval job behind the state, null when none.
	Job *JobJSON `json:"job"`
	// Expires is when a melted archive's job output stops being
	// downloadable; "" unless melted.
	Expires string `json:"expires"`
}

// ArchivesJSON is the document of `freezer archive list --json`.
type ArchivesJSON struct {
	Version  int           `json:"version"`
	Vault    string        `json:"vault"`
	Archives []ArchiveJSON `json:"archives"`
}

// JSON is the archive's document shape.
func (a ArchiveInfo) JSON() ArchiveJSON {
	name, b64 := exactText(a.Name)
	j := ArchiveJSON{Vault: a.Vault, Name: name, NameB64: b64, State: string(a.State), ArchiveID: a.RemoteID,
		Size: a.Size, LocalSize: a.LocalSize, Local: a.Local, Files: a.FileCount, Created: jsonTime(a.Created),
		Compression: a.Compression, Cipher: a.Cipher, Key: a.KeyID, Description: a.Description,
		TreeHash: a.TreeHash, SHA256: a.SHA256, Expires: jsonTime(a.Expires())}
	if a.Job != nil {
		jj := jobJSON(*a.Job)
		j.Job = &jj
	}
	return j
}

// ArchivesDoc returns the archives document of a vault.
func ArchivesDoc(vault string, as []ArchiveInfo) ArchivesJSON {
	d := ArchivesJSON{Version: JSONVersion, Vault: vault, Archives: make([]ArchiveJSON, len(as))}
	for i, a := range as {
		d.Archives[i] = a.JSON()
	}
	return d
}

// ArchiveFileJSON is one file inside an archive.
type ArchiveFileJSON struct {
	Path    string `json:"path"` // inside the archive
	PathB64 string `json:"path_b64,omitempty"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// ArchiveFilesJSON is the document of `freezer archive files --json`.
type ArchiveFilesJSON struct {
	Version int               `json:"version"`
	Vault   string            `json:"vault"`
	Archive string            `json:"archive"`
	Files   []ArchiveFileJSON `json:"files"`
}

// ArchiveFilesDoc returns the document of an archive's files.
func ArchiveFilesDoc(vault, archive string, fs []store.FileRecord) ArchiveFilesJSON {
	d := ArchiveFilesJSON{Version: JSONVersion, Vault: vault, Archive: archive, Files: make([]ArchiveFileJSON, len(fs))}
	for i, f := range fs {
		p, b := exactText(f.Path)
		d.Files[i] = ArchiveFileJSON{Path: p, PathB64: b, Size: f.Size, SHA256: f.SHA256}
	}
	return d
}

// CatalogFileJSON is one file kept in an archive, with its newest copy.
type CatalogFileJSON struct {
	Name    string `json:"name"` // base name
	NameB64 string `json:"name_b64,omitempty"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Copies  int    `json:"copies"` // archive paths holding it
	Newest  struct {
		Vault   string `json:"vault"`
		Archive string `json:"archive"`
		Path    string `json:"path"`
		PathB64 string `json:"path_b64,omitempty"`
		Created string `json:"created"`
	} `json:"newest"`
}

// FilesJSON is the document of `freezer files --json`.
type FilesJSON struct {
	Version int               `json:"version"`
	Files   []CatalogFileJSON `json:"files"`
}

// FilesDoc returns the catalog's file document.
func FilesDoc(fs []store.CatalogFile) FilesJSON {
	d := FilesJSON{Version: JSONVersion, Files: make([]CatalogFileJSON, len(fs))}
	for i, f := range fs {
		var j CatalogFileJSON
		j.Name, j.NameB64 = exactText(f.Name)
		j.Size, j.SHA256, j.Copies = f.Size, f.SHA256, f.Copies
		j.Newest.Vault, j.Newest.Archive, j.Newest.Created = f.Newest.Vault, f.Newest.Archive, jsonTime(f.Newest.Created)
		j.Newest.Path, j.Newest.PathB64 = exactText(f.Newest.Path)
		d.Files[i] = j
	}
	return d
}

// KeyJSON is a key as listed: never its material.
type KeyJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	NameB64   string `json:"name_b64,omitempty"`
	Algorithm string `json:"algorithm"`
	Default   bool   `json:"default"`
	// ReadOnly: a legacy cipher, kept to read old archives; new archives
	// are never encrypted with it.
	ReadOnly bool   `json:"read_only"`
	Created  string `json:"created"`
}

// KeysJSON is the document of `freezer key list --json` and the mount's
// keys folder.
type KeysJSON struct {
	Version int       `json:"version"`
	Keys    []KeyJSON `json:"keys"`
}

// KeysDoc returns the keys document.
func KeysDoc(ks []KeyInfo) KeysJSON {
	d := KeysJSON{Version: JSONVersion, Keys: make([]KeyJSON, len(ks))}
	for i, k := range ks {
		name, b64 := exactText(k.Name)
		d.Keys[i] = KeyJSON{ID: k.ID, Name: name, NameB64: b64, Algorithm: k.Algorithm, Default: k.Default,
			ReadOnly: k.Legacy, Created: jsonTime(k.Created)}
	}
	return d
}
