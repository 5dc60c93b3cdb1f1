package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"freezer/control"
)

// StatusCmd lists tasks.
type StatusCmd struct {
	JSON   bool `help:"Print the status document as JSON (the README documents its shape)."`
	Recent int  `default:"20" help:"How many ended tasks to show besides the running ones."`
}

// Run prints the running and recent tasks of every process.
func (c *StatusCmd) Run(ctx context.Context, a *app) error {
	v, err := a.view(ctx)
	if err != nil {
		return err
	}
	ts, err := v.Tasks(ctx, c.Recent)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.Status(ts))
	}
	tb := newTable(a.stdout, "TASK", "KIND", "TARGET", "STATE", "PHASE", "DONE", "RATE", "LEFT", "OWNER")
	for _, t := range ts {
		done := control.FormatBytes(t.BytesDone)
		if t.BytesTotal > 0 {
			// Bytes sent twice (a retried part) never read as more than all.
			done = control.FormatBytes(min(t.BytesDone, t.BytesTotal)) + " / " + control.FormatBytes(t.BytesTotal)
		}
		rate, left := "-", "-"
		if t.Rate > 0 && !t.Ended() {
			rate = control.FormatBytes(int64(t.Rate)) + "/s"
		}
		if t.ETA >= 0 {
			left = t.ETA.String()
		}
		tb.row(t.ID, t.Kind, t.Target(), t.State, t.Phase, done, rate, left, t.Owner)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	for _, t := range ts {
		if t.State == "interrupted" && t.Resume != "" {
			fmt.Fprintf(a.stdout, "task %d was interrupted; resume it with: %s\n", t.ID, clean(cliHint(t.Resume)))
		}
	}
	return nil
}

// WaitCmd waits for tasks.
type WaitCmd struct {
	IDs []int64 `arg:"" name:"id" help:"Task ids (see 'freezer status')."`
}

// Run waits for every task and exits with the first failure's status.
func (c *WaitCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, id := range c.IDs {
		t, err := a.waitTask(ctx, e, id)
		if err != nil {
			return err
		}
		if terr := t.Err(); terr != nil {
			fmt.Fprintf(a.stdout, "%d\t%s\t%s\n", t.ID, t.State, clean(t.Error))
			if first == nil {
				first = terr
			}
			continue
		}
		fmt.Fprintf(a.stdout, "%d\t%s\t%s\n", t.ID, t.State, clean(t.Result))
	}
	return first
}

// JobsCmd lists Glacier jobs.
type JobsCmd struct {
	JSON    bool `help:"Print the jobs document as JSON."`
	Refresh bool `default:"true" negatable:"" help:"Ask Glacier for its job lists first (at most once a minute)."`
}

// Run prints the jobs as Glacier lists them, merged with the catalog's
// (the manual's job dialog).
func (c *JobsCmd) Run(ctx context.Context, a *app) error {
	var v *control.View
	if c.Refresh {
		e, err := a.engine(ctx)
		if err != nil {
			return err
		}
		if err := e.Refresh(ctx, false); err != nil {
			return err
		}
		v = e.View
	} else {
		var err error
		if v, err = a.view(ctx); err != nil {
			return err
		}
	}
	jobs, err := v.Jobs(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.JobsDoc(jobs))
	}
	t := newTable(a.stdout, "JOB", "VAULT", "ARCHIVE", "ACTION", "TIER", "STATUS", "CREATED", "EXPIRES", "EXECUTED")
	for _, j := range jobs {
		status := j.Status
		if j.Foreign {
			status += " (other client)"
		}
		t.row(j.ID, j.Vault, dash(j.Archive), j.Action, dash(j.Tier), status, dateTime(j.Created), dateTime(j.Expires), dateTime(j.Executed))
	}
	return t.flush()
}

// ErrorsCmd lists the error log.
type ErrorsCmd struct {
	JSON bool `help:"Print the error log as JSON."`
	N    int  `short:"n" default:"50" help:"How many of the newest entries."`
}

// Run prints the newest refusals and failures of every process.
func (c *ErrorsCmd) Run(ctx context.Context, a *app) error {
	v, err := a.view(ctx)
	if err != nil {
		return err
	}
	es, err := v.Errors(ctx, c.N)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.ErrorsDoc(es))
	}
	t := newTable(a.stdout, "TIME", "SOURCE", "KIND", "COMMAND", "MESSAGE")
	for _, e := range es {
		t.row(dateTime(e.At), dash(e.Source), dash(e.Kind), dash(e.Command), e.Message)
	}
	return t.flush()
}

// CtlCmd runs control-protocol lines.
type CtlCmd struct {
	Lines []string `arg:"" optional:"" name:"line" help:"Requests in the control protocol (see the README); none: read lines from stdin."`
}

// Run parses every line, runs them (all checked before any runs) and
// prints one reply per request.
func (c *CtlCmd) Run(ctx context.Context, a *app) error {
	text := strings.Join(c.Lines, "\n")
	if len(c.Lines) == 0 {
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(a.stdin), 1<<20))
		if err != nil {
			return err
		}
		text = string(b)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	reqs, err := control.Parse(text, control.ParseOptions{Cwd: cwd})
	if err != nil {
		return err
	}
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	reps, err := e.Do(ctx, reqs...)
	if err != nil {
		return err
	}
	var first error
	for _, r := range reps {
		fmt.Fprintln(a.stdout, clean(r.Line()))
		if r.Err != nil && first == nil {
			first = r.Err
		}
	}
	// The tasks run in this process: wait for them, or they would be
	// interrupted when it exits (Ctrl-C interrupts them; the same line
	// resumes).
	for _, r := range reps {
		if r.Task == 0 {
			continue
		}
		t, err := a.waitTask(ctx, e, r.Task)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "task %d %s %s\n", t.ID, t.State, clean(strings.TrimSpace(t.Result+" "+t.Error)))
		if terr := t.Err(); terr != nil && first == nil {
			first = terr
		}
	}
	return first
}

// HelpCmd shows help.
type HelpCmd struct {
	Topic []string `arg:"" optional:"" help:"A command (archive create), or ctl for the control protocol."`
}

// Run prints the help of a command, or the control protocol's verbs.
func (c *HelpCmd) Run(a *app) error {
	if len(c.Topic) == 1 && c.Topic[0] == "ctl" {
		fmt.Fprint(a.stdout, "Control protocol verbs (freezer ctl 'LINE', or the mount's .control files):\n\n"+control.Usage())
		return nil
	}
	_, err := a.parser.Parse(append(append([]string{}, c.Topic...), "--help"))
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}
