package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzService is one Service for a whole fuzz run, trimmed between inputs so
// that snapshots stay small.
func fuzzService(f *testing.F) *Service {
	dir := f.TempDir()
	seedSigningKey(f, dir)
	svc, err := New(Options{Dir: dir, IgnoreQueuePolicy: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	return svc
}

func (s *Service) trimForFuzz() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queues) > 20 || len(s.topics) > 20 || len(s.subs) > 20 {
		clear(s.queues)
		clear(s.topics)
		clear(s.subs)
	}
	for _, q := range s.queues {
		if len(q.Messages) > 20 {
			q.Messages = nil
		}
	}
	if _, ok := s.queues["fz"]; !ok {
		now := s.now()
		s.queues["fz"] = &queue{Name: "fz", Attributes: defaultQueueAttributes(), Created: now, Modified: now, wake: make(chan struct{})}
	}
	arn := s.topicARN("fz")
	if _, ok := s.topics[arn]; !ok {
		s.topics[arn] = &topic{ARN: arn, Name: "fz"}
		sub := &subscription{ARN: arn + ":6e8d5a30-8a3b-4d5e-9c31-2c1f0e7b9a11", TopicARN: arn, Protocol: "sqs", Endpoint: s.queueARN("fz")}
		s.subs[sub.ARN] = sub
	}
}

func serveFuzz(t *testing.T, h http.Handler, header map[string]string, body []byte) *httptest.ResponseRecorder {
	// A long poll in the input must not stall the fuzzer.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://sim.local/", bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func FuzzSQSRequest(f *testing.F) {
	const q = `"QueueUrl":"http://sim.local/123456789012/fz"`
	for _, seed := range []struct{ op, body string }{
		{"CreateQueue", `{"QueueName":"a","Attributes":{"VisibilityTimeout":"5","Policy":"{}"},"tags":{"k":"v"}}`},
		{"GetQueueUrl", `{"QueueName":"fz"}`},
		{"GetQueueAttributes", `{` + q + `,"AttributeNames":["All"]}`},
		{"SetQueueAttributes", `{` + q + `,"Attributes":{"DelaySeconds":"1"}}`},
		{"ListQueues", `{"MaxResults":1,"NextToken":"Zno"}`},
		{"SendMessage", `{` + q + `,"MessageBody":"hi","DelaySeconds":0,"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAE="}}}`},
		{"SendMessageBatch", `{` + q + `,"Entries":[{"Id":"1","MessageBody":"x"},{"Id":"1","MessageBody":"y"}]}`},
		{"ReceiveMessage", `{` + q + `,"MaxNumberOfMessages":10,"WaitTimeSeconds":1,"AttributeNames":["All"],"MessageAttributeNames":["a.*"]}`},
		{"DeleteMessage", `{` + q + `,"ReceiptHandle":"YjZmZjQ4YjYtN2ZjYy00MmY0LWE0YjItNzA1YzNlNzFmYjQ3LzAw"}`},
		{"DeleteMessageBatch", `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"x"}]}`},
		{"ChangeMessageVisibility", `{` + q + `,"ReceiptHandle":"x","VisibilityTimeout":-1}`},
		{"ChangeMessageVisibilityBatch", `{` + q + `,"Entries":[]}`},
		{"PurgeQueue", `{` + q + `}`},
		{"TagQueue", `{` + q + `,"Tags":{"":""}}`},
		{"ListQueueTags", `{` + q + `}`},
		{"DeleteQueue", `{"QueueUrl":"http://sim.local/123456789012"}`},
		{"Nope", `[]`},
		{"SendMessage", "{\"QueueUrl\":null,\"MessageBody\":\"\\ud800\"}"},
		{"SendMessage", "\xff"},
	} {
		f.Add(seed.op, []byte(seed.body))
	}
	svc := fuzzService(f)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		svc.trimForFuzz()
		rec := serveFuzz(t, h, map[string]string{"Content-Type": sqsContentType, "X-Amz-Target": "AmazonSQS." + op}, body)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %s %q: %s", rec.Code, op, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != sqsContentType {
			t.Fatalf("Content-Type %q", ct)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("response is not a JSON object: %v: %s", err, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if typ, _ := out["__type"].(string); typ == "" {
				t.Fatalf("error without __type: %s", rec.Body)
			}
		}
	})
}

