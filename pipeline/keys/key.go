package keys

import (
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Key is a symmetric encryption key. Its material is reachable only through
// Material; every way of printing or logging a Key (String, GoString, all fmt
// verbs, zerolog, encoding/json) leaves it out. Export is the one explicit
// way to write it.
type Key struct {
	ID        string
	Name      string
	Algorithm string // canonical name, see Algorithms
	Created   time.Time

	// secret is a pointer so that even a Key sitting in an unexported field
	// of another struct, which fmt prints by reflection without calling our
	// methods, shows an address and not the bytes.
	secret *secret
}

type secret struct{ b []byte }

// ErrNoMaterial is returned by operations on a Key that has no material (the
// zero Key, or one built by hand rather than by New, Generate or Import).
var ErrNoMaterial = errors.New("key has no material")

// idDomain separates key ids from any other SHA-256 use.
const idDomain = "freezer-key-id\x00"

// ComputeID returns the id of the key with this algorithm (canonical name)
// and material: the first 16 hex digits of
// SHA-256("freezer-key-id\x00" ‖ algorithm ‖ "\x00" ‖ material). The same key
// imported twice, or on another machine, gets the same id.
func ComputeID(alg string, material []byte) string {
	h := sha256.New()
	h.Write([]byte(idDomain))
	h.Write([]byte(alg))
	h.Write([]byte{0})
	h.Write(material)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// New builds a Key from stored material (for example a catalog row). The
// algorithm may be any accepted spelling; the material is copied and its
// length checked. Legacy algorithms are accepted here: New is for keys that
// already exist.
func New(alg, name string, material []byte, created time.Time) (Key, error) {
	c, err := NormalizeAlgorithm(alg)
	if err != nil {
		return Key{}, fmt.Errorf("key %q: %w", name, err)
	}
	a, _ := lookup(c)
	if err := a.checkLen(len(material)); err != nil {
		return Key{}, fmt.Errorf("key %q: %w", name, err)
	}
	m := make([]byte, len(material))
	copy(m, material)
	return Key{
		ID:        ComputeID(c, m),
		Name:      name,
		Algorithm: c,
		Created:   created,
		secret:    &secret{b: m},
	}, nil
}

// Generate makes a new random key for alg (any accepted spelling of a
// non-legacy algorithm), reading its material from rand (crypto/rand.Reader
// outside tests).
func Generate(alg, name string, rand io.Reader) (Key, error) {
	c, err := NormalizeAlgorithm(alg)
	if err != nil {
		return Key{}, fmt.Errorf("new key %q: %w", name, err)
	}
	a, _ := lookup(c)
	if a.legacy {
		return Key{}, fmt.Errorf("new key %q: %s is a legacy 64-bit-block cipher, kept only to import keys made by the original AWS Freezer and read their archives; new keys must use one of %s",
			name, c, strings.Join(NewKeyAlgorithms(), ", "))
	}
	m := make([]byte, a.genLen)
	if _, err := io.ReadFull(rand, m); err != nil {
		return Key{}, fmt.Errorf("new key %q: reading random bytes: %w", name, err)
	}
	return Key{
		ID:        ComputeID(c, m),
		Name:      name,
		Algorithm: c,
		Created:   time.Now().UTC().Truncate(time.Second),
		secret:    &secret{b: m},
	}, nil
}

// Material returns a copy of the secret key bytes. Callers must not log,
// print or store it anywhere but the catalog or an explicit export.
func (k Key) Material() []byte {
	if k.secret == nil {
		return nil
	}
	m := make([]byte, len(k.secret.b))
	copy(m, k.secret.b)
	return m
}

// HasMaterial reports whether the key can encrypt or decrypt.
func (k Key) HasMaterial() bool { return k.secret != nil && len(k.secret.b) > 0 }

// Block returns the block cipher for the key.
func (k Key) Block() (cipher.Block, error) {
	if !k.HasMaterial() {
		return nil, fmt.Errorf("key %s: %w", k.ID, ErrNoMaterial)
	}
	a, ok := lookup(k.Algorithm)
	if !ok {
		return nil, fmt.Errorf("key %s: unknown algorithm %s (valid: %s)", k.ID, quoteShort(k.Algorithm), strings.Join(Algorithms(), ", "))
	}
	b, err := a.newBlock(k.secret.b)
	if err != nil {
		// The cipher packages' errors name only the length, never the bytes.
		return nil, fmt.Errorf("key %s: %s: %w", k.ID, a.name, err)
	}
	return b, nil
}

// BlockSize returns the cipher block size in bytes (16 for AES, 8 for the
// legacy ciphers), 0 for an unknown algorithm.
func (k Key) BlockSize() int {
	a, ok := lookup(k.Algorithm)
	if !ok {
		return 0
	}
	return a.blockSize
}

// Legacy reports whether the key's algorithm is a legacy 64-bit block cipher.
func (k Key) Legacy() bool {
	a, _ := lookup(k.Algorithm)
	return a.legacy
}

// String describes the key without its material.
func (k Key) String() string {
	name := ""
	if k.Name != "" {
		name = fmt.Sprintf(" %q", k.Name)
	}
	return fmt.Sprintf("key %s%s (%s)", k.ID, name, k.Algorithm)
}

// GoString is what %#v prints: the fields, with the material redacted.
func (k Key) GoString() string {
	return fmt.Sprintf("keys.Key{ID:%q, Name:%q, Algorithm:%q, Created:%q, material:<redacted>}",
		k.ID, k.Name, k.Algorithm, k.Created.Format(time.RFC3339))
}

// Format makes every fmt verb print the redacted forms: %v and %s the
// String, %+v the fields, %#v the GoString, %q the quoted String. Other verbs
// (%x, %d …) print a marker and never the material.
func (k Key) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		switch {
		case f.Flag('#'):
			io.WriteString(f, k.GoString())
		case f.Flag('+'):
			fmt.Fprintf(f, "{ID:%s Name:%s Algorithm:%s Created:%s material:<redacted>}",
				k.ID, k.Name, k.Algorithm, k.Created.Format(time.RFC3339))
		default:
			io.WriteString(f, k.String())
		}
	case 's':
		io.WriteString(f, k.String())
	case 'q':
		fmt.Fprintf(f, "%q", k.String())
	default:
		fmt.Fprintf(f, "%%!%c(keys.Key=%s)", verb, k.ID)
	}
}

