package control

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"64MiB", 64 << 20, true},
		{"64mib", 64 << 20, true},
		{"8M", 8 << 20, true},
		{"1 GiB", 1 << 30, true},
		{"2KB", 2000, true},
		{"3MB", 3e6, true},
		{"10B", 10, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1MiB", 0, false},
		{"1.5GiB", 0, false},
		{"1e6", 0, false},
		{"99999999999TiB", 0, false},
		{"12 parsecs", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckPartSize(t *testing.T) {
	for n := int64(MinPartSize); n <= MaxPartSize; n *= 2 {
		if err := CheckPartSize(n); err != nil {
			t.Errorf("%s refused: %v", FormatSize(n), err)
		}
	}
	for _, n := range []int64{0, 512 << 10, 3 << 20, 6 << 20, 8<<30 + 0, 1<<20 + 1} {
		if err := CheckPartSize(n); err == nil {
			t.Errorf("%d accepted", n)
		}
	}
}

func TestSettingChecks(t *testing.T) {
	tests := []struct {
		key, value, want string
		ok               bool
	}{
		{"accountid", "123456789012", "123456789012", true},
		{"accountid", "-", "-", true},
		{"accountid", "1234-5678-9012", "", false},
		{"region", "eu-west-1", "eu-west-1", true},
		{"region", "us-gov-west-1", "us-gov-west-1", true},
		{"region", "EU", "", false},
		{"chunk-size", "16777216", "16MiB", true},
		{"chunk-size", "3MiB", "", false},
		{"poll-time", " 20 ", "20", true},
		{"poll-time", "21", "", false},
		{"threads", "64", "64", true},
		{"threads", "65", "", false},
		{"queue", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", true},
		{"queue", "sqs://nope", "", false},
		{"sns-topic", "arn:aws:sns:eu-west-1:123456789012:glacier", "arn:aws:sns:eu-west-1:123456789012:glacier", true},
		{"sns-topic", "arn:aws:sqs:eu-west-1:123456789012:glacier", "", false},
		{"secret-key", "abc\x01", "", false},
		{"access-key", "  ", "", false},
	}
	for _, tt := range tests {
		s, err := LookupSetting(tt.key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Check(tt.value)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s %q: got %q, %v; want %q ok=%v", tt.key, tt.value, got, err, tt.want, tt.ok)
		}
	}
	if _, err := LookupSetting("colour"); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("unknown setting error should list the known ones: %v", err)
	}
}

func TestRedactOnlySecrets(t *testing.T) {
	sec, _ := LookupSetting("secret-key")
	reg, _ := LookupSetting("region")
	if Redact(sec, "abc") == "abc" || Redact(reg, "eu-west-1") != "eu-west-1" || Redact(sec, "") != "" {
		t.Error("redaction wrong")
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1", "3MB", "", "1GiB", "-5K", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
