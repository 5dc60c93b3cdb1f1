package notify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// describeJob is a Glacier job notification body as Glacier sends it
// (glacier-wire-facts §5), with characters JSON encoders treat specially.
const describeJob = `{"Action":"ArchiveRetrieval","ArchiveId":"kKB7ymWJVpPSwhGP6ycSOAekp9ZYe_--zM_mw6k76ZFGEIWQX-ybtRDvc2VkPSDtfKmQrj0IRQLSGsNuDp-AJVlu2ccmDSyDUmZwKbwbpAdGATGDiB3hHO0bjbGehXTcApVud_wyDw","ArchiveSHA256TreeHash":"9628195fcdbcbbe76cdde932d4646fa7de5f219fb39823836d81f0cc0e18aa67","ArchiveSizeInBytes":1048576,"Completed":true,"CompletionDate":"2026-03-01T12:00:05.123Z","CreationDate":"2026-03-01T12:00:00.000Z","InventorySizeInBytes":null,"JobDescription":"photos <2024> & \"more\" / ü","JobId":"HkF9p6o7yjhFx-K3CGl6fuSm6VzW9T7esGQfco8nUXVYwS0jlb5gq1JZ55yHgt5vP54ZShjoQzQVVh7vEXAMPLEjobID","RetrievalByteRange":"0-1048575","SHA256TreeHash":"9628195fcdbcbbe76cdde932d4646fa7de5f219fb39823836d81f0cc0e18aa67","SNSTopic":"arn:aws:sns:us-east-1:123456789012:glacier-jobs","StatusCode":"Succeeded","StatusMessage":"Succeeded","Tier":"Standard","VaultARN":"arn:aws:glacier:us-east-1:123456789012:vaults/photos"}`

type envelopeJSON struct {
	Type              string
	MessageId         string
	TopicArn          string
	Subject           *string
	Message           string
	Timestamp         string
	SignatureVersion  string
	Signature         string
	SigningCertURL    string
	UnsubscribeURL    string
	MessageAttributes map[string]struct{ Type, Value string }
}

func (e *env) receiveOne(queueURL string) types.Message {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(ctxT(e.t), &sqs.ReceiveMessageInput{QueueUrl: &queueURL, WaitTimeSeconds: 1,
		MessageAttributeNames: []string{"All"}})
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		e.t.Fatalf("got %d messages, want 1", len(out.Messages))
	}
	m := out.Messages[0]
	if _, err := e.sqs.DeleteMessage(ctxT(e.t), &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		e.t.Fatalf("DeleteMessage: %v", err)
	}
	return m
}

func (e *env) queueIsEmpty(queueURL string) bool {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(ctxT(e.t), &sqs.ReceiveMessageInput{QueueUrl: &queueURL})
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	return len(out.Messages) == 0
}

