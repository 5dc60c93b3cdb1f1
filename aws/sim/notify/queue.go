package notify

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Queue attribute defaults and limits (SQS-model, glacier-wire-facts §7).
const (
	defaultVisibilityTimeout = 30
	maxVisibilityTimeout     = 43200
	maxWaitTimeSeconds       = 20
	maxDelaySeconds          = 900
	defaultRetention         = 345600
	defaultMaxMessageSize    = 1048576
	maxMessageAttributes     = 10
)

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func defaultQueueAttributes() map[string]string {
	return map[string]string{
		"DelaySeconds":                  "0",
		"MaximumMessageSize":            strconv.Itoa(defaultMaxMessageSize),
		"MessageRetentionPeriod":        strconv.Itoa(defaultRetention),
		"ReceiveMessageWaitTimeSeconds": "0",
		"VisibilityTimeout":             strconv.Itoa(defaultVisibilityTimeout),
		// New queues get SSE-SQS by default since 2022; nothing is encrypted
		// here, the attribute only mirrors what a client reads back.
		"SqsManagedSseEnabled": "true",
	}
}

// readOnlyQueueAttributes are computed by GetQueueAttributes.
var readOnlyQueueAttributes = []string{
	"ApproximateNumberOfMessages",
	"ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed",
	"CreatedTimestamp",
	"LastModifiedTimestamp",
	"QueueArn",
}

