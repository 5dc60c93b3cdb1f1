//go:build !unix

package pipeline

import "os"

// Without flock a spool cannot be locked: the engine's claims alone keep
// two downloads of one job apart.
func lockFile(*os.File) error { return nil }

func lockedElsewhere(string) bool { return false }
