package tarball

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"freezer/pipeline/compress"
)

// benchTree builds (once per benchmark) a tree of ~64 MiB: many small and
// medium files of text that compresses about 3:1, and a few large ones.
func benchTree(b *testing.B) (dir string, total int64) {
	b.Helper()
	dir = filepath.Join(b.TempDir(), "bench")
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the of and to in is for on that with glacier vault archive frozen melted " +
		"liquid photo holiday backup tar gzip hash file folder image document report invoice " +
		"2019 2020 2021 2022 2023 2024 january february march april may june july")
	gen := func(n int) []byte {
		out := make([]byte, 0, n+16)
		for len(out) < n {
			if rng.IntN(3000) == 0 { // some incompressible stretches
				for range min(n-len(out), 2048) {
					out = append(out, byte(rng.Uint32()))
				}
				continue
			}
			out = append(out, words[rng.IntN(len(words))]...)
			out = append(out, " \n"[rng.IntN(2)])
		}
		return out[:n]
	}
	write := func(rel string, n int) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, gen(n), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(n)
	}
	for i := range 2000 {
		write(fmt.Sprintf("d%02d/f%04d.txt", i%40, i), rng.IntN(16<<10))
	}
	for i := range 100 {
		write(fmt.Sprintf("media/m%03d.dat", i), 256<<10+rng.IntN(256<<10))
	}
	for i := range 3 {
		write(fmt.Sprintf("large/l%d.bin", i), 8<<20)
	}
	return dir, total
}

// BenchmarkWrite measures walk-free archiving (tar + SHA-256 per file +
// compression with every core) in MB/s of file contents.
func BenchmarkWrite(b *testing.B) {
	dir, total := benchTree(b)
	sel, err := Walk(context.Background(), []string{dir}, WalkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []compress.Algorithm{compress.None, compress.Gzip, compress.Zstd} {
		b.Run(string(alg), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				zw, err := compress.NewWriter(io.Discard, alg, compress.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Write(context.Background(), zw, sel.Entries, WriteOptions{}); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGNUTarPigz is the yardstick for BenchmarkWrite/gzip:
// `tar cf - DIR | pigz` on the same tree (without per-file hashes).
func BenchmarkGNUTarPigz(b *testing.B) {
	requireTool(b, "tar", "tar")
	requireTool(b, "pigz", "pigz")
	dir, total := benchTree(b)
	b.SetBytes(total)
	script := fmt.Sprintf("tar cf - -C %q %q | pigz -p %d > /dev/null", filepath.Dir(dir), filepath.Base(dir), runtime.GOMAXPROCS(0))
	for b.Loop() {
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v: %s", script, err, out)
		}
	}
}
