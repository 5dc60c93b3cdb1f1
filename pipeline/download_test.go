package pipeline

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/pipeline/compress"
	"freezer/pipeline/keys"
)

// tarGzFile writes a gzip-compressed tar of random files of about n bytes
// and returns its path.
func tarGzFile(t testing.TB, n int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i := 0; n > 0; i++ {
		size := min(n, 700_000+i*1000)
		data := make([]byte, size)
		rand.Read(data[:size/2]) // half random, half zeros: compressible in part
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
		n -= size
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "archive.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSHA(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// uploaded is an archive in the simulator with a finished retrieval job.
type uploaded struct {
	e    *simEnv
	src  string
	sha  string
	key  *keys.Key
	alg  compress.Algorithm
	res  UploadResult
	job  aws.Job
	temp string
	dest string
}

func upload(t *testing.T, e *simEnv, src string, key *keys.Key, alg compress.Algorithm) *uploaded {
	t.Helper()
	sha := fileSHA(t, src)
	res, err := Upload(context.Background(), e.g, UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: sha,
		Key: key, Description: "d", PartSize: 1 << 20, Threads: 2, Journal: &memJournal{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return &uploaded{e: e, src: src, sha: sha, key: key, alg: alg, res: res, job: e.retrieve(t, res.ArchiveID),
		temp: filepath.Join(dir, "tmp"), dest: filepath.Join(dir, "archives", "v", "a")}
}

func (u *uploaded) request(threads int) DownloadRequest {
	return DownloadRequest{Vault: "v", Name: "a", JobID: u.job.ID, Size: u.res.Size, TreeHash: u.res.TreeHash,
		Key: u.key, Compression: u.alg, SHA256: u.sha, Dest: u.dest, TempDir: u.temp, Chunk: 1 << 20, Threads: threads}
}

// checkInstalled asserts that Dest is the uploaded file and no spool is left.
func (u *uploaded) checkInstalled(t *testing.T, res DownloadResult) {
	t.Helper()
	if got := fileSHA(t, u.dest); got != u.sha || res.SHA256 != u.sha {
		t.Fatalf("installed file's SHA-256 %s (reported %s), want %s", got, res.SHA256, u.sha)
	}
	st, _ := os.Stat(u.src)
	if res.Size != st.Size() {
		t.Errorf("reported size %d, want %d", res.Size, st.Size())
	}
	if left, _ := filepath.Glob(filepath.Join(u.temp, "*")); len(left) != 0 {
		t.Errorf("left behind in the temporary folder: %v", left)
	}
}

// countGetter counts the ranges asked for.
type countGetter struct {
	OutputGetter
	n atomic.Int64
}

func (c *countGetter) GetJobOutput(ctx context.Context, vault, jobID string, start, end int64) (*aws.JobOutput, error) {
	c.n.Add(1)
	return c.OutputGetter.GetJobOutput(ctx, vault, jobID, start, end)
}

func TestDownloadRoundTrip(t *testing.T) {
	aes := testKey(t, "aes-256-cbc")
	bf := testKey(t, "bf-cbc")
	tests := []struct {
		name    string
		src     func(t *testing.T) string
		key     *keys.Key
		alg     compress.Algorithm
		threads int
	}{
		{"aes gzip", func(t *testing.T) string { return tarGzFile(t, 6<<20) }, &aes, compress.Gzip, 2},
		{"aes gzip one thread", func(t *testing.T) string { return tarGzFile(t, 3<<20) }, &aes, compress.Gzip, 1},
		{"aes many threads", func(t *testing.T) string { return randomFile(t, 9<<20+5) }, &aes, "", 5},
		{"bf", func(t *testing.T) string { return randomFile(t, 2<<20+1) }, &bf, "", 2},
		{"plain gzip", func(t *testing.T) string { return tarGzFile(t, 3<<20) }, nil, compress.Gzip, 2},
		{"aes tiny", func(t *testing.T) string { return randomFile(t, 1) }, &aes, "", 2},
		{"aes short last range", func(t *testing.T) string { return randomFile(t, 1<<20+40) }, &aes, "", 2},
		{"plain tiny", func(t *testing.T) string { return randomFile(t, 3) }, nil, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := upload(t, newSimEnv(t), tc.src(t), tc.key, tc.alg)
			var progress atomic.Int64
			req := u.request(tc.threads)
			req.Progress = func(n int64) { progress.Add(n) }
			res, err := Download(context.Background(), u.e.g, req)
			if err != nil {
				t.Fatal(err)
			}
			u.checkInstalled(t, res)
			if progress.Load() != u.res.Size {
				t.Errorf("progress %d of %d bytes", progress.Load(), u.res.Size)
			}
		})
	}
}

// TestDownloadLastRangeOneBlock checks the case where the last range is a
// single cipher block, whose plaintext comes only from the range before.
func TestDownloadLastRangeOneBlock(t *testing.T) {
	key := testKey(t, "aes-128-cbc")
	e := newSimEnv(t)
	for rhl := 0; rhl < 300; rhl++ {
		// The ciphertext is 16 + pad16(1 + RHL + n + 1): aim at 1 MiB + 16.
		src := randomFile(t, 1<<20-1-16)
		u := upload(t, e, src, &key, "")
		if u.res.Size != 1<<20+16 {
			continue
		}
		res, err := Download(context.Background(), e.g, u.request(2))
		if err != nil {
			t.Fatal(err)
		}
		u.checkInstalled(t, res)
		return
	}
	t.Skip("no random header gave a one-block last range")
}

// TestDownloadAcrossFilesystems: a spool that cannot be renamed into place
// (another filesystem) is copied there, still atomically.
func TestDownloadAcrossFilesystems(t *testing.T) {
	shm := "/dev/shm"
	var a, b syscall.Stat_t
	if syscall.Stat(shm, &a) != nil || syscall.Stat(t.TempDir(), &b) != nil || a.Dev == b.Dev {
		t.Skip("no second filesystem at hand")
	}
	temp, err := os.MkdirTemp(shm, "freezer-test-")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(temp)
	key := testKey(t, "aes-256-cbc")
	u := upload(t, newSimEnv(t), randomFile(t, 2<<20+3), &key, "")
	u.temp = temp
	res, err := Download(context.Background(), u.e.g, u.request(2))
	if err != nil {
		t.Fatal(err)
	}
	u.checkInstalled(t, res)
}

func TestDownloadSlots(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	u := upload(t, newSimEnv(t), randomFile(t, 6<<20), &key, "")
	slots := newCountSlots(1)
	req := u.request(4)
	req.Slots = slots
	res, err := Download(context.Background(), u.e.g, req)
	if err != nil {
		t.Fatal(err)
	}
	u.checkInstalled(t, res)
	if slots.peak > 1 || slots.held != 0 || slots.n == 0 {
		t.Errorf("slots: peak %d held %d taken %d", slots.peak, slots.held, slots.n)
	}
}

// TestDownloadRefetchesCorruptRange: a range whose bytes do not match the
// tree hash Glacier sent is fetched again.
func TestDownloadRefetchesCorruptRange(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	u := upload(t, newSimEnv(t), tarGzFile(t, 4<<20), &key, compress.Gzip)
	if _, err := u.e.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultCorrupt, Count: 2}); err != nil {
		t.Fatal(err)
	}
	res, err := Download(context.Background(), u.e.g, u.request(2))
	if err != nil {
		t.Fatal(err)
	}
	u.checkInstalled(t, res)
	if res.Retries != 2 {
		t.Errorf("%d retries, want 2", res.Retries)
	}
}

// TestDownloadRefusesBadContent: a wrong key, a wrong recorded SHA-256 or a
// wrong tree hash fail the download, leave an existing local file as it was,
// and remove the spool (fetching it again would not help).
func TestDownloadRefusesBadContent(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	other := testKey(t, "aes-256-cbc")
	e := newSimEnv(t)
	u := upload(t, e, tarGzFile(t, 3<<20), &key, compress.Gzip)
	plain := upload(t, e, randomFile(t, 3<<20), &key, "")
	notGzip := upload(t, e, randomFile(t, 2<<20), &key, compress.Gzip)
	tests := []struct {
		name string
		u    *uploaded
		edit func(*DownloadRequest)
		want error
	}{
		{"wrong key", u, func(r *DownloadRequest) { r.Key = &other }, nil},
		{"wrong key, no compression", plain, func(r *DownloadRequest) { r.Key = &other }, nil},
		{"wrong SHA-256", plain, func(r *DownloadRequest) { r.SHA256 = u.sha }, nil},
		{"wrong tree hash", u, func(r *DownloadRequest) { r.TreeHash = plain.res.TreeHash }, ErrCorrupt},
		{"does not decompress, no SHA-256 to compare", notGzip, func(r *DownloadRequest) { r.SHA256 = "" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.MkdirAll(filepath.Dir(tc.u.dest), 0o700)
			if err := os.WriteFile(tc.u.dest, []byte("earlier copy"), 0o600); err != nil {
				t.Fatal(err)
			}
			req := tc.u.request(2)
			tc.edit(&req)
			_, err := Download(context.Background(), e.g, req)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err %v, want a refusal (%v)", err, tc.want)
			}
			if b, _ := os.ReadFile(tc.u.dest); string(b) != "earlier copy" {
				t.Error("the local file was replaced")
			}
			if left, _ := filepath.Glob(filepath.Join(tc.u.temp, "*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestDownloadMatchingSHA256IsEnough: with the SHA-256 recorded at upload
// matching, the bytes are the ones freezer built, and the download does
// not decompress them again (that check is for archives whose SHA-256 is
// unknown): these bytes, labelled gzip, are not gzip at all.
func TestDownloadMatchingSHA256IsEnough(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	e := newSimEnv(t)
	u := upload(t, e, randomFile(t, 2<<20), &key, compress.Gzip)
	res, err := Download(context.Background(), e.g, u.request(2))
	if err != nil {
		t.Fatal(err)
	}
	u.checkInstalled(t, res)
}

// TestDownloadFailingRangesLeaveNothing: when no range could be verified
// there is nothing worth keeping for a rerun.
func TestDownloadFailingRangesLeaveNothing(t *testing.T) {
	u := upload(t, newSimEnv(t), randomFile(t, 3<<20), nil, "")
	if _, err := u.e.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultCorrupt, Rate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := Download(context.Background(), u.e.g, u.request(2))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want the ranges' tree hash mismatch", err)
	}
	if left, _ := filepath.Glob(filepath.Join(u.temp, "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := os.Stat(u.dest); err == nil {
		t.Error("a local file was installed")
	}
}

// TestDownloadResumes interrupts a download mid-way (the context is
// cancelled after some ranges, with the simulator slowing every range down)
// and proves the rerun fetches only the ranges not yet verified.
func TestDownloadResumes(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  bool
	}{{"encrypted", true}, {"plain", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var key *keys.Key
			if tc.key {
				k := testKey(t, "aes-256-cbc")
				key = &k
			}
			e := newSimEnv(t)
			u := upload(t, e, tarGzFile(t, 12<<20), key, compress.Gzip)
			ranges := (u.res.Size + 1<<20 - 1) >> 20
			if _, err := e.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultDelay, Rate: 1, Delay: sim.Duration(30e6)}); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			var verified atomic.Int64
			req := u.request(2)
			req.Progress = func(int64) {
				if verified.Add(1) == ranges/2 {
					cancel()
				}
			}
			if _, err := Download(ctx, e.g, req); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted download: %v", err)
			}
			if _, err := os.Stat(u.dest); err == nil {
				t.Fatal("an interrupted download installed a file")
			}
			spools, err := Spools(u.temp)
			if err != nil || len(spools) != 1 || spools[0].JobID != u.job.ID || spools[0].InUse || spools[0].Bytes == 0 {
				t.Fatalf("spools after the interruption: %+v, %v", spools, err)
			}

			e.sim.Faults().Clear()
			count := &countGetter{OutputGetter: e.g}
			req.Progress = nil
			res, err := Download(context.Background(), count, req)
			if err != nil {
				t.Fatal(err)
			}
			u.checkInstalled(t, res)
			kept := res.Reused >> 20
			if kept < ranges/2-1 || count.n.Load() != ranges-kept {
				t.Errorf("the rerun kept %d of %d ranges and fetched %d", kept, ranges, count.n.Load())
			}
		})
	}
}

// TestDownloadResumeRechecksSpool: a spooled range damaged on disk between
// runs is found by the rerun's check and fetched again.
func TestDownloadResumeRechecksSpool(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	e := newSimEnv(t)
	u := upload(t, e, tarGzFile(t, 6<<20), &key, compress.Gzip)
	ranges := (u.res.Size + 1<<20 - 1) >> 20

	// A first run stops before its last range, keeping all the others.
	req := u.request(1)
	ctx, cancel := context.WithCancel(context.Background())
	var seen atomic.Int64
	req.Progress = func(int64) {
		if seen.Add(1) == ranges-1 {
			cancel()
		}
	}
	if _, err := Download(ctx, e.g, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}

	// Damage the spool in the middle of range 2.
	sp, _ := spoolPaths(u.temp, u.job.ID)
	f, err := os.OpenFile(sp, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("damage"), 2<<20+1000)
	f.Close()

	count := &countGetter{OutputGetter: e.g}
	req.Progress = nil
	req.Threads = 2
	res, err := Download(context.Background(), count, req)
	if err != nil {
		t.Fatal(err)
	}
	u.checkInstalled(t, res)
	if got := count.n.Load(); got != 2 {
		t.Errorf("fetched %d ranges, want the damaged one and the missing one", got)
	}
}

// TestSpoolJournalTornTail: a journal whose last line was cut keeps the
// entries before it, and appends after them.
func TestSpoolJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	h := journalHeader{Job: "job-1", Size: 10 << 20, Chunk: 1 << 20, Cipher: "none"}
	sp, err := openSpool(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	sp.f.WriteAt([]byte("data"), 0)
	sp.start()
	for i := range 3 {
		sp.add(entry{index: i, tree: [32]byte{byte(i)}})
	}
	sp.close()
	_, jp := spoolPaths(dir, "job-1")
	f, _ := os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(entry{index: 3}.line()[:20])
	f.Close()

	sp, err = openSpool(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.loaded) != 3 {
		t.Fatalf("loaded %d entries, want 3", len(sp.loaded))
	}
	if _, err := openSpool(dir, h); !errors.Is(err, ErrSpoolBusy) {
		t.Errorf("second open of a held spool: %v", err)
	}
	list, _ := Spools(dir)
	if len(list) != 1 || !list[0].InUse || list[0].JobID != "job-1" || len(list[0].Paths) != 2 {
		t.Errorf("Spools while held: %+v", list)
	}
	if err := RemoveSpool(dir, "job-1"); !errors.Is(err, ErrSpoolBusy) {
		t.Errorf("RemoveSpool while held: %v", err)
	}
	sp.start()
	sp.add(entry{index: 7, tree: [32]byte{7}})
	sp.close()

	sp, err = openSpool(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.loaded) != 4 || sp.loaded[7].tree != [32]byte{7} {
		t.Errorf("after an append past the torn line: %d entries", len(sp.loaded))
	}
	sp.close()

	// Another download's journal (here: another chunk size) starts over.
	h2 := h
	h2.Chunk = 2 << 20
	sp, err = openSpool(dir, h2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.loaded) != 0 {
		t.Errorf("kept %d entries of another download", len(sp.loaded))
	}
	sp.close()

	if err := RemoveSpool(dir, "job-1"); err != nil {
		t.Fatal(err)
	}
	if list, _ := Spools(dir); len(list) != 0 {
		t.Errorf("after RemoveSpool: %+v", list)
	}
	// A spool of an older version: no journal, listed without a job.
	os.WriteFile(filepath.Join(dir, ".download-123456"), []byte("x"), 0o600)
	if list, _ := Spools(dir); len(list) != 1 || list[0].JobID != "" || list[0].InUse {
		t.Errorf("old spool: %+v", list)
	}
}

// BenchmarkDownload measures a download from an in-process simulator
// (which shares the CPU): go test -bench Download -run '^$' ./pipeline
func BenchmarkDownload(b *testing.B) {
	key := testKey(b, "aes-256-cbc")
	e := newSimEnv(b)
	src := tarGzFile(b, 128<<20)
	sha := fileSHA(b, src)
	res, err := Upload(context.Background(), e.g, UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: sha,
		Key: &key, Description: "d", PartSize: 8 << 20, Threads: 2, Journal: &memJournal{}})
	if err != nil {
		b.Fatal(err)
	}
	job := e.retrieve(b, res.ArchiveID)
	dir := b.TempDir()
	b.SetBytes(res.Size)
	for b.Loop() {
		_, err := Download(context.Background(), e.g, DownloadRequest{Vault: "v", Name: "a", JobID: job.ID,
			Size: res.Size, TreeHash: res.TreeHash, Key: &key, Compression: compress.Gzip, SHA256: sha,
			Dest: filepath.Join(dir, "a"), TempDir: filepath.Join(dir, "tmp"), Chunk: 8 << 20, Threads: 2})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpload measures an upload to an in-process simulator (which
// shares the CPU; its hashing shows in a profile beside the upload's):
// go test -bench Upload -run '^$' ./pipeline
func BenchmarkUpload(b *testing.B) {
	key := testKey(b, "aes-256-cbc")
	e := newSimEnv(b)
	src := randomFile(b, 128<<20)
	sha := fileSHA(b, src)
	st, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		_, err := Upload(context.Background(), e.g, UploadRequest{Vault: "v", Name: "a", Source: src, SourceSHA256: sha,
			Key: &key, Description: "d", PartSize: 8 << 20, Threads: 2, Journal: &memJournal{}})
		if err != nil {
			b.Fatal(err)
		}
	}
}
