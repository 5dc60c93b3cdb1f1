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
	fail := func(err error) int {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		if h := cliHint(control.Hint(err)); h != "" {
			msg += " (run: " + h + ")"
		}
		fmt.Fprintf(stderr, "freezer: error: %s\n", msg)
		var pe *kong.ParseError
		if isUsage(err) || errors.As(err, &pe) {
			return 2
		}
		return control.ExitCode(err)
	}

	explicit, given := findConfigFlag(args)
	cfg, err := loadConfig(explicit, given, env)
	if err != nil {
		return fail(usageError{err.Error()})
	}

	var cli CLI
	opts := []kong.Option{
		kong.Name("freezer"),
		kong.Description("Amazon Glacier as a filesystem: vaults are folders, archives are files, and a control folder drives everything else."),
		kong.Writers(stdout, stderr),
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
		return fail(usageErrorf("%s; see 'freezer --help'", err))
	}

	terminal := false
	if f, ok := stderr.(*os.File); ok {
		terminal = term.IsTerminal(int(f.Fd()))
	}
	lg, err := newLogs(stderr, terminal, cli.Verbose, cli.Trace)
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
		stderr:   stderr,
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
