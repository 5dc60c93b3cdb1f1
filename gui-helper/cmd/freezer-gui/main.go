//go:build cgo

// Command freezer-gui is the GUI helper of freezer: the AWS Freezer
// manual's archive dialog and settings dialog, acting only through the
// control files of a mounted freezer (freezer mount ~/freezer).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2/app"

	"freezer/gui-helper/fakectl"
	"freezer/gui-helper/mountctl"
	"freezer/gui-helper/ui"
)

func main() {
	home, _ := os.UserHomeDir()
	fs := flag.NewFlagSet("freezer-gui", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ui.Usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	mount := fs.String("mount", filepath.Join(home, "freezer"), "where freezer is mounted")
	demo := fs.Bool("demo", false, "show the dialogs on made-up data, without a mount (for a first look)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	cwd, _ := os.Getwd()
	cmd, err := ui.ParseCommand(fs.Args(), cwd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "freezer-gui:", err)
		fmt.Fprint(os.Stderr, ui.Usage)
		os.Exit(2)
	}

	var ctl ui.Control
	var check func() error
	if *demo {
		ctl, check = fakectl.New(), func() error { return nil }
	} else {
		files := mountctl.Files{Mount: filepath.Clean(*mount)}
		ctl, check = files, files.Check
		if err := check(); err != nil {
			// Said on stderr for a shell; the window says it too, for a
			// file manager's "Open with".
			fmt.Fprintln(os.Stderr, "freezer-gui:", err)
		}
	}
	a := app.NewWithID("freezer.gui-helper")
	ui.Start(a, ctl, check, cmd)
	a.Run()
}
