package notify

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sqsAttrValue is MessageAttributeValue on the wire; blobs are base64 in
// JSON, which encoding/json does for []byte.
type sqsAttrValue struct {
	DataType         *string
	StringValue      *string
	BinaryValue      []byte
	StringListValues []string
	BinaryListValues [][]byte
}

type sqsAttrOut struct {
	DataType    string
	StringValue *string `json:",omitempty"`
	BinaryValue []byte  `json:",omitempty"`
}

type sqsMessageOut struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string     `json:",omitempty"`
	MD5OfMessageAttributes string                `json:",omitempty"`
	MessageAttributes      map[string]sqsAttrOut `json:",omitempty"`
}

type sqsBatchFailure struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

func parseSQSAttributes(in map[string]sqsAttrValue) (map[string]msgAttr, *sqsError) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > maxMessageAttributes {
		return nil, errInvalidParameterValue("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(in), maxMessageAttributes)
	}
	out := make(map[string]msgAttr, len(in))
	for name, v := range in {
		if p := validateAttrName(name); p != "" {
			return nil, errInvalidParameterValue("Message attribute name '%s' is invalid: it %s.", name, p)
		}
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, errInvalidParameterValue("Message attribute '%s': list values are not implemented.", name)
		}
		a := msgAttr{}
		if v.DataType != nil {
			a.DataType = *v.DataType
		}
		if strings.HasPrefix(a.DataType, "Binary") {
			a.BinaryValue = v.BinaryValue
		} else {
			a.StringValue = v.StringValue
		}
		if p := validateAttrValue(a); p != "" {
			return nil, errInvalidParameterValue("Message attribute '%s' %s.", name, p)
		}
		out[name] = a
	}
	return out, nil
}

// sendLocked validates and enqueues one message for SendMessage(Batch).
func (s *Service) sendLocked(q *queue, body *string, delay *int64, attrs map[string]sqsAttrValue) (*message, *sqsError) {
	if body == nil || *body == "" {
		return nil, errMissingParameter("MessageBody")
	}
	if e := validateBody(*body); e != nil {
		return nil, e
	}
	d := q.intAttr("DelaySeconds", 0)
	if delay != nil {
		if *delay < 0 || *delay > maxDelaySeconds {
			return nil, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= %d.", *delay, maxDelaySeconds)
		}
		d = *delay
	}
	ma, e := parseSQSAttributes(attrs)
	if e != nil {
		return nil, e
	}
	limit := q.intAttr("MaximumMessageSize", defaultMaxMessageSize)
	if int64(len(*body)+attributesSize(ma)) > limit {
		return nil, errInvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
	}
	return s.enqueueLocked(q, *body, ma, s.account, time.Duration(d)*time.Second), nil
}

func (s *Service) sqsSendMessage(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl          *string
		MessageBody       *string
		DelaySeconds      *int64
		MessageAttributes map[string]sqsAttrValue
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
	m, e := s.sendLocked(q, in.MessageBody, in.DelaySeconds, in.MessageAttributes)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	out := map[string]string{"MessageId": m.ID, "MD5OfMessageBody": md5Hex(m.Body)}
	if len(m.Attributes) > 0 {
		out["MD5OfMessageAttributes"] = messageAttributesMD5(m.Attributes)
	}
	return out, nil
}

