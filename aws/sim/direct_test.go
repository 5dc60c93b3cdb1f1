package sim

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// pieces reads data in random pieces of at most max bytes, like a
// connection.
type pieces struct {
	data []byte
	r    *rand.Rand
	max  int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), 1+p.r.IntN(p.max))], p.data)
	p.data = p.data[n:]
	return n, nil
}

// TestBodyWriter writes bodies of sizes around the alignment and buffer
// edges, read in random pieces, and reads back exactly the bytes written,
// through O_DIRECT (on Linux the test folder must allow it) and without it.
func TestBodyWriter(t *testing.T) {
	t.Parallel()
	const bufSize = 64 << 10
	data := make([]byte, 3*bufSize+5000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	dir := t.TempDir()
	for _, direct := range []bool{true, false} {
		for _, n := range []int{0, 1, directAlign - 1, directAlign, directAlign + 1, bufSize - 1, bufSize, bufSize + directAlign, 2*bufSize + 1, len(data)} {
			w, err := newBodyWriter(dir, "body-*", bufSize)
			if err != nil {
				t.Fatal(err)
			}
			if direct && w.direct == nil && runtime.GOOS == "linux" {
				t.Fatalf("the file system of %s refuses O_DIRECT at open; this test needs one that allows it", dir)
			}
			if !direct && w.direct != nil {
				w.direct.Close()
				w.direct = nil
			}
			src := &pieces{data: data[:n], r: r, max: bufSize + bufSize/2}
			if k, err := w.ReadFrom(src); err != nil || k != int64(n) {
				t.Fatalf("direct %v, size %d: ReadFrom = %d, %v", direct, n, k, err)
			}
			if err := w.Sync(); err != nil {
				t.Fatalf("direct %v, size %d: Sync: %v", direct, n, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(w.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:n]) {
				t.Fatalf("direct %v, size %d: file holds %d bytes that differ from those written", direct, n, len(got))
			}
		}
	}
}
