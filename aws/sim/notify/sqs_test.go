package notify

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestQueueLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	url := e.createQueue("jobs", map[string]string{"VisibilityTimeout": "60", "ReceiveMessageWaitTimeSeconds": "5"})
	if want := e.srv.URL + "/123456789012/jobs"; url != want {
		t.Fatalf("QueueUrl = %q, want %q", url, want)
	}

	// Same name, same attributes: the same queue. A different value: error.
	if again := e.createQueue("jobs", map[string]string{"VisibilityTimeout": "60"}); again != url {
		t.Fatalf("second CreateQueue = %q, want %q", again, url)
	}
	_, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"),
		Attributes: map[string]string{"VisibilityTimeout": "61"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || apiCode(err) != "QueueAlreadyExists" {
		t.Fatalf("CreateQueue with other attributes: err = %v, want QueueNameExists/QueueAlreadyExists", err)
	}

	got, err := e.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil || *got.QueueUrl != url {
		t.Fatalf("GetQueueUrl = %v, %v", got, err)
	}

	attrs, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	for k, want := range map[string]string{
		"QueueArn":                              "arn:aws:sqs:us-east-1:123456789012:jobs",
		"VisibilityTimeout":                     "60",
		"ReceiveMessageWaitTimeSeconds":         "5",
		"MessageRetentionPeriod":                "345600",
		"ApproximateNumberOfMessages":           "0",
		"ApproximateNumberOfMessagesNotVisible": "0",
	} {
		if attrs.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], want)
		}
	}
	if _, ok := attrs.Attributes["Policy"]; ok {
		t.Errorf("Policy present on a queue that has none")
	}

	policy := snsPolicy("arn:aws:sqs:us-east-1:123456789012:jobs", "arn:aws:sns:us-east-1:123456789012:t")
	if _, err := e.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url,
		Attributes: map[string]string{"Policy": policy, "VisibilityTimeout": "10"}}); err != nil {
		t.Fatalf("SetQueueAttributes: %v", err)
	}
	attrs, err = e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{"Policy", "VisibilityTimeout"}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if attrs.Attributes["Policy"] != policy || attrs.Attributes["VisibilityTimeout"] != "10" || len(attrs.Attributes) != 2 {
		t.Fatalf("after set: %v", attrs.Attributes)
	}

	e.createQueue("jobs-2", nil)
	e.createQueue("other", nil)
	list, err := e.sqs.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("jobs")})
	if err != nil || len(list.QueueUrls) != 2 || list.QueueUrls[0] != url {
		t.Fatalf("ListQueues = %v, %v", list, err)
	}
	page, err := e.sqs.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)})
	if err != nil || len(page.QueueUrls) != 2 || page.NextToken == nil {
		t.Fatalf("ListQueues page 1 = %+v, %v", page, err)
	}
	page, err = e.sqs.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(2), NextToken: page.NextToken})
	if err != nil || len(page.QueueUrls) != 1 || !strings.HasSuffix(page.QueueUrls[0], "/other") || page.NextToken != nil {
		t.Fatalf("ListQueues page 2 = %+v, %v", page, err)
	}

	if _, err := e.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	_, err = e.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) || apiCode(err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("GetQueueUrl after delete: %v", err)
	}
}

func TestSendReceiveChecksums(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	url := e.createQueue("q", nil)
	// Characters that JSON encoders like to escape, and non-ASCII.
	body := "<job id=\"1\"> & 'ü' \u2028 \t\n{\"x\":\"\\u0041\"} 🧊"
	sent, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body,
		MessageAttributes: map[string]types.MessageAttributeValue{
			"SellerName": {DataType: aws.String("String"), StringValue: aws.String("Example Store")},
		}})
	if err != nil {
		t.Fatalf("SendMessage: %v", err) // the SDK checks MD5OfMessageBody
	}
	if *sent.MD5OfMessageAttributes != "cd28f3b68aeee4b2eac9c66f2f694b58" {
		t.Errorf("MD5OfMessageAttributes = %s", *sent.MD5OfMessageAttributes)
	}
	got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err) // the SDK checks MD5OfBody
	}
	if len(got.Messages) != 1 {
		t.Fatalf("got %d messages", len(got.Messages))
	}
	m := got.Messages[0]
	if *m.Body != body || *m.MessageId != *sent.MessageId || *m.MD5OfBody != md5Hex(body) {
		t.Fatalf("message = %+v", m)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" ||
		m.Attributes["ApproximateFirstReceiveTimestamp"] == "" || m.Attributes["SenderId"] == "" {
		t.Errorf("system attributes = %v", m.Attributes)
	}
	if v := m.MessageAttributes["SellerName"]; v.StringValue == nil || *v.StringValue != "Example Store" ||
		*m.MD5OfMessageAttributes != "cd28f3b68aeee4b2eac9c66f2f694b58" {
		t.Errorf("message attributes = %+v md5 %v", m.MessageAttributes, m.MD5OfMessageAttributes)
	}
}

