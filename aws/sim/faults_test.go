package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// uploadInParts sends data as a multipart upload through c.
func uploadInParts(t *testing.T, c *glacier.Client, vault string, data []byte, partSize int) string {
	t.Helper()
	up, err := c.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String(vault), PartSize: aws.String(fmt.Sprint(partSize)),
	})
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	for off := 0; off < len(data); off += partSize {
		end := min(off+partSize, len(data))
		if _, err := c.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
			AccountId: aws.String("-"), VaultName: aws.String(vault), UploadId: up.UploadId,
			Range: aws.String(fmt.Sprintf("bytes %d-%d/*", off, end-1)), Body: bytes.NewReader(data[off:end]),
		}); err != nil {
			t.Fatalf("UploadMultipartPart at %d: %v", off, err)
		}
	}
	out, err := c.CompleteMultipartUpload(ctx(t), &glacier.CompleteMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String(vault), UploadId: up.UploadId,
		ArchiveSize: aws.String(fmt.Sprint(len(data))), Checksum: aws.String(refTreeHash(data)),
	})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	return aws.ToString(out.ArchiveId)
}

// TestFaultsDriveSDKRetries injects each fault kind into real operations and
// checks that the SDK's retryer recovers and that the faults fired.
func TestFaultsDriveSDKRetries(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
	}{
		{"5xx on parts", Fault{Op: "UploadMultipartPart", Kind: FaultServiceUnavailable, Count: 2}},
		{"throttling on parts", Fault{Op: "UploadMultipartPart", Kind: FaultThrottling, Count: 2}},
		{"408 on parts", Fault{Op: "UploadMultipartPart", Kind: FaultRequestTimeout, Count: 2}},
		{"reset mid-part", Fault{Op: "UploadMultipartPart", Kind: FaultReset, Count: 2, AfterBytes: 300000}},
		{"reset before complete", Fault{Op: "CompleteMultipartUpload", Kind: FaultReset, Count: 1}},
		{"5xx on initiate", Fault{Op: "InitiateMultipartUpload", Kind: FaultServiceUnavailable, Count: 1}},
		{"any op, by rate", Fault{Op: "*", Kind: FaultThrottling, Rate: 0.3, Count: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Seed: 42})
			h.createVault("v")
			if _, err := h.sim.Faults().Add(tt.fault); err != nil {
				t.Fatal(err)
			}
			data := randomBytes(10, 3*mib+7)
			id := uploadInParts(t, h.retryingClient(8), "v", data, mib)
			if got := h.sim.Faults().Fired(); got != max(tt.fault.Count, 1) {
				t.Errorf("%d faults fired, want %d", got, tt.fault.Count)
			}
			if tt.fault.Op != "*" && h.sim.Faults().FiredFor(tt.fault.Op) != h.sim.Faults().Fired() {
				t.Errorf("faults fired on other operations")
			}
			h.sim.Faults().Clear()
			job := h.initiateRetrieval("v", id, "")
			h.clock.Advance(DefaultStandardDelay)
			if got, _ := h.readOutput("v", job, ""); !bytes.Equal(got, data) {
				t.Error("archive uploaded through faults differs")
			}
		})
	}
}

func TestFaultErrorsAsSeen(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	describe := func() error {
		_, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
		return err
	}
	for _, tt := range []struct {
		kind   FaultKind
		code   string
		status int
	}{
		{FaultServiceUnavailable, "ServiceUnavailableException", 500},
		{FaultThrottling, "ThrottlingException", 400},
		{FaultRequestTimeout, "RequestTimeoutException", 408},
	} {
		h.sim.Faults().Add(Fault{Op: "DescribeVault", Kind: tt.kind, Count: 1})
		wantAPIError(t, describe(), tt.code, tt.status, "")
		if err := describe(); err != nil {
			t.Errorf("after the fault: %v", err)
		}
	}
	if got := h.sim.Faults().FiredFor("DescribeVault"); got != 3 {
		t.Errorf("FiredFor = %d, want 3", got)
	}
	// A reset before the response is a transport error. (PUT, because Go's
	// transport silently replays a GET whose reused connection drops.)
	h.sim.Faults().Add(Fault{Op: "CreateVault", Kind: FaultReset, Count: 1})
	_, err := h.gl.CreateVault(ctx(t), &glacier.CreateVaultInput{AccountId: aws.String("-"), VaultName: aws.String("w")})
	if err == nil || apiCode(err) != "" {
		t.Errorf("reset: %v", err)
	}
}

