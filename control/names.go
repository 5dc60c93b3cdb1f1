package control

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ControlDir is the mount's control folder; no vault may take its name.
const ControlDir = ".control"

// CheckVaultName applies Glacier's rule (1-255 of a-z A-Z 0-9 _ - .) and
// keeps the mount's own names free.
func CheckVaultName(name string) error {
	if name == "" || len(name) > 255 {
		return mark(ErrInvalid, fmt.Errorf("vault name %q must be 1 to 255 characters", name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return mark(ErrInvalid, fmt.Errorf("vault name %q may only hold letters, digits, _ - and .", name))
		}
	}
	if name == "." || name == ".." || name == ControlDir {
		return mark(ErrInvalid, fmt.Errorf("vault name %q is reserved", name))
	}
	return nil
}

// CheckArchiveName accepts what can be one file name in the mount: any
// UTF-8 without '/', NUL or control characters, not "." or ".." or the
// mount's ".contents", at most 255 bytes.
func CheckArchiveName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return mark(ErrInvalid, fmt.Errorf("archive name %q must be 1 to 255 bytes", name))
	case name == "." || name == ".." || name == ReservedArchiveName:
		return mark(ErrInvalid, fmt.Errorf("archive name %q is reserved", name))
	case !utf8.ValidString(name):
		return mark(ErrInvalid, fmt.Errorf("archive name %s is not valid UTF-8", Quote(name)))
	case strings.ContainsAny(name, "/\x00"):
		return mark(ErrInvalid, fmt.Errorf("archive name %q may not contain '/'", name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return mark(ErrInvalid, fmt.Errorf("archive name %q contains a control character", name))
		}
	}
	return nil
}

// SplitArchivePath splits "vault/archive".
func SplitArchivePath(p string) (vault, name string, err error) {
	vault, name, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || vault == "" || name == "" {
		return "", "", mark(ErrInvalid, fmt.Errorf("%q is not VAULT/ARCHIVE", p))
	}
	return vault, name, nil
}
