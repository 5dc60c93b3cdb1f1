package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Request flow: admin paths first; then the service is chosen from the SigV4
// credential scope (falling back to X-Amz-Target / form shape for unsigned
// requests so they get an error in the right protocol); then the operation is
// named, the signature checked, faults applied, and the request served.

const (
	svcGlacier = "glacier"
	svcSQS     = "sqs"
	svcSNS     = "sns"

	glacierAPIVersion = "2012-06-01"
	// maxSmallBody bounds bodies read into memory: Glacier JSON bodies
	// (InitiateJob, SetVaultNotifications) and SQS/SNS requests (SQS caps a
	// message at 1 MiB).
	maxSmallBody = 2 << 20
)

// reqInfo carries per-request facts to the log line and the handlers.
type reqInfo struct {
	id      string
	service string
	op      string
	vault   string
	fault   *firedFault
}

func (s *Sim) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &reqInfo{id: newRequestID()}
	rec := &recorder{ResponseWriter: w}
	rec.Header().Set("x-amzn-RequestId", info.id)
	defer func() {
		status := rec.status
		if status == 0 && !rec.hijacked {
			status = http.StatusOK
		}
		s.log.Debug().
			Str("id", info.id).
			Str("service", info.service).
			Str("op", info.op).
			Str("vault", info.vault).
			Int("status", status).
			Bool("reset", rec.hijacked).
			Int64("bytes", rec.written).
			Dur("took", time.Since(start)).
			Msg("sim request")
	}()

	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		info.service, info.op = "admin", r.Method+" "+r.URL.Path
		s.serveAdmin(rec, r)
		return
	}

	auth, authErr := parseAuthHeader(r.Header.Get("Authorization"))
	hasAuth := r.Header.Get("Authorization") != ""
	switch {
	case hasAuth && authErr == nil:
		info.service = auth.service
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS."):
		info.service = svcSQS
	case r.Method == http.MethodPost && r.URL.Path == "/" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		info.service = svcSNS
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/SimpleNotificationService-"):
		// The signing certificate named in SNS envelopes' SigningCertURL is
		// fetched without a signature, as from AWS.
		info.service, info.op = svcSNS, "GetSigningCert"
		s.notifier.Handler().ServeHTTP(rec, r)
		return
	default:
		info.service = svcGlacier
	}

	switch info.service {
	case svcSQS, svcSNS:
		s.serveNotify(rec, r, info, auth, hasAuth, authErr)
	default:
		s.serveGlacier(rec, r, info, auth, hasAuth, authErr)
	}
}

