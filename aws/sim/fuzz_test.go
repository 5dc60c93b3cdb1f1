package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FuzzGlacierRequest sends properly signed requests with arbitrary method,
// path, query, one extra header and body through the whole handler. Whatever
// arrives, the simulator must answer (no panic) with a Glacier-shaped error
// body when it refuses.
func FuzzGlacierRequest(f *testing.F) {
	f.Add(uint8(0), "/-/vaults/v", "", "", "", "")
	f.Add(uint8(1), "/-/vaults/v/jobs", "", `{"Type":"inventory-retrieval","Format":"CSV"}`, "", "")
	f.Add(uint8(1), "/-/vaults/v/jobs", "", `{"Type":"archive-retrieval","ArchiveId":"x","RetrievalByteRange":"0-1"}`, "", "")
	f.Add(uint8(2), "/-/vaults/v/multipart-uploads/abc", "", "xyz", "Content-Range", "bytes 0-2/*")
	f.Add(uint8(1), "/-/vaults/v/multipart-uploads", "", "", "X-Amz-Part-Size", "1048576")
	f.Add(uint8(0), "/-/vaults", "limit=3&marker=arn%3Aaws", "", "", "")
	f.Add(uint8(3), "/-/vaults/v/archives/%2F..", "", "", "", "")
	f.Add(uint8(2), "/-/vaults/v/notification-configuration", "", `{"SNSTopic":"arn:aws:sns:us-east-1:1:t","Events":["ArchiveRetrievalCompleted"]}`, "", "")
	f.Add(uint8(0), "/-/vaults/v/jobs/j/output", "", "", "Range", "bytes=0-")

	s, err := newSim(Options{Dir: f.TempDir(), Clock: NewManualClock(testEpoch)}, fakeNotifier{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: DefaultAccessKey, SecretAccessKey: DefaultSecretKey}

	f.Fuzz(func(t *testing.T, m uint8, path, query, body, hName, hValue string) {
		u := &url.URL{Scheme: "http", Host: "sim.test", Path: path, RawQuery: query}
		req, err := http.NewRequest(methods[int(m)%len(methods)], u.String(), strings.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") || strings.HasPrefix(req.URL.Path, "/_sim/") {
			return
		}
		req.Header.Set("X-Amz-Glacier-Version", glacierAPIVersion)
		if hName != "" {
			if !validHeader(hName, hValue) {
				return
			}
			req.Header.Set(hName, hValue)
		}
		if req.Header.Get("X-Amz-Content-Sha256") == "" {
			req.Header.Set("X-Amz-Content-Sha256", linearHash([]byte(body)))
		}
		if err := signer.SignHTTP(context.Background(), creds, req, linearHash([]byte(body)), "glacier", "us-east-1", time.Now()); err != nil {
			return
		}
		req.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code >= 400 {
			var e glacierErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: error %d with body %q", req.Method, req.URL, rec.Code, rec.Body.Bytes())
			}
		}
	})
}

func validHeader(name, value string) bool {
	if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 && value[i] != '\t' || value[i] == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(value) == value
}

// fakeNotifier stands in for package notify where the SNS side is not under
// test.
type fakeNotifier struct{}

func (fakeNotifier) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
}
func (fakeNotifier) Publish(context.Context, string, string, string) (string, error) {
	return "id", nil
}
func (fakeNotifier) TopicExists(arn string) bool { return strings.HasSuffix(arn, ":t") }
func (fakeNotifier) Close() error                { return nil }
