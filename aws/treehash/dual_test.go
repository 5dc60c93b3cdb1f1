package treehash

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// The dual state's tests run on every machine: with the SHA extensions
// through the assembly, without them through blockDualGeneric
// (dual_linux_amd64_test.go checks which one and compares the two).

// TestDualLengths checks the dual state against crypto/sha256 for every
// length around the block and padding edges: the linear state over the
// whole message and the leaf state over what follows a block-aligned cut.
func TestDualLengths(t *testing.T) {
	data := randomBytes(1200, 7)
	for n := 0; n <= len(data); n++ {
		for _, cut := range []int{0, 64, 128, 1024} {
			if cut > n {
				continue
			}
			var d dual
			d.reset()
			d.write(data[:cut])
			d.newLeaf()
			d.write(data[cut:n])
			if got, want := d.linearSum(), sha256.Sum256(data[:n]); got != want {
				t.Fatalf("length %d, leaf at %d: linear %x, want %x", n, cut, got, want)
			}
			if got, want := d.leafSum(n-cut), sha256.Sum256(data[cut:n]); got != want {
				t.Fatalf("length %d, leaf at %d: leaf %x, want %x", n, cut, got, want)
			}
		}
	}
}

// TestDualAgrees checks that the one-pass Hasher and the two-hash Hasher
// give the same digests for random data cut into random writes, with Sum
// called between writes.
func TestDualAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := randomBytes(5*MiB+4099, 9)
	for round := range 20 {
		n := r.IntN(len(data) + 1)
		if round == 0 {
			n = len(data)
		}
		one, two := newHasher(true), newHasher(false)
		for off := 0; off < n; {
			step := min(1+r.IntN(3*MiB/2), n-off)
			if r.IntN(3) == 0 {
				step = min(1+r.IntN(200), n-off)
			}
			one.Write(data[off : off+step])
			two.Write(data[off : off+step])
			off += step
			if r.IntN(4) == 0 {
				l1, t1 := one.Sum()
				l2, t2 := two.Sum()
				if l1 != l2 || t1 != t2 {
					t.Fatalf("round %d: after %d bytes the hashers differ", round, off)
				}
			}
		}
		l1, t1 := one.Sum()
		l2, t2 := two.Sum()
		if l1 != sha256.Sum256(data[:n]) || l1 != l2 {
			t.Fatalf("round %d, %d bytes: linear %x, want %x", round, n, l1, l2)
		}
		if t1 != referenceTree(data[:n]) || t1 != t2 {
			t.Fatalf("round %d, %d bytes: tree %x, want %x", round, n, t1, t2)
		}
		one.Reset()
		one.Write([]byte("hello world"))
		if l, tr := one.SumHex(); tr != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" || l != tr {
			t.Fatalf("after Reset: %s %s", l, tr)
		}
	}
}

// FuzzDual compares the one-pass Hasher with crypto/sha256 and the
// reference tree for any bytes and any cut into two writes.
func FuzzDual(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzDual: lengths around the padding edges.
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		c := min(int(cut), len(data))
		h := newHasher(true)
		h.Write(data[:c])
		h.Write(data[c:])
		lin, tree := h.Sum()
		if lin != sha256.Sum256(data) {
			t.Fatalf("linear %x, want %x", lin, sha256.Sum256(data))
		}
		if tree != referenceTree(data) {
			t.Fatalf("tree %x, want %x", tree, referenceTree(data))
		}
	})
}

// BenchmarkHashers compares the one-pass Hasher with two crypto/sha256
// hashes over the same bytes (8 MiB parts, as an upload hashes them).
// Without the SHA extensions one-pass measures blockDualGeneric, which New
// then does not use.
func BenchmarkHashers(b *testing.B) {
	buf := randomBytes(8*MiB, 5)
	for _, c := range []struct {
		name string
		one  bool
	}{{"two-hashes", false}, {"one-pass", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h := newHasher(c.one)
				h.Write(buf)
				h.Sum()
			}
		})
	}
}
