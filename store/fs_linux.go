//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Filesystems on which a catalog must not be shared with SQLite's
// write-ahead log. WAL keeps its index in a shared-memory file (-shm) that
// every process maps: processes on two machines cannot share that memory,
// and the byte-range locks that guard it are not dependable over a network
// (NFS, SMB) or through FUSE (sshfs, rclone and the like pass them on, or
// keep them local, as each implementation pleases). SQLite's documentation
// says as much: WAL "does not work over a network filesystem".
var networkFilesystems = map[int64]string{
	unix.NFS_SUPER_MAGIC:   "nfs",
	unix.SMB_SUPER_MAGIC:   "smb",
	unix.CIFS_SUPER_MAGIC:  "cifs",
	unix.SMB2_SUPER_MAGIC:  "smb2",
	unix.FUSE_SUPER_MAGIC:  "fuse",
	unix.V9FS_MAGIC:        "9p",
	unix.CEPH_SUPER_MAGIC:  "ceph",
	unix.AFS_SUPER_MAGIC:   "afs",
	unix.AFS_FS_MAGIC:      "afs",
	unix.CODA_SUPER_MAGIC:  "coda",
	unix.NCP_SUPER_MAGIC:   "ncp",
	unix.OCFS2_SUPER_MAGIC: "ocfs2",
	0x01161970:             "gfs2",
	0x0bd00bd0:             "lustre",
}

// Filesystem says what kind of filesystem holds path (a file that may not
// exist yet: its nearest existing folder is asked), and whether it is
// shared over a network or through FUSE, where a catalog cannot use
// SQLite's write-ahead log.
func Filesystem(path string) (kind string, network bool, err error) {
	dir, err := filepath.Abs(path)
	if err != nil {
		return "", false, err
	}
	for {
		var st unix.Statfs_t
		err := unix.Statfs(dir, &st)
		if err == nil {
			kind, network := filesystemKind(int64(st.Type))
			return kind, network, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", false, fmt.Errorf("filesystem of %s: %w", dir, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false, fmt.Errorf("filesystem of %s: %w", path, err)
		}
		dir = parent
	}
}

// filesystemKind names a statfs(2) filesystem type.
func filesystemKind(magic int64) (kind string, network bool) {
	magic &= 0xffffffff
	if name, ok := networkFilesystems[magic]; ok {
		return name, true
	}
	return fmt.Sprintf("0x%x", magic), false
}
