// Package compress wraps the stream compressors an archive can use: none,
// gzip, bzip2 and zstd. Writers are parallel where the format allows it and
// keep memory bounded; readers accept streams written by the standard tools
// (gzip, pigz, bzip2, pbzip2, zstd), including concatenated members, and
// verify every checksum the format carries so that damage is reported as an
// error, never as silently shorter or different data.
package compress

import (
	"fmt"
	"runtime"
	"strings"
)

// Algorithm names a compression format. The zero value is not valid; use
// Parse for text coming from people or files.
type Algorithm string

// The supported algorithms.
const (
	// None stores the tar as is.
	None Algorithm = "none"
	// Gzip is compressed in parallel blocks (pigz style) when Threads > 1;
	// the output is one ordinary gzip member any gzip tool reads.
	Gzip Algorithm = "gzip"
	// Bzip2 is slow: about 5 MB/s per thread when compressing, some 30
	// times slower than gzip, and about 25 MB/s when decompressing. With Threads > 1 the input is cut into
	// independent bzip2 streams compressed in parallel (pbzip2 style);
	// bzip2, pbzip2, lbzip2 and Python all read such concatenated streams.
	Bzip2 Algorithm = "bzip2"
	// Zstd is fast (200+ MB/s on one core) and compresses better than
	// gzip, but the original AWS Freezer could not read it: recovering by
	// hand needs the zstd tool.
	Zstd Algorithm = "zstd"
)

// algorithms lists every valid Algorithm in the order shown to people.
var algorithms = [...]Algorithm{None, Gzip, Bzip2, Zstd}

// Algorithms returns every supported algorithm, in the order help texts
// should list them.
func Algorithms() []Algorithm {
	return algorithms[:]
}

// validNames is the list shown in errors, e.g. "none, gzip, bzip2, zstd".
func validNames() string {
	names := make([]string, len(algorithms))
	for i, a := range algorithms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// Parse reads an algorithm name, ignoring case and surrounding blanks.
// The usual aliases (tar, gz, bz2, zst) are accepted; an empty string is
// not, so a forgotten value is never taken for "none".
func Parse(s string) (Algorithm, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "tar":
		return None, nil
	case "gzip", "gz", "pigz":
		return Gzip, nil
	case "bzip2", "bz2", "bzip":
		return Bzip2, nil
	case "zstd", "zst", "zstandard":
		return Zstd, nil
	}
	return "", fmt.Errorf("unknown compression %q: valid names are %s", s, validNames())
}

// Validate reports whether a is one of the supported algorithms.
func (a Algorithm) Validate() error {
	for _, v := range algorithms {
		if a == v {
			return nil
		}
	}
	return fmt.Errorf("unknown compression %q: valid names are %s", string(a), validNames())
}

// String returns the canonical name.
func (a Algorithm) String() string { return string(a) }

// MarshalText implements encoding.TextMarshaler (config files, JSON).
func (a Algorithm) MarshalText() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return []byte(a), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so flags and config
// files can hold an Algorithm directly.
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Extension is the file name suffix the standard tools use (".gz", ".bz2",
// ".zst"), or "" for None.
func (a Algorithm) Extension() string {
	switch a {
	case Gzip:
		return ".gz"
	case Bzip2:
		return ".bz2"
	case Zstd:
		return ".zst"
	}
	return ""
}

// Levels returns the accepted compression levels of a (inclusive) and the
// one used when Options.Level is 0. None accepts only 0.
func (a Algorithm) Levels() (lo, hi, def int) {
	switch a {
	case Gzip:
		return 1, 9, 6
	case Bzip2:
		return 1, 9, 9
	case Zstd:
		// klauspost/compress maps the reference levels onto four
		// encoders; levels above 19 behave like 19.
		return 1, 22, 3
	}
	return 0, 0, 0
}

// Options tune a Writer.
type Options struct {
	// Level is the algorithm's compression level; 0 picks its default
	// (gzip 6, bzip2 9, zstd 3). See Algorithm.Levels.
	Level int
	// Threads bounds the goroutines compressing in parallel; 0 means
	// GOMAXPROCS. gzip and bzip2 use every thread, at about 6 MiB
	// (gzip) and 11 MiB (bzip2) of memory each; zstd compresses one
	// stream with a helper goroutine in about 12 MiB whatever the count.
	Threads int
}

// resolve fills defaults and checks ranges.
func (o Options) resolve(a Algorithm) (Options, error) {
	lo, hi, def := a.Levels()
	switch {
	case o.Level == 0:
		o.Level = def
	case a == None:
		return o, fmt.Errorf("compression none takes no level (got %d)", o.Level)
	case o.Level < lo || o.Level > hi:
		return o, fmt.Errorf("%s compression level %d out of range: use %d (fastest) to %d (smallest), or 0 for the default %d",
			a, o.Level, lo, hi, def)
	}
	if o.Threads < 0 {
		return o, fmt.Errorf("compression threads must not be negative (got %d)", o.Threads)
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o, nil
}