func TestFaultJobOutput(t *testing.T) {
	h := newHarness(t, Options{Seed: 7, JobDelay: aws.Duration(0)})
	h.createVault("v")
	data := randomBytes(11, 2*mib+3)
	id := h.upload("v", data, "")
	job := h.initiateRetrieval("v", id, "")

	t.Run("corrupt", func(t *testing.T) {
		h.sim.Faults().Add(Fault{Op: "GetJobOutput", Kind: FaultCorrupt, Count: 1, Bytes: 3})
		got, out := h.readOutput("v", job, "")
		if len(got) != len(data) {
			t.Fatalf("%d bytes, want %d", len(got), len(data))
		}
		diff := 0
		for i := range got {
			if got[i] != data[i] {
				diff++
			}
		}
		if diff != 3 {
			t.Errorf("%d bytes differ, want 3", diff)
		}
		if aws.ToString(out.Checksum) != refTreeHash(data) || refTreeHash(got) == refTreeHash(data) {
			t.Error("the tree-hash header must stay that of the true data, so the client can detect the corruption")
		}
		if got, _ := h.readOutput("v", job, ""); !bytes.Equal(got, data) {
			t.Error("second read still corrupted")
		}
	})

	t.Run("reset mid-body", func(t *testing.T) {
		h.sim.Faults().Add(Fault{Op: "GetJobOutput", Kind: FaultReset, Count: 1, AfterBytes: 100000})
		out, err := h.gl.GetJobOutput(ctx(t), &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(job)})
		if err != nil {
			t.Fatalf("headers should arrive before the cut: %v", err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err == nil {
			t.Fatalf("read %d bytes without error; want a cut connection", len(got))
		}
		if len(got) > 100000 || !bytes.Equal(got, data[:len(got)]) {
			t.Errorf("read %d bytes before the cut, want at most 100000 true bytes", len(got))
		}
	})

	t.Run("delay", func(t *testing.T) {
		h.sim.Faults().Add(Fault{Op: "GetJobOutput", Kind: FaultDelay, Count: 1, Delay: Duration(300 * time.Millisecond)})
		start := time.Now()
		h.readOutput("v", job, "bytes=0-9")
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("answered in %v despite a 300ms delay", d)
		}
	})
}

