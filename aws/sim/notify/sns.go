package notify

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

const (
	snsXMLNS   = "http://sns.amazonaws.com/doc/2010-03-31/"
	snsVersion = "2010-03-31"
	// maxSNSRequestBytes bounds a form body: a 256 KiB message may triple
	// when percent-encoded.
	maxSNSRequestBytes = 4 << 20
	snsPageSize        = 100
	maxSNSMessageBytes = 262144
)

var (
	topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	topicARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	sqsARNRE    = regexp.MustCompile(`^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):([0-9]{12}):([A-Za-z0-9_-]{1,80})$`)
)

// snsError is an AWS Query error (glacier-wire-facts §8).
type snsError struct {
	status int
	code   string
	msg    string
}

func (e *snsError) Error() string { return e.code + ": " + e.msg }

func errInvalidParameter(format string, args ...any) *snsError {
	return &snsError{status: 400, code: "InvalidParameter", msg: "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

func errSNSNotFound(what string) *snsError {
	return &snsError{status: 404, code: "NotFound", msg: what + " does not exist"}
}

func errSNSInternal(err error) *snsError {
	return &snsError{status: 500, code: "InternalError", msg: err.Error()}
}

// xmlBuf builds the small, fixed XML documents of the Query protocol.
type xmlBuf struct{ bytes.Buffer }

func (b *xmlBuf) elem(name, value string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(value))
	b.WriteString("</" + name + ">")
}

func (b *xmlBuf) open(name string)  { b.WriteString("<" + name + ">") }
func (b *xmlBuf) close(name string) { b.WriteString("</" + name + ">") }

func (b *xmlBuf) attributes(m map[string]string) {
	b.open("Attributes")
	for _, k := range sortedKeys(m) {
		b.open("entry")
		b.elem("key", k)
		b.elem("value", m[k])
		b.close("entry")
	}
	b.close("Attributes")
}

func writeSNS(w http.ResponseWriter, action string, result func(b *xmlBuf)) {
	var b xmlBuf
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString(`<` + action + `Response xmlns="` + snsXMLNS + `">`)
	b.open(action + "Result")
	if result != nil {
		result(&b)
	}
	b.close(action + "Result")
	b.open("ResponseMetadata")
	b.elem("RequestId", w.Header().Get("x-amzn-RequestId"))
	b.close("ResponseMetadata")
	b.close(action + "Response")
	// [UNCERTAIN] AWS Query services answer text/xml; the SDK does not care.
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func writeSNSError(w http.ResponseWriter, e *snsError) {
	var b xmlBuf
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString(`<ErrorResponse xmlns="` + snsXMLNS + `">`)
	b.open("Error")
	if e.status >= 500 {
		b.elem("Type", "Receiver")
	} else {
		b.elem("Type", "Sender")
	}
	b.elem("Code", e.code)
	b.elem("Message", e.msg)
	b.close("Error")
	b.elem("RequestId", w.Header().Get("x-amzn-RequestId"))
	b.close("ErrorResponse")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}

// form is a parsed Query request.
type form url.Values

func (f form) get(k string) string { return url.Values(f).Get(k) }

func (f form) has(k string) bool { _, ok := f[k]; return ok }

func (f form) required(k string) (string, *snsError) {
	v := f.get(k)
	if v == "" {
		return "", errInvalidParameter("%s is required", k)
	}
	return v, nil
}

// entries collects prefix.N.<sub> members (Query maps and lists) by their
// index N, in index order. Gaps are allowed; indexes must be positive.
func (f form) entries(prefix string) ([]map[string]string, *snsError) {
	byIndex := map[int]map[string]string{}
	for k, vs := range f {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		idx, sub, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 1 || n > 1000 {
			return nil, errInvalidParameter("%s: malformed member %q", prefix, k)
		}
		if byIndex[n] == nil {
			if len(byIndex) >= 100 {
				return nil, errInvalidParameter("%s: too many members", prefix)
			}
			byIndex[n] = map[string]string{}
		}
		if len(vs) > 0 {
			byIndex[n][sub] = vs[0]
		}
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]map[string]string, len(idx))
	for i, n := range idx {
		out[i] = byIndex[n]
	}
	return out, nil
}

// attributeMap reads Name.entry.N.key / .value.
func (f form) attributeMap(prefix string) (map[string]string, *snsError) {
	es, e := f.entries(prefix + ".entry")
	if e != nil {
		return nil, e
	}
	out := map[string]string{}
	for _, en := range es {
		k, ok := en["key"]
		if !ok || k == "" {
			return nil, errInvalidParameter("%s: entry without a key", prefix)
		}
		out[k] = en["value"]
	}
	return out, nil
}

func (s *Service) serveSNS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSNSRequestBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeSNSError(w, &snsError{status: 413, code: "RequestEntityTooLarge", msg: "Request body is too large"})
			return
		}
		writeSNSError(w, &snsError{status: 400, code: "MalformedQueryString", msg: err.Error()})
		return
	}
	f := form(r.Form)
	action := f.get("Action")
	if v := f.get("Version"); v != "" && v != snsVersion {
		msg := fmt.Sprintf("Could not find operation %s for version %s", action, v)
		if v == "2012-11-05" {
			msg += " (the SQS Query protocol is not served; use AWS JSON 1.0, as aws-sdk-go-v2 service/sqs >= v1.28 does)"
		}
		writeSNSError(w, &snsError{status: 400, code: "InvalidAction", msg: msg})
		return
	}
	if s.isClosed() {
		writeSNSError(w, &snsError{status: 503, code: "ServiceUnavailable", msg: ErrClosed.Error()})
		return
	}
	s.log.Debug().Str("action", action).Msg("sns request")
	var result func(*xmlBuf)
	var e *snsError
	switch action {
	case "CreateTopic":
		result, e = s.snsCreateTopic(f)
	case "DeleteTopic":
		result, e = s.snsDeleteTopic(f)
	case "ListTopics":
		result, e = s.snsListTopics(f)
	case "GetTopicAttributes":
		result, e = s.snsGetTopicAttributes(f)
	case "SetTopicAttributes":
		result, e = s.snsSetTopicAttributes(f)
	case "Subscribe":
		result, e = s.snsSubscribe(f)
	case "Unsubscribe":
		result, e = s.snsUnsubscribe(f)
	case "GetSubscriptionAttributes":
		result, e = s.snsGetSubscriptionAttributes(f)
	case "SetSubscriptionAttributes":
		result, e = s.snsSetSubscriptionAttributes(f)
	case "ListSubscriptions":
		result, e = s.snsListSubscriptions(f, "")
	case "ListSubscriptionsByTopic":
		arn, e2 := f.required("TopicArn")
		if e2 != nil {
			e = e2
			break
		}
		result, e = s.snsListSubscriptions(f, arn)
	case "Publish":
		result, e = s.snsPublish(f)
	case "":
		e = &snsError{status: 400, code: "MissingAction", msg: "Missing Action"}
	default:
		e = &snsError{status: 400, code: "InvalidAction", msg: fmt.Sprintf("Could not find operation %s for version %s", action, snsVersion)}
	}
	if e != nil {
		if e.status >= 500 {
			s.log.Error().Str("action", action).Str("error", e.msg).Msg("sns request failed")
		}
		writeSNSError(w, e)
		return
	}
	writeSNS(w, action, result)
}

