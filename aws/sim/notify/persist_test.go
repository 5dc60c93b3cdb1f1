package notify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestRestartKeepsState(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	first := newEnv(t, Options{Dir: dir, Now: clock.Now})
	ctx := ctxT(t)
	topic := first.createTopic("jobs")
	qurl, sub := first.subscribedQueue("jobs", topic, false)
	if _, err := first.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &qurl,
		Attributes: map[string]string{"VisibilityTimeout": "30"}}); err != nil {
		t.Fatal(err)
	}
	certBefore := envelopeOf(t, first.svc, topic, qurl, first)
	for _, b := range []string{"a", "b"} {
		if _, err := first.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &qurl, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := first.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &qurl})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].Body != "a" {
		t.Fatalf("ReceiveMessage = %+v, %v", got, err)
	}
	handleA := got.Messages[0].ReceiptHandle
	if _, err := first.svc.Publish(ctx, topic, "", describeJob); err != nil {
		t.Fatal(err)
	}
	first.srv.Close()
	if err := first.svc.Close(); err != nil {
		t.Fatal(err)
	}

	second := newEnv(t, Options{Dir: dir, Now: clock.Now})
	if !second.svc.TopicExists(topic) {
		t.Fatal("topic lost across restart")
	}
	// The URL host changed with the new server; the queue is found by path.
	qurl = second.srv.URL + "/123456789012/jobs"
	attrs, err := second.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &qurl,
		AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Attributes["VisibilityTimeout"] != "30" || !strings.Contains(attrs.Attributes["Policy"], topic) ||
		attrs.Attributes["ApproximateNumberOfMessages"] != "2" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("attributes after restart = %v", attrs.Attributes)
	}
	subAttrs, err := second.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &sub})
	if err != nil || subAttrs.Attributes["Endpoint"] != "arn:aws:sqs:us-east-1:123456789012:jobs" {
		t.Fatalf("subscription after restart = %v, %v", subAttrs, err)
	}

	// The receipt handle from before the restart still deletes.
	if _, err := second.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &qurl, ReceiptHandle: handleA}); err != nil {
		t.Fatal(err)
	}
	got, err = second.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &qurl, MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 2 || *got.Messages[0].Body != "b" {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	var env envelopeJSON
	if err := json.Unmarshal([]byte(*got.Messages[1].Body), &env); err != nil || env.Message != describeJob {
		t.Fatalf("notification after restart: %v %q", err, *got.Messages[1].Body)
	}
	// Visibility survives too: they come back after the timeout, not before.
	if !second.queueIsEmpty(qurl) {
		t.Fatal("in-flight messages visible right after restart")
	}
	clock.Advance(31 * time.Second)
	got, err = second.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &qurl, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(got.Messages) != 2 || got.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("redelivery after restart: %+v, %v", got, err)
	}
	for _, m := range got.Messages {
		if _, err := second.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &qurl, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	// The signing key is kept, so the certificate URL is stable.
	if after := envelopeOf(t, second.svc, topic, qurl, second); after.SigningCertURL != certBefore.SigningCertURL {
		t.Fatalf("SigningCertURL changed across restart: %s vs %s", after.SigningCertURL, certBefore.SigningCertURL)
	} else {
		second.verifySignature(after)
	}
}

// envelopeOf publishes, receives and deletes one notification.
func envelopeOf(t *testing.T, svc *Service, topic, qurl string, e *env) envelopeJSON {
	t.Helper()
	if _, err := svc.Publish(ctxT(t), topic, "probe", "probe"); err != nil {
		t.Fatal(err)
	}
	out, err := e.sqs.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: &qurl, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Messages {
		var env envelopeJSON
		if json.Unmarshal([]byte(*m.Body), &env) == nil && env.Message == "probe" {
			if _, err := e.sqs.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: &qurl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
			// Put the others back.
			for _, o := range out.Messages {
				if *o.MessageId != *m.MessageId {
					if _, err := e.sqs.ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: &qurl,
						ReceiptHandle: o.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
						t.Fatal(err)
					}
				}
			}
			return env
		}
	}
	t.Fatalf("probe notification not delivered")
	return envelopeJSON{}
}

func TestAcknowledgedSendIsOnDisk(t *testing.T) {
	// A second Service reading the directory while the first still runs sees
	// exactly what a restart after a crash would see.
	dir := t.TempDir()
	e := newEnv(t, Options{Dir: dir})
	ctx := ctxT(t)
	topic := e.createTopic("t")
	qurl, _ := e.subscribedQueue("q", topic, true)
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &qurl, MessageBody: aws.String("sent")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Publish(ctx, topic, "", "published"); err != nil {
		t.Fatal(err)
	}
	crashed, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	crashed.mu.Lock()
	defer crashed.mu.Unlock()
	q := crashed.queues["q"]
	if q == nil || len(q.Messages) != 2 || q.Messages[0].Body != "sent" || q.Messages[1].Body != "published" {
		t.Fatalf("state on disk = %+v", q)
	}
}

func TestDamagedStateIsReported(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"not JSON", "{", "damaged"},
		{"future format", `{"format":99}`, "format 99"},
		{"queue without name", `{"format":1,"queues":[{}]}`, "without a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, stateFileName), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, dir, tc.want)
			}
		})
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Dir succeeded")
	}
}
