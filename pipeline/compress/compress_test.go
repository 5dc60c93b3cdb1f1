package compress

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testData returns n bytes that compress like real files: mostly words,
// with stretches of random bytes (already-compressed content).
func testData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	words := strings.Fields("the quick brown fox jumps over lazy dog glacier vault archive " +
		"freezer melted frozen liquid photo holiday 2024 backup tar gzip zstd bzip2 \n\t {}")
	out := make([]byte, 0, n)
	for len(out) < n {
		if rng.IntN(2000) == 0 {
			k := min(n-len(out), 1+rng.IntN(4096))
			for range k {
				out = append(out, byte(rng.Uint32()))
			}
			continue
		}
		w := words[rng.IntN(len(words))]
		out = append(out, w...)
		out = append(out, ' ')
	}
	return out[:n]
}

// compressBytes compresses data, writing it in uneven pieces so that the
// writers' buffering is exercised.
func compressBytes(t testing.TB, alg Algorithm, opts Options, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := NewWriter(&buf, alg, opts)
	if err != nil {
		t.Fatalf("NewWriter(%s, %+v): %v", alg, opts, err)
	}
	rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(300_000))
		n, err := zw.Write(rest[:k])
		if err != nil || n != k {
			t.Fatalf("Write(%s): n=%d of %d, err=%v", alg, n, k, err)
		}
		rest = rest[k:]
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("Close(%s): %v", alg, err)
	}
	return buf.Bytes()
}

