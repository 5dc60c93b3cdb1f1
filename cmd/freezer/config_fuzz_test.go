package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfigFile: any bytes in freezer.conf give a config or an error
// naming the file, never a panic.
func FuzzParseConfigFile(f *testing.F) {
	for _, seed := range []string{
		"region = \"eu-west-1\"\nthreads = 4\n",
		"trace = [\"aws\", \"store\"]\nverbose = true\n",
		"[section]\nkey = 1\n",
		"threads = = 3\n",
		"chunk-size = 1.5\n",
		"x = [1, 2]\n",
		"\"quoted-key\" = \"v\"\n# comment\n",
		"region = \"\\u0000\"\n",
		"",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "freezer.conf")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := parseConfigFile(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for k := range c.values {
			if c.where(k) == "" {
				t.Fatalf("no location for key %q", k)
			}
		}
	})
}
