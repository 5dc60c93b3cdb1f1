package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestArchiveRetrieval(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	data := randomBytes(5, 3*mib+500)
	id := h.upload("v", data, "my desc")
	created := h.clock.Now()
	jobID := h.initiateRetrieval("v", id, "")

	d := h.describeJob("v", jobID)
	if d.Completed || d.StatusCode != types.StatusCodeInProgress || d.SHA256TreeHash != nil || d.StatusMessage != nil || d.CompletionDate != nil {
		t.Errorf("in progress: %+v", d)
	}
	if aws.ToString(d.ArchiveId) != id || aws.ToInt64(d.ArchiveSizeInBytes) != int64(len(data)) ||
		aws.ToString(d.ArchiveSHA256TreeHash) != refTreeHash(data) || aws.ToString(d.Tier) != "Standard" ||
		aws.ToString(d.RetrievalByteRange) != fmt.Sprintf("0-%d", len(data)-1) || d.Action != types.ActionCodeArchiveRetrieval {
		t.Errorf("in progress: %+v", d)
	}
	_, err := h.gl.GetJobOutput(ctx(t), &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(jobID)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "The job is not currently available for download: "+jobID)

	h.clock.Advance(DefaultStandardDelay - time.Millisecond)
	if h.describeJob("v", jobID).Completed {
		t.Fatal("job completed before its tier delay")
	}
	h.clock.Advance(time.Millisecond)
	d = h.describeJob("v", jobID)
	if !d.Completed || d.StatusCode != types.StatusCodeSucceeded || aws.ToString(d.StatusMessage) != "Succeeded" ||
		aws.ToString(d.SHA256TreeHash) != refTreeHash(data) || aws.ToString(d.CompletionDate) != fmtMillis(created.Add(DefaultStandardDelay)) {
		t.Errorf("succeeded: %+v", d)
	}

	got, out := h.readOutput("v", jobID, "")
	if !bytes.Equal(got, data) || out.Status != 200 || aws.ToString(out.Checksum) != refTreeHash(data) ||
		aws.ToString(out.ContentType) != "application/octet-stream" || aws.ToString(out.ArchiveDescription) != "my desc" ||
		aws.ToString(out.AcceptRanges) != "bytes" {
		t.Errorf("full output: status %d, checksum %v, type %v, desc %v", out.Status, aws.ToString(out.Checksum), aws.ToString(out.ContentType), aws.ToString(out.ArchiveDescription))
	}

	size := len(data)
	tests := []struct {
		rng        string
		start, end int // [start, end)
		treeHash   bool
	}{
		{"bytes=0-1048575", 0, mib, true},
		{"bytes=0-2097151", 0, 2 * mib, true},
		{"bytes=1048576-2097151", mib, 2 * mib, true},
		{"bytes=1048576-3145727", mib, 3 * mib, false}, // megabyte aligned, not tree-hash aligned
		{"bytes=0-3145727", 0, 3 * mib, false},
		{"bytes=2097152-", 2 * mib, size, true},
		{fmt.Sprintf("bytes=3145728-%d", size-1), 3 * mib, size, true},
		{"bytes=0-999", 0, 1000, false},
		{"bytes=5-1048575", 5, mib, false},
		{"bytes=-100", size - 100, size, false},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			got, out := h.readOutput("v", jobID, tt.rng)
			if !bytes.Equal(got, data[tt.start:tt.end]) {
				t.Errorf("%d bytes, want data[%d:%d]", len(got), tt.start, tt.end)
			}
			if out.Status != 206 || aws.ToString(out.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end-1, size) {
				t.Errorf("status %d, Content-Range %q", out.Status, aws.ToString(out.ContentRange))
			}
			sum := aws.ToString(out.Checksum)
			switch {
			case tt.treeHash && sum != refTreeHash(data[tt.start:tt.end]):
				t.Errorf("x-amz-sha256-tree-hash %q, want the range's tree hash", sum)
			case !tt.treeHash && sum != "":
				t.Errorf("x-amz-sha256-tree-hash %q on a range that is not tree-hash aligned", sum)
			}
		})
	}
	_, err = h.gl.GetJobOutput(ctx(t), &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(jobID), Range: aws.String(fmt.Sprintf("bytes=%d-", size))})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "range")
}

