package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"freezer/control"
	"freezer/store"
)

// SettingsCmd manages the settings stored in the database.
type SettingsCmd struct {
	List  SettingsListCmd  `cmd:"" default:"1" help:"Show every setting, its value and where it comes from (secrets redacted)."`
	Get   SettingsGetCmd   `cmd:"" help:"Print the value in effect for one setting."`
	Set   SettingsSetCmd   `cmd:"" help:"Store a setting in the database; it then overrides flags and the config file."`
	Unset SettingsUnsetCmd `cmd:"" help:"Remove a stored setting, so flags, the config file or the default apply again."`
}

// SettingsListCmd prints all settings.
type SettingsListCmd struct {
	JSON bool `help:"Print the settings (secrets redacted) and exclusions as JSON."`
}

// Run prints a table of settings.
func (c *SettingsListCmd) Run(ctx context.Context, a *app) error {
	all, err := a.settings(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		v, err := a.view(ctx)
		if err != nil {
			return err
		}
		x, err := v.ExclusionSettings(ctx)
		if err != nil {
			return err
		}
		return writeJSON(a.stdout, control.SettingsDoc(all, x))
	}
	t := newTable(a.stdout, "SETTING", "VALUE", "SOURCE")
	for _, s := range control.Settings() {
		r := all[s.Key]
		v := control.Redact(s, r.Value)
		if v == "" {
			v = "-"
			if r.Source == control.SourceDefault {
				v = "(unset)"
			}
		}
		t.row(s.Key, v, r.Source)
	}
	return t.flush()
}

// SettingsGetCmd prints one setting.
type SettingsGetCmd struct {
	Key string `arg:"" help:"Setting name (see 'freezer settings list')."`
}

// Run prints the value in effect; a secret prints redacted.
func (c *SettingsGetCmd) Run(ctx context.Context, a *app) error {
	s, err := control.LookupSetting(c.Key)
	if err != nil {
		return usageError{err.Error()}
	}
	all, err := a.settings(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, control.Redact(s, all[s.Key].Value))
	return nil
}

// SettingsSetCmd stores one setting.
type SettingsSetCmd struct {
	Key   string `arg:"" help:"Setting name (see 'freezer settings list')."`
	Value string `arg:"" help:"New value."`
}

// Run validates and stores the value.
func (c *SettingsSetCmd) Run(ctx context.Context, a *app) error {
	if _, err := control.LookupSetting(c.Key); err != nil {
		return usageError{err.Error()}
	}
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.SettingSetRequest{Key: c.Key, Value: c.Value})
	if err != nil {
		return err
	}
	a.say("%s", rep.Message)
	return nil
}

// SettingsUnsetCmd removes one stored setting.
type SettingsUnsetCmd struct {
	Key string `arg:"" help:"Setting name."`
}

// Run removes the stored value.
func (c *SettingsUnsetCmd) Run(ctx context.Context, a *app) error {
	if _, err := control.LookupSetting(c.Key); err != nil {
		return usageError{err.Error()}
	}
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.SettingUnsetRequest{Key: c.Key})
	if err != nil {
		return err
	}
	a.say("%s", rep.Message)
	return nil
}

// VersionCmd prints the build.
type VersionCmd struct{}

// Run prints version, commit, Go version and catalog schema version.
func (c *VersionCmd) Run(a *app) error {
	version, commit := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(a.stdout, "freezer %s", version)
	if commit != "" {
		fmt.Fprintf(a.stdout, " (%s)", commit)
	}
	fmt.Fprintf(a.stdout, " %s catalog schema %d\n", runtime.Version(), store.SchemaVersion())
	return nil
}
