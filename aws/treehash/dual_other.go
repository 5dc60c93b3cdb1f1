//go:build !amd64 || purego

package treehash

// useDual is false: without the SHA extensions two crypto/sha256 hashes
// are faster than one pass in Go.
const useDual = false

// blockDual hashes the whole 64-byte blocks of p into both states a and b.
func blockDual(a, b *[8]uint32, p []byte) { blockDualGeneric(a, b, p) }
