package filter

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// BuiltinBackupPatterns gives the backup/generated patterns, matched against
// a file's base name. The manual's printed list is damaged; this is its evident
// intent: editor backups (name~), object files (.o), Python bytecode (.pyc),
// .bak files, automake dependency files (.P, .Po), Emacs autosaves (#name#)
// and Emacs lock links (.#name).
func BuiltinBackupPatterns() []string {
	return []string{`~$`, `\.o$`, `\.pyc$`, `\.bak$`, `\.Po?$`, `^#.*#$`, `^\.#`}
}

// builtinBackup is BuiltinBackupPatterns written out by hand: it runs on
// every file of every plan, and a string test is many times faster than the
// combined expression. FuzzBuiltinBackup holds the two equal.
func builtinBackup(name string) bool {
	n := len(name)
	if n == 0 {
		return false
	}
	switch {
	case name[n-1] == '~',
		strings.HasSuffix(name, ".o"),
		strings.HasSuffix(name, ".pyc"),
		strings.HasSuffix(name, ".bak"),
		strings.HasSuffix(name, ".P"),
		strings.HasSuffix(name, ".Po"),
		strings.HasPrefix(name, ".#"):
		return true
	}
	// ^#.*#$: '.' does not match a newline in RE2.
	return n >= 2 && name[0] == '#' && name[n-1] == '#' && strings.IndexByte(name[1:n-1], '\n') < 0
}

// ExpressionError is a filter expression that cannot be used.
type ExpressionError struct {
	Kind string // "exclusion", "backup pattern" or "regex"
	Expr string
	Err  error
}

func (e *ExpressionError) Error() string {
	return fmt.Sprintf("%s %q: %v", e.Kind, e.Expr, e.Err)
}

func (e *ExpressionError) Unwrap() error { return e.Err }

// compileRE2 compiles one expression, naming it when it is bad.
func compileRE2(kind, expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			err = fmt.Errorf("not a valid RE2 expression: %s", se.Code)
			if se.Expr != "" && se.Expr != expr {
				err = fmt.Errorf("%w at %q", err, se.Expr)
			}
		}
		return nil, &ExpressionError{Kind: kind, Expr: expr, Err: err}
	}
	return re, nil
}

// multiRE is a list of expressions tried in turn. They are not joined into
// one alternation: Go's matcher skips ahead on an expression's literal
// prefix, which an alternation loses, and on 100,000 paths that costs ten
// times more. Each expression also carries a literal that every match must
// contain, so most paths are turned away by a substring search.
type multiRE struct {
	each []*regexp.Regexp
	lits []string // required literal of each[i], "" when none is known
}

func newMultiRE(each []*regexp.Regexp) multiRE {
	m := multiRE{each: each, lits: make([]string, len(each))}
	for i, re := range each {
		m.lits[i] = requiredLiteral(re.String())
	}
	return m
}

// requiredLiteral finds a string that any match of expr must contain: the
// longest case-sensitive literal among the top-level parts of a
// concatenation. It gives "" when it knows none.
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		if p.Op != syntax.OpLiteral || p.Flags&syntax.FoldCase != 0 {
			continue
		}
		lit := string(p.Rune)
		// The matcher reads a byte that is not UTF-8 as U+FFFD, which the
		// substring search would not find.
		if strings.ContainsRune(lit, utf8.RuneError) {
			continue
		}
		if len(lit) > len(best) {
			best = lit
		}
	}
	return best
}

// first is the index of the first expression matching s, -1 for none.
func (m multiRE) first(s string) int {
	for i, re := range m.each {
		if m.lits[i] != "" && !strings.Contains(s, m.lits[i]) {
			continue
		}
		if re.MatchString(s) {
			return i
		}
	}
	return -1
}

func (m multiRE) match(s string) bool { return m.first(s) >= 0 }

// backupMatcher is the backup filter: the built-in patterns plus those from
// the settings.
type backupMatcher struct {
	extra multiRE
}

func newBackupMatcher(patterns []string) (backupMatcher, error) {
	var each []*regexp.Regexp
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			continue
		}
		re, err := compileRE2("backup pattern", p)
		if err != nil {
			return backupMatcher{}, err
		}
		each = append(each, re)
	}
	return backupMatcher{extra: newMultiRE(each)}, nil
}

func (m backupMatcher) match(base string) bool {
	return builtinBackup(base) || m.extra.match(base)
}

// Exclusion is one parsed exclusion expression from the settings.
type Exclusion struct {
	Source string // the entry as written
	Path   string // clean absolute path; "" for an expression
	Regexp *regexp.Regexp
}