// verifySignature checks an envelope against the certificate the handler
// serves, rebuilding the canonical string independently.
func (e *env) verifySignature(env envelopeJSON) {
	e.t.Helper()
	u, err := url.Parse(env.SigningCertURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + u.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(raw)
	if resp.StatusCode != 200 || block == nil {
		e.t.Fatalf("certificate fetch: %d %q", resp.StatusCode, raw)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	canon := "Message\n" + env.Message + "\nMessageId\n" + env.MessageId + "\n"
	if env.Subject != nil {
		canon += "Subject\n" + *env.Subject + "\n"
	}
	canon += "Timestamp\n" + env.Timestamp + "\nTopicArn\n" + env.TopicArn + "\nType\n" + env.Type + "\n"
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil {
		e.t.Fatal(err)
	}
	var hash crypto.Hash
	var sum []byte
	switch env.SignatureVersion {
	case "1":
		s := sha1.Sum([]byte(canon))
		hash, sum = crypto.SHA1, s[:]
	case "2":
		s := sha256.Sum256([]byte(canon))
		hash, sum = crypto.SHA256, s[:]
	default:
		e.t.Fatalf("SignatureVersion %q", env.SignatureVersion)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), hash, sum, sig); err != nil {
		e.t.Fatalf("signature does not verify: %v", err)
	}
}

func TestPublishDeliversEnvelope(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, Options{Now: clock.Now})
	ctx := ctxT(t)
	topic := e.createTopic("glacier-jobs")
	if topic != "arn:aws:sns:us-east-1:123456789012:glacier-jobs" {
		t.Fatalf("TopicArn = %s", topic)
	}
	if !e.svc.TopicExists(topic) || e.svc.TopicExists(topic+"x") {
		t.Fatal("TopicExists disagrees with CreateTopic")
	}
	qurl, subARN := e.createQueueAndSubscribe("jobs", topic)

	t.Run("from Go without a subject", func(t *testing.T) {
		id, err := e.svc.Publish(ctx, topic, "", describeJob)
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		m := e.receiveOne(qurl)
		body := *m.Body
		if !strings.HasPrefix(body, "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : ") {
			t.Errorf("envelope layout differs from SNS's:\n%s", body)
		}
		if strings.Contains(body, `"Subject"`) || strings.Contains(body, `"MessageAttributes"`) {
			t.Errorf("absent Subject/MessageAttributes must not appear:\n%s", body)
		}
		var env envelopeJSON
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("envelope is not JSON: %v\n%s", err, body)
		}
		if env.Message != describeJob {
			t.Fatalf("Message did not round-trip:\n got %s\nwant %s", env.Message, describeJob)
		}
		if env.Type != "Notification" || env.MessageId != id || env.TopicArn != topic || env.SignatureVersion != "1" {
			t.Errorf("envelope = %+v", env)
		}
		if env.Timestamp != "2026-03-01T12:00:00.000Z" {
			t.Errorf("Timestamp = %q", env.Timestamp)
		}
		if !strings.HasPrefix(env.SigningCertURL, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-") ||
			!strings.HasSuffix(env.SigningCertURL, ".pem") {
			t.Errorf("SigningCertURL = %q", env.SigningCertURL)
		}
		if env.UnsubscribeURL != "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="+subARN {
			t.Errorf("UnsubscribeURL = %q", env.UnsubscribeURL)
		}
		var job map[string]any
		if err := json.Unmarshal([]byte(env.Message), &job); err != nil || job["StatusCode"] != "Succeeded" {
			t.Errorf("Message is not the DescribeJob JSON: %v", err)
		}
		e.verifySignature(env)
	})

	t.Run("through the SDK with a subject and attributes", func(t *testing.T) {
		out, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(describeJob),
			Subject: aws.String("Glacier job done"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"vault": {DataType: aws.String("String"), StringValue: aws.String("photos")},
			}})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		m := e.receiveOne(qurl)
		var env envelopeJSON
		if err := json.Unmarshal([]byte(*m.Body), &env); err != nil {
			t.Fatal(err)
		}
		if env.Subject == nil || *env.Subject != "Glacier job done" || env.MessageId != *out.MessageId || env.Message != describeJob {
			t.Fatalf("envelope = %+v", env)
		}
		if a := env.MessageAttributes["vault"]; a.Type != "String" || a.Value != "photos" {
			t.Errorf("MessageAttributes = %+v", env.MessageAttributes)
		}
		if len(m.MessageAttributes) != 0 {
			t.Errorf("non-raw delivery must carry attributes in the envelope only, got %v", m.MessageAttributes)
		}
		e.verifySignature(env)
	})

	t.Run("SignatureVersion 2", func(t *testing.T) {
		if _, err := e.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &topic,
			AttributeName: aws.String("SignatureVersion"), AttributeValue: aws.String("2")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Publish(ctx, topic, "s", "m"); err != nil {
			t.Fatal(err)
		}
		var env envelopeJSON
		if err := json.Unmarshal([]byte(*e.receiveOne(qurl).Body), &env); err != nil {
			t.Fatal(err)
		}
		if env.SignatureVersion != "2" {
			t.Fatalf("SignatureVersion = %q", env.SignatureVersion)
		}
		e.verifySignature(env)
	})

	t.Run("MessageStructure json picks the sqs entry", func(t *testing.T) {
		msg := `{"default":"for everyone","sqs":"for queues"}`
		if _, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: &msg, MessageStructure: aws.String("json")}); err != nil {
			t.Fatal(err)
		}
		var env envelopeJSON
		if err := json.Unmarshal([]byte(*e.receiveOne(qurl).Body), &env); err != nil {
			t.Fatal(err)
		}
		if env.Message != "for queues" {
			t.Fatalf("Message = %q", env.Message)
		}
	})
}

func (e *env) createQueueAndSubscribe(name, topic string) (string, string) {
	return e.subscribedQueue(name, topic, false)
}

