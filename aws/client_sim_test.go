package aws_test

// End-to-end tests: the real aws-sdk-go-v2 clients, through package aws,
// against the local simulator over HTTP on loopback.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"freezer/aws"
	"freezer/aws/sim"
	"freezer/aws/treehash"
)

const MiB = treehash.MiB

type env struct {
	sim   *sim.Sim
	clock *sim.ManualClock
	g     *aws.Glacier
	q     *aws.Queue
	topic *aws.Topic
	set   aws.Settings
}

// jobDelay is how long every simulated job takes, on the simulator's manual
// clock: jobs stay in progress until env.tick.
const jobDelay = time.Hour

// newEnv starts a simulator whose jobs complete at the next tick and returns
// clients pointed at it. modify may change the client settings.
func newEnv(t *testing.T, modify func(*aws.Settings)) *env {
	t.Helper()
	delay := jobDelay
	clock := sim.NewManualClock(time.Now())
	s, err := sim.New(sim.Options{Dir: t.TempDir(), JobDelay: &delay, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	set := aws.Settings{
		Endpoint: srv.URL, Region: "us-east-1",
		AccessKey: sim.DefaultAccessKey, SecretKey: sim.DefaultSecretKey,
	}
	if modify != nil {
		modify(&set)
	}
	cfg, err := aws.LoadConfig(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, clock: clock, g: aws.NewGlacier(cfg, set), q: aws.NewQueue(cfg, set), topic: aws.NewTopic(cfg, set), set: set}
}

// tick lets the jobs started so far complete and delivers their
// notifications.
func (e *env) tick(t *testing.T) {
	t.Helper()
	e.clock.Advance(jobDelay)
	if err := e.sim.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func randomData(n int, seed byte) []byte {
	b := make([]byte, n)
	var x uint32 = uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func hashes(data []byte) (linear, tree string) {
	h := treehash.New()
	h.Write(data)
	return h.SumHex()
}

func (e *env) upload(t *testing.T, vault, desc string, data []byte) string {
	t.Helper()
	lin, tree := hashes(data)
	id, err := e.g.UploadArchive(context.Background(), vault, desc, bytes.NewReader(data), int64(len(data)), tree, lin)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustCreate(t *testing.T, e *env, vault string) {
	t.Helper()
	if _, err := e.g.CreateVault(context.Background(), vault); err != nil {
		t.Fatal(err)
	}
}

func TestSimVaults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)

	loc, err := e.g.CreateVault(ctx, "photos")
	if err != nil || loc != "/123456789012/vaults/photos" {
		t.Fatalf("CreateVault = %q, %v", loc, err)
	}
	if _, err := e.g.CreateVault(ctx, "photos"); err != nil {
		t.Fatalf("second CreateVault (idempotent): %v", err)
	}
	v, err := e.g.DescribeVault(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "photos" || v.ARN != "arn:aws:glacier:us-east-1:123456789012:vaults/photos" || v.Created.IsZero() ||
		time.Since(v.Created) > time.Hour || v.Archives != 0 {
		t.Errorf("DescribeVault = %+v", v)
	}

	// More vaults than one page holds (10): ListVaults follows markers.
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("v%02d", i)
		mustCreate(t, e, name)
		want = append(want, name)
	}
	want = append([]string{"photos"}, want...) // ASCII order
	vs, err := e.g.ListVaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListVaults = %v\nwant %v", got, want)
	}

	_, err = e.g.DescribeVault(ctx, "missing")
	if !aws.IsNotFound(err) || aws.Code(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "vault missing") {
		t.Errorf("DescribeVault(missing) = %v (code %q)", err, aws.Code(err))
	}
	if _, err := e.g.CreateVault(ctx, "bad/name"); err == nil {
		t.Error("CreateVault accepted a name with a slash")
	}
	if _, err := e.g.CreateVault(ctx, "has space"); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("CreateVault(\"has space\") = %v", err)
	}

	if err := e.g.DeleteVault(ctx, "v00"); err != nil {
		t.Fatalf("DeleteVault of a never-written vault: %v", err)
	}
	e.upload(t, "photos", "one", []byte("hello"))
	if err := e.g.DeleteVault(ctx, "photos"); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("DeleteVault of a vault with an archive = %v", err)
	}
	if _, err := e.g.DescribeVault(ctx, "v00"); !aws.IsNotFound(err) {
		t.Errorf("deleted vault still there: %v", err)
	}
}