func TestMessageAttributesMD5Vectors(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		attrs map[string]msgAttr
		want  string
	}{
		{"one string", map[string]msgAttr{"SellerName": {DataType: "String", StringValue: str("Example Store")}},
			"cd28f3b68aeee4b2eac9c66f2f694b58"},
		{"one number", map[string]msgAttr{"timestamp": {DataType: "Number", StringValue: str("1493147359900")}},
			"235c5c510d26fb653d073faed50ae77c"},
		{"sorted by name", map[string]msgAttr{
			"ordinal":  {DataType: "Number", StringValue: str("1")},
			"category": {DataType: "String", StringValue: str("test")},
		}, "d21ae90c49061e927f57df5f5d72be1f"},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := messageAttributesMD5(tc.attrs); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLongPoll(t *testing.T) {
	e := newEnv(t, Options{})
	url := e.createQueue("poll", nil)

	t.Run("returns early when a message arrives", func(t *testing.T) {
		ctx := ctxT(t)
		sent := make(chan struct{})
		defer func() { <-sent }()
		go func() {
			defer close(sent)
			time.Sleep(300 * time.Millisecond)
			if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("late")}); err != nil {
				t.Errorf("SendMessage: %v", err)
			}
		}()
		start := time.Now()
		got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 2})
		took := time.Since(start)
		if err != nil || len(got.Messages) != 1 || *got.Messages[0].Body != "late" {
			t.Fatalf("ReceiveMessage = %+v, %v", got, err)
		}
		if took < 250*time.Millisecond || took > 1500*time.Millisecond {
			t.Fatalf("long poll took %v; want about 300ms", took)
		}
		if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("waits the full time when nothing arrives", func(t *testing.T) {
		start := time.Now()
		got, err := e.sqs.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 1})
		took := time.Since(start)
		if err != nil || len(got.Messages) != 0 {
			t.Fatalf("ReceiveMessage = %+v, %v", got, err)
		}
		if took < time.Second || took > 1800*time.Millisecond {
			t.Fatalf("empty long poll took %v; want 1s", took)
		}
	})

	t.Run("queue default wait time applies", func(t *testing.T) {
		u := e.createQueue("poll-default", map[string]string{"ReceiveMessageWaitTimeSeconds": "1"})
		start := time.Now()
		if _, err := e.sqs.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: &u}); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < time.Second {
			t.Fatalf("poll took %v; want the queue's 1s", took)
		}
	})

	t.Run("returns when an in-flight message times out", func(t *testing.T) {
		ctx := ctxT(t)
		u := e.createQueue("poll-timeout", nil)
		if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("retry me")}); err != nil {
			t.Fatal(err)
		}
		if got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, VisibilityTimeout: 1}); err != nil || len(got.Messages) != 1 {
			t.Fatalf("first receive = %+v, %v", got, err)
		}
		start := time.Now()
		got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, WaitTimeSeconds: 3})
		took := time.Since(start)
		if err != nil || len(got.Messages) != 1 {
			t.Fatalf("redelivery = %+v, %v", got, err)
		}
		if took < 800*time.Millisecond || took > 2500*time.Millisecond {
			t.Fatalf("redelivery took %v; want about 1s", took)
		}
	})

	t.Run("deleting the queue ends the poll", func(t *testing.T) {
		u := e.createQueue("poll-deleted", nil)
		ctx := ctxT(t)
		deleted := make(chan struct{})
		defer func() { <-deleted }()
		go func() {
			defer close(deleted)
			time.Sleep(200 * time.Millisecond)
			if _, err := e.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &u}); err != nil {
				t.Errorf("DeleteQueue: %v", err)
			}
		}()
		start := time.Now()
		_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, WaitTimeSeconds: 5})
		var missing *types.QueueDoesNotExist
		if !errors.As(err, &missing) || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %v; want QueueDoesNotExist soon", err, time.Since(start))
		}
	})
}

