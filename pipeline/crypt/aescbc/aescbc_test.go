package aescbc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

func TestSbox(t *testing.T) {
	for in, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7c, 0x53: 0xed, 0xff: 0x16, 0x10: 0xca} {
		if sbox[in] != want {
			t.Errorf("sbox[%#x] = %#x, want %#x", in, sbox[in], want)
		}
	}
}

// TestMatchesStdlib: every key size, lengths on both sides of the eight-block
// path, in place and not, split over several calls: the same bytes as
// crypto/aes with crypto/cipher's CBC.
func TestMatchesStdlib(t *testing.T) {
	if !useAsm {
		t.Log("no AES instructions here: NewCipher is crypto/aes")
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, klen := range []int{16, 24, 32} {
		for range 20 {
			key := make([]byte, klen)
			rand.Read(key)
			std, _ := aes.NewCipher(key)
			b, err := NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			iv := make([]byte, 16)
			rand.Read(iv)
			n := 16 * rng.IntN(40)
			plain := make([]byte, n)
			rand.Read(plain)

			want := make([]byte, n)
			cipher.NewCBCEncrypter(std, iv).CryptBlocks(want, plain)
			got := make([]byte, n)
			enc := cipher.NewCBCEncrypter(b, iv)
			for off := 0; off < n; {
				k := 16 * (1 + rng.IntN(12))
				k = min(k, n-off)
				enc.CryptBlocks(got[off:off+k], plain[off:off+k])
				off += k
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d bytes, %d bytes: encryption differs from crypto/aes", klen, n)
			}

			dec := cipher.NewCBCDecrypter(b, iv)
			back := bytes.Clone(want)
			for off := 0; off < n; {
				k := 16 * (1 + rng.IntN(20))
				k = min(k, n-off)
				dec.CryptBlocks(back[off:off+k], back[off:off+k]) // in place
				off += k
			}
			if !bytes.Equal(back, plain) {
				t.Fatalf("key %d bytes, %d bytes: decryption in place differs", klen, n)
			}
			out := make([]byte, n)
			cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, want)
			if !bytes.Equal(out, plain) {
				t.Fatalf("key %d bytes, %d bytes: decryption differs", klen, n)
			}
			// Single blocks are crypto/aes's own.
			blk, one, ref := make([]byte, 16), make([]byte, 16), make([]byte, 16)
			rand.Read(blk)
			b.Encrypt(one, blk)
			std.Encrypt(ref, blk)
			if !bytes.Equal(one, ref) {
				t.Fatal("single-block encryption differs")
			}
		}
	}
}

func TestBadUse(t *testing.T) {
	b, _ := NewCipher(make([]byte, 32))
	m := cipher.NewCBCDecrypter(b, make([]byte, 16))
	for name, f := range map[string]func(){
		"partial block": func() { m.CryptBlocks(make([]byte, 17), make([]byte, 17)) },
		"short output":  func() { m.CryptBlocks(make([]byte, 16), make([]byte, 32)) },
		"overlap":       func() { buf := make([]byte, 64); m.CryptBlocks(buf[16:48], buf[:32]) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	if _, err := NewCipher(make([]byte, 20)); err == nil {
		t.Error("a 20-byte key was accepted")
	}
}

func BenchmarkCBC(b *testing.B) {
	buf := make([]byte, 1<<20)
	key := make([]byte, 32)
	for _, impl := range []struct {
		name string
		new  func([]byte) (cipher.Block, error)
	}{{"stdlib", aes.NewCipher}, {"aescbc", NewCipher}} {
		blk, _ := impl.new(key)
		b.Run(impl.name+"/decrypt", func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			m := cipher.NewCBCDecrypter(blk, make([]byte, 16))
			for b.Loop() {
				m.CryptBlocks(buf, buf)
			}
		})
		b.Run(impl.name+"/encrypt", func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			m := cipher.NewCBCEncrypter(blk, make([]byte, 16))
			for b.Loop() {
				m.CryptBlocks(buf, buf)
			}
		})
	}
}
