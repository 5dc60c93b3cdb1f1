package keys

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/blowfish"
)

// seeded returns a deterministic, high-entropy byte stream so that material
// is distinctive enough to search for in output.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range s {
		s[i] = byte(seed>>(8*(i%8))) ^ byte(i*37)
	}
	return rand.NewChaCha8(s)
}

func material(t *testing.T, seed uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	seeded(seed).Read(b)
	return b
}

// assertNoMaterial fails if out shows m in any form a leak would take.
func assertNoMaterial(t *testing.T, what, out string, m []byte) {
	t.Helper()
	forms := map[string]string{
		"hex":     hex.EncodeToString(m),
		"HEX":     strings.ToUpper(hex.EncodeToString(m)),
		"raw":     string(m),
		"decimal": strings.Trim(fmt.Sprint(m), "[]"),
		"base64":  base64.StdEncoding.EncodeToString(m),
	}
	if len(m) >= 4 {
		forms["hex prefix"] = hex.EncodeToString(m[:4])
	}
	for name, f := range forms {
		if strings.Contains(out, f) {
			t.Errorf("%s leaks the key material (%s form): %q", what, name, out)
		}
	}
}

func TestNormalizeAlgorithm(t *testing.T) {
	tests := []struct{ in, want string }{
		{"aes-256-cbc", AES256CBC},
		{"AES-256-CBC", AES256CBC},
		{"aes256", AES256CBC},
		{" AES_256_CBC ", AES256CBC},
		{"aes-192-cbc", AES192CBC},
		{"aes128", AES128CBC},
		{"bf-cbc", BlowfishCBC},
		{"BF", BlowfishCBC},
		{"blowfish-cbc", BlowfishCBC},
		{"Blowfish", BlowfishCBC},
		{"des-ede3-cbc", TripleDESCBC},
		{"3des-cbc", TripleDESCBC},
		{"DES3", TripleDESCBC},
	}
	for _, tt := range tests {
		got, err := NormalizeAlgorithm(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAlgorithm(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "aes", "aes-256-gcm", "des-ede3", "des", "rc4", "chacha20"} {
		_, err := NormalizeAlgorithm(bad)
		if err == nil {
			t.Errorf("NormalizeAlgorithm(%q) accepted", bad)
			continue
		}
		for _, a := range Algorithms() {
			if !strings.Contains(err.Error(), a) {
				t.Errorf("error for %q does not list %s: %v", bad, a, err)
			}
		}
	}
}

func TestAlgorithmFacts(t *testing.T) {
	if got := Algorithms()[0]; got != Default || Default != AES256CBC {
		t.Errorf("default algorithm = %s, first listed %s; want aes-256-cbc both", Default, got)
	}
	if got := NewKeyAlgorithms(); strings.Join(got, ",") != "aes-256-cbc,aes-192-cbc,aes-128-cbc" {
		t.Errorf("NewKeyAlgorithms = %v", got)
	}
	for alg, want := range map[string]int{AES256CBC: 16, AES192CBC: 16, AES128CBC: 16, BlowfishCBC: 8, TripleDESCBC: 8} {
		if bs, err := BlockSizeOf(alg); err != nil || bs != want {
			t.Errorf("BlockSizeOf(%s) = %d, %v; want %d", alg, bs, err, want)
		}
		if IsLegacy(alg) != (want == 8) {
			t.Errorf("IsLegacy(%s) = %v", alg, IsLegacy(alg))
		}
	}
}

func TestGenerate(t *testing.T) {
	for alg, n := range map[string]int{AES256CBC: 32, AES192CBC: 24, AES128CBC: 16, "AES256": 32} {
		k, err := Generate(alg, "photos", seeded(1))
		if err != nil {
			t.Fatalf("Generate(%s): %v", alg, err)
		}
		m := k.Material()
		if len(m) != n {
			t.Errorf("Generate(%s): %d bytes of material, want %d", alg, len(m), n)
		}
		if want := material(t, 1, n); !bytes.Equal(m, want) {
			t.Errorf("Generate(%s) did not take its material from the given reader", alg)
		}
		if k.ID != ComputeID(k.Algorithm, m) || len(k.ID) != 16 {
			t.Errorf("Generate(%s): id %q is not the derived id", alg, k.ID)
		}
		if k.Created.IsZero() || k.Name != "photos" {
			t.Errorf("Generate(%s): created %v, name %q", alg, k.Created, k.Name)
		}
		if _, err := k.Block(); err != nil {
			t.Errorf("Generate(%s).Block: %v", alg, err)
		}
	}

	for _, alg := range []string{BlowfishCBC, "blowfish", TripleDESCBC, "3des"} {
		_, err := Generate(alg, "old", seeded(1))
		if err == nil || !strings.Contains(err.Error(), "legacy") || !strings.Contains(err.Error(), "aes-256-cbc") {
			t.Errorf("Generate(%s) = %v; want a refusal naming it legacy and the algorithms to use", alg, err)
		}
	}

	if _, err := Generate(AES256CBC, "short", bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("Generate accepted a random source that ran dry")
	}
	a, _ := Generate(AES256CBC, "a", seeded(2))
	b, _ := Generate(AES256CBC, "b", seeded(3))
	if a.ID == b.ID {
		t.Error("different material gave the same id")
	}
}

func TestComputeIDDocumented(t *testing.T) {
	m := material(t, 4, 32)
	sum := sha256Hex("freezer-key-id\x00aes-256-cbc\x00" + string(m))
	if got := ComputeID(AES256CBC, m); got != sum[:16] {
		t.Errorf("ComputeID = %s, want %s (the documented formula)", got, sum[:16])
	}
	if ComputeID(AES256CBC, m) == ComputeID(AES128CBC, m[:16]) {
		t.Error("id does not depend on the algorithm")
	}
	k1, _ := New(AES256CBC, "one", m, time.Time{})
	k2, _ := New("aes256", "two", m, time.Now())
	if k1.ID != k2.ID {
		t.Error("the same material and algorithm gave different ids")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		alg     string
		n       int
		wantErr string
	}{
		{AES256CBC, 32, ""},
		{AES256CBC, 16, "aes-256-cbc needs a key of 32 bytes (64 hex digits), got 16 bytes"},
		{AES192CBC, 24, ""},
		{AES128CBC, 16, ""},
		{AES128CBC, 32, "needs a key of 16 bytes"},
		{BlowfishCBC, 16, ""},
		{BlowfishCBC, 4, ""},
		{BlowfishCBC, 56, ""},
		{BlowfishCBC, 3, "bf-cbc needs a key of 4 to 56 bytes, got 3 bytes"},
		{BlowfishCBC, 57, "got 57 bytes"},
		{TripleDESCBC, 24, ""},
		{TripleDESCBC, 16, "des-ede3-cbc needs a key of 24 bytes"},
		{"rot13", 16, "unknown algorithm"},
	}
	for _, tt := range tests {
		m := material(t, 5, tt.n)
		k, err := New(tt.alg, "x", m, time.Time{})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%s, %d bytes) = %v; want error containing %q", tt.alg, tt.n, err, tt.wantErr)
			}
			if err != nil {
				assertNoMaterial(t, "New error", err.Error(), m)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%s, %d bytes): %v", tt.alg, tt.n, err)
			continue
		}
		m[0] ^= 0xff // the key keeps its own copy
		if bytes.Equal(k.Material(), m) {
			t.Errorf("New(%s) kept the caller's slice", tt.alg)
		}
		got := k.Material()
		got[1] ^= 0xff // and hands out copies
		if bytes.Equal(k.Material(), got) {
			t.Errorf("Material(%s) returned the key's own slice", tt.alg)
		}
		if _, err := k.Block(); err != nil {
			t.Errorf("New(%s).Block: %v", tt.alg, err)
		}
	}
}