func TestCloseEndsLongPoll(t *testing.T) {
	e := newEnv(t, Options{})
	url := e.createQueue("q", nil)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := e.sqs.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("poll after Close: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("poll outlived Close by %v", took)
	}
	if _, err := e.svc.Publish(ctxT(t), "arn:aws:sns:us-east-1:123456789012:x", "", "m"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}

func TestVisibilityAndDelete(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now})
	ctx := ctxT(t)
	url := e.createQueue("vis", map[string]string{"VisibilityTimeout": "30"})
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("job done")}); err != nil {
		t.Fatal(err)
	}
	receive := func() *types.Message {
		t.Helper()
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		return &out.Messages[0]
	}
	counts := func() (visible, inflight string) {
		t.Helper()
		out, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
			AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
	}

	first := receive()
	if first == nil || first.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive = %+v", first)
	}
	if m := receive(); m != nil {
		t.Fatalf("message visible during its visibility timeout: %+v", m)
	}
	if v, nv := counts(); v != "0" || nv != "1" {
		t.Fatalf("counts in flight = %s/%s", v, nv)
	}
	clock.Advance(29 * time.Second)
	if m := receive(); m != nil {
		t.Fatalf("message visible 1s early")
	}
	clock.Advance(2 * time.Second)
	second := receive()
	if second == nil || second.Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("redelivery = %+v", second)
	}
	if *second.ReceiptHandle == *first.ReceiptHandle || *second.MessageId != *first.MessageId {
		t.Fatalf("redelivery should keep the id and change the handle")
	}

	// The stale handle succeeds without deleting.
	if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with stale handle: %v", err)
	}
	if v, nv := counts(); v != "0" || nv != "1" {
		t.Fatalf("stale delete removed the message: counts %s/%s", v, nv)
	}
	// A stale handle cannot change visibility.
	_, err := e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
		ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0})
	if apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("ChangeMessageVisibility with stale handle: %v", err)
	}
	// The current one can: 0 makes it visible at once.
	if _, err := e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url,
		ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	third := receive()
	if third == nil || third.Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("after visibility 0: %+v", third)
	}
	if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: third.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	clock.Advance(time.Hour)
	if v, nv := counts(); v != "0" || nv != "0" {
		t.Fatalf("after delete: counts %s/%s", v, nv)
	}
	if m := receive(); m != nil {
		t.Fatalf("deleted message came back: %+v", m)
	}

	// A handle that is not one at all is an error, not a silent success.
	_, err = e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("garbage")})
	var bad *types.ReceiptHandleIsInvalid
	if !errors.As(err, &bad) {
		t.Fatalf("DeleteMessage with garbage handle: %v", err)
	}
}

func TestDelayAndRetention(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now})
	ctx := ctxT(t)
	url := e.createQueue("r", map[string]string{"MessageRetentionPeriod": "60"})
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("later"), DelaySeconds: 10}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("delayed message received early: %+v %v", out, err)
	}
	clock.Advance(11 * time.Second)
	out, err = e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("delayed message not received: %+v %v", out, err)
	}
	clock.Advance(60 * time.Second)
	out, err = e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("message outlived MessageRetentionPeriod: %+v %v", out, err)
	}
}

func TestBatchAndPurge(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	url := e.createQueue("b", nil)
	sent, err := e.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("two")},
		{Id: aws.String("c"), MessageBody: aws.String("bad \x00 char")},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(sent.Successful) != 2 || len(sent.Failed) != 1 || *sent.Failed[0].Id != "c" || *sent.Failed[0].Code != "InvalidMessageContents" {
		t.Fatalf("batch result = %+v", sent)
	}
	got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("ReceiveMessage = %+v, %v", got, err)
	}
	del, err := e.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: got.Messages[0].ReceiptHandle},
		{Id: aws.String("y"), ReceiptHandle: aws.String("not-a-handle")},
	}})
	if err != nil || len(del.Successful) != 1 || len(del.Failed) != 1 {
		t.Fatalf("DeleteMessageBatch = %+v, %v", del, err)
	}
	if _, err := e.sqs.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	attrs, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after purge: %v %v", attrs, err)
	}
}

