package fusefs

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"freezer/control"
	"freezer/store"
)

// Extended attributes. Every node answers Getxattr and Listxattr itself,
// from the index, so `getfattr -d` over a vault of archives never touches
// the catalog per call. The kernel first asks with an empty buffer for
// the size: a too-small buffer gets (size, ERANGE). A name a node does not
// have gets ENODATA (ENOATTR), a namespace it does not support ENOTSUP —
// never ENOSYS, which would make the kernel turn extended attributes off
// for the whole mount. Setting or removing
// one is refused with EPERM: actions go through the control files.

// xattrPrefix starts every attribute freezer shows (getfattr -d shows only
// user.* by default).
const xattrPrefix = "user.freezer."

// otherXattr answers, without looking anything up, a name that cannot be
// one of freezer's: another user.* name is not there (ENODATA), and the
// other namespaces — security labels, ACLs, trusted.* — are not supported
// by this filesystem at all (ENOTSUP). That is the truth, and it is quick:
// `ls -l` asks every file for security.selinux, and on ENOTSUP it stops
// asking for the rest of the mount (coreutils remembers the device).
// ENOSYS is never answered: the kernel would turn xattrs off altogether.
func otherXattr(name string) (syscall.Errno, bool) {
	switch {
	case strings.HasPrefix(name, xattrPrefix):
		return 0, false
	case strings.HasPrefix(name, "user."):
		return syscall.ENODATA, true
	}
	return syscall.ENOTSUP, true
}

// xattr is one attribute.
type xattr struct {
	name  string // without the prefix
	value string
}

// getXattr answers Getxattr from a node's attributes.
func getXattr(attrs []xattr, name string, dest []byte) (uint32, syscall.Errno) {
	if e, other := otherXattr(name); other {
		return 0, e
	}
	for _, a := range attrs {
		if xattrPrefix+a.name != name {
			continue
		}
		if len(dest) < len(a.value) {
			return uint32(len(a.value)), syscall.ERANGE
		}
		return uint32(copy(dest, a.value)), 0
	}
	return 0, syscall.ENODATA
}

// listXattr answers Listxattr: every name with its NUL.
func listXattr(attrs []xattr, dest []byte) (uint32, syscall.Errno) {
	n := 0
	for _, a := range attrs {
		n += len(xattrPrefix) + len(a.name) + 1
	}
	if len(dest) < n {
		return uint32(n), syscall.ERANGE
	}
	buf := dest[:0]
	for _, a := range attrs {
		buf = append(buf, xattrPrefix...)
		buf = append(buf, a.name...)
		buf = append(buf, 0)
	}
	return uint32(len(buf)), 0
}

func xattrTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// attrs drops the attributes without a value: an archive not yet in
// Glacier has no archive id, rather than an empty one.
func attrs(all ...xattr) []xattr {
	out := all[:0]
	for _, a := range all {
		if a.value != "" {
			out = append(out, a)
		}
	}
	return out
}

// archiveXattrs are an archive's attributes (DESIGN.md, the mount).
func archiveXattrs(a control.ArchiveInfo) []xattr {
	cipher := a.Cipher
	if cipher == "" {
		cipher = "none"
	}
	var job, expires string
	if a.Job != nil {
		job = a.Job.ID
	}
	if a.State == store.StateMelted {
		expires = xattrTime(a.Expires())
	}
	return attrs(
		xattr{"state", string(a.State)},
		xattr{"archive-id", a.RemoteID},
		xattr{"size", strconv.FormatInt(a.Size, 10)},
		xattr{"files", strconv.FormatInt(a.FileCount, 10)},
		xattr{"created", xattrTime(a.Created)},
		xattr{"description", a.Description},
		xattr{"tree-hash", a.TreeHash},
		xattr{"compression", a.Compression},
		xattr{"encryption", cipher},
		xattr{"key", a.KeyID},
		xattr{"job", job},
		xattr{"job-expires", expires},
	)
}

// vaultXattrs are a vault's attributes.
func vaultXattrs(v control.VaultInfo) []xattr {
	return attrs(
		xattr{"arn", v.ARN},
		xattr{"archives", strconv.FormatInt(v.Archives, 10)},
		xattr{"size", strconv.FormatInt(v.CatalogSize, 10)},
		xattr{"inventory-date", xattrTime(v.InventoryDate)},
	)
}

// memberXattrs are the attributes of a file inside an archive.
func memberXattrs(f store.FileRecord) []xattr {
	return attrs(xattr{"sha256", f.SHA256})
}

// keyXattrs are a key's attributes (never its material).
func keyXattrs(k control.KeyInfo) []xattr {
	def := "no"
	if k.Default {
		def = "yes"
	}
	return attrs(
		xattr{"name", k.Name},
		xattr{"algorithm", k.Algorithm},
		xattr{"created", xattrTime(k.Created)},
		xattr{"default", def},
	)
}
