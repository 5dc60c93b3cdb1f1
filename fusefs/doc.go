// Package fusefs will hold the go-fuse nodes of the mount (root, vault
// folders, archive files, the .control folder). It only adapts file
// operations to package control; the mount arrives with its own issue.
package fusefs