// ParseExclusion reads one exclusion entry of the settings:
//
//   - an absolute path ("/home/me/tmp") leaves out that file or everything
//     under that folder; it matches whole path components, so /a/b leaves out
//     /a/b and /a/b/c but not /a/bc. The path is cleaned (/a/b/ is /a/b).
//   - "re:" followed by an RE2 expression leaves out every entry whose full
//     absolute path matches it (unanchored; directories are tested with a
//     trailing slash, so re:/\.cache/ catches the folder and its contents).
//
// Anything else is an error that says what to write instead; "~" is not
// expanded. A blank entry is an error here; ParseExclusions skips blank
// entries, as a settings list may hold blank lines.
func ParseExclusion(s string) (Exclusion, error) {
	if rest, ok := strings.CutPrefix(s, "re:"); ok {
		if rest == "" {
			return Exclusion{}, &ExpressionError{Kind: "exclusion", Expr: s, Err: errors.New("empty expression after re:")}
		}
		re, err := compileRE2("exclusion", rest)
		if err != nil {
			return Exclusion{}, &ExpressionError{Kind: "exclusion", Expr: s, Err: err.(*ExpressionError).Err}
		}
		return Exclusion{Source: s, Regexp: re}, nil
	}
	switch {
	case strings.TrimSpace(s) == "":
		return Exclusion{}, &ExpressionError{Kind: "exclusion", Expr: s, Err: errors.New("empty entry")}
	case strings.IndexByte(s, 0) >= 0:
		return Exclusion{}, &ExpressionError{Kind: "exclusion", Expr: s, Err: errors.New("a path cannot hold a NUL byte")}
	case !strings.HasPrefix(s, "/"):
		return Exclusion{}, &ExpressionError{Kind: "exclusion", Expr: s,
			Err: errors.New("not an absolute path; write an absolute path such as /home/me/tmp, or re:EXPRESSION for an RE2 expression matched against full paths")}
	}
	return Exclusion{Source: s, Path: path.Clean(s)}, nil
}

// Exclusions is a compiled list of exclusion entries.
type Exclusions struct {
	list  []Exclusion
	paths map[string]int // clean path -> index in list
	res   []int          // indexes of the expressions in list
	re    multiRE        // the expressions, in the order of res
}

// ParseExclusions compiles the settings' exclusion entries, skipping blank
// ones. The error names the first bad entry.
func ParseExclusions(entries []string) (*Exclusions, error) {
	x := &Exclusions{paths: map[string]int{}}
	var exprs []*regexp.Regexp
	for _, s := range entries {
		if strings.TrimSpace(s) == "" {
			continue
		}
		e, err := ParseExclusion(s)
		if err != nil {
			return nil, err
		}
		i := len(x.list)
		x.list = append(x.list, e)
		if e.Regexp != nil {
			x.res = append(x.res, i)
			exprs = append(exprs, e.Regexp)
			continue
		}
		if _, dup := x.paths[e.Path]; !dup {
			x.paths[e.Path] = i
		}
	}
	x.re = newMultiRE(exprs)
	return x, nil
}

// Len is the number of usable entries.
func (x *Exclusions) Len() int { return len(x.list) }

// Match returns the entry that excludes p (an absolute path), if any. Path
// entries win over expressions, and of two path entries the one nearest to p.
// isDir says p is a directory, which expressions see with a trailing slash.
func (x *Exclusions) Match(p string, isDir bool) (Exclusion, bool) {
	if i := x.match(p, isDir); i >= 0 {
		return x.list[i], true
	}
	return Exclusion{}, false
}

func (x *Exclusions) match(p string, isDir bool) int {
	var c exclusionCursor
	return c.match(x, p, isDir)
}

// ancestors is the path entry covering folder d or a folder above it.
func (x *Exclusions) ancestors(d string) int {
	// A map lookup per level, no allocation, and /a/b never matches /a/bc.
	for q := d; q != ""; q = parent(q) {
		if i, ok := x.paths[q]; ok {
			return i
		}
	}
	return -1
}

// exclusionCursor remembers the answer for the last folder: a walk lists a
// folder's files together, so most files cost one map lookup, not one per
// level of the tree.
type exclusionCursor struct {
	dir   string
	hit   int
	valid bool
}

func (c *exclusionCursor) match(x *Exclusions, p string, isDir bool) int {
	if len(x.paths) > 0 {
		if i, ok := x.paths[p]; ok {
			return i
		}
		if d := parent(p); !c.valid || d != c.dir {
			c.dir, c.hit, c.valid = d, x.ancestors(d), true
		}
		if c.hit >= 0 {
			return c.hit
		}
	}
	if len(x.res) == 0 {
		return -1
	}
	s := p
	if isDir && !strings.HasSuffix(p, "/") {
		s = p + "/"
	}
	if k := x.re.first(s); k >= 0 {
		return x.res[k]
	}
	return -1
}

// parent is the folder holding p, "" above the root. It slices p and never
// allocates.
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0 || p == "/":
		return ""
	case i == 0:
		return "/"
	}
	return p[:i]
}

// base is the last component of p, without allocating.
func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