func TestSimVaultNotifications(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	if _, _, err := e.g.GetVaultNotifications(ctx, "v"); !aws.IsNotFound(err) {
		t.Fatalf("GetVaultNotifications without a configuration = %v", err)
	}
	topic, err := e.topic.CreateTopic(ctx, "freezer")
	if err != nil {
		t.Fatal(err)
	}
	events := []string{aws.EventArchiveRetrievalCompleted, aws.EventInventoryRetrievalCompleted}
	if err := e.g.SetVaultNotifications(ctx, "v", topic, events); err != nil {
		t.Fatal(err)
	}
	gotTopic, gotEvents, err := e.g.GetVaultNotifications(ctx, "v")
	if err != nil || gotTopic != topic || !slices.Equal(gotEvents, events) {
		t.Fatalf("GetVaultNotifications = %q %v %v", gotTopic, gotEvents, err)
	}
	if err := e.g.SetVaultNotifications(ctx, "v", topic, []string{"Bogus"}); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("bogus event accepted: %v", err)
	}
	if err := e.g.DeleteVaultNotifications(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.g.GetVaultNotifications(ctx, "v"); !aws.IsNotFound(err) {
		t.Errorf("configuration survived its deletion: %v", err)
	}
}

func readAll(t *testing.T, out *aws.JobOutput) []byte {
	t.Helper()
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSimUploadAndRetrieve(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	data := randomData(7*MiB/2, 1) // 3.5 MiB: leaves 0..3, the last half full
	lin, tree := hashes(data)
	id := e.upload(t, "v", "name=holiday-2024 compression=gzip", data)

	// A wrong hash is refused by the service.
	if _, err := e.g.UploadArchive(ctx, "v", "", bytes.NewReader(data), int64(len(data)), strings.Repeat("0", 64), lin); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("upload with a wrong tree hash = %v", err)
	}
	if _, err := e.g.UploadArchive(ctx, "v", "", bytes.NewReader(data), int64(len(data)), tree, strings.Repeat("0", 64)); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("upload with a wrong linear hash = %v", err)
	}

	jobID, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id, Tier: aws.TierBulk, Description: "restore"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.g.DescribeJob(ctx, "v", jobID)
	if err != nil || j.Status != aws.StatusInProgress || j.Completed || j.Action != aws.ActionArchiveRetrieval {
		t.Fatalf("DescribeJob before completion = %+v, %v", j, err)
	}
	e.tick(t)
	j, err = e.g.DescribeJob(ctx, "v", jobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != aws.StatusSucceeded || !j.Completed || j.ArchiveID != id || j.ArchiveSize != int64(len(data)) ||
		j.ArchiveTreeHash != tree || j.TreeHash != tree || j.Tier != aws.TierBulk || j.Description != "restore" ||
		j.RetrievalRange != fmt.Sprintf("0-%d", len(data)-1) || j.CompletedAt.IsZero() || j.ID != jobID {
		t.Errorf("DescribeJob = %+v", j)
	}

	out, err := e.g.GetJobOutput(ctx, "v", jobID, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != 200 || out.TreeHash != tree || out.Length != int64(len(data)) || out.Description != "name=holiday-2024 compression=gzip" {
		t.Errorf("whole output = %+v", out)
	}
	if got := readAll(t, out); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ")
	}

	// Tree-hash-aligned ranges come with their hash; Combine rebuilds the whole.
	var parts [][32]byte
	for _, r := range treehash.Ranges(int64(len(data)), 2*MiB) {
		out, err := e.g.GetJobOutput(ctx, "v", jobID, r.Start, r.End)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, out)
		_, want := hashes(data[r.Start : r.End+1])
		if out.Status != 206 || out.TreeHash != want || !bytes.Equal(got, data[r.Start:r.End+1]) ||
			out.ContentRange != fmt.Sprintf("bytes %d-%d/%d", r.Start, r.End, len(data)) {
			t.Errorf("range %v: status %d hash %q range %q", r, out.Status, out.TreeHash, out.ContentRange)
		}
		d, _ := treehash.ParseHex(out.TreeHash)
		parts = append(parts, d)
	}
	if treehash.Hex(treehash.Combine(parts)) != tree {
		t.Error("combined range hashes differ from the archive's")
	}
	// A range that is not tree-hash aligned has no hash.
	out, err = e.g.GetJobOutput(ctx, "v", jobID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); !bytes.Equal(got, data[1:101]) || out.TreeHash != "" || out.Status != 206 {
		t.Errorf("unaligned range: hash %q status %d", out.TreeHash, out.Status)
	}

	// A ranged retrieval job (megabyte aligned, to the end).
	rj, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id, ByteRange: fmt.Sprintf("%d-%d", 2*MiB, len(data)-1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id, ByteRange: "1-5"}); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("unaligned retrieval range accepted: %v", err)
	}
	e.tick(t)
	out, err = e.g.GetJobOutput(ctx, "v", rj, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, wantTail := hashes(data[2*MiB:])
	if got := readAll(t, out); !bytes.Equal(got, data[2*MiB:]) || out.TreeHash != wantTail {
		t.Errorf("ranged job output: %d bytes, hash %q want %q", len(got), out.TreeHash, wantTail)
	}

	// ListJobs and its filters.
	all, err := e.g.ListJobs(ctx, "v", aws.JobFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("ListJobs = %d jobs, %v", len(all), err)
	}
	done := true
	if js, err := e.g.ListJobs(ctx, "v", aws.JobFilter{Completed: &done, Status: aws.StatusSucceeded}); err != nil || len(js) != 2 {
		t.Errorf("ListJobs(succeeded) = %d, %v", len(js), err)
	}
	if js, err := e.g.ListJobs(ctx, "v", aws.JobFilter{Status: aws.StatusInProgress}); err != nil || len(js) != 0 {
		t.Errorf("ListJobs(in progress) = %d, %v", len(js), err)
	}
	if _, err := e.g.DescribeJob(ctx, "v", "nope"); !aws.IsNotFound(err) {
		t.Errorf("DescribeJob(nope) = %v", err)
	}

	// Delete, idempotently; a new retrieval of it then fails.
	if err := e.g.DeleteArchive(ctx, "v", id); err != nil {
		t.Fatal(err)
	}
	if err := e.g.DeleteArchive(ctx, "v", id); err != nil {
		t.Errorf("second DeleteArchive: %v", err)
	}
}

