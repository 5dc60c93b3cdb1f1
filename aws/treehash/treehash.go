// Package treehash computes Amazon Glacier's SHA-256 tree hash together with
// the plain (linear) SHA-256 of the same bytes, in one streaming pass.
//
// The tree hash splits the data into 1 MiB leaves (the last one may be
// shorter), hashes each leaf with SHA-256 and then repeatedly hashes the
// concatenation of consecutive pairs of raw 32-byte digests, promoting an odd
// last node unchanged to the next level, until one root remains.
//
// Pairing from the left with promotion builds the same tree as "the left
// subtree holds the largest power of two leaves": at level i the nodes cover
// leaves [m·2^i, min((m+1)·2^i, N)). The Hasher relies on this to keep only
// one pending digest per level (a binary counter), so its memory does not grow
// with the size of the data.
package treehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// MiB is the leaf size of the tree hash.
const MiB = 1 << 20

// MaxPartSize is the largest multipart part size Glacier accepts (4 GiB).
const MaxPartSize = 4 << 30

// emptySum is the SHA-256 of no bytes. Glacier has no tree for an empty
// payload; like botocore we report the linear hash of nothing for it.
var emptySum = sha256.Sum256(nil)

// node is a pending root of a perfect subtree of 2^level leaves.
type node struct {
	level  uint
	digest [32]byte
}

// Hasher is an io.Writer that computes the linear SHA-256 and the tree hash of
// everything written to it (or the tree hash alone, from NewTree). The zero
// value is not ready; use New or NewTree.
type Hasher struct {
	linear   hash.Hash // nil: tree hash only (or dual)
	leaf     hash.Hash // nil: dual
	dual     *dual     // non-nil: linear and leaf hashes in one pass
	leafFill int       // bytes in the current, unfinished leaf
	size     int64     // total bytes written
	leaves   int64     // finished leaves
	stack    []node
}

// New returns a Hasher ready to be written to.
func New() *Hasher {
	return newHasher(useDual)
}

// newHasher is New with the choice of the one-pass (dual) hashing made by
// the caller; tests compare both.
func newHasher(onePass bool) *Hasher {
	if onePass {
		h := &Hasher{dual: new(dual)}
		h.dual.reset()
		return h
	}
	return &Hasher{linear: sha256.New(), leaf: sha256.New()}
}

// NewTree returns a Hasher that computes the tree hash alone; Sum reports a
// zero linear digest. Checking downloaded ranges needs only the tree hash,
// and the linear SHA-256 would double the work.
func NewTree() *Hasher {
	return &Hasher{leaf: sha256.New()}
}

// Write hashes p. It never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	if h.linear != nil {
		h.linear.Write(p)
	}
	h.size += int64(n)
	for len(p) > 0 {
		room := MiB - h.leafFill
		if room > len(p) {
			room = len(p)
		}
		if h.dual != nil {
			h.dual.write(p[:room])
		} else {
			h.leaf.Write(p[:room])
		}
		h.leafFill += room
		p = p[room:]
		if h.leafFill == MiB {
			h.finishLeaf()
		}
	}
	return n, nil
}

func (h *Hasher) finishLeaf() {
	var d [32]byte
	if h.dual != nil {
		d = h.dual.leafSum(h.leafFill)
		h.dual.newLeaf()
	} else {
		h.leaf.Sum(d[:0])
		h.leaf.Reset()
	}
	h.leafFill = 0
	h.leaves++
	h.push(node{level: 0, digest: d})
}

// push adds a subtree root, merging equal-level neighbours like a carry.
func (h *Hasher) push(n node) {
	for len(h.stack) > 0 && h.stack[len(h.stack)-1].level == n.level {
		top := h.stack[len(h.stack)-1]
		h.stack = h.stack[:len(h.stack)-1]
		n = node{level: n.level + 1, digest: pair(top.digest, n.digest)}
	}
	h.stack = append(h.stack, n)
}

// Size reports the number of bytes written so far.
func (h *Hasher) Size() int64 { return h.size }