func TestRawDelivery(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	topic := e.createTopic("raw")
	qurl, sub := e.subscribedQueue("raw-q", topic, false)
	if _, err := e.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: &sub,
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatalf("SetSubscriptionAttributes: %v", err)
	}
	attrs, err := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &sub})
	if err != nil || attrs.Attributes["RawMessageDelivery"] != "true" || attrs.Attributes["TopicArn"] != topic ||
		attrs.Attributes["Protocol"] != "sqs" || attrs.Attributes["PendingConfirmation"] != "false" {
		t.Fatalf("GetSubscriptionAttributes = %v, %v", attrs, err)
	}
	if _, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(describeJob), Subject: aws.String("ignored"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"vault": {DataType: aws.String("String"), StringValue: aws.String("photos")},
		}}); err != nil {
		t.Fatal(err)
	}
	m := e.receiveOne(qurl)
	if *m.Body != describeJob {
		t.Fatalf("raw body = %s", *m.Body)
	}
	if a := m.MessageAttributes["vault"]; a.StringValue == nil || *a.StringValue != "photos" {
		t.Fatalf("raw delivery should carry message attributes as SQS attributes: %+v", m.MessageAttributes)
	}

	// Also settable at Subscribe time.
	topic2 := e.createTopic("raw2")
	qurl2, _ := e.subscribedQueue("raw-q2", topic2, true)
	if _, err := e.svc.Publish(ctx, topic2, "", "plain text"); err != nil {
		t.Fatal(err)
	}
	if m := e.receiveOne(qurl2); *m.Body != "plain text" {
		t.Fatalf("raw body = %q", *m.Body)
	}
}

func TestQueuePolicyIsEnforced(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ignore  bool
		policy  func(queueARN, topicARN string) string
		deliver bool
	}{
		{"no policy", false, func(q, t string) string { return "" }, false},
		{"no policy, IgnoreQueuePolicy", true, func(q, t string) string { return "" }, true},
		{"policy for the topic", false, snsPolicy, true},
		{"policy for another topic", false, func(q, t string) string { return snsPolicy(q, t+"-other") }, false},
		{"wildcards", false, func(q, t string) string {
			return `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*",` +
				`"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}}}`
		}, true},
		{"deny wins", false, func(q, t string) string {
			return `{"Statement":[` +
				`{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + q + `"},` +
				`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"` + q + `"}]}`
		}, false},
		{"another principal", false, func(q, t string) string {
			return `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sqs:SendMessage","Resource":"` + q + `"}]}`
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{IgnoreQueuePolicy: tc.ignore})
			ctx := ctxT(t)
			topic := e.createTopic("t")
			qarn := "arn:aws:sqs:us-east-1:123456789012:q"
			var attrs map[string]string
			if p := tc.policy(qarn, topic); p != "" {
				attrs = map[string]string{"Policy": p}
			}
			qurl := e.createQueue("q", attrs)
			if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: &qarn}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Publish(ctx, topic, "", "hello"); err != nil {
				t.Fatal(err)
			}
			if got := !e.queueIsEmpty(qurl); got != tc.deliver {
				t.Fatalf("delivered = %v, want %v", got, tc.deliver)
			}
		})
	}
}

func TestSNSManagement(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	topic := e.createTopic("a")
	if again := e.createTopic("a"); again != topic {
		t.Fatalf("CreateTopic is not idempotent: %s vs %s", again, topic)
	}
	other := e.createTopic("b")
	list, err := e.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(list.Topics) != 2 || *list.Topics[0].TopicArn != topic || list.NextToken != nil {
		t.Fatalf("ListTopics = %+v, %v", list, err)
	}
	attrs, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &topic})
	if err != nil || attrs.Attributes["TopicArn"] != topic || attrs.Attributes["Owner"] != "123456789012" {
		t.Fatalf("GetTopicAttributes = %v, %v", attrs, err)
	}

	_, sub := e.subscribedQueue("qa", topic, false)
	// Subscribing the same endpoint again returns the same subscription.
	again, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:qa"), ReturnSubscriptionArn: true})
	if err != nil || *again.SubscriptionArn != sub {
		t.Fatalf("re-Subscribe = %v, %v; want %s", again, err, sub)
	}
	_, otherSub := e.subscribedQueue("qb", other, false)
	byTopic, err := e.sns.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: &topic})
	if err != nil || len(byTopic.Subscriptions) != 1 || *byTopic.Subscriptions[0].SubscriptionArn != sub ||
		*byTopic.Subscriptions[0].Endpoint != "arn:aws:sqs:us-east-1:123456789012:qa" || *byTopic.Subscriptions[0].Protocol != "sqs" {
		t.Fatalf("ListSubscriptionsByTopic = %+v, %v", byTopic, err)
	}
	all, err := e.sns.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil || len(all.Subscriptions) != 2 {
		t.Fatalf("ListSubscriptions = %+v, %v", all, err)
	}
	if _, err := e.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &sub}); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	_, err = e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &sub})
	var nf *snstypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetSubscriptionAttributes after Unsubscribe: %v", err)
	}
	if _, err := e.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &other}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &other}); err != nil {
		t.Fatalf("DeleteTopic is idempotent in SNS: %v", err)
	}
	if _, err := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &otherSub}); !errors.As(err, &nf) {
		t.Fatalf("subscription survived its topic: %v", err)
	}
	if e.svc.TopicExists(other) {
		t.Fatal("deleted topic still exists")
	}
}

