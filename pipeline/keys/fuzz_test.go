package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var keyField = regexp.MustCompile(`"key"\s*:\s*"([^"\\]*)"`)

// FuzzImport: Import never panics, its errors never show a hex key field, and
// whatever it accepts exports and imports back to the same key.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "keys", "*.json"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"format":"freezer-key","version":1,"algorithm":"bf","key":"00112233"}`))
	f.Add([]byte(`{"format":"freezer-key","version":1,"algorithm":"0011223344556677","key":"0011223344556677"}`))
	f.Add([]byte(`{"format":"freezer-key","version":1,"id":"00112233445566778899","algorithm":"aes128","key":"00112233445566778899aabbccddeeff"}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Import(data)
		if err != nil {
			msg := strings.ToLower(err.Error())
			for _, m := range keyField.FindAllSubmatch(data, -1) {
				v := strings.ToLower(string(m[1]))
				if len(v) >= 8 && isHexLike(v) && strings.Contains(msg, v) {
					t.Fatalf("error shows the key field %q: %v", v, err)
				}
			}
			return
		}
		if !k.HasMaterial() || k.ID != ComputeID(k.Algorithm, k.Material()) {
			t.Fatalf("accepted a key without material or with a wrong id: %v", k)
		}
		out, err := Export(k)
		if err != nil {
			t.Fatalf("Export of an imported key: %v", err)
		}
		back, err := Import(out)
		if err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if back.ID != k.ID || back.Name != k.Name || back.Algorithm != k.Algorithm ||
			!back.Created.Equal(k.Created) || !bytes.Equal(back.Material(), k.Material()) {
			t.Fatalf("round trip changed the key: %v -> %v", k, back)
		}
	})
}
