package pipeline

import (
	"bytes"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"testing"

	"freezer/pipeline/crypt"
	"freezer/pipeline/keys"
)

func testKey(t testing.TB, alg string) keys.Key {
	t.Helper()
	material := make([]byte, map[string]int{"aes-256-cbc": 32, "aes-128-cbc": 16, "aes-192-cbc": 24, "bf-cbc": 16, "des-ede3-cbc": 24}[alg])
	rand.Read(material)
	k, err := keys.New(alg, "test", material, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCiphertextSectionsMatchStream checks that any block-aligned section,
// made independently from its chaining block, equals the same bytes of the
// reference stream encryption — the property resumed and parallel uploads
// rely on.
func TestCiphertextSectionsMatchStream(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, alg := range []string{"aes-256-cbc", "aes-128-cbc", "bf-cbc", "des-ede3-cbc"} {
		key := testKey(t, alg)
		sizes := []int{0, 1, 15, 16, 17, 200_001, 1 << 20, 3<<20 + 5}
		if key.Legacy() {
			sizes = sizes[:6] // 3DES is slow, and the block logic is the same
		}
		for _, size := range sizes {
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(rng.Uint32())
			}
			p, err := crypt.NewPreamble(key.BlockSize(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			want, err := io.ReadAll(crypt.NewEncryptReader(bytes.NewReader(payload), key, p))
			if err != nil {
				t.Fatal(err)
			}
			ct, err := newCiphertext(bytes.NewReader(payload), int64(size), &key, p.IV, p.Header)
			if err != nil {
				t.Fatal(err)
			}
			if ct.Size() != int64(len(want)) || ct.Size() != crypt.CiphertextSize(int64(size), key.BlockSize(), len(p.Header)) {
				t.Fatalf("%s/%d: size %d, stream %d", alg, size, ct.Size(), len(want))
			}
			whole, _ := ct.section(0, ct.Size(), nil)
			got, err := io.ReadAll(whole)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s/%d: whole section differs (%v)", alg, size, err)
			}
			bs := int64(key.BlockSize())
			iv := int64(len(p.IV))
			for range 20 {
				blocks := (ct.Size() - iv) / bs
				off := iv + rng.Int64N(blocks)*bs
				n := rng.Int64N(ct.Size()-off) + 1
				s, err := ct.section(off, n, want[off-bs:off])
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(s)
				if err != nil || !bytes.Equal(got, want[off:off+n]) {
					t.Fatalf("%s/%d: section %d+%d differs (%v)", alg, size, off, n, err)
				}
				// A rewind (an HTTP retry) and a length probe give the same bytes.
				if end, _ := s.Seek(0, io.SeekEnd); end != n {
					t.Fatalf("SeekEnd = %d, want %d", end, n)
				}
				s.Seek(0, io.SeekStart)
				again, _ := io.ReadAll(s)
				if !bytes.Equal(again, got) {
					t.Fatalf("%s/%d: rewound section differs", alg, size)
				}
				mid := n / 2
				s.Seek(mid, io.SeekStart)
				tail, _ := io.ReadAll(s)
				if !bytes.Equal(tail, got[mid:]) {
					t.Fatalf("%s/%d: seek to middle differs", alg, size)
				}
			}
		}
	}
}

func TestCiphertextRefusesBadSections(t *testing.T) {
	key := testKey(t, "aes-256-cbc")
	p, _ := crypt.NewPreamble(16, rand.Reader)
	ct, err := newCiphertext(bytes.NewReader(make([]byte, 100)), 100, &key, p.IV, p.Header)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ off, n int64 }{{3, 10}, {17, 10}, {0, ct.Size() + 1}, {-1, 2}} {
		if _, err := ct.section(c.off, c.n, make([]byte, 16)); err == nil {
			t.Errorf("section %d+%d accepted", c.off, c.n)
		}
	}
	if _, err := ct.section(32, 16, nil); err == nil {
		t.Error("section without its chaining block accepted")
	}
	if _, err := newCiphertext(bytes.NewReader(nil), 0, &key, p.IV[:8], p.Header); err == nil {
		t.Error("short IV accepted")
	}
	if _, err := newCiphertext(bytes.NewReader(nil), 0, &key, p.IV, append(p.Header, 1)); err == nil {
		t.Error("header not matching its length byte accepted")
	}
}

func TestPartSizeFor(t *testing.T) {
	if got := partSizeFor(80<<30, 8<<20); got != 16<<20 {
		t.Errorf("80 GiB at 8 MiB parts: part size %d, want 16 MiB", got)
	}
	if got := partSizeFor(10<<20, 8<<20); got != 8<<20 {
		t.Errorf("small archive changed part size to %d", got)
	}
}