// unsupportedQueueAttributes are real SQS attributes whose behaviour the
// simulator does not have (dead-letter queues, FIFO). Setting them fails
// rather than being stored and silently ignored.
var unsupportedQueueAttributes = []string{
	"RedrivePolicy", "RedriveAllowPolicy", "ContentBasedDeduplication",
	"DeduplicationScope", "FifoThroughputLimit",
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validateQueueAttribute checks one settable attribute and returns its stored
// form.
func validateQueueAttribute(name, value string) (string, *sqsError) {
	intIn := func(lo, hi int64) (string, *sqsError) {
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n < lo || n > hi {
			return "", errInvalidAttributeValue("Invalid value for the parameter %s.", name)
		}
		return strconv.FormatInt(n, 10), nil
	}
	switch name {
	case "DelaySeconds":
		return intIn(0, maxDelaySeconds)
	case "MaximumMessageSize":
		return intIn(1024, 1048576)
	case "MessageRetentionPeriod":
		return intIn(60, 1209600)
	case "ReceiveMessageWaitTimeSeconds":
		return intIn(0, maxWaitTimeSeconds)
	case "VisibilityTimeout":
		return intIn(0, maxVisibilityTimeout)
	case "KmsDataKeyReusePeriodSeconds":
		return intIn(60, 86400)
	case "KmsMasterKeyId":
		return value, nil
	case "SqsManagedSseEnabled":
		switch strings.ToLower(value) {
		case "true", "false":
			return strings.ToLower(value), nil
		}
		return "", errInvalidAttributeValue("Invalid value for the parameter %s.", name)
	case "Policy":
		if value == "" {
			return "", nil
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(value), &doc); err != nil {
			return "", errInvalidAttributeValue("Invalid value for the parameter Policy. Reason: the policy is not a JSON object.")
		}
		return value, nil
	case "FifoQueue":
		if strings.EqualFold(value, "false") {
			return "false", nil
		}
		return "", errInvalidAttributeValue("FIFO queues are not supported by the freezer simulator.")
	}
	if contains(unsupportedQueueAttributes, name) {
		return "", errInvalidAttributeName("Attribute %s is not supported by the freezer simulator.", name)
	}
	return "", errInvalidAttributeName("Unknown Attribute %s.", name)
}

func (q *queue) intAttr(name string, def int64) int64 {
	n, err := strconv.ParseInt(q.Attributes[name], 10, 64)
	if err != nil {
		return def
	}
	return n
}

func (s *Service) queueARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

func (s *Service) queueURL(base, name string) string {
	return base + "/" + s.account + "/" + name
}

// queueNameFromURL accepts any scheme and host (the endpoint a client uses
// may differ from the one in the URL), then requires /<account>/<name>.
func (s *Service) queueNameFromURL(raw *string) (string, *sqsError) {
	if raw == nil || *raw == "" {
		return "", errMissingParameter("QueueUrl")
	}
	u, err := url.Parse(*raw)
	if err != nil {
		return "", sqsErr(404, "InvalidAddress", "InvalidAddress", "The address %s is not valid for this endpoint.", *raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", sqsErr(404, "InvalidAddress", "InvalidAddress", "The address %s is not valid for this endpoint.", *raw)
	}
	if parts[0] != s.account {
		return "", errQueueDoesNotExist()
	}
	return parts[1], nil
}

// lookupQueueLocked resolves a QueueUrl. The caller holds s.mu.
func (s *Service) lookupQueueLocked(raw *string) (*queue, *sqsError) {
	name, e := s.queueNameFromURL(raw)
	if e != nil {
		return nil, e
	}
	q, ok := s.queues[name]
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

// pruneLocked drops messages older than the retention period.
func (q *queue) pruneLocked(now time.Time) bool {
	keep := time.Duration(q.intAttr("MessageRetentionPeriod", defaultRetention)) * time.Second
	n := 0
	for _, m := range q.Messages {
		if now.Sub(m.Sent) < keep {
			q.Messages[n] = m
			n++
		}
	}
	changed := n != len(q.Messages)
	clear(q.Messages[n:])
	q.Messages = q.Messages[:n]
	return changed
}

// counts returns visible, in-flight and delayed message counts.
func (q *queue) counts(now time.Time) (visible, inflight, delayed int) {
	for _, m := range q.Messages {
		switch {
		case !m.VisibleAt.After(now):
			visible++
		case m.ReceiveCount > 0:
			inflight++
		default:
			delayed++
		}
	}
	return
}

// nextVisible is the earliest time after now at which a hidden message
// becomes receivable, or zero if none will.
func (q *queue) nextVisible(now time.Time) time.Time {
	var next time.Time
	for _, m := range q.Messages {
		if m.VisibleAt.After(now) && (next.IsZero() || m.VisibleAt.Before(next)) {
			next = m.VisibleAt
		}
	}
	return next
}

// enqueueLocked appends a message. The caller validated it and holds s.mu.
func (s *Service) enqueueLocked(q *queue, body string, attrs map[string]msgAttr, sender string, delay time.Duration) *message {
	now := s.now()
	m := &message{
		ID:         uuid.NewString(),
		Body:       body,
		Attributes: attrs,
		SenderID:   sender,
		Sent:       now,
		VisibleAt:  now.Add(delay),
	}
	q.Messages = append(q.Messages, m)
	// Even a delayed message wakes long polls: they recompute how long to
	// sleep, and this one may become visible before what they wait for.
	q.signal()
	s.markChangedLocked()
	return m
}

func findMessage(q *queue, id string) (int, *message) {
	for i, m := range q.Messages {
		if m.ID == id {
			return i, m
		}
	}
	return -1, nil
}

// Receipt handles are base64 of "<message id>/<random nonce>": each receive
// gets a fresh nonce, so earlier handles of the same message become stale.
func newReceiptHandle(msgID string) string {
	return base64.StdEncoding.EncodeToString([]byte(msgID + "/" + hex.EncodeToString(randomToken(24))))
}

// parseReceiptHandle returns the message id, or ok=false for something that
// cannot be a receipt handle at all.
func parseReceiptHandle(h string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return "", false
	}
	id, nonce, ok := strings.Cut(string(raw), "/")
	if !ok || len(nonce) != 48 {
		return "", false
	}
	if _, err := hex.DecodeString(nonce); err != nil {
		return "", false
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", false
	}
	return id, true
}

// validBodyRune is the SQS message character set: #x9 | #xA | #xD |
// #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBodyRune(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

func validateBody(body string) *sqsError {
	for i, r := range body {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(body[i:]); size == 1 {
				return sqsErr(400, "InvalidMessageContents", "InvalidMessageContents", "The message body is not valid UTF-8.")
			}
		}
		if !validBodyRune(r) {
			return sqsErr(400, "InvalidMessageContents", "InvalidMessageContents",
				"Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// messageAttributesMD5 is the documented SQS digest of message attributes:
// for each name in sorted order, length-prefixed (4-byte big endian) name and
// data type, one transport byte (1 string, 2 binary), length-prefixed value.
func messageAttributesMD5(attrs map[string]msgAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		l := uint32(len(b))
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		put([]byte(name))
		put([]byte(a.DataType))
		if a.StringValue != nil {
			h.Write([]byte{1})
			put([]byte(*a.StringValue))
		} else {
			h.Write([]byte{2})
			put(a.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func attributesSize(attrs map[string]msgAttr) int {
	n := 0
	for name, a := range attrs {
		n += len(name) + len(a.DataType) + len(a.BinaryValue)
		if a.StringValue != nil {
			n += len(*a.StringValue)
		}
	}
	return n
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// validateAttrName applies the rules SQS and SNS share for message attribute
// names; problem is "" when the name is fine.
func validateAttrName(name string) (problem string) {
	lower := strings.ToLower(name)
	switch {
	case !attrNameRE.MatchString(name):
		return "can only contain alphanumeric characters, '_', '-' and '.', 1 to 256 characters"
	case strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon."):
		return "must not start with 'AWS.' or 'Amazon.'"
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return "must not start or end with '.' or contain '..'"
	}
	return ""
}

// validateAttrValue checks data type and value; problem is "" when fine.
func validateAttrValue(a msgAttr) (problem string) {
	base, custom, _ := strings.Cut(a.DataType, ".")
	if len(a.DataType) > 256 || (strings.Contains(a.DataType, ".") && custom == "") {
		return "has an invalid data type"
	}
	switch base {
	case "String":
		if a.StringValue == nil || *a.StringValue == "" {
			return "must contain a non-empty StringValue for type String"
		}
		if e := validateBody(*a.StringValue); e != nil {
			return "contains characters SQS does not allow"
		}
	case "Number":
		if a.StringValue == nil {
			return "must contain a StringValue for type Number"
		}
		if _, err := strconv.ParseFloat(*a.StringValue, 64); err != nil {
			return "has a Number value that is not a number"
		}
	case "Binary":
		if len(a.BinaryValue) == 0 {
			return "must contain a non-empty BinaryValue for type Binary"
		}
	default:
		return "has an invalid data type " + strconv.Quote(a.DataType)
	}
	return ""
}

// wantAttribute matches a name against ReceiveMessage's
// MessageAttributeNames ("All", ".*", "prefix.*" or exact).
func wantAttribute(patterns []string, name string) bool {
	for _, p := range patterns {
		switch {
		case p == "All" || p == ".*":
			return true
		case strings.HasSuffix(p, ".*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*")):
			return true
		case p == name:
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
