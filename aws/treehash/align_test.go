package treehash

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

type span struct{ a, b int64 } // leaves [a, b)

// bruteNodes builds the whole tree over n leaves by pairing from the left and
// promoting the odd node, and returns every node's leaf span.
func bruteNodes(n int64) map[span]bool {
	nodes := map[span]bool{}
	var level []span
	for i := int64(0); i < n; i++ {
		level = append(level, span{i, i + 1})
	}
	for {
		for _, s := range level {
			nodes[s] = true
		}
		if len(level) <= 1 {
			return nodes
		}
		var next []span
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, span{level[i].a, level[i+1].b})
		}
		level = next
	}
}

// rangeEnd is the inclusive byte end of leaves [.., q) in an archive of size.
func rangeEnd(q, n, size int64) int64 {
	if q == n {
		return size - 1
	}
	return q*MiB - 1
}

func TestAlignedAgainstBruteForce(t *testing.T) {
	for n := int64(1); n <= 40; n++ {
		nodes := bruteNodes(n)
		for _, last := range []int64{1, MiB / 2, MiB} { // bytes in the last leaf
			size := (n-1)*MiB + last
			for p := int64(0); p < n; p++ {
				for q := p + 1; q <= n; q++ {
					start, end := p*MiB, rangeEnd(q, n, size)
					want := nodes[span{p, q}]
					if got := IsTreeHashAligned(start, end, size); got != want {
						t.Fatalf("size %d, range %d-%d (leaves %d-%d): got %v, want %v", size, start, end, p, q, got, want)
					}
					// Shifted ranges cut leaves differently from the archive:
					// their roots can never be nodes.
					if start+1 <= end && IsTreeHashAligned(start+1, end, size) {
						t.Fatalf("size %d: range %d-%d (start off a leaf) reported aligned", size, start+1, end)
					}
					if end-1 >= start && end%MiB != 0 && IsTreeHashAligned(start, end-1, size) {
						t.Fatalf("size %d: range %d-%d (end inside a leaf) reported aligned", size, start, end-1)
					}
				}
			}
		}
	}
}

// TestAlignedByHash checks the definition itself on real data: a range is
// aligned exactly when the tree hash over its bytes is a node of the archive's
// tree. Ranges starting on a leaf boundary share the archive's leaves, so the
// leaf digests are hashed once.
func TestAlignedByHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 11
	leaves := make([][32]byte, n)
	for i := range leaves {
		var b [64]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		leaves[i] = sha256.Sum256(b[:]) // stands in for a leaf's digest
	}
	nodeHashes := map[[32]byte]bool{}
	for s := range bruteNodes(n) {
		nodeHashes[Combine(leaves[s.a:s.b])] = true
	}
	size := int64(n-1)*MiB + 12345
	for p := int64(0); p < n; p++ {
		for q := p + 1; q <= n; q++ {
			want := nodeHashes[Combine(leaves[p:q])]
			if got := IsTreeHashAligned(p*MiB, rangeEnd(q, n, size), size); got != want {
				t.Errorf("leaves %d-%d: got %v, want %v", p, q, got, want)
			}
		}
	}
}

func TestAlignedEdges(t *testing.T) {
	tests := []struct {
		start, end, size int64
		want             bool
	}{
		{0, 0, 1, true},
		{0, 0, 0, false},
		{-1, 5, 10, false},
		{5, 4, 10, false},
		{0, 10, 10, false}, // end past the archive
		{0, 4*MiB - 1, 4 * MiB, true},
		{0, 4*MiB - 1, 5 * MiB, true},
		{2 * MiB, 4*MiB - 1, 5 * MiB, true},
		{MiB, 3*MiB - 1, 5 * MiB, false}, // MiB aligned, not tree-hash aligned
		{4 * MiB, 5*MiB + 19, 5*MiB + 20, true},
		{2 * MiB, 5*MiB + 19, 5*MiB + 20, false},
	}
	for _, tc := range tests {
		if got := IsTreeHashAligned(tc.start, tc.end, tc.size); got != tc.want {
			t.Errorf("IsTreeHashAligned(%d, %d, %d) = %v, want %v", tc.start, tc.end, tc.size, got, tc.want)
		}
	}
}

func TestRanges(t *testing.T) {
	for _, chunk := range []int64{MiB, 2 * MiB, 8 * MiB} {
		for _, size := range []int64{1, MiB - 1, MiB, MiB + 1, 7 * MiB, 16 * MiB, 17*MiB + 3} {
			rs := Ranges(size, chunk)
			next := int64(0)
			for i, r := range rs {
				if r.Start != next || r.Len() <= 0 || r.Len() > chunk {
					t.Fatalf("size %d chunk %d: range %d is %v", size, chunk, i, r)
				}
				if i < len(rs)-1 && r.Len() != chunk {
					t.Fatalf("size %d chunk %d: inner range %v is short", size, chunk, r)
				}
				if !IsTreeHashAligned(r.Start, r.End, size) {
					t.Fatalf("size %d chunk %d: range %v not aligned", size, chunk, r)
				}
				next = r.End + 1
			}
			if next != size {
				t.Fatalf("size %d chunk %d: ranges end at %d", size, chunk, next)
			}
		}
	}
	if Ranges(0, MiB) != nil {
		t.Error("ranges of an empty archive")
	}
	if got := (Range{Start: 0, End: MiB - 1}).String(); got != "0-1048575" {
		t.Errorf("Range.String = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Ranges accepted a 3 MiB chunk")
		}
	}()
	Ranges(10*MiB, 3*MiB)
}

func TestValidPartSize(t *testing.T) {
	for _, n := range []int64{MiB, 2 * MiB, 1 << 30, 4 << 30} {
		if !ValidPartSize(n) {
			t.Errorf("%d refused", n)
		}
	}
	for _, n := range []int64{0, -MiB, MiB / 2, 3 * MiB, 8 << 30, MiB + 1} {
		if ValidPartSize(n) {
			t.Errorf("%d accepted", n)
		}
	}
}

func FuzzIsTreeHashAligned(f *testing.F) {
	f.Add(uint16(7), uint16(4), uint16(2), uint32(1), uint8(0))
	f.Add(uint16(40), uint16(8), uint16(7), uint32(MiB), uint8(0))
	f.Add(uint16(3), uint16(1), uint16(1), uint32(20), uint8(1))
	f.Fuzz(func(t *testing.T, nLeaves, p, q uint16, last uint32, shift uint8) {
		n := 1 + int64(nLeaves%600)
		size := (n-1)*MiB + 1 + int64(last%MiB)
		pp := int64(p) % n
		qq := pp + 1 + int64(q)%(n-pp)
		start, end := pp*MiB, rangeEnd(qq, n, size)
		want := bruteNodes(n)[span{pp, qq}]
		switch shift % 3 {
		case 1:
			start++
			want = false
		case 2:
			end--
			want = false
			if (end+1)%MiB == 0 { // shrank to a leaf boundary: a different leaf range
				want = bruteNodes(n)[span{pp, (end + 1) / MiB}]
			}
		}
		if start > end {
			return
		}
		if got := IsTreeHashAligned(start, end, size); got != want {
			t.Fatalf("size %d range %d-%d: got %v want %v", size, start, end, got, want)
		}
	})
}
