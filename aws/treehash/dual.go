package treehash

import "encoding/binary"

// dual is SHA-256 run over the same bytes into two states at once: the
// linear hash of everything written and the hash of the current leaf. A
// leaf starts at a multiple of 1 MiB, so both states always stand at the
// same block boundary and share the pending partial block. With the SHA
// extensions (blockDual) the two cost little more than one.
type dual struct {
	lin, leaf [8]uint32
	buf       [64]byte
	nbuf      int
	n         uint64 // bytes in the linear hash
}

// iv is SHA-256's initial hash value (FIPS 180-4, 5.3.3).
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

func (d *dual) reset() {
	*d = dual{lin: iv, leaf: iv}
}

// write hashes p into both states.
func (d *dual) write(p []byte) {
	d.n += uint64(len(p))
	if d.nbuf > 0 {
		c := copy(d.buf[d.nbuf:], p)
		d.nbuf += c
		p = p[c:]
		if d.nbuf < len(d.buf) {
			return
		}
		blockDual(&d.lin, &d.leaf, d.buf[:])
		d.nbuf = 0
	}
	if n := len(p) &^ 63; n > 0 {
		blockDual(&d.lin, &d.leaf, p[:n])
		p = p[n:]
	}
	d.nbuf = copy(d.buf[:], p)
}

// newLeaf starts the next leaf; the last one ended on a block boundary.
func (d *dual) newLeaf() { d.leaf = iv }

// linearSum is the SHA-256 of everything written.
func (d *dual) linearSum() [32]byte { return d.finish(d.lin, d.n) }

// leafSum is the SHA-256 of the current leaf, which holds n bytes.
func (d *dual) leafSum(n int) [32]byte { return d.finish(d.leaf, uint64(n)) }

// finish pads the pending bytes of a state that has hashed length bytes
// and returns its digest, leaving d as it was.
func (d *dual) finish(st [8]uint32, length uint64) [32]byte {
	var blk [128]byte
	copy(blk[:], d.buf[:d.nbuf])
	blk[d.nbuf] = 0x80
	end := 64
	if d.nbuf >= 56 {
		end = 128
	}
	binary.BigEndian.PutUint64(blk[end-8:end], length*8)
	var unused [8]uint32
	blockDual(&st, &unused, blk[:end])
	var sum [32]byte
	for i, v := range st {
		binary.BigEndian.PutUint32(sum[4*i:], v)
	}
	return sum
}
