// Package fusefs serves the catalog as a filesystem: one directory per
// vault, one read-only file per archive (its state and metadata in
// extended attributes), VAULT/.contents/ARCHIVE/ with the files an archive
// holds, and the .control directory whose files take control-protocol
// lines. It only adapts: every action is a control.Request handed to the
// engine, every listing comes from the engine's read view, and nothing
// here decides what an archive's state is or talks to Glacier.
//
// Where things live: engine.go declares what the mount needs of the
// engine; root.go, vault.go, archive.go and contents.go are the node
// kinds; control_dir.go, control_write.go and control_read.go the control
// directory; xattr.go the extended attributes; refuse.go the changes every
// node refuses; index.go the in-memory listings the nodes answer from
// (plain data, tested without a mount); ino.go the inode numbers;
// notify.go turns engine events into kernel cache invalidations; errno.go
// maps errors; mount.go and mountpoint.go mount and unmount;
// interfaces.go holds the compile-time checks.
//
// Lock order. Every lock here is a leaf: none is held while another of
// ours is taken, while the engine, the catalog or the network is called,
// or while go-fuse's Notify* functions run.
//
//   - cell.mu (index.go) guards one cached listing; a load runs with it
//     released, and a generation number keeps a load that raced with an
//     invalidation from being kept as fresh.
//   - filesystem.pendingMu (notify.go) guards the events waiting for the
//     notifier goroutine; the engine's event goroutine only appends.
//   - ctlHandle.mu, streamHandle.mu (control_write.go, contents.go)
//     guard one open file's reply or stream. A stream's mutex is held
//     across reads of the local archive file (local disk, never the
//     catalog or the network); a control write runs its request with the
//     mutex released and takes it only to store the reply.
//
// Kernel notifications (NotifyEntry, NotifyDelete, NotifyContent) are
// sent only from the notifier goroutine, never from a FUSE handler (a
// handler that waits for the kernel while the kernel waits for it
// deadlocks).
package fusefs
