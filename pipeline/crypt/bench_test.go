package crypt

import (
	"bytes"
	"crypto/cipher"
	"io"
	"testing"

	"freezer/pipeline/keys"
)

// Benchmarks report MB/s of payload: go test -bench . -run '^$' ./pipeline/crypt
func BenchmarkEncryptReader(b *testing.B) { benchAll(b, benchEncryptReader) }
func BenchmarkEncryptWriter(b *testing.B) { benchAll(b, benchEncryptWriter) }
func BenchmarkDecryptReader(b *testing.B) { benchAll(b, benchDecryptReader) }

const benchSize = 16 << 20

func benchAll(b *testing.B, f func(*testing.B, keys.Key, Preamble, []byte)) {
	for _, alg := range keys.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			k := testKey(b, alg, 1)
			p := preambleWithRHL(k.BlockSize(), 99, 2)
			payload := randomBytes(3, benchSize)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			f(b, k, p, payload)
		})
	}
}

func benchEncryptReader(b *testing.B, k keys.Key, p Preamble, payload []byte) {
	buf := make([]byte, 1<<20) // an upload part is read in large pieces
	for b.Loop() {
		r := NewEncryptReader(bytes.NewReader(payload), k, p)
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchEncryptWriter(b *testing.B, k keys.Key, p Preamble, payload []byte) {
	for b.Loop() {
		w, err := NewEncryptWriter(io.Discard, k, p)
		if err != nil {
			b.Fatal(err)
		}
		for rest := payload; len(rest) > 0; rest = rest[32<<10:] { // io.Copy's chunk
			w.Write(rest[:32<<10])
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecryptReader(b *testing.B, k keys.Key, p Preamble, payload []byte) {
	archive := reference(b, k, p, payload)
	buf := make([]byte, 32<<10)
	b.ResetTimer()
	for b.Loop() {
		r, err := NewDecryptReader(bytes.NewReader(archive), k)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRawCBC is the ceiling: the standard library's CBC over one
// buffer, with no streaming around it.
func BenchmarkRawCBC(b *testing.B) {
	for _, alg := range []string{keys.AES256CBC, keys.AES128CBC} {
		for _, dir := range []string{"encrypt", "decrypt"} {
			b.Run(alg+"/"+dir, func(b *testing.B) {
				k := testKey(b, alg, 1)
				blk, err := k.Block()
				if err != nil {
					b.Fatal(err)
				}
				buf := randomBytes(3, benchSize)
				iv := make([]byte, 16)
				b.SetBytes(benchSize)
				for b.Loop() {
					if dir == "encrypt" {
						cipher.NewCBCEncrypter(blk, iv).CryptBlocks(buf, buf)
					} else {
						cipher.NewCBCDecrypter(blk, iv).CryptBlocks(buf, buf)
					}
				}
			})
		}
	}
}