func TestZeroKey(t *testing.T) {
	var k Key
	if _, err := k.Block(); !errors.Is(err, ErrNoMaterial) {
		t.Errorf("zero Key Block = %v, want ErrNoMaterial", err)
	}
	if _, err := Export(k); !errors.Is(err, ErrNoMaterial) {
		t.Errorf("zero Key Export = %v, want ErrNoMaterial", err)
	}
	if k.Material() != nil || k.HasMaterial() || k.BlockSize() != 0 {
		t.Error("zero Key claims material or a block size")
	}
	_ = fmt.Sprintf("%v %+v %#v %s", k, k, k, k) // must not panic
}

func TestBlockMatchesAlgorithm(t *testing.T) {
	for _, alg := range Algorithms() {
		n := map[string]int{AES256CBC: 32, AES192CBC: 24, AES128CBC: 16, BlowfishCBC: 16, TripleDESCBC: 24}[alg]
		k, err := New(alg, "", material(t, 6, n), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := k.Block()
		if err != nil {
			t.Fatal(err)
		}
		if b.BlockSize() != k.BlockSize() {
			t.Errorf("%s: cipher block %d, BlockSize() %d", alg, b.BlockSize(), k.BlockSize())
		}
	}
}

type holder struct {
	Exported Key
	hidden   Key
	list     []Key
}

func TestFormattingRedacts(t *testing.T) {
	for _, alg := range Algorithms() {
		n := map[string]int{AES256CBC: 32, AES192CBC: 24, AES128CBC: 16, BlowfishCBC: 16, TripleDESCBC: 24}[alg]
		m := material(t, 7, n)
		k, err := New(alg, "family photos", m, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		h := holder{Exported: k, hidden: k, list: []Key{k}}
		outputs := map[string]string{
			"String":   k.String(),
			"GoString": k.GoString(),
			"%v":       fmt.Sprintf("%v", k),
			"%+v":      fmt.Sprintf("%+v", k),
			"%#v":      fmt.Sprintf("%#v", k),
			"%s":       fmt.Sprintf("%s", k),
			"%q":       fmt.Sprintf("%q", k),
			"%x":       fmt.Sprintf("%x", k),
			"%X":       fmt.Sprintf("%X", k),
			"%d":       fmt.Sprintf("%d", k),
			"%v ptr":   fmt.Sprintf("%v", &k),
			"%+v ptr":  fmt.Sprintf("%+v", &k),
			"%#v ptr":  fmt.Sprintf("%#v", &k),
			"%v slice": fmt.Sprintf("%v", []Key{k}),
			"%v map":   fmt.Sprintf("%v", map[string]Key{"k": k}),
			"%v nest":  fmt.Sprintf("%v", h),
			"%+v nest": fmt.Sprintf("%+v", h),
			"%#v nest": fmt.Sprintf("%#v", h),
			"error":    fmt.Errorf("upload failed with %v", k).Error(),
		}
		js, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		outputs["json.Marshal"] = string(js)
		js, _ = json.Marshal(h)
		outputs["json.Marshal nest"] = string(js)

		var buf bytes.Buffer
		log := zerolog.New(&buf)
		log.Info().Object("key", k).Msg("object")
		log.Info().Interface("key", k).Msg("interface")
		log.Info().Stringer("key", k).Msg("stringer")
		log.Info().EmbedObject(k).Msg("embed")
		log.Info().Any("holder", h).Msg("any")
		outputs["zerolog"] = buf.String()

		for what, out := range outputs {
			assertNoMaterial(t, alg+" "+what, out, m)
		}
		if !strings.Contains(outputs["%v"], k.ID) || !strings.Contains(outputs["%+v"], "family photos") ||
			!strings.Contains(outputs["%#v"], "<redacted>") || !strings.Contains(outputs["zerolog"], `"id":"`+k.ID) {
			t.Errorf("%s: redacted forms lost the key's identity: %v", alg, outputs)
		}
	}
}

func TestOpenSSLKeyHex(t *testing.T) {
	m32 := material(t, 8, 32)
	k, _ := New(AES256CBC, "", m32, time.Time{})
	if got, err := OpenSSLKeyHex(k); err != nil || got != hex.EncodeToString(m32) {
		t.Errorf("aes: OpenSSLKeyHex = %q, %v", got, err)
	}
	for _, n := range []int{4, 8, 16} {
		m := material(t, 9, n)
		k, _ := New(BlowfishCBC, "", m, time.Time{})
		got, err := OpenSSLKeyHex(k)
		if err != nil || len(got) != 32 {
			t.Fatalf("bf %d bytes: OpenSSLKeyHex = %q, %v", n, got, err)
		}
		// The 16-byte form must be the same Blowfish key.
		long, _ := hex.DecodeString(got)
		a, _ := blowfish.NewCipher(m)
		b, _ := blowfish.NewCipher(long)
		if !sameCipher(a, b) {
			t.Errorf("bf %d bytes: the 16-byte openssl form is a different key", n)
		}
	}
	k12, _ := New(BlowfishCBC, "", material(t, 10, 12), time.Time{})
	if _, err := OpenSSLKeyHex(k12); err == nil || !strings.Contains(err.Error(), "decrypt this archive with freezer") {
		t.Errorf("bf 12 bytes: OpenSSLKeyHex = %v, want an explanation", err)
	}
}

func sameCipher(a, b cipher.Block) bool {
	src := []byte("0123456789abcdef")
	for i := 0; i < 4; i++ {
		x, y := make([]byte, 8), make([]byte, 8)
		a.Encrypt(x, src[i*2:i*2+8])
		b.Encrypt(y, src[i*2:i*2+8])
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}
