package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unitKeys are the keys freezer's units may use, per section (systemd.unit,
// systemd.service, systemd.exec, systemd.kill): a misspelt key is a
// warning systemd ignores, so the test refuses it instead.
var unitKeys = map[string][]string{
	"Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires", "BindsTo", "PartOf",
		"Conflicts", "ConditionPathExists", "AssertPathExists", "StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload",
		"Restart", "RestartSec", "RestartPreventExitStatus", "SuccessExitStatus", "TimeoutStartSec",
		"TimeoutStopSec", "KillMode", "KillSignal", "NotifyAccess", "WatchdogSec", "Environment",
		"EnvironmentFile", "WorkingDirectory", "NoNewPrivileges", "UMask", "Nice", "IOSchedulingClass",
		"PrivateTmp", "ProtectSystem", "ProtectHome", "ReadWritePaths"},
	"Install": {"WantedBy", "RequiredBy", "Alias", "Also"},
}

// parseUnit reads a systemd unit file: sections of Key=Value lines,
// comments, and lines continued with a trailing backslash.
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	n := 0
	var pending string
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				t.Errorf("%s:%d: bad section header %q", path, n, line)
				continue
			}
			section = line[1 : len(line)-1]
			if _, ok := unitKeys[section]; !ok {
				t.Errorf("%s:%d: unknown section [%s]", path, n, section)
			}
			if unit[section] == nil {
				unit[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Errorf("%s:%d: not a Key=Value line inside a section: %q", path, n, line)
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		known := false
		for _, k := range unitKeys[section] {
			known = known || k == key
		}
		if !known {
			t.Errorf("%s:%d: unknown key %s in [%s]", path, n, key, section)
		}
		unit[section][key] = append(unit[section][key], value)
	}
	if pending != "" {
		t.Errorf("%s: ends inside a continued line", path)
	}
	return unit
}

// TestSystemdUnits checks every unit under contrib/systemd: it parses, it
// is a notify service that restarts on failure and runs freezer, and,
// where systemd-analyze is installed, systemd itself accepts it.
func TestSystemdUnits(t *testing.T) {
	units, err := filepath.Glob(filepath.Join("..", "..", "contrib", "systemd", "*.service"))
	if err != nil {
		t.Fatal(err)
	}
	if len(units) == 0 {
		t.Fatal("no systemd units under contrib/systemd")
	}
	analyze, _ := exec.LookPath("systemd-analyze")
	if analyze == "" {
		t.Log("systemd-analyze is not installed: the units are checked by the parser only")
	}
	for _, path := range units {
		t.Run(filepath.Base(path), func(t *testing.T) {
			u := parseUnit(t, path)
			svc := u["Service"]
			if got := svc["Type"]; len(got) != 1 || got[0] != "notify" {
				t.Errorf("Type=%v, want notify: freezer says when it is ready and when it stops", got)
			}
			if got := svc["Restart"]; len(got) != 1 || got[0] != "on-failure" {
				t.Errorf("Restart=%v, want on-failure", got)
			}
			if len(svc["ExecStart"]) != 1 || !strings.Contains(svc["ExecStart"][0], "freezer ") {
				t.Errorf("ExecStart=%v: want one command running freezer", svc["ExecStart"])
			}
			if len(u["Unit"]["Description"]) == 0 || len(u["Install"]["WantedBy"]) == 0 {
				t.Error("a unit needs a Description and an [Install] WantedBy to be enabled")
			}
			if strings.HasSuffix(path, "freezer-daemon.service") {
				if cmd := svc["ExecStart"][0]; !strings.HasSuffix(cmd, " daemon") && !strings.Contains(cmd, "--no-gui") {
					t.Errorf("the daemon's unit runs %q", cmd)
				}
			}
			if analyze != "" {
				verify(t, analyze, path)
			}
		})
	}
}

var execLine = regexp.MustCompile(`^(Exec[A-Za-z]*=[-@:+!]*)(\S+)(.*)$`)

// verify runs systemd-analyze verify on a copy of the unit whose programs
// are ones that exist here (systemd checks that they are executable; freezer
// and fusermount need not be installed for the test).
func verify(t *testing.T, analyze, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stand, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if m := execLine.FindStringSubmatch(l); m != nil {
			if _, err := exec.LookPath(m[2]); err != nil || !filepath.IsAbs(m[2]) {
				lines[i] = m[1] + stand + m[3]
			}
		}
	}
	copyPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(copyPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(path), err, out)
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, filepath.Base(path)) {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}
