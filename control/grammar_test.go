package control

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"freezer/filter"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []token
		err  bool
	}{
		{`retrieve photos/x`, []token{{"", "retrieve"}, {"", "photos/x"}}, false},
		{"  a\t b  ", []token{{"", "a"}, {"", "b"}}, false},
		{`tier=Bulk`, []token{{"tier", "Bulk"}}, false},
		{`description="a b \"c\" \\ d"`, []token{{"description", `a b "c" \ d`}}, false},
		{`"x=y"`, []token{{"", "x=y"}}, false},
		{`a\ b`, []token{{"", "a b"}}, false},
		{`'it''s'`, []token{{"", "its"}}, false},
		{`'a "b" \n'`, []token{{"", `a "b" \n`}}, false},
		{`"\xff\x00"`, []token{{"", "\xff\x00"}}, false},
		{`key=`, []token{{"key", ""}}, false},
		{`Key=x`, []token{{"", "Key=x"}}, false},
		{`k=a=b`, []token{{"k", "a=b"}}, false},
		{`"photos/fotos-ü 2024"`, []token{{"", "photos/fotos-ü 2024"}}, false},
		{`"open`, nil, true},
		{`'open`, nil, true},
		{`end\`, nil, true},
		{`"\q"`, nil, true},
		{`"\x4"`, nil, true},
		{`"\xzz"`, nil, true},
		{"a\x01b", nil, true},
	}
	for _, tt := range tests {
		got, err := tokenize(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("tokenize(%q) error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("tokenize(%q): %v is not invalid", tt.in, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseVerbs(t *testing.T) {
	mount := "/home/me/freezer"
	tests := []struct {
		line string
		o    ParseOptions
		want Request
	}{
		{`retrieve photos/holiday-2024 tier=bulk`, ParseOptions{}, &RetrieveRequest{Vault: "photos", Name: "holiday-2024", Tier: "Bulk"}},
		{`photos/holiday-2024 tier=Bulk`, ParseOptions{Verb: "retrieve"}, &RetrieveRequest{Vault: "photos", Name: "holiday-2024", Tier: "Bulk"}},
		{`retrieve photos/x`, ParseOptions{Verb: "retrieve"}, &RetrieveRequest{Vault: "photos", Name: "x", Tier: "Standard"}},
		{`disconnect /home/me/freezer/photos/a\ b`, ParseOptions{Mount: mount}, &DisconnectRequest{Vault: "photos", Name: "a b"}},
		{`remove "photos/fotos-ü 2024" confirm="I am sure"`, ParseOptions{}, &RemoveRequest{Vault: "photos", Name: "fotos-ü 2024", Confirm: "I am sure"}},
		{`upload photos/x`, ParseOptions{}, &UploadRequest{Vault: "photos", Name: "x"}},
		{`cancel photos/x`, ParseOptions{}, &CancelRequest{Vault: "photos", Name: "x"}},
		{`cancel task=12`, ParseOptions{}, &CancelRequest{Task: 12}},
		{`extract photos/x restore overwrite=yes`, ParseOptions{Cwd: "/tmp/w"}, &ExtractRequest{Vault: "photos", Name: "x", Dest: "/tmp/w/restore", ExtractOptions: ExtractOptions{Overwrite: true}}},
		{`inventory photos`, ParseOptions{}, &InventoryRequest{Vault: "photos"}},
		{`vault create photos`, ParseOptions{}, &VaultCreateRequest{Name: "photos"}},
		{`vault remove /home/me/freezer/photos`, ParseOptions{Mount: mount}, &VaultRemoveRequest{Name: "photos"}},
		{`new-key`, ParseOptions{}, &NewKeyRequest{Algorithm: "aes-256-cbc"}},
		{`algorithm=aes-128-cbc name="home backups"`, ParseOptions{Verb: "new-key"}, &NewKeyRequest{Algorithm: "aes-128-cbc", Name: "home backups"}},
		{`key import /k.json`, ParseOptions{}, &KeyImportRequest{File: "/k.json"}},
		{`key import json="{}"`, ParseOptions{}, &KeyImportRequest{JSON: []byte("{}")}},
		{`key default none`, ParseOptions{}, &KeyDefaultRequest{ID: "none"}},
		{`settings set region eu-west-1`, ParseOptions{}, &SettingSetRequest{Key: "region", Value: "eu-west-1"}},
		{`region eu-west-1`, ParseOptions{Verb: "settings"}, &SettingSetRequest{Key: "region", Value: "eu-west-1"}},
		{`unset region`, ParseOptions{Verb: "settings"}, &SettingUnsetRequest{Key: "region"}},
		{`exclude add 're:\.cache/' backup=no`, ParseOptions{}, &ExcludeAddRequest{Expr: `re:\.cache/`}},
		{`exclude remove "\\.tmp$" backup=yes`, ParseOptions{}, &ExcludeRemoveRequest{Expr: `\.tmp$`, Backup: true}},
		{`exclude forget /home/me/x`, ParseOptions{}, &ExcludeForgetRequest{Path: "/home/me/x"}},
		{`plan /a /b filter=default,frozen regex=x exclude=/a/c`, ParseOptions{},
			&PlanRequest{Paths: []string{"/a", "/b"}, Filters: filter.DefaultFilters.With(filter.FilterFrozen), Regex: "x", Exclude: []string{"/a/c"}}},
		{`new-archive "photos/holiday 2024" /p/2024 /p/notes.txt compression=zstd description="Crete, June" no-upload=yes key=none`, ParseOptions{},
			&CreateRequest{Vault: "photos", Name: "holiday 2024", Compression: "zstd", KeyID: "none", Description: "Crete, June", NoUpload: true,
				Plan: PlanRequest{Paths: []string{"/p/2024", "/p/notes.txt"}, Filters: filter.DefaultFilters}}},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.line, tt.o)
		if err != nil {
			t.Errorf("ParseLine(%q): %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLine(%q) = %#v, want %#v", tt.line, got, tt.want)
		}
		// A request's line parses back to the same request (a key's
		// import line never repeats the key).
		if _, ok := got.(*KeyImportRequest); ok && got.(*KeyImportRequest).File == "" {
			continue
		}
		again, err := ParseLine(got.Line(), ParseOptions{})
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%q → %q → %#v, %v", tt.line, got.Line(), again, err)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		line string
		o    ParseOptions
		want string
	}{
		{``, ParseOptions{}, "no request"},
		{`frobnicate x`, ParseOptions{}, "unknown verb"},
		{`vault explode x`, ParseOptions{}, "vault takes: create, remove"},
		{`retrieve`, ParseOptions{}, "usage: retrieve VAULT/NAME"},
		{`retrieve photos`, ParseOptions{}, "not VAULT/ARCHIVE"},
		{`retrieve photos/x tier=warp`, ParseOptions{}, "tier"},
		{`retrieve photos/x colour=red`, ParseOptions{}, "unknown argument colour="},
		{`retrieve photos/x tier=Bulk tier=Standard`, ParseOptions{}, "given 2 times"},
		{`new-archive photos/x relative/path`, ParseOptions{}, "not an absolute path"},
		{`new-archive photos/x`, ParseOptions{}, "usage: new-archive"},
		{`new-archive photos/x /a no-upload=maybe`, ParseOptions{}, "yes or no"},
		{`new-archive photos/x /a filter=bogus`, ParseOptions{}, "filter=bogus"},
		{`cancel photos/x task=3`, ParseOptions{}, "not both"},
		{`cancel task=-3`, ParseOptions{}, "not a task number"},
		{`exclude add re:\.cache/`, ParseOptions{}, "unknown escape"},
		{`vault create "bad name"`, ParseOptions{}, "may only hold"},
		{`inventory .control`, ParseOptions{}, "reserved"},
		{`disconnect photos/.contents`, ParseOptions{}, ""},
		{"retrieve photos/x\nbogus", ParseOptions{}, "line 2"},
		{"retrieve photos/x\x00", ParseOptions{}, "NUL"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.line, tt.o)
		if tt.want == "" {
			continue // parsed; the engine refuses it (a reserved name)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want an invalid-request error containing %q", tt.line, err, tt.want)
		}
	}
}

func TestParseSeveralLines(t *testing.T) {
	reqs, err := Parse("# a comment\nretrieve photos/a\n\n  disconnect photos/b\r\n", ParseOptions{})
	if err != nil || len(reqs) != 2 {
		t.Fatalf("%v %v", reqs, err)
	}
	if reqs[0].Verb() != "retrieve" || reqs[1].Verb() != "disconnect" {
		t.Errorf("verbs %s %s", reqs[0].Verb(), reqs[1].Verb())
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "with space", `q"uote`, `back\slash`, "tab\tnew\nline", "ü ñ 日本", "\xff\xfe bad utf8",
		"x=y", "#hash", "", "'single'", "\x7f\x01"} {
		toks, err := tokenize(Quote(s))
		if err != nil || len(toks) != 1 || toks[0].key != "" || toks[0].value != s {
			t.Errorf("Quote(%q) = %s → %q, %v", s, Quote(s), toks, err)
		}
	}
}