func (s *Sim) serveNotify(w *recorder, r *http.Request, info *reqInfo, auth authHeader, hasAuth bool, authErr error) {
	writeErr := func(e *apiError) {
		if info.service == svcSQS {
			writeSQSError(w, e)
		} else {
			writeSNSError(w, e, info.id)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSmallBody+1))
	if err != nil {
		return // client went away
	}
	if len(body) > maxSmallBody {
		writeErr(errf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body is larger than %d bytes.", maxSmallBody))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if info.service == svcSQS {
		info.op = strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	} else if form, err := url.ParseQuery(string(body)); err == nil {
		info.op = form.Get("Action")
		if info.op == "" {
			info.op = r.URL.Query().Get("Action")
		}
	}
	if e := s.authenticate(r, info.service, auth, hasAuth, authErr, hashHex(body)); e != nil {
		writeErr(e)
		return
	}
	if f := s.faults.pick(info.op, ""); f != nil {
		info.fault = f
		if e, handled := s.applyFault(w, r, info.op, f); handled {
			if e != nil {
				writeErr(e)
			}
			return
		}
	}
	s.notifier.Handler().ServeHTTP(w, r)
}

func (s *Sim) authenticate(r *http.Request, service string, auth authHeader, hasAuth bool, authErr error, payloadHash string) *apiError {
	if !hasAuth {
		return errf(http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if authErr != nil {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Authorization header is not a valid AWS Signature Version 4 header.")
	}
	return s.verifier.verify(r, auth, service, payloadHash)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// glacierReq is a routed Glacier request.
type glacierReq struct {
	*reqInfo
	r       *http.Request
	account string
	vault   string
	id      string // archive, upload or job id
	body    []byte // small JSON bodies only
}

type glacierOp func(w http.ResponseWriter, q *glacierReq) *apiError

// route names the operation for method and path segments (already
// unescaped): /{account}/vaults/{vault}/...
func (s *Sim) route(method string, seg []string) (string, glacierOp) {
	if len(seg) < 2 {
		return "", nil
	}
	switch {
	case len(seg) == 2 && seg[1] == "vaults":
		if method == http.MethodGet {
			return "ListVaults", s.listVaults
		}
	case len(seg) == 3 && seg[1] == "vaults":
		switch method {
		case http.MethodPut:
			return "CreateVault", s.createVault
		case http.MethodGet:
			return "DescribeVault", s.describeVault
		case http.MethodDelete:
			return "DeleteVault", s.deleteVault
		}
	case len(seg) == 4 && seg[1] == "vaults":
		switch seg[3] + " " + method {
		case "notification-configuration PUT":
			return "SetVaultNotifications", s.setVaultNotifications
		case "notification-configuration GET":
			return "GetVaultNotifications", s.getVaultNotifications
		case "notification-configuration DELETE":
			return "DeleteVaultNotifications", s.deleteVaultNotifications
		case "archives POST":
			return "UploadArchive", s.uploadArchive
		case "multipart-uploads POST":
			return "InitiateMultipartUpload", s.initiateMultipartUpload
		case "multipart-uploads GET":
			return "ListMultipartUploads", s.listMultipartUploads
		case "jobs POST":
			return "InitiateJob", s.initiateJob
		case "jobs GET":
			return "ListJobs", s.listJobs
		case "access-policy PUT", "access-policy GET", "access-policy DELETE",
			"lock-policy POST", "lock-policy GET", "lock-policy DELETE",
			"tags POST", "tags GET":
			return "Unsupported", nil
		}
	case len(seg) == 5 && seg[1] == "vaults":
		switch seg[3] + " " + method {
		case "archives DELETE":
			return "DeleteArchive", s.deleteArchive
		case "multipart-uploads PUT":
			return "UploadMultipartPart", s.uploadMultipartPart
		case "multipart-uploads POST":
			return "CompleteMultipartUpload", s.completeMultipartUpload
		case "multipart-uploads DELETE":
			return "AbortMultipartUpload", s.abortMultipartUpload
		case "multipart-uploads GET":
			return "ListParts", s.listParts
		case "jobs GET":
			return "DescribeJob", s.describeJob
		case "lock-policy POST", "lock-policy DELETE":
			return "Unsupported", nil
		}
	case len(seg) == 6 && seg[1] == "vaults" && seg[3] == "jobs" && seg[5] == "output":
		if method == http.MethodGet {
			return "GetJobOutput", s.getJobOutput
		}
	case seg[1] == "policies" || seg[1] == "provisioned-capacity":
		return "Unsupported", nil
	}
	return "", nil
}

func splitPath(escaped string) ([]string, bool) {
	p := strings.TrimPrefix(escaped, "/")
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, "/")
	for i, e := range parts {
		u, err := url.PathUnescape(e)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// uploadOps stream their body to disk; Glacier signs them with the
// x-amz-content-sha256 header as the payload hash.
var uploadOps = map[string]bool{"UploadArchive": true, "UploadMultipartPart": true}

func (s *Sim) serveGlacier(w *recorder, r *http.Request, info *reqInfo, auth authHeader, hasAuth bool, authErr error) {
	seg, ok := splitPath(r.URL.EscapedPath())
	var op glacierOp
	if ok {
		info.op, op = s.route(r.Method, seg)
	}
	q := &glacierReq{reqInfo: info, r: r}
	if len(seg) >= 1 {
		q.account = seg[0]
	}
	if len(seg) >= 3 {
		q.vault = seg[2]
		info.vault = seg[2]
	}
	if len(seg) >= 5 {
		q.id = seg[4]
	}

	var payloadHash string
	if uploadOps[info.op] {
		payloadHash = r.Header.Get("X-Amz-Content-Sha256")
		if !isHexHash(payloadHash) {
			// Without the header Glacier cannot check the signature:
			// aws-sdk-go-v2 issue #1212 reports exactly this 403 when a
			// caller sets Checksum (so the SDK adds only the tree hash).
			if hasAuth && authErr == nil {
				writeGlacierError(w, errf(http.StatusForbidden, "InvalidSignatureException", signatureMismatch))
				return
			}
		}
	} else {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSmallBody+1))
		if err != nil {
			return
		}
		if len(body) > maxSmallBody {
			writeGlacierError(w, invalidParam("Request body is larger than %d bytes.", maxSmallBody))
			return
		}
		q.body = body
		payloadHash = hashHex(body)
	}
	if e := s.authenticate(r, svcGlacier, auth, hasAuth, authErr, payloadHash); e != nil {
		writeGlacierError(w, e)
		return
	}
	if info.op == "" {
		writeGlacierError(w, errf(http.StatusBadRequest, "UnknownOperationException", "No Glacier operation matches %s %s.", r.Method, r.URL.EscapedPath()))
		return
	}
	switch v := r.Header.Get("X-Amz-Glacier-Version"); v {
	case glacierAPIVersion:
	case "":
		// [UNCERTAIN] AWS's exact answer to a missing version header is
		// not documented; the header is "Required: Yes".
		writeGlacierError(w, missingParam("x-amz-glacier-version"))
		return
	default:
		writeGlacierError(w, invalidParam("Invalid x-amz-glacier-version: %s", v))
		return
	}
	if q.account != "-" && q.account != s.account {
		writeGlacierError(w, errf(http.StatusForbidden, "AccessDeniedException",
			"User: arn:aws:iam::%s:root is not authorized to perform: glacier:%s on resource: arn:aws:glacier:%s:%s:vaults/%s",
			s.account, info.op, s.region, q.account, q.vault))
		return
	}
	if op == nil {
		writeGlacierError(w, errf(http.StatusNotImplemented, "NotImplemented", "The freezer simulator does not implement %s %s.", r.Method, r.URL.EscapedPath()))
		return
	}
	if f := s.faults.pick(info.op, q.vault); f != nil {
		info.fault = f
		if e, handled := s.applyFault(w, r, info.op, f); handled {
			if e != nil {
				writeGlacierError(w, e)
			}
			return
		}
	}
	if e := op(w, q); e != nil {
		if e == errConnReset {
			s.resetConn(w)
			return
		}
		writeGlacierError(w, e)
	}
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func newRequestID() string { return randomID(47) }

// recorder remembers the status and byte count for the log line and lets
// handlers hijack the connection (fault injection) through Unwrap.
type recorder struct {
	http.ResponseWriter
	status   int
	written  int64
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	http.NewResponseController(r.ResponseWriter).Flush()
}
