// Package keys holds freezer's symmetric encryption keys: the algorithms they
// are for, their ids, generation, and the JSON form they are exported and
// imported in.
//
// Algorithms carry OpenSSL's cipher names so that the recovery recipe (an
// `openssl enc -d -<algorithm>` command) can be read straight off a key or an
// archive description.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/blowfish"

	"freezer/pipeline/crypt/aescbc"
)

// Canonical algorithm names (OpenSSL's cipher names).
const (
	AES256CBC    = "aes-256-cbc"
	AES192CBC    = "aes-192-cbc"
	AES128CBC    = "aes-128-cbc"
	BlowfishCBC  = "bf-cbc"
	TripleDESCBC = "des-ede3-cbc"

	// Default is the algorithm new keys use unless told otherwise.
	Default = AES256CBC
)

type algorithm struct {
	name      string
	blockSize int
	// keyLens lists the accepted material lengths in bytes; genLen is the
	// length Generate makes.
	keyLens []int
	genLen  int
	// legacy algorithms have a 64-bit block; they exist so keys made by the
	// original AWS Freezer can be imported and their archives read, never to
	// make new keys.
	legacy   bool
	newBlock func(key []byte) (cipher.Block, error)
}

func newBlowfish(key []byte) (cipher.Block, error) { return blowfish.NewCipher(key) }

// blowfishKeyLens: Blowfish takes 4..56 bytes (32..448 bits), the range the
// Python libraries of the original tool accepted. `openssl enc -K` uses
// exactly 16 bytes; see OpenSSLKeyHex for the others.
var blowfishKeyLens = func() []int {
	var l []int
	for n := 4; n <= 56; n++ {
		l = append(l, n)
	}
	return l
}()

// algorithms is ordered: new-key algorithms first, default first.
var algorithms = []algorithm{
	{name: AES256CBC, blockSize: aes.BlockSize, keyLens: []int{32}, genLen: 32, newBlock: aescbc.NewCipher},
	{name: AES192CBC, blockSize: aes.BlockSize, keyLens: []int{24}, genLen: 24, newBlock: aescbc.NewCipher},
	{name: AES128CBC, blockSize: aes.BlockSize, keyLens: []int{16}, genLen: 16, newBlock: aescbc.NewCipher},
	{name: BlowfishCBC, blockSize: blowfish.BlockSize, keyLens: blowfishKeyLens, genLen: 16, legacy: true, newBlock: newBlowfish},
	{name: TripleDESCBC, blockSize: des.BlockSize, keyLens: []int{24}, genLen: 24, legacy: true, newBlock: des.NewTripleDESCipher},
}

// aliases maps accepted spellings (lower case, '_' read as '-') to canonical
// names. OpenSSL's own short names are here ("aes256", "bf", "des3"); "des-ede3"
// is deliberately absent because OpenSSL means ECB mode by it.
var aliases = map[string]string{
	"aes-256-cbc": AES256CBC, "aes256": AES256CBC, "aes-256": AES256CBC, "aes256-cbc": AES256CBC, "aes256cbc": AES256CBC,
	"aes-192-cbc": AES192CBC, "aes192": AES192CBC, "aes-192": AES192CBC, "aes192-cbc": AES192CBC, "aes192cbc": AES192CBC,
	"aes-128-cbc": AES128CBC, "aes128": AES128CBC, "aes-128": AES128CBC, "aes128-cbc": AES128CBC, "aes128cbc": AES128CBC,
	"bf-cbc": BlowfishCBC, "bf": BlowfishCBC, "blowfish": BlowfishCBC, "blowfish-cbc": BlowfishCBC,
	"des-ede3-cbc": TripleDESCBC, "des3": TripleDESCBC, "3des": TripleDESCBC, "3des-cbc": TripleDESCBC,
	"des3-cbc": TripleDESCBC, "tripledes": TripleDESCBC, "tripledes-cbc": TripleDESCBC, "triple-des-cbc": TripleDESCBC,
}

func lookup(canonical string) (algorithm, bool) {
	for _, a := range algorithms {
		if a.name == canonical {
			return a, true
		}
	}
	return algorithm{}, false
}

// Algorithms lists the canonical algorithm names, the default first and the
// legacy (import-only) ones last.
func Algorithms() []string {
	out := make([]string, len(algorithms))
	for i, a := range algorithms {
		out[i] = a.name
	}
	return out
}

// NewKeyAlgorithms lists the algorithms Generate accepts.
func NewKeyAlgorithms() []string {
	var out []string
	for _, a := range algorithms {
		if !a.legacy {
			out = append(out, a.name)
		}
	}
	return out
}

// NormalizeAlgorithm returns the canonical name for an accepted spelling
// (case-insensitive, e.g. "AES-256-CBC", "aes256", "blowfish-cbc", "3des-cbc").
func NormalizeAlgorithm(name string) (string, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	if c, ok := aliases[n]; ok {
		return c, nil
	}
	return "", fmt.Errorf("unknown algorithm %s (valid: %s)", quoteShort(name), strings.Join(Algorithms(), ", "))
}

// IsLegacy reports whether alg (any accepted spelling) is a legacy 64-bit
// block cipher kept only to read the original tool's archives.
func IsLegacy(alg string) bool {
	c, err := NormalizeAlgorithm(alg)
	if err != nil {
		return false
	}
	a, _ := lookup(c)
	return a.legacy
}

// BlockSizeOf returns the cipher block size in bytes of alg (any accepted
// spelling), which is also the IV length of an archive.
func BlockSizeOf(alg string) (int, error) {
	c, err := NormalizeAlgorithm(alg)
	if err != nil {
		return 0, err
	}
	a, _ := lookup(c)
	return a.blockSize, nil
}

func (a algorithm) checkLen(n int) error {
	if slices.Contains(a.keyLens, n) {
		return nil
	}
	want := fmt.Sprintf("%d bytes (%d hex digits)", a.keyLens[0], 2*a.keyLens[0])
	if len(a.keyLens) > 1 {
		want = fmt.Sprintf("%d to %d bytes", a.keyLens[0], a.keyLens[len(a.keyLens)-1])
	}
	return fmt.Errorf("%s needs a key of %s, got %d bytes", a.name, want, n)
}

// quoteShort quotes a value taken from outside input for an error message,
// unless it could be key material: anything long, or hex-like and 8
// characters or more, is described by its length only.
func quoteShort(s string) string {
	if len(s) > 40 || (len(s) >= 8 && isHexLike(s)) {
		return fmt.Sprintf("(a value of %d characters, not shown)", len(s))
	}
	return fmt.Sprintf("%q", s)
}

func isHexLike(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
