package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// snsSenderID is the SenderId attribute of messages SNS puts in a queue.
// [UNCERTAIN] the value real SNS uses varies; this is one seen in the wild.
const snsSenderID = "AIDAIT2UOQQY3AUEKVGXU"

// maxSubjectRunes: the SNS model says a subject is "less than 100 characters
// long". [UNCERTAIN] whether exactly 100 is accepted; the simulator takes the
// documented words literally and rejects it.
const maxSubjectRunes = 99

type publishInput struct {
	topicARN  string
	subject   string
	message   string
	structure string // "" or "json"
	attrs     map[string]msgAttr
}

// Publish publishes message to a topic as the SNS Publish call would, and
// delivers it to every SQS subscription before returning. It is what the
// Glacier simulator calls when a job completes. An empty subject means none:
// the envelope then has no Subject key.
func (s *Service) Publish(ctx context.Context, topicARN, subject, message string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("notify: publish to %s: %w", topicARN, err)
	}
	id, e := s.publish(publishInput{topicARN: topicARN, subject: subject, message: message})
	if e != nil {
		switch e.code {
		case "NotFound":
			return "", fmt.Errorf("notify: publish to %s: %w", topicARN, ErrTopicNotFound)
		case "ServiceUnavailable":
			return "", fmt.Errorf("notify: publish to %s: %w", topicARN, ErrClosed)
		}
		return "", fmt.Errorf("notify: publish to %s: %s: %s", topicARN, e.code, e.msg)
	}
	return id, nil
}

func validateSubject(subj string) *snsError {
	if !utf8.ValidString(subj) || utf8.RuneCountInString(subj) > maxSubjectRunes {
		return errInvalidParameter("Subject")
	}
	for _, r := range subj {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return errInvalidParameter("Subject")
		}
	}
	return nil
}

// selectStructured applies MessageStructure=json: the message is a JSON
// object of per-protocol strings with a required "default".
func selectStructured(message string) (string, *snsError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(message), &m); err != nil || m == nil {
		return "", errInvalidParameter("Message Structure - JSON message body failed to parse")
	}
	pick := func(k string) (string, bool, *snsError) {
		raw, ok := m[k]
		if !ok {
			return "", false, nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false, errInvalidParameter("Message Structure - the value for %q must be a string", k)
		}
		return v, true, nil
	}
	def, ok, e := pick("default")
	if e != nil {
		return "", e
	}
	if !ok {
		return "", errInvalidParameter("Message Structure - No default entry in JSON message body")
	}
	if v, ok, e := pick("sqs"); e != nil {
		return "", e
	} else if ok {
		return v, nil
	}
	return def, nil
}

type delivery struct {
	sub subscription
	raw bool
}

func (s *Service) publish(in publishInput) (string, *snsError) {
	if in.message == "" {
		return "", errInvalidParameter("Empty message")
	}
	if !utf8.ValidString(in.message) {
		return "", errInvalidParameter("Message must be UTF-8 encoded")
	}
	if in.subject != "" {
		if e := validateSubject(in.subject); e != nil {
			return "", e
		}
	}
	if len(in.message)+attributesSize(in.attrs) > maxSNSMessageBytes {
		return "", errInvalidParameter("Message too long")
	}
	message := in.message
	switch in.structure {
	case "":
	case "json":
		m, e := selectStructured(in.message)
		if e != nil {
			return "", e
		}
		message = m
	default:
		return "", errInvalidParameter("MessageStructure")
	}

	// Phase 1: read what is needed to sign, then sign without holding mu.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", &snsError{status: 503, code: "ServiceUnavailable", msg: ErrClosed.Error()}
	}
	t, ok := s.topics[in.topicARN]
	if !ok {
		s.mu.Unlock()
		return "", errSNSNotFound("Topic")
	}
	sigVersion := "1"
	if v := t.Attributes["SignatureVersion"]; v != "" {
		sigVersion = v
	}
	var targets []delivery
	for _, sub := range s.subs {
		if sub.TopicARN == in.topicARN {
			targets = append(targets, delivery{sub: *sub, raw: sub.Attributes["RawMessageDelivery"] == "true"})
		}
	}
	s.mu.Unlock()
	sort.Slice(targets, func(i, j int) bool { return targets[i].sub.ARN < targets[j].sub.ARN })

	id := uuid.NewString()
	ts := s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	var signature, certURL string
	needEnvelope := false
	for _, d := range targets {
		needEnvelope = needEnvelope || !d.raw
	}
	if needEnvelope {
		sg, err := s.getSigner()
		if err != nil {
			return "", errSNSInternal(err)
		}
		signature, err = sg.sign(sigVersion, canonicalNotification(message, id, in.subject, ts, in.topicARN))
		if err != nil {
			return "", errSNSInternal(err)
		}
		certURL = s.snsBaseURL() + "/" + sg.certName
	}

	// Phase 2: deliver.
	s.mu.Lock()
	delivered := 0
	for _, d := range targets {
		log := s.log.With().Str("topic", in.topicARN).Str("subscription", d.sub.ARN).Str("endpoint", d.sub.Endpoint).Logger()
		q, why := s.deliveryTargetLocked(d.sub)
		if q == nil {
			log.Warn().Str("reason", why).Msg("sns delivery dropped, as SNS would")
			continue
		}
		body := message
		var attrs map[string]msgAttr
		if d.raw {
			attrs = in.attrs
		} else {
			body = envelope(envelopeFields{
				messageID:      id,
				topicARN:       in.topicARN,
				subject:        in.subject,
				message:        message,
				timestamp:      ts,
				sigVersion:     sigVersion,
				signature:      signature,
				certURL:        certURL,
				unsubscribeURL: s.snsBaseURL() + "/?Action=Unsubscribe&SubscriptionArn=" + d.sub.ARN,
				attrs:          in.attrs,
			})
		}
		if e := validateBody(body); e != nil {
			log.Warn().Str("reason", e.msg).Msg("sns delivery dropped: SQS refuses the message body")
			continue
		}
		if limit := q.intAttr("MaximumMessageSize", defaultMaxMessageSize); int64(len(body)+attributesSize(attrs)) > limit {
			log.Warn().Int64("limit", limit).Msg("sns delivery dropped: message larger than the queue's MaximumMessageSize")
			continue
		}
		delay := time.Duration(q.intAttr("DelaySeconds", 0)) * time.Second
		s.enqueueLocked(q, body, attrs, snsSenderID, delay)
		delivered++
	}
	s.mu.Unlock()
	if delivered > 0 {
		if err := s.commit(); err != nil {
			return "", errSNSInternal(err)
		}
	}
	s.log.Debug().Str("topic", in.topicARN).Str("message", id).Int("delivered", delivered).Int("subscriptions", len(targets)).Msg("published")
	return id, nil
}

