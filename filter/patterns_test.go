package filter

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var builtinRE = regexp.MustCompile("(?:" + strings.Join(BuiltinBackupPatterns(), ")|(?:") + ")")

func TestBuiltinBackup(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		// ~$
		{"file~", true}, {"~", true}, {"file~x", false}, {"~file", false},
		// \.o$
		{"main.o", true}, {".o", true}, {"main.oo", false}, {"maino", false}, {"main.O", false}, {"main.obj", false},
		// \.pyc$
		{"mod.pyc", true}, {"mod.py", false}, {"mod.pycx", false}, {"modpyc", false},
		// \.bak$
		{"db.bak", true}, {"db.bak.gz", false}, {"dbbak", false}, {"db.BAK", false},
		// \.Po?$
		{"a.P", true}, {"a.Po", true}, {"a.Pox", false}, {"a.p", false}, {"a.po", false}, {"aPo", false},
		// ^#.*#$
		{"#x#", true}, {"##", true}, {"#", false}, {"#x", false}, {"x#", false}, {"a#x#", false}, {"#x\n#", false},
		// ^\.#
		{".#lock", true}, {".#", true}, {"x.#lock", false}, {"#.lock", false},
		// ordinary names
		{"photo.jpg", false}, {"", false}, {"README", false},
	}
	for _, tt := range tests {
		if got := builtinBackup(tt.name); got != tt.want {
			t.Errorf("builtinBackup(%q) = %v, want %v", tt.name, got, tt.want)
		}
		if got := builtinRE.MatchString(tt.name); got != tt.want {
			t.Errorf("the patterns themselves give %q = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzBuiltinBackup(f *testing.F) {
	for _, s := range []string{"a.P", "a.Po", "a.Pox", "#x#", "#\n#", ".#lock", "file~", "\xff.o", "#\xff#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := builtinBackup(name), builtinRE.MatchString(name); got != want {
			t.Fatalf("builtinBackup(%q) = %v, the expressions say %v", name, got, want)
		}
	})
}

func TestBackupMatcherExtra(t *testing.T) {
	m, err := newBackupMatcher([]string{`\.tmp$`, "", `(?i)^thumbs\.db$`})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"x.tmp": true, "Thumbs.DB": true, "x.o": true, "x.tmpl": false, "thumbs.db.txt": false} {
		if got := m.match(name); got != want {
			t.Errorf("match(%q) = %v, want %v", name, got, want)
		}
	}
	_, err = newBackupMatcher([]string{`\.ok$`, `(unclosed`})
	var ee *ExpressionError
	if !errors.As(err, &ee) || ee.Expr != "(unclosed" || ee.Kind != "backup pattern" {
		t.Fatalf("bad pattern: got %v", err)
	}
	if !strings.Contains(err.Error(), `"(unclosed"`) {
		t.Errorf("error %q does not name the expression", err)
	}
}

func TestExclusions(t *testing.T) {
	x, err := ParseExclusions([]string{"/a/b", "", "  ", "/c/d/", "re:\\.cache/"})
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 3 {
		t.Fatalf("blank entries kept: %d entries", x.Len())
	}
	tests := []struct {
		entries []string
		path    string
		isDir   bool
		want    string // Source of the matching entry, "" for none
	}{
		{[]string{"/a/b"}, "/a/b", false, "/a/b"},
		{[]string{"/a/b"}, "/a/b/c", false, "/a/b"},
		{[]string{"/a/b"}, "/a/b/c/d/e", false, "/a/b"},
		{[]string{"/a/b"}, "/a/bc", false, ""},
		{[]string{"/a/b"}, "/a/bc/d", false, ""},
		{[]string{"/a/b"}, "/a", true, ""},
		{[]string{"/a/b"}, "/x/a/b", false, ""},
		{[]string{"/a/b/"}, "/a/b/c", false, "/a/b/"},
		{[]string{"/a/./b//"}, "/a/b", true, "/a/./b//"},
		{[]string{"/"}, "/anything/at/all", false, "/"},
		{[]string{"/a", "/a/b"}, "/a/b/c", false, "/a/b"}, // the nearest entry
		{[]string{`re:\.cache/`}, "/home/me/.cache/x", false, `re:\.cache/`},
		{[]string{`re:\.cache/`}, "/home/me/.cache", true, `re:\.cache/`}, // dirs get a trailing slash
		{[]string{`re:\.cache/`}, "/home/me/.cache", false, ""},
		{[]string{`re:^/x/.*\.log$`}, "/x/y/z.log", false, `re:^/x/.*\.log$`},
		{[]string{`re:^/x/.*\.log$`}, "/y/x/z.log", false, ""},
		{[]string{`re:a`, `re:b`}, "/b", false, `re:b`},
		{[]string{`re:b`, "/b"}, "/b", false, "/b"}, // paths first
		{[]string{"/a/\xff"}, "/a/\xff/x", false, "/a/\xff"},
	}
	for _, tt := range tests {
		x, err := ParseExclusions(tt.entries)
		if err != nil {
			t.Fatalf("%q: %v", tt.entries, err)
		}
		got, ok := x.Match(tt.path, tt.isDir)
		if ok != (tt.want != "") || got.Source != tt.want {
			t.Errorf("%q Match(%q, dir=%v) = %q, %v; want %q", tt.entries, tt.path, tt.isDir, got.Source, ok, tt.want)
		}
	}
}

