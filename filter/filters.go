package filter

import (
	"fmt"
	"strings"
)

// Filter is one switchable filter of the archive dialog.
type Filter uint8

const (
	FilterFrozen   Filter = iota // same name, size and SHA-256 already in an active archive
	FilterBackup                 // backup and generated file names
	FilterExcluded               // exclusion expressions from the settings
	FilterManual                 // paths a person deselected in an earlier selection
	FilterRegex                  // the selection's own regular expression
	FilterDrop                   // remove unselected files from the plan
	numFilters
)

// filterNames is also the stable order in which filters are listed.
var filterNames = [numFilters]string{
	FilterFrozen:   "frozen",
	FilterBackup:   "backup",
	FilterExcluded: "excluded",
	FilterManual:   "manual",
	FilterRegex:    "regex",
	FilterDrop:     "drop",
}

func (f Filter) String() string {
	if f < numFilters {
		return filterNames[f]
	}
	return fmt.Sprintf("filter(%d)", uint8(f))
}

// Set is a set of filters.
type Set uint8

// DefaultFilters are on unless a selection says otherwise.
//
// The manual says the backup filter is enabled by default. The settings'
// exclusion expressions are the manual's "default filter exclusion paths",
// and manual exclusions are a person's own earlier decision, so both are on
// too. The regex filter is on but does nothing until an expression is given,
// so typing one is enough. The frozen filter is off: the manual warns that
// leaving out copies kept elsewhere makes restored folders look incomplete,
// and it reads every file not yet in the hash cache. Drop is an explicit act.
const DefaultFilters = Set(1<<FilterBackup | 1<<FilterExcluded | 1<<FilterManual | 1<<FilterRegex)

// Has reports whether f is in the set.
func (s Set) Has(f Filter) bool { return f < numFilters && s&(1<<f) != 0 }

// With returns the set plus f.
func (s Set) With(f Filter) Set { return s | 1<<f }

// Without returns the set minus f.
func (s Set) Without(f Filter) Set { return s &^ (1 << f) }

// Names lists the filters in the set in their stable order.
func (s Set) Names() []string {
	out := make([]string, 0, numFilters)
	for f := range numFilters {
		if s.Has(f) {
			out = append(out, filterNames[f])
		}
	}
	return out
}

// String is the comma list ParseFilters reads back; "none" for the empty set.
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Names(), ",")
}

// MarshalText and UnmarshalText let a Set be a flag or a config value.
func (s Set) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a comma list; see ParseFilters.
func (s *Set) UnmarshalText(b []byte) error {
	v, err := ParseFilters(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// validNames is what error messages offer.
func validNames() string {
	return strings.Join(Set(1<<numFilters-1).Names(), ", ") + " (or default, none)"
}

// ParseFilters reads a comma list of filter names such as "frozen,backup".
// Names are case-insensitive and may be padded with spaces; empty items are
// ignored. "default" stands for DefaultFilters, so "default,frozen" adds the
// frozen filter to the defaults; "none" (or an empty list) is no filter.
func ParseFilters(s string) (Set, error) {
	var set Set
	var unknown []string
	for item := range strings.SplitSeq(s, ",") {
		name := strings.ToLower(strings.TrimSpace(item))
		switch name {
		case "", "none":
			continue
		case "default", "defaults":
			set |= DefaultFilters
			continue
		}
		found := false
		for f := range numFilters {
			if filterNames[f] == name {
				set = set.With(f)
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, fmt.Sprintf("%q", strings.TrimSpace(item)))
		}
	}
	if len(unknown) > 0 {
		word := "filter"
		if len(unknown) > 1 {
			word = "filters"
		}
		return 0, fmt.Errorf("unknown %s %s; valid filters: %s", word, strings.Join(unknown, ", "), validNames())
	}
	return set, nil
}

// Reason says why an entry is left out (or, for an entry a person selected
// anyway, what would have left it out).
type Reason uint8

const (
	ReasonFrozen          Reason = iota // a copy is in an active archive (see FrozenCopies)
	ReasonBackup                        // backup or generated file name
	ReasonExcluded                      // matches an exclusion expression from the settings
	ReasonManual                        // deselected by a person, now or in an earlier selection
	ReasonRegex                         // matches the selection's regular expression
	ReasonNothingSelected               // directory: nothing beneath it is selected
	ReasonSpecial                       // not a regular file, directory or symlink
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonFrozen:          "frozen",
	ReasonBackup:          "backup",
	ReasonExcluded:        "excluded",
	ReasonManual:          "manual",
	ReasonRegex:           "regex",
	ReasonNothingSelected: "nothing-selected",
	ReasonSpecial:         "special",
}

// reasonHelp is the legend written into the JSON form.
var reasonHelp = [numReasons]string{
	ReasonFrozen:          "a file with the same name, size and SHA-256 is already in an active archive (see frozen_copies); a restore of this folder will not hold it",
	ReasonBackup:          "backup or generated file name (~, .o, .pyc, .bak, .P, .Po, #name#, .#name, or a pattern from the settings)",
	ReasonExcluded:        "matches an exclusion from the settings (see excluded_by)",
	ReasonManual:          "deselected by a person, in this selection or an earlier one",
	ReasonRegex:           "full path matches this selection's regular expression",
	ReasonNothingSelected: "directory: nothing beneath it is selected",
	ReasonSpecial:         "device, socket or FIFO: not archived",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

func parseReason(s string) (Reason, bool) {
	for r := range numReasons {
		if reasonNames[r] == s {
			return r, true
		}
	}
	return 0, false
}

// Reasons is a set of reasons.
type Reasons uint16

// Has reports whether r is in the set.
func (rs Reasons) Has(r Reason) bool { return rs&(1<<r) != 0 }

// List gives the reasons in their stable order.
func (rs Reasons) List() []Reason {
	var out []Reason
	for r := range numReasons {
		if rs.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// Names gives the reason names in their stable order (never nil).
func (rs Reasons) Names() []string {
	out := make([]string, 0, 2)
	for r := range numReasons {
		if rs.Has(r) {
			out = append(out, reasonNames[r])
		}
	}
	return out
}

func (rs Reasons) String() string { return strings.Join(rs.Names(), ",") }

func reasonBit(r Reason) Reasons { return 1 << r }
