package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"freezer/control"
	"freezer/store"
)

// DaemonCmd is the manual's --no-gui: a process that listens for finished
// Glacier jobs and downloads every archive whose retrieval succeeded,
// without a mount or a person.
type DaemonCmd struct {
	Once bool `help:"One pass, for cron: download what is ready, then exit 0, or 75 while jobs are still in Glacier's hands."`
}

// How often the running daemon does its chores besides the job watcher.
const (
	// daemonRefresh: ask Glacier for its vaults and jobs (retrievals asked
	// for elsewhere, inventory dates); rate-limited across processes too.
	daemonRefresh = 5 * time.Minute
	// daemonChores: clear dead processes' claims, say what it is doing.
	daemonChores = 10 * time.Second
	// daemonIdle: a catalog connection idle this long is closed, so the
	// daemon has the file open only while it acts.
	daemonIdle = time.Second
)

// Run watches until SIGTERM or SIGINT (or does one pass with --once).
func (c *DaemonCmd) Run(ctx context.Context, a *app) error {
	if a.implicitDaemon() && !a.globals.NoGUI {
		return usageErrorf("no command given; see 'freezer --help' (daemon mode is 'freezer daemon' or 'freezer --no-gui')")
	}
	if err := checkDaemonCatalog(a.databasePath()); err != nil {
		return err
	}
	sd := notifier{log: a.log}
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	a.db.ReleaseIdle(daemonIdle)
	log := a.logs.For("cli")
	if n, err := e.RecoverInstalls(ctx); err != nil {
		log.Warn().Err(err).Msg("could not check for local copies a stopped process left half-installed; will not try again until restarted")
	} else if n > 0 {
		log.Info().Int("archives", n).Msg("finished installs a stopped process left")
	}
	if err := e.ReapDead(ctx); err != nil {
		log.Debug().Err(err).Msg("clearing stopped processes' claims")
	}
	watch := control.WatchOptions{Download: true, ApplyInventories: true}
	stored, err := a.db.Settings(ctx)
	if err != nil {
		return err
	}
	all, err := a.settingsInput().Resolve(stored, nil) // a.engine warned of overrides already
	if err != nil {
		return err
	}
	started := log.Info().Str("catalog", a.databasePath()).Str("data_dir", all["data-dir"].Value).Str("threads", all["threads"].Value).
		Str("poll_time", all["poll-time"].Value)
	if a.globals.Sim == "" {
		started = started.Str("queue", all["queue"].Value)
	}
	if a.globals.Sim != "" {
		started = started.Str("simulator", a.globals.Sim).Str("queue", "the simulator's")
	} else if all["queue"].Value == "" {
		log.Info().Msg("no --queue: finished jobs are found by asking Glacier about each (DescribeJob), from every second up to every five minutes")
	}
	if c.Once {
		started.Msg("daemon: one pass")
		return c.pass(ctx, a, e, watch)
	}
	started.Msg("daemon started: downloading every archive whose retrieval finishes")
	e.Watch(watch)
	if err := e.Refresh(ctx, false); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Dur("retry_in", daemonRefresh).Msg("could not ask Glacier for its vaults and jobs; the job watcher goes on")
	}
	sd.send("READY=1\nSTATUS=watching for finished Glacier jobs")

	chores := time.NewTicker(daemonChores)
	defer chores.Stop()
	lastRefresh := time.Now()
	var said string
	for {
		select {
		case <-ctx.Done():
			sd.send("STOPPING=1\nSTATUS=stopping: interrupting downloads (they resume at the next start)")
			log.Info().Msg("daemon stopping")
			return nil
		case <-chores.C:
		}
		if err := e.ReapDead(ctx); err != nil && ctx.Err() == nil {
			log.Debug().Err(err).Msg("clearing stopped processes' claims")
		}
		if time.Since(lastRefresh) >= daemonRefresh {
			lastRefresh = time.Now()
			if err := e.Refresh(ctx, false); err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Dur("retry_in", daemonRefresh).Msg("could not ask Glacier for its vaults and jobs; will try again")
			}
		}
		if s, err := daemonStatus(ctx, a.db, e); err == nil && s != said {
			said = s
			log.Info().Msg("daemon: " + s)
			sd.send("STATUS=" + s)
		}
	}
}

