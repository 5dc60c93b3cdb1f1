package sim

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// The O_DIRECT paths themselves: on Linux the test's temporary folder must
// allow O_DIRECT, or these fail saying so.

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
		t.Fatalf("the file system of %s refuses O_DIRECT at open; this test needs one that allows it (ext4, xfs, btrfs, tmpfs since Linux 6.6)", filepath.Dir(w.Name()))
	}
	a := alignedBuffer(3*directAlign + 1)
	w.buf = a[1 : 1 : 3*directAlign+1] // one byte off the alignment
	data := bytes.Repeat([]byte("freezer!"), 1000)
	if _, err := w.ReadFrom(bytes.NewReader(data)); err != nil {
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

// TestCopyDirect reads ranges at every alignment edge of a file through an
// O_DIRECT descriptor and checks the bytes, the count, a range past the end
// of the file and the refusal of a buffer off the alignment.
func TestCopyDirect(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3*directAlign+123)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	path := filepath.Join(t.TempDir(), "seg")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openDirectRead(path)
	if f == nil {
		t.Fatalf("the file system of %s refuses O_DIRECT at open; this test needs one that allows it (ext4, xfs, btrfs, tmpfs since Linux 6.6)", filepath.Dir(path))
	}
	defer f.Close()
	buf := alignedBuffer(2 * directAlign)
	edges := []int64{0, 1, directAlign - 1, directAlign, directAlign + 1, 2*directAlign + 7, int64(len(data)) - 1, int64(len(data))}
	for _, from := range edges {
		for _, to := range edges {
			if to <= from {
				continue
			}
			var got bytes.Buffer
			n, err := copyDirect(&got, f, from, to, buf)
			if err != nil || n != to-from || !bytes.Equal(got.Bytes(), data[from:to]) {
				t.Fatalf("[%d, %d): %d bytes, %v; bytes match: %v", from, to, n, err, bytes.Equal(got.Bytes(), data[from:to]))
			}
		}
	}
	if _, err := copyDirect(io.Discard, f, 10, int64(len(data))+1, buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a range past the end: %v, want %v", err, io.ErrUnexpectedEOF)
	}
	a := alignedBuffer(directAlign + 1)
	if _, err := copyDirect(io.Discard, f, 0, 10, a[1:1:directAlign+1]); !errors.Is(err, errDirectRefused) {
		t.Errorf("a buffer off the alignment: %v, want errDirectRefused", err)
	}
}
