package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
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

// waitTask waits for a task to end, showing its progress: a bar on a
// terminal, JSON lines with --progress json, nothing otherwise (logs say
// what happened).
func (a *app) waitTask(ctx context.Context, e *control.Engine, id int64) (control.TaskInfo, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	mode := a.progressMode()
	if mode != progressNone {
		go func() {
			defer close(done)
			a.showProgress(ctx, e, id, mode, stop)
		}()
	} else {
		close(done)
	}
	t, err := e.Wait(ctx, id)
	interrupted := err != nil && ctx.Err() != nil
	if interrupted {
		// Interrupted: stop the engine now, so the task is recorded as
		// interrupted (with what resumes it) before we say so.
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.Close(closeCtx)
		if tt, terr := e.Task(closeCtx, id); terr == nil && tt.Ended() {
			t, err = tt, nil
		}
	}
	close(stop)
	<-done
	if err == nil {
		a.endProgress(mode, t)
	}
	if interrupted && err != nil {
		return t, fmt.Errorf("task %d: %w", id, ctx.Err())
	}
	return t, err
}

// Progress modes (--progress).
const (
	progressAuto = "auto" // a bar on a terminal, else nothing
	progressBar  = "bar"
	progressJSON = "json"
	progressNone = "none"
)

// progressMode is --progress resolved against the terminal.
func (a *app) progressMode() string {
	switch m := a.globals.Progress; m {
	case progressAuto, "":
		if a.terminal && !a.globals.Quiet {
			return progressBar
		}
		return progressNone
	default:
		return m
	}
}

// showProgress reports a running task every tick until stop: its phase,
// bytes done and total, rate and time left, as meter measures them. A
// task of this process is read from the engine; one of another process
// (freezer wait) from the catalog, which its owner updates every second.
func (a *app) showProgress(ctx context.Context, e *control.Engine, id int64, mode string, stop <-chan struct{}) {
	every := 250 * time.Millisecond
	if mode == progressJSON {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var m meter
	for {
		select {
		case <-stop:
			if mode == progressBar {
				a.bar.clear()
			}
			return
		case <-tick.C:
		}
		p, ok := e.Running(id)
		if !ok {
			t, err := e.Task(ctx, id)
			if err != nil || t.Ended() || t.Phase == "" {
				continue
			}
			p.Phase, p.BytesDone, p.BytesTotal = t.Phase, t.BytesDone, t.BytesTotal
		}
		f := m.update(time.Now(), p.Phase, p.BytesDone, p.BytesTotal)
		switch mode {
		case progressBar:
			a.bar.draw(f.line())
		case progressJSON:
			a.progressJSON(f.status(id))
		}
	}
}

// endProgress reports how a task ended: the bar's last frame (100 % only
// for a task that is done), or a JSON summary line.
func (a *app) endProgress(mode string, t control.TaskInfo) {
	switch mode {
	case progressBar:
		if t.State == "done" && t.BytesTotal > 0 {
			fmt.Fprintf(a.stderr, "%-9s %s (100%%)\n", t.Phase, control.FormatBytes(t.BytesTotal))
		}
	case progressJSON:
		a.progressJSON(progressSummary{MessageType: "summary", Task: t.ID, Kind: t.Kind, Target: t.Target(), State: t.State,
			BytesDone: t.BytesDone, BytesTotal: t.BytesTotal, SecondsElapsed: elapsed(t),
			Result: t.Result, Error: t.Error, ErrorKind: t.ErrorKind, Resume: cliHint(t.Resume)})
	}
}

func elapsed(t control.TaskInfo) float64 {
	if t.Started.IsZero() || t.Finished.IsZero() {
		return 0
	}
	return t.Finished.Sub(t.Started).Seconds()
}

// progressJSON writes one JSON line on stderr, for a wrapper reading it.
func (a *app) progressJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	a.bar.line(string(b))
}

