package pipeline

// A download's spool is the local archive file in the making, in TempDir: the
// decrypted bytes of every verified range at their final place (followed by
// the padding until install cuts it). Its name is derived from the job id
// (not from the archive's name, which can be 255 bytes), so a rerun of the
// same job finds it. Beside it, its journal lists the ranges already
// verified, each with what is needed to check it again without fetching it
// (its tree hash, its first and last ciphertext blocks, and for the first
// range the decrypted random header). An entry is appended only after the
// spool data it vouches for is synced, and a rerun still re-verifies each
// entry by encrypting the spooled plaintext again and comparing the tree
// hash, so neither a torn write nor a stale file can slip into an archive.
//
// While a download runs, it holds an exclusive lock (flock) on the journal;
// a second download of the same job is refused, and Spools reports the
// spool in use. The lock goes with the process, so a spool whose lock is
// free has no live owner in this machine.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SpoolPattern names the temporary files downloads write into TempDir
// (spools and their journals), for filepath.Glob.
const SpoolPattern = ".download-*"

const (
	spoolPrefix    = ".download-"
	journalSuffix  = ".journal"
	journalVersion = 1
)

// ErrSpoolBusy is returned when another download holds a job's spool.
var ErrSpoolBusy = errors.New("another download of this job is in progress")

// SpoolInfo describes a download spool left in a temporary folder.
type SpoolInfo struct {
	JobID       string // "" when its journal is missing or unreadable
	Vault, Name string // the archive, as its journal says (for messages)
	Bytes       int64  // on disk, spool and journal
	ModTime     time.Time
	InUse       bool     // a live download holds it
	Paths       []string // its files
}

// spoolPaths returns the spool and journal paths of a job.
func spoolPaths(tempDir, jobID string) (spool, journal string) {
	sum := sha256.Sum256([]byte(jobID))
	spool = filepath.Join(tempDir, spoolPrefix+hex.EncodeToString(sum[:16]))
	return spool, spool + journalSuffix
}

// Spools lists the download spools in tempDir (also those of older
// versions, which have no journal), so that the engine can remove the
// ones whose owner is gone.
func Spools(tempDir string) ([]SpoolInfo, error) {
	names, err := filepath.Glob(filepath.Join(tempDir, SpoolPattern))
	if err != nil {
		return nil, err
	}
	byStem := map[string]*SpoolInfo{}
	var stems []string
	for _, p := range names {
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		stem := strings.TrimSuffix(p, journalSuffix)
		info := byStem[stem]
		if info == nil {
			info = &SpoolInfo{}
			byStem[stem] = info
			stems = append(stems, stem)
		}
		info.Paths = append(info.Paths, p)
		info.Bytes += st.Size()
		if st.ModTime().After(info.ModTime) {
			info.ModTime = st.ModTime()
		}
		if p != stem {
			if h, err := readJournalHeader(p); err == nil {
				info.JobID, info.Vault, info.Name = h.Job, h.Vault, h.Name
			}
			info.InUse = lockedElsewhere(p)
		}
	}
	out := make([]SpoolInfo, 0, len(stems))
	for _, s := range stems {
		out = append(out, *byStem[s])
	}
	return out, nil
}

// RemoveSpool deletes a job's spool and journal, unless a live download
// holds them (ErrSpoolBusy). Nothing to remove is not an error.
func RemoveSpool(tempDir, jobID string) error {
	sp, jp := spoolPaths(tempDir, jobID)
	j, err := os.OpenFile(jp, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		defer j.Close()
		if err := lockFile(j); err != nil {
			return fmt.Errorf("job %s: %w", jobID, err)
		}
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(jp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// journalHeader is the journal's first line: what the ranges belong to.
type journalHeader struct {
	V      int    `json:"v"`
	Job    string `json:"job"`
	Vault  string `json:"vault,omitempty"`
	Name   string `json:"name,omitempty"`
	Size   int64  `json:"size"`
	Chunk  int64  `json:"chunk"`
	Cipher string `json:"cipher"`
	Key    string `json:"key,omitempty"`
}

// same reports whether a journal's ranges can serve this download.
func (h journalHeader) same(o journalHeader) bool {
	return h.V == o.V && h.Job == o.Job && h.Size == o.Size && h.Chunk == o.Chunk && h.Cipher == o.Cipher && h.Key == o.Key
}

func readJournalHeader(path string) (journalHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return journalHeader{}, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		return journalHeader{}, err
	}
	var h journalHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return journalHeader{}, err
	}
	return h, nil
}

// entry is one verified range, as the journal keeps it.
type entry struct {
	index  int
	tree   [32]byte
	first  []byte // first ciphertext block (the IV for the first range)
	last   []byte // last ciphertext block
	header []byte // first range only: the decrypted RHL byte and random header
}

func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func unhexOrDash(s string) ([]byte, error) {
	if s == "-" {
		return nil, nil
	}
	return hex.DecodeString(s)
}

// line formats an entry with a checksum, so that a torn last line is seen.
func (e entry) line() []byte {
	body := fmt.Sprintf("r %d %s %s %s %s", e.index, hex.EncodeToString(e.tree[:]), hexOrDash(e.first), hexOrDash(e.last), hexOrDash(e.header))
	return fmt.Appendf(nil, "%s %08x\n", body, crc32.ChecksumIEEE([]byte(body)))
}

func parseEntry(line string) (entry, bool) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return entry{}, false
	}
	body, sum := line[:i], line[i+1:]
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))) != sum {
		return entry{}, false
	}
	f := strings.Fields(body)
	if len(f) != 6 || f[0] != "r" {
		return entry{}, false
	}
	var e entry
	var err error
	if e.index, err = strconv.Atoi(f[1]); err != nil || e.index < 0 {
		return entry{}, false
	}
	t, err := hex.DecodeString(f[2])
	if err != nil || len(t) != 32 {
		return entry{}, false
	}
	copy(e.tree[:], t)
	if e.first, err = unhexOrDash(f[3]); err != nil {
		return entry{}, false
	}
	if e.last, err = unhexOrDash(f[4]); err != nil {
		return entry{}, false
	}
	if e.header, err = unhexOrDash(f[5]); err != nil {
		return entry{}, false
	}
	return e, true
}

