package control

import (
	"time"

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
		d.Jobs[i] = JobJSON{ID: j.ID, Vault: j.Vault, Archive: j.Archive, Action: j.Action, Tier: j.Tier, Status: j.Status,
			StatusMessage: j.StatusMessage, Size: j.Size, Created: jsonTime(j.Created), Completed: jsonTime(j.Completed),
			Expires: jsonTime(j.Expires), Executed: jsonTime(j.Executed), Description: j.Description, Foreign: j.Foreign}
	}
	return d
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