// progressStatus is a --progress json status line (restic's message_type
// status), once a second while a task runs.
type progressStatus struct {
	MessageType string  `json:"message_type"` // "status"
	Task        int64   `json:"task"`
	Phase       string  `json:"phase"`
	BytesDone   int64   `json:"bytes_done"`
	BytesTotal  int64   `json:"bytes_total"`       // 0 when unknown
	PercentDone float64 `json:"percent_done"`      // 0 to 1; below 1 until the task is done
	Rate        float64 `json:"bytes_per_second"`  // 0 until measured
	SecondsLeft int64   `json:"seconds_remaining"` // -1 when unknown
}

// progressSummary is the --progress json line that ends a task.
type progressSummary struct {
	MessageType    string  `json:"message_type"` // "summary"
	Task           int64   `json:"task"`
	Kind           string  `json:"kind"`
	Target         string  `json:"target"`
	State          string  `json:"state"` // done, failed, cancelled, interrupted
	BytesDone      int64   `json:"bytes_done"`
	BytesTotal     int64   `json:"bytes_total"`
	SecondsElapsed float64 `json:"seconds_elapsed"`
	Result         string  `json:"result,omitempty"`
	Error          string  `json:"error,omitempty"`
	ErrorKind      string  `json:"error_kind,omitempty"`
	Resume         string  `json:"resume,omitempty"` // the command that resumes it
}

// meter turns samples of a task's bytes into what a person can trust:
//   - the rate is measured over at least a second (a first burst never
//     reads as an absurd speed) and at most the last five;
//   - bytes credited at once rather than moved (parts Glacier already
//     held when an upload resumes, counted in one step) do not count
//     toward the rate;
//   - bytes done never show above the total, and the percentage stays
//     below 100 until the task has ended well: bytes handed to the
//     network are not bytes Glacier accepted, and an interrupted
//     transfer must not look finished.
type meter struct {
	phase   string
	samples []progressSample
	last    progressSample
}

type progressSample struct {
	at    time.Time
	bytes int64 // moved bytes: done minus credited
}

// creditRate is the speed above which a step is taken for bytes credited
// rather than moved: well beyond any link or disk a backup uses.
const creditRate = 4 << 30 // bytes per second

type frame struct {
	phase   string
	done    int64
	total   int64
	percent int     // -1 unknown
	rate    float64 // bytes per second; 0 unknown
	eta     time.Duration
}

func (m *meter) update(now time.Time, phase string, done, total int64) frame {
	if phase != m.phase {
		m.phase, m.samples, m.last = phase, nil, progressSample{at: now, bytes: done}
	}
	step := done - m.last.bytes
	moved := int64(0)
	if len(m.samples) > 0 {
		moved = m.samples[len(m.samples)-1].bytes
	}
	if dt := now.Sub(m.last.at).Seconds(); step > 0 && (len(m.samples) == 0 || float64(step) > creditRate*max(dt, 0.25)) {
		// The first step, and any implausibly fast one, are credited.
		step = 0
	}
	moved += max(step, 0)
	m.last = progressSample{at: now, bytes: done}
	m.samples = append(m.samples, progressSample{at: now, bytes: moved})
	for len(m.samples) > 2 && now.Sub(m.samples[1].at) >= 5*time.Second {
		m.samples = m.samples[1:]
	}
	f := frame{phase: phase, done: done, total: total, percent: -1, eta: -1}
	if total > 0 {
		f.done = min(done, total)
		f.percent = min(99, int(f.done*100/total))
	}
	if first := m.samples[0]; now.Sub(first.at) >= time.Second {
		f.rate = float64(moved-first.bytes) / now.Sub(first.at).Seconds()
		if f.rate > 0 && total > done {
			f.eta = time.Duration(float64(total-done) / f.rate * float64(time.Second)).Round(time.Second)
		}
	}
	return f
}

