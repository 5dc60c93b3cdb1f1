package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/control"
)

// notificationName names the SNS topic and SQS queue freezer sets up in the
// simulator.
const notificationName = "freezer-jobs"

// engineOptions are the engine's settings from the settings in effect:
// catalog, data folder, threads, chunk size. They are enough for commands
// that touch no AWS service.
func (a *app) engineOptions(ctx context.Context) (control.Options, map[string]control.Resolved, error) {
	all, err := a.settings(ctx)
	if err != nil {
		return control.Options{}, nil, err
	}
	db, err := a.catalog(ctx)
	if err != nil {
		return control.Options{}, nil, err
	}
	t := control.TunablesOf(all)
	dataDir, err := expandHome(all["data-dir"].Value, a.env)
	if err != nil {
		return control.Options{}, nil, fmt.Errorf("data-dir (%s): %w", all["data-dir"].Source, err)
	}
	return control.Options{
		DB: db, DataDir: dataDir, Threads: t.Threads, ChunkSize: t.ChunkSize, PollTime: t.PollTime,
		QueueURL: t.QueueURL, SNSTopic: t.SNSTopic, Settings: a.settingsInput(),
		Location: a.location(all),
		Command:  a.command(), Source: a.engineSource(), Logger: a.logs.For("control"),
	}, all, nil
}

// location names the Glacier account the settings point at, for the
// catalog's record of where each vault lives; every engine has it, so that
// even a command that needs only the catalog (disconnect) refuses to act
// on a vault of another account.
func (a *app) location(all map[string]control.Resolved) string {
	if a.sim != "" {
		return "sim:" + a.sim
	}
	return location(aws.Settings{Region: all["region"].Value, AccountID: all["accountid"].Value, Endpoint: all["endpoint"].Value})
}

