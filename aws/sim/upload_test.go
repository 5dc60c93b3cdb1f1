package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
)

func TestUploadArchive(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	data := randomBytes(1, 3*mib+17)
	out, err := h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader(data),
		ArchiveDescription: aws.String("holiday 2024"),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.ArchiveId)
	if !validID(id, 138) {
		t.Errorf("archive id %q is not 138 characters of [A-Za-z0-9_-]", id)
	}
	if got := aws.ToString(out.Checksum); got != refTreeHash(data) {
		t.Errorf("x-amz-sha256-tree-hash = %s, want %s", got, refTreeHash(data))
	}
	if got, want := aws.ToString(out.Location), "/123456789012/vaults/v/archives/"+id; got != want {
		t.Errorf("Location = %s, want %s", got, want)
	}
}

func TestArchiveDescriptions(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	tests := []struct {
		name string
		desc string
		ok   bool
	}{
		{"printable", `all printable ~!@#$%^&*()_+{}|:"<>?`, true},
		{"1024 chars", strings.Repeat("d", 1024), true},
		{"1025 chars", strings.Repeat("d", 1025), false},
		// Go's HTTP client refuses other control characters in header
		// values before they leave the process; a tab gets through.
		{"tab", "a\tb", false},
		{"non-ascii", "café", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
				AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader([]byte("x")),
				ArchiveDescription: aws.String(tt.desc),
			})
			if tt.ok {
				if err != nil {
					t.Fatalf("UploadArchive: %v", err)
				}
			} else {
				wantAPIError(t, err, "InvalidParameterValueException", 400, "description")
			}
			_, err = h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
				AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String("1048576"),
				ArchiveDescription: aws.String(tt.desc),
			})
			if tt.ok {
				if err != nil {
					t.Fatalf("InitiateMultipartUpload: %v", err)
				}
			} else {
				wantAPIError(t, err, "InvalidParameterValueException", 400, "description")
			}
		})
	}
}

func TestUploadArchiveHashes(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	data := randomBytes(2, 2*mib+5)
	wrong := refTreeHash([]byte("something else"))

	// Wrong tree hash, with x-amz-content-sha256 right.
	_, err := h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader(data), Checksum: aws.String(wrong),
	}, withContentSHA256(linearHash(data)))
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid x-amz-sha256-tree-hash: "+wrong)

	// Right tree hash passed by the caller, with the content hash added.
	if _, err := h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader(data), Checksum: aws.String(refTreeHash(data)),
	}, withContentSHA256(linearHash(data))); err != nil {
		t.Fatalf("explicit checksums: %v", err)
	}

	// Checksum alone: aws-sdk-go-v2 then sends no x-amz-content-sha256 and
	// AWS refuses the signature (aws-sdk-go-v2 issue #1212).
	_, err = h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader(data), Checksum: aws.String(refTreeHash(data)),
	})
	wantAPIError(t, err, "InvalidSignatureException", 403, "")

	// A signed x-amz-content-sha256 that does not match the body.
	lie := linearHash([]byte("other"))
	req := h.signedRequestHash(http.MethodPost, "/-/vaults/v/archives", data, map[string]string{
		"X-Amz-Sha256-Tree-Hash": refTreeHash(data),
		"X-Amz-Content-Sha256":   lie,
	}, lie)
	resp, body := h.rawDo(req)
	if e := decodeGlacierError(t, body); resp.StatusCode != 400 || e.Code != "InvalidParameterValueException" || !strings.Contains(e.Message, lie) {
		t.Errorf("mismatched x-amz-content-sha256: %d %s", resp.StatusCode, body)
	}

	// Empty archive.
	_, err = h.gl.UploadArchive(ctx(t), &glacier.UploadArchiveInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), Body: bytes.NewReader(nil),
	})
	if err == nil {
		t.Error("empty archive accepted; Glacier archives are 1 byte or more")
	}
}