// line is the frame as a progress bar: "upload    3.0 MiB / 8.0 MiB (37%)  1.2 MiB/s  4s left".
func (f frame) line() string {
	s := fmt.Sprintf("%-9s %s", f.phase, control.FormatBytes(f.done))
	if f.total > 0 {
		s += fmt.Sprintf(" / %s (%d%%)", control.FormatBytes(f.total), f.percent)
	}
	if f.rate > 0 {
		s += fmt.Sprintf("  %s/s", control.FormatBytes(int64(f.rate)))
	}
	if f.eta >= 0 {
		s += fmt.Sprintf("  %s left", f.eta)
	}
	return s
}

func (f frame) status(task int64) progressStatus {
	st := progressStatus{MessageType: "status", Task: task, Phase: f.phase, BytesDone: f.done, BytesTotal: f.total,
		Rate: f.rate, SecondsLeft: -1}
	if f.percent >= 0 {
		st.PercentDone = float64(f.done) / float64(f.total)
		st.PercentDone = min(st.PercentDone, 0.99)
	}
	if f.eta >= 0 {
		st.SecondsLeft = int64(f.eta / time.Second)
	}
	return st
}

// termOut is stderr shared by the progress bar and log lines: a log line
// first clears the bar, which the next tick draws again, so the two never
// mix on one line.
type termOut struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func (t *termOut) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn {
		io.WriteString(t.w, "\r\x1b[K")
		t.drawn = false
	}
	return t.w.Write(p)
}

// draw puts the bar's line in place of the last one.
func (t *termOut) draw(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "\r%s\x1b[K", line)
	t.drawn = true
}

// clear removes the bar.
func (t *termOut) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn {
		io.WriteString(t.w, "\r\x1b[K")
		t.drawn = false
	}
}

// line writes one whole line.
func (t *termOut) line(s string) {
	t.Write([]byte(s + "\n"))
}

// cliHint renders the engine's fixing control line as the command a
// person types here: "extract photos/a /r skip-existing=yes" is
// "freezer archive extract --skip-existing photos/a /r".
func cliHint(hint string) string {
	if hint == "" {
		return ""
	}
	args, err := control.Args(hint)
	if err != nil || len(args) == 0 || args[0].Key != "" {
		return "freezer ctl " + shellQuote(hint)
	}
	var cmd []string
	rest := args[1:]
	switch verb := args[0].Value; verb {
	case "retrieve", "upload", "cancel", "disconnect", "remove", "extract":
		cmd = []string{"freezer", "archive", verb}
	case "inventory":
		cmd = []string{"freezer", "vault", verb}
	case "new-key":
		cmd = []string{"freezer", "key", "create"}
	case "new-archive":
		return "freezer ctl " + shellQuote(hint)
	case "vault", "key", "settings", "exclude":
		if len(rest) == 0 || rest[0].Key != "" {
			return "freezer ctl " + shellQuote(hint)
		}
		cmd, rest = []string{"freezer", verb, rest[0].Value}, rest[1:]
	case "plan":
		cmd = []string{"freezer", "plan"}
	default:
		return "freezer ctl " + shellQuote(hint)
	}
	var words []string
	for _, a := range rest {
		switch {
		case a.Key == "":
			words = append(words, shellWord(a.Value))
		case a.Value == "yes" || a.Value == "true":
			cmd = append(cmd, "--"+a.Key)
		case a.Key == "confirm":
			cmd = append(cmd, "--confirm", shellWord(a.Value))
		default:
			cmd = append(cmd, "--"+a.Key, shellWord(a.Value))
		}
	}
	return strings.Join(append(cmd, words...), " ")
}

// shellWord quotes s for a POSIX shell only when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,+@%=") == "" {
		return s
	}
	return shellQuote(s)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errInterrupted tells whether err is an interrupt.
func errInterrupted(err error) bool {
	return errors.Is(err, control.ErrInterrupted) || errors.Is(err, context.Canceled)
}
