package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithy "github.com/aws/smithy-go"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t   *testing.T
	dir string
	svc *Service
	srv *httptest.Server
	sqs *sqs.Client
	sns *sns.Client
}

// newEnv starts a Service on a fresh directory (or dir, when given) behind
// a real HTTP server, with SDK clients pointed at it.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
		seedSigningKey(t, opts.Dir)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	}
	return &env{
		t:   t,
		dir: opts.Dir,
		svc: svc,
		srv: srv,
		sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		sns: sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.sqs.CreateQueue(ctxT(e.t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func (e *env) createTopic(name string) string {
	e.t.Helper()
	out, err := e.sns.CreateTopic(ctxT(e.t), &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		e.t.Fatalf("CreateTopic %s: %v", name, err)
	}
	return *out.TopicArn
}

// snsPolicy is the queue policy SNS needs to deliver from topicARN.
func snsPolicy(queueARN, topicARN string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"` + queueARN + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + topicARN + `"}}}]}`
}

// subscribedQueue makes a queue that topicARN may deliver to and subscribes it.
func (e *env) subscribedQueue(name, topicARN string, raw bool) (queueURL, subARN string) {
	e.t.Helper()
	qarn := "arn:aws:sqs:us-east-1:123456789012:" + name
	queueURL = e.createQueue(name, map[string]string{"Policy": snsPolicy(qarn, topicARN)})
	in := &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(qarn),
		ReturnSubscriptionArn: true}
	if raw {
		in.Attributes = map[string]string{"RawMessageDelivery": "true"}
	}
	out, err := e.sns.Subscribe(ctxT(e.t), in)
	if err != nil {
		e.t.Fatalf("Subscribe %s: %v", name, err)
	}
	return queueURL, *out.SubscriptionArn
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// rawPost sends a request without the SDK, for inputs the SDK would refuse
// to build and for checking the wire shape.
func (e *env) rawPost(header map[string]string, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST: %v", err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func sqsHeaders(op string) map[string]string {
	return map[string]string{"Content-Type": sqsContentType, "X-Amz-Target": "AmazonSQS." + op}
}

// seedSigningKey installs a fixed SNS signing key so that tests (and fuzz
// workers, where key generation is slow under coverage instrumentation) need
// not generate one. Tests passing their own Dir exercise generation.
func seedSigningKey(t testing.TB, dir string) {
	t.Helper()
	key, err := os.ReadFile(filepath.Join("testdata", "sns-test-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
}
