package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The in-memory state mirrors the files under Options.Dir; every field with a
// JSON tag is persisted. All of it is guarded by Sim.mu.

type vault struct {
	Name    string        `json:"name"`
	Created time.Time     `json:"created"`
	Notify  *notifyConfig `json:"notify,omitempty"`
	// WriteSeq counts archive creations and deletions. An inventory records
	// the count it saw, which answers "written since the last inventory?"
	// even when a ManualClock stands still.
	WriteSeq int64 `json:"writeSeq"`
	// InvScheduled is the last scheduled inventory instant already
	// evaluated (Created + k*InventoryInterval).
	InvScheduled time.Time `json:"invScheduled"`

	dir      string
	inv      *inventorySnapshot
	archives map[string]*archive // live archives and tombstones
	uploads  map[string]*upload
	jobs     map[string]*job
}

type notifyConfig struct {
	SNSTopic string   `json:"SNSTopic"`
	Events   []string `json:"Events"`
}

type archive struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Size        int64     `json:"size"`
	TreeHash    string    `json:"treeHash"`
	// The data is kept as the upload's parts (seg-00000 ...), each SegSize
	// bytes except the last, so completing a multipart upload needs no copy.
	SegSize int64 `json:"segSize"`
	Segs    int   `json:"segs"`
	// Deleted is set when the archive is deleted; the record stays as a
	// tombstone so that inventories taken at an earlier instant still list
	// it and retrievals of a deleted archive fail the way AWS's do.
	Deleted *time.Time `json:"deleted,omitempty"`
}

func (a *archive) dir(v *vault) string { return filepath.Join(v.dir, "archives", a.ID) }

const (
	uploadActive    = "active"
	uploadCompleted = "completed"
	uploadAborted   = "aborted"
)

type upload struct {
	ID          string    `json:"id"`
	PartSize    int64     `json:"partSize"`
	Description *string   `json:"description"`
	Created     time.Time `json:"created"`
	State       string    `json:"state"`
	ArchiveID   string    `json:"archiveId,omitempty"`
	Ended       time.Time `json:"ended"`

	dir        string
	parts      map[int64]*part
	completing bool
}

type part struct {
	Start    int64  `json:"start"`
	Size     int64  `json:"size"`
	TreeHash string `json:"treeHash"`
	Leaves   string `json:"leaves"` // base64 of the 32-byte leaf digests
	DataFile string `json:"dataFile"`
}

const (
	actionArchive   = "ArchiveRetrieval"
	actionInventory = "InventoryRetrieval"

	statusInProgress = "InProgress"
	statusSucceeded  = "Succeeded"
	statusFailed     = "Failed"
)

type job struct {
	ID          string    `json:"id"`
	Action      string    `json:"action"`
	Description *string   `json:"description"`
	Created     time.Time `json:"created"`
	Due         time.Time `json:"due"`
	SNSTopic    *string   `json:"snsTopic"`
	Tier        *string   `json:"tier"`

	Completed     bool      `json:"completed"`
	CompletedAt   time.Time `json:"completedAt"`
	Status        string    `json:"status"`
	StatusMessage string    `json:"statusMessage"`
	Notified      bool      `json:"notified"`

	// Archive retrieval.
	ArchiveID          string  `json:"archiveId,omitempty"`
	ArchiveSize        int64   `json:"archiveSize,omitempty"`
	ArchiveTreeHash    string  `json:"archiveTreeHash,omitempty"`
	ArchiveDescription string  `json:"archiveDescription,omitempty"`
	RangeStart         int64   `json:"rangeStart"`
	RangeEnd           int64   `json:"rangeEnd"` // exclusive
	RangeTreeHash      *string `json:"rangeTreeHash"`
	JobRangeAligned    bool    `json:"jobRangeAligned"`
	SegSize            int64   `json:"segSize,omitempty"`
	Segs               int     `json:"segs,omitempty"`

	// Inventory retrieval.
	Format        string     `json:"format,omitempty"`
	InvParams     *invParams `json:"invParams,omitempty"`
	NextMarker    *string    `json:"nextMarker,omitempty"`
	InventorySize int64      `json:"inventorySize,omitempty"`
}

type invParams struct {
	StartDate *string `json:"StartDate"`
	EndDate   *string `json:"EndDate"`
	Limit     *string `json:"Limit"`
	Marker    *string `json:"Marker"`
}