func decompressBytes(alg Algorithm, data []byte) ([]byte, error) {
	zr, err := NewReader(bytes.NewReader(data), alg)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Algorithm
		ok   bool
	}{
		{"none", None, true},
		{"GZIP", Gzip, true},
		{" gz ", Gzip, true},
		{"bzip2", Bzip2, true},
		{"bz2", Bzip2, true},
		{"zstd", Zstd, true},
		{"zst", Zstd, true},
		{"tar", None, true},
		{"", "", false},
		{"xz", "", false},
		{"gzip2", "", false},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("Parse(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "none, gzip, bzip2, zstd") {
			t.Errorf("Parse(%q) error %q does not list the valid names", c.in, err)
		}
	}
	var a Algorithm
	if err := a.UnmarshalText([]byte("bz2")); err != nil || a != Bzip2 {
		t.Errorf("UnmarshalText(bz2) = %q, %v", a, err)
	}
	if err := Algorithm("lzma").Validate(); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("Validate(lzma) = %v, want an error listing valid names", err)
	}
	if _, err := NewWriter(io.Discard, "lzma", Options{}); err == nil {
		t.Error("NewWriter accepted an unknown algorithm")
	}
	if _, err := NewReader(strings.NewReader("x"), "lzma"); err == nil {
		t.Error("NewReader accepted an unknown algorithm")
	}
}

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		alg  Algorithm
		opts Options
		ok   bool
	}{
		{Gzip, Options{Level: 0}, true},
		{Gzip, Options{Level: 9}, true},
		{Gzip, Options{Level: 10}, false},
		{Gzip, Options{Level: -1}, false},
		{Bzip2, Options{Level: 1}, true},
		{Bzip2, Options{Level: 10}, false},
		{Zstd, Options{Level: 22}, true},
		{Zstd, Options{Level: 23}, false},
		{None, Options{Level: 3}, false},
		{Gzip, Options{Threads: -1}, false},
	}
	for _, c := range cases {
		zw, err := NewWriter(io.Discard, c.alg, c.opts)
		if c.ok != (err == nil) {
			t.Errorf("NewWriter(%s, %+v) error = %v, want ok=%v", c.alg, c.opts, err, c.ok)
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	type tc struct {
		alg     Algorithm
		size    int
		level   int
		threads int
	}
	var cases []tc
	for _, alg := range Algorithms() {
		lo, hi, _ := alg.Levels()
		levels := []int{0}
		if alg != None {
			levels = append(levels, lo, hi)
		}
		for _, size := range []int{0, 1, 4095, 100_000} {
			for _, level := range levels {
				for _, threads := range []int{1, 2, 4} {
					cases = append(cases, tc{alg, size, level, threads})
				}
			}
		}
		// Sizes crossing pgzip blocks (1 MiB) and parallel bzip2 chunks
		// (810 kB at level 9).
		big := 1<<20 + 212345
		cases = append(cases, tc{alg, big, 0, 1}, tc{alg, big, 0, 3})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/size=%d/level=%d/threads=%d", c.alg, c.size, c.level, c.threads)
		t.Run(name, func(t *testing.T) {
			data := testData(c.size, uint64(c.size))
			z := compressBytes(t, c.alg, Options{Level: c.level, Threads: c.threads}, data)
			got, err := decompressBytes(c.alg, z)
			if err != nil {
				t.Fatalf("decompress: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("round trip differs: got %d bytes, want %d", len(got), len(data))
			}
			if alg, err := Detect(bufio.NewReader(bytes.NewReader(z))); err != nil || alg != c.alg {
				t.Fatalf("Detect = %q, %v; want %q", alg, err, c.alg)
			}
		})
	}
}

func TestNoneCloseKeepsWriterOpen(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, err := NewWriter(f, None, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("def")); err != nil {
		t.Fatalf("underlying file closed by None writer: %v", err)
	}
}

func TestEmptyInputIsAnError(t *testing.T) {
	for _, alg := range []Algorithm{Gzip, Bzip2, Zstd} {
		if _, err := decompressBytes(alg, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: empty input gave %v, want ErrUnexpectedEOF", alg, err)
		}
	}
}

// TestCorruption flips single bytes and truncates streams: the reader must
// either fail or return exactly the original data (a flip in padding bits or
// an unchecked header field changes nothing), never different or shorter
// data without an error.
func TestCorruption(t *testing.T) {
	data := testData(150_000, 1)
	for _, alg := range []Algorithm{Gzip, Bzip2, Zstd} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", alg, threads), func(t *testing.T) {
				z := compressBytes(t, alg, Options{Threads: threads}, data)
				rng := rand.New(rand.NewPCG(uint64(len(z)), 3))
				errs := 0
				const flips = 40
				for i := range flips {
					pos := 20 + rng.IntN(len(z)-40)
					if i == 0 {
						pos = len(z) / 2
					}
					bad := bytes.Clone(z)
					bad[pos] ^= byte(1 + rng.IntN(255))
					got, err := decompressBytes(alg, bad)
					if err != nil {
						errs++
						continue
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("byte %d of %d flipped: no error but %d bytes differ from the original", pos, len(z), len(got))
					}
				}
				if errs < flips/2 {
					t.Errorf("only %d of %d corrupted streams gave an error", errs, flips)
				}
				for _, cut := range []int{1, 5, 11, len(z) / 3, len(z) / 2, len(z) - 9, len(z) - 4, len(z) - 1} {
					_, err := decompressBytes(alg, z[:cut])
					if err == nil {
						t.Errorf("stream cut to %d of %d bytes: no error", cut, len(z))
					}
				}
				// Garbage after a complete stream is not silently ignored.
				if _, err := decompressBytes(alg, append(bytes.Clone(z), "garbage!"...)); err == nil {
					t.Error("trailing garbage: no error")
				}
			})
		}
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		want    Algorithm
		wantErr string
	}{
		{"empty", nil, None, ""},
		{"tar", append([]byte("photos/"), make([]byte, 505)...), None, ""},
		{"short", []byte{0x1f}, None, ""},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3}, Gzip, ""},
		{"bzip2", append([]byte("BZh9"), bzip2BlockMagic...), Bzip2, ""},
		{"bzip2 empty stream", append([]byte("BZh1"), bzip2EndMagic...), Bzip2, ""},
		{"BZh text", []byte("BZh9 is not bzip2"), None, ""},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0}, Zstd, ""},
		{"zstd skippable", []byte{0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0}, Zstd, ""},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, "", "xz"},
		{"lz4", []byte{0x04, 0x22, 0x4d, 0x18, 0}, "", "lz4"},
		{"compress", []byte{0x1f, 0x9d, 0x90}, "", "compress"},
	}
	for _, c := range cases {
		br := bufio.NewReader(bytes.NewReader(c.in))
		got, err := Detect(br)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: Detect error = %v, want one mentioning %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: Detect = %q, %v; want %q", c.name, got, err, c.want)
		}
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, c.in) {
			t.Errorf("%s: Detect consumed input", c.name)
		}
	}
}

