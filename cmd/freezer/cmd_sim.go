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
	Listen            string         `default:"127.0.0.1:4566" help:"Address to serve on (keep it on loopback)."`
	Dir               string         `required:"" placeholder:"DIR" help:"Folder for the simulator's state (vaults, archives, jobs, queues)."`
	JobDelay          *time.Duration `placeholder:"D" help:"Complete every job after D, whatever its tier (0 = at once)."`
	ExpeditedDelay    time.Duration  `placeholder:"D" default:"2s" help:"Completion delay of Expedited jobs."`
	StandardDelay     time.Duration  `placeholder:"D" default:"5s" help:"Completion delay of Standard jobs."`
	BulkDelay         time.Duration  `placeholder:"D" default:"10s" help:"Completion delay of Bulk jobs."`
	InventoryInterval time.Duration  `placeholder:"D" default:"24h" help:"How often vault inventories refresh (0 = always current)."`
	Seed              int64          `help:"Seed of fault-injection randomness."`
}

// Run serves until interrupted.
func (c *SimCmd) Run(ctx context.Context, a *app) error {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("simulator folder %s: %w", dir, err)
	}
	for _, d := range []*time.Duration{c.JobDelay, &c.ExpeditedDelay, &c.StandardDelay, &c.BulkDelay, &c.InventoryInterval} {
		if d != nil && *d < 0 {
			return usageErrorf("delays and intervals cannot be negative")
		}
	}
	opts := sim.Options{Dir: dir, JobDelay: c.JobDelay, InventoryInterval: c.InventoryInterval,
		ExpeditedDelay: c.ExpeditedDelay, StandardDelay: c.StandardDelay, BulkDelay: c.BulkDelay,
		Seed: c.Seed, Logger: a.logs.For("sim")}
	if c.JobDelay == nil && (c.ExpeditedDelay == 0 || c.StandardDelay == 0 || c.BulkDelay == 0) {
		// The simulator reads a zero tier delay as "default"; a person
		// who types 0 means "at once".
		return usageErrorf("a tier delay of 0 is written --job-delay 0 (all tiers at once)")
	}
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
