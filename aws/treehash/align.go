package treehash

import "fmt"

// Range is a byte range with an inclusive end, as in HTTP Range headers and
// Glacier's RetrievalByteRange.
type Range struct {
	Start, End int64
}

// Len is the number of bytes in the range.
func (r Range) Len() int64 { return r.End - r.Start + 1 }

// String formats the range as Glacier's RetrievalByteRange ("start-end").
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Start, r.End) }

// leafCount is the number of 1 MiB leaves of size bytes.
func leafCount(size int64) int64 { return (size + MiB - 1) / MiB }

// IsTreeHashAligned reports whether the byte range [start, end] (inclusive)
// of an archive of size bytes is tree-hash aligned: the tree hash built over
// the range alone is the hash of a node of the whole archive's tree, so
// Glacier can return (and a client can check) a tree hash for it.
//
// That holds when the range covers exactly the leaves of a node. The nodes of
// level i cover leaves [m·2^i, min((m+1)·2^i, N)) of the N leaves, so the range
// must start on a leaf boundary a with a multiple of 2^i, and either span
// exactly 2^i whole leaves or run to the end of the archive when fewer than
// 2^i leaves remain.
func IsTreeHashAligned(start, end, size int64) bool {
	if start < 0 || end < start || end >= size {
		return false
	}
	if start%MiB != 0 {
		return false
	}
	n := leafCount(size)
	a := start / MiB
	if end == size-1 {
		// The node [a, N): its level is the smallest i with 2^i >= N-a.
		return a%ceilPow2(n-a) == 0
	}
	if (end+1)%MiB != 0 {
		return false
	}
	l := (end + 1 - start) / MiB
	return l&(l-1) == 0 && a%l == 0
}

// ceilPow2 is the smallest power of two >= n, for n >= 1.
func ceilPow2(n int64) int64 {
	p := int64(1)
	for p < n {
		p <<= 1
	}
	return p
}

// Ranges splits an archive of size bytes into consecutive ranges of chunk
// bytes, the last one ending at the archive's end. chunk must satisfy
// ValidPartSize (1 MiB × 2^k); then every range is tree-hash aligned, so each
// download can be checked on its own and the parts combined with Combine.
// Ranges panics on an invalid chunk: callers validate sizes taken from users
// with ValidPartSize first. An empty archive has no ranges.
func Ranges(size, chunk int64) []Range {
	if !ValidPartSize(chunk) {
		panic(fmt.Sprintf("treehash.Ranges: chunk %d is not 1 MiB × 2^k up to 4 GiB", chunk))
	}
	if size <= 0 {
		return nil
	}
	out := make([]Range, 0, (size+chunk-1)/chunk)
	for start := int64(0); start < size; start += chunk {
		end := start + chunk - 1
		if end >= size {
			end = size - 1
		}
		out = append(out, Range{Start: start, End: end})
	}
	return out
}