// requireTool returns the path of an external program the test needs. A
// missing one fails the test: these checks are the promise that archives
// stay readable with stock tools.
func requireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test and is not installed: apt-get install %s", name, debianPackage)
	}
	return p
}

func runTool(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestStandardTools checks both directions: streams made by the standard
// tools (including concatenated members) decode here, and ours decode with
// the standard tools.
func TestStandardTools(t *testing.T) {
	gzipBin := requireTool(t, "gzip", "gzip")
	pigzBin := requireTool(t, "pigz", "pigz")
	bzip2Bin := requireTool(t, "bzip2", "bzip2")
	zstdBin := requireTool(t, "zstd", "zstd")

	a := testData(1<<20+333, 11)
	b := testData(70_000, 12)
	ab := append(bytes.Clone(a), b...)
	concat := func(xs ...[]byte) []byte { return bytes.Join(xs, nil) }

	produced := []struct {
		name string
		alg  Algorithm
		z    []byte
		want []byte
	}{
		{"gzip", Gzip, runTool(t, a, gzipBin, "-c"), a},
		{"gzip -1", Gzip, runTool(t, a, gzipBin, "-1", "-c"), a},
		{"gzip members", Gzip, concat(runTool(t, a, gzipBin, "-c"), runTool(t, b, gzipBin, "-9", "-c")), ab},
		{"gzip empty", Gzip, runTool(t, nil, gzipBin, "-c"), nil},
		{"pigz", Gzip, runTool(t, a, pigzBin, "-p", "2", "-c"), a},
		{"pigz independent", Gzip, runTool(t, a, pigzBin, "-p", "2", "-i", "-c"), a},
		{"bzip2", Bzip2, runTool(t, a, bzip2Bin, "-c"), a},
		{"bzip2 streams", Bzip2, concat(runTool(t, a, bzip2Bin, "-1", "-c"), runTool(t, b, bzip2Bin, "-c")), ab},
		{"bzip2 empty", Bzip2, runTool(t, nil, bzip2Bin, "-c"), nil},
		{"zstd", Zstd, runTool(t, a, zstdBin, "-q", "-c"), a},
		{"zstd -19 long", Zstd, runTool(t, a, zstdBin, "-q", "-19", "--long", "-c"), a},
		{"zstd threads", Zstd, runTool(t, a, zstdBin, "-q", "-T2", "-c"), a},
		{"zstd no check", Zstd, runTool(t, a, zstdBin, "-q", "--no-check", "-c"), a},
		{"zstd frames", Zstd, concat(runTool(t, a, zstdBin, "-q", "-c"), runTool(t, b, zstdBin, "-q", "-c")), ab},
	}
	for _, p := range produced {
		t.Run("read/"+p.name, func(t *testing.T) {
			alg, err := Detect(bufio.NewReader(bytes.NewReader(p.z)))
			if err != nil || alg != p.alg {
				t.Fatalf("Detect = %q, %v; want %q", alg, err, p.alg)
			}
			got, err := decompressBytes(p.alg, p.z)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, p.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(p.want))
			}
			zr, alg, err := NewDetectingReader(bytes.NewReader(p.z))
			if err != nil || alg != p.alg {
				t.Fatalf("NewDetectingReader = %q, %v", alg, err)
			}
			got, err = io.ReadAll(zr)
			zr.Close()
			if err != nil || !bytes.Equal(got, p.want) {
				t.Fatalf("NewDetectingReader read %d bytes, err %v", len(got), err)
			}
		})
	}

	decoders := map[Algorithm][][]string{
		Gzip:  {{gzipBin, "-dc"}, {pigzBin, "-dc"}},
		Bzip2: {{bzip2Bin, "-dc"}},
		Zstd:  {{zstdBin, "-q", "-dc"}},
	}
	for _, alg := range []Algorithm{Gzip, Bzip2, Zstd} {
		for _, threads := range []int{1, 3} {
			for _, data := range [][]byte{nil, a} {
				z := compressBytes(t, alg, Options{Threads: threads}, data)
				for _, d := range decoders[alg] {
					t.Run(fmt.Sprintf("write/%s/threads=%d/size=%d/%s", alg, threads, len(data), filepath.Base(d[0])), func(t *testing.T) {
						got := runTool(t, z, d[0], d[1:]...)
						if !bytes.Equal(got, data) {
							t.Fatalf("%s decoded %d bytes, want %d", d[0], len(got), len(data))
						}
						// And the tool's integrity test passes.
						runTool(t, z, d[0], "-t")
					})
				}
			}
		}
	}
}

