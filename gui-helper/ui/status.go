package ui

import (
	"errors"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"freezer/gui-helper/mountctl"
)

// statusLine is a view's message line: what was done, or what went wrong
// (a refused request shows the mount's own error line).
type statusLine struct {
	*widget.Label
}

func newStatusLine() statusLine {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	return statusLine{l}
}

func (s statusLine) info(msg string) {
	s.Importance = widget.MediumImportance
	s.SetText(msg)
}

func (s statusLine) success(msg string) {
	s.Importance = widget.SuccessImportance
	s.SetText(msg)
}

func (s statusLine) fail(what string, err error) {
	s.Importance = widget.DangerImportance
	s.SetText(what + ": " + errorText(err))
}

// errorText is an error as a person reads it: the mount's message, with
// the errno's meaning when there is no message.
func errorText(err error) string {
	var e *mountctl.Error
	if errors.As(err, &e) && e.Message == "" {
		switch e.Errno {
		case syscall.EINVAL:
			return e.Error() + " (the request was malformed)"
		case syscall.EEXIST:
			return e.Error() + " (the name is taken)"
		case syscall.EBUSY:
			return e.Error() + " (another task holds it; try again when it ends)"
		}
	}
	return err.Error()
}