// spool is an open, locked spool with its journal.
type spool struct {
	path, jpath string
	f           *os.File // the spool
	j           *os.File // the journal (locked)
	loaded      map[int]entry

	mu      sync.Mutex
	pending []entry
	err     error // first journal write error (sticky)
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

// openSpool opens (or creates) the spool of h.Job in dir and locks it. The
// entries of a journal made for the same download are loaded; any other
// journal, or one whose spool is gone, starts over empty.
func openSpool(dir string, h journalHeader) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	h.V = journalVersion
	sp, jp := spoolPaths(dir, h.Job)
	j, err := os.OpenFile(jp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(j); err != nil {
		j.Close()
		return nil, err
	}
	s := &spool{path: sp, jpath: jp, j: j, loaded: map[int]entry{}}
	f, err := os.OpenFile(sp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		j.Close()
		return nil, err
	}
	s.f = f
	if err := s.load(h); err != nil {
		s.close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// load reads the journal's entries when its header matches h; otherwise
// it empties spool and journal and writes h.
func (s *spool) load(h journalHeader) error {
	data, err := os.ReadFile(s.jpath)
	if err != nil {
		return err
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	var old journalHeader
	if json.Unmarshal(first, &old) == nil && old.same(h) {
		good := int64(len(first) + 1)
		for len(rest) > 0 {
			l, more, complete := bytes.Cut(rest, []byte("\n"))
			e, ok := parseEntry(string(l))
			if !complete || !ok {
				break // a torn or damaged tail: what follows is not trusted
			}
			s.loaded[e.index] = e
			good += int64(len(l) + 1)
			rest = more
		}
		if len(s.loaded) > 0 {
			// Appends go after the last good entry.
			if err := s.j.Truncate(good); err != nil {
				return err
			}
			_, err := s.j.Seek(good, io.SeekStart)
			return err
		}
	}
	// Start over.
	s.loaded = map[int]entry{}
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	if err := s.j.Truncate(0); err != nil {
		return err
	}
	line, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := s.j.WriteAt(append(line, '\n'), 0); err != nil {
		return err
	}
	if _, err := s.j.Seek(int64(len(line)+1), io.SeekStart); err != nil {
		return err
	}
	return s.j.Sync()
}

// reset forgets every entry (the spool's content proved unusable).
func (s *spool) reset(h journalHeader) error {
	if err := s.j.Truncate(0); err != nil {
		return err
	}
	return s.load(h)
}

// journalEvery spaces the journal's syncs: a crash loses at most the ranges
// verified in that time, and the spool's data reaches the disk in large
// writes while the download goes on (so little is left for the sync at
// install).
const journalEvery = 500 * time.Millisecond

// start runs the journal writer: entries added are appended in batches,
// each batch after a sync of the spool data it vouches for.
func (s *spool) start() {
	s.wake = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go func() {
		defer close(s.stopped)
		for {
			select {
			case <-s.wake:
				s.flush()
			case <-s.stop:
				s.flush()
				return
			}
			select {
			case <-time.After(journalEvery):
			case <-s.stop:
				s.flush()
				return
			}
		}
	}()
}

// add queues a verified range for the journal.
func (s *spool) add(e entry) {
	s.mu.Lock()
	s.pending = append(s.pending, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *spool) flush() {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	failed := s.err != nil
	s.mu.Unlock()
	if len(batch) == 0 || failed {
		return
	}
	var buf []byte
	for _, e := range batch {
		buf = append(buf, e.line()...)
	}
	err := s.f.Sync()
	if err == nil {
		_, err = s.j.Write(buf)
	}
	if err == nil {
		err = s.j.Sync()
	}
	if err != nil {
		// The journal only saves work for a rerun; the download goes on.
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
}

// finish stops the journal writer after a last flush.
func (s *spool) finish() {
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
}

// close releases the files (and the lock), keeping them on disk.
func (s *spool) close() {
	s.finish()
	s.f.Close()
	s.j.Close()
}

// remove deletes spool and journal, then releases the lock.
func (s *spool) remove() {
	s.finish()
	os.Remove(s.path)
	os.Remove(s.jpath)
	s.f.Close()
	s.j.Close()
}

// syncDir makes the names in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
