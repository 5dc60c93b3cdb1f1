package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
)

// SimCmd serves the simulator for other clients.
type SimCmd struct {
	Listen    string `default:"127.0.0.1:4566" help:"Address to serve on (keep it on loopback)."`
	Dir       string `required:"" placeholder:"DIR" help:"Folder for the simulator's state (vaults, archives, jobs, queues)."`
	SimTuning `embed:""`
	Seed      int64 `help:"Seed of fault-injection randomness."`
}

// Run serves until interrupted.
func (c *SimCmd) Run(ctx context.Context, a *app) error {
	if err := pathFlag("dir", &c.Dir, a.env); err != nil {
		return err
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	opts, err := c.options(dir, "--")
	if err != nil {
		return err
	}
	opts.Seed, opts.Logger = c.Seed, a.logs.For("sim")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("simulator folder %s: %w", dir, err)
	}
	owner, other, err := claimSim(ctx, dir)
	if err != nil {
		return err
	}
	if owner == nil {
		return fmt.Errorf("simulator folder %s is already served at %s by another freezer process", dir, other)
	}
	defer owner.release()
	s, err := sim.New(opts)
	if err != nil {
		return fmt.Errorf("simulator in %s: %w", dir, err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	endpoint := "http://" + ln.Addr().String()
	if err := owner.serving(endpoint); err != nil {
		return fmt.Errorf("simulator folder %s: %w", dir, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// Make the SNS topic and SQS queue the manual asks for, so that a
	// client pointed here gets job notifications as it would from AWS.
	s3 := aws.Settings{Endpoint: endpoint, Region: sim.DefaultRegion, AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey}
	cfg, err := aws.LoadConfig(ctx, s3)
	if err != nil {
		return err
	}
	topic, queue, err := setupNotifications(ctx, aws.NewTopic(cfg, s3), aws.NewQueue(cfg, s3))
	if err != nil {
		return fmt.Errorf("simulator notifications: %w", err)
	}
	fmt.Fprintf(a.stdout, "endpoint   %s\nregion     %s\naccountid  %s\naccess-key %s\nsecret-key %s\nsns-topic  %s\nqueue      %s\n",
		endpoint, sim.DefaultRegion, sim.DefaultAccountID, sim.DefaultAccessKey, sim.DefaultSecretKey, topic, queue)
	if f, ok := a.stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}

	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}
