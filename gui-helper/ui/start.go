package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"freezer/control"
)

// Command is what freezer-gui was asked to open.
type Command struct {
	// Name is new-archive (the default), archive or settings.
	Name string
	// Paths are the files and folders of new-archive, absolute.
	Paths []string
	// Vault and Archive name an existing archive (archive), or the vault
	// chosen at first (new-archive --vault).
	Vault, Archive string
	// Tab is the settings tab to show first.
	Tab string
}

// Usage is freezer-gui's command line.
const Usage = `usage: freezer-gui [--mount DIR] [COMMAND]

commands:
  new-archive [--vault VAULT] [PATH...]   the archive dialog, with these files and folders (the default)
  archive VAULT/NAME                      an existing archive, read-only
  settings [AWS|Encryption|Exclusions]    the settings dialog
`

// ParseCommand reads the arguments after the flags; relative paths are
// made absolute against cwd.
func ParseCommand(args []string, cwd string) (Command, error) {
	c := Command{Name: "new-archive"}
	if len(args) > 0 {
		c.Name, args = args[0], args[1:]
	}
	switch c.Name {
	case "new-archive":
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case a == "--vault" && i+1 < len(args):
				c.Vault = args[i+1]
				i++
			case strings.HasPrefix(a, "--vault="):
				c.Vault = strings.TrimPrefix(a, "--vault=")
			case a == "--":
				for _, p := range args[i+1:] {
					c.Paths = append(c.Paths, abs(p, cwd))
				}
				return c, nil
			case strings.HasPrefix(a, "-") && a != "-":
				return c, fmt.Errorf("new-archive: unknown flag %s", a)
			default:
				c.Paths = append(c.Paths, abs(a, cwd))
			}
		}
	case "archive":
		if len(args) != 1 {
			return c, fmt.Errorf("archive takes one VAULT/NAME")
		}
		v, n, err := control.SplitArchivePath(args[0])
		if err != nil {
			return c, fmt.Errorf("archive %s: %v", args[0], err)
		}
		c.Vault, c.Archive = v, n
	case "settings":
		if len(args) > 1 {
			return c, fmt.Errorf("settings takes at most a tab name")
		}
		if len(args) == 1 {
			c.Tab = args[0]
		}
	default:
		return c, fmt.Errorf("unknown command %q", c.Name)
	}
	return c, nil
}

func abs(p, cwd string) string {
	if strings.HasPrefix(p, "file://") {
		p = strings.TrimPrefix(p, "file://")
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}

// stopper is a view with background work to stop when its window closes.
type stopper interface {
	Content() fyne.CanvasObject
	Stop()
}

// Start opens the window cmd asks for. check says whether a freezer is
// mounted; until it is, the window says so and offers to try again.
func Start(a fyne.App, c Control, check func() error, cmd Command) fyne.Window {
	win := a.NewWindow(title(cmd))
	var view stopper
	var archive *ArchiveView
	openSettings := func() {
		sw := a.NewWindow("freezer — settings")
		sv := NewSettingsView(sw, c)
		sw.SetContent(sv.Content())
		sw.SetOnClosed(func() {
			sv.Stop()
			// Keys and exclusions may have changed under the archive dialog.
			if archive != nil {
				archive.Refresh()
			}
		})
		sw.Resize(fyne.NewSize(900, 720))
		sw.Show()
	}
	show := func() {
		switch cmd.Name {
		case "archive":
			view = NewExistingView(c, cmd.Vault, cmd.Archive)
			win.Resize(fyne.NewSize(900, 720))
		case "settings":
			sv := NewSettingsView(win, c)
			if cmd.Tab != "" {
				sv.SelectTab(cmd.Tab)
			}
			view = sv
			win.Resize(fyne.NewSize(900, 720))
		default:
			archive = NewArchiveView(win, c, ArchiveOptions{Paths: cmd.Paths, Vault: cmd.Vault, OpenSettings: openSettings})
			view = archive
			win.Resize(fyne.NewSize(1040, 860))
		}
		win.SetContent(view.Content())
		if archive != nil {
			archive.Load()
		}
	}
	win.SetOnClosed(func() {
		if view != nil {
			view.Stop()
		}
	})
	if err := check(); err != nil {
		win.SetContent(notMounted(err, func() error {
			if err := check(); err != nil {
				return err
			}
			show()
			return nil
		}))
		win.Resize(fyne.NewSize(640, 220))
	} else {
		show()
	}
	win.Show()
	return win
}

func title(cmd Command) string {
	switch cmd.Name {
	case "archive":
		return "freezer — archive " + cmd.Vault + "/" + cmd.Archive
	case "settings":
		return "freezer — settings"
	}
	return "freezer — new archive"
}

// notMounted says that no freezer is mounted, and offers to try again.
func notMounted(err error, retry func() error) fyne.CanvasObject {
	msg := widget.NewLabel(err.Error())
	msg.Wrapping = fyne.TextWrapWord
	msg.Importance = widget.DangerImportance
	var again *widget.Button
	again = widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), func() {
		if err := retry(); err != nil {
			msg.SetText(err.Error())
		}
	})
	return container.NewVBox(
		widget.NewLabelWithStyle("No freezer mount", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		msg, container.NewHBox(again))
}