// pass is --once: one pass of the watcher, an exit status for cron.
func (c *DaemonCmd) pass(ctx context.Context, a *app, e *control.Engine, watch control.WatchOptions) error {
	if err := e.Refresh(ctx, false); err != nil && ctx.Err() == nil {
		a.log.Warn().Err(err).Msg("could not ask Glacier for its vaults and jobs")
	}
	res, err := e.WatchPass(ctx, watch)
	if err != nil {
		return err
	}
	for _, err := range res.Errors {
		a.log.Warn().Err(err).Msg("during the pass")
	}
	for _, t := range res.Tasks {
		if t.State == store.TaskDone {
			a.say("%s", t.Result)
		}
	}
	if res.Failed > 0 {
		var msgs []string
		for _, t := range res.Tasks {
			if err := t.Err(); err != nil {
				msgs = append(msgs, err.Error())
			}
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if n := len(res.Pending) + len(res.Ready); n > 0 || len(res.Errors) > 0 {
		var ids []string
		for _, j := range append(res.Pending, res.Ready...) {
			ids = append(ids, j.ID)
		}
		msg := fmt.Sprintf("%d job(s) still to finish or to download; run again later", n)
		if len(ids) > 0 {
			msg += " (jobs " + strings.Join(ids, ", ") + ")"
		}
		if n == 0 {
			msg = "Glacier or SQS could not be reached; run again later"
		}
		return notYet{msg}
	}
	return nil
}

// notYet is a message with the "not yet" kind: exit status 75, as cron
// wrappers expect of "try again later".
type notYet struct{ msg string }

func (n notYet) Error() string { return n.msg }
func (n notYet) Unwrap() error { return control.ErrNotYet }

// daemonStatus says in one line what the daemon waits for and does.
func daemonStatus(ctx context.Context, db *store.DB, e *control.Engine) (string, error) {
	pending, err := db.PendingJobs(ctx)
	if err != nil {
		return "", err
	}
	tasks, err := e.Tasks(ctx, 0)
	if err != nil {
		return "", err
	}
	running := 0
	for _, t := range tasks {
		if t.Owner == "this process" && !t.Ended() {
			running++
		}
	}
	return fmt.Sprintf("%d job(s) in Glacier's hands, %d download(s) or inventories running here", len(pending), running), nil
}

// source names this front end in the catalog's error log.
func (a *app) source() string {
	if a.command() == "daemon" {
		return "daemon"
	}
	return "cli"
}

// implicitDaemon reports whether the daemon was chosen as the default
// command (no command word given), which only --no-gui asks for.
func (a *app) implicitDaemon() bool {
	for _, p := range a.kctx.Path {
		if p.Command != nil && p.Command.Name == "daemon" {
			return p.Parent == p.Command
		}
	}
	return false
}

// checkDaemonCatalog refuses a catalog on a network filesystem (or FUSE):
// SQLite's write-ahead log, which lets processes share the catalog, keeps
// its index in shared memory that processes on two machines cannot share,
// and locks over such filesystems are not dependable. A daemon on another
// machine runs on a slim catalog of its own.
func checkDaemonCatalog(path string) error {
	kind, network, err := store.Filesystem(path)
	if err != nil || !network {
		return err
	}
	return usageErrorf("catalog %s is on a %s filesystem, where SQLite cannot share it safely between processes (its write-ahead log needs one machine); "+
		"keep the daemon's catalog on a local disk, and for a daemon on another machine make it a catalog of its own with 'freezer catalog slim OUT.db' and copy that there",
		path, kind)
}

// notifier speaks systemd's notify protocol (Type=notify units); without
// NOTIFY_SOCKET it says nothing.
type notifier struct{ log zerolog.Logger }

func (n notifier) send(state string) {
	if _, err := sdaemon.SdNotify(false, state); err != nil {
		n.log.Debug().Err(err).Msg("systemd notify")
	}
}
