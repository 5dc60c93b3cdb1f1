package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// One simulator per state folder. The simulator keeps its state in memory
// and writes it to its folder: two processes serving one folder would
// overwrite each other's vaults. So the process that serves a folder holds
// an exclusive lock on DIR/sim.lock (the kernel drops it when the process
// ends, however it ends) and writes its address to DIR/sim.endpoint; any
// other process with --sim DIR (a CLI command beside a mount) uses that
// simulator over loopback instead of starting its own.

const (
	simLockFile     = "sim.lock"
	simEndpointFile = "sim.endpoint"
)

// simOwner is the lock of a simulator folder this process serves.
type simOwner struct {
	lock *os.File
	dir  string
}

// claimSim takes the folder's lock. ok is false when another live process
// serves the folder; its endpoint is then returned.
func claimSim(ctx context.Context, dir string) (owner *simOwner, endpoint string, err error) {
	f, err := os.OpenFile(filepath.Join(dir, simLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("simulator folder %s: %w", dir, err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return &simOwner{lock: f, dir: dir}, "", nil
	}
	f.Close()
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return nil, "", fmt.Errorf("simulator folder %s: lock: %w", dir, err)
	}
	// Another process serves it; it may be writing its address still.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, rerr := os.ReadFile(filepath.Join(dir, simEndpointFile))
		if ep := strings.TrimSpace(string(b)); rerr == nil && ep != "" && simAlive(ctx, ep) {
			return nil, ep, nil
		}
		if time.Now().After(deadline) {
			return nil, "", fmt.Errorf("simulator folder %s is served by another freezer process that does not answer; stop it or use another folder", dir)
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// simAlive reports whether a simulator answers at endpoint.
func simAlive(ctx context.Context, endpoint string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/_sim/faults", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// serving records the address this process serves the folder at.
func (o *simOwner) serving(endpoint string) error {
	return renameio.WriteFile(filepath.Join(o.dir, simEndpointFile), []byte(endpoint+"\n"), 0o600)
}

// release forgets the address and drops the lock.
func (o *simOwner) release() {
	os.Remove(filepath.Join(o.dir, simEndpointFile))
	o.lock.Close()
}
