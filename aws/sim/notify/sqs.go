package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

const (
	sqsContentType = "application/x-amz-json-1.0"
	// maxSQSRequestBytes bounds a request body: a 1 MiB message may grow up
	// to six times when JSON escapes it.
	maxSQSRequestBytes = 8 << 20
)

// sqsError is an SQS error in the AWS JSON 1.0 shape with the
// awsQueryCompatible header (glacier-wire-facts §7).
type sqsError struct {
	status int
	typ    string // the body's __type
	query  string // legacy Query code for x-amzn-query-error; "" sends none
	msg    string
}

func (e *sqsError) Error() string { return e.query + ": " + e.msg }

func sqsErr(status int, shape, query, format string, args ...any) *sqsError {
	return &sqsError{status: status, typ: "com.amazonaws.sqs#" + shape, query: query, msg: fmt.Sprintf(format, args...)}
}

func errQueueDoesNotExist() *sqsError {
	return sqsErr(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

// errInvalidParameterValue: the Query code is documented (issue reports show
// "InvalidParameterValue"); the JSON __type is [UNCERTAIN] (no capture found),
// the SDK reports the Query code from the header either way.
func errInvalidParameterValue(format string, args ...any) *sqsError {
	return sqsErr(400, "InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

// errMissingParameter: __type [UNCERTAIN], Query code "MissingParameter".
func errMissingParameter(name string) *sqsError {
	return sqsErr(400, "MissingRequiredParameterException", "MissingParameter", "The request must contain the parameter %s.", name)
}

func errInvalidAttributeName(format string, args ...any) *sqsError {
	return sqsErr(400, "InvalidAttributeName", "InvalidAttributeName", format, args...)
}

func errInvalidAttributeValue(format string, args ...any) *sqsError {
	return sqsErr(400, "InvalidAttributeValue", "InvalidAttributeValue", format, args...)
}

func errReceiptHandleIsInvalid(h string) *sqsError {
	return sqsErr(404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", h)
}

func errSerialization(format string, args ...any) *sqsError {
	return &sqsError{status: 400, typ: "com.amazon.coral.service#SerializationException", msg: fmt.Sprintf(format, args...)}
}

func errSQSInternal(err error) *sqsError {
	return &sqsError{status: 500, typ: "com.amazonaws.sqs#InternalError", query: "InternalError", msg: err.Error()}
}

func errSQSClosed() *sqsError {
	return &sqsError{status: 503, typ: "com.amazonaws.sqs#ServiceUnavailable", query: "ServiceUnavailable", msg: ErrClosed.Error()}
}

func writeSQSError(w http.ResponseWriter, e *sqsError) {
	h := w.Header()
	h.Set("Content-Type", sqsContentType)
	if e.query != "" {
		fault := "Sender"
		if e.status >= 500 {
			fault = "Receiver"
		}
		h.Set("x-amzn-query-error", e.query+";"+fault)
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.typ, e.msg})
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func writeSQS(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeSQSError(w, errSQSInternal(err))
		return
	}
	w.Header().Set("Content-Type", sqsContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// decodeSQS parses a JSON 1.0 request body into in. Unknown members are
// ignored, as AWS does; wrong types are a SerializationException.
func decodeSQS(body []byte, in any) *sqsError {
	if err := json.Unmarshal(body, in); err != nil {
		return errSerialization("Start of structure or map found where not expected, or invalid request body: %v", err)
	}
	return nil
}

func (s *Service) serveSQS(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost {
		writeSQSError(w, errSerialization("SQS JSON requests must use POST, not %s", r.Method))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSQSRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeSQSError(w, errInvalidParameterValue("Request body is larger than %d bytes.", maxSQSRequestBytes))
			return
		}
		writeSQSError(w, errSerialization("read request body: %v", err))
		return
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, changing a
	// message body behind the client's MD5.
	if !utf8.Valid(body) {
		writeSQSError(w, errSerialization("request body is not valid UTF-8"))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if s.isClosed() {
		writeSQSError(w, errSQSClosed())
		return
	}
	s.log.Debug().Str("op", op).Msg("sqs request")
	var out any
	var e *sqsError
	switch op {
	case "CreateQueue":
		out, e = s.sqsCreateQueue(r, body)
	case "GetQueueUrl":
		out, e = s.sqsGetQueueURL(r, body)
	case "GetQueueAttributes":
		out, e = s.sqsGetQueueAttributes(body)
	case "SetQueueAttributes":
		out, e = s.sqsSetQueueAttributes(body)
	case "DeleteQueue":
		out, e = s.sqsDeleteQueue(body)
	case "ListQueues":
		out, e = s.sqsListQueues(r, body)
	case "PurgeQueue":
		out, e = s.sqsPurgeQueue(body)
	case "TagQueue":
		out, e = s.sqsTagQueue(body)
	case "UntagQueue":
		out, e = s.sqsUntagQueue(body)
	case "ListQueueTags":
		out, e = s.sqsListQueueTags(body)
	case "SendMessage":
		out, e = s.sqsSendMessage(body)
	case "SendMessageBatch":
		out, e = s.sqsSendMessageBatch(body)
	case "ReceiveMessage":
		out, e = s.sqsReceiveMessage(r, body)
	case "DeleteMessage":
		out, e = s.sqsDeleteMessage(body)
	case "DeleteMessageBatch":
		out, e = s.sqsDeleteMessageBatch(body)
	case "ChangeMessageVisibility":
		out, e = s.sqsChangeMessageVisibility(body)
	case "ChangeMessageVisibilityBatch":
		out, e = s.sqsChangeMessageVisibilityBatch(body)
	case "AddPermission", "RemovePermission", "ListDeadLetterSourceQueues",
		"StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks":
		e = sqsErr(400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
			"%s is not supported by the freezer simulator.", op)
	default:
		// [UNCERTAIN] shape of AWS's answer to an unknown target; this is the
		// generic one AWS JSON services use.
		e = &sqsError{status: 400, typ: "com.amazon.coral.service#UnknownOperationException", query: "InvalidAction",
			msg: fmt.Sprintf("Unknown operation %q.", op)}
	}
	if e != nil {
		if e.status >= 500 {
			s.log.Error().Str("op", op).Str("error", e.msg).Msg("sqs request failed")
		}
		writeSQSError(w, e)
		return
	}
	writeSQS(w, out)
}
