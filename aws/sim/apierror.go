package sim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is a service error as it goes on the wire. Glacier renders it as
// {"code","message","type"} (developer guide, api-error-responses); SQS and
// SNS errors raised by the simulator itself (authentication, injected
// faults) use those services' own shapes.
type apiError struct {
	status  int
	code    string
	message string
	server  bool // type "Server" instead of "Client"
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...), server: status >= 500}
}

func invalidParam(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func missingParam(name string) *apiError {
	// [UNCERTAIN] message text; the code and status are from the error table.
	return errf(http.StatusBadRequest, "MissingParameterValueException", "Required parameter missing: %s", name)
}

func notFound(format string, args ...any) *apiError {
	return errf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func (e *apiError) typ() string {
	if e.server {
		return "Server"
	}
	return "Client"
}

// writeGlacierError writes the compact one-line JSON body real Glacier sends.
func writeGlacierError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Type    string `json:"type"`
	}{e.code, e.message, e.typ()})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}

// writeSQSError writes an AWS JSON 1.0 error the way SQS does, including
// x-amzn-query-error, which aws-sdk-go-v2 prefers for the error code.
func writeSQSError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazon.coral.service#" + e.code, e.message})
	fault := "Sender"
	if e.server {
		fault = "Receiver"
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-query-error", e.code+";"+fault)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}

// writeSNSError writes an AWS Query (XML) error response.
func writeSNSError(w http.ResponseWriter, e *apiError, requestID string) {
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	fault := "Sender"
	if e.server {
		fault = "Receiver"
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{NS: "http://sns.amazonaws.com/doc/2010-03-31/", Error: errBody{fault, e.code, e.message}, RequestID: requestID})
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}