// MarshalZerologObject lets `log.Object("key", k)` log the key's identity
// without its material.
func (k Key) MarshalZerologObject(e *zerolog.Event) {
	e.Str("id", k.ID).Str("name", k.Name).Str("algorithm", k.Algorithm)
	if !k.Created.IsZero() {
		e.Time("created", k.Created)
	}
}

// OpenSSLKeyHex returns the hex key to give `openssl enc -K` for this key.
// For AES and 3DES that is the material itself. `openssl enc` always uses a
// 16-byte Blowfish key (zero-padding shorter ones, cutting longer ones), so a
// Blowfish key of 4 or 8 bytes is written as the 16-byte key with the same
// key schedule (its bytes repeated: Blowfish cycles the key over its
// subkeys); other Blowfish lengths cannot be expressed and return an error
// saying to decrypt with freezer instead. Like Export, the result is secret.
func OpenSSLKeyHex(k Key) (string, error) {
	if !k.HasMaterial() {
		return "", fmt.Errorf("key %s: %w", k.ID, ErrNoMaterial)
	}
	m := k.secret.b
	if k.Algorithm != BlowfishCBC {
		return hex.EncodeToString(m), nil
	}
	const opensslBF = 16
	if opensslBF%len(m) != 0 {
		return "", fmt.Errorf("key %s: a %d-byte bf-cbc key cannot be given to `openssl enc -K` (it only takes 16-byte Blowfish keys, or 4 and 8 bytes repeated); decrypt this archive with freezer", k.ID, len(m))
	}
	return hex.EncodeToString([]byte(strings.Repeat(string(m), opensslBF/len(m)))), nil
}
