// Package desc writes and reads Glacier archive descriptions.
//
// freezer puts everything needed to recover an archive by hand into its
// description, readable by a person and parseable by a program:
//
//	freezer v1 name=holiday%202024 tar+gzip aes-256-cbc key=c2feb984a8d97d40 : photos from Crete
//
// Tokens, separated by single spaces, in this order:
//
//   - "freezer v1": the form and its version.
//   - name=NAME: the archive name, percent-encoded: every byte outside
//     printable ASCII, and space, '%', '=' and ':', is written %XX (upper-case
//     hex of the byte; non-ASCII names are their UTF-8 bytes, and names that
//     are not valid UTF-8 survive too).
//   - the payload: "tar" (no compression), "tar+gzip", "tar+bzip2" or
//     "tar+zstd".
//   - the cipher: "unencrypted", or an OpenSSL cipher name (aes-256-cbc …)
//     followed by key=KEYID, the id of the key (see package keys).
//   - optionally " : " and the user's free text, trimmed of surrounding
//     white space. In the text, bytes outside printable ASCII are written %XX,
//     and '%' itself only where it is followed by two hex digits (so "50% off"
//     stays as it is and every text comes back exactly). The first " : " ends
//     the tokens; none of them can contain it.
//
// Glacier allows 1,024 printable ASCII characters. When the whole is longer,
// the text is shortened and ends in "..."; when the tokens alone do not fit,
// Format fails.
package desc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"freezer/pipeline/keys"
)

// MaxLen is Glacier's limit on an archive description, in characters (all
// of them printable ASCII, 0x20–0x7E).
const MaxLen = 1024

// Version is the version of the description form Format writes.
const Version = 1

// Compression values.
const (
	CompressionNone  = "none"
	CompressionGzip  = "gzip"
	CompressionBzip2 = "bzip2"
	CompressionZstd  = "zstd"
)

// CipherNone marks an unencrypted archive.
const CipherNone = "none"

// shortened ends a text Format had to cut.
const shortened = "..."

// Description is what a freezer description records.
type Description struct {
	Version     int    // 1; 0 is read as the current version by Format
	Name        string // the archive name; any bytes
	Compression string // none, gzip, bzip2 or zstd
	Cipher      string // none, or a keys algorithm name
	KeyID       string // the key's id; set exactly when Cipher is not none
	Text        string // the user's free text
}

var payloadTokens = map[string]string{
	CompressionNone:  "tar",
	CompressionGzip:  "tar+gzip",
	CompressionBzip2: "tar+bzip2",
	CompressionZstd:  "tar+zstd",
}

const unencryptedToken = "unencrypted"

// Format writes d as a description. The result is printable ASCII of at most
// MaxLen characters; the text may have been shortened (it then ends in
// "..."). Format fails when a field is invalid or the name alone cannot fit.
func Format(d Description) (string, error) {
	d, err := normalize(d)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("freezer v1 name=")
	b.WriteString(encodeName(d.Name))
	b.WriteByte(' ')
	b.WriteString(payloadTokens[d.Compression])
	b.WriteByte(' ')
	if d.Cipher == CipherNone {
		b.WriteString(unencryptedToken)
	} else {
		b.WriteString(d.Cipher)
		b.WriteString(" key=")
		b.WriteString(d.KeyID)
	}
	head := b.String()
	if len(head) > MaxLen {
		nameLen := len(encodeName(d.Name))
		return "", fmt.Errorf("archive name too long for a Glacier description: encoded it takes %d characters (bytes outside printable ASCII, spaces, '%%', '=' and ':' take 3 each), and the other fields leave room for %d of the %d a description may hold",
			nameLen, MaxLen-(len(head)-nameLen), MaxLen)
	}
	if d.Text == "" {
		return head, nil
	}
	const sep = " : "
	room := MaxLen - len(head) - len(sep)
	text := encodeText(d.Text, room)
	if text == "" {
		return head, nil
	}
	return head + sep + text, nil
}

// normalize validates d and puts it in canonical form: what Parse returns
// for Format's output.
func normalize(d Description) (Description, error) {
	if d.Version != 0 && d.Version != Version {
		return d, fmt.Errorf("description version %d: this freezer writes version %d", d.Version, Version)
	}
	d.Version = Version
	if d.Name == "" {
		return d, errors.New("description: the archive name is empty")
	}
	if _, ok := payloadTokens[d.Compression]; !ok {
		return d, fmt.Errorf("description: unknown compression %q (valid: none, gzip, bzip2, zstd)", d.Compression)
	}
	switch {
	case d.Cipher == CipherNone:
		if d.KeyID != "" {
			return d, fmt.Errorf("description: key id %q given for an unencrypted archive", d.KeyID)
		}
	case d.Cipher == "":
		return d, errors.New(`description: cipher is empty (use "none" for an unencrypted archive)`)
	default:
		c, err := keys.NormalizeAlgorithm(d.Cipher)
		if err != nil {
			return d, fmt.Errorf("description: cipher: %w", err)
		}
		d.Cipher = c
		if !validKeyID(d.KeyID) {
			return d, fmt.Errorf("description: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", d.KeyID)
		}
	}
	d.Text = strings.TrimSpace(d.Text)
	return d, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const upperHex = "0123456789ABCDEF"

func appendEscape(b []byte, c byte) []byte {
	return append(b, '%', upperHex[c>>4], upperHex[c&15])
}

// encodeName percent-encodes every byte that is not printable ASCII, and
// space, '%', '=' and ':'.
func encodeName(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '=' || c == ':' {
			b = appendEscape(b, c)
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// encodeText encodes text (see the package comment) into at most room
// characters; when it does not fit, it is cut between characters of the
// original text and "..." is appended. It returns "" when not even that
// fits.
func encodeText(text string, room int) string {
	var b []byte
	cut := -1 // length of b before the unit that no longer fits with "..."
	for i := 0; i < len(text); {
		start := len(b)
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError {
			size = 1
		}
		for j := i; j < i+size; j++ {
			c := text[j]
			switch {
			case c < ' ' || c >= 0x7f:
				b = appendEscape(b, c)
			case c == '%' && j+2 < len(text) && isHex(text[j+1]) && isHex(text[j+2]):
				b = appendEscape(b, c)
			default:
				b = append(b, c)
			}
		}
		i += size
		if cut < 0 && len(b) > room-len(shortened) {
			cut = start
		}
		if len(b) > room {
			out := strings.TrimRight(string(b[:cut]), " ")
			if out == "" || len(out)+len(shortened) > room {
				return ""
			}
			return out + shortened
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