func TestRetrievalByteRange(t *testing.T) {
	h := newHarness(t, Options{JobDelay: aws.Duration(0)})
	h.createVault("v")
	data := randomBytes(6, 3*mib+500)
	id := h.upload("v", data, "")
	size := len(data)
	tests := []struct {
		rng      string
		ok       bool
		treeHash bool // of the job range
	}{
		{"1048576-2097151", true, true},
		{"0-2097151", true, true},
		{"0-3145727", true, false},
		{fmt.Sprintf("1048576-%d", size-1), true, false},
		{fmt.Sprintf("2097152-%d", size-1), true, true},
		{fmt.Sprintf("0-%d", size-1), true, true},
		{"1-1048575", false, false},
		{"0-1048574", false, false},
		{"0-1048576", false, false},
		{fmt.Sprintf("0-%d", size), false, false},
		{"2097151-1048576", false, false},
		{"0-", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			jobID, err := h.tryInitiate("v", &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), RetrievalByteRange: aws.String(tt.rng)})
			if !tt.ok {
				wantAPIError(t, err, "InvalidParameterValueException", 400, "RetrievalByteRange")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var start, end int
			fmt.Sscanf(tt.rng, "%d-%d", &start, &end)
			end++
			d := h.describeJob("v", jobID)
			if aws.ToString(d.RetrievalByteRange) != tt.rng {
				t.Errorf("RetrievalByteRange %q", aws.ToString(d.RetrievalByteRange))
			}
			if tt.treeHash != (d.SHA256TreeHash != nil) || (tt.treeHash && aws.ToString(d.SHA256TreeHash) != refTreeHash(data[start:end])) {
				t.Errorf("SHA256TreeHash %v, want aligned=%v", aws.ToString(d.SHA256TreeHash), tt.treeHash)
			}
			got, out := h.readOutput("v", jobID, "")
			if !bytes.Equal(got, data[start:end]) {
				t.Error("output differs from the requested range")
			}
			if (aws.ToString(out.Checksum) != "") != tt.treeHash {
				t.Errorf("checksum header %q, want present=%v", aws.ToString(out.Checksum), tt.treeHash)
			}
			// A range inside the output is relative to the job's range.
			got, out = h.readOutput("v", jobID, "bytes=0-1023")
			if !bytes.Equal(got, data[start:start+1024]) || aws.ToString(out.Checksum) != "" {
				t.Error("relative range")
			}
		})
	}
}

func TestJobOutputExpiry(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	id := h.upload("v", []byte("expiring"), "")
	jobID := h.initiateRetrieval("v", id, "")
	h.clock.Advance(DefaultStandardDelay + 24*time.Hour - time.Second)
	if got, _ := h.readOutput("v", jobID, ""); string(got) != "expiring" {
		t.Fatalf("output %q", got)
	}
	h.clock.Advance(2 * time.Second)
	_, err := h.gl.GetJobOutput(ctx(t), &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(jobID)})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "The job ID was not found: "+jobID)
	_, err = h.gl.DescribeJob(ctx(t), &glacier.DescribeJobInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(jobID)})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")
}

