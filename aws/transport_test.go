package aws

// Tests of the request plumbing (hash headers, signing, retries, timeouts)
// against a local RoundTripper standing in for the network. The SDK clients
// are the real ones; only the HTTP exchange is scripted. The end-to-end tests
// against the simulator are in client_sim_test.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"freezer/aws/treehash"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(r *http.Request, status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: status, Header: header, Request: r,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// testGlacier builds a Glacier client whose HTTP exchanges go to rt.
func testGlacier(t *testing.T, s Settings, rt roundTripFunc) *Glacier {
	t.Helper()
	s.Region = "us-east-1"
	s.AccessKey, s.SecretKey = "AKIDTEST", "secret-test"
	s.HTTPClient = &http.Client{Transport: rt}
	cfg, err := LoadConfig(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	attempts := s.withDefaults().MaxAttempts
	cfg.Retryer = func() awssdk.Retryer { return newRetryerWith(attempts, noBackoff{}) }
	return NewGlacier(cfg, s)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReadSeeker
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

func TestUploadSendsCallerHashesAndReadsOnce(t *testing.T) {
	data := bytes.Repeat([]byte("freezer "), 3*treehash.MiB/8+5)
	lin, tree := func() (string, string) { h := treehash.New(); h.Write(data); return h.SumHex() }()
	// The body holds more than the archive: only size bytes may be sent.
	body := &countingReader{r: bytes.NewReader(append(append([]byte{}, data...), "TRAILING"...))}

	var got *http.Request
	var sent []byte
	g := testGlacier(t, Settings{}, func(r *http.Request) (*http.Response, error) {
		got = r
		sent, _ = io.ReadAll(r.Body)
		return answer(r, 201, http.Header{"X-Amz-Archive-Id": {"ARCHIVE"}, "X-Amz-Sha256-Tree-Hash": {tree}}, ""), nil
	})
	id, err := g.UploadArchive(context.Background(), "photos", "holiday", body, int64(len(data)), tree, lin)
	if err != nil || id != "ARCHIVE" {
		t.Fatalf("UploadArchive = %q, %v", id, err)
	}
	if !bytes.Equal(sent, data) {
		t.Fatalf("sent %d bytes, want the %d archive bytes", len(sent), len(data))
	}
	if n := body.n.Load(); n != int64(len(data)) {
		t.Errorf("body read %d bytes in total; want %d (read once, never hashed by the SDK)", n, len(data))
	}
	if h := got.Header.Get("X-Amz-Content-Sha256"); h != lin {
		t.Errorf("x-amz-content-sha256 = %q, want %q", h, lin)
	}
	if h := got.Header.Get("X-Amz-Sha256-Tree-Hash"); h != tree {
		t.Errorf("x-amz-sha256-tree-hash = %q, want %q", h, tree)
	}
	if h := got.Header.Get("X-Amz-Archive-Description"); h != "holiday" {
		t.Errorf("description header = %q", h)
	}
	auth := got.Header.Get("Authorization")
	if !strings.Contains(auth, "x-amz-content-sha256") {
		t.Errorf("x-amz-content-sha256 is not signed: %s", auth)
	}
	// Re-sign the captured request with the linear hash as payload hash: the
	// signature must be the same, i.e. SigV4 signed the caller's hash.
	when, err := time.Parse("20060102T150405Z", got.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	again := got.Clone(context.Background())
	again.Header.Del("Authorization")
	again.Body = http.NoBody
	creds := awssdk.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, lin, "glacier", "us-east-1", when); err != nil {
		t.Fatal(err)
	}
	if again.Header.Get("Authorization") != auth {
		t.Errorf("signature does not use the caller's payload hash\n got %s\nwant %s", auth, again.Header.Get("Authorization"))
	}
}

func TestUploadPartHeadersAndChecks(t *testing.T) {
	data := bytes.Repeat([]byte{7}, treehash.MiB)
	sum := sha256.Sum256(data)
	lin := hex.EncodeToString(sum[:])
	var rng string
	g := testGlacier(t, Settings{}, func(r *http.Request) (*http.Response, error) {
		rng = r.Header.Get("Content-Range")
		io.Copy(io.Discard, r.Body)
		// Glacier answers with a different tree hash: the client must notice.
		return answer(r, 204, http.Header{"X-Amz-Sha256-Tree-Hash": {strings.Repeat("0", 64)}}, ""), nil
	})
	err := g.UploadPart(context.Background(), "v", "UP", 4*treehash.MiB, bytes.NewReader(data), int64(len(data)), lin, lin)
	if err == nil || !strings.Contains(err.Error(), "Glacier computed tree hash") {
		t.Fatalf("UploadPart with a mismatching answer: %v", err)
	}
	if rng != "bytes 4194304-5242879/*" {
		t.Errorf("Content-Range = %q", rng)
	}
	// Bad inputs never reach the network.
	for _, tc := range []struct {
		size       int64
		tree, desc string
	}{{0, lin, ""}, {1, "zz", ""}, {1, lin, "caf\u00e9"}, {1, lin, strings.Repeat("x", 1025)}} {
		if _, err := g.UploadArchive(context.Background(), "v", tc.desc, bytes.NewReader(data), tc.size, tc.tree, lin); err == nil {
			t.Errorf("UploadArchive(size %d, tree %q, desc %q) accepted", tc.size, tc.tree, tc.desc)
		}
	}
	if _, err := g.InitiateMultipartUpload(context.Background(), "v", "d", 3*treehash.MiB); err == nil {
		t.Error("3 MiB part size accepted")
	}
}

func TestRetryClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   int // attempts
	}{
		{"throttling", 400, `{"code":"ThrottlingException","message":"slow down","type":"Client"}`, 3},
		{"server error", 500, `{"code":"ServiceUnavailableException","message":"x","type":"Server"}`, 3},
		{"unavailable", 503, ``, 3},
		{"request timeout", 408, `{"code":"RequestTimeoutException","message":"x","type":"Client"}`, 3},
		{"bare 408", 408, ``, 3},
		{"bad parameter", 400, `{"code":"InvalidParameterValueException","message":"x","type":"Client"}`, 1},
		{"not found", 404, `{"code":"ResourceNotFoundException","message":"x","type":"Client"}`, 1},
		{"vault limit", 400, `{"code":"LimitExceededException","message":"x","type":"Client"}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			g := testGlacier(t, Settings{MaxAttempts: 3}, func(r *http.Request) (*http.Response, error) {
				n.Add(1)
				return answer(r, tc.status, http.Header{"Content-Type": {"application/json"}}, tc.body), nil
			})
			_, err := g.DescribeVault(context.Background(), "v")
			if err == nil {
				t.Fatal("no error")
			}
			if int(n.Load()) != tc.want {
				t.Errorf("%d attempts, want %d (%v)", n.Load(), tc.want, err)
			}
			if !strings.Contains(err.Error(), "vault v") {
				t.Errorf("error does not name the vault: %v", err)
			}
		})
	}
	// A retried throttle that then succeeds is invisible to the caller.
	var n atomic.Int32
	g := testGlacier(t, Settings{}, func(r *http.Request) (*http.Response, error) {
		if n.Add(1) < 3 {
			return answer(r, 400, nil, `{"code":"ThrottlingException","message":"x","type":"Client"}`), nil
		}
		return answer(r, 200, nil, `{"VaultName":"v","VaultARN":"arn:aws:glacier:us-east-1:1:vaults/v","CreationDate":"2012-03-20T17:03:43.221Z","NumberOfArchives":2,"SizeInBytes":9}`), nil
	})
	v, err := g.DescribeVault(context.Background(), "v")
	if err != nil || v.Archives != 2 || v.Created.IsZero() || !v.LastInventory.IsZero() {
		t.Fatalf("DescribeVault after throttling = %+v, %v", v, err)
	}
}

// blockUntilDone waits for the request to be cancelled, like a dead server.
func blockUntilDone(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func TestCallTimeoutIsRetried(t *testing.T) {
	var n atomic.Int32
	g := testGlacier(t, Settings{CallTimeout: 50 * time.Millisecond, MaxAttempts: 2}, func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return blockUntilDone(r)
	})
	_, err := g.DescribeVault(context.Background(), "v")
	var te *TimeoutError
	if !errors.As(err, &te) || te.What != "no answer" {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Error("a timeout must not look like the caller's cancellation")
	}
	if n.Load() != 2 {
		t.Errorf("%d attempts, want 2", n.Load())
	}
}

func TestCallerCancelIsNotRetried(t *testing.T) {
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	g := testGlacier(t, Settings{}, func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		cancel()
		return blockUntilDone(r)
	})
	_, err := g.DescribeVault(ctx, "v")
	if !errors.Is(err, context.Canceled) || n.Load() != 1 {
		t.Fatalf("err = %v after %d attempts; want context.Canceled after 1", err, n.Load())
	}
}

// A slow but moving upload is not cut; a stalled one is, and is retried.
func TestUploadStall(t *testing.T) {
	data := bytes.Repeat([]byte{1}, 64<<10)
	lin, tree := func() (string, string) { h := treehash.New(); h.Write(data); return h.SumHex() }()
	// Gaps of a tenth of the stall limit: a loaded machine that wakes the
	// reader late must not look like a stall.
	s := Settings{StallTimeout: 250 * time.Millisecond, CallTimeout: 250 * time.Millisecond, MaxAttempts: 2}

	slow := testGlacier(t, s, func(r *http.Request) (*http.Response, error) {
		buf := make([]byte, 2<<10)
		for { // 32 reads, 25 ms apart: 800 ms in all, far above both limits
			_, err := r.Body.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			select {
			case <-time.After(25 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
		return answer(r, 201, http.Header{"X-Amz-Archive-Id": {"A"}}, ""), nil
	})
	if _, err := slow.UploadArchive(context.Background(), "v", "", bytes.NewReader(data), int64(len(data)), tree, lin); err != nil {
		t.Fatalf("slow upload failed: %v", err)
	}

	var n atomic.Int32
	stalled := testGlacier(t, s, func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return blockUntilDone(r)
	})
	_, err := stalled.UploadArchive(context.Background(), "v", "", bytes.NewReader(data), int64(len(data)), tree, lin)
	var te *TimeoutError
	if !errors.As(err, &te) || te.What != "no progress" || n.Load() != 2 {
		t.Fatalf("stalled upload: err = %v after %d attempts", err, n.Load())
	}
}

// stallingBody sends some bytes, then blocks until its request ends.
type stallingBody struct {
	ctx  context.Context
	sent bool
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "first bytes"), nil
	}
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func (b *stallingBody) Close() error { return nil }

func TestDownloadStall(t *testing.T) {
	g := testGlacier(t, Settings{StallTimeout: 80 * time.Millisecond, CallTimeout: 50 * time.Millisecond}, func(r *http.Request) (*http.Response, error) {
		h := http.Header{"Content-Range": {"bytes 0-99/100"}, "X-Amz-Sha256-Tree-Hash": {"abc"}, "Content-Type": {"application/octet-stream"}}
		return &http.Response{StatusCode: 206, Header: h, Request: r, Body: &stallingBody{ctx: r.Context()}, ContentLength: 100}, nil
	})
	out, err := g.GetJobOutput(context.Background(), "v", "J", 0, 99)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if out.Status != 206 || out.ContentRange != "bytes 0-99/100" || out.TreeHash != "abc" || out.Length != 100 {
		t.Errorf("output = %+v", out)
	}
	// The body outlives the call (longer than CallTimeout) while it moves...
	time.Sleep(120 * time.Millisecond)
	buf := make([]byte, 100)
	if n, err := out.Body.Read(buf); err != nil || string(buf[:n]) != "first bytes" {
		t.Fatalf("first read = %q, %v", buf[:n], err)
	}
	// ...and a read that makes no progress fails with a timeout.
	_, err = out.Body.Read(buf)
	var te *TimeoutError
	if !errors.As(err, &te) || te.What != "no progress" {
		t.Fatalf("stalled read: %v", err)
	}
	if _, err := g.GetJobOutput(context.Background(), "v", "J", 5, 2); err == nil {
		t.Error("range 5-2 accepted")
	}
}

func TestSizedBody(t *testing.T) {
	r := strings.NewReader("0123456789")
	r.Seek(2, io.SeekStart)
	b, err := newSizedBody(r, 5)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(b)
	if string(all) != "23456" {
		t.Fatalf("read %q", all)
	}
	if n, err := b.Seek(0, io.SeekEnd); n != 5 || err != nil {
		t.Fatalf("Seek end = %d, %v", n, err)
	}
	b.Seek(1, io.SeekStart)
	all, _ = io.ReadAll(b)
	if string(all) != "3456" {
		t.Fatalf("after seek read %q", all)
	}
	short, _ := newSizedBody(strings.NewReader("abc"), 5)
	if _, err := io.ReadAll(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
}