func (s *Service) topicARN(name string) string {
	return "arn:aws:sns:" + s.region + ":" + s.account + ":" + name
}

// validateTopicAttribute checks a settable topic attribute.
func validateTopicAttribute(name, value string) (string, *snsError) {
	switch name {
	case "DisplayName":
		if len(value) > 100 {
			return "", errInvalidParameter("DisplayName must be at most 100 characters")
		}
		return value, nil
	case "Policy", "DeliveryPolicy":
		if value != "" && !isJSONObject(value) {
			return "", errInvalidParameter("%s: Invalid JSON", name)
		}
		return value, nil
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return "", errInvalidParameter("Attributes Reason: SignatureVersion must be 1 or 2")
		}
		return value, nil
	case "KmsMasterKeyId", "TracingConfig":
		return value, nil
	case "FifoTopic":
		if strings.EqualFold(value, "false") {
			return "false", nil
		}
		return "", errInvalidParameter("Attributes Reason: FIFO topics are not supported by the freezer simulator")
	}
	return "", errInvalidParameter("Attributes Reason: Unknown attribute %s", name)
}

func (s *Service) snsCreateTopic(f form) (func(*xmlBuf), *snsError) {
	name, e := f.required("Name")
	if e != nil {
		return nil, e
	}
	if strings.HasSuffix(name, ".fifo") {
		return nil, errInvalidParameter("Topic Name: FIFO topics are not supported by the freezer simulator")
	}
	if !topicNameRE.MatchString(name) {
		return nil, errInvalidParameter("Topic Name")
	}
	given, e := f.attributeMap("Attributes")
	if e != nil {
		return nil, e
	}
	attrs := map[string]string{}
	for k, v := range given {
		nv, e := validateTopicAttribute(k, v)
		if e != nil {
			return nil, e
		}
		if k != "FifoTopic" && nv != "" {
			attrs[k] = nv
		}
	}
	// Tags are accepted and not kept: no tag calls are served.
	if _, e := f.entries("Tags.member"); e != nil {
		return nil, e
	}
	arn := s.topicARN(name)
	result := func(b *xmlBuf) { b.elem("TopicArn", arn) }
	s.mu.Lock()
	if t, ok := s.topics[arn]; ok {
		s.mu.Unlock()
		for k, v := range attrs {
			if t.Attributes[k] != v {
				return nil, errInvalidParameter("Attributes Reason: Topic already exists with different attributes")
			}
		}
		return result, nil
	}
	t := &topic{ARN: arn, Name: name, Created: s.now()}
	if len(attrs) > 0 {
		t.Attributes = attrs
	}
	s.topics[arn] = t
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	s.log.Info().Str("topic", arn).Msg("topic created")
	return result, nil
}