// failingWriter fails after n bytes, to check that writers report it and
// that Close still returns (all goroutines released).
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteErrorPropagates(t *testing.T) {
	data := testData(3<<19, 5)
	for _, alg := range []Algorithm{None, Gzip, Bzip2, Zstd} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", alg, threads), func(t *testing.T) {
				zw, err := NewWriter(&failingWriter{n: 1000}, alg, Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				var werr error
				for rest := data; len(rest) > 0 && werr == nil; rest = rest[min(len(rest), 64<<10):] {
					_, werr = zw.Write(rest[:min(len(rest), 64<<10)])
				}
				cerr := zw.Close()
				if werr == nil && cerr == nil {
					t.Fatal("write to a failing writer reported no error")
				}
			})
		}
	}
}

// FuzzNewReader feeds arbitrary bytes to every decoder: they may fail but
// must never panic or hang, and Detect must agree with itself.
func FuzzNewReader(f *testing.F) {
	small := testData(3000, 9)
	for _, alg := range []Algorithm{Gzip, Bzip2, Zstd} {
		z := compressBytes(f, alg, Options{Threads: 1}, small)
		f.Add(z, uint8(0))
		f.Add(z[:len(z)/2], uint8(0))
		z2 := compressBytes(f, alg, Options{Threads: 2}, small)
		f.Add(append(z2, z...), uint8(0))
	}
	f.Add([]byte("BZh91AY&SY"), uint8(2))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		alg, err := Detect(bufio.NewReader(bytes.NewReader(data)))
		if err == nil && alg != None {
			which = 0 // use the detected one
		} else {
			alg = Algorithms()[int(which)%len(Algorithms())]
		}
		zr, err := NewReader(bytes.NewReader(data), alg)
		if err != nil {
			return
		}
		defer zr.Close()
		// Bounded: a tiny input may legitimately expand a lot.
		_, _ = io.Copy(io.Discard, io.LimitReader(zr, 4<<20))
	})
}

func benchmarkData() []byte { return testData(16<<20, 99) }

// BenchmarkWriter reports compression speed in MB/s of input per
// algorithm, with every core and with one.
func BenchmarkWriter(b *testing.B) {
	data := benchmarkData()
	for _, alg := range Algorithms() {
		for _, threads := range []int{1, 0} {
			b.Run(fmt.Sprintf("%s/threads=%d", alg, threads), func(b *testing.B) {
				in := data
				if alg == Bzip2 {
					in = data[:4<<20] // slow
				}
				b.SetBytes(int64(len(in)))
				var size int64
				for b.Loop() {
					cw := &countWriter{}
					zw, err := NewWriter(cw, alg, Options{Threads: threads})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := zw.Write(in); err != nil {
						b.Fatal(err)
					}
					if err := zw.Close(); err != nil {
						b.Fatal(err)
					}
					size = cw.n
				}
				b.ReportMetric(float64(size)/float64(len(in)), "ratio")
			})
		}
	}
}

// BenchmarkReader reports decompression speed in MB/s of output.
func BenchmarkReader(b *testing.B) {
	data := benchmarkData()
	for _, alg := range Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			in := data
			if alg == Bzip2 {
				in = data[:4<<20]
			}
			z := compressBytes(b, alg, Options{}, in)
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				zr, err := NewReader(bytes.NewReader(z), alg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, zr); err != nil {
					b.Fatal(err)
				}
				zr.Close()
			}
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
