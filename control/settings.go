package control

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"freezer/store"
)

// A Setting is one value a person can give on the command line, in the
// config file, or store in the catalog (which wins, as the manual says).
type Setting struct {
	Key    string // the flag name without dashes, the config key, the catalog key
	Secret bool   // never shown: listings print it redacted
	Help   string
	// Check validates a value and returns it normalised.
	Check func(string) (string, error)
}

// Settings lists every storable setting in display order.
func Settings() []Setting {
	return []Setting{
		{Key: "accountid", Help: "AWS account id (12 digits) or - for the account of the credentials", Check: checkAccountID},
		{Key: "region", Help: "AWS region of the vaults, e.g. eu-west-1", Check: checkRegion},
		{Key: "access-key", Help: "AWS access key id", Check: checkToken("access key")},
		{Key: "secret-key", Secret: true, Help: "AWS secret access key", Check: checkToken("secret key")},
		{Key: "profile", Help: "AWS shared-config profile, used when no keys are set", Check: checkToken("profile")},
		{Key: "endpoint", Help: "Glacier/SQS/SNS endpoint URL other than AWS's", Check: checkURL},
		{Key: "sns-topic", Help: "SNS topic ARN that Glacier jobs notify", Check: checkARN("sns")},
		{Key: "queue", Help: "SQS queue URL subscribed to the SNS topic", Check: checkURL},
		{Key: "poll-time", Help: "SQS long-poll wait in seconds, 0-20", Check: checkPollTime},
		{Key: "chunk-size", Help: "multipart upload part size, 1MiB × 2ⁿ up to 4GiB", Check: checkChunkSize},
		{Key: "threads", Help: "parallel transfers and workers, 1-64", Check: checkThreads},
		{Key: "data-dir", Help: "folder for local archive files", Check: checkToken("data folder")},
	}
}

// LookupSetting finds a setting by key.
func LookupSetting(key string) (Setting, error) {
	for _, s := range Settings() {
		if s.Key == key {
			return s, nil
		}
	}
	keys := make([]string, 0, 16)
	for _, s := range Settings() {
		keys = append(keys, s.Key)
	}
	return Setting{}, fmt.Errorf("unknown setting %q (settings are: %s)", key, strings.Join(keys, ", "))
}

// Redact shows a secret value as set/unset only.
func Redact(s Setting, value string) string {
	if !s.Secret || value == "" {
		return value
	}
	return "********"
}

var (
	accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)
)

func checkAccountID(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "-" || accountIDRe.MatchString(v) {
		return v, nil
	}
	return "", errors.New("account id must be 12 digits without hyphens, or - for the account of the credentials")
}

func checkRegion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if !regionRe.MatchString(v) {
		return "", fmt.Errorf("region %q is not an AWS region name like eu-west-1", v)
	}
	return v, nil
}

func checkToken(what string) func(string) (string, error) {
	return func(v string) (string, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return "", fmt.Errorf("%s is empty", what)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%s contains a control character", what)
			}
		}
		return v, nil
	}
}

func checkURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", v)
	}
	return v, nil
}

func checkARN(service string) func(string) (string, error) {
	return func(v string) (string, error) {
		v = strings.TrimSpace(v)
		parts := strings.Split(v, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != service || parts[5] == "" {
			return "", fmt.Errorf("%q is not an %s ARN (arn:aws:%s:REGION:ACCOUNT:NAME)", v, strings.ToUpper(service), service)
		}
		return v, nil
	}
}

func checkPollTime(v string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 20 {
		return "", fmt.Errorf("poll time %q must be whole seconds from 0 to 20 (SQS's long-poll limit)", v)
	}
	return strconv.Itoa(n), nil
}

func checkThreads(v string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxThreads {
		return "", fmt.Errorf("threads %q must be a whole number from 1 to %d", v, MaxThreads)
	}
	return strconv.Itoa(n), nil
}

func checkChunkSize(v string) (string, error) {
	n, err := ParseSize(v)
	if err != nil {
		return "", fmt.Errorf("chunk size: %w", err)
	}
	if err := CheckPartSize(n); err != nil {
		return "", err
	}
	return FormatSize(n), nil
}

// MaxThreads bounds --threads: beyond it, part buffers alone would need
// gigabytes and Glacier throttles anyway.
const MaxThreads = 64

// Part size limits: Glacier accepts 1 MiB × 2ⁿ from 1 MiB to 4 GiB.
const (
	MinPartSize = 1 << 20
	MaxPartSize = 4 << 30
)

// CheckPartSize reports whether n is a part size Glacier accepts.
func CheckPartSize(n int64) error {
	if n < MinPartSize || n > MaxPartSize || bits.OnesCount64(uint64(n)) != 1 {
		return fmt.Errorf("chunk size %s is not one Glacier accepts: use 1MiB × 2ⁿ (1MiB, 2MiB, 4MiB, … 4GiB)", FormatSize(n))
	}
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1}, {"", 1},
}

// ParseSize reads a byte count with an optional unit: 1048576, 64MiB, 8M
// (K, M, G, T are binary like KiB; KB, MB, GB, TB are decimal).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, u := range sizeUnits {
		if len(t) < len(u.suffix) || !strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			continue
		}
		num := strings.TrimSpace(t[:len(t)-len(u.suffix)])
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 {
			break
		}
		if u.mult > 1 && n > (1<<62)/u.mult {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return n * u.mult, nil
	}
	return 0, fmt.Errorf("size %q is not a byte count like 1048576, 64MiB or 1GiB", s)
}