// Leaves reports the number of 1 MiB leaves of the data written so far,
// counting a final partial leaf.
func (h *Hasher) Leaves() int64 {
	if h.leafFill > 0 {
		return h.leaves + 1
	}
	return h.leaves
}

// Sum returns the linear SHA-256 and the tree hash of the data written so
// far. It does not change the Hasher, so writing may go on afterwards. For no
// data both are the SHA-256 of the empty string. A Hasher from NewTree
// reports a zero linear digest.
func (h *Hasher) Sum() (linear, tree [32]byte) {
	switch {
	case h.dual != nil:
		linear = h.dual.linearSum()
	case h.linear != nil:
		h.linear.Sum(linear[:0])
	}
	if h.size == 0 {
		return linear, emptySum
	}
	stack := h.stack
	if h.leafFill > 0 {
		// sha256's Sum does not reset, so the partial leaf can be finished
		// on a copy of the stack without disturbing later writes.
		var d [32]byte
		if h.dual != nil {
			d = h.dual.leafSum(h.leafFill)
		} else {
			h.leaf.Sum(d[:0])
		}
		stack = append(stack[:len(stack):len(stack)], node{digest: d})
	}
	// The pending roots, left to right, have strictly decreasing sizes; the
	// promotion rule combines them from the right.
	tree = stack[len(stack)-1].digest
	for i := len(stack) - 2; i >= 0; i-- {
		tree = pair(stack[i].digest, tree)
	}
	return linear, tree
}

// SumHex is Sum with both digests in lowercase hex, as Glacier's headers use.
func (h *Hasher) SumHex() (linear, tree string) {
	l, t := h.Sum()
	return Hex(l), Hex(t)
}

// Reset makes the Hasher ready for new data.
func (h *Hasher) Reset() {
	switch {
	case h.dual != nil:
		h.dual.reset()
	default:
		if h.linear != nil {
			h.linear.Reset()
		}
		h.leaf.Reset()
	}
	h.leafFill = 0
	h.size = 0
	h.leaves = 0
	h.stack = h.stack[:0]
}

func pair(a, b [32]byte) [32]byte {
	var buf [64]byte
	copy(buf[:32], a[:])
	copy(buf[32:], b[:])
	return sha256.Sum256(buf[:])
}

// Compute reads r to its end and returns its linear and tree hashes and size.
func Compute(r io.Reader) (linear, tree [32]byte, size int64, err error) {
	h := New()
	if _, err = io.Copy(h, r); err != nil {
		return linear, tree, h.Size(), err
	}
	linear, tree = h.Sum()
	return linear, tree, h.Size(), nil
}

// Combine returns the tree hash over a list of subtree roots, left to right:
// the tree hashes of multipart parts whose size is 1 MiB × 2^n (all equal,
// the last possibly shorter), or of consecutive tree-hash-aligned ranges of
// that size. It applies the same pairing and promotion as for leaves. Combine
// of no hashes is the SHA-256 of the empty string, like an empty payload.
func Combine(hashes [][32]byte) [32]byte {
	switch len(hashes) {
	case 0:
		return emptySum
	case 1:
		return hashes[0]
	}
	level := make([][32]byte, len(hashes))
	copy(level, hashes)
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				break
			}
			next = append(next, pair(level[i], level[i+1]))
		}
		level = next
	}
	return level[0]
}

// Hex encodes a digest as lowercase hex.
func Hex(d [32]byte) string { return hex.EncodeToString(d[:]) }

// ParseHex decodes a 64-character hex digest (either case).
func ParseHex(s string) ([32]byte, error) {
	var d [32]byte
	if len(s) != 64 {
		return d, fmt.Errorf("tree hash %q: want 64 hex digits, got %d characters", s, len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("tree hash %q: %w", s, err)
	}
	return d, nil
}

// ValidPartSize reports whether n is a part size Glacier accepts for
// multipart uploads: 1 MiB × 2^k, from 1 MiB to 4 GiB. The same sizes make
// tree-hash-aligned download chunks.
func ValidPartSize(n int64) bool {
	return n >= MiB && n <= MaxPartSize && n&(n-1) == 0
}
