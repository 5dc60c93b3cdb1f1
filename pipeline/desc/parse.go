package desc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"freezer/pipeline/keys"
)

// Sources Parse recognises.
const (
	SourceFreezer      = "freezer"        // freezer's own form (Description is set)
	SourceFastGlacier  = "fastglacier"    // FastGlacier's <m><v>…</v><p>…</p><lm>…</lm></m>, and its older <ArchiveMetadata><Path>
	SourceMtAwsGlacier = "mt-aws-glacier" // mt-aws-glacier's "mt2 <base64url JSON>" (and the older mt1)
	SourceCloudBerry   = "cloudberry"     // CloudBerry's {"Path":…,"UTCDateModified":…}
	SourceText         = "text"           // anything else, including the empty description
)

// Parsed is what Parse makes of a description.
type Parsed struct {
	Source string
	// DisplayName is a name to show the archive under: the freezer name, the
	// base name of another tool's path, or a shortened text. It holds no '/'
	// or control characters and is valid UTF-8, at most 200 bytes; it is ""
	// when the description gives nothing usable (the caller picks a name,
	// such as the archive id's start).
	DisplayName string
	// Description is set exactly when Source is SourceFreezer.
	Description *Description
	// Path is the file path another tool recorded (its bytes as decoded).
	Path string
	// Modified is the modification time another tool recorded, if any.
	Modified time.Time
	// Problem says why a description in freezer's form could not be read
	// (another version, a damaged field); "" otherwise.
	Problem string
}

const (
	maxDisplayBytes     = 200
	maxTextDisplayBytes = 64
)

// Parse reads any description. It never fails and never panics: what it
// cannot recognise is free text.
func Parse(s string) Parsed {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "freezer ") {
		d, name, problem := parseFreezer(t)
		if d != nil {
			return Parsed{Source: SourceFreezer, DisplayName: displayName(d.Name, maxDisplayBytes), Description: d}
		}
		if problem != "" {
			p := textParsed(t)
			p.Problem = problem
			if name != "" {
				p.DisplayName = displayName(name, maxDisplayBytes)
			}
			return p
		}
	}
	u := unquote(t)
	switch {
	case strings.HasPrefix(u, "<m>"):
		if p, ok := parseFastGlacier(u); ok {
			return p
		}
	case strings.HasPrefix(u, "<ArchiveMetadata>"):
		if p, ok := parseFastGlacierV1(u); ok {
			return p
		}
	case strings.HasPrefix(u, "{"):
		if p, ok := parseCloudBerry(u); ok {
			return p
		}
	case strings.HasPrefix(t, "mt1 ") || strings.HasPrefix(t, "mt2 "):
		if p, ok := parseMtAws(t); ok {
			return p
		}
	}
	return textParsed(t)
}

func textParsed(t string) Parsed {
	return Parsed{Source: SourceText, DisplayName: displayName(t, maxTextDisplayBytes)}
}

// unquote removes one pair of surrounding double quotes, which inventory
// CSV handling sometimes leaves around XML and JSON descriptions.
func unquote(t string) string {
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		return strings.TrimSpace(t[1 : len(t)-1])
	}
	return t
}

var versionToken = regexp.MustCompile(`^v[0-9]+$`)

// parseFreezer reads freezer's form. When it fails on something that is
// clearly meant to be that form, problem says why and name is the decoded
// name if one was readable.
func parseFreezer(t string) (d *Description, name, problem string) {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] > 0x7e {
			return nil, "", ""
		}
	}
	head, text, _ := strings.Cut(t, " : ")
	fields := strings.Fields(head)
	if len(fields) < 2 || !versionToken.MatchString(fields[1]) {
		return nil, "", "" // free text that happens to start with "freezer"
	}
	for _, f := range fields[2:] {
		if v, ok := strings.CutPrefix(f, "name="); ok {
			if n, err := decodeName(v); err == nil {
				name = n
			}
		}
	}
	if fields[1] != "v1" {
		return nil, name, fmt.Sprintf("freezer description %s: this freezer reads v1 only; a newer freezer may read it", fields[1])
	}
	fail := func(format string, args ...any) (*Description, string, string) {
		return nil, name, "freezer v1 description: " + fmt.Sprintf(format, args...)
	}

	out := Description{Version: 1}
	var haveName, haveKey bool
	for _, f := range fields[2:] {
		switch {
		case strings.HasPrefix(f, "name="):
			if haveName {
				return fail("name given twice")
			}
			n, err := decodeName(f[len("name="):])
			if err != nil {
				return fail("name: %v", err)
			}
			out.Name, haveName = n, true
		case strings.HasPrefix(f, "key="):
			if haveKey {
				return fail("key given twice")
			}
			out.KeyID, haveKey = f[len("key="):], true
		case f == "tar" || strings.HasPrefix(f, "tar+"):
			if out.Compression != "" {
				return fail("payload given twice")
			}
			for c, tok := range payloadTokens {
				if tok == f {
					out.Compression = c
				}
			}
			if out.Compression == "" {
				return fail("unknown payload %q (valid: tar, tar+gzip, tar+bzip2, tar+zstd)", f)
			}
		default:
			if out.Cipher != "" {
				return fail("unknown or repeated token %q", f)
			}
			if f == unencryptedToken {
				out.Cipher = CipherNone
				continue
			}
			c, err := keys.NormalizeAlgorithm(f)
			if err != nil || c != f {
				return fail("unknown token %q (expected a cipher such as aes-256-cbc, or unencrypted)", f)
			}
			out.Cipher = c
		}
	}
	switch {
	case !haveName:
		return fail("no name")
	case out.Compression == "":
		return fail("no payload type (tar, tar+gzip …)")
	case out.Cipher == "":
		return fail("no cipher (aes-256-cbc …, or unencrypted)")
	}
	var err error
	if out.Text, err = decodeText(text); err != nil {
		return fail("text: %v", err)
	}
	if !haveKey && out.Cipher != CipherNone {
		return fail("encrypted with %s but no key= id", out.Cipher)
	}
	n, err := normalize(out)
	if err != nil {
		return fail("%v", err)
	}
	return &n, name, ""
}

