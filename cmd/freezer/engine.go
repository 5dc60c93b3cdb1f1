package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
func (a *app) engineOptions(ctx context.Context) (control.Options, map[string]setting, error) {
	all, err := a.settings(ctx)
	if err != nil {
		return control.Options{}, nil, err
	}
	db, err := a.catalog(ctx)
	if err != nil {
		return control.Options{}, nil, err
	}
	threads, _ := strconv.Atoi(all["threads"].Value)
	chunk, _ := control.ParseSize(all["chunk-size"].Value)
	poll, _ := strconv.Atoi(all["poll-time"].Value)
	return control.Options{
		DB: db, DataDir: all["data-dir"].Value, Threads: threads, ChunkSize: chunk,
		PollTime: time.Duration(poll) * time.Second,
		Logger:   a.logs.For("control"), Progress: a.progress,
	}, all, nil
}

// localEngine is an engine for commands that need only the catalog and
// local files (keys, plans, extract): no AWS configuration is needed.
func (a *app) localEngine(ctx context.Context) (*control.Engine, error) {
	o, _, err := a.engineOptions(ctx)
	if err != nil {
		return nil, err
	}
	return control.New(o), nil
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
	o.SNSTopic, o.QueueURL = all["sns-topic"].Value, all["queue"].Value
	if a.globals.Sim != "" {
		srv, err := a.startSim(ctx, a.globals.Sim)
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
	if a.globals.Sim != "" {
		if o.SNSTopic, o.QueueURL, err = setupNotifications(ctx, aws.NewTopic(cfg, s), queue); err != nil {
			return nil, fmt.Errorf("simulator notifications: %w", err)
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", o.DataDir, err)
	}
	o.Glacier, o.Queue = glacier, queue
	return control.New(o), nil
}

// startSim serves the simulator in-process on a loopback port for the
// duration of the command.
func (a *app) startSim(ctx context.Context, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("simulator folder %s: %w", abs, err)
	}
	s, err := sim.New(sim.Options{Dir: abs, InventoryInterval: sim.DefaultInventoryInterval, Logger: a.logs.For("sim")})
	if err != nil {
		return "", fmt.Errorf("simulator in %s: %w", abs, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return "", err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	a.closers = append(a.closers, func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		s.Close()
	})
	return "http://" + ln.Addr().String(), nil
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
