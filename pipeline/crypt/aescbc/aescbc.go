// Package aescbc is AES for CBC archives, with the CBC modes in assembly
// where the processor has AES instructions (amd64 with AES-NI).
//
// crypto/aes encrypts and decrypts CBC one block per call. CBC decryption
// needs only the ciphertext, so its blocks can go through the AES unit side
// by side: here eight at a time, several times faster. CBC encryption is
// sequential by nature (each block is chained to the one before); here it
// runs as one loop with the round keys held in registers. Elsewhere, in FIPS
// 140 mode, or built with the purego tag, NewCipher is crypto/aes.NewCipher.
//
// The modes are reached through crypto/cipher as usual:
// cipher.NewCBCDecrypter(b, iv) uses the block's own CBC mode when it has
// one.
package aescbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"encoding/binary"
	"strconv"
)

// NewCipher returns an AES block for a 16, 24 or 32-byte key.
func NewCipher(key []byte) (cipher.Block, error) {
	std, err := aes.NewCipher(key)
	if err != nil || !useAsm || fips140.Enabled() {
		return std, err
	}
	b := &block{Block: std, rounds: len(key)/4 + 6}
	expandKey(key, b.enc[:])
	invertKey(b.rounds, &b.enc[0], &b.dec[0])
	return b, nil
}

// block is crypto/aes's block (for single blocks) with the round keys the
// assembly CBC modes use.
type block struct {
	cipher.Block
	rounds int
	enc    [15 * 16]byte // encryption round keys, in order
	dec    [15 * 16]byte // decryption round keys (equivalent inverse cipher)
}

// NewCBCEncrypter is what cipher.NewCBCEncrypter calls.
func (b *block) NewCBCEncrypter(iv []byte) cipher.BlockMode {
	m := &cbc{b: b}
	m.setIV(iv)
	return m
}

// NewCBCDecrypter is what cipher.NewCBCDecrypter calls.
func (b *block) NewCBCDecrypter(iv []byte) cipher.BlockMode {
	m := &cbc{b: b, decrypt: true}
	m.setIV(iv)
	return m
}

type cbc struct {
	b       *block
	iv      [aes.BlockSize]byte
	decrypt bool
}

func (m *cbc) setIV(iv []byte) {
	if len(iv) != aes.BlockSize {
		panic("aescbc: IV length " + strconv.Itoa(len(iv)) + " is not the block size")
	}
	copy(m.iv[:], iv)
}

func (m *cbc) BlockSize() int { return aes.BlockSize }

// SetIV lets a mode be reused, as crypto/cipher's modes can.
func (m *cbc) SetIV(iv []byte) { m.setIV(iv) }

func (m *cbc) CryptBlocks(dst, src []byte) {
	if len(src)%aes.BlockSize != 0 {
		panic("aescbc: input not full blocks")
	}
	if len(dst) < len(src) {
		panic("aescbc: output smaller than input")
	}
	if len(src) == 0 {
		return
	}
	if overlapsInexactly(dst[:len(src)], src) {
		panic("aescbc: invalid buffer overlap")
	}
	if m.decrypt {
		decryptCBC(m.b.rounds, &m.b.dec[0], &dst[0], &src[0], len(src)/aes.BlockSize, &m.iv)
	} else {
		encryptCBC(m.b.rounds, &m.b.enc[0], &dst[0], &src[0], len(src)/aes.BlockSize, &m.iv)
	}
}

// overlapsInexactly reports whether x and y share memory at different
// offsets (in place, x == y, is fine).
func overlapsInexactly(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptrOf(x), uintptrOf(y)
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}

// expandKey writes the encryption round keys of key (FIPS 197, 5.2) into
// out, round after round, each as the 16 bytes AES instructions load.
func expandKey(key []byte, out []byte) {
	nk := len(key) / 4
	n := 4 * (nk + 7) // words of round keys
	w := make([]uint32, n)
	for i := range nk {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1)
	for i := nk; i < n; i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(t<<8|t>>24) ^ rcon<<24
			rcon = xtime(rcon)
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
	for i, v := range w {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
}

func subWord(w uint32) uint32 {
	return uint32(sbox[w>>24])<<24 | uint32(sbox[w>>16&0xff])<<16 | uint32(sbox[w>>8&0xff])<<8 | uint32(sbox[w&0xff])
}

func xtime(b uint32) uint32 {
	b <<= 1
	if b&0x100 != 0 {
		b ^= 0x11b
	}
	return b
}

// sbox is AES's S-box, computed once: the multiplicative inverse in
// GF(2⁸) followed by the affine transform (FIPS 197, 5.1.1).
var sbox = func() (s [256]byte) {
	var p, q byte = 1, 1
	for {
		// p walks the group with generator 3, q its inverse with 3⁻¹.
		p = p ^ p<<1 ^ byte(int8(p)>>7)&0x1b
		q ^= q << 1
		q ^= q << 2
		q ^= q << 4
		q ^= byte(int8(q)>>7) & 0x09
		x := q ^ (q<<1 | q>>7) ^ (q<<2 | q>>6) ^ (q<<3 | q>>5) ^ (q<<4 | q>>4)
		s[p] = x ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()