// inventorySnapshot is the vault inventory Glacier last generated.
type inventorySnapshot struct {
	Date     time.Time    `json:"date"`
	Seq      int64        `json:"seq"`
	Archives []invArchive `json:"archives"`
}

type invArchive struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Size        int64     `json:"size"`
	TreeHash    string    `json:"treeHash"`
}

func (v *vault) metaPath() string      { return filepath.Join(v.dir, "vault.json") }
func (v *vault) inventoryPath() string { return filepath.Join(v.dir, "inventory.json") }
func (u *upload) metaPath() string     { return filepath.Join(u.dir, "upload.json") }
func (j *job) dir(v *vault) string     { return filepath.Join(v.dir, "jobs", j.ID) }

// loadState reads every vault under root. Directories left without their
// metadata file by a crash (an archive whose meta.json was never written, a
// job never recorded) are removed.
func loadState(root string) (map[string]*vault, error) {
	vaults := map[string]*vault{}
	base := filepath.Join(root, "vaults")
	names, err := subdirs(base)
	if err != nil {
		return nil, fmt.Errorf("list vaults in %s: %w", base, err)
	}
	for _, d := range names {
		v := &vault{dir: filepath.Join(base, d)}
		if err := readJSON(v.metaPath(), v); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// CreateVault writes vault.json first; a directory without it
				// is the rest of a vault whose deletion was interrupted.
				if err := os.RemoveAll(v.dir); err != nil {
					return nil, fmt.Errorf("remove leftover vault directory %s: %w", v.dir, err)
				}
				continue
			}
			return nil, err
		}
		if err := loadVault(v); err != nil {
			return nil, fmt.Errorf("vault %s: %w", v.Name, err)
		}
		vaults[v.Name] = v
	}
	return vaults, nil
}

func loadVault(v *vault) error {
	v.archives = map[string]*archive{}
	v.uploads = map[string]*upload{}
	v.jobs = map[string]*job{}
	var inv inventorySnapshot
	switch err := readJSON(v.inventoryPath(), &inv); {
	case err == nil:
		v.inv = &inv
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}

	dirs, err := subdirs(filepath.Join(v.dir, "archives"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		a := &archive{}
		path := filepath.Join(v.dir, "archives", d)
		if err := readJSON(filepath.Join(path, "meta.json"), a); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if err := os.RemoveAll(path); err != nil {
					return err
				}
				continue
			}
			return err
		}
		v.archives[a.ID] = a
	}

	dirs, err = subdirs(filepath.Join(v.dir, "uploads"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		u := &upload{dir: filepath.Join(v.dir, "uploads", d), parts: map[int64]*part{}}
		if err := readJSON(u.metaPath(), u); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if err := os.RemoveAll(u.dir); err != nil {
					return err
				}
				continue
			}
			return err
		}
		ents, err := os.ReadDir(u.dir)
		if err != nil {
			return err
		}
		var dataFiles []string
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, "part-") && strings.HasSuffix(name, ".data") {
				dataFiles = append(dataFiles, name)
			}
			if !strings.HasPrefix(name, "part-") || !strings.HasSuffix(name, ".json") {
				continue
			}
			start, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "part-"), ".json"), 10, 64)
			if err != nil {
				continue
			}
			p := &part{}
			if err := readJSON(filepath.Join(u.dir, name), p); err != nil {
				return err
			}
			if p.Start != start {
				return fmt.Errorf("upload %s: %s records start %d", u.ID, name, p.Start)
			}
			u.parts[start] = p
		}
		named := map[string]bool{}
		for _, p := range u.parts {
			named[p.DataFile] = true
		}
		for _, f := range dataFiles {
			if !named[f] {
				os.Remove(filepath.Join(u.dir, f))
			}
		}
		v.uploads[u.ID] = u
	}

	dirs, err = subdirs(filepath.Join(v.dir, "jobs"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		j := &job{}
		path := filepath.Join(v.dir, "jobs", d)
		if err := readJSON(filepath.Join(path, "job.json"), j); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if err := os.RemoveAll(path); err != nil {
					return err
				}
				continue
			}
			return err
		}
		v.jobs[j.ID] = j
	}
	return nil
}