// FormatSize prints n with the largest binary unit that divides it exactly.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

// Sources of a setting's value, in rising precedence (the manual: values
// stored in the database win).
const (
	SourceDefault  = "default"
	SourceConfig   = "config file"
	SourceCommand  = "command line"
	SourceDatabase = "database"
)

// Given is a setting's value from outside the catalog.
type Given struct {
	Value  string
	Source string // SourceCommand or SourceConfig
	// Where names it for messages: "--region" or "freezer.conf:3".
	Where string
}

// Resolved is a setting in effect and where its value comes from.
type Resolved struct {
	Setting
	Value  string
	Source string
}

// SettingsInput is what resolution starts from besides the catalog.
type SettingsInput struct {
	Given    map[string]Given  // flags and the config file
	Defaults map[string]string // built-in defaults
}

// Resolve computes every setting in effect: database > command line >
// config file > default. warn is told, for each given value the database
// overrides, what to write to change it (as control lines).
func (in SettingsInput) Resolve(stored map[string]string, warn func(key, where, stored string)) (map[string]Resolved, error) {
	out := map[string]Resolved{}
	for _, s := range Settings() {
		r := Resolved{Setting: s, Value: in.Defaults[s.Key], Source: SourceDefault}
		if g, ok := in.Given[s.Key]; ok && g.Value != "" {
			r.Value, r.Source = g.Value, g.Source
		}
		if v, ok := stored[s.Key]; ok {
			if g, given := in.Given[s.Key]; given && g.Value != "" && g.Value != v && warn != nil {
				warn(s.Key, g.Where, Redact(s, v))
			}
			norm, err := s.Check(v)
			if err != nil {
				return nil, withHint(refuse(ErrInvalid, "setting %s stored in the catalog is invalid (%v); store a valid value", s.Key, err),
					line([]string{"settings", "set", s.Key, "VALUE"}))
			}
			r.Value, r.Source = norm, SourceDatabase
		}
		out[s.Key] = r
	}
	return out, nil
}

// SettingSetRequest stores a setting in the catalog, where it overrides
// flags and the config file (verb settings set).
type SettingSetRequest struct{ Key, Value string }

// Verb is "settings set".
func (r *SettingSetRequest) Verb() string { return "settings set" }

// Line writes the request as a control line, a secret redacted.
func (r *SettingSetRequest) Line() string {
	v := r.Value
	if s, err := LookupSetting(r.Key); err == nil {
		v = Redact(s, v)
	}
	return line([]string{"settings", "set", r.Key, v})
}

func (r *SettingSetRequest) check(ctx context.Context, e *Engine) (*action, error) {
	s, err := LookupSetting(r.Key)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	v, err := s.Check(r.Value)
	if err != nil {
		return nil, refuse(ErrInvalid, "%s: %v", r.Key, err)
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		if err := e.o.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, s.Key, v) }); err != nil {
			return Reply{}, err
		}
		e.changed()
		return Reply{Message: fmt.Sprintf("%s = %s stored in the catalog", s.Key, Redact(s, v))}, nil
	}}, nil
}

// SettingUnsetRequest removes a stored setting, so flags, the config file
// or the default apply again (verb settings unset).
type SettingUnsetRequest struct{ Key string }

// Verb is "settings unset".
func (r *SettingUnsetRequest) Verb() string { return "settings unset" }

// Line writes the request as a control line.
func (r *SettingUnsetRequest) Line() string { return line([]string{"settings", "unset", r.Key}) }

func (r *SettingUnsetRequest) check(ctx context.Context, e *Engine) (*action, error) {
	s, err := LookupSetting(r.Key)
	if err != nil {
		return nil, mark(ErrInvalid, err)
	}
	return &action{now: func(ctx context.Context) (Reply, error) {
		var removed bool
		err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			removed, err = tx.UnsetSetting(ctx, s.Key)
			return err
		})
		if err != nil {
			return Reply{}, err
		}
		e.changed()
		if !removed {
			return Reply{Message: fmt.Sprintf("%s was not stored in the catalog; nothing changed", s.Key)}, nil
		}
		return Reply{Message: fmt.Sprintf("%s removed from the catalog", s.Key)}, nil
	}}, nil
}

// Settings resolves every setting in effect for this engine's catalog and
// inputs (Options.Settings).
func (e *Engine) Settings(ctx context.Context) (map[string]Resolved, error) {
	stored, err := e.o.DB.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return e.o.Settings.Resolve(stored, nil)
}

// Tunables are the settings a running engine applies when they change.
type Tunables struct {
	Threads   int
	ChunkSize int64
	PollTime  time.Duration
	QueueURL  string
	SNSTopic  string
}

// TunablesOf reads the tunables from resolved settings.
func TunablesOf(all map[string]Resolved) Tunables {
	threads, _ := strconv.Atoi(all["threads"].Value)
	chunk, _ := ParseSize(all["chunk-size"].Value)
	poll, _ := strconv.Atoi(all["poll-time"].Value)
	return Tunables{Threads: threads, ChunkSize: chunk, PollTime: time.Duration(poll) * time.Second,
		QueueURL: all["queue"].Value, SNSTopic: all["sns-topic"].Value}
}