func FuzzSNSRequest(f *testing.F) {
	const topic = "TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Afz"
	for _, seed := range []string{
		"Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=x&Tags.member.1.Key=k",
		"Action=ListTopics&NextToken=abc",
		"Action=Publish&Version=2010-03-31&" + topic + "&Message=hello&Subject=s" +
			"&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v" +
			"&MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AAE%3D",
		"Action=Publish&" + topic + "&Message=%7B%22default%22%3A%22x%22%7D&MessageStructure=json",
		"Action=Subscribe&" + topic + "&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A123456789012%3Afz&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true",
		"Action=SetSubscriptionAttributes&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Afz%3A6e8d5a30-8a3b-4d5e-9c31-2c1f0e7b9a11&AttributeName=RawMessageDelivery&AttributeValue=false",
		"Action=GetSubscriptionAttributes&SubscriptionArn=x",
		"Action=ListSubscriptionsByTopic&" + topic,
		"Action=GetTopicAttributes&" + topic,
		"Action=SetTopicAttributes&" + topic + "&AttributeName=SignatureVersion&AttributeValue=2",
		"Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Afz%3Ax",
		"Action=DeleteTopic&" + topic,
		"Action=Publish&MessageAttributes.entry.99999999999999999999.Name=x",
		"%zz",
	} {
		f.Add(seed)
	}
	svc := fuzzService(f)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		svc.trimForFuzz()
		rec := serveFuzz(t, h, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(body))
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		// The body must be one well-formed XML document.
		d := xml.NewDecoder(rec.Body)
		depth, roots := 0, 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("response is not XML: %v: %s", err, rec.Body)
			}
			switch tok.(type) {
			case xml.StartElement:
				if depth == 0 {
					roots++
				}
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if roots != 1 || depth != 0 {
			t.Fatalf("response has %d roots: %s", roots, rec.Body)
		}
	})
}

func FuzzPolicyAllows(f *testing.F) {
	f.Add(snsPolicy("arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:123456789012:t"), "arn:aws:sns:us-east-1:123456789012:t")
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":["sqs:Send*"],"Condition":{"StringLike":{"aws:SourceArn":["*?*"]}}}}`, "x")
	f.Add(`{"Statement":[{"Effect":"Deny","NotPrincipal":1}]}`, "")
	f.Fuzz(func(t *testing.T, policy, topic string) {
		_ = policyAllows(policy, "arn:aws:sqs:us-east-1:123456789012:q", topic, "123456789012")
	})
}

func TestPolicyAllows(t *testing.T) {
	const q = "arn:aws:sqs:us-east-1:123456789012:q"
	const topic = "arn:aws:sns:us-east-1:123456789012:t"
	for _, tc := range []struct {
		name, policy string
		want         bool
	}{
		{"empty", "", false},
		{"not JSON", "{", false},
		{"standard", snsPolicy(q, topic), true},
		{"source account", `{"Statement":[{"Effect":"Allow","Principal":{"Service":["sns.amazonaws.com"]},"Action":["sqs:SendMessage"],"Resource":"` + q + `","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`, true},
		{"other account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Condition":{"StringEquals":{"aws:SourceAccount":"999999999999"}}}]}`, false},
		{"action case-insensitive", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"SQS:sendmessage","Resource":"` + q + `"}]}`, true},
		{"other action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"` + q + `"}]}`, false},
		{"other resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"` + q + `2"}]}`, false},
		{"unknown condition key", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}`, false},
		{"NotAction", `{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"sqs:DeleteQueue"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policyAllows(tc.policy, q, topic, "123456789012"); got != tc.want {
				t.Fatalf("policyAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"*:t", "arn:aws:sns:x:t", true}, {"**a", "bba", true}, {"", "", true}, {"", "x", false},
	} {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
	if glob(strings.Repeat("*a", 50)+"b", strings.Repeat("a", 200)) {
		t.Error("glob on a hostile pattern")
	}
}
