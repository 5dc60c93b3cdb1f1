package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var testEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	sim    *Sim
	srv    *httptest.Server
	clock  *ManualClock
	gl     *glacier.Client
	opts   Options
	closed bool
}

// newHarness starts a simulator on a ManualClock behind an httptest server
// and an SDK client with retries off (so a refused request is seen as is).
func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	clock, _ := o.Clock.(*ManualClock)
	if o.Clock == nil {
		clock = NewManualClock(testEpoch)
		o.Clock = clock
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	h := &harness{t: t, sim: s, srv: srv, clock: clock, opts: o}
	h.gl = h.client(retry.AddWithMaxAttempts(retry.NewStandard(), 1))
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	if h.closed {
		return
	}
	h.closed = true
	h.srv.Close()
	if err := h.sim.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
}

// restart closes the simulator and opens a new one on the same directory
// and clock.
func (h *harness) restart() {
	h.t.Helper()
	h.close()
	s, err := New(h.opts)
	if err != nil {
		h.t.Fatalf("New after restart: %v", err)
	}
	h.sim = s
	h.srv = httptest.NewServer(s.Handler())
	h.closed = false
	h.gl = h.client(retry.AddWithMaxAttempts(retry.NewStandard(), 1))
}

func (h *harness) awsConfig(r aws.Retryer) aws.Config {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(DefaultAccessKey, DefaultSecretKey, ""),
	}
	if r != nil {
		cfg.Retryer = func() aws.Retryer { return r }
	}
	return cfg
}

func (h *harness) client(r aws.Retryer) *glacier.Client {
	return glacier.NewFromConfig(h.awsConfig(r), func(o *glacier.Options) {
		o.BaseEndpoint = aws.String(h.srv.URL)
	})
}

// retryingClient retries throttling, 5xx, 408 and transport errors at once,
// up to attempts times.
func (h *harness) retryingClient(attempts int) *glacier.Client {
	r := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.Retryables = append(o.Retryables, retry.RetryableHTTPStatusCode{Codes: map[int]struct{}{408: {}}})
	})
	return h.client(r)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiCode returns the API error code of err, or "" if it is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantAPIError fails unless err is the given API error with that status and,
// if msg is set, a message containing it.
func wantAPIError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	if got := apiCode(err); got != code {
		t.Fatalf("want error code %s, got %q (%v)", code, got, err)
	}
	if got := httpStatus(err); got != status {
		t.Fatalf("want HTTP %d, got %d (%v)", status, got, err)
	}
	if msg != "" && !strings.Contains(apiMessage(err), msg) {
		t.Fatalf("want message containing %q, got %q", msg, apiMessage(err))
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// refTreeHash is an independent, whole-buffer tree hash for test oracles.
func refTreeHash(data []byte) string {
	var level [][32]byte
	for off := 0; off < len(data) || off == 0; off += mib {
		end := min(off+mib, len(data))
		level = append(level, sha256.Sum256(data[off:end]))
		if end == len(data) {
			break
		}
	}
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			if i+1 < len(level) {
				next = append(next, sha256.Sum256(append(level[i][:], level[i+1][:]...)))
			} else {
				next = append(next, level[i])
			}
		}
		level = next
	}
	return hex.EncodeToString(level[0][:])
}

func linearHash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// withContentSHA256 adds x-amz-content-sha256 before signing, for calls that
// pass Checksum themselves (the SDK then adds neither header).
func withContentSHA256(sum string) func(*glacier.Options) {
	return func(o *glacier.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("testContentSHA256",
				func(c context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.Header.Set("X-Amz-Content-Sha256", sum)
					}
					return next.HandleFinalize(c, in)
				}), middleware.Before)
		})
	}
}

func (h *harness) createVault(name string) {
	h.t.Helper()
	if _, err := h.gl.CreateVault(ctx(h.t), &glacier.CreateVaultInput{AccountId: aws.String("-"), VaultName: aws.String(name)}); err != nil {
		h.t.Fatalf("CreateVault %s: %v", name, err)
	}
}

func (h *harness) upload(vault string, data []byte, desc string) string {
	h.t.Helper()
	in := &glacier.UploadArchiveInput{AccountId: aws.String("-"), VaultName: aws.String(vault), Body: bytes.NewReader(data)}
	if desc != "" {
		in.ArchiveDescription = aws.String(desc)
	}
	out, err := h.gl.UploadArchive(ctx(h.t), in)
	if err != nil {
		h.t.Fatalf("UploadArchive: %v", err)
	}
	return aws.ToString(out.ArchiveId)
}

func (h *harness) initiateRetrieval(vault, archiveID, byteRange string) string {
	h.t.Helper()
	p := &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(archiveID)}
	if byteRange != "" {
		p.RetrievalByteRange = aws.String(byteRange)
	}
	return h.initiate(vault, p)
}

func (h *harness) tryInitiate(vault string, p *types.JobParameters) (string, error) {
	out, err := h.gl.InitiateJob(ctx(h.t), &glacier.InitiateJobInput{AccountId: aws.String("-"), VaultName: aws.String(vault), JobParameters: p})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.JobId), nil
}

func (h *harness) initiate(vault string, p *types.JobParameters) string {
	h.t.Helper()
	id, err := h.tryInitiate(vault, p)
	if err != nil {
		h.t.Fatalf("InitiateJob: %v", err)
	}
	return id
}

func (h *harness) describeJob(vault, id string) *glacier.DescribeJobOutput {
	h.t.Helper()
	out, err := h.gl.DescribeJob(ctx(h.t), &glacier.DescribeJobInput{AccountId: aws.String("-"), VaultName: aws.String(vault), JobId: aws.String(id)})
	if err != nil {
		h.t.Fatalf("DescribeJob: %v", err)
	}
	return out
}

func (h *harness) readOutput(vault, jobID, rng string) ([]byte, *glacier.GetJobOutputOutput) {
	h.t.Helper()
	in := &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String(vault), JobId: aws.String(jobID)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := h.gl.GetJobOutput(ctx(h.t), in)
	if err != nil {
		h.t.Fatalf("GetJobOutput: %v", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		h.t.Fatalf("read job output: %v", err)
	}
	return b, out
}

// rawDo sends a raw HTTP request to the simulator.
func (h *harness) rawDo(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
