package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// modules are the names --trace accepts; each package gets its own logger.
var modules = []string{"cli", "store", "aws", "sim", "pipeline", "filter", "control", "fusefs"}

// logs hands out one logger per module. Debug output is on with --verbose,
// and --trace restricts it to the named modules (naming a module with
// --trace turns its debug output on even without --verbose). With --quiet
// only warnings and errors are logged: the info lines say what changed,
// which is what --quiet silences.
type logs struct {
	base    zerolog.Logger
	verbose bool
	quiet   bool
	trace   map[string]bool
}

func newLogs(w io.Writer, terminal, verbose, quiet bool, trace []string) (logs, error) {
	l := logs{verbose: verbose, quiet: quiet, trace: map[string]bool{}}
	for _, m := range trace {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if !slices.Contains(modules, m) {
			return logs{}, usageErrorf("--trace: unknown module %q (modules are: %s)", m, strings.Join(modules, ", "))
		}
		l.trace[m] = true
	}
	if terminal {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	l.base = zerolog.New(w).With().Timestamp().Logger()
	return l, nil
}

// For returns the logger of a module.
func (l logs) For(module string) zerolog.Logger {
	level := zerolog.InfoLevel
	if l.quiet {
		level = zerolog.WarnLevel
	}
	switch {
	case len(l.trace) > 0:
		if l.trace[module] {
			level = zerolog.DebugLevel
		}
	case l.verbose:
		level = zerolog.DebugLevel
	}
	return l.base.Level(level).With().Str("module", module).Logger()
}

// usageError is an error in what the person typed: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}