func TestSimJobsPagination(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	id := e.upload(t, "v", "", []byte("x"))
	var want []string
	for range 53 { // a page holds 50
		j, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, j)
	}
	js, err := e.g.ListJobs(ctx, "v", aws.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range js {
		got = append(got, j.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ListJobs returned %d jobs, want the %d started", len(got), len(want))
	}
}

func TestSimMultipart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")

	const partSize = 2 * MiB
	data := randomData(7*MiB+12345, 2) // 4 parts, the last one short
	lin, tree := hashes(data)
	up, err := e.g.InitiateMultipartUpload(ctx, "v", "big one", partSize)
	if err != nil {
		t.Fatal(err)
	}
	ranges := treehash.Ranges(int64(len(data)), partSize)
	var roots [][32]byte
	for _, r := range ranges {
		_, th := hashes(data[r.Start : r.End+1])
		d, _ := treehash.ParseHex(th)
		roots = append(roots, d)
	}
	// Upload out of order, one part twice; read from one shared file-like
	// reader positioned per part.
	for _, i := range []int{2, 0, 3, 1, 2} {
		r := ranges[i]
		part := data[r.Start : r.End+1]
		plin, ptree := hashes(part)
		body := bytes.NewReader(data)
		body.Seek(r.Start, io.SeekStart)
		if err := e.g.UploadPart(ctx, "v", up, r.Start, body, r.Len(), ptree, plin); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	parts, ps, err := e.g.ListParts(ctx, "v", up)
	if err != nil || ps != partSize || len(parts) != 4 {
		t.Fatalf("ListParts = %v, %d, %v", parts, ps, err)
	}
	for i, p := range parts {
		if p.Start != ranges[i].Start || p.End != ranges[i].End || p.TreeHash != treehash.Hex(roots[i]) {
			t.Errorf("part %d = %+v, want %v", i, p, ranges[i])
		}
	}
	ups, err := e.g.ListMultipartUploads(ctx, "v")
	if err != nil || len(ups) != 1 || ups[0].ID != up || ups[0].PartSize != partSize || ups[0].Description != "big one" || ups[0].Created.IsZero() {
		t.Fatalf("ListMultipartUploads = %+v, %v", ups, err)
	}
	// A part whose range does not fit the part size is refused.
	if err := e.g.UploadPart(ctx, "v", up, MiB, bytes.NewReader(data[:partSize]), partSize, tree, lin); err == nil {
		t.Error("misaligned part accepted")
	}
	combined := treehash.Hex(treehash.Combine(roots))
	if combined != tree {
		t.Fatalf("Combine = %s, whole tree %s", combined, tree)
	}
	if _, err := e.g.CompleteMultipartUpload(ctx, "v", up, int64(len(data)), strings.Repeat("1", 64)); aws.Code(err) != "InvalidParameterValueException" {
		t.Errorf("complete with a wrong hash = %v", err)
	}
	id, err := e.g.CompleteMultipartUpload(ctx, "v", up, int64(len(data)), combined)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.g.ListParts(ctx, "v", up); err == nil {
		t.Error("ListParts works after completion")
	}

	j, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
	if err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	out, err := e.g.GetJobOutput(ctx, "v", j, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); !bytes.Equal(got, data) || out.TreeHash != tree || out.Description != "big one" {
		t.Error("multipart archive reads back different")
	}

	// Abort.
	up2, err := e.g.InitiateMultipartUpload(ctx, "v", "", MiB)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.AbortMultipartUpload(ctx, "v", up2); err != nil {
		t.Fatal(err)
	}
	if ups, err := e.g.ListMultipartUploads(ctx, "v"); err != nil || len(ups) != 0 {
		t.Errorf("uploads after abort = %+v, %v", ups, err)
	}
	if _, _, err := e.g.ListParts(ctx, "v", up2); !aws.IsNotFound(err) {
		t.Errorf("ListParts of an aborted upload = %v", err)
	}
}

// More parts and uploads than one page (50) holds.
func TestSimMultipartPagination(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	part := randomData(MiB, 3)
	plin, ptree := hashes(part)
	up, err := e.g.InitiateMultipartUpload(ctx, "v", "", MiB)
	if err != nil {
		t.Fatal(err)
	}
	const n = 53
	for i := range n {
		if err := e.g.UploadPart(ctx, "v", up, int64(i)*MiB, bytes.NewReader(part), MiB, ptree, plin); err != nil {
			t.Fatal(err)
		}
	}
	parts, _, err := e.g.ListParts(ctx, "v", up)
	if err != nil || len(parts) != n {
		t.Fatalf("ListParts = %d parts, %v", len(parts), err)
	}
	for i, p := range parts {
		if p.Start != int64(i)*MiB {
			t.Fatalf("part %d starts at %d", i, p.Start)
		}
	}
	for range 52 {
		if _, err := e.g.InitiateMultipartUpload(ctx, "v", "", MiB); err != nil {
			t.Fatal(err)
		}
	}
	ups, err := e.g.ListMultipartUploads(ctx, "v")
	if err != nil || len(ups) != 53 {
		t.Fatalf("ListMultipartUploads = %d, %v", len(ups), err)
	}
}

func TestSimInventory(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	descs := []string{"plain", `with "quotes", and a comma`, `ends with a backslash\`}
	ids := map[string]int{} // archive ID -> index in descs; its size is 100+index
	for i, d := range descs {
		ids[e.upload(t, "v", d, randomData(100+i, byte(i)))] = i
	}
	if err := e.sim.ForceInventory("v"); err != nil {
		t.Fatal(err)
	}
	v, err := e.g.DescribeVault(ctx, "v")
	if err != nil || v.Archives != 3 || v.LastInventory.IsZero() {
		t.Errorf("DescribeVault after inventory = %+v, %v", v, err)
	}

	for _, format := range []string{"JSON", "CSV"} {
		t.Run(format, func(t *testing.T) {
			jobID, err := e.g.InitiateInventoryRetrieval(ctx, "v", aws.InventoryRequest{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			e.tick(t)
			j, err := e.g.DescribeJob(ctx, "v", jobID)
			if err != nil || j.Action != aws.ActionInventoryRetrieval || j.Status != aws.StatusSucceeded || j.Format != format || j.InventorySize <= 0 {
				t.Fatalf("inventory job = %+v, %v", j, err)
			}
			out, err := e.g.GetJobOutput(ctx, "v", jobID, -1, -1)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, out)
			if out.TreeHash != "" || int64(len(body)) != j.InventorySize {
				t.Errorf("inventory output: hash %q, %d bytes of %d", out.TreeHash, len(body), j.InventorySize)
			}
			var inv aws.Inventory
			if format == "JSON" {
				inv, err = aws.ParseInventory(bytes.NewReader(body))
			} else {
				inv, err = aws.ParseInventoryCSV(bytes.NewReader(body))
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if len(inv.Archives) != 3 {
				t.Fatalf("%d archives in\n%s", len(inv.Archives), body)
			}
			for _, a := range inv.Archives {
				i, ok := ids[a.ID]
				if !ok || a.Description != descs[i] || a.Size != int64(100+i) || a.Created.IsZero() || len(a.TreeHash) != 64 {
					t.Errorf("archive %+v (known %v, want description %q)", a, ok, descs[i])
				}
			}
			if format == "JSON" && (inv.VaultARN != v.ARN || inv.Date.IsZero()) {
				t.Errorf("inventory header = %q %v", inv.VaultARN, inv.Date)
			}
		})
	}
}

func TestSimNotificationsThroughQueues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e, "v")
	id := e.upload(t, "v", "", []byte("payload"))

	topic, err := e.topic.CreateTopic(ctx, "freezer-jobs")
	if err != nil {
		t.Fatal(err)
	}
	queues := map[bool]string{} // raw delivery -> queue URL
	for _, raw := range []bool{false, true} {
		url, err := e.q.CreateQueue(ctx, fmt.Sprintf("jobs-raw-%v", raw))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.q.QueueURL(ctx, fmt.Sprintf("jobs-raw-%v", raw)); err != nil || got != url {
			t.Fatalf("QueueURL = %q, %v; CreateQueue said %q", got, err, url)
		}
		arn, err := e.q.QueueARN(ctx, url)
		if err != nil || !strings.HasPrefix(arn, "arn:aws:sqs:") {
			t.Fatalf("QueueARN = %q, %v", arn, err)
		}
		if err := e.q.SetQueuePolicy(ctx, url, arn, topic); err != nil {
			t.Fatal(err)
		}
		sub, err := e.topic.Subscribe(ctx, topic, arn, raw)
		if err != nil || sub == "" {
			t.Fatalf("Subscribe = %q, %v", sub, err)
		}
		queues[raw] = url
	}
	if err := e.g.SetVaultNotifications(ctx, "v", topic, []string{aws.EventArchiveRetrievalCompleted}); err != nil {
		t.Fatal(err)
	}
	jobID, err := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
	if err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	for raw, url := range queues {
		msgs, err := e.q.Receive(ctx, url, 10, 2*time.Second, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("raw=%v: %d messages", raw, len(msgs))
		}
		m := msgs[0]
		var probe map[string]any
		if err := json.Unmarshal([]byte(m.Body), &probe); err != nil {
			t.Fatal(err)
		}
		if _, isEnvelope := probe["Type"]; isEnvelope == raw {
			t.Errorf("raw=%v: body %s", raw, m.Body)
		}
		j, err := aws.ParseJobNotification(m.Body)
		if err != nil {
			t.Fatalf("raw=%v: %v\n%s", raw, err, m.Body)
		}
		if j.ID != jobID || j.Status != aws.StatusSucceeded || !j.Completed || j.ArchiveID != id || j.ArchiveSize != 7 {
			t.Errorf("raw=%v: notified job = %+v", raw, j)
		}
		if err := e.q.Delete(ctx, url, m.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if msgs, err := e.q.Receive(ctx, url, 10, 0, 0); err != nil || len(msgs) != 0 {
			t.Errorf("raw=%v: after delete: %d messages, %v", raw, len(msgs), err)
		}
	}

	// Publish directly: the envelope carries the subject.
	if _, err := e.topic.Publish(ctx, topic, "hello", "not a job"); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.q.Receive(ctx, queues[false], 1, time.Second, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("published message = %+v, %v", msgs, err)
	}
	var env struct{ Subject, Message string }
	if err := json.Unmarshal([]byte(msgs[0].Body), &env); err != nil || env.Subject != "hello" || env.Message != "not a job" {
		t.Errorf("published envelope = %+v, %v", env, err)
	}
	if _, err := aws.ParseJobNotification(msgs[0].Body); err == nil {
		t.Error("a message that is not a job was parsed as one")
	}
	// The raw subscriber got the bare message.
	msgs, err = e.q.Receive(ctx, queues[true], 1, time.Second, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "not a job" {
		t.Fatalf("raw published message = %+v, %v", msgs, err)
	}
	if err := e.q.Delete(ctx, queues[true], msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}

	// A long poll on an empty queue waits and returns nothing.
	start := time.Now()
	msgs, err = e.q.Receive(ctx, queues[true], 1, time.Second, 0)
	if err != nil || len(msgs) != 0 || time.Since(start) < 900*time.Millisecond {
		t.Errorf("empty long poll: %d messages after %v, %v", len(msgs), time.Since(start), err)
	}
	if _, err := e.q.Receive(ctx, strings.TrimSuffix(queues[true], "true")+"nope", 1, 0, 0); !aws.IsNotFound(err) {
		t.Errorf("Receive on a missing queue = %v (code %q)", err, aws.Code(err))
	}
}

func TestSimFaultsAreRetried(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []sim.FaultKind{sim.FaultThrottling, sim.FaultServiceUnavailable, sim.FaultRequestTimeout, sim.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, nil)
			mustCreate(t, e, "v")
			if _, err := e.sim.Faults().Add(sim.Fault{Op: "DescribeVault", Kind: kind, Count: 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.g.DescribeVault(ctx, "v"); err != nil {
				t.Fatalf("DescribeVault through two %s faults: %v", kind, err)
			}
			if n := e.sim.Faults().FiredFor("DescribeVault"); n != 2 {
				t.Errorf("%d faults fired, want 2", n)
			}
		})
	}
	t.Run("exhausted", func(t *testing.T) {
		e := newEnv(t, func(s *aws.Settings) { s.MaxAttempts = 2 })
		mustCreate(t, e, "v")
		e.sim.Faults().Add(sim.Fault{Op: "DescribeVault", Kind: sim.FaultThrottling, Count: 5})
		_, err := e.g.DescribeVault(ctx, "v")
		if aws.Code(err) != "ThrottlingException" || e.sim.Faults().FiredFor("DescribeVault") != 2 {
			t.Errorf("err = %v after %d attempts", err, e.sim.Faults().FiredFor("DescribeVault"))
		}
	})
	t.Run("upload reset mid-body", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e, "v")
		e.sim.Faults().Add(sim.Fault{Op: "UploadArchive", Kind: sim.FaultReset, Count: 1, AfterBytes: MiB})
		data := randomData(3*MiB, 4)
		id := e.upload(t, "v", "", data)
		if e.sim.Faults().FiredFor("UploadArchive") != 1 || id == "" {
			t.Fatal("the reset did not happen")
		}
		j, _ := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
		e.tick(t)
		out, err := e.g.GetJobOutput(ctx, "v", j, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readAll(t, out), data) {
			t.Error("archive uploaded through a reset reads back different")
		}
	})
	t.Run("stalled upload is cut and retried", func(t *testing.T) {
		e := newEnv(t, func(s *aws.Settings) {
			s.CallTimeout, s.StallTimeout = 300*time.Millisecond, 300*time.Millisecond
		})
		mustCreate(t, e, "v")
		// The service holds the request without reading its body.
		e.sim.Faults().Add(sim.Fault{Op: "UploadArchive", Kind: sim.FaultDelay, Count: 1, Delay: sim.Duration(3 * time.Second)})
		start := time.Now()
		e.upload(t, "v", "", randomData(4*MiB, 5))
		if time.Since(start) > 2500*time.Millisecond || e.sim.Faults().FiredFor("UploadArchive") != 1 {
			t.Errorf("took %v with %d faults: the stalled attempt was not cut", time.Since(start), e.sim.Faults().FiredFor("UploadArchive"))
		}
	})
	t.Run("download cut short is an error", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e, "v")
		data := randomData(2*MiB, 6)
		id := e.upload(t, "v", "", data)
		j, _ := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
		e.tick(t)
		e.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultReset, Count: 1, AfterBytes: MiB})
		out, err := e.g.GetJobOutput(ctx, "v", j, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err == nil || len(got) >= len(data) {
			t.Fatalf("cut download: %d bytes, err %v; want an error", len(got), err)
		}
	})
	t.Run("corrupted download is caught by the tree hash", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e, "v")
		data := randomData(3*MiB, 7)
		id := e.upload(t, "v", "", data)
		j, _ := e.g.InitiateArchiveRetrieval(ctx, "v", aws.RetrievalRequest{ArchiveID: id})
		e.tick(t)
		e.sim.Faults().Add(sim.Fault{Op: "GetJobOutput", Kind: sim.FaultCorrupt, Count: 1})
		out, err := e.g.GetJobOutput(ctx, "v", j, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		_, tree := hashes(readAll(t, out))
		if tree == out.TreeHash {
			t.Fatal("corrupted bytes match the announced tree hash")
		}
	})
	t.Run("slow answer times out and is retried", func(t *testing.T) {
		e := newEnv(t, func(s *aws.Settings) { s.CallTimeout = 300 * time.Millisecond })
		mustCreate(t, e, "v")
		e.sim.Faults().Add(sim.Fault{Op: "DescribeVault", Kind: sim.FaultDelay, Count: 1, Delay: sim.Duration(3 * time.Second)})
		start := time.Now()
		if _, err := e.g.DescribeVault(ctx, "v"); err != nil {
			t.Fatalf("DescribeVault after a delayed attempt: %v", err)
		}
		if time.Since(start) > 2500*time.Millisecond {
			t.Errorf("took %v: the delayed attempt was not cut at the call timeout", time.Since(start))
		}
	})
}

func TestSimAuth(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(s *aws.Settings) { s.AccountID = "123456789012" })
	if _, err := e.g.CreateVault(ctx, "v"); err != nil {
		t.Fatalf("explicit account ID: %v", err)
	}
	other := newEnv(t, func(s *aws.Settings) { s.AccountID = "999999999999" })
	if _, err := other.g.CreateVault(ctx, "v"); aws.Code(err) != "AccessDeniedException" {
		t.Errorf("wrong account ID: %v", err)
	}
	bad := newEnv(t, func(s *aws.Settings) { s.SecretKey = "wrong" })
	_, err := bad.g.ListVaults(ctx)
	if err == nil || aws.Code(err) == "" {
		t.Fatalf("wrong secret key: %v", err)
	}
	var te *aws.TimeoutError
	if errors.As(err, &te) {
		t.Errorf("wrong secret key reported as a timeout: %v", err)
	}
}

// TestClientsWithoutCABundle: without AWS_CA_BUNDLE the SDK's configuration
// carries no HTTP client; the service clients used to get that nil and
// panic on their first call (every freezer command on a plain machine).
func TestClientsWithoutCABundle(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	e := newEnv(t, nil)
	if _, err := e.g.ListVaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.topic.CreateTopic(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.CreateQueue(context.Background(), "q"); err != nil {
		t.Fatal(err)
	}
}
