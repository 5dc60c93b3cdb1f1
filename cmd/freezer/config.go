package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
)

// configFile is a loaded freezer.conf: flat TOML, one global flag name per
// key (without the dashes).
type configFile struct {
	path   string
	values map[string]string // flag name → value as command-line text
	lines  map[string]int    // flag name → line, for error messages
}

// where names the file and line of a key, for messages.
func (c *configFile) where(key string) string {
	if line := c.lines[key]; line > 0 {
		return fmt.Sprintf("%s:%d", c.path, line)
	}
	return c.path
}

// findConfigFlag returns the --config value from the raw arguments, so the
// file can be loaded before kong parses (its values are kong's defaults).
func findConfigFlag(args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", false
		case a == "--config" && i+1 < len(args):
			return args[i+1], true
		case strings.HasPrefix(a, "--config="):
			return strings.TrimPrefix(a, "--config="), true
		}
	}
	return "", false
}

// defaultConfigPaths are searched in order when --config is not given.
func defaultConfigPaths(env func(string) string) []string {
	paths := []string{"freezer.conf"}
	if dir := xdgDir(env, "XDG_CONFIG_HOME", ".config"); dir != "" {
		paths = append(paths, filepath.Join(dir, "freezer", "freezer.conf"))
	}
	return paths
}

// xdgDir returns $name, or $HOME/fallback when it is unset.
func xdgDir(env func(string) string, name, fallback string) string {
	if d := env(name); d != "" && filepath.IsAbs(d) {
		return d
	}
	if home := env("HOME"); home != "" {
		return filepath.Join(home, fallback)
	}
	return ""
}

// loadConfig loads the explicit config file, or the first default one that
// exists. A file that exists but cannot be read or parsed is an error,
// never silently skipped.
func loadConfig(explicit string, given bool, env func(string) string) (*configFile, error) {
	if given {
		return parseConfigFile(explicit)
	}
	for _, p := range defaultConfigPaths(env) {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		return parseConfigFile(p)
	}
	return nil, nil
}

var keyLineRe = regexp.MustCompile(`^\s*["']?([A-Za-z0-9_-]+)["']?\s*=`)

func parseConfigFile(path string) (*configFile, error) {
	data, _, err := readRegularFile(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config file %s", unwrapPath(err))
	}
	c := &configFile{path: path, values: map[string]string{}, lines: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			return nil, fmt.Errorf("%s:%d: sections are not supported: freezer.conf is a flat list of key = value", path, n)
		}
		if m := keyLineRe.FindStringSubmatch(sc.Text()); m != nil {
			if _, dup := c.lines[m[1]]; !dup {
				c.lines[m[1]] = n
			}
		}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, err := configValue(raw[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.where(k), k, err)
		}
		c.values[k] = s
	}
	return c, nil
}

// configValue turns a TOML value into the text kong would get on the
// command line.
func configValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("list entries must be strings")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("value of type %T is not supported; use a string, a whole number or true/false", v)
	}
}

// resolver makes the config file's values kong's defaults: the command line
// still wins over them.
func (c *configFile) resolver() kong.Resolver {
	return configResolver{c}
}

type configResolver struct{ c *configFile }

// Validate refuses keys that are not global flags, naming file and line.
func (r configResolver) Validate(app *kong.Application) error {
	known := map[string]bool{}
	for _, f := range app.Flags {
		known[f.Name] = true
	}
	keys := make([]string, 0, len(r.c.values))
	for k := range r.c.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] || k == "config" || k == "help" {
			return fmt.Errorf("%s: unknown setting %q (keys are the global flag names, e.g. region, chunk-size)", r.c.where(k), k)
		}
	}
	return nil
}

func (r configResolver) Resolve(_ *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	if parent.App == nil { // only global flags come from the config file
		return nil, nil
	}
	v, ok := r.c.values[flag.Name]
	if !ok {
		return nil, nil
	}
	return v, nil
}
