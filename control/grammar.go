package control

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"freezer/filter"
)

// The control protocol's grammar (DESIGN.md, "Control protocol"). A line
// is VERB [ARGS]: arguments are separated by spaces or tabs; an argument
// is a vault/archive path (an absolute path inside the mount works too), a
// local path, or key=value. Double quotes hold spaces and take backslash
// escapes (\" \\ \n \t \r and \xHH for any byte); single quotes hold text
// as it is; outside quotes a backslash escapes the next character. A
// key=value argument has a bare lower-case key (quoting any part of it
// makes the whole a plain argument). Empty lines and lines starting with #
// are skipped. Several lines are all parsed before any runs.

// ParseOptions tell the parser where a request comes from.
type ParseOptions struct {
	// Verb is implied by the file written to (.control/retrieve implies
	// retrieve); a line may still repeat it. "" for ctl.
	Verb string
	// Cwd resolves relative local paths (freezer ctl); "" refuses them
	// (a control file has no working directory).
	Cwd string
	// Mount is the mount point, so that an absolute path inside the mount
	// names a vault or archive.
	Mount string
}

// Parse parses one or more lines. An error names the line.
func Parse(text string, o ParseOptions) ([]Request, error) {
	if strings.IndexByte(text, 0) >= 0 {
		return nil, refuse(ErrInvalid, "the request holds a NUL byte")
	}
	var out []Request
	// A write from a shell ends with a newline: that makes no second line.
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		r, err := ParseLine(line, o)
		if err != nil {
			if len(lines) > 1 {
				return nil, lineError{n: i + 1, err: err}
			}
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, refuse(ErrInvalid, "no request: write a line like 'retrieve VAULT/ARCHIVE'")
	}
	return out, nil
}

// token is one argument: positional (key == "") or key=value.
type token struct {
	key   string
	value string
}

// Arg is one argument of a control line, unquoted: a plain word (Key
// empty) or a key=value pair.
type Arg struct{ Key, Value string }

// Args splits a control line into its arguments, unquoted (front ends use
// it to render a hint line in their own words).
func Args(line string) ([]Arg, error) {
	toks, err := tokenize(line)
	if err != nil {
		return nil, err
	}
	out := make([]Arg, len(toks))
	for i, t := range toks {
		out[i] = Arg{Key: t.key, Value: t.value}
	}
	return out, nil
}

// tokenize splits a line into arguments.
func tokenize(line string) ([]token, error) {
	var out []token
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return out, nil
		}
		var b []byte
		var t token
		quoted := false
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			c := line[i]
			switch {
			case c == '=' && !quoted && t.key == "" && isKey(string(b)):
				t.key = string(b)
				b = b[:0]
				i++
				// "key=" with nothing after is an empty value.
				t.value = ""
				continue
			case c == '"':
				quoted = true
				j, s, err := unquoteDouble(line, i+1)
				if err != nil {
					return nil, err
				}
				b = append(b, s...)
				i = j
			case c == '\'':
				quoted = true
				j := strings.IndexByte(line[i+1:], '\'')
				if j < 0 {
					return nil, refuse(ErrInvalid, "a single quote is not closed")
				}
				b = append(b, line[i+1:i+1+j]...)
				i += j + 2
			case c == '\\':
				if i+1 >= len(line) {
					return nil, refuse(ErrInvalid, "a backslash ends the line")
				}
				j, s, err := unescape(line, i+1)
				if err != nil {
					return nil, err
				}
				quoted = true
				b = append(b, s...)
				i = j
			case c < 0x20 || c == 0x7f:
				return nil, refuse(ErrInvalid, "a control character (0x%02x) outside quotes; write it as \\x%02x inside double quotes", c, c)
			default:
				b = append(b, c)
				i++
			}
		}
		t.value = string(b)
		out = append(out, t)
	}
}

