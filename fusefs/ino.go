package fusefs

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// Inode numbers are derived from identity (restic's way), so the same
// vault, archive or file keeps its number across listings and mounts and
// `ls -i`, find and file managers are not confused. An archive's identity
// includes its catalog id: an archive removed and made again under the same
// name is another file. 0 and 1 (the root) are never handed out.
func ino(kind string, parts ...string) uint64 {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	n := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	if n < 2 {
		n += 2
	}
	return n
}

func archiveIno(vault, name string, id int64) uint64 {
	return ino("archive", vault, name, strconv.FormatInt(id, 10))
}
