package treehash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
)

// referenceTree is the textbook level-by-level algorithm over whole data.
func referenceTree(data []byte) [32]byte {
	if len(data) == 0 {
		return sha256.Sum256(nil)
	}
	var level [][32]byte
	for off := 0; off < len(data); off += MiB {
		end := min(off+MiB, len(data))
		level = append(level, sha256.Sum256(data[off:end]))
	}
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, sha256.Sum256(append(level[i][:], level[i+1][:]...)))
		}
		level = next
	}
	return level[0]
}

func TestPublishedVectors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		// botocore tests/unit/test_utils.py TestTreeHash and test_handlers.py.
		{"empty", nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"a*1024", bytes.Repeat([]byte("a"), 1024), "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a"},
		{"a*1MiB", bytes.Repeat([]byte("a"), MiB), "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360"},
		{"a*4MiB", bytes.Repeat([]byte("a"), 4*MiB), "9491cb2ed1d4e7cd53215f4017c23ec4ad21d7050a1e6bb636c4f67e8cddb844"},
		{"a*(4MiB+20)", bytes.Repeat([]byte("a"), 4*MiB+20), "12f3cbd6101b981cde074039f6f728071da8879d6f632de8afc7cdf00661b08f"},
		{"hello world", []byte("hello world"), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"},
		// Computed with the same algorithm for the wire-facts notes.
		{"a*3MiB", bytes.Repeat([]byte("a"), 3*MiB), "70239f4f2ead7561f69d48b956b547edef52a1280a93c262c0b582190be7db17"},
		{"a*6.5MiB", bytes.Repeat([]byte("a"), 13*MiB/2), "0dae0a3f606e3eae41361ffc1dc3e1c5311ae06f9c14299ca46052f89947f412"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := New()
			h.Write(tc.data)
			lin, tree := h.Sum()
			if got := Hex(tree); got != tc.want {
				t.Errorf("tree = %s, want %s", got, tc.want)
			}
			if lin != sha256.Sum256(tc.data) {
				t.Errorf("linear hash differs from sha256")
			}
			if h.Size() != int64(len(tc.data)) {
				t.Errorf("Size = %d, want %d", h.Size(), len(tc.data))
			}
		})
	}
}

// TestWriteSplits checks that how the data is cut into writes never matters,
// and that Sum can be called midway without disturbing the result.
func TestWriteSplits(t *testing.T) {
	data := randomBytes(5*MiB+777, 1)
	want := referenceTree(data)
	for _, step := range []int{1 << 10, 4096 + 3, MiB - 1, MiB, MiB + 1, 3 * MiB} {
		h := New()
		for off := 0; off < len(data); off += step {
			h.Write(data[off:min(off+step, len(data))])
			h.Sum() // must be side-effect free
		}
		if _, got := h.Sum(); got != want {
			t.Errorf("step %d: tree differs from reference", step)
		}
		if h.Leaves() != 6 {
			t.Errorf("step %d: Leaves = %d, want 6", step, h.Leaves())
		}
	}
	h := New()
	h.Write(data)
	h.Reset()
	h.Write([]byte("hello world"))
	if _, tree := h.SumHex(); tree != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" {
		t.Errorf("after Reset: tree = %s", tree)
	}
}

// TestTreeOnly checks that NewTree gives the same tree hash as New, with no
// linear digest, across writes, Sum midway and Reset.
func TestTreeOnly(t *testing.T) {
	data := randomBytes(3*MiB+5, 2)
	want := referenceTree(data)
	for _, step := range []int{4096 + 3, MiB, 2*MiB + 1} {
		h := NewTree()
		for off := 0; off < len(data); off += step {
			h.Write(data[off:min(off+step, len(data))])
			h.Sum()
		}
		lin, got := h.Sum()
		if got != want {
			t.Errorf("step %d: tree differs from reference", step)
		}
		if lin != ([32]byte{}) {
			t.Errorf("step %d: tree-only hasher reported a linear digest", step)
		}
	}
	h := NewTree()
	h.Write(data)
	h.Reset()
	h.Write([]byte("hello world"))
	if _, tree := h.SumHex(); tree != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" {
		t.Errorf("after Reset: tree = %s", tree)
	}
}