func (s *Service) topicArnParam(f form, key string) (string, *snsError) {
	arn, e := f.required(key)
	if e != nil {
		return "", e
	}
	if !topicARNRE.MatchString(arn) {
		return "", errInvalidParameter("%s", key)
	}
	return arn, nil
}

func (s *Service) snsDeleteTopic(f form) (func(*xmlBuf), *snsError) {
	arn, e := s.topicArnParam(f, "TopicArn")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	if _, ok := s.topics[arn]; !ok {
		// DeleteTopic is idempotent in SNS.
		s.mu.Unlock()
		return nil, nil
	}
	delete(s.topics, arn)
	for k, sub := range s.subs {
		if sub.TopicARN == arn {
			delete(s.subs, k)
		}
	}
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	s.log.Info().Str("topic", arn).Msg("topic deleted")
	return nil, nil
}

// page applies an opaque NextToken (the last key of the previous page) to
// sorted keys.
func page(keys []string, token string) ([]string, string, *snsError) {
	sort.Strings(keys)
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) == 0 {
			return nil, "", errInvalidParameter("NextToken")
		}
		i := sort.SearchStrings(keys, string(raw)+"\x00")
		keys = keys[i:]
	}
	next := ""
	if len(keys) > snsPageSize {
		keys = keys[:snsPageSize]
		next = base64.RawURLEncoding.EncodeToString([]byte(keys[len(keys)-1]))
	}
	return keys, next, nil
}

func (s *Service) snsListTopics(f form) (func(*xmlBuf), *snsError) {
	s.mu.Lock()
	arns := make([]string, 0, len(s.topics))
	for arn := range s.topics {
		arns = append(arns, arn)
	}
	s.mu.Unlock()
	arns, next, e := page(arns, f.get("NextToken"))
	if e != nil {
		return nil, e
	}
	return func(b *xmlBuf) {
		b.open("Topics")
		for _, arn := range arns {
			b.open("member")
			b.elem("TopicArn", arn)
			b.close("member")
		}
		b.close("Topics")
		if next != "" {
			b.elem("NextToken", next)
		}
	}, nil
}

func (s *Service) defaultTopicPolicy(arn string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"` +
		arn + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + s.account + `"}}}]}`
}

