// Package tarball turns chosen files and folders into a PAX tar stream,
// hashing every file on the way, and extracts such streams safely.
//
// # Stored paths
//
// Each root given to Walk is stored under its own base name, so that
// extracting into DEST rebuilds it as DEST/<base name>:
//
//	/home/a/photos/2024      → 2024/, 2024/jan/img1.jpg, …
//	/home/a/notes.txt        → notes.txt
//	.  (run in /home/a/src)  → src/…
//
// Roots are made absolute and cleaned first ("photos/", "./photos" and
// "/home/a/photos" are the same root). A root that is a symbolic link is
// followed: giving the link means "this folder", and it is stored under the
// link's own name, not its target's. Symbolic links inside a root are stored
// as links and never followed, so a walk cannot loop. Two roots with the
// same base name, a root inside another root, and the file system root "/"
// are errors unless the caller gives explicit names (WalkOptions.Names),
// which may contain slashes ("home/a/photos") but no "." or ".." parts.
// Names are stored byte for byte: a name that is not valid UTF-8 is kept as
// it is on disk (PAX records carry it unchanged, and GNU tar reads it back
// to the same bytes).
//
// # Archive contents
//
// Directories are stored with their mode and mtime, regular files with
// their contents, symbolic links as links, and a file with several names
// inside the selection once, its later names as hard links. Owner ids and
// names are stored, and mtimes keep nanoseconds (PAX "mtime" records).
// Devices, FIFOs and sockets are never archived: Walk reports them and
// Write skips them with a warning.
//
// # Extraction safety
//
// Extract never writes outside its destination: every parent directory is
// opened relative to the destination without following symbolic links
// (openat with O_NOFOLLOW), so an entry placed through a symbolic link —
// one from the archive or one already in the destination — is refused, as
// are absolute names, names with "..", hard links to anything but a file
// extracted earlier from the same archive, and (unless allowed) symbolic
// links whose target leaves the destination.
package tarball
