package filter

import (
	"strings"
	"testing"
)

func TestParseFilters(t *testing.T) {
	all := Set(0).With(FilterFrozen).With(FilterBackup).With(FilterExcluded).With(FilterManual).With(FilterRegex).With(FilterDrop)
	tests := []struct {
		in      string
		want    Set
		wantErr []string // substrings of the error
	}{
		{in: "frozen,backup", want: Set(0).With(FilterFrozen).With(FilterBackup)},
		{in: " Frozen , BACKUP ,", want: Set(0).With(FilterFrozen).With(FilterBackup)},
		{in: "frozen,backup,excluded,manual,regex,drop", want: all},
		{in: "", want: 0},
		{in: "none", want: 0},
		{in: "default", want: DefaultFilters},
		{in: "default,frozen", want: DefaultFilters.With(FilterFrozen)},
		{in: "drop", want: Set(0).With(FilterDrop)},
		{in: "frozen,bakup", wantErr: []string{`unknown filter "bakup"`, "valid filters: frozen, backup, excluded, manual, regex, drop"}},
		{in: "x,frozen,y", wantErr: []string{`unknown filters "x", "y"`}},
		{in: "frozen backup", wantErr: []string{`"frozen backup"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFilters(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ParseFilters(%q) = %v, want an error", tt.in, got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilters(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseFilters(%q) = %v, want %v", tt.in, got, tt.want)
			}
			back, err := ParseFilters(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %v via %q = %v, %v", got, got.String(), back, err)
			}
		})
	}
}

func TestDefaultFilters(t *testing.T) {
	// The manual: "The backup filter is enabled by default."
	for _, f := range []Filter{FilterBackup, FilterExcluded, FilterManual, FilterRegex} {
		if !DefaultFilters.Has(f) {
			t.Errorf("default filters lack %s", f)
		}
	}
	for _, f := range []Filter{FilterFrozen, FilterDrop} {
		if DefaultFilters.Has(f) {
			t.Errorf("default filters hold %s", f)
		}
	}
	if got := DefaultFilters.String(); got != "backup,excluded,manual,regex" {
		t.Errorf("DefaultFilters = %q", got)
	}
}

func TestSetUnmarshalText(t *testing.T) {
	var s Set
	if err := s.UnmarshalText([]byte("manual,frozen")); err != nil {
		t.Fatal(err)
	}
	if s != Set(0).With(FilterManual).With(FilterFrozen) {
		t.Fatalf("got %v", s)
	}
	if err := s.UnmarshalText([]byte("nope")); err == nil {
		t.Fatal("unknown filter accepted")
	}
	b, _ := s.MarshalText()
	if string(b) != "frozen,manual" {
		t.Fatalf("MarshalText = %q", b)
	}
}

func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"", "frozen,backup", "default,drop", "none", ",,,", "FROZEN", "x", "regex,\xff", "default , frozen"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseFilters(s)
		if err != nil {
			if !strings.Contains(err.Error(), "valid filters") {
				t.Fatalf("error %q lists no valid filters", err)
			}
			return
		}
		back, err := ParseFilters(set.String())
		if err != nil || back != set {
			t.Fatalf("%q: round trip %v -> %q -> %v, %v", s, set, set.String(), back, err)
		}
	})
}
