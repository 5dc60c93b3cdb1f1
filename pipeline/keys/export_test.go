package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestExportImportRoundTrip(t *testing.T) {
	created := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	for _, alg := range Algorithms() {
		n := map[string]int{AES256CBC: 32, AES192CBC: 24, AES128CBC: 16, BlowfishCBC: 16, TripleDESCBC: 24}[alg]
		m := material(t, 11, n)
		k, err := New(alg, "vacation \"2024\" ⛱", m, created)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Export(k)
		if err != nil {
			t.Fatalf("Export(%s): %v", alg, err)
		}
		var shape map[string]any
		if err := json.Unmarshal(out, &shape); err != nil {
			t.Fatalf("Export(%s) is not JSON: %v", alg, err)
		}
		want := map[string]any{
			"format": "freezer-key", "version": 1.0, "id": k.ID, "name": k.Name,
			"algorithm": alg, "key": hex.EncodeToString(m), "created": "2024-05-01T12:00:00.123456789Z",
		}
		if len(shape) != len(want) {
			t.Errorf("Export(%s) fields = %v, want %v", alg, shape, want)
		}
		for f, v := range want {
			if shape[f] != v {
				t.Errorf("Export(%s) %s = %v, want %v", alg, f, shape[f], v)
			}
		}
		if !bytes.HasPrefix(out, []byte("{\n  \"format\"")) {
			t.Errorf("Export(%s) is not indented in field order: %s", alg, out)
		}

		back, err := Import(out)
		if err != nil {
			t.Fatalf("Import(Export(%s)): %v", alg, err)
		}
		if back.ID != k.ID || back.Name != k.Name || back.Algorithm != k.Algorithm ||
			!back.Created.Equal(k.Created) || !bytes.Equal(back.Material(), m) {
			t.Errorf("round trip %s: got %+v", alg, back)
		}
	}
}