// checkBatchIDs applies the batch rules shared by the three batch calls.
func checkBatchIDs(ids []string) *sqsError {
	if len(ids) == 0 {
		return sqsErr(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request.")
	}
	if len(ids) > 10 {
		return sqsErr(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			"Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !queueNameRE.MatchString(id) {
			return sqsErr(400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return sqsErr(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

func batchFailure(id string, e *sqsError) sqsBatchFailure {
	return sqsBatchFailure{Id: id, SenderFault: e.status < 500, Code: e.query, Message: e.msg}
}

func (s *Service) sqsSendMessageBatch(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl *string
		Entries  []struct {
			Id                *string
			MessageBody       *string
			DelaySeconds      *int64
			MessageAttributes map[string]sqsAttrValue
		}
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		if en.Id != nil {
			ids[i] = *en.Id
		}
	}
	if e := checkBatchIDs(ids); e != nil {
		return nil, e
	}
	type success struct {
		Id                     string
		MessageId              string
		MD5OfMessageBody       string
		MD5OfMessageAttributes string `json:",omitempty"`
	}
	var ok []success
	var failed []sqsBatchFailure
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	total := int64(0)
	for _, en := range in.Entries {
		if en.MessageBody != nil {
			total += int64(len(*en.MessageBody))
		}
	}
	if limit := q.intAttr("MaximumMessageSize", defaultMaxMessageSize); total > limit {
		s.mu.Unlock()
		return nil, sqsErr(400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
			"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", limit, total)
	}
	for i, en := range in.Entries {
		m, e := s.sendLocked(q, en.MessageBody, en.DelaySeconds, en.MessageAttributes)
		if e != nil {
			failed = append(failed, batchFailure(ids[i], e))
			continue
		}
		ok = append(ok, success{Id: ids[i], MessageId: m.ID, MD5OfMessageBody: md5Hex(m.Body),
			MD5OfMessageAttributes: messageAttributesMD5(m.Attributes)})
	}
	s.mu.Unlock()
	if len(ok) > 0 {
		if err := s.commit(); err != nil {
			return nil, errSQSInternal(err)
		}
	}
	return map[string]any{"Successful": nonNil(ok), "Failed": nonNil(failed)}, nil
}

// nonNil keeps required list members as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// systemAttributes answers ReceiveMessage's AttributeNames and
// MessageSystemAttributeNames for the attributes a standard queue has.
func systemAttributes(m *message, names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	all := contains(names, "All")
	out := map[string]string{}
	add := func(n, v string) {
		if all || contains(names, n) {
			out[n] = v
		}
	}
	add("SenderId", m.SenderID)
	add("SentTimestamp", strconv.FormatInt(m.Sent.UnixMilli(), 10))
	add("ApproximateReceiveCount", strconv.Itoa(m.ReceiveCount))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.FirstReceive.UnixMilli(), 10))
	if len(out) == 0 {
		return nil
	}
	return out
}

func messageOut(m *message, sysNames, attrNames []string) sqsMessageOut {
	o := sqsMessageOut{
		MessageId:     m.ID,
		ReceiptHandle: m.Receipt,
		MD5OfBody:     md5Hex(m.Body),
		Body:          m.Body,
		Attributes:    systemAttributes(m, sysNames),
	}
	picked := map[string]msgAttr{}
	for name, a := range m.Attributes {
		if wantAttribute(attrNames, name) {
			picked[name] = a
		}
	}
	if len(picked) > 0 {
		o.MessageAttributes = map[string]sqsAttrOut{}
		for name, a := range picked {
			o.MessageAttributes[name] = sqsAttrOut(a)
		}
		// The digest covers the attributes returned, which is what SDKs that
		// check it recompute.
		o.MD5OfMessageAttributes = messageAttributesMD5(picked)
	}
	return o
}

// sqsReceiveMessage implements short and long polls. The long poll's length
// is real time (a timer), while visibility uses Options.Now; when a hidden
// message's visibility ends before the poll does, the poll wakes then too.
func (s *Service) sqsReceiveMessage(r *http.Request, body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl                    *string
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		MaxNumberOfMessages         *int64
		VisibilityTimeout           *int64
		WaitTimeSeconds             *int64
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	limit := 1
	if v := in.MaxNumberOfMessages; v != nil {
		if *v < 1 || *v > 10 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *v)
		}
		limit = int(*v)
	}
	if v := in.VisibilityTimeout; v != nil && (*v < 0 || *v > maxVisibilityTimeout) {
		return nil, errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= %d, if provided.", *v, maxVisibilityTimeout)
	}
	if v := in.WaitTimeSeconds; v != nil && (*v < 0 || *v > maxWaitTimeSeconds) {
		return nil, errInvalidParameterValue("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= %d, if provided.", *v, maxWaitTimeSeconds)
	}
	sysNames := append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)

	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	wait := q.intAttr("ReceiveMessageWaitTimeSeconds", 0)
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
	}
	s.mu.Unlock()
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	ctx := r.Context()

	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return struct{}{}, nil
		}
		if s.queues[q.Name] != q {
			s.mu.Unlock()
			return nil, errQueueDoesNotExist()
		}
		now := s.now()
		changed := q.pruneLocked(now)
		vis := q.intAttr("VisibilityTimeout", defaultVisibilityTimeout)
		if in.VisibilityTimeout != nil {
			vis = *in.VisibilityTimeout
		}
		var got []sqsMessageOut
		for _, m := range q.Messages {
			if len(got) == limit {
				break
			}
			if m.VisibleAt.After(now) {
				continue
			}
			m.ReceiveCount++
			if m.FirstReceive.IsZero() {
				m.FirstReceive = now
			}
			m.VisibleAt = now.Add(time.Duration(vis) * time.Second)
			m.Receipt = newReceiptHandle(m.ID)
			got = append(got, messageOut(m, sysNames, in.MessageAttributeNames))
		}
		if len(got) > 0 {
			changed = true
		}
		if changed {
			s.markChangedLocked()
		}
		remaining := time.Until(deadline)
		wake := q.wake
		next := q.nextVisible(now)
		s.mu.Unlock()

		if changed {
			if err := s.commit(); err != nil {
				return nil, errSQSInternal(err)
			}
		}
		if len(got) > 0 {
			return map[string]any{"Messages": got}, nil
		}
		if remaining <= 0 {
			return struct{}{}, nil
		}
		d := remaining
		if !next.IsZero() && next.Sub(now) < d {
			d = next.Sub(now)
		}
		s.wait(ctx, wake, d)
		if ctx.Err() != nil {
			// Receiving now would hide messages from other consumers for a
			// response nobody reads.
			return struct{}{}, nil
		}
	}
}

