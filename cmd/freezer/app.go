package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"

	"freezer/control"
	"freezer/store"
)

// app is what every command's Run receives: the parsed globals, the
// output streams and lazily opened parts.
type app struct {
	globals  *Globals
	kctx     *kong.Context
	parser   *kong.Kong
	cfg      *configFile
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	env      func(string) string
	logs     logs
	log      zerolog.Logger
	terminal bool     // stderr is a terminal: show progress bars
	bar      *termOut // stderr, shared by logs, messages and progress
	// sim is --sim's folder, absolute ("" without --sim): the simulator's
	// state, and by default the catalog and the archives of this AWS of
	// its own.
	sim string
	// secret is the secret access key from --secret-key-file or the
	// environment, with where it came from.
	secret control.Given

	db      *store.DB
	closers []func()

	// frontEnd and commandLine, when set, are what the engine calls this
	// run in the error log and in other processes' messages (the mount:
	// "mount", "mount /home/me/freezer").
	frontEnd, commandLine string
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// flagSource tells where a global flag's value came from: the command line,
// the config file, or nowhere (default).
func (a *app) flagSource(name string) string {
	for _, p := range a.kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			if p.Resolved {
				return control.SourceConfig
			}
			return control.SourceCommand
		}
	}
	return control.SourceDefault
}

// describeSource names a value's origin for messages: "--region" or
// "freezer.conf:3".
func (a *app) describeSource(key, source string) string {
	if source == control.SourceConfig && a.cfg != nil {
		return a.cfg.where(key)
	}
	return "--" + key
}

// checkGlobals validates the settings-backed flags (from the command line or
// the config file) and refuses what is not available yet.
func (a *app) checkGlobals() error {
	for key, v := range a.globals.settingFlags() {
		if *v == "" {
			continue
		}
		s, err := control.LookupSetting(key)
		if err != nil {
			return err
		}
		norm, err := s.Check(*v)
		if err != nil {
			return usageErrorf("%s: %v", a.describeSource(key, a.flagSource(key)), err)
		}
		*v = norm
	}
	// --no-gui is the manual's spelling of the daemon. Given on the command
	// line with another command, it is a mistake; from the config file
	// (a server's), it only chooses what 'freezer' alone does.
	if a.globals.NoGUI && a.command() != "daemon" && a.flagSource("no-gui") == control.SourceCommand {
		return usageErrorf("--no-gui runs the daemon and takes no command: run 'freezer --no-gui' alone, or 'freezer daemon'")
	}
	g := a.globals
	for name, p := range map[string]*string{"sim": &g.Sim, "database": &g.Database, "data-dir": &g.DataDir, "secret-key-file": &g.SecretKeyFile} {
		if err := pathFlag(name, p, a.env); err != nil {
			return usageError{err.Error()}
		}
	}
	if err := a.checkSecret(); err != nil {
		return err
	}
	if g.Sim != "" {
		dir, err := filepath.Abs(g.Sim)
		if err != nil {
			return err
		}
		a.sim = dir
		if _, err := g.SimTuning.options(dir, "--sim-"); err != nil {
			return err
		}
		// A simulator is an AWS of its own: its catalog and archives stay
		// with it, so that another --sim folder (or AWS) never meets them.
		// Only what the command line names explicitly moves them.
		for _, f := range []struct {
			name string
			v    *string
		}{{"database", &g.Database}, {"data-dir", &g.DataDir}} {
			if *f.v != "" && a.flagSource(f.name) == control.SourceConfig {
				a.log.Info().Msgf("%s from %s is not used with --sim (the simulator keeps its own in %s); give --%s to choose", f.name, a.describeSource(f.name, control.SourceConfig), dir, f.name)
				*f.v = ""
			}
		}
	}
	return nil
}

// sourceEnvironment says a value came from an environment variable.
const sourceEnvironment = "environment"