const defaultDeliveryPolicy = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`

func (s *Service) snsGetTopicAttributes(f form) (func(*xmlBuf), *snsError) {
	arn, e := s.topicArnParam(f, "TopicArn")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	t, ok := s.topics[arn]
	if !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Topic")
	}
	attrs := map[string]string{
		"TopicArn":                  arn,
		"Owner":                     s.account,
		"DisplayName":               "",
		"Policy":                    s.defaultTopicPolicy(arn),
		"EffectiveDeliveryPolicy":   defaultDeliveryPolicy,
		"SubscriptionsPending":      "0",
		"SubscriptionsDeleted":      "0",
		"SubscriptionsConfirmed":    "0",
		"FifoTopic":                 "false",
		"ContentBasedDeduplication": "false",
	}
	n := 0
	for _, sub := range s.subs {
		if sub.TopicARN == arn {
			n++
		}
	}
	attrs["SubscriptionsConfirmed"] = strconv.Itoa(n)
	for k, v := range t.Attributes {
		attrs[k] = v
	}
	s.mu.Unlock()
	return func(b *xmlBuf) { b.attributes(attrs) }, nil
}

func (s *Service) snsSetTopicAttributes(f form) (func(*xmlBuf), *snsError) {
	arn, e := s.topicArnParam(f, "TopicArn")
	if e != nil {
		return nil, e
	}
	name, e := f.required("AttributeName")
	if e != nil {
		return nil, e
	}
	v, e := validateTopicAttribute(name, f.get("AttributeValue"))
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	t, ok := s.topics[arn]
	if !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Topic")
	}
	if name != "FifoTopic" {
		if t.Attributes == nil {
			t.Attributes = map[string]string{}
		}
		if v == "" {
			delete(t.Attributes, name)
		} else {
			t.Attributes[name] = v
		}
	}
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	return nil, nil
}

// validateSubscriptionAttribute checks a settable subscription attribute for
// the sqs protocol.
func validateSubscriptionAttribute(name, value string) (string, *snsError) {
	switch name {
	case "RawMessageDelivery":
		switch strings.ToLower(value) {
		case "true", "false":
			return strings.ToLower(value), nil
		}
		return "", errInvalidParameter("Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
	case "DeliveryPolicy", "RedrivePolicy":
		// Stored and returned; the simulator never retries or dead-letters.
		if value != "" && !isJSONObject(value) {
			return "", errInvalidParameter("Attributes Reason: %s: Invalid JSON", name)
		}
		return value, nil
	case "FilterPolicy", "FilterPolicyScope":
		return "", errInvalidParameter("Attributes Reason: %s is not supported by the freezer simulator", name)
	case "SubscriptionRoleArn":
		return "", errInvalidParameter("Attributes Reason: SubscriptionRoleArn is only for firehose subscriptions")
	}
	return "", errInvalidParameter("AttributeName")
}

var knownProtocols = []string{"http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"}

func (s *Service) snsSubscribe(f form) (func(*xmlBuf), *snsError) {
	arn, e := s.topicArnParam(f, "TopicArn")
	if e != nil {
		return nil, e
	}
	proto, e := f.required("Protocol")
	if e != nil {
		return nil, e
	}
	if !contains(knownProtocols, proto) {
		return nil, errInvalidParameter("Amazon SNS does not support this protocol string: %s", proto)
	}
	if proto != "sqs" {
		return nil, errInvalidParameter("Protocol %s is not supported by the freezer simulator (only sqs)", proto)
	}
	endpoint := f.get("Endpoint")
	if !sqsARNRE.MatchString(endpoint) {
		return nil, errInvalidParameter("SQS endpoint ARN")
	}
	given, e := f.attributeMap("Attributes")
	if e != nil {
		return nil, e
	}
	attrs := map[string]string{}
	for k, v := range given {
		nv, e := validateSubscriptionAttribute(k, v)
		if e != nil {
			return nil, e
		}
		if nv != "" {
			attrs[k] = nv
		}
	}
	s.mu.Lock()
	if _, ok := s.topics[arn]; !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Topic")
	}
	// Subscribing the same endpoint again returns the existing subscription.
	for _, sub := range s.subs {
		if sub.TopicARN == arn && sub.Protocol == proto && sub.Endpoint == endpoint {
			s.mu.Unlock()
			for k, v := range attrs {
				if sub.Attributes[k] != v {
					return nil, errInvalidParameter("Attributes Reason: Subscription already exists with different attributes")
				}
			}
			subARN := sub.ARN
			return func(b *xmlBuf) { b.elem("SubscriptionArn", subARN) }, nil
		}
	}
	// SQS subscriptions in the topic's own account are confirmed at once, so
	// ReturnSubscriptionArn makes no difference here.
	sub := &subscription{ARN: arn + ":" + uuid.NewString(), TopicARN: arn, Protocol: proto, Endpoint: endpoint}
	if len(attrs) > 0 {
		sub.Attributes = attrs
	}
	s.subs[sub.ARN] = sub
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	s.log.Info().Str("topic", arn).Str("endpoint", endpoint).Msg("subscribed")
	return func(b *xmlBuf) { b.elem("SubscriptionArn", sub.ARN) }, nil
}

func subscriptionArnParam(f form) (string, *snsError) {
	arn, e := f.required("SubscriptionArn")
	if e != nil {
		return "", e
	}
	topicPart, id, ok := cutLast(arn, ":")
	if !ok || !topicARNRE.MatchString(topicPart) || uuid.Validate(id) != nil {
		return "", errInvalidParameter("SubscriptionArn")
	}
	return arn, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func (s *Service) snsUnsubscribe(f form) (func(*xmlBuf), *snsError) {
	arn, e := subscriptionArnParam(f)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	if _, ok := s.subs[arn]; !ok {
		// [UNCERTAIN] whether SNS answers NotFound here; the simulator
		// treats Unsubscribe as idempotent, like DeleteTopic.
		s.mu.Unlock()
		return nil, nil
	}
	delete(s.subs, arn)
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	return nil, nil
}

func (s *Service) snsGetSubscriptionAttributes(f form) (func(*xmlBuf), *snsError) {
	arn, e := subscriptionArnParam(f)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	sub, ok := s.subs[arn]
	if !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Subscription")
	}
	attrs := map[string]string{
		"SubscriptionArn":              sub.ARN,
		"TopicArn":                     sub.TopicARN,
		"Owner":                        s.account,
		"Protocol":                     sub.Protocol,
		"Endpoint":                     sub.Endpoint,
		"RawMessageDelivery":           "false",
		"PendingConfirmation":          "false",
		"ConfirmationWasAuthenticated": "true",
	}
	for k, v := range sub.Attributes {
		attrs[k] = v
	}
	s.mu.Unlock()
	return func(b *xmlBuf) { b.attributes(attrs) }, nil
}

func (s *Service) snsSetSubscriptionAttributes(f form) (func(*xmlBuf), *snsError) {
	arn, e := subscriptionArnParam(f)
	if e != nil {
		return nil, e
	}
	name, e := f.required("AttributeName")
	if e != nil {
		return nil, e
	}
	v, e := validateSubscriptionAttribute(name, f.get("AttributeValue"))
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	sub, ok := s.subs[arn]
	if !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Subscription")
	}
	if sub.Attributes == nil {
		sub.Attributes = map[string]string{}
	}
	if v == "" {
		delete(sub.Attributes, name)
	} else {
		sub.Attributes[name] = v
	}
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSNSInternal(err)
	}
	return nil, nil
}

// snsListSubscriptions serves ListSubscriptions (topicARN "") and
// ListSubscriptionsByTopic.
func (s *Service) snsListSubscriptions(f form, topicARN string) (func(*xmlBuf), *snsError) {
	if topicARN != "" && !topicARNRE.MatchString(topicARN) {
		return nil, errInvalidParameter("TopicArn")
	}
	s.mu.Lock()
	if _, ok := s.topics[topicARN]; topicARN != "" && !ok {
		s.mu.Unlock()
		return nil, errSNSNotFound("Topic")
	}
	byARN := map[string]subscription{}
	var keys []string
	for arn, sub := range s.subs {
		if topicARN == "" || sub.TopicARN == topicARN {
			byARN[arn] = *sub
			keys = append(keys, arn)
		}
	}
	s.mu.Unlock()
	keys, next, e := page(keys, f.get("NextToken"))
	if e != nil {
		return nil, e
	}
	return func(b *xmlBuf) {
		b.open("Subscriptions")
		for _, k := range keys {
			sub := byARN[k]
			b.open("member")
			b.elem("SubscriptionArn", sub.ARN)
			b.elem("Owner", s.account)
			b.elem("Protocol", sub.Protocol)
			b.elem("Endpoint", sub.Endpoint)
			b.elem("TopicArn", sub.TopicARN)
			b.close("member")
		}
		b.close("Subscriptions")
		if next != "" {
			b.elem("NextToken", next)
		}
	}, nil
}

func (s *Service) snsPublish(f form) (func(*xmlBuf), *snsError) {
	if f.get("PhoneNumber") != "" {
		return nil, errInvalidParameter("PhoneNumber: SMS is not supported by the freezer simulator")
	}
	key := "TopicArn"
	if f.get(key) == "" && f.get("TargetArn") != "" {
		key = "TargetArn"
	}
	arn, e := s.topicArnParam(f, key)
	if e != nil {
		return nil, e
	}
	if !f.has("Message") {
		return nil, errInvalidParameter("Message is required")
	}
	attrs, e := parseSNSAttributes(f)
	if e != nil {
		return nil, e
	}
	id, e := s.publish(publishInput{
		topicARN:  arn,
		subject:   f.get("Subject"),
		message:   f.get("Message"),
		structure: f.get("MessageStructure"),
		attrs:     attrs,
	})
	if e != nil {
		return nil, e
	}
	return func(b *xmlBuf) { b.elem("MessageId", id) }, nil
}

// parseSNSAttributes reads MessageAttributes.entry.N.Name / .Value.DataType /
// .Value.StringValue / .Value.BinaryValue.
func parseSNSAttributes(f form) (map[string]msgAttr, *snsError) {
	es, e := f.entries("MessageAttributes.entry")
	if e != nil {
		return nil, e
	}
	if len(es) == 0 {
		return nil, nil
	}
	if len(es) > maxMessageAttributes {
		return nil, &snsError{status: 400, code: "ParameterValueInvalid",
			msg: fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(es), maxMessageAttributes)}
	}
	out := map[string]msgAttr{}
	for _, en := range es {
		name := en["Name"]
		if p := validateAttrName(name); p != "" {
			return nil, &snsError{status: 400, code: "ParameterValueInvalid", msg: fmt.Sprintf("Message attribute name '%s' is invalid: it %s.", name, p)}
		}
		if _, dup := out[name]; dup {
			return nil, &snsError{status: 400, code: "ParameterValueInvalid", msg: fmt.Sprintf("Message attribute name '%s' is repeated.", name)}
		}
		a := msgAttr{DataType: en["Value.DataType"]}
		if strings.HasPrefix(a.DataType, "Binary") {
			raw, err := base64.StdEncoding.DecodeString(en["Value.BinaryValue"])
			if err != nil {
				return nil, &snsError{status: 400, code: "ParameterValueInvalid", msg: fmt.Sprintf("Message attribute '%s' has a BinaryValue that is not base64.", name)}
			}
			a.BinaryValue = raw
		} else if v, ok := en["Value.StringValue"]; ok {
			a.StringValue = &v
		}
		if strings.HasPrefix(a.DataType, "String.Array") {
			// A JSON array carried as a string; check it parses.
			if a.StringValue == nil || !isJSONArray(*a.StringValue) {
				return nil, &snsError{status: 400, code: "ParameterValueInvalid", msg: fmt.Sprintf("Message attribute '%s' of type String.Array must hold a JSON array.", name)}
			}
		} else if p := validateAttrValue(a); p != "" {
			return nil, &snsError{status: 400, code: "ParameterValueInvalid", msg: fmt.Sprintf("Message attribute '%s' %s.", name, p)}
		}
		out[name] = a
	}
	return out, nil
}
