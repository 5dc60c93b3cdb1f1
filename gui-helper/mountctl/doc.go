// Package mountctl drives a mounted freezer through its control directory
// (MOUNT/.control): it writes the control protocol's lines and reads the
// replies, snapshots and key exports the mount serves. It is the GUI
// helper's only way to act; it holds no engine of its own.
//
// A request is one write(2) on a descriptor opened read-write, and its
// reply is read back on the same descriptor (Plan 9 style): "ok task=ID",
// the plan's JSON, or "error: MESSAGE" after a refused write, whose errno
// says the kind (EINVAL, ENOENT, EEXIST, EBUSY …). Nothing here touches a
// widget; every call blocks, so the GUI makes them off its UI thread.
package mountctl