// sdkHashes runs the SDK's own Glacier:TreeHash middleware (UploadArchive
// without a checksum) and captures the headers it computed, without a network:
// the HTTP client answers locally.
func sdkHashes(t *testing.T, data []byte) (linear, tree string) {
	t.Helper()
	var gotTree, gotLinear string
	client := glacier.New(glacier.Options{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
		HTTPClient: clientFunc(func(r *http.Request) (*http.Response, error) {
			gotTree = r.Header.Get("X-Amz-Sha256-Tree-Hash")
			gotLinear = r.Header.Get("X-Amz-Content-Sha256")
			return &http.Response{
				StatusCode: 201,
				Header:     http.Header{"X-Amz-Archive-Id": {"x"}},
				Body:       io.NopCloser(strings.NewReader("")),
				Request:    r,
			}, nil
		}),
	})
	_, err := client.UploadArchive(context.Background(), &glacier.UploadArchiveInput{
		VaultName: aws.String("v"),
		Body:      bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("sdk upload: %v", err)
	}
	return gotLinear, gotTree
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestMatchesSDK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 1000, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB, 13 * MiB / 2, 17*MiB + 3}
	for range 3 {
		sizes = append(sizes, 1+rng.IntN(9*MiB))
	}
	for _, n := range sizes {
		data := randomBytes(n, byte(n))
		wantLinear, wantTree := sdkHashes(t, data)
		h := New()
		h.Write(data)
		lin, tree := h.SumHex()
		if tree != wantTree || lin != wantLinear {
			t.Errorf("size %d: got (%s, %s), sdk (%s, %s)", n, lin, tree, wantLinear, wantTree)
		}
	}
}

// TestEmptyVersusSDK documents the one difference from the SDK: for no data
// the SDK sends an empty tree-hash header, we report sha256(""), as botocore.
func TestEmptyVersusSDK(t *testing.T) {
	_, tree := New().SumHex()
	if tree != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty tree = %s", tree)
	}
}

// randomBytes returns n reproducible pseudo-random bytes, quickly.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func TestCombineParts(t *testing.T) {
	all := randomBytes(4*7*MiB, 5)
	for _, partMiB := range []int{1, 2, 4} {
		for _, parts := range []int{1, 2, 3, 5, 7} {
			for _, tail := range []int{0, 1, MiB / 2, partMiB*MiB - 1} {
				// tail > 0 makes the last part shorter than the others.
				size := parts * partMiB * MiB
				if tail > 0 {
					size = (parts-1)*partMiB*MiB + tail
				}
				data := all[:size]
				var roots [][32]byte
				for off := 0; off < size; off += partMiB * MiB {
					h := New()
					h.Write(data[off:min(off+partMiB*MiB, size)])
					_, r := h.Sum()
					roots = append(roots, r)
				}
				if got, want := Combine(roots), referenceTree(data); got != want {
					t.Errorf("part %d MiB, %d parts, tail %d: Combine differs from whole tree", partMiB, parts, tail)
				}
			}
		}
	}
	if Combine(nil) != sha256.Sum256(nil) {
		t.Error("Combine(nil) is not sha256 of nothing")
	}
}

func TestParseHex(t *testing.T) {
	want := "9BC1B2A288B26AF7257A36277AE3816A7D4F16E89C1E7E77D0A5C48BAD62B360"
	d, err := ParseHex(want)
	if err != nil || Hex(d) != strings.ToLower(want) {
		t.Fatalf("ParseHex = %x, %v", d, err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 63)} {
		if _, err := ParseHex(bad); err == nil {
			t.Errorf("ParseHex(%q) accepted", bad)
		}
	}
}

func TestCompute(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 4*MiB+20)
	_, tree, n, err := Compute(bytes.NewReader(data))
	if err != nil || n != int64(len(data)) || Hex(tree) != "12f3cbd6101b981cde074039f6f728071da8879d6f632de8afc7cdf00661b08f" {
		t.Fatalf("Compute = %x, %d, %v", tree, n, err)
	}
}

func BenchmarkHasher(b *testing.B) {
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	b.SetBytes(int64(len(buf)))
	h := New()
	for b.Loop() {
		h.Write(buf)
	}
	h.Sum()
}