func TestMultipartUpload(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	const ps = 2 * mib
	data := randomBytes(3, 5*mib+100) // parts: 2 MiB, 2 MiB, 1 MiB+100
	up, err := h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String(strconv.Itoa(ps)),
		ArchiveDescription: aws.String("multi"),
	})
	if err != nil {
		t.Fatal(err)
	}
	uid := up.UploadId
	if !validID(aws.ToString(uid), 92) || aws.ToString(up.Location) != "/123456789012/vaults/v/multipart-uploads/"+aws.ToString(uid) {
		t.Errorf("initiate: %+v", up)
	}
	part := func(start, end int, body []byte) error {
		_, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid,
			Range: aws.String(fmt.Sprintf("bytes %d-%d/*", start, end)), Body: bytes.NewReader(body),
		})
		return err
	}
	// Upload out of order; the last part first.
	for _, p := range [][2]int{{4 * mib, len(data)}, {0, 2 * mib}, {2 * mib, 4 * mib}} {
		out, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid,
			Range: aws.String(fmt.Sprintf("bytes %d-%d/*", p[0], p[1]-1)), Body: bytes.NewReader(data[p[0]:p[1]]),
		})
		if err != nil {
			t.Fatalf("part %v: %v", p, err)
		}
		if got := aws.ToString(out.Checksum); got != refTreeHash(data[p[0]:p[1]]) {
			t.Errorf("part %v checksum %s", p, got)
		}
	}
	// Refused parts.
	wantAPIError(t, part(mib, 3*mib-1, data[mib:3*mib]), "InvalidParameterValueException", 400, "is not aligned to the part size")
	wantAPIError(t, part(0, 4*mib-1, data[:4*mib]), "InvalidParameterValueException", 400, "is incompatible with the part size")
	wantAPIError(t, part(ps*10000, ps*10000+9, data[:10]), "InvalidParameterValueException", 400, "10000-part limit")
	wantAPIError(t, part(0, 2*mib-1, data[:mib]), "InvalidParameterValueException", 400,
		fmt.Sprintf("Content-Range: bytes 0-2097151/* is incompatible with Content-Length: %d", mib))
	wantAPIError(t, part(10, 5, data[:6]), "InvalidParameterValueException", 400, "Invalid Content-Range: bytes 10-5/*")

	// ListParts, sorted by range, paginated.
	lp, err := h.gl.ListParts(ctx(t), &glacier.ListPartsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid, Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Parts) != 2 || aws.ToString(lp.Parts[0].RangeInBytes) != "0-2097151" || aws.ToString(lp.Parts[1].RangeInBytes) != "2097152-4194303" || lp.Marker == nil {
		t.Fatalf("ListParts page 1: %+v", lp)
	}
	if aws.ToString(lp.ArchiveDescription) != "multi" || lp.PartSizeInBytes != ps {
		t.Errorf("ListParts: %+v", lp)
	}
	lp2, err := h.gl.ListParts(ctx(t), &glacier.ListPartsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid, Marker: lp.Marker})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp2.Parts) != 1 || aws.ToString(lp2.Parts[0].RangeInBytes) != fmt.Sprintf("%d-%d", 4*mib, len(data)-1) || lp2.Marker != nil {
		t.Fatalf("ListParts page 2: %+v", lp2)
	}
	_, err = h.gl.ListParts(ctx(t), &glacier.ListPartsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid, Limit: aws.Int32(51)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "limit")

	complete := func(size int, hash string) (*glacier.CompleteMultipartUploadOutput, error) {
		return h.gl.CompleteMultipartUpload(ctx(t), &glacier.CompleteMultipartUploadInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid,
			ArchiveSize: aws.String(strconv.Itoa(size)), Checksum: aws.String(hash),
		})
	}
	wrong := refTreeHash(data[:10])
	_, err = complete(len(data), wrong)
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid x-amz-sha256-tree-hash: "+wrong)
	_, err = complete(len(data)+mib, refTreeHash(data))
	wantAPIError(t, err, "InvalidParameterValueException", 400, "x-amz-archive-size")
	_, err = complete(len(data)-1, refTreeHash(data))
	wantAPIError(t, err, "InvalidParameterValueException", 400, "x-amz-archive-size")

	out, err := complete(len(data), refTreeHash(data))
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	id := aws.ToString(out.ArchiveId)
	if !validID(id, 138) || aws.ToString(out.Location) != "/123456789012/vaults/v/archives/"+id {
		t.Errorf("complete: %+v", out)
	}
	// Completing again returns the same archive.
	again, err := complete(len(data), refTreeHash(data))
	if err != nil || aws.ToString(again.ArchiveId) != id {
		t.Errorf("second complete: %v %+v", err, again)
	}
	// The upload is gone for ListParts and Abort; ListMultipartUploads no
	// longer shows it.
	_, err = h.gl.ListParts(ctx(t), &glacier.ListPartsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	_, err = h.gl.AbortMultipartUpload(ctx(t), &glacier.AbortMultipartUploadInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: uid})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")

	// The archive's bytes come back whole.
	h.clock.Advance(0)
	jobID := h.initiateRetrieval("v", id, "")
	h.clock.Advance(DefaultStandardDelay)
	got, _ := h.readOutput("v", jobID, "")
	if !bytes.Equal(got, data) {
		t.Error("retrieved multipart archive differs from the upload")
	}
}

