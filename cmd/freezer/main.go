// Command freezer mounts Amazon Glacier as a filesystem and manages its
// vaults and archives from the command line. This package is only wiring:
// flags and config → settings → the parts → the command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"freezer/control"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// exitRequest carries kong's wish to exit (after --help) out of Parse.
type exitRequest struct{ code int }

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) (code int) {
	// Errors, logs, messages and the progress bar share stderr through one
	// writer, so that a log line of a task still ending never lands inside
	// another line.
	out := &termOut{w: stderr}
	fail := func(err error) int {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		if errors.Is(err, context.Canceled) && !errors.Is(err, control.ErrInterrupted) && control.Hint(err) == "" {
			// A bare "context canceled" tells a person nothing.
			msg = strings.TrimSuffix(strings.TrimSuffix(msg, "context canceled"), ": ")
			if msg == "" {
				msg = "interrupted"
			} else {
				msg += ": interrupted"
			}
			msg += "; run the same command again to go on"
		}
		msg += hintText(err)
		fmt.Fprintf(out, "freezer: error: %s\n", clean(msg))
		var pe *kong.ParseError
		if isUsage(err) || errors.As(err, &pe) {
			return 2
		}
		return control.ExitCode(err)
	}

	explicit, given := findConfigFlag(args)
	if given {
		var err error
		if explicit, err = expandHome(explicit, env); err != nil {
			return fail(usageErrorf("--config %v", err))
		}
	}
	cfg, err := loadConfig(explicit, given, env)
	if err != nil {
		return fail(usageError{err.Error()})
	}

	var cli CLI
	opts := []kong.Option{
		kong.Name("freezer"),
		kong.Description("Amazon Glacier as a filesystem: vaults are folders, archives are files, and a control folder drives everything else."),
		kong.Writers(stdout, out),
		kong.Exit(func(code int) { panic(exitRequest{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Vars(defaultVars(env)),
		kong.BindTo(ctx, (*context.Context)(nil)),
	}
	if cfg != nil {
		opts = append(opts, kong.Resolvers(cfg.resolver()))
	}
	parser, err := kong.New(&cli, opts...)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if r := recover(); r != nil {
			req, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = req.code
		}
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		if cfg != nil && strings.Contains(err.Error(), cfg.path) {
			return fail(usageError{err.Error()})
		}
		if usage := commandUsage(err); usage != "" {
			// A command without what it needs: show how it is called.
			code := fail(usageErrorf("%s", err))
			fmt.Fprintln(out, usage)
			return code
		}
		return fail(usageErrorf("%s; see 'freezer --help'", err))
	}

	terminal := false
	if f, ok := stderr.(*os.File); ok {
		terminal = term.IsTerminal(int(f.Fd()))
	}
	lg, err := newLogs(out, terminal, cli.Verbose, cli.Quiet, cli.Trace)
	if err != nil {
		return fail(err)
	}
	a := &app{
		globals:  &cli.Globals,
		kctx:     kctx,
		parser:   parser,
		cfg:      cfg,
		stdin:    stdin,
		stdout:   stdout,
		stderr:   out,
		bar:      out,
		env:      env,
		logs:     lg,
		log:      lg.For("cli"),
		terminal: terminal,
	}
	defer a.close()
	if err := a.checkGlobals(); err != nil {
		return fail(err)
	}
	if err := kctx.Run(a, ctx); err != nil {
		return fail(err)
	}
	return 0
}

// commandUsage is the usage line of the command a parse error is about,
// when the error is a missing argument; "" otherwise.
func commandUsage(err error) string {
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil ||
		!strings.HasPrefix(err.Error(), "expected ") && !strings.HasPrefix(err.Error(), "missing flags") {
		return ""
	}
	node := pe.Context.Selected()
	if node == nil {
		return ""
	}
	return fmt.Sprintf("usage: freezer %s (more: freezer help %s)", node.Summary(), node.Path())
}

// hintText is what a person can run about err, in the CLI's words: the
// engine's hint as a command, and for an extract refused because files
// are in the way, both ways past it.
func hintText(err error) string {
	hint := control.Hint(err)
	h := cliHint(hint)
	if h == "" {
		return ""
	}
	if errors.Is(err, control.ErrExists) && strings.HasPrefix(hint, "extract ") && strings.Contains(hint, "skip-existing=yes") &&
		!strings.Contains(err.Error(), "never replaced") {
		return " (to restore only what is missing, run: " + h + "; or give --overwrite instead to replace them)"
	}
	return " (run: " + h + ")"
}

// cliInterrupted is an interrupt the CLI explains in its own words; its
// kind (exit status 130) is the engine's.
type cliInterrupted struct{ msg string }

func (e cliInterrupted) Error() string { return e.msg }
func (e cliInterrupted) Unwrap() error { return control.ErrInterrupted }

func interruptedf(format string, args ...any) error {
	return cliInterrupted{fmt.Sprintf(format, args...)}
}
