//go:build amd64 && !purego

package treehash

//go:generate go run dual_gen.go

// useDual is whether this CPU has the SHA extensions blockDual needs.
var useDual = hasSHANI()

//go:noescape
func hasSHANI() bool

// blockDual hashes the whole 64-byte blocks of p into both states a and b.
//
//go:noescape
func blockDual(a, b *[8]uint32, p []byte)