func isKey(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// unquoteDouble reads a double-quoted string starting after its opening
// quote; it returns the index after the closing quote.
func unquoteDouble(line string, i int) (int, []byte, error) {
	var b []byte
	for i < len(line) {
		switch c := line[i]; c {
		case '"':
			return i + 1, b, nil
		case '\\':
			if i+1 >= len(line) {
				return 0, nil, refuse(ErrInvalid, "a backslash ends the line inside double quotes")
			}
			j, s, err := unescape(line, i+1)
			if err != nil {
				return 0, nil, err
			}
			b = append(b, s...)
			i = j
		default:
			b = append(b, c)
			i++
		}
	}
	return 0, nil, refuse(ErrInvalid, "a double quote is not closed")
}

// unescape reads the escape after a backslash at line[i-1].
func unescape(line string, i int) (int, []byte, error) {
	switch c := line[i]; c {
	case 'n':
		return i + 1, []byte{'\n'}, nil
	case 't':
		return i + 1, []byte{'\t'}, nil
	case 'r':
		return i + 1, []byte{'\r'}, nil
	case 'x':
		if i+3 > len(line) {
			return 0, nil, refuse(ErrInvalid, "\\x needs two hex digits")
		}
		n, err := strconv.ParseUint(line[i+1:i+3], 16, 8)
		if err != nil {
			return 0, nil, refuse(ErrInvalid, "\\x%s is not two hex digits", line[i+1:i+3])
		}
		return i + 3, []byte{byte(n)}, nil
	case '"', '\\', '\'', ' ', '=', '#', '\t':
		return i + 1, []byte{c}, nil
	default:
		return 0, nil, refuse(ErrInvalid, "unknown escape \\%c (known: \\\" \\\\ \\n \\t \\r \\xHH)", c)
	}
}

// Quote writes s as one argument: bare when it is plain printable ASCII,
// else in double quotes with escapes (bytes that are not valid UTF-8, and
// control characters, as \xHH). Parse reads it back as s.
func Quote(s string) string {
	plain := s != "" && s[0] != '#'
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\' && c != '='
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString("\\n")
		case r == '\t':
			b.WriteString("\\t")
		case r == '\r':
			b.WriteString("\\r")
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// args is a line's arguments, consumed by a verb's parser.
type args struct {
	o      ParseOptions
	verb   string
	usage  string
	pos    []string
	kv     map[string][]string
	usedKV map[string]bool
}

func (a *args) errorf(format string, v ...any) error {
	return refuse(ErrInvalid, "%s: "+format, append([]any{a.verb}, v...)...)
}

// str returns key's value ("" when absent); a key given twice is refused.
func (a *args) str(key string) (string, error) {
	a.usedKV[key] = true
	vs := a.kv[key]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", a.errorf("%s= given %d times", key, len(vs))
}

// list returns every value of a repeatable key.
func (a *args) list(key string) []string {
	a.usedKV[key] = true
	return a.kv[key]
}

// flag reads a yes/no value.
func (a *args) flag(key string) (bool, error) {
	v, err := a.str(key)
	if err != nil || v == "" {
		return false, err
	}
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, a.errorf("%s=%s: say yes or no", key, v)
}

// positional returns the positional arguments, checking their number.
func (a *args) positional(min, max int, what string) ([]string, error) {
	if len(a.pos) < min || (max >= 0 && len(a.pos) > max) {
		return nil, a.errorf("takes %s (usage: %s)", what, a.usage)
	}
	return a.pos, nil
}

// archive reads a vault/archive argument (or an absolute path inside the
// mount).
func (a *args) archive(s string) (vault, name string, err error) {
	if a.o.Mount != "" && filepath.IsAbs(s) {
		rel, err := filepath.Rel(a.o.Mount, s)
		if err == nil && !strings.HasPrefix(rel, "..") {
			s = rel
		}
	}
	vault, name, err = SplitArchivePath(s)
	if err != nil {
		return "", "", a.errorf("%v", err)
	}
	return vault, name, nil
}

// vault reads a vault argument (or an absolute path inside the mount).
func (a *args) vault(s string) (string, error) {
	if a.o.Mount != "" && filepath.IsAbs(s) {
		if rel, err := filepath.Rel(a.o.Mount, s); err == nil && !strings.HasPrefix(rel, "..") {
			s = rel
		}
	}
	s = strings.Trim(s, "/")
	if err := CheckVaultName(s); err != nil {
		return "", a.errorf("%v", err)
	}
	return s, nil
}

// local reads a local path: absolute, or relative to the caller's working
// folder when it has one.
func (a *args) local(s string) (string, error) {
	if s == "" {
		return "", a.errorf("an empty path")
	}
	if filepath.IsAbs(s) {
		return filepath.Clean(s), nil
	}
	if a.o.Cwd == "" {
		return "", a.errorf("%s is not an absolute path (a control file has no working folder)", Quote(s))
	}
	return filepath.Join(a.o.Cwd, s), nil
}

// done refuses keys the verb does not take.
func (a *args) done() error {
	for k := range a.kv {
		if !a.usedKV[k] {
			return a.errorf("unknown argument %s= (see the README's control protocol)", k)
		}
	}
	return nil
}

// verbSpec is one verb of the grammar.
type verbSpec struct {
	name  string // one or two words
	usage string
	parse func(a *args) (Request, error)
}

// verbs is the grammar's one table; Usage lists it.
var verbs = []verbSpec{
	{"new-archive", "new-archive VAULT/NAME PATH... [compression=gzip|zstd|bzip2|none] [key=ID|none] [description=TEXT] [filter=LIST] [regex=RE] [exclude=PATH]... [include=PATH]... [no-upload=yes]", parseCreate},
	{"upload", "upload VAULT/NAME", parseArchiveVerb(func(v, n string) Request { return &UploadRequest{Vault: v, Name: n} })},
	{"cancel", "cancel VAULT/NAME | cancel task=ID", parseCancel},
	{"retrieve", "retrieve VAULT/NAME [tier=Expedited|Standard|Bulk]", parseRetrieve},
	{"disconnect", "disconnect VAULT/NAME", parseArchiveVerb(func(v, n string) Request { return &DisconnectRequest{Vault: v, Name: n} })},
	{"remove", `remove VAULT/NAME confirm="I am sure"`, parseRemove},
	{"extract", "extract VAULT/NAME DEST [overwrite=yes|skip-existing=yes] [allow-outside-links=yes] [include=PATTERN]...", parseExtract},
	{"inventory", "inventory VAULT", parseVaultVerb(func(v string) Request { return &InventoryRequest{Vault: v} })},
	{"vault create", "vault create VAULT", parseVaultVerb(func(v string) Request { return &VaultCreateRequest{Name: v} })},
	{"vault remove", "vault remove VAULT", parseVaultVerb(func(v string) Request { return &VaultRemoveRequest{Name: v} })},
	{"new-key", "new-key [algorithm=aes-256-cbc|aes-192-cbc|aes-128-cbc] [name=TEXT]", parseNewKey},
	{"key import", "key import FILE | key import json=JSON", parseKeyImport},
	{"key default", "key default ID|none", parseKeyDefault},
	{"settings set", "settings set KEY VALUE", parseSettingSet},
	{"settings unset", "settings unset KEY", parseSettingUnset},
	{"exclude add", "exclude add EXPR [backup=yes]", parseExclude(false)},
	{"exclude remove", "exclude remove EXPR [backup=yes]", parseExclude(true)},
	{"exclude forget", "exclude forget PATH", parseForget},
	{"plan", "plan PATH... [filter=LIST] [regex=RE] [exclude=PATH]... [include=PATH]... [remember=yes]", parsePlan},
}

// Usage lists every verb with its arguments, one per line.
func Usage() string {
	var b strings.Builder
	for _, v := range verbs {
		b.WriteString(v.usage + "\n")
	}
	return b.String()
}

// VerbUsage is one verb's line of Usage ("" for an unknown verb).
func VerbUsage(verb string) string {
	for _, v := range verbs {
		if v.name == verb {
			return v.usage
		}
	}
	return ""
}

// ParseLine parses one line.
func ParseLine(line string, o ParseOptions) (Request, error) {
	toks, err := tokenize(line)
	if err != nil {
		return nil, err
	}
	if o.Verb == "settings" {
		// The settings file takes "KEY VALUE" and "unset KEY".
		switch {
		case len(toks) > 0 && toks[0].key == "" && (toks[0].value == "set" || toks[0].value == "unset"):
			o.Verb = "settings " + toks[0].value
			toks = toks[1:]
		default:
			o.Verb = "settings set"
		}
	}
	spec, rest, err := findVerb(toks, o.Verb)
	if err != nil {
		return nil, err
	}
	a := &args{o: o, verb: spec.name, usage: spec.usage, kv: map[string][]string{}, usedKV: map[string]bool{}}
	for _, t := range rest {
		if t.key == "" {
			a.pos = append(a.pos, t.value)
		} else {
			a.kv[t.key] = append(a.kv[t.key], t.value)
		}
	}
	r, err := spec.parse(a)
	if err != nil {
		return nil, err
	}
	if err := a.done(); err != nil {
		return nil, err
	}
	return r, nil
}

// findVerb matches the line's first words (or the implied verb) against
// the table.
func findVerb(toks []token, implied string) (verbSpec, []token, error) {
	word := func(i int) string {
		if i < len(toks) && toks[i].key == "" {
			return toks[i].value
		}
		return ""
	}
	if implied != "" {
		for _, v := range verbs {
			if v.name != implied {
				continue
			}
			// The line may repeat the implied verb.
			n := len(strings.Fields(v.name))
			if strings.Join([]string{word(0), word(1)}[:n], " ") == v.name {
				return v, toks[n:], nil
			}
			return v, toks, nil
		}
		return verbSpec{}, nil, refuse(ErrInvalid, "unknown verb %q", implied)
	}
	if word(0) == "" {
		return verbSpec{}, nil, refuse(ErrInvalid, "a line must start with a verb (%s)", verbNames())
	}
	for _, v := range verbs {
		if v.name == word(0) {
			return v, toks[1:], nil
		}
		if v.name == word(0)+" "+word(1) {
			return v, toks[2:], nil
		}
	}
	for _, v := range verbs {
		if strings.HasPrefix(v.name, word(0)+" ") {
			return verbSpec{}, nil, refuse(ErrInvalid, "%s %s: unknown; %s takes: %s", word(0), word(1), word(0), subVerbs(word(0)))
		}
	}
	return verbSpec{}, nil, refuse(ErrInvalid, "unknown verb %s (verbs: %s)", Quote(word(0)), verbNames())
}

func verbNames() string {
	seen := map[string]bool{}
	var names []string
	for _, v := range verbs {
		w := strings.Fields(v.name)[0]
		if !seen[w] {
			seen[w] = true
			names = append(names, w)
		}
	}
	return strings.Join(names, ", ")
}

func subVerbs(first string) string {
	var out []string
	for _, v := range verbs {
		if rest, ok := strings.CutPrefix(v.name, first+" "); ok {
			out = append(out, rest)
		}
	}
	return strings.Join(out, ", ")
}

func parseArchiveVerb(mk func(vault, name string) Request) func(a *args) (Request, error) {
	return func(a *args) (Request, error) {
		pos, err := a.positional(1, 1, "one VAULT/ARCHIVE")
		if err != nil {
			return nil, err
		}
		v, n, err := a.archive(pos[0])
		if err != nil {
			return nil, err
		}
		return mk(v, n), nil
	}
}

func parseVaultVerb(mk func(vault string) Request) func(a *args) (Request, error) {
	return func(a *args) (Request, error) {
		pos, err := a.positional(1, 1, "one VAULT")
		if err != nil {
			return nil, err
		}
		v, err := a.vault(pos[0])
		if err != nil {
			return nil, err
		}
		return mk(v), nil
	}
}

func parseCreate(a *args) (Request, error) {
	pos, err := a.positional(2, -1, "VAULT/NAME and then the files and folders to archive")
	if err != nil {
		return nil, err
	}
	r := &CreateRequest{}
	if r.Vault, r.Name, err = a.archive(pos[0]); err != nil {
		return nil, err
	}
	for _, p := range pos[1:] {
		lp, err := a.local(p)
		if err != nil {
			return nil, err
		}
		r.Plan.Paths = append(r.Plan.Paths, lp)
	}
	if r.Compression, err = a.str("compression"); err != nil {
		return nil, err
	}
	if r.Compression == "" {
		r.Compression = "gzip"
	}
	if r.KeyID, err = a.str("key"); err != nil {
		return nil, err
	}
	if r.Description, err = a.str("description"); err != nil {
		return nil, err
	}
	if r.NoUpload, err = a.flag("no-upload"); err != nil {
		return nil, err
	}
	if err := parseSelection(a, &r.Plan); err != nil {
		return nil, err
	}
	return r, nil
}

// parseSelection reads the filter arguments shared by new-archive and
// plan.
func parseSelection(a *args, p *PlanRequest) error {
	f, err := a.str("filter")
	if err != nil {
		return err
	}
	if f == "" {
		f = "default"
	}
	if p.Filters, err = filter.ParseFilters(f); err != nil {
		return a.errorf("filter=%s: %v", f, err)
	}
	p.Drop = p.Filters.Has(filter.FilterDrop)
	if p.Regex, err = a.str("regex"); err != nil {
		return err
	}
	for _, x := range a.list("exclude") {
		lp, err := a.local(x)
		if err != nil {
			return err
		}
		p.Exclude = append(p.Exclude, lp)
	}
	for _, x := range a.list("include") {
		lp, err := a.local(x)
		if err != nil {
			return err
		}
		p.Include = append(p.Include, lp)
	}
	return nil
}

func parsePlan(a *args) (Request, error) {
	pos, err := a.positional(1, -1, "the files and folders to plan")
	if err != nil {
		return nil, err
	}
	r := &PlanRequest{}
	for _, p := range pos {
		lp, err := a.local(p)
		if err != nil {
			return nil, err
		}
		r.Paths = append(r.Paths, lp)
	}
	if err := parseSelection(a, r); err != nil {
		return nil, err
	}
	if r.Remember, err = a.flag("remember"); err != nil {
		return nil, err
	}
	return r, nil
}

func parseCancel(a *args) (Request, error) {
	t, err := a.str("task")
	if err != nil {
		return nil, err
	}
	if t != "" {
		if len(a.pos) > 0 {
			return nil, a.errorf("takes VAULT/ARCHIVE or task=ID, not both")
		}
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil || id <= 0 {
			return nil, a.errorf("task=%s is not a task number", t)
		}
		return &CancelRequest{Task: id}, nil
	}
	return parseArchiveVerb(func(v, n string) Request { return &CancelRequest{Vault: v, Name: n} })(a)
}

func parseRetrieve(a *args) (Request, error) {
	r, err := parseArchiveVerb(func(v, n string) Request { return &RetrieveRequest{Vault: v, Name: n} })(a)
	if err != nil {
		return nil, err
	}
	tier, err := a.str("tier")
	if err != nil {
		return nil, err
	}
	if r.(*RetrieveRequest).Tier, err = ParseTier(tier); err != nil {
		return nil, a.errorf("%v", err)
	}
	return r, nil
}

func parseRemove(a *args) (Request, error) {
	r, err := parseArchiveVerb(func(v, n string) Request { return &RemoveRequest{Vault: v, Name: n} })(a)
	if err != nil {
		return nil, err
	}
	r.(*RemoveRequest).Confirm, err = a.str("confirm")
	return r, err
}

func parseExtract(a *args) (Request, error) {
	pos, err := a.positional(2, 2, "VAULT/ARCHIVE and the folder to restore into")
	if err != nil {
		return nil, err
	}
	r := &ExtractRequest{}
	if r.Vault, r.Name, err = a.archive(pos[0]); err != nil {
		return nil, err
	}
	if r.Dest, err = a.local(pos[1]); err != nil {
		return nil, err
	}
	if r.Overwrite, err = a.flag("overwrite"); err != nil {
		return nil, err
	}
	if r.AllowOutsideLinks, err = a.flag("allow-outside-links"); err != nil {
		return nil, err
	}
	if r.SkipExisting, err = a.flag("skip-existing"); err != nil {
		return nil, err
	}
	r.Include = a.list("include")
	return r, nil
}

func parseNewKey(a *args) (Request, error) {
	if _, err := a.positional(0, 0, "only algorithm= and name="); err != nil {
		return nil, err
	}
	r := &NewKeyRequest{}
	var err error
	if r.Algorithm, err = a.str("algorithm"); err != nil {
		return nil, err
	}
	if r.Algorithm == "" {
		r.Algorithm = "aes-256-cbc"
	}
	r.Name, err = a.str("name")
	return r, err
}

func parseKeyImport(a *args) (Request, error) {
	j, err := a.str("json")
	if err != nil {
		return nil, err
	}
	if j != "" {
		if len(a.pos) > 0 {
			return nil, a.errorf("takes a FILE or json=, not both")
		}
		return &KeyImportRequest{JSON: []byte(j)}, nil
	}
	pos, err := a.positional(1, 1, "the key's JSON file, or json=JSON")
	if err != nil {
		return nil, err
	}
	f, err := a.local(pos[0])
	if err != nil {
		return nil, err
	}
	return &KeyImportRequest{File: f}, nil
}

func parseKeyDefault(a *args) (Request, error) {
	pos, err := a.positional(1, 1, "one key id, or none")
	if err != nil {
		return nil, err
	}
	return &KeyDefaultRequest{ID: pos[0]}, nil
}

func parseSettingSet(a *args) (Request, error) {
	pos, err := a.positional(2, 2, "KEY VALUE (quote a value with spaces)")
	if err != nil {
		return nil, err
	}
	return &SettingSetRequest{Key: pos[0], Value: pos[1]}, nil
}

func parseSettingUnset(a *args) (Request, error) {
	pos, err := a.positional(1, 1, "one KEY")
	if err != nil {
		return nil, err
	}
	return &SettingUnsetRequest{Key: pos[0]}, nil
}

func parseExclude(remove bool) func(a *args) (Request, error) {
	return func(a *args) (Request, error) {
		pos, err := a.positional(1, 1, "one expression (quote it when it holds spaces)")
		if err != nil {
			return nil, err
		}
		backup, err := a.flag("backup")
		if err != nil {
			return nil, err
		}
		if remove {
			return &ExcludeRemoveRequest{Expr: pos[0], Backup: backup}, nil
		}
		return &ExcludeAddRequest{Expr: pos[0], Backup: backup}, nil
	}
}

func parseForget(a *args) (Request, error) {
	pos, err := a.positional(1, 1, "one PATH")
	if err != nil {
		return nil, err
	}
	p, err := a.local(pos[0])
	if err != nil {
		return nil, err
	}
	return &ExcludeForgetRequest{Path: p}, nil
}

// line builds a request's control line from its words (quoted as needed)
// and key=value pairs (empty values left out).
func line(words []string, kv ...string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 || (i == 1 && isSubVerb(words[0], w)) {
			b.WriteString(w)
		} else {
			b.WriteString(Quote(w))
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			b.WriteString(" " + kv[i] + "=" + Quote(kv[i+1]))
		}
	}
	return b.String()
}

func isSubVerb(first, second string) bool {
	for _, v := range verbs {
		if v.name == first+" "+second {
			return true
		}
	}
	return false
}
