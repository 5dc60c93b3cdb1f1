//go:build !linux

package sim

import "os"

// openDirect: O_DIRECT is used on Linux only.
func openDirect(string) *os.File { return nil }

func openDirectRead(string) *os.File { return nil }

func isDirectRefusal(error) bool { return false }
