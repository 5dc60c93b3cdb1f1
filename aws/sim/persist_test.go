package sim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
)

func TestRestartKeepsState(t *testing.T) {
	h := newHarness(t, Options{InventoryInterval: DefaultInventoryInterval})
	h.createVault("keep")
	topic := h.createTopic("t")
	if _, err := h.gl.SetVaultNotifications(ctx(t), &glacier.SetVaultNotificationsInput{AccountId: aws.String("-"), VaultName: aws.String("keep"),
		VaultNotificationConfig: &types.VaultNotificationConfig{SNSTopic: aws.String(topic), Events: []string{"InventoryRetrievalCompleted"}}}); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(12, mib+99)
	id := h.upload("keep", data, "kept")

	// A multipart upload with one of its two parts.
	whole := randomBytes(13, 2*mib)
	up, err := h.gl.InitiateMultipartUpload(ctx(t), &glacier.InitiateMultipartUploadInput{AccountId: aws.String("-"), VaultName: aws.String("keep"), PartSize: aws.String("1048576")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{AccountId: aws.String("-"), VaultName: aws.String("keep"), UploadId: up.UploadId,
		Range: aws.String("bytes 0-1048575/*"), Body: bytes.NewReader(whole[:mib])}); err != nil {
		t.Fatal(err)
	}
	job := h.initiateRetrieval("keep", id, "")
	// A job completed before the restart keeps its output.
	done := h.initiate("keep", &types.JobParameters{Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Tier: aws.String("Expedited")})
	h.clock.Advance(DefaultExpeditedDelay)
	h.describeJob("keep", done)

	h.restart()

	d, err := h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("keep")})
	if err != nil {
		t.Fatalf("vault lost in restart: %v", err)
	}
	if d.NumberOfArchives != 0 {
		t.Errorf("the inventory schedule changed in the restart: %d archives", d.NumberOfArchives)
	}
	n, err := h.gl.GetVaultNotifications(ctx(t), &glacier.GetVaultNotificationsInput{AccountId: aws.String("-"), VaultName: aws.String("keep")})
	if err != nil || aws.ToString(n.VaultNotificationConfig.SNSTopic) != topic {
		t.Errorf("notification config after restart: %v %+v", err, n)
	}
	if got, _ := h.readOutput("keep", done, ""); !bytes.Equal(got, data) {
		t.Error("completed job output lost in restart")
	}
	if dj := h.describeJob("keep", job); dj.Completed {
		t.Fatal("job completed early")
	}
	h.clock.Advance(DefaultStandardDelay)
	if got, _ := h.readOutput("keep", job, ""); !bytes.Equal(got, data) {
		t.Error("job started before the restart returned wrong data")
	}

	parts, err := h.gl.ListParts(ctx(t), &glacier.ListPartsInput{AccountId: aws.String("-"), VaultName: aws.String("keep"), UploadId: up.UploadId})
	if err != nil || len(parts.Parts) != 1 || aws.ToString(parts.Parts[0].SHA256TreeHash) != refTreeHash(whole[:mib]) {
		t.Fatalf("parts after restart: %v %+v", err, parts)
	}
	if _, err := h.gl.UploadMultipartPart(ctx(t), &glacier.UploadMultipartPartInput{AccountId: aws.String("-"), VaultName: aws.String("keep"), UploadId: up.UploadId,
		Range: aws.String("bytes 1048576-2097151/*"), Body: bytes.NewReader(whole[mib:])}); err != nil {
		t.Fatal(err)
	}
	out, err := h.gl.CompleteMultipartUpload(ctx(t), &glacier.CompleteMultipartUploadInput{AccountId: aws.String("-"), VaultName: aws.String("keep"), UploadId: up.UploadId,
		ArchiveSize: aws.String(fmt.Sprint(len(whole))), Checksum: aws.String(refTreeHash(whole))})
	if err != nil {
		t.Fatalf("complete an upload begun before the restart: %v", err)
	}

	// The inventory comes at its scheduled time and survives another restart.
	h.clock.Advance(24 * time.Hour)
	h.restart()
	d, err = h.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("keep")})
	if err != nil || d.NumberOfArchives != 2 {
		t.Errorf("inventory after restart: %v %+v", err, d)
	}
	inv := h.initiate("keep", &types.JobParameters{Type: aws.String("inventory-retrieval")})
	h.clock.Advance(DefaultStandardDelay)
	body, _ := h.readOutput("keep", inv, "")
	if !bytes.Contains(body, []byte(aws.ToString(out.ArchiveId))) || !bytes.Contains(body, []byte(id)) {
		t.Errorf("inventory %s", body)
	}
}

func TestLoadCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, Options{Dir: dir})
	h.createVault("v")
	h.upload("v", []byte("x"), "")
	h.close()

	// Debris of interrupted work: an archive without meta.json, a vault
	// directory without vault.json, a body in tmp.
	vdir := filepath.Join(dir, "glacier", "vaults", vaultDirName("v"))
	half := filepath.Join(vdir, "archives", "half-written")
	orphanVault := filepath.Join(dir, "glacier", "vaults", "orphan")
	for _, d := range []string{half, orphanVault} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(half, "seg-00000"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(dir, "glacier", "tmp", "body-1"), []byte("junk"), 0o600)

	h2 := newHarness(t, Options{Dir: dir})
	for _, p := range []string{half, orphanVault, filepath.Join(dir, "glacier", "tmp", "body-1")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the load", p)
		}
	}
	if _, err := h2.gl.DescribeVault(ctx(t), &glacier.DescribeVaultInput{AccountId: aws.String("-"), VaultName: aws.String("v")}); err != nil {
		t.Error(err)
	}
}
