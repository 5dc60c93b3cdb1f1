// Package ui holds the GUI helper's windows: the manual's archive dialog
// (new and existing archives) and settings dialog. It never imports
// fyne.io/fyne/v2/app, so its tests run headless with CGO_ENABLED=0 on
// Fyne's test driver; the freezer-gui command builds the real app.
//
// Every action goes through a Control — the control files of a mounted
// freezer (mountctl.Files), or an in-memory fake in tests and the demo.
// Calls to it block, so they run on goroutines owned by the view's worker
// (stopped when its window closes), and their results reach the widgets
// through fyne.Do.
package ui

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"freezer/control"
	"freezer/filter"
	"freezer/gui-helper/mountctl"
)

// Control is what the helper asks of a mounted freezer.
type Control interface {
	Plan(ctx context.Context, s mountctl.Selection) (*filter.Document, error)
	NewArchive(ctx context.Context, r mountctl.NewArchive) (task int64, err error)
	Task(ctx context.Context, id int64) (control.TaskJSON, error)
	Archive(ctx context.Context, vault, name string) (mountctl.Archive, error)
	Vaults(ctx context.Context) ([]string, error)
	CreateVault(ctx context.Context, name string) error

	Settings(ctx context.Context) (control.SettingsJSON, error)
	// SetSettings writes mountctl.SettingLine lines in one request.
	SetSettings(ctx context.Context, lines []string) error
	// Ctl writes lines to .control/ctl (exclusions, the default key).
	Ctl(ctx context.Context, lines ...string) error

	Keys(ctx context.Context) ([]mountctl.Key, error)
	KeyJSON(ctx context.Context, id string) ([]byte, error)
	NewKey(ctx context.Context, algorithm, name string) (id string, err error)
	ImportKey(ctx context.Context, data []byte) (id string, err error)
}

var _ Control = mountctl.Files{}

// worker runs a view's blocking calls off the UI thread. Its goroutines
// end when Stop is called (the window closed); results that arrive after
// that are dropped.
type worker struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWorker() *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{ctx: ctx, cancel: cancel}
}

// Stop ends the worker's goroutines.
func (w *worker) Stop() { w.cancel() }

// wait waits for every call started so far, and those they started: tests
// use it (the test driver runs fyne.Do at once).
func (w *worker) wait() { w.wg.Wait() }

// run calls work on a goroutine, then done with its result on the UI
// thread.
func run[T any](w *worker, work func(ctx context.Context) (T, error), done func(T, error)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		v, err := work(w.ctx)
		if w.ctx.Err() != nil {
			return
		}
		fyne.DoAndWait(func() { done(v, err) })
	}()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