func TestArchiveDeletedDuringJob(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	a := h.upload("v", []byte("deleted while retrieving"), "")
	b := h.upload("v", []byte("deleted after retrieval"), "")
	jobA := h.initiateRetrieval("v", a, "")
	jobB := h.initiateRetrieval("v", b, "")
	del := func(id string) {
		if _, err := h.gl.DeleteArchive(ctx(t), &glacier.DeleteArchiveInput{AccountId: aws.String("-"), VaultName: aws.String("v"), ArchiveId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	del(a)
	del(a) // idempotent
	h.clock.Advance(DefaultStandardDelay)
	d := h.describeJob("v", jobA)
	if d.StatusCode != types.StatusCodeFailed || !d.Completed || d.SHA256TreeHash != nil {
		t.Errorf("job of a deleted archive: %+v", d)
	}
	_, err := h.gl.GetJobOutput(ctx(t), &glacier.GetJobOutputInput{AccountId: aws.String("-"), VaultName: aws.String("v"), JobId: aws.String(jobA)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "not currently available")

	del(b)
	if got, _ := h.readOutput("v", jobB, ""); string(got) != "deleted after retrieval" {
		t.Errorf("output of a job completed before the delete: %q", got)
	}
	// A new retrieval of the deleted archive is accepted and fails.
	jobC := h.initiateRetrieval("v", a, "")
	h.clock.Advance(DefaultStandardDelay)
	if d := h.describeJob("v", jobC); d.StatusCode != types.StatusCodeFailed {
		t.Errorf("retrieval of a deleted archive: %s", d.StatusCode)
	}

	// An archive ID from another vault, and a malformed one.
	h.createVault("w")
	c := h.upload("w", []byte("elsewhere"), "")
	_, err = h.tryInitiate("v", &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(c)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Invalid vault name")
	_, err = h.gl.DeleteArchive(ctx(t), &glacier.DeleteArchiveInput{AccountId: aws.String("-"), VaultName: aws.String("v"), ArchiveId: aws.String("short")})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "")
}

func TestInitiateJobValidation(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	id := h.upload("v", []byte("x"), "")
	tests := []struct {
		name string
		p    types.JobParameters
		code string
	}{
		{"no type", types.JobParameters{ArchiveId: aws.String(id)}, "MissingParameterValueException"},
		{"bad type", types.JobParameters{Type: aws.String("archive"), ArchiveId: aws.String(id)}, "InvalidParameterValueException"},
		{"no archive", types.JobParameters{Type: aws.String("archive-retrieval")}, "MissingParameterValueException"},
		{"bad tier", types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Tier: aws.String("Fast")}, "InvalidParameterValueException"},
		{"archive on inventory", types.JobParameters{Type: aws.String("inventory-retrieval"), ArchiveId: aws.String(id)}, "InvalidParameterValueException"},
		{"range on inventory", types.JobParameters{Type: aws.String("inventory-retrieval"), RetrievalByteRange: aws.String("0-0")}, "InvalidParameterValueException"},
		{"bad format", types.JobParameters{Type: aws.String("inventory-retrieval"), Format: aws.String("XML")}, "InvalidParameterValueException"},
		{"format on archive", types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Format: aws.String("JSON")}, "InvalidParameterValueException"},
		{"description", types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Description: aws.String("tab\there")}, "InvalidParameterValueException"},
		{"missing topic", types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), SNSTopic: aws.String("arn:aws:sns:us-east-1:123456789012:none")}, "InvalidParameterValueException"},
		{"unknown archive", types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(strings.Repeat("A", 138))}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.tryInitiate("v", &tt.p)
			if apiCode(err) != tt.code {
				t.Errorf("got %v, want %s", err, tt.code)
			}
		})
	}
	// The body is the flat JobParameters object; the wrapper shown in the
	// developer guide's syntax block is refused.
	req := h.signedRequest(http.MethodPost, "/-/vaults/v/jobs", []byte(`{"jobParameters":{"Type":"inventory-retrieval"}}`), map[string]string{"Content-Type": "application/json"})
	resp, body := h.rawDo(req)
	if resp.StatusCode != 400 {
		t.Errorf("wrapped parameters: %d %s", resp.StatusCode, body)
	}
}

