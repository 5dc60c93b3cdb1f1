//go:build linux

package store

import "testing"

func TestFilesystemKind(t *testing.T) {
	for _, c := range []struct {
		magic   int64
		kind    string
		network bool
	}{
		{0x6969, "nfs", true},
		{0xff534d42, "cifs", true},
		{-0xacb2be, "cifs", true}, // the same magic, as a signed 32-bit f_type
		{0xfe534d42, "smb2", true},
		{0x65735546, "fuse", true},
		{0x01021997, "9p", true},
		{0xef53, "0xef53", false},         // ext4
		{0x58465342, "0x58465342", false}, // xfs
		{0x01021994, "0x1021994", false},  // tmpfs
	} {
		kind, network := filesystemKind(c.magic)
		if kind != c.kind || network != c.network {
			t.Errorf("magic %#x: %s, %v; want %s, %v", c.magic, kind, network, c.kind, c.network)
		}
	}
}
