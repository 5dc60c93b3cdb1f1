package notify

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func (s *Service) sqsCreateQueue(r *http.Request, body []byte) (any, *sqsError) {
	var in struct {
		QueueName  *string
		Attributes map[string]string
		Tags       map[string]string `json:"tags"`
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	if in.QueueName == nil || *in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	name := *in.QueueName
	if strings.HasSuffix(name, ".fifo") {
		return nil, errInvalidParameterValue("FIFO queues are not supported by the freezer simulator.")
	}
	if !queueNameRE.MatchString(name) {
		return nil, errInvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	attrs := map[string]string{}
	for k, v := range in.Attributes {
		nv, e := validateQueueAttribute(k, v)
		if e != nil {
			return nil, e
		}
		if k != "FifoQueue" {
			attrs[k] = nv
		}
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	out := map[string]string{"QueueUrl": s.queueURL(s.baseURL(r), name)}

	s.mu.Lock()
	if q, ok := s.queues[name]; ok {
		defer s.mu.Unlock()
		// Same name and the same values for every attribute given: the
		// existing queue. Anything else is an error, as in SQS.
		for _, k := range sortedKeys(attrs) {
			if q.Attributes[k] != attrs[k] {
				return nil, sqsErr(400, "QueueNameExists", "QueueAlreadyExists",
					"A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return out, nil
	}
	now := s.now()
	q := &queue{
		Name:       name,
		Attributes: defaultQueueAttributes(),
		Created:    now,
		Modified:   now,
		wake:       make(chan struct{}),
	}
	for k, v := range attrs {
		setQueueAttribute(q, k, v)
	}
	if len(in.Tags) > 0 {
		q.Tags = map[string]string{}
		for k, v := range in.Tags {
			q.Tags[k] = v
		}
	}
	s.queues[name] = q
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	s.log.Info().Str("queue", name).Msg("queue created")
	return out, nil
}

func setQueueAttribute(q *queue, k, v string) {
	if k == "FifoQueue" {
		return
	}
	if v == "" && k == "Policy" {
		delete(q.Attributes, k)
		return
	}
	q.Attributes[k] = v
}

func validateTags(tags map[string]string) *sqsError {
	if len(tags) > 50 {
		return errInvalidParameterValue("Too many tags added for queue. Maximum is 50.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return errInvalidParameterValue("Tag keys must be 1 to 128 characters and values at most 256 characters.")
		}
	}
	return nil
}

func (s *Service) sqsGetQueueURL(r *http.Request, body []byte) (any, *sqsError) {
	var in struct {
		QueueName              *string
		QueueOwnerAWSAccountId *string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	if in.QueueName == nil || *in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	if in.QueueOwnerAWSAccountId != nil && *in.QueueOwnerAWSAccountId != "" && *in.QueueOwnerAWSAccountId != s.account {
		return nil, errQueueDoesNotExist()
	}
	s.mu.Lock()
	_, ok := s.queues[*in.QueueName]
	s.mu.Unlock()
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	return map[string]string{"QueueUrl": s.queueURL(s.baseURL(r), *in.QueueName)}, nil
}

func knownQueueAttributeName(n string) bool {
	switch n {
	case "All", "Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "FifoQueue":
		return true
	}
	_, isDefault := defaultQueueAttributes()[n]
	return isDefault || contains(readOnlyQueueAttributes, n) || contains(unsupportedQueueAttributes, n)
}

func (s *Service) sqsGetQueueAttributes(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl       *string
		AttributeNames []string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	for _, n := range in.AttributeNames {
		if !knownQueueAttributeName(n) {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	now := s.now()
	if q.pruneLocked(now) {
		// Retention is applied lazily; the disk catches up on the next
		// change, and a restart prunes the same messages again.
		s.markChangedLocked()
	}
	all := map[string]string{}
	for k, v := range q.Attributes {
		all[k] = v
	}
	visible, inflight, delayed := q.counts(now)
	all["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	all["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inflight)
	all["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
	all["CreatedTimestamp"] = strconv.FormatInt(q.Created.Unix(), 10)
	all["LastModifiedTimestamp"] = strconv.FormatInt(q.Modified.Unix(), 10)
	all["QueueArn"] = s.queueARN(q.Name)

	got := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			got = all
			break
		}
		if v, ok := all[n]; ok {
			got[n] = v
		}
	}
	return map[string]any{"Attributes": got}, nil
}

func (s *Service) sqsSetQueueAttributes(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl   *string
		Attributes map[string]string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	attrs := map[string]string{}
	for k, v := range in.Attributes {
		nv, e := validateQueueAttribute(k, v)
		if e != nil {
			return nil, e
		}
		attrs[k] = nv
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	for k, v := range attrs {
		setQueueAttribute(q, k, v)
	}
	q.Modified = s.now()
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsDeleteQueue(body []byte) (any, *sqsError) {
	var in struct{ QueueUrl *string }
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	delete(s.queues, q.Name)
	q.signal() // long polls on it notice the queue is gone
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	s.log.Info().Str("queue", q.Name).Msg("queue deleted")
	return struct{}{}, nil
}

func (s *Service) sqsPurgeQueue(body []byte) (any, *sqsError) {
	var in struct{ QueueUrl *string }
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	// Real SQS allows one purge per 60 s (PurgeQueueInProgress); the
	// simulator purges every time.
	clear(q.Messages)
	q.Messages = nil
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsListQueues(r *http.Request, body []byte) (any, *sqsError) {
	var in struct {
		QueueNamePrefix *string
		MaxResults      *int64
		NextToken       *string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	after := ""
	if in.NextToken != nil && *in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(raw) == 0 {
			return nil, errInvalidParameterValue("Invalid NextToken value.")
		}
		after = string(raw)
	}
	prefix := ""
	if in.QueueNamePrefix != nil {
		prefix = *in.QueueNamePrefix
	}
	s.mu.Lock()
	var names []string
	for n := range s.queues {
		if strings.HasPrefix(n, prefix) && n > after {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults != nil {
			out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
		}
	}
	if len(names) > 0 {
		urls := make([]string, len(names))
		base := s.baseURL(r)
		for i, n := range names {
			urls[i] = s.queueURL(base, n)
		}
		out["QueueUrls"] = urls
	}
	return out, nil
}

func (s *Service) sqsTagQueue(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl *string
		Tags     map[string]string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	if q.Tags == nil {
		q.Tags = map[string]string{}
	}
	for k, v := range in.Tags {
		q.Tags[k] = v
	}
	if len(q.Tags) > 50 {
		for k := range in.Tags {
			delete(q.Tags, k)
		}
		s.mu.Unlock()
		return nil, errInvalidParameterValue("Too many tags added for queue. Maximum is 50.")
	}
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsUntagQueue(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl *string
		TagKeys  []string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	for _, k := range in.TagKeys {
		delete(q.Tags, k)
	}
	s.markChangedLocked()
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsListQueueTags(body []byte) (any, *sqsError) {
	var in struct{ QueueUrl *string }
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		return nil, e
	}
	out := map[string]any{}
	if len(q.Tags) > 0 {
		tags := map[string]string{}
		for k, v := range q.Tags {
			tags[k] = v
		}
		out["Tags"] = tags
	}
	return out, nil
}
