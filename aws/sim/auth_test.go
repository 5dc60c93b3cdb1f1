package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func mustRequest(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// signedRequest builds a Glacier request signed like the SDK signs one,
// with the version header set unless headers override it.
func (h *harness) signedRequest(method, path string, body []byte, headers map[string]string) *http.Request {
	return h.signedRequestWith(method, path, body, headers, DefaultAccessKey, DefaultSecretKey, "us-east-1", time.Now())
}

// signedRequestHash signs with payloadHash instead of the body's hash.
func (h *harness) signedRequestHash(method, path string, body []byte, headers map[string]string, payloadHash string) *http.Request {
	return h.sign(method, path, body, headers, DefaultAccessKey, DefaultSecretKey, "us-east-1", time.Now(), payloadHash)
}

func (h *harness) signedRequestWith(method, path string, body []byte, headers map[string]string, ak, sk, region string, at time.Time) *http.Request {
	return h.sign(method, path, body, headers, ak, sk, region, at, linearHash(body))
}

func (h *harness) sign(method, path string, body []byte, headers map[string]string, ak, sk, region string, at time.Time, payloadHash string) *http.Request {
	h.t.Helper()
	req := mustRequest(h.t, method, h.srv.URL+path, body)
	req.Header.Set("X-Amz-Glacier-Version", "2012-06-01")
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "glacier", region, at); err != nil {
		h.t.Fatal(err)
	}
	return req
}

type glacierErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

func decodeGlacierError(t *testing.T, body []byte) glacierErrorBody {
	t.Helper()
	var e glacierErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"signed", func() *http.Request { return h.signedRequest("GET", "/-/vaults/v", nil, nil) }, 200, ""},
		{"unsigned", func() *http.Request {
			r := mustRequest(t, "GET", h.srv.URL+"/-/vaults/v", nil)
			r.Header.Set("X-Amz-Glacier-Version", "2012-06-01")
			return r
		}, 400, "MissingAuthenticationTokenException"},
		{"wrong secret", func() *http.Request {
			return h.signedRequestWith("GET", "/-/vaults/v", nil, nil, DefaultAccessKey, "not-the-secret", "us-east-1", time.Now())
		}, 403, "InvalidSignatureException"},
		{"unknown access key", func() *http.Request {
			return h.signedRequestWith("GET", "/-/vaults/v", nil, nil, "AKIAUNKNOWNKEY000000", DefaultSecretKey, "us-east-1", time.Now())
		}, 400, "UnrecognizedClientException"},
		{"other region", func() *http.Request {
			return h.signedRequestWith("GET", "/-/vaults/v", nil, nil, DefaultAccessKey, DefaultSecretKey, "eu-west-1", time.Now())
		}, 403, "InvalidSignatureException"},
		{"clock skew", func() *http.Request {
			return h.signedRequestWith("GET", "/-/vaults/v", nil, nil, DefaultAccessKey, DefaultSecretKey, "us-east-1", time.Now().Add(-20*time.Minute))
		}, 403, "InvalidSignatureException"},
		{"tampered after signing", func() *http.Request {
			r := h.signedRequest("GET", "/-/vaults/v", nil, nil)
			r.URL.Path = "/-/vaults/w"
			return r
		}, 403, "InvalidSignatureException"},
		{"missing version header", func() *http.Request {
			return h.signedRequest("GET", "/-/vaults/v", nil, map[string]string{"X-Amz-Glacier-Version": ""})
		}, 400, "MissingParameterValueException"},
		{"wrong version header", func() *http.Request {
			return h.signedRequest("GET", "/-/vaults/v", nil, map[string]string{"X-Amz-Glacier-Version": "2011-01-01"})
		}, 400, "InvalidParameterValueException"},
		{"garbage authorization", func() *http.Request {
			r := mustRequest(t, "GET", h.srv.URL+"/-/vaults/v", nil)
			r.Header.Set("X-Amz-Glacier-Version", "2012-06-01")
			r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			return r
		}, 403, "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.rawDo(tt.req())
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code == "" {
				return
			}
			e := decodeGlacierError(t, body)
			if e.Code != tt.code || e.Type != "Client" || e.Message == "" {
				t.Errorf("error body %+v, want code %s", e, tt.code)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
}

// The SDK with the wrong secret gets the same refusal through its own error
// decoding.
func TestSDKWrongSecret(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.awsConfig(nil)
	cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: DefaultAccessKey, SecretAccessKey: "wrong"}, nil
	}))
	c := glacier.NewFromConfig(cfg, func(o *glacier.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	_, err := c.ListVaults(ctx(t), &glacier.ListVaultsInput{AccountId: aws.String("-")})
	wantAPIError(t, err, "InvalidSignatureException", 403, "signature")
}

func TestParseAuthHeader(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/glacier/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	a, err := parseAuthHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	if a.accessKey != "AK" || a.date != "20250301" || a.region != "us-east-1" || a.service != "glacier" || len(a.signedHeaders) != 2 {
		t.Errorf("parsed %+v", a)
	}
	for _, bad := range []string{
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/glacier/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=AK/2025/us-east-1/glacier/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/glacier/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/glacier/aws4_request, SignedHeaders=host, Signature=zz",
		strings.Replace(good, "aws4_request", "aws5_request", 1),
	} {
		if _, err := parseAuthHeader(bad); err == nil {
			t.Errorf("parseAuthHeader(%q) accepted", bad)
		}
	}
}

func FuzzParseAuthHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20250301/us-east-1/glacier/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32))
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,=")
	f.Fuzz(func(t *testing.T, v string) {
		a, err := parseAuthHeader(v)
		if err != nil {
			return
		}
		if a.accessKey == "" || len(a.date) != 8 || len(a.signature) != 64 || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted an incomplete header %q: %+v", v, a)
		}
	})
}

// createTopic makes an SNS topic through the simulator's SNS endpoint.
func (h *harness) createTopic(name string) string {
	h.t.Helper()
	c := sns.NewFromConfig(h.awsConfig(nil), func(o *sns.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	out, err := c.CreateTopic(ctx(h.t), &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		h.t.Fatalf("CreateTopic: %v", err)
	}
	return aws.ToString(out.TopicArn)
}
