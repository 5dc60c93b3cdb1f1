//go:build !cgo

package main

import (
	"fmt"
	"os"
)

// Fyne draws through OpenGL, which needs cgo. A build without cgo (as the
// headless tests of the other packages use) only says so.
func main() {
	fmt.Fprintln(os.Stderr, "freezer-gui: this binary was built without cgo and cannot open a window: build it with CGO_ENABLED=1 (see the README's GUI helper section)")
	os.Exit(1)
}
