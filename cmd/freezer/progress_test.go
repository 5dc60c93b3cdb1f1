package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMeterIsHonest: no rate before a second of transfer (today's first
// frame read 446 GiB/s), bytes credited in one step (parts Glacier
// already had) are not a speed, and a transfer never shows 100 % before
// it has ended: bytes handed to the network are not bytes accepted.
func TestMeterIsHonest(t *testing.T) {
	var m meter
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const mib = 1 << 20
	const total = 8 << 30
	f := m.update(at(0), "upload", 0, total)
	if f.rate != 0 || f.eta >= 0 {
		t.Errorf("first frame has a rate: %+v", f)
	}
	f = m.update(at(250), "upload", 2*mib, total)
	if f.rate != 0 {
		t.Errorf("rate before a second passed: %v", f.rate)
	}
	// A resume credits 6 GiB Glacier already held in one tick: not a rate.
	done := int64(6<<30 + 2*mib)
	f = m.update(at(500), "upload", done, total)
	// Then 1 MiB every 250 ms: 4 MiB/s.
	for ms := 750; ms <= 3000; ms += 250 {
		done += mib
		f = m.update(at(ms), "upload", done, total)
	}
	if f.rate < 3.5*mib || f.rate > 4.5*mib {
		t.Errorf("rate %.0f B/s, want about 4 MiB/s (credited bytes counted?)", f.rate)
	}
	if left := time.Duration(float64(total-done) / (4 * mib) * float64(time.Second)); f.eta < left*8/10 || f.eta > left*12/10 {
		t.Errorf("eta %v, want about %v", f.eta, left)
	}
	// Every byte handed over (and a retry counted twice): still not 100 %.
	f = m.update(at(3250), "upload", total+mib, total)
	if f.percent != 99 || f.done != total || !strings.Contains(f.line(), "(99%)") {
		t.Errorf("a transfer not yet ended shows %d%%, %d bytes: %s", f.percent, f.done, f.line())
	}
	if st := f.status(1); st.PercentDone >= 1 || st.MessageType != "status" {
		t.Errorf("JSON status %+v", st)
	}
	// A new phase starts afresh.
	f = m.update(at(3500), "verify", 0, 10)
	if f.rate != 0 || f.percent != 0 {
		t.Errorf("new phase: %+v", f)
	}
}

// TestProgressJSONAndQuietLogs: without a terminal nothing but log lines
// reach stderr (no bar, no carriage returns); --progress json adds
// status lines and a summary a wrapper can parse.
func TestProgressJSONAndQuietLogs(t *testing.T) {
	dir := t.TempDir()
	writeRandomTree(t, filepath.Join(dir, "src"), 3<<20)
	mustCLI(t, dir, "vault", "create", "v")
	code, _, errs := simCLI(t, dir, "archive", "create", "--vault", "v", "--name", "a", "--key", "none", filepath.Join(dir, "src"))
	if code != 0 || strings.ContainsAny(errs, "\r\x1b") {
		t.Fatalf("exit %d; a progress bar without a terminal: %q", code, errs)
	}
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		if !json.Valid([]byte(l)) && !strings.HasPrefix(l, "v/a: ") {
			t.Errorf("not a log line nor the one-line message: %q", l)
		}
	}
	code, _, errs = simCLI(t, dir, "--progress", "json", "archive", "extract", "v/a", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("extract: %s", errs)
	}
	var summary *progressSummary
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		var m struct {
			MessageType string `json:"message_type"`
		}
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		switch m.MessageType {
		case "status":
			var st progressStatus
			if err := json.Unmarshal([]byte(l), &st); err != nil || st.PercentDone >= 1 || st.BytesDone > st.BytesTotal {
				t.Errorf("status line %q: %v", l, err)
			}
		case "summary":
			summary = &progressSummary{}
			json.Unmarshal([]byte(l), summary)
		}
	}
	if summary == nil || summary.State != "done" || summary.Kind != "extract" || !strings.Contains(summary.Result, "restored") {
		t.Errorf("no summary line, or a wrong one: %+v\n%s", summary, errs)
	}
}

// TestCLIHints: the engine's hint lines become the commands a person types,
// flags included.
func TestCLIHints(t *testing.T) {
	for line, want := range map[string]string{
		"retrieve photos/a":                           "freezer archive retrieve photos/a",
		"retrieve photos/a tier=Bulk":                 "freezer archive retrieve --tier Bulk photos/a",
		`extract photos/a "/r d" skip-existing=yes`:   "freezer archive extract --skip-existing photos/a '/r d'",
		"extract photos/a /r allow-outside-links=yes": "freezer archive extract --allow-outside-links photos/a /r",
		"inventory photos":                            "freezer vault inventory photos",
		"vault create photos":                         "freezer vault create photos",
		"key list":                                    "freezer key list",
		"new-key":                                     "freezer key create",
		"settings set region VALUE":                   "freezer settings set region VALUE",
		"upload photos/x":                             "freezer archive upload photos/x",
	} {
		if got := cliHint(line); got != want {
			t.Errorf("cliHint(%q) = %q, want %q", line, got, want)
		}
	}
}
