//go:build amd64 && !purego

package treehash

//go:generate go run dual_gen.go

// useDual is whether this CPU has the SHA extensions blockDualSHANI needs.
var useDual = hasSHANI()

//go:noescape
func hasSHANI() bool

// blockDualSHANI hashes the whole 64-byte blocks of p into both states a
// and b with the SHA extensions.
//
//go:noescape
func blockDualSHANI(a, b *[8]uint32, p []byte)

// blockDual hashes the whole 64-byte blocks of p into both states a and b.
func blockDual(a, b *[8]uint32, p []byte) {
	if useDual {
		blockDualSHANI(a, b, p)
		return
	}
	blockDualGeneric(a, b, p)
}