func TestImportLenient(t *testing.T) {
	m := material(t, 12, 16)
	tests := map[string]string{
		"minimal":          `{"format":"freezer-key","version":1,"algorithm":"aes-128-cbc","key":"` + hex.EncodeToString(m) + `"}`,
		"upper hex, alias": `{"format":"freezer-key","version":1,"algorithm":"AES128","key":"` + strings.ToUpper(hex.EncodeToString(m)) + `"}`,
		"BOM and spaces":   "\xef\xbb\xbf\n  {\"format\":\"freezer-key\",\"version\":1,\"algorithm\":\"aes-128-cbc\",\"key\":\"" + hex.EncodeToString(m) + "\"}\n\n",
		"id upper case":    `{"format":"freezer-key","version":1,"id":"` + strings.ToUpper(ComputeID(AES128CBC, m)) + `","algorithm":"aes-128-cbc","key":"` + hex.EncodeToString(m) + `"}`,
	}
	for name, in := range tests {
		k, err := Import([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k.Algorithm != AES128CBC || !bytes.Equal(k.Material(), m) || k.ID != ComputeID(AES128CBC, m) || k.Name != "" || !k.Created.IsZero() {
			t.Errorf("%s: got %+v", name, k)
		}
	}
}

func TestImportErrors(t *testing.T) {
	m := material(t, 13, 32)
	h := hex.EncodeToString(m)
	obj := func(fields string) string { return "{\n" + fields + "\n}" }
	base := `"format": "freezer-key", "version": 1, "algorithm": "aes-256-cbc"`
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"empty input"}},
		{"not an object", `["` + h + `"]`, []string{"expected a JSON object", "line 1, column 1"}},
		{"syntax", "{\n  \"format\": \"freezer-key\",\n  \"version\": 1\n  \"key\": \"" + h + "\"\n}", []string{"invalid JSON at line 4, column 3"}},
		{"bad char in key string", "{\"key\": \"" + h[:20] + "\x01" + h[20:] + "\"}", []string{"invalid JSON at line 1"}},
		{"truncated", `{"format": "freezer-key", "key": "` + h, []string{"invalid JSON"}},
		{"unknown field", obj(base + `, "key": "` + h + `",` + "\n  \"kee\": 1"), []string{"unknown field at line 3, column 3", "valid fields: format, version, id, name, algorithm, key, created"}},
		{"material as field name", obj(base + `, "` + h + `": "key"`), []string{"unknown field at line 2"}},
		{"repeated field", obj(base + `, "key": "` + h + `", "key": "` + h + `"`), []string{`field "key" repeated`}},
		{"trailing data", obj(base+`, "key": "`+h+`"`) + ` {}`, []string{"after the key object"}},
		{"missing key", obj(base), []string{`missing field "key"`}},
		{"missing algorithm", obj(`"format": "freezer-key", "version": 1, "key": "` + h + `"`), []string{`missing field "algorithm"`}},
		{"missing format", obj(`"version": 1, "algorithm": "aes-256-cbc", "key": "` + h + `"`), []string{`missing field "format"`}},
		{"wrong format", obj(`"format": "gpg", "version": 1, "algorithm": "aes-256-cbc", "key": "` + h + `"`), []string{`format is "gpg"`, "not a freezer key export"}},
		{"format holds material", obj(`"format": "` + h + `", "version": 1, "algorithm": "aes-256-cbc", "key": "` + h + `"`), []string{"not shown"}},
		{"version 2", obj(`"format": "freezer-key", "version": 2, "algorithm": "aes-256-cbc", "key": "` + h + `"`), []string{"version 2 is not supported"}},
		{"version string", obj(`"format": "freezer-key", "version": "1", "algorithm": "aes-256-cbc", "key": "` + h + `"`), []string{"version (line 2, column 26): must be a whole number"}},
		{"key a number", obj(base + `, "key": 1234`), []string{"key (line 2, column 68): must be a string"}},
		{"unknown algorithm", obj(`"format": "freezer-key", "version": 1, "algorithm": "aes-256-gcm", "key": "` + h + `"`), []string{`unknown algorithm "aes-256-gcm"`, "aes-256-cbc, aes-192-cbc, aes-128-cbc, bf-cbc, des-ede3-cbc"}},
		{"algorithm holds material", obj(`"format": "freezer-key", "version": 1, "algorithm": "` + h + `", "key": "` + h + `"`), []string{"unknown algorithm (a value of 64 characters, not shown)"}},
		{"wrong length", obj(base + `, "key": "` + h[:32] + `"`), []string{"aes-256-cbc needs a key of 32 bytes (64 hex digits), got 16 bytes"}},
		{"odd hex", obj(base + `, "key": "` + h[:63] + `"`), []string{"odd number of hex digits (63)"}},
		{"bad hex", obj(base + `, "key": "` + h[:40] + "zz" + h[42:] + `"`), []string{"key: invalid hex at position 41"}},
		{"hex with spaces", obj(base + `, "key": "` + h[:32] + " " + h[32:] + `"`), []string{"invalid hex at position 33"}},
		{"0x prefix", obj(base + `, "key": "0x` + h + `"`), []string{"invalid hex at position 2"}},
		{"base64 key", obj(base + `, "key": "` + "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=" + `"`), []string{"hex digits only", "base64"}},
		{"empty key", obj(base + `, "key": ""`), []string{"key: empty"}},
		{"null key", obj(base + `, "key": null`), []string{"key: empty"}},
		{"id mismatch", obj(base + `, "id": "0000000000000000", "key": "` + h + `"`), []string{"id does not match the key material", ComputeID(AES256CBC, m), "damaged"}},
		{"id is material", obj(base + `, "id": "` + h + `", "key": "` + h + `"`), []string{"id does not match"}},
		{"bad created", obj(base + `, "key": "` + h + `", "created": "yesterday"`), []string{`created: "yesterday" is not an RFC 3339 time`}},
		{"too large", obj(base+`, "key": "`+h+`", "name": "`+strings.Repeat("x", 70000)) + `"`, []string{"too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import([]byte(tt.in))
			if err == nil {
				t.Fatalf("Import accepted %q", tt.in)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "import key: ") {
				t.Errorf("error %q does not say what failed", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			assertNoMaterial(t, "Import error", msg, m)
			for i := 0; i+8 <= len(h); i += 4 { // no 8-digit run of the key either
				if strings.Contains(strings.ToLower(msg), h[i:i+8]) {
					t.Errorf("error %q contains part of the key (%s)", msg, h[i:i+8])
				}
			}
		})
	}
}

// TestSampleKeyFiles checks the committed samples in testdata/keys, which the
// README and other packages' tests use.
func TestSampleKeyFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "keys")
	wantErr := map[string]string{
		"invalid-3des-short.json":      "des-ede3-cbc needs a key of 24 bytes (48 hex digits), got 16 bytes",
		"invalid-algorithm.json":       `unknown algorithm "aes-256-gcm"`,
		"invalid-base64-key.json":      "invalid hex at position 1",
		"invalid-created.json":         "not an RFC 3339 time",
		"invalid-duplicate-field.json": `field "key" repeated at line 6, column 3`,
		"invalid-format.json":          "not a freezer key export",
		"invalid-hex.json":             "key: invalid hex at position 33",
		"invalid-id-mismatch.json":     "id does not match the key material",
		"invalid-length.json":          "aes-256-cbc needs a key of 32 bytes (64 hex digits), got 16 bytes",
		"invalid-missing-key.json":     `missing field "key"`,
		"invalid-syntax.json":          "invalid JSON at line 4, column 3",
		"invalid-trailing-data.json":   "unexpected data after the key object near line 2",
		"invalid-unknown-field.json":   "unknown field at line 5, column 3",
		"invalid-version.json":         "version 2 is not supported",
	}
	wantValid := map[string]string{
		"valid-aes-256-cbc.json":         "c2feb984a8d97d40",
		"valid-aes-192-cbc.json":         "6f2caf5ba40e1f7b",
		"valid-aes-128-cbc.json":         "ccf9bfebc7501010",
		"valid-bf-cbc.json":              "a27783989b68c2ba",
		"valid-des-ede3-cbc.json":        "a24f87f944fafe70",
		"valid-minimal-handwritten.json": "",
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("sample keys: %v", err)
	}
	seen := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		seen++
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		k, err := Import(data)
		if id, ok := wantValid[e.Name()]; ok {
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			} else if id != "" && k.ID != id {
				t.Errorf("%s: id %s, want %s", e.Name(), k.ID, id)
			}
			continue
		}
		want, ok := wantErr[e.Name()]
		if !ok {
			t.Errorf("%s: sample without an expectation in this test", e.Name())
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Import = %v, want error containing %q", e.Name(), err, want)
		}
		var probe struct{ Key string }
		if json.Unmarshal(data, &probe) == nil && len(probe.Key) >= 8 && err != nil &&
			strings.Contains(strings.ToLower(err.Error()), strings.ToLower(probe.Key[:8])) {
			t.Errorf("%s: error shows the key: %v", e.Name(), err)
		}
	}
	if seen != len(wantErr)+len(wantValid) {
		t.Errorf("found %d sample files, expected %d", seen, len(wantErr)+len(wantValid))
	}
}
