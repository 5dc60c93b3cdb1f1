package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"freezer/aws/sim"
)

// CLI is freezer's command line: global flags, then a command.
type CLI struct {
	Globals

	Mount    MountCmd    `cmd:"" help:"Mount the vaults as folders, with the .control folder (see the README)."`
	Unmount  UnmountCmd  `cmd:"" help:"Unmount a mount; its process stops its tasks and exits."`
	Settings SettingsCmd `cmd:"" help:"Show or change settings stored in the database."`
	Key      KeyCmd      `cmd:"" help:"Create, list, export, import encryption keys; choose the default."`
	Vault    VaultCmd    `cmd:"" help:"Create, list and remove vaults."`
	Archive  ArchiveCmd  `cmd:"" help:"Create, list, retrieve, disconnect, remove and extract archives."`
	Plan     PlanCmd     `cmd:"" help:"Show which files an archive of these paths would hold, and why others not."`
	Files    FilesCmd    `cmd:"" help:"List every file kept in an archive, with its newest copy."`
	Exclude  ExcludeCmd  `cmd:"" help:"Manage exclusion expressions, backup patterns and manual exclusions."`
	Status   StatusCmd   `cmd:"" help:"Show the running and recent tasks of every process."`
	Wait     WaitCmd     `cmd:"" help:"Wait for tasks to end; exit with the first failure's status."`
	Jobs     JobsCmd     `cmd:"" help:"List Glacier jobs (the manual's job dialog)."`
	Errors   ErrorsCmd   `cmd:"" help:"Show the newest refusals and failures of every process."`
	Ctl      CtlCmd      `cmd:"" help:"Run control-protocol lines (see 'freezer help ctl')."`
	Sim      SimCmd      `cmd:"" help:"Serve the Glacier/SQS/SNS simulator for other clients."`
	Help     HelpCmd     `cmd:"" help:"Show help for a command, or 'help ctl' for the control protocol."`
	Daemon   DaemonCmd   `cmd:"" default:"withargs" help:"Download every archive whose retrieval finishes (also: freezer --no-gui)."`
	Catalog  CatalogCmd  `cmd:"" help:"Write a slim catalog for a daemon on another machine."`
	Version  VersionCmd  `cmd:"" help:"Print freezer's version."`
}

// Globals are the manual's options plus freezer's own. The settings-backed
// ones are strings here and checked by control.Settings, so that the command
// line, the config file and the database are validated by the same rules.
type Globals struct {
	Verbose   bool     `help:"Show debug messages."`
	Quiet     bool     `short:"q" help:"Say nothing about what changed (no change lines, no info log lines); warnings and errors still show."`
	Progress  string   `default:"auto" enum:"auto,bar,json,none" placeholder:"MODE" help:"Progress of transfers: auto (a bar on a terminal), bar, json (lines on stderr), none."`
	Trace     []string `placeholder:"MODULES" sep:"," help:"Debug only these modules (cli,store,aws,sim,...)."`
	Threads   string   `placeholder:"N" help:"Parallel transfers, 1-64 (default ${threads})."`
	NoGUI     bool     `name:"no-gui" help:"Daemon mode, as 'freezer daemon': download finished retrievals."`
	Config    string   `placeholder:"FILE" help:"Config file (default ./freezer.conf, then XDG)."`
	Database  string   `placeholder:"FILE" help:"Catalog (default DATA/freezer.db, see README)."`
	AccountID string   `name:"accountid" placeholder:"ID" help:"AWS account id (default -: the credentials')."`
	Region    string   `placeholder:"R" help:"AWS region of the vaults (default: AWS SDK's)."`
	AccessKey string   `placeholder:"K" help:"AWS access key id (default: AWS SDK's chain)."`
	SecretKey string   `placeholder:"S" help:"AWS secret access key; every user sees it in ps: prefer --secret-key-file or AWS_SECRET_ACCESS_KEY."`
	ChunkSize string   `placeholder:"SIZE" help:"Upload part size, 1MiB×2ⁿ ≤ 4GiB (default ${chunk_size})."`
	Queue     string   `placeholder:"URL" help:"SQS queue URL for Glacier job notifications."`
	PollTime  string   `placeholder:"SECONDS" help:"SQS long-poll wait, 0-20 s (default ${poll_time})."`
	Endpoint  string   `placeholder:"URL" help:"Glacier/SQS/SNS endpoint other than AWS's."`
	Sim       string   `placeholder:"DIR" help:"Use the built-in simulator, its state, catalog and archives in DIR."`
	Profile   string   `placeholder:"NAME" help:"AWS shared-config profile."`
	SNSTopic  string   `name:"sns-topic" placeholder:"ARN" help:"SNS topic ARN that Glacier jobs notify."`
	DataDir   string   `placeholder:"DIR" help:"Local archives (default ~/.local/share/freezer)."`

	SecretKeyFile string `placeholder:"FILE" help:"Read the AWS secret access key from FILE (mode 0600 or stricter), or - for stdin."`

	// SimTuning tunes the in-process simulator as 'freezer sim' is tuned.
	SimTuning `embed:"" prefix:"sim-"`
}