func TestFaultRateIsSeeded(t *testing.T) {
	pattern := func(seed int64) string {
		f := newFaults(seed)
		if _, err := f.Add(Fault{Op: "*", Kind: FaultThrottling, Rate: 0.5}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 0; i < 200; i++ {
			if f.pick("DescribeJob", "v") != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b, c := pattern(1), pattern(1), pattern(2)
	if a != b {
		t.Error("same seed, different fault pattern")
	}
	if a == c {
		t.Error("different seeds, same fault pattern")
	}
	if n := strings.Count(a, "x"); n < 60 || n > 140 {
		t.Errorf("rate 0.5 fired %d times in 200", n)
	}
}

func TestFaultRules(t *testing.T) {
	f := newFaults(0)
	for _, bad := range []Fault{
		{Kind: FaultThrottling, Count: 1},
		{Op: "*", Kind: "Explode", Count: 1},
		{Op: "*", Kind: FaultThrottling},
		{Op: "*", Kind: FaultThrottling, Rate: 1.5},
		{Op: "*", Kind: FaultDelay, Count: 1},
	} {
		if _, err := f.Add(bad); err == nil {
			t.Errorf("Add(%+v) accepted", bad)
		}
	}
	f.Add(Fault{Op: "GetJobOutput", Vault: "a", Kind: FaultServiceUnavailable, Count: 1})
	f.Add(Fault{Op: "DescribeVault", Kind: FaultCorrupt, Count: 1})
	if f.pick("GetJobOutput", "b") != nil || f.pick("DescribeVault", "a") != nil {
		t.Error("a rule fired outside its vault, or Corrupt on an operation without a body")
	}
	if f.pick("GetJobOutput", "a") == nil || f.pick("GetJobOutput", "a") != nil {
		t.Error("count 1 must fire exactly once")
	}
}

func TestFaultAdminEndpoint(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	post := func(body string) (*http.Response, []byte) {
		req := mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/faults", []byte(body))
		return h.rawDo(req)
	}
	resp, body := post(`{"op":"DescribeVault","kind":"Throttling","count":1}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ids":[1]`) {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	resp, body = post(`{"faults":[{"op":"ListVaults","kind":"Delay","rate":0.5,"delay":"10ms"},{"op":"*","kind":"Reset","count":1,"afterBytes":10}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ids":[2,3]`) {
		t.Fatalf("POST batch: %d %s", resp.StatusCode, body)
	}
	resp, body = post(`{"op":"x","kind":"Nope","count":1}`)
	if resp.StatusCode != 400 {
		t.Errorf("bad rule: %d %s", resp.StatusCode, body)
	}
	// Remove the catch-all reset again.
	if resp, _ := h.rawDo(mustRequest(t, http.MethodDelete, h.srv.URL+"/_sim/faults?id=3", nil)); resp.StatusCode != 204 {
		t.Errorf("DELETE one: %d", resp.StatusCode)
	}
	_, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
	wantAPIError(t, err, "ThrottlingException", 400, "")

	resp, body = h.rawDo(mustRequest(t, http.MethodGet, h.srv.URL+"/_sim/faults", nil))
	var view struct {
		Faults []struct {
			ID    int     `json:"id"`
			Fired int     `json:"fired"`
			Rate  float64 `json:"rate"`
			Delay string  `json:"delay"`
		} `json:"faults"`
		Fired     int            `json:"fired"`
		FiredByOp map[string]int `json:"firedByOp"`
	}
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	if view.Fired != 1 || view.FiredByOp["DescribeVault"] != 1 || len(view.Faults) != 2 || view.Faults[0].Fired != 1 || view.Faults[1].Delay != "10ms" {
		t.Errorf("GET: %s", body)
	}
	if resp, _ := h.rawDo(mustRequest(t, http.MethodDelete, h.srv.URL+"/_sim/faults", nil)); resp.StatusCode != 204 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if h.sim.Faults().Fired() != 0 || len(h.sim.Faults().Rules()) != 0 {
		t.Error("DELETE did not clear")
	}
}

// Faults apply to SQS operations too, in SQS's own error shape.
func TestFaultSQS(t *testing.T) {
	h := newHarness(t, Options{})
	r := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 4
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
	sq := sqs.NewFromConfig(h.awsConfig(r), func(o *sqs.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	q, err := sq.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("q")})
	if err != nil {
		t.Fatal(err)
	}
	h.sim.Faults().Add(Fault{Op: "ReceiveMessage", Kind: FaultThrottling, Count: 1})
	h.sim.Faults().Add(Fault{Op: "ReceiveMessage", Kind: FaultServiceUnavailable, Count: 1})
	h.sim.Faults().Add(Fault{Op: "ReceiveMessage", Kind: FaultReset, Count: 1})
	if _, err := sq.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl}); err != nil {
		t.Fatalf("ReceiveMessage through faults: %v", err)
	}
	if got := h.sim.Faults().FiredFor("ReceiveMessage"); got != 3 {
		t.Errorf("fired %d, want 3", got)
	}
	// Without retries the throttling error reaches the caller with its code.
	h.sim.Faults().Add(Fault{Op: "ReceiveMessage", Kind: FaultThrottling, Count: 1})
	one := sqs.NewFromConfig(h.awsConfig(retry.AddWithMaxAttempts(retry.NewStandard(), 1)), func(o *sqs.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	_, err = one.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	if apiCode(err) != "ThrottlingException" {
		t.Errorf("SQS fault error: %v", err)
	}
	var unsigned *http.Response
	unsigned, body := h.rawDo(func() *http.Request {
		r := mustRequest(t, http.MethodPost, h.srv.URL+"/", []byte(`{"QueueUrl":"x"}`))
		r.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		return r
	}())
	if unsigned.StatusCode != 400 || !strings.Contains(string(body), "MissingAuthenticationToken") {
		t.Errorf("unsigned SQS request: %d %s", unsigned.StatusCode, body)
	}

}
