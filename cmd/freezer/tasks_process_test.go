package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"freezer/aws/sim"
	"freezer/control"
	"freezer/pipeline/tarball/tarballtest"
)

// TestSameNameFromTwoProcesses starts two `archive create` of one name at
// once, ten times: each time exactly one wins, the other exits non-zero
// with a one-line busy or exists message, and the winner's files are what
// the catalog lists and what a retrieval restores.
func TestSameNameFromTwoProcesses(t *testing.T) {
	t.Parallel()
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "0")
	dir := t.TempDir()
	client := clientArgs(endpoint, dir)
	if out, err := runProcess(t, bin, append(client, "vault", "create", "photos")...); err != nil {
		t.Fatalf("vault create: %v\n%s", err, out)
	}
	for round := range 10 {
		name := fmt.Sprintf("same-%d", round)
		var srcs [2]string
		for i := range srcs {
			srcs[i] = filepath.Join(dir, fmt.Sprintf("src-%d-%d", round, i))
			writeFile(t, filepath.Join(srcs[i], fmt.Sprintf("from-%d.txt", i)), strings.Repeat(fmt.Sprintf("process %d round %d\n", i, round), 1000))
		}
		var cmds [2]*exec.Cmd
		var outs [2]*bytes.Buffer
		var errs [2]*bytes.Buffer
		for i := range cmds {
			cmds[i] = exec.Command(bin, append(client, "archive", "create", "--vault", "photos", "--name", name, "--key", "none", srcs[i])...)
			outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
			cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		winner := -1
		for i, c := range cmds {
			err := c.Wait()
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: both processes succeeded", round)
				}
				winner = i
				continue
			}
			msg := strings.TrimSpace(errs[i].String())
			lines := strings.Split(msg, "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, "busy: photos/"+name+" is being created by pid") && !strings.Contains(last, "already exists") {
				t.Fatalf("round %d: the loser said %q", round, msg)
			}
			if code := c.ProcessState.ExitCode(); code != 1 {
				t.Errorf("round %d: loser exit %d", round, code)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody won:\n%s\n%s", round, errs[0].String(), errs[1].String())
		}
		out, err := runProcess(t, bin, append(client, "archive", "files", "photos/"+name)...)
		want := fmt.Sprintf("src-%d-%d/from-%d.txt", round, winner, winner)
		if err != nil || !strings.Contains(out, want) || strings.Contains(out, fmt.Sprintf("from-%d.txt", 1-winner)) {
			t.Fatalf("round %d: the catalog lists other files than the winner's (%s): %v\n%s", round, want, err, out)
		}
		if round%3 != 0 {
			continue // the whole trip for some rounds is enough
		}
		restored := filepath.Join(dir, "restored", name)
		for _, args := range [][]string{
			{"archive", "disconnect", "photos/" + name},
			{"archive", "retrieve", "--wait", "--tier", "Expedited", "photos/" + name},
			{"archive", "extract", "photos/" + name, restored},
		} {
			if out, err := runProcess(t, bin, append(client, args...)...); err != nil {
				t.Fatalf("round %d: %v: %v\n%s", round, args, err, out)
			}
		}
		tarballtest.CompareTrees(t, srcs[winner], filepath.Join(restored, filepath.Base(srcs[winner])))
	}
}

// statusOf runs `freezer status --json` as another process.
func statusOf(t *testing.T, bin string, client []string) control.StatusJSON {
	t.Helper()
	cmd := exec.Command(bin, append(client, "status", "--json")...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("status --json: %v\n%s", err, errb.String())
	}
	var s control.StatusJSON
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out.String())
	}
	return s
}

// TestStatusWaitAndKilledTask: while a create runs, another process's
// `status --json` shows its task with bytes done growing and `wait`
// returns its result; a create killed with SIGKILL shows as interrupted,
// with the line that resumes it, and running it again finishes it.
func TestStatusWaitAndKilledTask(t *testing.T) {
	t.Parallel()
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "0")
	dir := t.TempDir()
	client := clientArgs(endpoint, dir)
	src := filepath.Join(dir, "src")
	writeRandomTree(t, src, 64<<20)
	if out, err := runProcess(t, bin, append(client, "vault", "create", "photos")...); err != nil {
		t.Fatalf("vault create: %v\n%s", err, out)
	}
	adminJSON(t, "POST", endpoint+"/_sim/faults", sim.Fault{Op: "UploadMultipartPart", Kind: sim.FaultDelay, Rate: 1, Delay: sim.Duration(60 * time.Millisecond)}, nil)

	// A create, watched from other processes.
	create := func(name string) *exec.Cmd {
		cmd := exec.Command(bin, append(client, "archive", "create", "--vault", "photos", "--name", name, "--compression", "none", "--key", "none", src)...)
		cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// running waits until the named archive's task is uploading, with
	// bytes done growing between two looks, and returns it.
	running := func(name string) control.TaskJSON {
		var first control.TaskJSON
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			for _, task := range statusOf(t, bin, client).Tasks {
				if task.Archive != name || task.State != "running" || task.Phase != "upload" || task.BytesDone == 0 {
					continue
				}
				if task.BytesTotal <= task.BytesDone {
					t.Fatalf("task %d: %d of %d bytes", task.ID, task.BytesDone, task.BytesTotal)
				}
				if first.ID == 0 {
					first = task
				} else if task.BytesDone > first.BytesDone {
					return task
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Fatalf("status never showed %s uploading with bytes growing (first look: %+v)", name, first)
		return control.TaskJSON{}
	}

	p1 := create("watched")
	task := running("watched")
	out, err := runProcess(t, bin, append(client, "wait", fmt.Sprint(task.ID))...)
	if err != nil || !regexpLine(out, fmt.Sprintf(`^%d\tdone\tphotos/watched: .*liquid`, task.ID)) {
		t.Fatalf("wait %d: %v\n%s", task.ID, err, out)
	}
	if err := p1.Wait(); err != nil {
		t.Fatalf("create: %v\n%s", err, p1.Stderr)
	}

	// A create killed mid-upload.
	p2 := create("killed")
	task = running("killed")
	p2.Process.Signal(syscall.SIGKILL)
	p2.Wait()
	var killed control.TaskJSON
	for _, x := range statusOf(t, bin, client).Tasks {
		if x.ID == task.ID {
			killed = x
		}
	}
	if killed.State != "interrupted" || killed.Resume != "upload photos/killed" {
		t.Fatalf("killed task: %+v", killed)
	}
	cmd := exec.Command(bin, append(client, "wait", fmt.Sprint(task.ID))...)
	var werr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &werr, &werr
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 130 || !strings.Contains(werr.String(), "freezer archive upload photos/killed") {
		t.Fatalf("wait for the killed task: %v (exit %d)\n%s", err, cmd.ProcessState.ExitCode(), werr.String())
	}
	adminJSON(t, "DELETE", endpoint+"/_sim/faults", nil, nil)
	p3 := create("killed")
	if err := p3.Wait(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, p3.Stderr)
	}
	out, err = runProcess(t, bin, append(client, "archive", "list", "photos")...)
	if err != nil || !strings.Contains(out, "killed") || !regexpLine(out, `killed\s+liquid`) {
		t.Fatalf("after the rerun: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "archives", "photos", "killed")); err != nil {
		t.Fatalf("no local copy after the rerun: %v", err)
	}
}

// regexpLine reports whether some line of s matches re.
func regexpLine(s, re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range strings.Split(s, "\n") {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}