func decodeName(v string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("empty")
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b = append(b, v[i])
			continue
		}
		if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
			return "", fmt.Errorf("bad escape at character %d", i+1)
		}
		n, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
		b = append(b, byte(n))
		i += 2
	}
	return string(b), nil
}

// decodeText undoes encodeText: %XX with two hex digits is a byte, any other
// '%' is itself.
func decodeText(v string) (string, error) {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			n, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
			continue
		}
		b = append(b, v[i])
	}
	return string(b), nil
}

// toolTime reads the compact ISO 8601 times FastGlacier, mt-aws-glacier and
// CloudBerry write (20190121T085242Z), with the leniency mt-aws-glacier's
// own reader has (separators, fractions, a leap second).
var toolTime = regexp.MustCompile(`(?i)^\s*(\d{4})[-\s]*(\d{2})[-\s]*(\d{2})\s*T\s*(\d{2})[:\s]*(\d{2})[:\s]*(\d{2})[,.\d]{0,10}\s*Z\s*$`)

func parseToolTime(s string) time.Time {
	m := toolTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	if n[1] < 1 || n[1] > 12 || n[2] < 1 || n[2] > 31 || n[3] > 23 || n[4] > 59 || n[5] > 60 {
		return time.Time{}
	}
	return time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC)
}

// element returns the trimmed content of the first <tag>…</tag> in s.
func element(s, tag string) (string, bool) {
	open, closing := "<"+tag+">", "</"+tag+">"
	i := strings.Index(s, open)
	if i < 0 {
		return "", false
	}
	rest := s[i+len(open):]
	j := strings.Index(rest, closing)
	if j < 0 {
		return "", false
	}
	return strings.TrimSpace(rest[:j]), true
}

var xmlUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

// decodeToolPath reads a base64 path (standard alphabet, padded or not); if
// it is not base64 of readable text, it is taken as the path itself.
func decodeToolPath(p string) string {
	compact := strings.Join(strings.Fields(p), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(compact); err == nil && readable(b) {
			return string(b)
		}
	}
	return xmlUnescaper.Replace(p)
}

func readable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func parseFastGlacier(u string) (Parsed, bool) {
	if !strings.HasSuffix(u, "</m>") {
		return Parsed{}, false
	}
	v, okV := element(u, "v")
	p, okP := element(u, "p")
	if !okV || !okP || p == "" {
		return Parsed{}, false
	}
	if _, err := strconv.Atoi(v); err != nil {
		return Parsed{}, false
	}
	path := decodeToolPath(p)
	lm, _ := element(u, "lm")
	return pathParsed(SourceFastGlacier, path, parseToolTime(lm)), true
}

func parseFastGlacierV1(u string) (Parsed, bool) {
	if !strings.HasSuffix(u, "</ArchiveMetadata>") {
		return Parsed{}, false
	}
	p, ok := element(u, "Path")
	if !ok || p == "" {
		return Parsed{}, false
	}
	return pathParsed(SourceFastGlacier, decodeToolPath(p), time.Time{}), true
}

func parseCloudBerry(u string) (Parsed, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(u), &m); err != nil {
		return Parsed{}, false
	}
	var path, modified string
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "path":
			path = s
		case "utcdatemodified":
			modified = s
		}
	}
	if strings.TrimSpace(path) == "" {
		return Parsed{}, false
	}
	return pathParsed(SourceCloudBerry, path, parseToolTime(modified)), true
}

func parseMtAws(t string) (Parsed, bool) {
	f := strings.Fields(t)
	if len(f) != 2 || len(f[1]) > MaxLen {
		return Parsed{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(f[1], "="))
	if err != nil {
		return Parsed{}, false
	}
	if f[0] == "mt1" {
		// mt1 wrote its UTF-8 JSON through a Latin-1 to UTF-8 conversion:
		// every character of the decoded text is one byte of the JSON.
		if !utf8.Valid(raw) {
			return Parsed{}, false
		}
		b := make([]byte, 0, len(raw))
		for _, r := range string(raw) {
			if r > 0xff {
				return Parsed{}, false
			}
			b = append(b, byte(r))
		}
		raw = b
	}
	var meta struct {
		Filename *string `json:"filename"`
		Mtime    *string `json:"mtime"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Filename == nil || *meta.Filename == "" {
		return Parsed{}, false
	}
	var mtime time.Time
	if meta.Mtime != nil {
		mtime = parseToolTime(*meta.Mtime)
	}
	return pathParsed(SourceMtAwsGlacier, *meta.Filename, mtime), true
}

func pathParsed(source, path string, modified time.Time) Parsed {
	base := strings.TrimRight(path, "/")
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	return Parsed{Source: source, DisplayName: displayName(base, maxDisplayBytes), Path: path, Modified: modified}
}

// displayName makes s safe to show and to use as a file name: valid UTF-8,
// no control characters or '/', trimmed, at most max bytes (cut between
// characters, marked with "..."). "." and ".." become "".
func displayName(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '/' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max - len(shortened)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut]) + shortened
	}
	if s == "." || s == ".." {
		return ""
	}
	return s
}