// checkSecret takes the secret access key from where it is safe to keep
// (a private file, stdin, the environment) and warns when it was given
// where other users can read it: on the command line, every user sees it
// in ps; in a config file others can read, they read it there.
func (a *app) checkSecret() error {
	g := a.globals
	const advice = "give it in AWS_SECRET_ACCESS_KEY, in a file only you can read (--secret-key-file FILE), or on stdin (--secret-key-file -)"
	if g.SecretKeyFile != "" {
		if g.SecretKey != "" && a.flagSource("secret-key") == control.SourceCommand {
			return usageErrorf("--secret-key and --secret-key-file: give the secret key once")
		}
		v, err := a.readSecret(g.SecretKeyFile)
		if err != nil {
			return err
		}
		if v, err = checkSetting("secret-key", v); err != nil {
			return usageErrorf("--secret-key-file: %v", err)
		}
		g.SecretKey = "" // the file wins over a config file's value
		a.secret = control.Given{Value: v, Source: control.SourceCommand, Where: "--secret-key-file"}
		return nil
	}
	if g.SecretKey != "" {
		switch a.flagSource("secret-key") {
		case control.SourceCommand:
			a.log.Warn().Msg("--secret-key on the command line is visible to every user of this machine (ps, /proc); " + advice)
		case control.SourceConfig:
			if st, err := os.Stat(a.cfg.path); err == nil && st.Mode().Perm()&0o077 != 0 {
				a.log.Warn().Msgf("%s holds secret-key and other users can read it (mode %04o); make it private with: chmod 600 %s", a.cfg.where("secret-key"), st.Mode().Perm(), shellQuote(a.cfg.path))
			}
		}
		return nil
	}
	if v := a.env("AWS_SECRET_ACCESS_KEY"); v != "" {
		v, err := checkSetting("secret-key", v)
		if err != nil {
			return usageErrorf("AWS_SECRET_ACCESS_KEY: %v", err)
		}
		a.secret = control.Given{Value: v, Source: sourceEnvironment, Where: "AWS_SECRET_ACCESS_KEY"}
	}
	return nil
}

func checkSetting(key, v string) (string, error) {
	s, err := control.LookupSetting(key)
	if err != nil {
		return "", err
	}
	return s.Check(v)
}

// databasePath is --database, the simulator's own catalog with --sim, or
// the default under the XDG data folder. The database never lives under
// --data-dir: that may itself be stored in it.
func (a *app) databasePath() string {
	switch {
	case a.globals.Database != "":
		return a.globals.Database
	case a.sim != "":
		return filepath.Join(a.sim, "freezer.db")
	}
	return filepath.Join(defaultDataDir(a.env), "freezer.db")
}

// dataDirDefault is where local archives go unless a setting says
// otherwise: beside the simulator's state with --sim.
func (a *app) dataDirDefault() string {
	if a.sim != "" {
		return filepath.Join(a.sim, "data")
	}
	return defaultDataDir(a.env)
}

// catalog opens the database once per run.
func (a *app) catalog(ctx context.Context) (*store.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	db, err := store.Open(ctx, a.databasePath(), store.Options{Logger: a.logs.For("store")})
	if err != nil {
		return nil, err
	}
	a.db = db
	a.closers = append(a.closers, func() { db.Close() })
	return db, nil
}

// settingsInput is what the settings are resolved from besides the
// catalog: the flags, the config file and the defaults.
func (a *app) settingsInput() control.SettingsInput {
	in := control.SettingsInput{Given: map[string]control.Given{}, Defaults: map[string]string{
		"accountid":  defaultAccountID,
		"threads":    defaultThreads,
		"chunk-size": defaultChunkSize,
		"poll-time":  defaultPollTime,
		"data-dir":   a.dataDirDefault(),
	}}
	for key, v := range a.globals.settingFlags() {
		if *v != "" {
			src := a.flagSource(key)
			in.Given[key] = control.Given{Value: *v, Source: src, Where: a.describeSource(key, src)}
		}
	}
	if a.secret.Value != "" {
		in.Given["secret-key"] = a.secret
	}
	return in
}

// settings resolves every setting (control.SettingsInput.Resolve:
// database > command line > config file > default), warning whenever the
// database overrides a given value.
func (a *app) settings(ctx context.Context) (map[string]control.Resolved, error) {
	db, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return a.settingsInput().Resolve(stored, func(key, where, value string) {
		a.log.Warn().Msgf("%s is overridden by the value stored in the database (%s); change it with 'freezer settings set %s VALUE' or remove it with 'freezer settings unset %s'",
			where, value, key, key)
	})
}

// view is the catalog's read view, for listings: no network, no writes.
func (a *app) view(ctx context.Context) (*control.View, error) {
	db, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	v := control.NewView(db, nil)
	a.closers = append(a.closers, v.Close)
	return v, nil
}

// say prints a one-line account of what a command changed, unless
// --quiet; on stderr, so that stdout carries only the data scripts read.
func (a *app) say(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.globals.Quiet || msg == "" {
		return
	}
	fmt.Fprintln(a.stderr, clean(msg))
}

// change runs a request that changes the catalog (no Glacier needed) and
// says in one line what it did.
func (a *app) change(ctx context.Context, req control.Request) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, req)
	if err != nil {
		return err
	}
	a.say("%s", rep.Message)
	return nil
}
