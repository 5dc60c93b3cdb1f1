package filter

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCopiesShown bounds the frozen copies listed per file in the text form;
// the JSON form lists them all.
const maxCopiesShown = 3

// displayPath quotes a path that would not print as itself: bytes that are
// not UTF-8, or control characters (a newline in a name could forge a row).
func displayPath(p string) string {
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return strconv.Quote(p)
	}
	return p
}

// formatSize writes n bytes the way people read them, exact below 1 KiB.
func formatSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// WriteText writes the plan for a person: one line per entry (selected,
// size, path, reasons), the frozen copies under the files they concern,
// then the summary and the problems.
func (p *Plan) WriteText(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	roots := make([]string, len(p.roots))
	for i, r := range p.roots {
		roots[i] = displayPath(r)
	}
	if len(roots) == 0 {
		fmt.Fprintf(bw, "Selection\n")
	} else {
		fmt.Fprintf(bw, "Selection of %s\n", strings.Join(roots, ", "))
	}
	filters := p.filters.String()
	if p.regex != "" {
		filters += fmt.Sprintf(" (regex %s)", strconv.Quote(p.regex))
	}
	fmt.Fprintf(bw, "Filters: %s\n\n", filters)

	fmt.Fprintf(bw, "%-4s %10s  %s\n", "SEL", "SIZE", "PATH")
	for it := range p.All() {
		sel := "no"
		if it.Selected {
			sel = "yes"
		}
		size := formatSize(it.Size)
		name := displayPath(it.Path)
		if it.Type == TypeDir {
			size = "-"
			name += "/"
		}
		fmt.Fprintf(bw, "%-4s %10s  %s", sel, size, name)
		if it.Reasons != 0 || it.Override {
			notes := it.Reasons.Names()
			if it.ExcludedBy != "" {
				for i, n := range notes {
					if n == reasonNames[ReasonExcluded] {
						notes[i] = "excluded by " + displayPath(it.ExcludedBy)
					}
				}
			}
			if it.Override {
				notes = append(notes, "selected by a person anyway")
			}
			fmt.Fprintf(bw, "  [%s]", strings.Join(notes, "; "))
		}
		bw.WriteByte('\n')
		for i, c := range it.FrozenCopies {
			if i == maxCopiesShown {
				fmt.Fprintf(bw, "%17s and %s more\n", "", plural(int64(len(it.FrozenCopies)-i), "copy", "copies"))
				break
			}
			fmt.Fprintf(bw, "%17s copy in %s/%s: %s\n", "", c.Vault, c.Archive, displayPath(c.Path))
		}
	}

	s := p.Summary()
	fmt.Fprintf(bw, "\nSummary\n")
	row := func(label string, c Count) {
		word := "files"
		if c.Files == 1 {
			word = "file"
		}
		fmt.Fprintf(bw, "  %-18s %8d %-5s %10s\n", label, c.Files, word, formatSize(c.Bytes))
	}
	row("selected", s.Selected)
	row("left out", s.LeftOut)
	for _, rc := range s.ByReason {
		row("  "+rc.Reason, rc.Count)
	}
	if s.Dropped.Files > 0 || p.filters.Has(FilterDrop) {
		row("dropped from view", s.Dropped)
	}
	fmt.Fprintf(bw, "  %-18s %d selected, %d left out\n", "directories", s.DirsSelected, s.DirsLeftOut)
	if p.filters.Has(FilterFrozen) {
		h := s.Hashing
		fmt.Fprintf(bw, "  %-18s %d from cache, %d read (%s), %d failed\n", "hashing", h.Cached, h.Read, formatSize(h.ReadBytes), h.Failed)
	}
	for _, rc := range s.ByReason {
		if rc.Reason == reasonNames[ReasonFrozen] && rc.Files > 0 {
			fmt.Fprint(bw, "\nNote: files left out as frozen are kept in other archives only; a restore of\n"+
				"this archive alone will look like it misses them. Where such copies are\n"+
				"scattered inside a folder, consider selecting them to archive them again.\n")
		}
	}
	if len(p.problems) > 0 {
		fmt.Fprintf(bw, "\nProblems\n")
		for _, pr := range p.problems {
			fmt.Fprintf(bw, "  %s: %s: %v\n", displayPath(pr.Path), pr.Op, pr.Err)
		}
	}
	if err := p.Check(); err != nil {
		fmt.Fprintf(bw, "\n%v: nothing would go into the archive.\n", err)
	}
	return bw.Flush()
}
