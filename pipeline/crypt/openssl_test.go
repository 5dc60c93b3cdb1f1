package crypt

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"freezer/pipeline/keys"
)

// The recovery recipe the README gives, for an archive downloaded to the
// file "archive": IVLEN is 16 for AES and 8 for bf-cbc/des-ede3-cbc, KEY the
// key's hex ("key" in its JSON export), ALG the cipher from the description,
// and LEGACY "-provider legacy -provider default" for bf-cbc on OpenSSL 3.
const recipe = `set -eu
IV=$(head -c "$IVLEN" archive | od -An -tx1 | tr -d ' \n')
RHL=$(tail -c +$((IVLEN+1)) archive | head -c "$IVLEN" | openssl enc -d $LEGACY -"$ALG" -K "$KEY" -iv "$IV" -nopad | head -c1 | od -An -tu1 | tr -d ' ')
tail -c +$((IVLEN+1)) archive | openssl enc -d $LEGACY -"$ALG" -K "$KEY" -iv "$IV" | tail -c +$((RHL+2)) > payload
printf '%s %s' "$IV" "$RHL" > facts
`

// openssl finds the binary and the flags bf-cbc needs, failing the test
// (never skipping) when the recipe could not run for a user either.
func openssl(t *testing.T) (legacyFlags string) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("the openssl command is needed to check the recovery recipe and was not found: install it (Debian/Ubuntu: apt-get install openssl)")
	}
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		t.Fatalf("openssl version: %v", err)
	}
	if !strings.HasPrefix(string(out), "OpenSSL ") || strings.HasPrefix(string(out), "OpenSSL 1.") {
		return "" // OpenSSL 1.x and LibreSSL have Blowfish built in
	}
	return "-provider legacy -provider default"
}

// requireLegacyProvider fails with the package to install when OpenSSL 3
// cannot load Blowfish.
func requireLegacyProvider(t *testing.T, legacy string) {
	t.Helper()
	if legacy == "" {
		return
	}
	args := append(strings.Fields(legacy), "-bf-cbc", "-K", strings.Repeat("00", 16), "-iv", strings.Repeat("00", 8))
	cmd := exec.Command("openssl", append([]string{"enc"}, args...)...)
	cmd.Stdin = strings.NewReader("probe")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("OpenSSL 3 cannot load its legacy provider, which bf-cbc needs (%v: %s).\n"+
			"Install it: Debian 13 and later: apt-get install openssl-provider-legacy; "+
			"Debian 12 / Ubuntu 22.04: it ships in libssl3 (reinstall libssl3).", err, out)
	}
}

func TestOpenSSLRecipeDecryptsOurArchives(t *testing.T) {
	legacy := openssl(t)
	for _, alg := range keys.Algorithms() {
		for _, rhl := range []int{0, 255, -1} {
			t.Run(fmt.Sprintf("%s/rhl%d", alg, rhl), func(t *testing.T) {
				if alg == keys.BlowfishCBC {
					requireLegacyProvider(t, legacy)
				}
				k := testKey(t, alg, 20)
				bs := k.BlockSize()
				p, err := NewPreamble(bs, rng(22))
				if err != nil {
					t.Fatal(err)
				}
				if rhl >= 0 {
					p = preambleWithRHL(bs, rhl, 21)
				}
				payload := randomBytes(23, 300_001)
				got, facts := runRecipe(t, k, p, payload, legacy)
				if !bytes.Equal(got, payload) {
					t.Fatalf("openssl recovered %d bytes that differ from the %d-byte payload", len(got), len(payload))
				}
				if want := fmt.Sprintf("%s %d", hex.EncodeToString(p.IV), p.RHL()); facts != want {
					t.Errorf("recipe read IV and RHL %q, want %q", facts, want)
				}
			})
		}
	}
	// A Blowfish key of 8 bytes from the original tool: openssl takes it
	// written out to 16 bytes (keys.OpenSSLKeyHex).
	t.Run("bf-cbc 8-byte key", func(t *testing.T) {
		requireLegacyProvider(t, legacy)
		k, err := keys.New(keys.BlowfishCBC, "old", randomBytes(24, 8), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		payload := randomBytes(25, 5000)
		got, _ := runRecipe(t, k, preambleWithRHL(8, 77, 26), payload, legacy)
		if !bytes.Equal(got, payload) {
			t.Fatal("openssl could not decrypt with the 16-byte form of an 8-byte Blowfish key")
		}
	})
}

func runRecipe(t *testing.T, k keys.Key, p Preamble, payload []byte, legacy string) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewEncryptWriter(f, k, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	keyHex, err := keys.OpenSSLKeyHex(k)
	if err != nil {
		t.Fatal(err)
	}
	flags := ""
	if k.Algorithm == keys.BlowfishCBC {
		flags = legacy
	}
	cmd := exec.Command("bash", "-c", recipe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IVLEN="+strconv.Itoa(k.BlockSize()), "ALG="+k.Algorithm, "KEY="+keyHex, "LEGACY="+flags)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recipe failed: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	facts, err := os.ReadFile(filepath.Join(dir, "facts"))
	if err != nil {
		t.Fatal(err)
	}
	return got, string(facts)
}

// The reverse: an archive made by openssl with a hand-built preamble is read
// by our decrypting reader and matches our encryption byte for byte.
func TestOpenSSLEncryptedArchiveDecrypts(t *testing.T) {
	legacy := openssl(t)
	for _, alg := range keys.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			flags := ""
			if alg == keys.BlowfishCBC {
				requireLegacyProvider(t, legacy)
				flags = legacy
			}
			k := testKey(t, alg, 30)
			bs := k.BlockSize()
			p := preambleWithRHL(bs, 42, 31)
			payload := randomBytes(32, 123_457)

			keyHex, _ := keys.OpenSSLKeyHex(k)
			args := append(strings.Fields(flags), "-"+alg, "-K", keyHex, "-iv", hex.EncodeToString(p.IV))
			cmd := exec.Command("openssl", append([]string{"enc"}, args...)...)
			cmd.Stdin = io.MultiReader(bytes.NewReader(p.Header), bytes.NewReader(payload))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			ct, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl enc: %v: %s", err, stderr.String())
			}
			archive := append(append([]byte{}, p.IV...), ct...)

			dr, err := NewDecryptReader(bytes.NewReader(archive), k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dr)
			if err != nil {
				t.Fatalf("decrypting openssl's archive: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("decrypted payload differs")
			}
			if ours := encryptWithWriter(t, k, p, payload, 1); !bytes.Equal(ours, archive) {
				t.Fatal("our encryption differs from openssl's for the same key, IV and header")
			}
		})
	}
}
