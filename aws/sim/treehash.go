package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// The simulator carries its own tree-hash code on purpose instead of importing
// freezer/aws/treehash: the simulator is the judge of the client, so a bug
// shared by both would pass unnoticed. Both are checked against the same
// published vectors (botocore TestTreeHash).

const mib = 1 << 20

// leafHasher is an io.Writer that computes, in one pass over a stream, the
// linear SHA-256 and the SHA-256 of every 1 MiB leaf. Memory stays constant:
// only the 32-byte leaf digests are kept (32 KiB of digests per GiB).
type leafHasher struct {
	linear hash.Hash
	leaf   hash.Hash
	inLeaf int
	leaves [][32]byte
	n      int64
}

func newLeafHasher() *leafHasher {
	return &leafHasher{linear: sha256.New(), leaf: sha256.New()}
}

func (h *leafHasher) Write(p []byte) (int, error) {
	total := len(p)
	h.linear.Write(p)
	h.n += int64(total)
	for len(p) > 0 {
		room := mib - h.inLeaf
		chunk := p
		if len(chunk) > room {
			chunk = chunk[:room]
		}
		h.leaf.Write(chunk)
		h.inLeaf += len(chunk)
		p = p[len(chunk):]
		if h.inLeaf == mib {
			h.closeLeaf()
		}
	}
	return total, nil
}

func (h *leafHasher) closeLeaf() {
	var d [32]byte
	h.leaf.Sum(d[:0])
	h.leaves = append(h.leaves, d)
	h.leaf.Reset()
	h.inLeaf = 0
}

// finish returns the leaf digests and the linear hash. An empty stream has
// one leaf, sha256(""), matching botocore's calculate_tree_hash.
func (h *leafHasher) finish() (leaves [][32]byte, linear [32]byte) {
	if h.inLeaf > 0 || len(h.leaves) == 0 {
		h.closeLeaf()
	}
	h.linear.Sum(linear[:0])
	return h.leaves, linear
}

// treeRoot combines leaf digests pairwise, promoting an odd last node
// unchanged, until one root remains (Glacier developer guide,
// checksum-calculations).
func treeRoot(leaves [][32]byte) [32]byte {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	level := make([][32]byte, len(leaves))
	copy(level, leaves)
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			var buf [64]byte
			copy(buf[:32], level[i][:])
			copy(buf[32:], level[i+1][:])
			next = append(next, sha256.Sum256(buf[:]))
		}
		level = next
	}
	return level[0]
}

func hexHash(d [32]byte) string { return hex.EncodeToString(d[:]) }

// treeHashAligned reports whether the byte range [start, end) of an object of
// the given size is tree-hash aligned: the root of a tree built over the range
// equals a node of the object's tree. Nodes of the tree cover leaf ranges
// [i*2^k, min((i+1)*2^k, leaves)), because promotion of an odd node keeps
// block boundaries, so that is the whole test.
func treeHashAligned(start, end, size int64) bool {
	if start < 0 || end > size || start >= end || start%mib != 0 {
		return false
	}
	if start == 0 && end == size {
		return true
	}
	p := start / mib
	for k := 0; k < 63; k++ {
		span := int64(1) << k
		if k > 0 && p%span != 0 {
			break
		}
		blockEnd := (p + span) * mib
		if blockEnd >= size {
			return end == size
		}
		if blockEnd == end {
			return true
		}
		if blockEnd > end {
			return false
		}
	}
	return false
}

// rangeTreeHash is the tree hash of the MiB-aligned byte range [start, end)
// computed from the object's leaf digests.
func rangeTreeHash(leaves [][32]byte, start, end int64) [32]byte {
	first := start / mib
	last := (end + mib - 1) / mib
	if last > int64(len(leaves)) {
		last = int64(len(leaves))
	}
	return treeRoot(leaves[first:last])
}