func TestMultipartPartRules(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	for _, size := range []string{"3145728", "524288", "0", "8589934592", "x", "1048577"} {
		_, err := h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String(size),
		})
		wantAPIError(t, err, "InvalidParameterValueException", 400, "part size")
	}
	for _, size := range []string{"1048576", "4294967296"} {
		if _, err := h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String(size),
		}); err != nil {
			t.Errorf("part size %s: %v", size, err)
		}
	}

	// A short part that is not the last uploads fine but fails Complete.
	up, err := h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String("1048576"),
	})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(4, 2*mib)
	for _, p := range [][2]int{{0, mib - 10}, {mib, 2 * mib}} {
		if _, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
			AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: up.UploadId,
			Range: aws.String(fmt.Sprintf("bytes %d-%d/*", p[0], p[1]-1)), Body: bytes.NewReader(data[p[0]:p[1]]),
		}); err != nil {
			t.Fatalf("part %v: %v", p, err)
		}
	}
	whole := append(append([]byte{}, data[:mib-10]...), data[mib:]...)
	_, err = h.gl.CompleteMultipartUpload(ctx(t), &glacier.CompleteMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: up.UploadId,
		ArchiveSize: aws.String(strconv.Itoa(len(whole))), Checksum: aws.String(refTreeHash(whole)),
	})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "x-amz-archive-size")

	// Wrong tree hash on a part.
	_, err = h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: up.UploadId,
		Range: aws.String("bytes 0-1048575/*"), Body: bytes.NewReader(data[:mib]), Checksum: aws.String(refTreeHash(data[1:mib])),
	}, withContentSHA256(linearHash(data[:mib])))
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid x-amz-sha256-tree-hash")

	// Re-uploading a range overwrites it; then Complete succeeds.
	if _, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: up.UploadId,
		Range: aws.String("bytes 0-1048575/*"), Body: bytes.NewReader(data[:mib]),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gl.CompleteMultipartUpload(ctx(t), &glacier.CompleteMultipartUploadInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: up.UploadId,
		ArchiveSize: aws.String(strconv.Itoa(len(data))), Checksum: aws.String(refTreeHash(data)),
	}); err != nil {
		t.Fatalf("complete after overwrite: %v", err)
	}
}

func TestAbortAndListUploads(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	var ids []string
	for i := 0; i < 5; i++ {
		in := &glacier.InitiateMultipartUploadInput{AccountId: aws.String("-"), VaultName: aws.String("v"), PartSize: aws.String("1048576")}
		if i == 0 {
			in.ArchiveDescription = aws.String("first")
		}
		out, err := h.gl.InitiateMultipartUpload(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.UploadId))
	}
	seen := map[string]bool{}
	p := glacier.NewListMultipartUploadsPaginator(h.gl, &glacier.ListMultipartUploadsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.UploadsList {
			seen[aws.ToString(u.MultipartUploadId)] = true
			if aws.ToString(u.MultipartUploadId) == ids[0] && aws.ToString(u.ArchiveDescription) != "first" {
				t.Errorf("description %v", u.ArchiveDescription)
			}
			if aws.ToString(u.MultipartUploadId) != ids[0] && u.ArchiveDescription != nil {
				t.Errorf("upload without description lists %q, want null", aws.ToString(u.ArchiveDescription))
			}
		}
	}
	if pages != 3 || len(seen) != 5 {
		t.Errorf("%d pages, %d uploads", pages, len(seen))
	}
	abort := func(id string) error {
		_, err := h.gl.AbortMultipartUpload(ctx(t), &glacier.AbortMultipartUploadInput{AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: aws.String(id)})
		return err
	}
	if err := abort(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := abort(ids[1]); err != nil {
		t.Errorf("aborting an aborted upload: %v (docs: succeeds for a short time)", err)
	}
	wantAPIError(t, abort(strings.Repeat("x", 92)), "ResourceNotFoundException", 404, "")
	_, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{
		AccountId: aws.String("-"), VaultName: aws.String("v"), UploadId: aws.String(ids[1]),
		Range: aws.String("bytes 0-9/*"), Body: bytes.NewReader(make([]byte, 10)),
	})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	out, err := h.gl.ListMultipartUploads(ctx(t), &glacier.ListMultipartUploadsInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
	if err != nil || len(out.UploadsList) != 4 || out.Marker != nil {
		t.Errorf("after abort: %v %+v", err, out)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"bytes 0-4194303/*", 0, 4194303, true},
		{"bytes 4194304-8388607/*", 4194304, 8388607, true},
		{"bytes 5-4/*", 0, 0, false},
		{"bytes 0-10/11", 0, 0, false},
		{"bytes=0-10/*", 0, 0, false},
		{"bytes -1-10/*", 0, 0, false},
		{"bytes 0-99999999999999999999/*", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		s, e, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (s != tt.start || e != tt.end)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", tt.in, s, e, ok)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	f.Add("bytes 0-4194303/*")
	f.Add("bytes 9223372036854775807-9223372036854775807/*")
	f.Add("bytes 1-0/*")
	f.Fuzz(func(t *testing.T, v string) {
		s, e, ok := parseContentRange(v)
		if !ok {
			return
		}
		if s < 0 || e < s {
			t.Fatalf("%q parsed to %d-%d", v, s, e)
		}
		s2, e2, ok2 := parseContentRange(fmt.Sprintf("bytes %d-%d/*", s, e))
		if !ok2 || s2 != s || e2 != e {
			t.Fatalf("%q does not round-trip", v)
		}
	})
}
