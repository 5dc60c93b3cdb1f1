// Package crypt is freezer's streaming archive encryption, in the layout the
// AWS Freezer manual describes:
//
//	uploaded bytes = IV ‖ CBC-encrypt( RHL ‖ RHL random bytes ‖ payload ‖ PKCS#7 padding )
//
// The IV is one cipher block (16 bytes for AES, 8 for Blowfish and 3DES) and
// is the only part in clear. RHL is one random byte (0–255) giving the length
// of the random header that follows it. Because this is plain CBC with PKCS#7
// padding, `openssl enc -d -<algorithm> -K <key hex> -iv <iv hex>` decrypts an
// archive with no freezer at hand; the package test runs that recipe.
//
// CBC has no authentication. A wrong key is caught at the end by a bad
// padding most of the time, but about once in 256 tries its garbage ends in
// valid-looking padding; damage in the middle of an archive garbles a block
// or two and is not seen here at all, nor is a cut at a block boundary that
// happens to leave valid-looking padding. The decompressor and the
// pipeline's SHA-256 checks of the payload and files catch what this package
// cannot.
package crypt

import (
	"errors"
	"fmt"
	"io"
)

// batch is how many bytes are encrypted or decrypted per CryptBlocks call;
// it bounds each stream's memory and is a multiple of every block size.
const batch = 64 << 10

// maxBlock is the largest block size of a supported cipher.
const maxBlock = 16

// Errors a decrypting reader returns, wrapped with detail; test with
// errors.Is.
var (
	// ErrTruncated: the archive ends too early or its length is not whole
	// blocks: a partial download or a damaged file.
	ErrTruncated = errors.New("archive truncated or damaged")
	// ErrBadPadding: the last block does not end in valid PKCS#7 padding,
	// almost always because the key is wrong.
	ErrBadPadding = errors.New("wrong key or damaged archive: bad padding")
	// ErrBadHeader: the decrypted random header claims more bytes than the
	// archive holds, which only a wrong key or damage can cause.
	ErrBadHeader = errors.New("wrong key or damaged archive: the random header is longer than the data")
)

// Preamble is the random part of one archive's encryption: the IV and the
// header (the RHL byte followed by RHL random bytes). An upload records it so
// that, with the key and the payload, the ciphertext is reproduced byte for
// byte when an interrupted upload resumes.
type Preamble struct {
	IV     []byte
	Header []byte
}

// NewPreamble draws a fresh IV of blockSize bytes and a random header from
// rand (crypto/rand.Reader outside tests).
func NewPreamble(blockSize int, rand io.Reader) (Preamble, error) {
	if blockSize != 8 && blockSize != 16 {
		return Preamble{}, fmt.Errorf("new preamble: block size %d is not 8 or 16", blockSize)
	}
	iv := make([]byte, blockSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return Preamble{}, fmt.Errorf("new preamble: reading random bytes: %w", err)
	}
	var rhl [1]byte
	if _, err := io.ReadFull(rand, rhl[:]); err != nil {
		return Preamble{}, fmt.Errorf("new preamble: reading random bytes: %w", err)
	}
	h := make([]byte, 1+int(rhl[0]))
	h[0] = rhl[0]
	if _, err := io.ReadFull(rand, h[1:]); err != nil {
		return Preamble{}, fmt.Errorf("new preamble: reading random bytes: %w", err)
	}
	return Preamble{IV: iv, Header: h}, nil
}

// RHL is the random header length: the first header byte.
func (p Preamble) RHL() int {
	if len(p.Header) == 0 {
		return 0
	}
	return int(p.Header[0])
}

// Validate checks that p fits a cipher with blockSize and is internally
// consistent (for example after being read back from the catalog).
func (p Preamble) Validate(blockSize int) error {
	if len(p.IV) != blockSize {
		return fmt.Errorf("preamble: IV of %d bytes, the cipher needs %d", len(p.IV), blockSize)
	}
	if len(p.Header) == 0 {
		return errors.New("preamble: empty header (it holds at least the RHL byte)")
	}
	if want := 1 + int(p.Header[0]); len(p.Header) != want {
		return fmt.Errorf("preamble: header of %d bytes, but its RHL byte says %d", len(p.Header), want)
	}
	return nil
}

// CiphertextSize is the size of the uploaded archive for a payload of
// payloadSize bytes: the IV, then the header (headerLen bytes: the RHL byte
// and the random bytes, that is len(Preamble.Header)) and the payload padded
// up to the next whole block (a full block of padding when already whole).
func CiphertextSize(payloadSize int64, blockSize int, headerLen int) int64 {
	bs := int64(blockSize)
	plain := int64(headerLen) + payloadSize
	return bs + (plain/bs+1)*bs
}
