package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"freezer/control"
	"freezer/fusefs"
)

// MountCmd mounts the catalog as a filesystem.
type MountCmd struct {
	Foreground bool   `help:"Stay in the foreground until unmounted or interrupted (systemd, scripts); without it freezer returns once mounted and serves in the background."`
	Mountpoint string `arg:"" name:"mountpoint" help:"An empty folder to mount on."`
}

// UnmountCmd unmounts a mount.
type UnmountCmd struct {
	Lazy       bool   `help:"Detach a busy mount now; it goes once its last user lets go."`
	Mountpoint string `arg:"" name:"mountpoint" help:"Where freezer is mounted."`
}

// readyFDEnv names the descriptor on which a mount started in the
// background tells the command that started it that it is mounted ("ok
// LOGFILE"), or closes it having failed.
const readyFDEnv = "FREEZER_MOUNT_READY_FD"

// Run mounts and serves until SIGINT or SIGTERM (or an unmount from
// outside), then unmounts and stops the engine: running tasks are
// interrupted and recorded with the line that resumes them.
func (c *MountCmd) Run(ctx context.Context, a *app) error {
	ready := readyPipe()
	if !c.Foreground && ready == nil {
		return c.background(a)
	}
	mnt, cleared, err := fusefs.PrepareMountpoint(c.Mountpoint)
	if err != nil {
		return err
	}
	if cleared {
		a.log.Warn().Str("mountpoint", mnt).Msg("cleared a stale mount left by a freezer that was killed")
	}
	a.frontEnd, a.commandLine = "mount", "mount "+mnt
	all, err := a.settings(ctx)
	if err != nil {
		return err
	}
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	// The mount downloads what Glacier has made ready (so `retrieve`,
	// then waiting for liquid, works) and applies finished inventories.
	e.Watch(control.WatchOptions{Download: true, ApplyInventories: true})
	srv, err := fusefs.Mount(e, fusefs.Options{Mountpoint: mnt, DataDir: all["data-dir"].Value, Logger: a.logs.For("fusefs")})
	if err != nil {
		return err
	}
	defer srv.Close()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	unmounted := make(chan struct{})
	go func() { srv.Wait(); close(unmounted) }()

	if ready != nil {
		a.detach(ready, all["data-dir"].Value)
	}
	sdNotify("READY=1")
	a.log.Info().Str("mountpoint", mnt).Msg("serving; stop with SIGTERM or: freezer unmount " + mnt)

	select {
	case <-unmounted:
		a.log.Info().Str("mountpoint", mnt).Msg("unmounted from outside; stopping")
	case sig := <-sigs:
		sdNotify("STOPPING=1")
		a.log.Info().Str("signal", sig.String()).Msg("unmounting")
		if err := srv.Unmount(); err != nil {
			a.log.Error().Err(err).Msg("could not unmount")
		}
		select {
		case <-unmounted:
		case <-sigs:
			a.log.Warn().Msg("second signal: stopping while the mount is still in use")
		}
	}
	srv.Close()
	return nil
}

// background starts this command again as a detached process, relays what
// it says until it has mounted, and returns: a shell gets its prompt back
// with the mount in place, or the reason it failed.
func (c *MountCmd) background(a *app) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	readR, readW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), readyFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{readW}
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	readW.Close()
	errW.Close()
	relayed := make(chan struct{})
	go func() { io.Copy(a.stderr, errR); close(relayed) }()
	line, _ := bufio.NewReader(readR).ReadString('\n')
	readR.Close()
	if logFile, ok := strings.CutPrefix(strings.TrimSpace(line), "ok "); ok {
		<-relayed
		pid := cmd.Process.Pid
		cmd.Process.Release()
		a.say("mounted %s (process %d, log %s); unmount with: freezer unmount %s", c.Mountpoint, pid, logFile, c.Mountpoint)
		return nil
	}
	werr := cmd.Wait()
	<-relayed
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		return fmt.Errorf("the mount process stopped before mounting (exit status %d)", ee.ExitCode())
	}
	return fmt.Errorf("the mount process stopped before mounting: %v", werr)
}

// readyPipe is the descriptor a background start reports on, when this
// process is one.
func readyPipe() *os.File {
	v := os.Getenv(readyFDEnv)
	if v == "" {
		return nil
	}
	os.Unsetenv(readyFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	return os.NewFile(uintptr(fd), "ready")
}

// detach finishes a background start once mounted: from now on messages
// go to DATA/mount.log instead of the terminal of whoever started it, and
// the starter is told where.
func (a *app) detach(ready *os.File, dataDir string) {
	logFile := filepath.Join(dataDir, "mount.log")
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err == nil {
		err = syscall.Dup3(int(f.Fd()), 2, 0)
		f.Close()
	}
	if err != nil {
		logFile = "/dev/null"
		if null, nerr := os.OpenFile(os.DevNull, os.O_WRONLY, 0); nerr == nil {
			syscall.Dup3(int(null.Fd()), 2, 0)
			null.Close()
		}
	}
	fmt.Fprintf(ready, "ok %s\n", logFile)
	ready.Close()
}

// sdNotify tells systemd (Type=notify units) how the service is doing;
// without NOTIFY_SOCKET it does nothing.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Write([]byte(state))
}

// Run unmounts; the serving process then stops its tasks and exits.
func (c *UnmountCmd) Run(ctx context.Context, a *app) error {
	if err := fusefs.Unmount(c.Mountpoint, c.Lazy); err != nil {
		return err
	}
	a.say("unmounted %s", c.Mountpoint)
	return nil
}
