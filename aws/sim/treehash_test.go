package sim

import (
	"bytes"
	"testing"
)

func hashOf(data []byte) string {
	h := newLeafHasher()
	// Odd write sizes exercise leaf boundaries inside one Write.
	for len(data) > 0 {
		n := min(len(data), 333333)
		h.Write(data[:n])
		data = data[n:]
	}
	leaves, _ := h.finish()
	return hexHash(treeRoot(leaves))
}

// Vectors from botocore tests/unit/test_utils.py::TestTreeHash and
// test_handlers.py, plus two computed with the same algorithm (see the wire
// facts, §6).
func TestTreeHashVectors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"a*1024", bytes.Repeat([]byte("a"), 1024), "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a"},
		{"a*1MiB", bytes.Repeat([]byte("a"), mib), "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360"},
		{"a*4MiB", bytes.Repeat([]byte("a"), 4*mib), "9491cb2ed1d4e7cd53215f4017c23ec4ad21d7050a1e6bb636c4f67e8cddb844"},
		{"a*(4MiB+20)", bytes.Repeat([]byte("a"), 4*mib+20), "12f3cbd6101b981cde074039f6f728071da8879d6f632de8afc7cdf00661b08f"},
		{"hello world", []byte("hello world"), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"},
		{"a*3MiB", bytes.Repeat([]byte("a"), 3*mib), "70239f4f2ead7561f69d48b956b547edef52a1280a93c262c0b582190be7db17"},
		{"a*6.5MiB", bytes.Repeat([]byte("a"), 6*mib+mib/2), "0dae0a3f606e3eae41361ffc1dc3e1c5311ae06f9c14299ca46052f89947f412"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hashOf(tt.data); got != tt.want {
				t.Errorf("tree hash = %s, want %s", got, tt.want)
			}
			if got := refTreeHash(tt.data); got != tt.want {
				t.Errorf("test oracle = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestTreeHashAligned compares treeHashAligned with a brute-force list of the
// byte ranges covered by nodes of the tree.
func TestTreeHashAligned(t *testing.T) {
	for leaves := 1; leaves <= 13; leaves++ {
		for _, tail := range []int64{0, -5} { // last leaf full or short
			size := int64(leaves)*mib + tail
			nodes := map[[2]int64]bool{}
			level := make([][2]int64, leaves)
			for i := range level {
				level[i] = [2]int64{int64(i) * mib, min(int64(i+1)*mib, size)}
			}
			for {
				for _, n := range level {
					nodes[n] = true
				}
				if len(level) == 1 {
					break
				}
				var next [][2]int64
				for i := 0; i < len(level); i += 2 {
					if i+1 < len(level) {
						next = append(next, [2]int64{level[i][0], level[i+1][1]})
					} else {
						next = append(next, level[i])
					}
				}
				level = next
			}
			var bounds []int64
			for i := 0; i <= leaves; i++ {
				bounds = append(bounds, min(int64(i)*mib, size))
			}
			bounds = append(bounds, 1, size-1)
			for _, s := range bounds {
				for _, e := range bounds {
					if s < 0 || e > size {
						continue
					}
					want := nodes[[2]int64{s, e}]
					if got := treeHashAligned(s, e, size); got != want {
						t.Errorf("size %d: treeHashAligned(%d, %d) = %v, want %v", size, s, e, got, want)
					}
				}
			}
		}
	}
}

func TestRangeTreeHash(t *testing.T) {
	data := randomBytes(7, 5*mib+123)
	h := newLeafHasher()
	h.Write(data)
	leaves, _ := h.finish()
	for _, r := range [][2]int64{{0, int64(len(data))}, {0, mib}, {4 * mib, int64(len(data))}, {0, 4 * mib}, {2 * mib, 4 * mib}} {
		if got, want := hexHash(rangeTreeHash(leaves, r[0], r[1])), refTreeHash(data[r[0]:r[1]]); got != want {
			t.Errorf("range %v: %s, want %s", r, got, want)
		}
	}
}
