package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/treehash"
	"freezer/pipeline/crypt"
	"freezer/pipeline/keys"
)

// fetchArchive retrieves an archive whole and returns the local file bytes
// it decrypts to.
func fetchArchive(t *testing.T, e *simEnv, archiveID string, key *keys.Key) []byte {
	t.Helper()
	j := e.retrieve(t, archiveID)
	out, err := e.g.GetJobOutput(context.Background(), "v", j.ID, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	var r io.Reader = out.Body
	if key != nil {
		if r, err = crypt.NewDecryptReader(out.Body, *key); err != nil {
			t.Fatal(err)
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkAcceptedOnce(t *testing.T, e *simEnv) {
	t.Helper()
	for upload, ranges := range e.sim.PartStats() {
		for rng, n := range ranges {
			if n != 1 {
				t.Errorf("upload %s: part %s accepted %d times", upload, rng, n)
			}
		}
	}
}

func TestUploadRoundTrip(t *testing.T) {
	aes := testKey(t, "aes-256-cbc")
	bf := testKey(t, "bf-cbc")
	tests := []struct {
		name    string
		size    int
		key     *keys.Key
		part    int64
		threads int
		parts   int   // parts sent; 0: single request
		budget  int64 // part buffers' budget; 0: the default
	}{
		{"aes multipart", 5<<20 + 123, &aes, 1 << 20, 2, 6, 0},
		{"aes last part nearly full", 4<<20 - 300, &aes, 1 << 20, 3, 4, 0},
		{"bf multipart", 3<<20 + 1, &bf, 1 << 20, 2, 4, 0},
		{"plain multipart", 3<<20 + 5, nil, 1 << 20, 2, 4, 0},
		{"aes single", 300_000, &aes, 1 << 20, 2, 0, 0},
		{"plain single", 1, nil, 1 << 20, 1, 0, 0},
		// No room for two parts: each is hashed in the in-order pass and
		// encrypted again by its sender.
		{"aes unbuffered", 6<<20 + 9, &aes, 1 << 20, 3, 7, 1 << 20},
		{"plain unbuffered", 3<<20 + 9, nil, 1 << 20, 2, 4, 1 << 20},
		// Fewer buffers than threads+1: parts go unbuffered when none is free.
		{"aes some buffered", 9<<20 + 9, &aes, 1 << 20, 5, 10, 3 << 20},
		{"aes single unbuffered", 900_000, &aes, 1 << 20, 2, 0, 512 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.budget > 0 {
				defer func(b int64) { uploadBufferBudget = b }(uploadBufferBudget)
				uploadBufferBudget = tc.budget
			}
			e := newSimEnv(t)
			src := randomFile(t, tc.size)
			want, _ := os.ReadFile(src)
			j := &memJournal{}
			var progress int64
			var mu sync.Mutex
			res, err := Upload(context.Background(), e.g, UploadRequest{
				Vault: "v", Name: "a", Source: src, SourceSHA256: "x", Key: tc.key, Description: "d",
				PartSize: tc.part, Threads: tc.threads, Journal: j,
				Progress: func(n int64) { mu.Lock(); progress += n; mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.PartsSent != tc.parts || res.PartsKept != 0 || res.Resumed {
				t.Errorf("result %+v, want %d parts sent", res, tc.parts)
			}
			if progress != res.Size {
				t.Errorf("progress reported %d bytes of %d", progress, res.Size)
			}
			if got := fetchArchive(t, e, res.ArchiveID, tc.key); !bytes.Equal(got, want) {
				t.Fatalf("retrieved archive differs from the local file (%d bytes, want %d)", len(got), len(want))
			}
			if j.ok {
				t.Error("the journal still holds the finished upload")
			}
			if tc.parts > 0 && len(j.started) != tc.parts {
				t.Errorf("PartStarted called %d times for %d parts", len(j.started), tc.parts)
			}
			checkAcceptedOnce(t, e)
		})
	}
}

// TestPartBodyClosed: once its request ended, a part body serves nothing
// more, so its buffer can take the next part.
func TestPartBodyClosed(t *testing.T) {
	b := &partBody{r: bytes.NewReader(make([]byte, 100))}
	if n, err := b.Read(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	b.close()
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, errBodyClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := b.Seek(0, io.SeekStart); !errors.Is(err, errBodyClosed) {
		t.Errorf("seek after close: %v", err)
	}
}

// TestUploadSlots checks that extra workers take a slot per part and that
// the task's own worker needs none.
func TestUploadSlots(t *testing.T) {
	e := newSimEnv(t)
	key := testKey(t, "aes-128-cbc")
	src := randomFile(t, 6<<20)
	slots := newCountSlots(1)
	res, err := Upload(context.Background(), e.g, UploadRequest{
		Vault: "v", Name: "a", Source: src, Key: &key, PartSize: 1 << 20, Threads: 4,
		Slots: slots, Journal: &memJournal{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.PartsSent != 7 {
		t.Errorf("%d parts sent, want 7", res.PartsSent)
	}
	if slots.peak > 1 || slots.held != 0 {
		t.Errorf("slots: peak %d held %d, want at most the one slot, all released", slots.peak, slots.held)
	}
}

// cutUploader stops sending one part halfway through its body, as when the
// process dies mid-request, and fails the whole run then.
type cutUploader struct {
	Uploader
	cutAt int64 // start of the part to cut
	once  sync.Once
}

var errCut = errors.New("connection cut mid-body")

func (c *cutUploader) UploadPart(ctx context.Context, vault, uploadID string, start int64, body io.ReadSeeker, size int64, treeHash, sha256 string) error {
	if start == c.cutAt {
		cut := false
		c.once.Do(func() { cut = true })
		if cut {
			io.CopyN(io.Discard, body, size/2)
			return errCut
		}
	}
	return c.Uploader.UploadPart(ctx, vault, uploadID, start, body, size, treeHash, sha256)
}

// TestUploadResumesWithoutWaiting interrupts an upload whose one part was
// cut mid-body. The rerun keeps every part Glacier has, sends the cut part
// again without waiting for it (it never left whole, so the journal does not
// mark it started), and no part is accepted twice.
func TestUploadResumesWithoutWaiting(t *testing.T) {
	e := newSimEnv(t)
	key := testKey(t, "aes-256-cbc")
	src := randomFile(t, 8<<20+77)
	want, _ := os.ReadFile(src)
	j := &memJournal{}
	req := UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: "s", Key: &key, Description: "d",
		PartSize: 1 << 20, Threads: 2, Journal: j, SettleWait: time.Minute}
	_, err := Upload(context.Background(), &cutUploader{Uploader: e.g, cutAt: 3 << 20}, req)
	if !errors.Is(err, errCut) {
		t.Fatalf("first run: %v, want the cut", err)
	}
	rec, ok, _ := j.Load(context.Background())
	if !ok {
		t.Fatal("no upload recorded")
	}
	if _, marked := rec.Started[3]; marked {
		t.Fatal("the part cut mid-body is marked as sent whole")
	}
	begun := time.Now()
	res, err := Upload(context.Background(), e.g, req)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begun); took > 20*time.Second {
		t.Errorf("resume took %v: it waited for a part that could not arrive", took)
	}
	if !res.Resumed || res.PartsKept == 0 || res.PartsSent+res.PartsKept != 9 {
		t.Errorf("result %+v: want a resume keeping the parts already sent", res)
	}
	if got := fetchArchive(t, e, res.ArchiveID, &key); !bytes.Equal(got, want) {
		t.Fatal("retrieved archive differs from the local file")
	}
	checkAcceptedOnce(t, e)
}

// lateUploader loses Glacier's answer to one part (the part arrived whole)
// and, in the next run, hides that part from the first ListParts answers,
// as when the dead run's bytes were still on their way.
type lateUploader struct {
	Uploader
	start  int64
	lose   bool
	hide   int // ListParts answers still to hide it from
	mu     sync.Mutex
	resent int
}

var errLost = errors.New("answer lost")

func (l *lateUploader) UploadPart(ctx context.Context, vault, uploadID string, start int64, body io.ReadSeeker, size int64, treeHash, sha256 string) error {
	err := l.Uploader.UploadPart(ctx, vault, uploadID, start, body, size, treeHash, sha256)
	if start == l.start {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.lose {
			return errLost
		}
		l.resent++
	}
	return err
}

func (l *lateUploader) ListParts(ctx context.Context, vault, uploadID string) ([]aws.Part, int64, error) {
	parts, n, err := l.Uploader.ListParts(ctx, vault, uploadID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hide > 0 {
		l.hide--
		parts = slices.DeleteFunc(parts, func(p aws.Part) bool { return p.Start == l.start })
	}
	return parts, n, err
}

// TestUploadAwaitsPartSentWhole: a part the last run sent whole, which
// Glacier lists only later, is waited for and kept, not sent again.
func TestUploadAwaitsPartSentWhole(t *testing.T) {
	e := newSimEnv(t)
	key := testKey(t, "aes-256-cbc")
	src := randomFile(t, 5<<20)
	want, _ := os.ReadFile(src)
	j := &memJournal{}
	req := UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: "s", Key: &key, Description: "d",
		PartSize: 1 << 20, Threads: 2, Journal: j, SettleWait: time.Minute}
	late := &lateUploader{Uploader: e.g, start: 2 << 20, lose: true}
	if _, err := Upload(context.Background(), late, req); !errors.Is(err, errLost) {
		t.Fatalf("first run: %v", err)
	}
	if rec, _, _ := j.Load(context.Background()); rec.Started[2] == "" {
		t.Fatal("the part sent whole is not marked as started")
	}
	late.lose, late.hide = false, 3
	begun := time.Now()
	res, err := Upload(context.Background(), late, req)
	if err != nil {
		t.Fatal(err)
	}
	if late.resent != 0 {
		t.Errorf("the part sent whole was sent again %d times", late.resent)
	}
	if late.hide != 0 {
		t.Errorf("ListParts asked too few times (%d hidden answers left)", late.hide)
	}
	if took := time.Since(begun); took > 20*time.Second {
		t.Errorf("took %v", took)
	}
	if got := fetchArchive(t, e, res.ArchiveID, &key); !bytes.Equal(got, want) {
		t.Fatal("retrieved archive differs from the local file")
	}
	checkAcceptedOnce(t, e)
}

// TestUploadResumeRefusesOtherFile: a record made from another file is not
// reused, and the message names no command.
func TestUploadResumeRefusesOtherFile(t *testing.T) {
	e := newSimEnv(t)
	src := randomFile(t, 3<<20)
	j := &memJournal{}
	j.Start(context.Background(), UploadRecord{UploadID: "u", SourceSHA256: "other", Cipher: "none", Description: "d"})
	_, err := Upload(context.Background(), e.g, UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: "mine",
		Description: "d", PartSize: 1 << 20, Threads: 1, Journal: j})
	if err == nil || !strings.Contains(err.Error(), "cancel that upload and upload again") || strings.Contains(err.Error(), "freezer") {
		t.Fatalf("error %v", err)
	}
}

// listFake answers ListParts from a function of the call count.
type listFake struct {
	Uploader
	calls int
	list  func(call int) []aws.Part
}

func (f *listFake) ListParts(context.Context, string, string) ([]aws.Part, int64, error) {
	f.calls++
	return f.list(f.calls), 0, nil
}

func TestAwaitParts(t *testing.T) {
	p := &part{n: 2, start: 2 << 20, size: 1 << 20, tree: [32]byte{1}}
	listed := []aws.Part{{Start: 2 << 20, End: 3<<20 - 1, TreeHash: treehash.Hex(p.tree)}}

	// Listed at the third answer: no more waiting than that.
	f := &listFake{list: func(call int) []aws.Part {
		if call >= 3 {
			return listed
		}
		return nil
	}}
	begun := time.Now()
	missing, err := awaitParts(context.Background(), f, "v", "u", []*part{p}, time.Now().Add(time.Minute))
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing %v, err %v", missing, err)
	}
	if took := time.Since(begun); took > 2*time.Second {
		t.Errorf("took %v for a part listed at the third ask", took)
	}

	// Never listed (or listed with another hash): missing at the deadline.
	f = &listFake{list: func(int) []aws.Part {
		return []aws.Part{{Start: 2 << 20, End: 3<<20 - 1, TreeHash: treehash.Hex([32]byte{9})}}
	}}
	begun = time.Now()
	missing, err = awaitParts(context.Background(), f, "v", "u", []*part{p}, time.Now().Add(400*time.Millisecond))
	if err != nil || len(missing) != 1 {
		t.Fatalf("missing %v, err %v", missing, err)
	}
	if took := time.Since(begun); took < 350*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %v, want the deadline", took)
	}
	if f.calls < 3 {
		t.Errorf("asked %d times in 400 ms", f.calls)
	}
}

// TestMarkedBodyMarksAtTheEnd: the mark comes with the read that hands over
// the last bytes, once, and a failing mark keeps them back.
func TestMarkedBodyMarksAtTheEnd(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100_000)
	var readBefore int64 = -1
	var got bytes.Buffer
	b := &markedBody{r: bytes.NewReader(data), size: int64(len(data))}
	b.mark = func() error { readBefore = int64(got.Len()); return nil }
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
	}
	if readBefore < int64(len(data))-4096 {
		t.Errorf("marked after %d of %d bytes", readBefore, len(data))
	}
	b.Seek(0, io.SeekStart)
	calls := 0
	b.mark = func() error { calls++; return nil }
	io.Copy(io.Discard, b)
	if calls != 0 {
		t.Errorf("marked again after a rewind (%d)", calls)
	}

	failing := &markedBody{r: bytes.NewReader(data), size: int64(len(data)), mark: func() error { return errCut }}
	n, err := io.Copy(io.Discard, failing)
	if !errors.Is(err, errCut) || n >= int64(len(data)) {
		t.Errorf("copied %d bytes, err %v: want the last ones kept back", n, err)
	}
}

// TestHashUploadMatchesTreeHash: without a key the hashing pass must give
// the file's own tree hash, and with one, the ciphertext's size.
func TestHashUploadMatchesTreeHash(t *testing.T) {
	src := randomFile(t, 5<<20+3)
	f, _ := os.Open(src)
	_, want, size, err := treehash.Compute(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	h, err := HashUpload(context.Background(), src, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if h.TreeHash != treehash.Hex(want) || h.Size != size || h.Parts != 6 {
		t.Errorf("got %+v, want tree %s size %d in 6 parts", h, treehash.Hex(want), size)
	}
	key := testKey(t, "aes-256-cbc")
	h, err = HashUpload(context.Background(), src, &key, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size%16 != 0 || h.Size <= size+16 || h.Size > size+16+256+16 {
		t.Errorf("encrypted size %d for %d bytes", h.Size, size)
	}
}

// killedAtInitiate starts the multipart upload in Glacier and then fails
// as a process killed before it could record the upload's id would.
type killedAtInitiate struct {
	Uploader
	started []string
}

func (k *killedAtInitiate) InitiateMultipartUpload(ctx context.Context, vault, description string, partSize int64) (string, error) {
	id, err := k.Uploader.InitiateMultipartUpload(ctx, vault, description, partSize)
	if err == nil {
		k.started = append(k.started, id)
	}
	return "", errors.New("killed before the upload id was recorded")
}

// TestUploadFindsUploadStartedButNotRecorded: a run killed between
// Glacier starting the multipart upload and the journal recording its id
// leaves the upload behind; the next run finds it and continues it, so no
// upload is left in Glacier for nobody.
func TestUploadFindsUploadStartedButNotRecorded(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t)
	key := testKey(t, "aes-256-cbc")
	src := randomFile(t, 3<<20+5)
	want, _ := os.ReadFile(src)
	j := &memJournal{}
	req := UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: "s", Key: &key, Description: "freezer v1 name=a",
		PartSize: 1 << 20, Threads: 2, Journal: j}
	k := &killedAtInitiate{Uploader: e.g}
	if _, err := Upload(ctx, k, req); err == nil {
		t.Fatal("the first run did not fail")
	}
	if len(k.started) != 1 {
		t.Fatalf("%d uploads started", len(k.started))
	}
	res, err := Upload(ctx, e.g, req)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := e.g.ListMultipartUploads(ctx, "v")
	if err != nil || len(ups) != 0 {
		t.Fatalf("uploads left in Glacier: %+v %v", ups, err)
	}
	if got := fetchArchive(t, e, res.ArchiveID, &key); !bytes.Equal(got, want) {
		t.Fatal("retrieved archive differs from the local file")
	}
}