// settingFlags maps each stored setting to its global flag value.
func (g *Globals) settingFlags() map[string]*string {
	return map[string]*string{
		"accountid":  &g.AccountID,
		"region":     &g.Region,
		"access-key": &g.AccessKey,
		"secret-key": &g.SecretKey,
		"profile":    &g.Profile,
		"endpoint":   &g.Endpoint,
		"sns-topic":  &g.SNSTopic,
		"queue":      &g.Queue,
		"poll-time":  &g.PollTime,
		"chunk-size": &g.ChunkSize,
		"threads":    &g.Threads,
		"data-dir":   &g.DataDir,
	}
}

// Defaults of the settings-backed flags.
const (
	defaultThreads   = "4"
	defaultChunkSize = "8MiB"
	defaultPollTime  = "20"
	defaultAccountID = "-"
)

func defaultDataDir(env func(string) string) string {
	return filepath.Join(xdgDir(env, "XDG_DATA_HOME", filepath.Join(".local", "share")), "freezer")
}

func defaultVars(env func(string) string) map[string]string {
	return map[string]string{
		"threads":    defaultThreads,
		"chunk_size": defaultChunkSize,
		"poll_time":  defaultPollTime,
		"config_dir": filepath.Join("$XDG_CONFIG_HOME", "freezer"),
		"database":   "~/.local/share/freezer/freezer.db",
		"data_dir":   "~/.local/share/freezer",
	}
}

// SimTuning are the simulator's delays, the same for 'freezer sim' and for
// the in-process simulator of --sim (as --sim-job-delay and so on).
type SimTuning struct {
	JobDelay          *time.Duration `placeholder:"D" help:"Simulator: complete every job after D, whatever its tier (0 = at once)."`
	ExpeditedDelay    time.Duration  `placeholder:"D" default:"2s" help:"Simulator: completion delay of Expedited jobs."`
	StandardDelay     time.Duration  `placeholder:"D" default:"5s" help:"Simulator: completion delay of Standard jobs."`
	BulkDelay         time.Duration  `placeholder:"D" default:"10s" help:"Simulator: completion delay of Bulk jobs."`
	InventoryInterval time.Duration  `placeholder:"D" default:"24h" help:"Simulator: how often vault inventories refresh (0 = always current)."`
}

// options are the simulator options of the tuning, checked; flag names
// the flags in messages ("--sim-" or "--").
func (t SimTuning) options(dir, flag string) (sim.Options, error) {
	for _, d := range []*time.Duration{t.JobDelay, &t.ExpeditedDelay, &t.StandardDelay, &t.BulkDelay, &t.InventoryInterval} {
		if d != nil && *d < 0 {
			return sim.Options{}, usageErrorf("simulator delays and intervals cannot be negative")
		}
	}
	if t.JobDelay == nil && (t.ExpeditedDelay == 0 || t.StandardDelay == 0 || t.BulkDelay == 0) {
		// The simulator reads a zero tier delay as "default"; a person
		// who types 0 means "at once".
		return sim.Options{}, usageErrorf("a tier delay of 0 is written %sjob-delay 0 (all tiers at once)", flag)
	}
	return sim.Options{Dir: dir, JobDelay: t.JobDelay, InventoryInterval: t.InventoryInterval,
		ExpeditedDelay: t.ExpeditedDelay, StandardDelay: t.StandardDelay, BulkDelay: t.BulkDelay}, nil
}

// expandHome resolves a leading ~ the way a shell would have, had the path
// not been quoted ("--sim ~/sim" in double quotes, a config file value):
// a folder literally named ~ is never what a person meant. ~user is
// refused rather than guessed.
func expandHome(p string, env func(string) string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	rest := p[1:]
	if rest != "" && !strings.HasPrefix(rest, "/") {
		return "", usageErrorf("%s: only ~ and ~/ are expanded; write the full path", p)
	}
	home := env("HOME")
	if home == "" {
		return "", usageErrorf("%s: HOME is not set, so ~ cannot be expanded; write the full path", p)
	}
	return filepath.Join(home, rest), nil
}

// pathFlag expands ~ in a path flag's value, naming the flag in errors.
func pathFlag(name string, p *string, env func(string) string) error {
	if *p == "" {
		return nil
	}
	v, err := expandHome(*p, env)
	if err != nil {
		return fmt.Errorf("--%s %w", name, err)
	}
	*p = v
	return nil
}
