package ui

import (
	"fmt"
	"strings"

	"freezer/control"
	"freezer/filter"
)

// bytesText writes a size in binary units, as freezer's CLI does.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// countText is "3 files, 12.0 KiB".
func countText(c filter.Count) string {
	files := "files"
	if c.Files == 1 {
		files = "file"
	}
	return fmt.Sprintf("%d %s, %s", c.Files, files, bytesText(c.Bytes))
}

// etaText is a duration in seconds as h:mm:ss or m:ss.
func etaText(s int64) string {
	if s < 0 {
		return "unknown"
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// reasonWords names a filter's reason for a person.
var reasonWords = map[string]string{
	"frozen":           "already frozen",
	"backup":           "backup/generated",
	"excluded":         "exclusion expression",
	"manual":           "manually excluded",
	"regex":            "matches the regex",
	"nothing-selected": "nothing selected inside",
}

func reasonWord(r string) string {
	if w, ok := reasonWords[r]; ok {
		return w
	}
	return r
}

// summaryText is the manual's selected-files summary: what is selected,
// what is left out and why, and where the frozen copies live.
func summaryText(d *filter.Document) string {
	s := d.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "Selected: %s", countText(s.Selected))
	if s.LeftOut.Files > 0 {
		fmt.Fprintf(&b, "  ·  left out: %s", countText(s.LeftOut))
		var parts []string
		for _, r := range s.ByReason {
			parts = append(parts, fmt.Sprintf("%s %d (%s)", reasonWord(r.Reason), r.Files, bytesText(r.Bytes)))
		}
		if len(parts) > 0 {
			b.WriteString(" — " + strings.Join(parts, ", "))
		}
	}
	if s.Dropped.Files > 0 {
		fmt.Fprintf(&b, "  ·  removed from the selection: %s", countText(s.Dropped))
	}
	if w := frozenWhere(d); w != "" {
		b.WriteString("\nFrozen copies live in " + w)
	}
	if n := len(d.Problems); n > 0 {
		fmt.Fprintf(&b, "\n%d problem(s): %s: %s", n, d.Problems[0].Path, d.Problems[0].Error)
	}
	return b.String()
}

// frozenWhere lists the archives that hold frozen copies of entries.
func frozenWhere(d *filter.Document) string {
	seen := map[string]bool{}
	var out []string
	for _, e := range d.Entries {
		for _, c := range e.FrozenCopies {
			k := c.Vault + "/" + c.Archive
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	const most = 4
	if len(out) > most {
		return strings.Join(out[:most], ", ") + fmt.Sprintf(" and %d more", len(out)-most)
	}
	return strings.Join(out, ", ")
}

// whyText says why an entry is left out (or that a person chose it).
func whyText(e filter.DocEntry) string {
	var parts []string
	for _, r := range e.Reasons {
		switch r {
		case "frozen":
			if len(e.FrozenCopies) > 0 {
				c := e.FrozenCopies[0]
				parts = append(parts, fmt.Sprintf("already frozen in %s/%s (%s)", c.Vault, c.Archive, c.Path))
				continue
			}
		case "excluded":
			if e.ExcludedBy != "" {
				parts = append(parts, "exclusion expression "+e.ExcludedBy)
				continue
			}
		}
		parts = append(parts, reasonWord(r))
	}
	text := strings.Join(parts, "; ")
	if e.Selected && e.Override {
		return "selected by you (filters: " + text + ")"
	}
	if e.Selected {
		return ""
	}
	return text
}

// taskText is one line of a task's progress: phase, bytes, rate, ETA.
func taskText(t control.TaskJSON) string {
	switch t.State {
	case "done":
		if t.Result != "" {
			return "Done: " + t.Result
		}
		return fmt.Sprintf("Done: %s/%s", t.Vault, t.Archive)
	case "failed", "interrupted", "cancelled":
		msg := fmt.Sprintf("Task %d %s", t.ID, t.State)
		if t.Error != "" {
			msg += ": " + t.Error
		}
		if t.Resume != "" {
			msg += "\nTo resume: " + t.Resume
		}
		return msg
	case "queued":
		return fmt.Sprintf("Task %d queued (waiting for a free worker)", t.ID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Task %d: %s", t.ID, t.Phase)
	if t.BytesTotal > 0 {
		fmt.Fprintf(&b, " — %s of %s", bytesText(t.BytesDone), bytesText(t.BytesTotal))
	} else if t.BytesDone > 0 {
		fmt.Fprintf(&b, " — %s", bytesText(t.BytesDone))
	}
	if t.Rate > 0 {
		fmt.Fprintf(&b, " at %s/s", bytesText(int64(t.Rate)))
	}
	if t.ETASeconds >= 0 {
		fmt.Fprintf(&b, ", %s left", etaText(t.ETASeconds))
	}
	return b.String()
}

// taskEnded says whether a task state is final.
func taskEnded(state string) bool {
	switch state {
	case "done", "failed", "cancelled", "interrupted":
		return true
	}
	return false
}
