//go:build !amd64 || purego

package treehash

// useDual is false: without the SHA extensions two crypto/sha256 hashes
// are as fast.
const useDual = false

func blockDual(a, b *[8]uint32, p []byte) { panic("treehash: blockDual without the SHA extensions") }