// deleteLocked deletes the message a current receipt handle names. A stale
// handle (the message was received again, or is gone) succeeds without
// deleting, as SQS documents for old handles.
func (s *Service) deleteLocked(q *queue, handle *string) *sqsError {
	if handle == nil || *handle == "" {
		return errMissingParameter("ReceiptHandle")
	}
	id, ok := parseReceiptHandle(*handle)
	if !ok {
		return errReceiptHandleIsInvalid(*handle)
	}
	i, m := findMessage(q, id)
	if m == nil || m.Receipt != *handle {
		s.log.Debug().Str("queue", q.Name).Str("message", id).Msg("delete with a stale receipt handle ignored")
		return nil
	}
	q.Messages = append(q.Messages[:i], q.Messages[i+1:]...)
	s.markChangedLocked()
	return nil
}

func (s *Service) sqsDeleteMessage(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl      *string
		ReceiptHandle *string
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e == nil {
		e = s.deleteLocked(q, in.ReceiptHandle)
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsDeleteMessageBatch(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl *string
		Entries  []struct {
			Id            *string
			ReceiptHandle *string
		}
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		if en.Id != nil {
			ids[i] = *en.Id
		}
	}
	return s.batchOnQueue(in.QueueUrl, ids, func(q *queue, i int) *sqsError {
		return s.deleteLocked(q, in.Entries[i].ReceiptHandle)
	})
}

func (s *Service) changeVisibilityLocked(q *queue, handle *string, timeout *int64) *sqsError {
	if handle == nil || *handle == "" {
		return errMissingParameter("ReceiptHandle")
	}
	if timeout == nil {
		return errMissingParameter("VisibilityTimeout")
	}
	if *timeout < 0 || *timeout > maxVisibilityTimeout {
		return errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and %d, if provided.", *timeout, maxVisibilityTimeout)
	}
	id, ok := parseReceiptHandle(*handle)
	if !ok {
		return errReceiptHandleIsInvalid(*handle)
	}
	_, m := findMessage(q, id)
	if m == nil || m.Receipt != *handle {
		return errInvalidParameterValue("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", *handle)
	}
	now := s.now()
	if !m.VisibleAt.After(now) {
		return sqsErr(400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "The message referred to is not in flight.")
	}
	m.VisibleAt = now.Add(time.Duration(*timeout) * time.Second)
	q.signal() // long polls recompute when this message becomes visible
	s.markChangedLocked()
	return nil
}

func (s *Service) sqsChangeMessageVisibility(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl          *string
		ReceiptHandle     *string
		VisibilityTimeout *int64
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	q, e := s.lookupQueueLocked(in.QueueUrl)
	if e == nil {
		e = s.changeVisibilityLocked(q, in.ReceiptHandle, in.VisibilityTimeout)
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return struct{}{}, nil
}

func (s *Service) sqsChangeMessageVisibilityBatch(body []byte) (any, *sqsError) {
	var in struct {
		QueueUrl *string
		Entries  []struct {
			Id                *string
			ReceiptHandle     *string
			VisibilityTimeout *int64
		}
	}
	if e := decodeSQS(body, &in); e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		if en.Id != nil {
			ids[i] = *en.Id
		}
	}
	return s.batchOnQueue(in.QueueUrl, ids, func(q *queue, i int) *sqsError {
		en := in.Entries[i]
		return s.changeVisibilityLocked(q, en.ReceiptHandle, en.VisibilityTimeout)
	})
}

// batchOnQueue runs one action per batch entry under the lock, on the
// queue named by queueURL, and answers with the entries that succeeded
// and those that failed (a batch fails as a whole only for bad ids or a
// missing queue).
func (s *Service) batchOnQueue(queueURL *string, ids []string, do func(q *queue, i int) *sqsError) (any, *sqsError) {
	if e := checkBatchIDs(ids); e != nil {
		return nil, e
	}
	type success struct{ Id string }
	var ok []success
	var failed []sqsBatchFailure
	s.mu.Lock()
	q, e := s.lookupQueueLocked(queueURL)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	for i := range ids {
		if e := do(q, i); e != nil {
			failed = append(failed, batchFailure(ids[i], e))
			continue
		}
		ok = append(ok, success{ids[i]})
	}
	s.mu.Unlock()
	if err := s.commit(); err != nil {
		return nil, errSQSInternal(err)
	}
	return map[string]any{"Successful": nonNil(ok), "Failed": nonNil(failed)}, nil
}