// FuzzParse: whatever the input, Parse either refuses it as invalid or
// returns requests whose lines parse back to equal requests.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`retrieve photos/holiday-2024 tier=Bulk`,
		`new-archive "photos/a b" /x /y compression=zstd description="d \"q\"" exclude=/x/z`,
		"upload photos/a\nupload photos/b",
		`settings set region eu-west-1`,
		`exclude add "re:\\.cache/" backup=yes`,
		`remove photos/x confirm="I am sure"`,
		`cancel task=7`,
		`key import json="{\"format\":\"freezer-key\"}"`,
		`plan /a filter=default,frozen,drop regex="\\.jpg$"`,
		`disconnect "photos/\xff\xfe"`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		reqs, err := Parse(text, ParseOptions{Cwd: "/w", Mount: "/m"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): %v is not an invalid-request error", text, err)
			}
			return
		}
		for _, r := range reqs {
			l := r.Line()
			if strings.ContainsAny(l, "\n\x00") {
				t.Fatalf("%q: line %q holds a newline or NUL", text, l)
			}
			if _, ok := r.(*KeyImportRequest); ok {
				continue // its line never repeats the key
			}
			again, err := ParseLine(l, ParseOptions{})
			if err != nil {
				t.Fatalf("%q → %q: %v", text, l, err)
			}
			if !reflect.DeepEqual(again, r) {
				t.Fatalf("%q → %q → %#v, want %#v", text, l, again, r)
			}
			if utf8.ValidString(text) && !utf8.ValidString(l) {
				t.Fatalf("%q → %q: valid UTF-8 became invalid", text, l)
			}
		}
	})
}
