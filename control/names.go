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
		return fmt.Errorf("vault name %q must be 1 to 255 characters: %w", name, ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("vault name %q may only hold letters, digits, _ - and .: %w", name, ErrInvalid)
		}
	}
	if name == "." || name == ".." || name == ControlDir {
		return fmt.Errorf("vault name %q is reserved: %w", name, ErrInvalid)
	}
	return nil
}

// CheckArchiveName accepts what can be one file name in the mount: any
// UTF-8 without '/', NUL or control characters, not "." or "..", at most
// 255 bytes.
func CheckArchiveName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("archive name %q must be 1 to 255 bytes: %w", name, ErrInvalid)
	case name == "." || name == "..":
		return fmt.Errorf("archive name %q is reserved: %w", name, ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("archive name %q is not valid UTF-8: %w", name, ErrInvalid)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("archive name %q may not contain '/': %w", name, ErrInvalid)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("archive name %q contains a control character: %w", name, ErrInvalid)
		}
	}
	return nil
}

// SplitArchivePath splits "vault/archive".
func SplitArchivePath(p string) (vault, name string, err error) {
	vault, name, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || vault == "" || name == "" {
		return "", "", fmt.Errorf("%q is not VAULT/ARCHIVE: %w", p, ErrInvalid)
	}
	return vault, name, nil
}
