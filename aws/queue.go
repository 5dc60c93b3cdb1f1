package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue is a client for the SQS queue on which job notifications arrive.
type Queue struct {
	c    *sqs.Client
	call time.Duration
}

// NewQueue builds an SQS client from a configuration made by LoadConfig.
func NewQueue(cfg awssdk.Config, s Settings) *Queue {
	s = s.withDefaults()
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.HTTPClient = s.httpClient(cfg)
		if s.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(s.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, addDeadline(s))
	})
	return &Queue{c: c, call: s.CallTimeout}
}

// Receive long-polls the queue for up to wait (at most 20 s, SQS's limit)
// and returns at most maxMessages messages (1-10), hidden from other receivers for
// visibility (0 = the queue's default). No message is not an error.
func (q *Queue) Receive(ctx context.Context, queueURL string, maxMessages int, wait, visibility time.Duration) ([]Message, error) {
	maxMessages = min(max(maxMessages, 1), 10)
	waitS := min(max(int32(wait/time.Second), 0), 20)
	in := &sqs.ReceiveMessageInput{
		QueueUrl: &queueURL, MaxNumberOfMessages: int32(maxMessages), WaitTimeSeconds: waitS,
		VisibilityTimeout: int32(visibility / time.Second),
	}
	// The answer may rightly take the whole wait.
	ctx = withAttemptTimeout(ctx, time.Duration(waitS)*time.Second+q.call)
	out, err := q.c.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("queue %s: receive: %w", queueURL, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, Message{ID: str(m.MessageId), ReceiptHandle: str(m.ReceiptHandle), Body: str(m.Body)})
	}
	return msgs, nil
}

// Delete removes a received message from the queue.
func (q *Queue) Delete(ctx context.Context, queueURL, receiptHandle string) error {
	_, err := q.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: &receiptHandle})
	if err != nil {
		return fmt.Errorf("queue %s: delete message: %w", queueURL, err)
	}
	return nil
}

// CreateQueue creates a queue (or finds the existing one of that name) and
// returns its URL.
func (q *Queue) CreateQueue(ctx context.Context, name string) (string, error) {
	out, err := q.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name})
	if err != nil {
		return "", fmt.Errorf("queue %s: create: %w", name, err)
	}
	return str(out.QueueUrl), nil
}

// QueueURL looks up the URL of a queue by name.
func (q *Queue) QueueURL(ctx context.Context, name string) (string, error) {
	out, err := q.c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		return "", fmt.Errorf("queue %s: get URL: %w", name, err)
	}
	return str(out.QueueUrl), nil
}

// QueueARN returns the queue's ARN, which SNS subscriptions name.
func (q *Queue) QueueARN(ctx context.Context, queueURL string) (string, error) {
	out, err := q.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &queueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue %s: get ARN: %w", queueURL, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("queue %s: get ARN: no QueueArn attribute in the answer", queueURL)
	}
	return arn, nil
}

// SetQueuePolicy lets the SNS topic topicARN send messages to the queue, as
// SNS requires before it delivers to an SQS subscriber. It replaces the
// queue's policy.
func (q *Queue) SetQueuePolicy(ctx context.Context, queueURL, queueARN, topicARN string) error {
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "freezer-sns",
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "sns.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": topicARN}},
		}},
	})
	if err != nil {
		return err
	}
	_, err = q.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl: &queueURL, Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): string(policy)},
	})
	if err != nil {
		return fmt.Errorf("queue %s: allow topic %s: %w", queueURL, topicARN, err)
	}
	return nil
}

// Topic is a client for the SNS topic Glacier publishes job notifications to.
type Topic struct {
	c *sns.Client
}

// NewTopic builds an SNS client from a configuration made by LoadConfig.
func NewTopic(cfg awssdk.Config, s Settings) *Topic {
	s = s.withDefaults()
	c := sns.NewFromConfig(cfg, func(o *sns.Options) {
		o.HTTPClient = s.httpClient(cfg)
		if s.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(s.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, addDeadline(s))
	})
	return &Topic{c: c}
}

// CreateTopic creates a topic (or finds the existing one) and returns its ARN.
func (t *Topic) CreateTopic(ctx context.Context, name string) (string, error) {
	out, err := t.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: &name})
	if err != nil {
		return "", fmt.Errorf("topic %s: create: %w", name, err)
	}
	if str(out.TopicArn) == "" {
		return "", fmt.Errorf("topic %s: create: no topic ARN in the answer", name)
	}
	return *out.TopicArn, nil
}

// Subscribe delivers the topic's messages to an SQS queue; raw delivers the
// bare message instead of the SNS JSON envelope. It returns the
// subscription ARN.
func (t *Topic) Subscribe(ctx context.Context, topicARN, queueARN string, raw bool) (string, error) {
	in := &sns.SubscribeInput{
		TopicArn: &topicARN, Protocol: awssdk.String("sqs"), Endpoint: &queueARN, ReturnSubscriptionArn: true,
	}
	if raw {
		in.Attributes = map[string]string{"RawMessageDelivery": "true"}
	}
	out, err := t.c.Subscribe(ctx, in)
	if err != nil {
		return "", fmt.Errorf("topic %s: subscribe %s: %w", topicARN, queueARN, err)
	}
	return str(out.SubscriptionArn), nil
}

// Publish sends a message (subject optional) and returns its message ID.
func (t *Topic) Publish(ctx context.Context, topicARN, subject, message string) (string, error) {
	if message == "" {
		return "", errors.New("publish: empty message")
	}
	out, err := t.c.Publish(ctx, &sns.PublishInput{TopicArn: &topicARN, Subject: ptr(subject), Message: &message})
	if err != nil {
		return "", fmt.Errorf("topic %s: publish: %w", topicARN, err)
	}
	return str(out.MessageId), nil
}