// deliveryTargetLocked finds the queue an sqs subscription delivers to, or
// says why SNS could not deliver there.
func (s *Service) deliveryTargetLocked(sub subscription) (*queue, string) {
	m := sqsARNRE.FindStringSubmatch(sub.Endpoint)
	if m == nil {
		return nil, "endpoint is not an SQS queue ARN"
	}
	if m[2] != s.region || m[3] != s.account {
		return nil, "the queue is in another region or account, which this simulator does not hold"
	}
	q, ok := s.queues[m[4]]
	if !ok {
		return nil, "the queue does not exist"
	}
	if !s.ignorePol && !policyAllows(q.Attributes["Policy"], s.queueARN(q.Name), sub.TopicARN, s.account) {
		return nil, "the queue's Policy does not allow service sns.amazonaws.com to sqs:SendMessage from this topic (add a statement with Principal {\"Service\":\"sns.amazonaws.com\"}, Action sqs:SendMessage, Resource the queue ARN, Condition ArnEquals aws:SourceArn the topic ARN)"
	}
	return q, ""
}

// canonicalNotification is the string SNS signs for a Notification.
func canonicalNotification(message, id, subject, ts, topicARN string) string {
	var b strings.Builder
	b.WriteString("Message\n" + message + "\n")
	b.WriteString("MessageId\n" + id + "\n")
	if subject != "" {
		b.WriteString("Subject\n" + subject + "\n")
	}
	b.WriteString("Timestamp\n" + ts + "\n")
	b.WriteString("TopicArn\n" + topicARN + "\n")
	b.WriteString("Type\nNotification\n")
	return b.String()
}

type envelopeFields struct {
	messageID, topicARN, subject, message, timestamp string
	sigVersion, signature, certURL, unsubscribeURL   string
	attrs                                            map[string]msgAttr
}

// jsonString encodes s as a JSON string the way SNS does: no HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// envelope renders the notification JSON in SNS's own layout (two-space
// indent, " : " separators, fixed key order, Subject and MessageAttributes
// only when present).
func envelope(f envelopeFields) string {
	var b strings.Builder
	field := func(k, v string, last bool) {
		b.WriteString("  " + jsonString(k) + " : " + jsonString(v))
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("{\n")
	field("Type", "Notification", false)
	field("MessageId", f.messageID, false)
	field("TopicArn", f.topicARN, false)
	if f.subject != "" {
		field("Subject", f.subject, false)
	}
	field("Message", f.message, false)
	field("Timestamp", f.timestamp, false)
	field("SignatureVersion", f.sigVersion, false)
	field("Signature", f.signature, false)
	field("SigningCertURL", f.certURL, false)
	field("UnsubscribeURL", f.unsubscribeURL, len(f.attrs) == 0)
	if len(f.attrs) > 0 {
		b.WriteString("  \"MessageAttributes\" : {\n")
		names := sortedKeys(f.attrs)
		for i, name := range names {
			a := f.attrs[name]
			typ := a.DataType
			val := ""
			if a.StringValue != nil {
				val = *a.StringValue
			} else {
				val = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			b.WriteString("    " + jsonString(name) + " : {\"Type\":" + jsonString(typ) + ",\"Value\":" + jsonString(val) + "}")
			if i < len(names)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}")
	return b.String()
}

func isJSONObject(s string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

func isJSONArray(s string) bool {
	var a []any
	return json.Unmarshal([]byte(s), &a) == nil && a != nil
}

func (s *Service) serveCert(w http.ResponseWriter, r *http.Request) {
	sg, err := s.getSigner()
	if err != nil {
		s.log.Error().Err(err).Msg("sns signing certificate unavailable")
		http.Error(w, "signing certificate unavailable", http.StatusInternalServerError)
		return
	}
	if strings.TrimPrefix(r.URL.Path, "/") != sg.certName {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-x509-ca-cert")
	_, _ = w.Write(sg.certPEM)
}
