package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature Version 4 verification. The canonical request is rebuilt from
// what arrived on the wire, following the AWS SigV4 rules as aws-sdk-go-v2
// implements them (aws/signer/v4): the escaped path is escaped once more
// (every service but S3 double-encodes), query pairs are sorted by key then
// value with %20 for space, signed header values are trimmed with inner runs
// of spaces collapsed, and content-length is taken from the request length.

const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	maxClockSkew  = 15 * time.Minute
)

// authHeader is a parsed SigV4 Authorization header.
type authHeader struct {
	accessKey     string
	date          string // yyyymmdd from the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

var errBadAuthHeader = errors.New("malformed Authorization header")

// parseAuthHeader parses
// "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/glacier/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthHeader(v string) (authHeader, error) {
	var a authHeader
	rest, ok := strings.CutPrefix(v, sigAlgorithm+" ")
	if !ok {
		return a, errBadAuthHeader
	}
	var cred, signed string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, errBadAuthHeader
		}
		switch k {
		case "Credential":
			cred, haveCred = val, true
		case "SignedHeaders":
			signed, haveSigned = val, true
		case "Signature":
			a.signature, haveSig = val, true
		default:
			return a, errBadAuthHeader
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return a, errBadAuthHeader
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return a, errBadAuthHeader
	}
	a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	if len(a.date) != 8 || a.region == "" || a.service == "" {
		return a, errBadAuthHeader
	}
	if signed == "" {
		return a, errBadAuthHeader
	}
	a.signedHeaders = strings.Split(signed, ";")
	for i, h := range a.signedHeaders {
		if h == "" || h != strings.ToLower(h) || (i > 0 && a.signedHeaders[i-1] >= h) {
			return a, errBadAuthHeader
		}
	}
	if len(a.signature) != 64 {
		return a, errBadAuthHeader
	}
	if _, err := hex.DecodeString(a.signature); err != nil {
		return a, errBadAuthHeader
	}
	return a, nil
}

// verifier checks SigV4 signatures against the one accepted credential.
type verifier struct {
	accessKey string
	secretKey string
	region    string
	// wallNow is the real time: clients sign with their own wall clock, so
	// the skew check must not use the simulated Clock.
	wallNow func() time.Time
}

const signatureMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verify checks the request's signature for the given service. payloadHash is
// the hex SHA-256 of the body (for Glacier uploads, the x-amz-content-sha256
// header, which is what Glacier signs against).
func (v *verifier) verify(r *http.Request, a authHeader, service, payloadHash string) *apiError {
	if a.accessKey != v.accessKey {
		// Status per the Glacier error table (developer guide): 400.
		return errf(http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return errf(http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate)
	}
	if a.date != amzDate[:8] {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, amzDate[:8], amzDate)
	}
	if a.region != v.region {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'.", a.region)
	}
	if a.service != service {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to correct service: '%s'.", service)
	}
	now := v.wallNow().UTC()
	if t.Before(now.Add(-maxClockSkew)) {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-maxClockSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}
	if t.After(now.Add(maxClockSkew)) {
		return errf(http.StatusForbidden, "InvalidSignatureException", "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(maxClockSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return errf(http.StatusForbidden, "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	query, err := canonicalQuery(r.URL.RawQuery)
	if err != nil {
		return errf(http.StatusForbidden, "InvalidSignatureException", signatureMismatch)
	}
	key := signingKey(v.secretKey, a.date, a.region, a.service)
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	// The signer drops a default port from Host; accept either form.
	for _, host := range hostCandidates(r) {
		creq := strings.Join([]string{
			r.Method,
			escapePath(r.URL.EscapedPath()),
			query,
			canonicalHeaders(r, host, a.signedHeaders),
			strings.Join(a.signedHeaders, ";"),
			payloadHash,
		}, "\n")
		sum := sha256.Sum256([]byte(creq))
		sts := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(key, []byte(sts)))
		if hmac.Equal([]byte(want), []byte(a.signature)) {
			return nil
		}
	}
	return errf(http.StatusForbidden, "InvalidSignatureException", signatureMismatch)
}

func hostCandidates(r *http.Request) []string {
	host := r.Host
	for _, port := range []string{":80", ":443"} {
		if h, ok := strings.CutSuffix(host, port); ok {
			return []string{host, h}
		}
	}
	return []string{host}
}

func canonicalHeaders(r *http.Request, host string, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		switch name {
		case "host":
			b.WriteString(stripExcessSpaces(host))
		case "content-length":
			if r.ContentLength >= 0 {
				b.WriteString(strconv.FormatInt(r.ContentLength, 10))
			}
		default:
			vals := r.Header.Values(name)
			for i, val := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strings.TrimSpace(stripExcessSpaces(val)))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func canonicalQuery(raw string) (string, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return "", err
	}
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range vals {
		for _, v := range vs {
			pairs = append(pairs, kv{queryEscape(k), queryEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// escapePath escapes every byte except unreserved characters and '/'.
func escapePath(p string) string {
	if p == "" {
		return "/"
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || c == '-' || c == '.' || c == '_' || c == '~' ||
			('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// stripExcessSpaces trims spaces at both ends and collapses inner runs of
// spaces to one, as the SigV4 canonical header rule requires.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