// command names this run for other processes' messages ("archive create").
func (a *app) command() string {
	if a.commandLine != "" {
		return a.commandLine
	}
	var words []string
	for _, w := range strings.Fields(a.kctx.Command()) {
		if !strings.HasPrefix(w, "<") {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

// engineSource names the front end in the error log: the mount says so
// itself (frontEnd), other commands are the CLI or the daemon.
func (a *app) engineSource() string {
	if a.frontEnd != "" {
		return a.frontEnd
	}
	return a.source()
}

// newEngine makes the engine and closes it when the command ends: tasks
// still running then (after an interrupt) are stopped and recorded as
// interrupted, and the engine's claims are released.
func (a *app) newEngine(o control.Options) *control.Engine {
	e := control.New(o)
	a.closers = append(a.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			a.log.Warn().Err(err).Msg("stopping")
		}
	})
	return e
}

// localEngine is an engine for commands that need only the catalog and
// local files (keys, plans, extract): no AWS configuration is needed.
func (a *app) localEngine(ctx context.Context) (*control.Engine, error) {
	o, _, err := a.engineOptions(ctx)
	if err != nil {
		return nil, err
	}
	return a.newEngine(o), nil
}

// engine builds the control engine with AWS (or the in-process simulator
// with --sim) behind it.
func (a *app) engine(ctx context.Context) (*control.Engine, error) {
	o, all, err := a.engineOptions(ctx)
	if err != nil {
		return nil, err
	}
	s := aws.Settings{
		Region: all["region"].Value, AccountID: all["accountid"].Value,
		AccessKey: all["access-key"].Value, SecretKey: all["secret-key"].Value,
		Profile: all["profile"].Value, Endpoint: all["endpoint"].Value,
		Logger: a.logs.For("aws"),
	}
	if a.sim != "" {
		srv, err := a.startSim(ctx, a.sim)
		if err != nil {
			return nil, err
		}
		// The simulator is a whole AWS of its own: its endpoint, its
		// credentials, its topic and queue, whatever the catalog holds for
		// the real one.
		s.Endpoint, s.Region, s.AccountID = srv, sim.DefaultRegion, "-"
		s.AccessKey, s.SecretKey, s.Profile = sim.DefaultAccessKey, sim.DefaultSecretKey, ""
		a.log.Debug().Str("endpoint", srv).Msg("using the built-in simulator")
	}
	cfg, err := aws.LoadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	glacier := aws.NewGlacier(cfg, s)
	queue := aws.NewQueue(cfg, s)
	if a.sim != "" {
		if o.SNSTopic, o.QueueURL, err = setupNotifications(ctx, aws.NewTopic(cfg, s), queue); err != nil {
			return nil, fmt.Errorf("simulator notifications: %w", err)
		}
		o.FixedNotifications = true
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", o.DataDir, err)
	}
	o.Glacier, o.Queue = glacier, queue
	e := a.newEngine(o)
	if err := e.Recover(ctx); err != nil {
		a.log.Warn().Err(err).Msg("could not finish what an interrupted run left")
	}
	return e, nil
}

// location names the Glacier account settings point at, for the catalog's
// record of where each vault lives: the endpoint (AWS's unless given),
// the region and the account.
func location(s aws.Settings) string {
	ep := s.Endpoint
	if ep == "" {
		ep = "aws"
	}
	region := s.Region
	if region == "" {
		region = "default-region"
	}
	account := s.AccountID
	if account == "" || account == "-" {
		return ep + " " + region
	}
	return ep + " " + region + " " + account
}

// startSim serves the simulator in-process on a loopback port for the
// duration of the command.
// When another process already serves the folder (a mount, or `freezer
// sim --dir`), this one uses that simulator instead (simshare.go).
func (a *app) startSim(ctx context.Context, abs string) (string, error) {
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("simulator folder %s: %w", abs, err)
	}
	opts, err := a.globals.SimTuning.options(abs, "--sim-")
	if err != nil {
		return "", err
	}
	owner, endpoint, err := claimSim(ctx, abs)
	if err != nil {
		return "", err
	}
	if owner == nil {
		a.log.Debug().Str("endpoint", endpoint).Msg("the simulator's folder is served by another freezer process: using it")
		return endpoint, nil
	}
	opts.Logger = a.logs.For("sim")
	s, err := sim.New(opts)
	if err != nil {
		owner.release()
		return "", fmt.Errorf("simulator in %s: %w", abs, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		owner.release()
		return "", err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	endpoint = "http://" + ln.Addr().String()
	a.closers = append(a.closers, func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		s.Close()
		owner.release()
	})
	if err := owner.serving(endpoint); err != nil {
		return "", fmt.Errorf("simulator folder %s: %w", abs, err)
	}
	return endpoint, nil
}

// topicMaker is what the simulator set-up needs from SNS.
type topicMaker interface {
	CreateTopic(ctx context.Context, name string) (string, error)
	Subscribe(ctx context.Context, topicARN, queueARN string, raw bool) (string, error)
}

// queueMaker is what the simulator set-up needs from SQS.
type queueMaker interface {
	CreateQueue(ctx context.Context, name string) (string, error)
	QueueARN(ctx context.Context, queueURL string) (string, error)
	SetQueuePolicy(ctx context.Context, queueURL, queueARN, topicARN string) error
}

// setupNotifications makes what the manual asks a person to make in AWS:
// an SNS topic for job notifications and an SQS queue subscribed to it
// (with the policy that lets SNS deliver). All calls are idempotent.
func setupNotifications(ctx context.Context, t topicMaker, q queueMaker) (topicARN, queueURL string, err error) {
	if topicARN, err = t.CreateTopic(ctx, notificationName); err != nil {
		return "", "", err
	}
	if queueURL, err = q.CreateQueue(ctx, notificationName); err != nil {
		return "", "", err
	}
	queueARN, err := q.QueueARN(ctx, queueURL)
	if err != nil {
		return "", "", err
	}
	if err := q.SetQueuePolicy(ctx, queueURL, queueARN, topicARN); err != nil {
		return "", "", err
	}
	if _, err := t.Subscribe(ctx, topicARN, queueARN, false); err != nil {
		return "", "", err
	}
	return topicARN, queueURL, nil
}

// isUsage reports an error in what the person asked for: exit status 2.
func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u) || errors.Is(err, control.ErrInvalid)
}
