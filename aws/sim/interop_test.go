package sim

// An independent Glacier client — aws-sdk-go v1, a separate codebase from
// the v2 SDK freezer uses, with its own signer and its own tree hash — runs
// the life cycle of an archive against the simulator and meets the errors
// AWS gives.

import (
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	v1aws "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	v1glacier "github.com/aws/aws-sdk-go/service/glacier"
)

func TestIndependentClientLifeCycle(t *testing.T) {
	zero := time.Duration(0)
	s, err := New(Options{Dir: t.TempDir(), JobDelay: &zero, InventoryInterval: DefaultInventoryInterval})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()

	sess, err := session.NewSession(&v1aws.Config{
		Endpoint:    v1aws.String(srv.URL),
		Region:      v1aws.String(DefaultRegion),
		Credentials: credentials.NewStaticCredentials(DefaultAccessKey, DefaultSecretKey, ""),
		MaxRetries:  v1aws.Int(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	g := v1glacier.New(sess)
	acct := v1aws.String("-")
	vault := v1aws.String("interop")

	wantCode := func(what string, err error, code string) {
		t.Helper()
		ae, ok := err.(awserr.Error)
		if !ok || ae.Code() != code {
			t.Errorf("%s: error %v, want %s", what, err, code)
		}
	}

	_, err = g.CreateVault(&v1glacier.CreateVaultInput{AccountId: acct, VaultName: v1aws.String("bad name!")})
	wantCode("bad vault name", err, "InvalidParameterValueException")
	if _, err := g.CreateVault(&v1glacier.CreateVaultInput{AccountId: acct, VaultName: vault}); err != nil {
		t.Fatal(err)
	}
	list, err := g.ListVaults(&v1glacier.ListVaultsInput{AccountId: acct})
	if err != nil || len(list.VaultList) != 1 || *list.VaultList[0].VaultName != "interop" {
		t.Fatalf("list vaults: %v %v", list, err)
	}

	data := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// The client computes the tree hash itself.
	h := v1glacier.ComputeHashes(bytes.NewReader(data))
	treeHash := hex.EncodeToString(h.TreeHash)

	_, err = g.UploadArchive(&v1glacier.UploadArchiveInput{AccountId: acct, VaultName: vault,
		ArchiveDescription: v1aws.String("interop test"), Body: bytes.NewReader(data),
		Checksum: v1aws.String(hex.EncodeToString(make([]byte, 32)))})
	wantCode("wrong tree hash", err, "InvalidParameterValueException")

	up, err := g.UploadArchive(&v1glacier.UploadArchiveInput{AccountId: acct, VaultName: vault,
		ArchiveDescription: v1aws.String("interop test"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if *up.Checksum != treeHash || len(*up.ArchiveId) != 138 {
		t.Fatalf("upload: checksum %s (want %s), id length %d", *up.Checksum, treeHash, len(*up.ArchiveId))
	}

	_, err = g.DeleteVault(&v1glacier.DeleteVaultInput{AccountId: acct, VaultName: vault})
	wantCode("delete non-empty vault", err, "InvalidParameterValueException")

	job, err := g.InitiateJob(&v1glacier.InitiateJobInput{AccountId: acct, VaultName: vault,
		JobParameters: &v1glacier.JobParameters{Type: v1aws.String("archive-retrieval"), ArchiveId: up.ArchiveId, Tier: v1aws.String("Expedited")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	desc, err := g.DescribeJob(&v1glacier.DescribeJobInput{AccountId: acct, VaultName: vault, JobId: job.JobId})
	if err != nil {
		t.Fatal(err)
	}
	if *desc.StatusCode != "Succeeded" || !*desc.Completed || *desc.ArchiveSizeInBytes != int64(len(data)) || *desc.SHA256TreeHash != treeHash {
		t.Fatalf("describe job: %v", desc)
	}
	out, err := g.GetJobOutput(&v1glacier.GetJobOutputInput{AccountId: acct, VaultName: vault, JobId: job.JobId})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, data) || *out.Checksum != treeHash {
		t.Fatalf("job output differs (err %v, checksum %v)", err, out.Checksum)
	}
	// A ranged, aligned download carries its own tree hash; the client
	// checks it the way it would against AWS.
	out, err = g.GetJobOutput(&v1glacier.GetJobOutputInput{AccountId: acct, VaultName: vault, JobId: job.JobId, Range: v1aws.String("bytes=1048576-2097151")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(out.Body)
	out.Body.Close()
	ph := v1glacier.ComputeHashes(bytes.NewReader(part))
	if *out.Status != 206 || out.Checksum == nil || *out.Checksum != hex.EncodeToString(ph.TreeHash) {
		t.Fatalf("ranged output: status %d checksum %v", *out.Status, out.Checksum)
	}

	_, err = g.DescribeJob(&v1glacier.DescribeJobInput{AccountId: acct, VaultName: vault, JobId: v1aws.String("nope")})
	wantCode("unknown job", err, "ResourceNotFoundException")

	if _, err := g.DeleteArchive(&v1glacier.DeleteArchiveInput{AccountId: acct, VaultName: vault, ArchiveId: up.ArchiveId}); err != nil {
		t.Fatal(err)
	}
	// Glacier deletes a vault only after an inventory shows it empty.
	_, err = g.DeleteVault(&v1glacier.DeleteVaultInput{AccountId: acct, VaultName: vault})
	wantCode("delete before inventory", err, "InvalidParameterValueException")
	if err := s.ForceInventory("interop"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.DeleteVault(&v1glacier.DeleteVaultInput{AccountId: acct, VaultName: vault}); err != nil {
		t.Fatal(err)
	}
	_, err = g.DescribeVault(&v1glacier.DescribeVaultInput{AccountId: acct, VaultName: vault})
	wantCode("deleted vault", err, "ResourceNotFoundException")
}
