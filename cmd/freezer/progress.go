package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"freezer/control"
)

// progress shows a bar (bytes, rate, ETA) for a long transfer when stderr
// is a terminal; elsewhere the log lines at the end say what was done.
func (a *app) progress(label string, total int64) control.Progress {
	if !a.terminal {
		return nil
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stderr) }),
	)
	return &bar64{bar}
}

type bar64 struct{ b *progressbar.ProgressBar }

func (b *bar64) Add(n int64) { b.b.Add64(n) }
func (b *bar64) Done()       { b.b.Finish() }
