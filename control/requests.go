package control

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"freezer/store"
)

// A Request is one action asked of the engine: a line of the control
// protocol (grammar.go parses it), or what a CLI command's flags fill —
// the same structs, so the two cannot drift. Do checks requests, then runs
// them.
type Request interface {
	// Verb is the request's verb in the control protocol.
	Verb() string
	// Line writes the request as a control-protocol line (the error log,
	// resume hints and the reply to a ctl write use it).
	Line() string
	// check validates the request against the catalog and takes the
	// claims its work needs; it changes nothing else.
	check(ctx context.Context, e *Engine) (*action, error)
}

// action is a checked request, ready to run, holding its claims: either
// quick work done at once (now), or a long task (task).
type action struct {
	claims *claimSet
	now    func(ctx context.Context) (Reply, error)
	task   *taskSpec
	reply  Reply // for an action that has nothing left to do
}

// Reply says what one request did.
type Reply struct {
	Task   int64             // the task that runs on, when one was started
	Fields map[string]string // answers: job, key, state, … (the "ok" line's key=value pairs)
	// Text is an answer too long for a line (the plan's JSON).
	Text string
	// Message says for people, in one line, what was done.
	Message string
	// Err is the request's failure after it passed its check (the network
	// failed, Glacier refused); the requests after it still ran.
	Err error
}

// Line is the reply as the control files give it: "ok task=12",
// "ok job=… state=melting", the answer text, or "error: MESSAGE".
func (r Reply) Line() string {
	if r.Err != nil {
		return "error: " + oneLine(r.Err.Error())
	}
	if r.Text != "" {
		return strings.TrimRight(r.Text, "\n")
	}
	var b strings.Builder
	b.WriteString("ok")
	if r.Task != 0 {
		b.WriteString(" task=" + strconv.FormatInt(r.Task, 10))
	}
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + Quote(r.Fields[k]))
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Do checks every request, then runs them in order: all are checked (and
// their claims taken) before any runs, and a refused one refuses the
// whole batch — nothing runs, and the error says which request (and is
// appended to the error log). Long work starts as tasks and runs on the
// engine's context; quick work runs at once. A request that fails after
// its check reports it in its Reply, and the others still run.
func (e *Engine) Do(ctx context.Context, reqs ...Request) ([]Reply, error) {
	acts := make([]*action, 0, len(reqs))
	for i, r := range reqs {
		a, err := r.check(ctx, e)
		if err != nil {
			for _, a := range acts {
				a.claims.Release()
			}
			e.logError(r.Line(), err)
			if len(reqs) > 1 {
				err = lineError{n: i + 1, err: err}
			}
			return nil, err
		}
		acts = append(acts, a)
	}
	replies := make([]Reply, len(acts))
	for i, a := range acts {
		replies[i] = e.run(ctx, reqs[i], a)
	}
	return replies, nil
}

// run carries out a checked action.
func (e *Engine) run(ctx context.Context, req Request, a *action) Reply {
	switch {
	case a.task != nil:
		a.task.claims = a.claims
		id, err := e.start(ctx, *a.task)
		if err != nil {
			e.logError(req.Line(), err)
			return Reply{Err: err}
		}
		return Reply{Task: id, Message: fmt.Sprintf("task %d started: %s", id, describeTask(*a.task))}
	case a.now != nil:
		// Quick work runs on the engine's context: a signal to the caller
		// (go-fuse cancels a request's context on any) must not cut a
		// Glacier call or a catalog write in half.
		rep, err := a.now(context.WithoutCancel(ctx))
		a.claims.Release()
		if err != nil {
			e.logError(req.Line(), err)
			rep.Err = err
		}
		return rep
	default:
		a.claims.Release()
		return a.reply
	}
}

func describeTask(t taskSpec) string {
	target := t.vault
	if t.archive != "" {
		target += "/" + t.archive
	}
	return t.kind + " " + target
}

// lineError names the request of a batch that was refused.
type lineError struct {
	n   int
	err error
}

func (l lineError) Error() string { return fmt.Sprintf("line %d: %v", l.n, l.err) }
func (l lineError) Unwrap() error { return l.err }

// logError appends a refusal or failure to the catalog's error log.
func (e *Engine) logError(line string, err error) {
	ctx := context.WithoutCancel(e.ctx)
	werr := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.LogError(ctx, store.ErrorEntry{Source: e.o.Source, Command: line, Kind: KindOf(err), Message: oneLine(err.Error())})
	})
	if werr != nil {
		e.log.Debug().Err(werr).Msg("could not write the error log")
	}
	e.log.Debug().Str("request", line).Err(err).Msg("refused")
}

// One returns the single reply of a one-request Do, with its error (the
// refusal, or the failure after the check).
func one(replies []Reply, err error) (Reply, error) {
	if err != nil {
		return Reply{}, err
	}
	return replies[0], replies[0].Err
}

// RunWait does one request and, when it started a task, waits for the task
// to end: what a CLI command does. The task's failure is returned as the
// error.
func (e *Engine) RunWait(ctx context.Context, req Request) (Reply, error) {
	rep, err := one(e.Do(ctx, req))
	if err != nil || rep.Task == 0 {
		return rep, err
	}
	t, err := e.Wait(ctx, rep.Task)
	if err != nil {
		return rep, err
	}
	return rep, t.Err()
}
