//go:build amd64 && !purego

package aescbc

import "unsafe"

var useAsm = hasAESNI()

//go:noescape
func hasAESNI() bool

// encryptCBC encrypts n blocks of src into dst, chained from iv, and leaves
// the last ciphertext block in iv.
//
//go:noescape
func encryptCBC(rounds int, keys *byte, dst, src *byte, n int, iv *[16]byte)

// decryptCBC decrypts n blocks of src into dst (in place allowed), chained
// from iv, and leaves the last ciphertext block in iv.
//
//go:noescape
func decryptCBC(rounds int, keys *byte, dst, src *byte, n int, iv *[16]byte)

// invertKey writes the decryption round keys for the equivalent inverse
// cipher: the encryption keys in reverse order, InvMixColumns applied to
// all but the first and last.
//
//go:noescape
func invertKey(rounds int, enc, dec *byte)

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