func TestSNSErrors(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	topic := e.createTopic("errs")
	missing := "arn:aws:sns:us-east-1:123456789012:missing"
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"publish to missing topic", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &missing, Message: aws.String("x")})
			var nf *snstypes.NotFoundException
			if err != nil && (!errors.As(err, &nf) || nf.ErrorMessage() != "Topic does not exist") {
				t.Errorf("want *NotFoundException with its message, got %T %v", err, err)
			}
			return err
		}, "NotFound"},
		{"message too large", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(strings.Repeat("x", 262145))})
			var ip *snstypes.InvalidParameterException
			if err != nil && !errors.As(err, &ip) {
				t.Errorf("want *InvalidParameterException, got %T", err)
			}
			return err
		}, "InvalidParameter"},
		{"empty message", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("")})
			return err
		}, "InvalidParameter"},
		{"subject with a line break", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("x"), Subject: aws.String("a\nb")})
			return err
		}, "InvalidParameter"},
		{"subject of 100 characters", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("x"), Subject: aws.String(strings.Repeat("s", 100))})
			return err
		}, "InvalidParameter"},
		{"malformed topic ARN", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("topic"), Message: aws.String("x")})
			return err
		}, "InvalidParameter"},
		{"structured message without default", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(`{"sqs":"x"}`), MessageStructure: aws.String("json")})
			return err
		}, "InvalidParameter"},
		{"bad attribute", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("x"),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("nan?")}}})
			return err
		}, "ParameterValueInvalid"},
		{"subscribe to missing topic", func() error {
			_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &missing, Protocol: aws.String("sqs"),
				Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:q")})
			return err
		}, "NotFound"},
		{"subscribe with a queue URL instead of ARN", func() error {
			_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"),
				Endpoint: aws.String(e.srv.URL + "/123456789012/q")})
			return err
		}, "InvalidParameter"},
		{"unsupported protocol", func() error {
			_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("email"), Endpoint: aws.String("a@b.c")})
			return err
		}, "InvalidParameter"},
		{"bad RawMessageDelivery", func() error {
			_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"),
				Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:q"), Attributes: map[string]string{"RawMessageDelivery": "yes"}})
			return err
		}, "InvalidParameter"},
		{"bad topic name", func() error {
			_, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("a b")})
			return err
		}, "InvalidParameter"},
		{"missing subscription", func() error {
			arn := topic + ":6e8d5a30-8a3b-4d5e-9c31-2c1f0e7b9a11"
			_, err := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &arn})
			return err
		}, "NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiCode(tc.call()); got != tc.code {
				t.Fatalf("error code = %q, want %q", got, tc.code)
			}
		})
	}

	t.Run("Go Publish to a missing topic", func(t *testing.T) {
		if _, err := e.svc.Publish(ctx, missing, "", "x"); !errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSNSWireShapes(t *testing.T) {
	e := newEnv(t, Options{})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	resp := e.rawPost(form, "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Anone&Message=x")
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 {
		t.Errorf("status = %d", resp.StatusCode)
	}
	want := `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>` +
		resp.Header.Get("x-amzn-RequestId") + `</RequestId></ErrorResponse>`
	if !strings.Contains(string(raw), want) {
		t.Errorf("error body = %s\nwant %s", raw, want)
	}

	resp = e.rawPost(form, "Action=CreateTopic&Version=2010-03-31&Name=wire")
	raw, _ = io.ReadAll(resp.Body)
	want = `<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:123456789012:wire</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>` +
		resp.Header.Get("x-amzn-RequestId") + `</RequestId></ResponseMetadata></CreateTopicResponse>`
	if resp.StatusCode != 200 || !strings.Contains(string(raw), want) {
		t.Errorf("CreateTopic = %d %s", resp.StatusCode, raw)
	}

	for _, tc := range []struct{ body, code string }{
		{"Action=Nope&Version=2010-03-31", "InvalidAction"},
		{"Version=2010-03-31", "MissingAction"},
		{"Action=SendMessage&Version=2012-11-05", "InvalidAction"},
		{"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Awire&Message=x&MessageAttributes.entry.x.Name=a", "InvalidParameter"},
	} {
		resp := e.rawPost(form, tc.body)
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(raw), "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, raw)
		}
	}
}

func TestPublishWaitsForLongPoll(t *testing.T) {
	// A Glacier job completing while freezer long-polls its queue.
	e := newEnv(t, Options{})
	ctx := ctxT(t)
	topic := e.createTopic("jobs")
	qurl, _ := e.subscribedQueue("jobs", topic, false)
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		if _, err := e.svc.Publish(ctx, topic, "", describeJob); err != nil {
			t.Errorf("Publish: %v", err)
		}
	}()
	start := time.Now()
	out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &qurl, WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %+v, %v", out, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("long poll took %v", took)
	}
}
