package main

import (
	"context"
	"fmt"
	"io"
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
	cfg      *configFile
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	env      func(string) string
	logs     logs
	log      zerolog.Logger
	terminal bool // stderr is a terminal: show progress bars

	db      *store.DB
	closers []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// Sources of a setting's value, in rising precedence.
const (
	sourceDefault  = "default"
	sourceConfig   = "config file"
	sourceCommand  = "command line"
	sourceDatabase = "database"
)

// flagSource tells where a global flag's value came from: the command line,
// the config file, or nowhere (default).
func (a *app) flagSource(name string) string {
	for _, p := range a.kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			if p.Resolved {
				return sourceConfig
			}
			return sourceCommand
		}
	}
	return sourceDefault
}

// describeSource names a value's origin for messages: "--region" or
// "freezer.conf:3".
func (a *app) describeSource(key, source string) string {
	if source == sourceConfig && a.cfg != nil {
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
	if a.globals.NoGUI {
		return usageErrorf("--no-gui: daemon mode is not available in this version of freezer yet")
	}
	return nil
}

// databasePath is --database or the default under the XDG data folder. The
// database never lives under --data-dir: that may itself be stored in it.
func (a *app) databasePath() string {
	if a.globals.Database != "" {
		return a.globals.Database
	}
	return filepath.Join(defaultDataDir(a.env), "freezer.db")
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

// setting is a resolved setting: its value and where it came from.
type setting struct {
	control.Setting
	Value  string
	Source string
}

// settings resolves every setting: database > command line > config file >
// default, warning whenever the database overrides a given value.
func (a *app) settings(ctx context.Context) (map[string]setting, error) {
	db, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	defaults := map[string]string{
		"accountid":  defaultAccountID,
		"threads":    defaultThreads,
		"chunk-size": defaultChunkSize,
		"poll-time":  defaultPollTime,
		"data-dir":   defaultDataDir(a.env),
	}
	flags := a.globals.settingFlags()
	out := map[string]setting{}
	for _, s := range control.Settings() {
		r := setting{Setting: s, Value: defaults[s.Key], Source: sourceDefault}
		if v := *flags[s.Key]; v != "" {
			r.Value, r.Source = v, a.flagSource(s.Key)
		}
		if v, ok := stored[s.Key]; ok {
			if r.Source != sourceDefault && r.Value != v {
				a.log.Warn().Msgf("%s is overridden by the value stored in the database (%s); change it with 'freezer settings set %s VALUE' or remove it with 'freezer settings unset %s'",
					a.describeSource(s.Key, r.Source), control.Redact(s, v), s.Key, s.Key)
			}
			norm, err := s.Check(v)
			if err != nil {
				return nil, fmt.Errorf("setting %s stored in the database is invalid (%v); fix it with 'freezer settings set %s VALUE'", s.Key, err, s.Key)
			}
			r.Value, r.Source = norm, sourceDatabase
		}
		out[s.Key] = r
	}
	return out, nil
}