func TestParseExclusionErrors(t *testing.T) {
	for _, s := range []string{"relative/path", "~/tmp", "re:", "re:(", "re:[z-a]", "", " ", "/a\x00b", "C:\\tmp"} {
		_, err := ParseExclusion(s)
		var ee *ExpressionError
		if !errors.As(err, &ee) {
			t.Errorf("ParseExclusion(%q) = %v, want an ExpressionError", s, err)
			continue
		}
		if ee.Expr != s || !strings.Contains(err.Error(), "exclusion") {
			t.Errorf("ParseExclusion(%q): error %q does not name the entry", s, err)
		}
	}
	_, err := ParseExclusions([]string{"/ok", "bad"})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("ParseExclusions: %v", err)
	}
}

func FuzzParseExclusion(f *testing.F) {
	for _, s := range []string{"/a/b", "/a/b/", "re:\\.o$", "re:(", "rel", "", "/", "//", "/a/../..", "re:(?i)x|y", "/\xff"} {
		f.Add(s, "/a/b/c", false)
	}
	f.Fuzz(func(t *testing.T, entry, p string, isDir bool) {
		e, err := ParseExclusion(entry)
		if err != nil {
			return
		}
		if e.Regexp == nil && !strings.HasPrefix(e.Path, "/") {
			t.Fatalf("%q parsed to a non-absolute path %q", entry, e.Path)
		}
		x, err := ParseExclusions([]string{entry, entry})
		if err != nil {
			t.Fatalf("%q parses alone but not in a list: %v", entry, err)
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		got, ok := x.Match(p, isDir)
		if !ok {
			return
		}
		if got.Regexp == nil {
			// A path entry matches only its own path and what is beneath it.
			if !(p == got.Path || got.Path == "/" || strings.HasPrefix(p, got.Path+"/")) {
				t.Fatalf("%q matched %q", got.Path, p)
			}
		}
	})
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`\.iso$`, ".iso"},
		{`/folder0\d\d99/`, "/folder0"},
		{`\d\d99/`, "99/"},
		{`(abc)+`, ""},
		{`abc|abd`, "ab"}, // simplified to ab[cd]
		{`(?i)abc`, ""},
		{`(?i:ab)cdef`, "cdef"},
		{`(tmp)`, "tmp"},
		{`x*`, ""},
		{`caf\x{FFFD}`, ""},
		{`[`, ""},
	}
	for _, tt := range tests {
		if got := requiredLiteral(tt.expr); got != tt.want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// FuzzRequiredLiteral holds the shortcut sound: whatever an expression
// matches contains its required literal.
func FuzzRequiredLiteral(f *testing.F) {
	for _, s := range [][2]string{{`\.iso$`, "/a/b.iso"}, {`(?i)ABC`, "abc"}, {`a\x{FFFD}b`, "a\xffb"}, {`(a)(bc)+d`, "abcd"}, {`^x|y`, "y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, s string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		lit := requiredLiteral(expr)
		if re.MatchString(s) && !strings.Contains(s, lit) {
			t.Fatalf("%q matches %q, which lacks the required literal %q", expr, s, lit)
		}
		m := newMultiRE([]*regexp.Regexp{re})
		if m.match(s) != re.MatchString(s) {
			t.Fatalf("the list and the expression disagree on %q", s)
		}
	})
}

func TestMultiRE(t *testing.T) {
	m := newMultiRE([]*regexp.Regexp{regexp.MustCompile(`(?i)abc`), regexp.MustCompile(`^x$`)})
	if !m.match("ABC") || m.match("X") || m.first("x") != 1 || m.first("y") != -1 {
		t.Fatal("wrong answers")
	}
	if newMultiRE(nil).match("") {
		t.Fatal("an empty list matches")
	}
}
