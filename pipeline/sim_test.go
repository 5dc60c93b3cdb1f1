package pipeline

import (
	"context"
	"crypto/rand"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
)

// simEnv is a simulator served over HTTP and the real Glacier client
// talking to it.
type simEnv struct {
	sim *sim.Sim
	g   *aws.Glacier
}

func newSimEnv(t testing.TB) *simEnv {
	t.Helper()
	ctx := context.Background()
	zero := time.Duration(0)
	s, err := sim.New(sim.Options{Dir: t.TempDir(), JobDelay: &zero})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	settings := aws.Settings{Endpoint: srv.URL, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, settings)
	if err != nil {
		t.Fatal(err)
	}
	g := aws.NewGlacier(cfg, settings)
	if _, err := g.CreateVault(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	return &simEnv{sim: s, g: g}
}

// retrieve starts a retrieval job for an archive and waits for it.
func (e *simEnv) retrieve(t testing.TB, archiveID string) aws.Job {
	t.Helper()
	ctx := context.Background()
	id, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: archiveID, Tier: aws.TierExpedited})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := e.sim.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		j, err := e.g.DescribeJob(ctx, "v", id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Completed {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("retrieval job never completed")
	return aws.Job{}
}

// randomFile writes n random bytes to a new file and returns its path.
func randomFile(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "archive")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// memJournal is an upload journal in memory, as the catalog keeps it.
type memJournal struct {
	mu      sync.Mutex
	rec     UploadRecord
	ok      bool
	started []int // every PartStarted call, in order
	onStart func(part int) error
}

func (j *memJournal) Load(context.Context) (UploadRecord, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := j.rec
	r.Parts, r.Started = maps.Clone(j.rec.Parts), maps.Clone(j.rec.Started)
	return r, j.ok, nil
}

func (j *memJournal) Start(_ context.Context, r UploadRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rec, j.ok = r, true
	j.rec.Parts, j.rec.Started = map[int]string{}, map[int]string{}
	return nil
}

func (j *memJournal) PartStarted(_ context.Context, part int, treeHash string) error {
	j.mu.Lock()
	j.started = append(j.started, part)
	j.rec.Started[part] = treeHash
	hook := j.onStart
	j.mu.Unlock()
	if hook != nil {
		return hook(part)
	}
	return nil
}

func (j *memJournal) PartDone(_ context.Context, part int, treeHash string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.rec.Started, part)
	j.rec.Parts[part] = treeHash
	return nil
}

func (j *memJournal) Finish(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ok = false
	j.rec = UploadRecord{}
	return nil
}

// countSlots is a Slots that records how many are held at once.
type countSlots struct {
	ch   chan struct{}
	mu   sync.Mutex
	held int
	peak int
	n    int // acquisitions
}

func newCountSlots(n int) *countSlots { return &countSlots{ch: make(chan struct{}, n)} }

func (s *countSlots) Acquire(ctx context.Context) error {
	select {
	case s.ch <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.held++
	s.n++
	s.peak = max(s.peak, s.held)
	s.mu.Unlock()
	return nil
}

func (s *countSlots) Release() {
	s.mu.Lock()
	s.held--
	s.mu.Unlock()
	<-s.ch
}
