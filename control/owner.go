package control

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"time"

	"freezer/store"
)

// Ownership across processes. An engine that takes a claim or runs a task
// registers itself in the catalog (host, boot id, pid and the pid's start
// time) with a lease it renews every leaseRenew. A claim or task of
// another engine is taken over only when that engine is provably dead:
//
//   - same machine and boot: its process is gone, or its pid now belongs
//     to a process started at another time (a reused pid);
//   - same machine, another boot: the machine restarted since;
//   - another machine, or another engine of this very process: its lease
//     ran out (it stopped renewing for leaseTime).
//
// A process that lives but hangs (stopped, swapping) is not dead: its
// claims stay until it ends. Pids are compared within one pid namespace;
// processes in different containers sharing a catalog must not share a
// host name.
const (
	leaseTime  = 60 * time.Second
	leaseRenew = 10 * time.Second
)

// identity is this process as other processes see it.
type identity struct {
	host     string
	bootID   string
	pid      int
	pidStart int64
}

func selfIdentity() identity {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	id := identity{host: host, pid: os.Getpid()}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id.bootID = strings.TrimSpace(string(b))
	}
	id.pidStart, _ = processStart(id.pid)
	return id
}

// processStart returns a process's start time in clock ticks after boot
// (field 22 of /proc/PID/stat); ok is false when there is no such process.
func processStart(pid int) (start int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if os.IsNotExist(err) {
			return 0, false
		}
		// No /proc (or not readable): the process may exist.
		return 0, true
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after the last ')' start with field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, true
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, true
	}
	n, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return 0, true
	}
	return n, true
}

// alive reports whether an engine registered in the catalog may still be
// running (see the rules above). engineID is the asking engine's own id.
func (me identity) alive(o store.Engine, engineID string, now time.Time) bool {
	if o.ID == engineID {
		return true
	}
	sameMachine := o.Host == me.host && o.BootID != "" && me.bootID != ""
	if sameMachine && o.BootID != me.bootID {
		return false
	}
	if sameMachine && o.PID != me.pid {
		start, ok := processStart(o.PID)
		if !ok {
			return false
		}
		return o.PIDStart == 0 || start == 0 || start == o.PIDStart
	}
	return now.Before(o.Expires)
}

// newEngineID names one engine instance.
func newEngineID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// describeOwner says who holds something, for a busy message.
func (me identity) describeOwner(o store.Engine, engineID string) string {
	if o.ID == engineID {
		return "this process"
	}
	s := "pid " + strconv.Itoa(o.PID)
	if o.Command != "" {
		s += " (" + o.Command + ")"
	}
	if o.Host != me.host {
		s += " on " + o.Host
	}
	return s
}
