package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"freezer/control"
)

// do runs one request through the engine, as every front end does: the
// request is checked (a refusal is the error), then, when it starts a task,
// the task is waited for, with its progress shown on a terminal. After an
// interrupt (Ctrl-C) the engine is closed, which records the task as
// interrupted with the line that resumes it; that is the error returned.
func (a *app) do(ctx context.Context, e *control.Engine, req control.Request) (control.Reply, *control.TaskInfo, error) {
	reps, err := e.Do(ctx, req)
	if err != nil {
		return control.Reply{}, nil, err
	}
	rep := reps[0]
	if rep.Err != nil || rep.Task == 0 {
		return rep, nil, rep.Err
	}
	t, err := a.waitTask(ctx, e, rep.Task)
	if err != nil {
		return rep, nil, err
	}
	return rep, &t, t.Err()
}

// waitTask waits for a task to end, showing its progress on a terminal.
func (a *app) waitTask(ctx context.Context, e *control.Engine, id int64) (control.TaskInfo, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	if a.terminal {
		go func() {
			defer close(done)
			a.showProgress(e, id, stop)
		}()
	} else {
		close(done)
	}
	t, err := e.Wait(ctx, id)
	close(stop)
	<-done
	if err != nil && ctx.Err() != nil {
		// Interrupted: stop the engine now, so the task is recorded as
		// interrupted (with what resumes it) before we say so.
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.Close(closeCtx)
		if t, err := e.Task(closeCtx, id); err == nil && t.Ended() {
			return t, nil
		}
		return t, fmt.Errorf("task %d: %w", id, ctx.Err())
	}
	return t, err
}

// showProgress draws one line per phase of a running task — bytes done and
// total, the rate over the last seconds and the time left — until stop.
// The rate appears only once a second of transfer is measured, so a first
// burst never reads as an absurd speed.
func (a *app) showProgress(e *control.Engine, id int64, stop <-chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var phase string
	var samples []progressSample
	drawn := false
	for {
		select {
		case <-stop:
			if drawn {
				fmt.Fprintln(a.stderr)
			}
			return
		case <-tick.C:
		}
		p, ok := e.Running(id)
		if !ok {
			continue
		}
		if p.Phase != phase {
			if drawn {
				fmt.Fprintln(a.stderr)
			}
			phase, samples = p.Phase, nil
		}
		now := time.Now()
		samples = append(samples, progressSample{now, p.BytesDone})
		for len(samples) > 2 && now.Sub(samples[1].at) > 5*time.Second {
			samples = samples[1:]
		}
		line := fmt.Sprintf("%-9s %s", p.Phase, formatBytes(p.BytesDone))
		if p.BytesTotal > 0 {
			line += fmt.Sprintf(" / %s (%d%%)", formatBytes(p.BytesTotal), min(100, p.BytesDone*100/p.BytesTotal))
		}
		if first := samples[0]; now.Sub(first.at) >= time.Second {
			rate := float64(p.BytesDone-first.bytes) / now.Sub(first.at).Seconds()
			line += fmt.Sprintf("  %s/s", formatBytes(int64(rate)))
			if rate > 0 && p.BytesTotal > p.BytesDone {
				eta := time.Duration(float64(p.BytesTotal-p.BytesDone) / rate * float64(time.Second)).Round(time.Second)
				line += fmt.Sprintf("  %s left", eta)
			}
		}
		fmt.Fprintf(a.stderr, "\r%s\x1b[K", line)
		drawn = true
	}
}

type progressSample struct {
	at    time.Time
	bytes int64
}

// formatBytes prints a byte count with a binary unit.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// cliHint renders the engine's fixing control line as the command a
// person types here.
func cliHint(hint string) string {
	if hint == "" {
		return ""
	}
	words := strings.Fields(hint)
	switch words[0] {
	case "retrieve", "upload", "cancel", "disconnect", "remove", "extract":
		return "freezer archive " + hint
	case "inventory":
		return "freezer vault " + hint
	case "vault", "key", "settings", "exclude", "plan":
		return "freezer " + hint
	case "new-key":
		return "freezer key create"
	}
	return "freezer ctl " + shellQuote(hint)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errInterrupted tells whether err is an interrupt.
func errInterrupted(err error) bool {
	return errors.Is(err, control.ErrInterrupted) || errors.Is(err, context.Canceled)
}