func TestSQSErrors(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	url := e.createQueue("errs", map[string]string{"MaximumMessageSize": "1024"})
	missing := e.srv.URL + "/123456789012/nope"
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"send to missing queue", func() error {
			_, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &missing, MessageBody: aws.String("x")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"queue of another account", func() error {
			u := e.srv.URL + "/999999999999/errs"
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &u})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"MaxNumberOfMessages 11", func() error {
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"MaxNumberOfMessages -1", func() error {
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: -1})
			return err
		}, "InvalidParameterValue"},
		{"WaitTimeSeconds 21", func() error {
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue"},
		{"VisibilityTimeout 43201", func() error {
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 43201})
			return err
		}, "InvalidParameterValue"},
		{"message larger than MaximumMessageSize", func() error {
			_, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(strings.Repeat("x", 1025))})
			return err
		}, "InvalidParameterValue"},
		{"invalid character", func() error {
			_, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("a\x01b")})
			return err
		}, "InvalidMessageContents"},
		{"bad attribute value", func() error {
			_, err := e.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url,
				Attributes: map[string]string{"VisibilityTimeout": "forever"}})
			return err
		}, "InvalidAttributeValue"},
		{"unknown attribute", func() error {
			_, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
				AttributeNames: []types.QueueAttributeName{"Colour"}})
			return err
		}, "InvalidAttributeName"},
		{"dead-letter queues are not simulated", func() error {
			_, err := e.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url,
				Attributes: map[string]string{"RedrivePolicy": "{}"}})
			return err
		}, "InvalidAttributeName"},
		{"bad queue name", func() error {
			_, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("has space")})
			return err
		}, "InvalidParameterValue"},
		{"malformed queue url", func() error {
			u := e.srv.URL + "/just-a-name"
			_, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u})
			return err
		}, "InvalidAddress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := apiCode(err); got != tc.code {
				t.Fatalf("error code = %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func TestSQSWireShapes(t *testing.T) {
	e := newEnv(t, Options{})
	e.createQueue("wire", nil)
	for _, tc := range []struct {
		name, op, body string
		status         int
		typ, query     string
	}{
		{"missing queue", "GetQueueUrl", `{"QueueName":"nope"}`, 400,
			"com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"MaxNumberOfMessages 0", "ReceiveMessage", `{"QueueUrl":"http://h/123456789012/wire","MaxNumberOfMessages":0}`, 400,
			"com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue;Sender"},
		{"wrong JSON type", "ReceiveMessage", `{"QueueUrl":"http://h/123456789012/wire","MaxNumberOfMessages":"3"}`, 400,
			"com.amazon.coral.service#SerializationException", ""},
		{"not JSON", "SendMessage", `{"QueueUrl":`, 400,
			"com.amazon.coral.service#SerializationException", ""},
		{"unknown operation", "Frobnicate", `{}`, 400,
			"com.amazon.coral.service#UnknownOperationException", "InvalidAction;Sender"},
		{"missing body member", "SendMessage", `{"QueueUrl":"http://h/123456789012/wire"}`, 400,
			"com.amazonaws.sqs#MissingRequiredParameterException", "MissingParameter;Sender"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.rawPost(sqsHeaders(tc.op), tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != sqsContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			if q := resp.Header.Get("x-amzn-query-error"); q != tc.query {
				t.Errorf("x-amzn-query-error = %q, want %q", q, tc.query)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("no x-amzn-RequestId")
			}
			var body map[string]string
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("error body %q: %v", raw, err)
			}
			if body["__type"] != tc.typ || body["message"] == "" {
				t.Errorf("body = %s", raw)
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		resp := e.rawPost(sqsHeaders("GetQueueUrl"), `{"QueueName":"wire"}`)
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != sqsContentType {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var out map[string]string
		if err := json.Unmarshal(raw, &out); err != nil || !strings.HasSuffix(out["QueueUrl"], "/123456789012/wire") {
			t.Fatalf("body %s: %v", raw, err)
		}
	})

	t.Run("empty receive has no Messages member", func(t *testing.T) {
		resp := e.rawPost(sqsHeaders("ReceiveMessage"), `{"QueueUrl":"http://h/123456789012/wire"}`)
		raw, _ := io.ReadAll(resp.Body)
		if strings.TrimSpace(string(raw)) != "{}" {
			t.Fatalf("body = %s", raw)
		}
	})
}

func TestReceiveCountStrings(t *testing.T) {
	// ApproximateFirstReceiveTimestamp and SentTimestamp are epoch
	// milliseconds, the form clients parse.
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now})
	ctx := ctxT(t)
	url := e.createQueue("ts", nil)
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1500 * time.Millisecond)
	out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatal(out, err)
	}
	a := out.Messages[0].Attributes
	sentMS := strconv.FormatInt(newFakeClock().Now().UnixMilli(), 10)
	firstMS := strconv.FormatInt(clock.Now().UnixMilli(), 10)
	if a["SentTimestamp"] != sentMS || a["ApproximateFirstReceiveTimestamp"] != firstMS {
		t.Fatalf("attributes = %v, want sent %s first %s", a, sentMS, firstMS)
	}
}
