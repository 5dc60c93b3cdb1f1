package sim

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
)

// TestBodyWriter writes bodies of sizes around the alignment and buffer
// edges in random pieces and reads back exactly the bytes written, through
// O_DIRECT where the file system allows it and without it.
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
			if !direct && w.direct != nil {
				w.direct.Close()
				w.direct = nil
			}
			for off := 0; off < n; {
				step := min(1+r.IntN(bufSize+bufSize/2), n-off)
				if k, err := w.Write(data[off : off+step]); err != nil || k != step {
					t.Fatalf("direct %v, size %d: Write = %d, %v", direct, n, k, err)
				}
				off += step
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

// TestBodyWriterRefusedDirect checks the fallback when an O_DIRECT write is
// refused (here: a buffer off the alignment, which Linux answers with
// EINVAL): the bytes go in through the ordinary descriptor.
func TestBodyWriterRefusedDirect(t *testing.T) {
	t.Parallel()
	w, err := newBodyWriter(t.TempDir(), "body-*", 2*directAlign)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.direct == nil {
		t.Skip("this file system refuses O_DIRECT at open: the fallback is TestBodyWriter's")
	}
	a := alignedBuffer(3*directAlign + 1)
	w.buf = a[1 : 1 : 3*directAlign+1] // one byte off the alignment
	data := bytes.Repeat([]byte("freezer!"), 1000)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if w.direct != nil {
		t.Error("a refused O_DIRECT write kept the O_DIRECT descriptor")
	}
	got, err := os.ReadFile(w.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("file holds %d bytes that differ from the %d written", len(got), len(data))
	}
}