func TestInventory(t *testing.T) {
	h := newHarness(t, Options{InventoryInterval: DefaultInventoryInterval, JobDelay: aws.Duration(time.Hour)})
	h.createVault("v")
	vaultCreated := h.clock.Now()
	_, err := h.tryInitiate("v", &types.JobParameters{Type: aws.String("inventory-retrieval")})
	wantAPIError(t, err, "ResourceNotFoundException", 404,
		"Inventory retrieval jobs for vault arn:aws:glacier:us-east-1:123456789012:vaults/v cannot be initiated yet")

	h.clock.Advance(time.Minute)
	a1 := randomBytes(8, 1000)
	id1 := h.upload("v", a1, `quote " comma , backslash \ end`)
	h.clock.Advance(time.Minute)
	a2 := randomBytes(9, 2*mib)
	id2 := h.upload("v", a2, "")

	describe := func() *glacier.DescribeVaultOutput {
		out, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d := describe(); d.NumberOfArchives != 0 || d.LastInventoryDate != nil {
		t.Errorf("before the first inventory: %d archives, date %v", d.NumberOfArchives, d.LastInventoryDate)
	}
	h.clock.Advance(24 * time.Hour)
	invDate := vaultCreated.Add(24 * time.Hour)
	d := describe()
	if d.NumberOfArchives != 2 || d.SizeInBytes != int64(len(a1)+len(a2)+2*32768) || aws.ToString(d.LastInventoryDate) != fmtMillis(invDate) {
		t.Errorf("after the inventory: %d archives, %d bytes, date %v", d.NumberOfArchives, d.SizeInBytes, aws.ToString(d.LastInventoryDate))
	}

	// The inventory is a snapshot: a later upload is not in it.
	h.upload("v", []byte("late"), "")

	jobJSON := h.initiate("v", &types.JobParameters{Type: aws.String("inventory-retrieval")})
	jobCSV := h.initiate("v", &types.JobParameters{Type: aws.String("inventory-retrieval"), Format: aws.String("CSV")})
	dj := h.describeJob("v", jobJSON)
	if dj.Action != types.ActionCodeInventoryRetrieval || dj.InventorySizeInBytes != nil || dj.InventoryRetrievalParameters == nil ||
		aws.ToString(dj.InventoryRetrievalParameters.Format) != "JSON" || dj.ArchiveId != nil || dj.RetrievalByteRange != nil {
		t.Errorf("inventory job in progress: %+v", dj)
	}
	h.clock.Advance(time.Hour)
	out, resp := h.readOutput("v", jobJSON, "")
	if aws.ToString(resp.ContentType) != "application/json" || resp.Checksum != nil {
		t.Errorf("inventory output headers: type %v checksum %v", aws.ToString(resp.ContentType), resp.Checksum)
	}
	if dj := h.describeJob("v", jobJSON); aws.ToInt64(dj.InventorySizeInBytes) != int64(len(out)) {
		t.Errorf("InventorySizeInBytes %d, output %d bytes", aws.ToInt64(dj.InventorySizeInBytes), len(out))
	}
	want := fmt.Sprintf(`{"VaultARN":"arn:aws:glacier:us-east-1:123456789012:vaults/v","InventoryDate":"%s","ArchiveList":[`+
		`{"ArchiveId":"%s","ArchiveDescription":"quote \" comma , backslash \\ end","CreationDate":"%s","Size":1000,"SHA256TreeHash":"%s"},`+
		`{"ArchiveId":"%s","ArchiveDescription":"","CreationDate":"%s","Size":%d,"SHA256TreeHash":"%s"}]}`,
		fmtSeconds(invDate), id1, fmtSeconds(vaultCreated.Add(time.Minute)), refTreeHash(a1),
		id2, fmtSeconds(vaultCreated.Add(2*time.Minute)), len(a2), refTreeHash(a2))
	if string(out) != want {
		t.Errorf("inventory JSON\n got %s\nwant %s", out, want)
	}
	csv, resp := h.readOutput("v", jobCSV, "")
	wantCSV := "ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n" +
		fmt.Sprintf(`%s,"quote \" comma , backslash \ end",%s,1000,%s`+"\n", id1, fmtSeconds(vaultCreated.Add(time.Minute)), refTreeHash(a1)) +
		fmt.Sprintf(`%s,"",%s,%d,%s`+"\n", id2, fmtSeconds(vaultCreated.Add(2*time.Minute)), len(a2), refTreeHash(a2))
	if string(csv) != wantCSV || aws.ToString(resp.ContentType) != "text/csv" {
		t.Errorf("inventory CSV (%s)\n got %s\nwant %s", aws.ToString(resp.ContentType), csv, wantCSV)
	}

	// Paged inventory with Limit and Marker.
	p1 := h.initiate("v", &types.JobParameters{Type: aws.String("inventory-retrieval"),
		InventoryRetrievalParameters: &types.InventoryRetrievalJobInput{Limit: aws.String("1")}})
	h.clock.Advance(time.Hour)
	d1 := h.describeJob("v", p1)
	if aws.ToString(d1.InventoryRetrievalParameters.Marker) != id2 || aws.ToString(d1.InventoryRetrievalParameters.Limit) != "1" {
		t.Fatalf("page 1 parameters: %+v", d1.InventoryRetrievalParameters)
	}
	p2 := h.initiate("v", &types.JobParameters{Type: aws.String("inventory-retrieval"),
		InventoryRetrievalParameters: &types.InventoryRetrievalJobInput{Limit: aws.String("1"), Marker: d1.InventoryRetrievalParameters.Marker}})
	h.clock.Advance(time.Hour)
	if d2 := h.describeJob("v", p2); d2.InventoryRetrievalParameters.Marker != nil {
		t.Errorf("last page marker %v", aws.ToString(d2.InventoryRetrievalParameters.Marker))
	}
	page2, _ := h.readOutput("v", p2, "")
	var inv struct{ ArchiveList []struct{ ArchiveId string } }
	if err := json.Unmarshal(page2, &inv); err != nil || len(inv.ArchiveList) != 1 || inv.ArchiveList[0].ArchiveId != id2 {
		t.Errorf("page 2: %s", page2)
	}
}

func TestInventoryAlwaysCurrent(t *testing.T) {
	h := newHarness(t, Options{}) // InventoryInterval 0
	h.createVault("v")
	id := h.upload("v", []byte("now"), "")
	out, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")})
	if err != nil || out.NumberOfArchives != 1 {
		t.Fatalf("DescribeVault: %v %+v", err, out)
	}
	if _, err := h.gl.DeleteArchive(ctx(t), &glacier.DeleteArchiveInput{AccountId: aws.String("-"), VaultName: aws.String("v"), ArchiveId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gl.DeleteVault(ctx(t), &glacier.DeleteVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")}); err != nil {
		t.Fatalf("DeleteVault right after emptying it: %v", err)
	}
}

func TestListJobs(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	id := h.upload("v", []byte("jobs"), "")
	var ids []string
	for i, tier := range []string{"Expedited", "Standard", "Bulk", "Standard", "Expedited"} {
		ids = append(ids, h.initiate("v", &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Tier: aws.String(tier)}))
		if i < 4 {
			h.clock.Advance(time.Millisecond)
		}
	}
	h.clock.Advance(DefaultExpeditedDelay) // the two Expedited jobs complete
	list := func(in *glacier.ListJobsInput) ([]string, *string) {
		in.AccountId, in.VaultName = aws.String("-"), aws.String("v")
		out, err := h.gl.ListJobs(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range out.JobList {
			got = append(got, aws.ToString(j.JobId))
		}
		return got, out.Marker
	}
	var all []string
	var marker *string
	for pages := 0; pages < 5; pages++ {
		got, m := list(&glacier.ListJobsInput{Limit: aws.Int32(2), Marker: marker})
		all = append(all, got...)
		if marker = m; marker == nil {
			break
		}
	}
	if strings.Join(all, ",") != strings.Join(ids, ",") {
		t.Errorf("paged ListJobs: %v, want %v (by initiation time)", all, ids)
	}
	if got, _ := list(&glacier.ListJobsInput{Completed: aws.String("true")}); len(got) != 2 || got[0] != ids[0] || got[1] != ids[4] {
		t.Errorf("completed=true: %v", got)
	}
	if got, _ := list(&glacier.ListJobsInput{Statuscode: aws.String("InProgress")}); len(got) != 3 {
		t.Errorf("statuscode=InProgress: %v", got)
	}
	if got, _ := list(&glacier.ListJobsInput{Statuscode: aws.String("Succeeded"), Completed: aws.String("false")}); len(got) != 0 {
		t.Errorf("Succeeded and not completed: %v", got)
	}
	_, err := h.gl.ListJobs(ctx(t), &glacier.ListJobsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), Statuscode: aws.String("finished")})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "The job status code is not valid: finished")
	_, err = h.gl.ListJobs(ctx(t), &glacier.ListJobsInput{AccountId: aws.String("-"), VaultName: aws.String("v"), Limit: aws.Int32(51)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "limit")
}

// TestJobNotifications runs the whole chain: job completion publishes the
// DescribeJob JSON to the job's topic and to the vault's topic, SNS delivers
// the envelope to a subscribed SQS queue.
func TestJobNotifications(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	topic := h.createTopic("glacier")
	cfg := h.awsConfig(nil)
	sq := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	sn := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
	qarn := "arn:aws:sqs:us-east-1:123456789012:jobs"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"` + qarn + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + topic + `"}}}]}`
	q, err := sq.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"Policy": policy}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(qarn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gl.SetVaultNotifications(ctx(t), &glacier.SetVaultNotificationsInput{AccountId: aws.String("-"), VaultName: aws.String("v"),
		VaultNotificationConfig: &types.VaultNotificationConfig{SNSTopic: aws.String(topic), Events: []string{"ArchiveRetrievalCompleted"}}}); err != nil {
		t.Fatal(err)
	}
	id := h.upload("v", []byte("notify me"), "")
	jobID := h.initiate("v", &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), SNSTopic: aws.String(topic), Tier: aws.String("Bulk")})
	h.clock.Advance(DefaultBulkDelay)
	if err := h.sim.Tick(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for len(bodies) < 3 {
		out, err := sq.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if len(bodies) != 2 {
		t.Fatalf("%d notifications, want 2 (job topic and vault topic): %v", len(bodies), bodies)
	}
	for _, b := range bodies {
		var env struct{ Type, TopicArn, Message string }
		if err := json.Unmarshal([]byte(b), &env); err != nil || env.Type != "Notification" || env.TopicArn != topic {
			t.Fatalf("envelope %s: %v", b, err)
		}
		var job map[string]any
		if err := json.Unmarshal([]byte(env.Message), &job); err != nil {
			t.Fatalf("message %s: %v", env.Message, err)
		}
		if job["JobId"] != jobID || job["Completed"] != true || job["StatusCode"] != "Succeeded" || job["Action"] != "ArchiveRetrieval" {
			t.Errorf("notification body %s", env.Message)
		}
		if _, ok := job["InventorySizeInBytes"]; !ok {
			t.Errorf("null fields must be present, as in DescribeJob: %s", env.Message)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in         string
		n          int64
		start, end int64
		ok         bool
	}{
		{"bytes=0-9", 100, 0, 10, true},
		{"bytes=10-", 100, 10, 100, true},
		{"bytes=-10", 100, 90, 100, true},
		{"bytes=90-200", 100, 90, 100, true},
		{"bytes=100-", 100, 0, 0, false},
		{"bytes=5-4", 100, 0, 0, false},
		{"bytes=-", 100, 0, 0, false},
		{"bytes=0-1,5-6", 100, 0, 0, false},
		{"items=0-1", 100, 0, 0, false},
	}
	for _, tt := range tests {
		s, e, err := parseRange(tt.in, tt.n)
		if (err == nil) != tt.ok || (tt.ok && (s != tt.start || e != tt.end)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v", tt.in, tt.n, s, e, err)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-1048575", int64(4<<20))
	f.Add("bytes=-1", int64(1))
	f.Add("bytes=9223372036854775807-", int64(10))
	f.Fuzz(func(t *testing.T, v string, n int64) {
		if n <= 0 {
			return
		}
		s, e, err := parseRange(v, n)
		if err == nil && (s < 0 || e > n || s >= e) {
			t.Fatalf("parseRange(%q, %d) = [%d, %d)", v, n, s, e)
		}
	})
}

func FuzzParseRetrievalRange(f *testing.F) {
	f.Add("0-1048575", int64(3<<20))
	f.Add("1048576-3145827", int64(3<<20+100))
	f.Add("1-2", int64(10))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size <= 0 {
			return
		}
		s, e, err := parseRetrievalRange(v, size)
		if err != nil {
			return
		}
		if s < 0 || e > size || s >= e || s%mib != 0 || (e%mib != 0 && e != size) {
			t.Fatalf("accepted %q for size %d as [%d, %d)", v, size, s, e)
		}
	})
}
