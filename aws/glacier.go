package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"freezer/aws/treehash"
)

// Glacier is a client for the Glacier vault API.
type Glacier struct {
	c       *glacier.Client
	account string
}

// NewGlacier builds a Glacier client from a configuration made by LoadConfig
// and the same settings.
func NewGlacier(cfg awssdk.Config, s Settings) *Glacier {
	s = s.withDefaults()
	c := glacier.NewFromConfig(cfg, func(o *glacier.Options) {
		o.HTTPClient = s.httpClient(cfg)
		if s.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(s.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, addDeadline(s))
	})
	return &Glacier{c: c, account: s.AccountID}
}

// ---- vaults

// ListVaults returns every vault of the account and region, following pages.
func (g *Glacier) ListVaults(ctx context.Context) ([]Vault, error) {
	var out []Vault
	var marker *string
	seen := map[string]bool{}
	for {
		page, err := g.c.ListVaults(ctx, &glacier.ListVaultsInput{AccountId: &g.account, Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("list vaults: %w", err)
		}
		for _, v := range page.VaultList {
			out = append(out, vaultFrom(v))
		}
		if marker, err = nextMarker(page.Marker, seen); err != nil || marker == nil {
			return out, wrapIf(err, "list vaults")
		}
	}
}

// DescribeVault returns one vault.
func (g *Glacier) DescribeVault(ctx context.Context, vault string) (Vault, error) {
	out, err := g.c.DescribeVault(ctx, &glacier.DescribeVaultInput{AccountId: &g.account, VaultName: &vault})
	if err != nil {
		return Vault{}, fmt.Errorf("vault %s: describe: %w", vault, err)
	}
	return vaultFrom(types.DescribeVaultOutput{
		CreationDate: out.CreationDate, LastInventoryDate: out.LastInventoryDate,
		NumberOfArchives: out.NumberOfArchives, SizeInBytes: out.SizeInBytes,
		VaultARN: out.VaultARN, VaultName: out.VaultName,
	}), nil
}

// CreateVault creates a vault (idempotent) and returns its location, the
// vault's URI path.
func (g *Glacier) CreateVault(ctx context.Context, vault string) (string, error) {
	out, err := g.c.CreateVault(ctx, &glacier.CreateVaultInput{AccountId: &g.account, VaultName: &vault})
	if err != nil {
		return "", fmt.Errorf("vault %s: create: %w", vault, err)
	}
	return str(out.Location), nil
}

// DeleteVault deletes a vault. Glacier refuses unless the vault held no
// archives at its last inventory and nothing was written since.
func (g *Glacier) DeleteVault(ctx context.Context, vault string) error {
	_, err := g.c.DeleteVault(ctx, &glacier.DeleteVaultInput{AccountId: &g.account, VaultName: &vault})
	if err != nil {
		return fmt.Errorf("vault %s: delete: %w", vault, err)
	}
	return nil
}

// SetVaultNotifications makes the vault publish the given events
// (EventArchiveRetrievalCompleted, EventInventoryRetrievalCompleted) to an
// SNS topic. A vault has at most one topic.
func (g *Glacier) SetVaultNotifications(ctx context.Context, vault, topicARN string, events []string) error {
	_, err := g.c.SetVaultNotifications(ctx, &glacier.SetVaultNotificationsInput{
		AccountId: &g.account, VaultName: &vault,
		VaultNotificationConfig: &types.VaultNotificationConfig{SNSTopic: &topicARN, Events: events},
	})
	if err != nil {
		return fmt.Errorf("vault %s: set notifications to %s: %w", vault, topicARN, err)
	}
	return nil
}

// GetVaultNotifications returns the vault's notification topic and events.
// A vault without a configuration gives an error for which IsNotFound holds.
func (g *Glacier) GetVaultNotifications(ctx context.Context, vault string) (topicARN string, events []string, err error) {
	out, err := g.c.GetVaultNotifications(ctx, &glacier.GetVaultNotificationsInput{AccountId: &g.account, VaultName: &vault})
	if err != nil {
		return "", nil, fmt.Errorf("vault %s: get notifications: %w", vault, err)
	}
	if out.VaultNotificationConfig == nil {
		return "", nil, nil
	}
	return str(out.VaultNotificationConfig.SNSTopic), out.VaultNotificationConfig.Events, nil
}

// DeleteVaultNotifications removes the vault's notification configuration.
func (g *Glacier) DeleteVaultNotifications(ctx context.Context, vault string) error {
	_, err := g.c.DeleteVaultNotifications(ctx, &glacier.DeleteVaultNotificationsInput{AccountId: &g.account, VaultName: &vault})
	if err != nil {
		return fmt.Errorf("vault %s: delete notifications: %w", vault, err)
	}
	return nil
}

// ---- archives

// UploadArchive stores body (size bytes from its current position) as a new
// archive in one request and returns the archive ID. The caller gives the
// tree hash and SHA-256 it computed (hex); they are sent as
// x-amz-sha256-tree-hash and x-amz-content-sha256 and used for signing, so the
// body is read once per attempt. If Glacier answers with a different tree
// hash, the new archive's ID is returned with the error so that it can be
// deleted.
func (g *Glacier) UploadArchive(ctx context.Context, vault, description string, body io.ReadSeeker, size int64, treeHash, sha256 string) (string, error) {
	wrap := func(err error) error { return fmt.Errorf("vault %s: upload archive %q: %w", vault, description, err) }
	if err := checkUpload(description, size, treeHash, sha256); err != nil {
		return "", wrap(err)
	}
	b, err := newSizedBody(body, size)
	if err != nil {
		return "", wrap(err)
	}
	out, err := g.c.UploadArchive(ctx, &glacier.UploadArchiveInput{
		AccountId: &g.account, VaultName: &vault,
		ArchiveDescription: ptr(description),
		Body:               b,
		Checksum:           &treeHash,
	}, withPayloadHashes(sha256))
	if err != nil {
		return "", wrap(err)
	}
	return createdArchive(out.ArchiveId, out.Checksum, treeHash, wrap)
}

// DeleteArchive deletes an archive. Deleting a deleted archive succeeds.
func (g *Glacier) DeleteArchive(ctx context.Context, vault, archiveID string) error {
	_, err := g.c.DeleteArchive(ctx, &glacier.DeleteArchiveInput{AccountId: &g.account, VaultName: &vault, ArchiveId: &archiveID})
	if err != nil {
		return fmt.Errorf("vault %s: archive %s: delete: %w", vault, archiveID, err)
	}
	return nil
}

// ---- multipart uploads

// InitiateMultipartUpload starts a multipart upload of parts of partSize
// bytes (1 MiB × 2^n, up to 4 GiB) and returns its upload ID.
func (g *Glacier) InitiateMultipartUpload(ctx context.Context, vault, description string, partSize int64) (string, error) {
	wrap := func(err error) error {
		return fmt.Errorf("vault %s: start multipart upload %q: %w", vault, description, err)
	}
	if err := checkDescription(description); err != nil {
		return "", wrap(err)
	}
	if !treehash.ValidPartSize(partSize) {
		return "", wrap(fmt.Errorf("part size %d is not 1 MiB × 2^n up to 4 GiB", partSize))
	}
	ps := strconv.FormatInt(partSize, 10)
	out, err := g.c.InitiateMultipartUpload(ctx, &glacier.InitiateMultipartUploadInput{
		AccountId: &g.account, VaultName: &vault, ArchiveDescription: ptr(description), PartSize: &ps,
	})
	if err != nil {
		return "", wrap(err)
	}
	if str(out.UploadId) == "" {
		return "", wrap(errors.New("Glacier returned no upload ID"))
	}
	return *out.UploadId, nil
}

// UploadPart sends size bytes of body (from its current position) as the
// part starting at byte start. Hashes are the part's, as for UploadArchive.
// Re-sending a part replaces it.
func (g *Glacier) UploadPart(ctx context.Context, vault, uploadID string, start int64, body io.ReadSeeker, size int64, treeHash, sha256 string) error {
	end := start + size - 1
	wrap := func(err error) error {
		return fmt.Errorf("vault %s: upload %s: part %d-%d: %w", vault, uploadID, start, end, err)
	}
	if start < 0 {
		return wrap(errors.New("negative start"))
	}
	if err := checkUpload("", size, treeHash, sha256); err != nil {
		return wrap(err)
	}
	b, err := newSizedBody(body, size)
	if err != nil {
		return wrap(err)
	}
	rng := fmt.Sprintf("bytes %d-%d/*", start, end)
	out, err := g.c.UploadMultipartPart(ctx, &glacier.UploadMultipartPartInput{
		AccountId: &g.account, VaultName: &vault, UploadId: &uploadID,
		Body: b, Checksum: &treeHash, Range: &rng,
	}, withPayloadHashes(sha256))
	if err != nil {
		return wrap(err)
	}
	if err := sameHash(out.Checksum, treeHash); err != nil {
		return wrap(err)
	}
	return nil
}

// CompleteMultipartUpload assembles the uploaded parts into an archive of
// archiveSize bytes whose tree hash is treeHash (treehash.Combine of the
// parts' hashes) and returns the archive ID. Completing again shortly after
// returns the same ID.
func (g *Glacier) CompleteMultipartUpload(ctx context.Context, vault, uploadID string, archiveSize int64, treeHash string) (string, error) {
	wrap := func(err error) error { return fmt.Errorf("vault %s: upload %s: complete: %w", vault, uploadID, err) }
	if _, err := treehash.ParseHex(treeHash); err != nil {
		return "", wrap(err)
	}
	size := strconv.FormatInt(archiveSize, 10)
	out, err := g.c.CompleteMultipartUpload(ctx, &glacier.CompleteMultipartUploadInput{
		AccountId: &g.account, VaultName: &vault, UploadId: &uploadID, ArchiveSize: &size, Checksum: &treeHash,
	})
	if err != nil {
		return "", wrap(err)
	}
	return createdArchive(out.ArchiveId, out.Checksum, treeHash, wrap)
}

// AbortMultipartUpload abandons a multipart upload and its parts.
func (g *Glacier) AbortMultipartUpload(ctx context.Context, vault, uploadID string) error {
	_, err := g.c.AbortMultipartUpload(ctx, &glacier.AbortMultipartUploadInput{AccountId: &g.account, VaultName: &vault, UploadId: &uploadID})
	if err != nil {
		return fmt.Errorf("vault %s: upload %s: abort: %w", vault, uploadID, err)
	}
	return nil
}

// ListParts returns every uploaded part (all pages, sorted by range) and the
// upload's part size.
func (g *Glacier) ListParts(ctx context.Context, vault, uploadID string) ([]Part, int64, error) {
	wrap := func(err error) error { return fmt.Errorf("vault %s: upload %s: list parts: %w", vault, uploadID, err) }
	var parts []Part
	var partSize int64
	var marker *string
	seen := map[string]bool{}
	for {
		page, err := g.c.ListParts(ctx, &glacier.ListPartsInput{AccountId: &g.account, VaultName: &vault, UploadId: &uploadID, Marker: marker})
		if err != nil {
			return nil, 0, wrap(err)
		}
		partSize = page.PartSizeInBytes
		for _, p := range page.Parts {
			start, end, err := parseRange(str(p.RangeInBytes))
			if err != nil {
				return nil, 0, wrap(err)
			}
			parts = append(parts, Part{Start: start, End: end, TreeHash: str(p.SHA256TreeHash)})
		}
		if marker, err = nextMarker(page.Marker, seen); err != nil {
			return nil, 0, wrap(err)
		}
		if marker == nil {
			return parts, partSize, nil
		}
	}
}

// ListMultipartUploads returns every multipart upload in progress in the
// vault (all pages).
func (g *Glacier) ListMultipartUploads(ctx context.Context, vault string) ([]Upload, error) {
	var out []Upload
	var marker *string
	seen := map[string]bool{}
	for {
		page, err := g.c.ListMultipartUploads(ctx, &glacier.ListMultipartUploadsInput{AccountId: &g.account, VaultName: &vault, Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("vault %s: list multipart uploads: %w", vault, err)
		}
		for _, u := range page.UploadsList {
			out = append(out, Upload{
				ID: str(u.MultipartUploadId), VaultARN: str(u.VaultARN), Description: str(u.ArchiveDescription),
				PartSize: u.PartSizeInBytes, Created: parseTime(u.CreationDate),
			})
		}
		if marker, err = nextMarker(page.Marker, seen); err != nil || marker == nil {
			return out, wrapIf(err, "vault "+vault+": list multipart uploads")
		}
	}
}

// ---- jobs

// InitiateArchiveRetrieval starts a job that makes an archive (or a
// megabyte-aligned byte range of it) downloadable, and returns the job ID.
func (g *Glacier) InitiateArchiveRetrieval(ctx context.Context, vault string, r RetrievalRequest) (string, error) {
	wrap := func(err error) error {
		return fmt.Errorf("vault %s: archive %s: request retrieval: %w", vault, r.ArchiveID, err)
	}
	if r.ArchiveID == "" {
		return "", wrap(errors.New("no archive ID"))
	}
	if err := checkDescription(r.Description); err != nil {
		return "", wrap(err)
	}
	tier := r.Tier
	if tier == "" {
		tier = TierStandard
	}
	return g.initiateJob(ctx, vault, &types.JobParameters{
		Type: awssdk.String("archive-retrieval"), ArchiveId: &r.ArchiveID, Tier: &tier,
		RetrievalByteRange: ptr(r.ByteRange), SNSTopic: ptr(r.SNSTopic), Description: ptr(r.Description),
	}, wrap)
}

// InitiateInventoryRetrieval starts a job that fetches the vault's last
// inventory, and returns the job ID.
func (g *Glacier) InitiateInventoryRetrieval(ctx context.Context, vault string, r InventoryRequest) (string, error) {
	wrap := func(err error) error { return fmt.Errorf("vault %s: request inventory: %w", vault, err) }
	if err := checkDescription(r.Description); err != nil {
		return "", wrap(err)
	}
	format := r.Format
	if format == "" {
		format = "JSON"
	}
	if format != "JSON" && format != "CSV" {
		return "", wrap(fmt.Errorf("format %q: want JSON or CSV", format))
	}
	return g.initiateJob(ctx, vault, &types.JobParameters{
		Type: awssdk.String("inventory-retrieval"), Format: &format,
		SNSTopic: ptr(r.SNSTopic), Description: ptr(r.Description),
	}, wrap)
}

func (g *Glacier) initiateJob(ctx context.Context, vault string, p *types.JobParameters, wrap func(error) error) (string, error) {
	out, err := g.c.InitiateJob(ctx, &glacier.InitiateJobInput{AccountId: &g.account, VaultName: &vault, JobParameters: p})
	if err != nil {
		return "", wrap(err)
	}
	if str(out.JobId) == "" {
		return "", wrap(errors.New("Glacier returned no job ID"))
	}
	return *out.JobId, nil
}

// DescribeJob returns a job's current description.
func (g *Glacier) DescribeJob(ctx context.Context, vault, jobID string) (Job, error) {
	out, err := g.c.DescribeJob(ctx, &glacier.DescribeJobInput{AccountId: &g.account, VaultName: &vault, JobId: &jobID})
	if err != nil {
		return Job{}, fmt.Errorf("vault %s: job %s: describe: %w", vault, jobID, err)
	}
	return jobFrom(types.GlacierJobDescription{
		Action: out.Action, ArchiveId: out.ArchiveId, ArchiveSHA256TreeHash: out.ArchiveSHA256TreeHash,
		ArchiveSizeInBytes: out.ArchiveSizeInBytes, Completed: out.Completed, CompletionDate: out.CompletionDate,
		CreationDate: out.CreationDate, InventoryRetrievalParameters: out.InventoryRetrievalParameters,
		InventorySizeInBytes: out.InventorySizeInBytes, JobDescription: out.JobDescription, JobId: out.JobId,
		RetrievalByteRange: out.RetrievalByteRange, SHA256TreeHash: out.SHA256TreeHash, SNSTopic: out.SNSTopic,
		StatusCode: out.StatusCode, StatusMessage: out.StatusMessage, Tier: out.Tier, VaultARN: out.VaultARN,
	}), nil
}

// ListJobs returns the vault's recent jobs matching f (all pages).
func (g *Glacier) ListJobs(ctx context.Context, vault string, f JobFilter) ([]Job, error) {
	in := &glacier.ListJobsInput{AccountId: &g.account, VaultName: &vault, Statuscode: ptr(f.Status)}
	if f.Completed != nil {
		in.Completed = awssdk.String(strconv.FormatBool(*f.Completed))
	}
	var out []Job
	seen := map[string]bool{}
	for {
		page, err := g.c.ListJobs(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("vault %s: list jobs: %w", vault, err)
		}
		for _, j := range page.JobList {
			out = append(out, jobFrom(j))
		}
		if in.Marker, err = nextMarker(page.Marker, seen); err != nil || in.Marker == nil {
			return out, wrapIf(err, "vault "+vault+": list jobs")
		}
	}
}

// GetJobOutput opens a completed job's output: the whole of it when
// rangeStart and rangeEnd are both -1, else bytes rangeStart..rangeEnd
// (inclusive, relative to the job's own range). The caller must close the
// body; reading it is bounded by the stall timeout, not by a total time.
func (g *Glacier) GetJobOutput(ctx context.Context, vault, jobID string, rangeStart, rangeEnd int64) (*JobOutput, error) {
	wrap := func(err error) error { return fmt.Errorf("vault %s: job %s: get output: %w", vault, jobID, err) }
	in := &glacier.GetJobOutputInput{AccountId: &g.account, VaultName: &vault, JobId: &jobID}
	switch {
	case rangeStart == -1 && rangeEnd == -1:
	case rangeStart < 0 || rangeEnd < rangeStart:
		return nil, wrap(fmt.Errorf("bad range %d-%d", rangeStart, rangeEnd))
	default:
		in.Range = awssdk.String(fmt.Sprintf("bytes=%d-%d", rangeStart, rangeEnd))
	}
	out, err := g.c.GetJobOutput(ctx, in)
	if err != nil {
		return nil, wrap(err)
	}
	jo := &JobOutput{
		Body: out.Body, Status: int(out.Status), ContentRange: str(out.ContentRange),
		TreeHash: str(out.Checksum), Length: -1, ContentType: str(out.ContentType),
		Description: str(out.ArchiveDescription),
	}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok && raw != nil {
		jo.Length = raw.ContentLength
	}
	return jo, nil
}

// ---- conversions and checks

func vaultFrom(v types.DescribeVaultOutput) Vault {
	return Vault{
		Name: str(v.VaultName), ARN: str(v.VaultARN),
		Created: parseTime(v.CreationDate), LastInventory: parseTime(v.LastInventoryDate),
		Archives: v.NumberOfArchives, Size: v.SizeInBytes,
	}
}

func jobFrom(j types.GlacierJobDescription) Job {
	out := Job{
		ID: str(j.JobId), Action: string(j.Action), VaultARN: str(j.VaultARN), ArchiveID: str(j.ArchiveId),
		Description: str(j.JobDescription), Tier: str(j.Tier), Status: string(j.StatusCode),
		StatusMessage: str(j.StatusMessage), SNSTopic: str(j.SNSTopic), RetrievalRange: str(j.RetrievalByteRange),
		ArchiveTreeHash: str(j.ArchiveSHA256TreeHash), TreeHash: str(j.SHA256TreeHash), Completed: j.Completed,
		Created: parseTime(j.CreationDate), CompletedAt: parseTime(j.CompletionDate),
	}
	if j.ArchiveSizeInBytes != nil {
		out.ArchiveSize = *j.ArchiveSizeInBytes
	}
	if j.InventorySizeInBytes != nil {
		out.InventorySize = *j.InventorySizeInBytes
	}
	if j.InventoryRetrievalParameters != nil {
		out.Format = str(j.InventoryRetrievalParameters.Format)
	}
	return out
}

// parseTime reads Glacier's ISO 8601 dates ("2012-03-20T17:03:43.221Z");
// an absent or unreadable date is the zero time.
func parseTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// parseRange reads "start-end" (inclusive).
func parseRange(s string) (start, end int64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		start, err = strconv.ParseInt(a, 10, 64)
		if err == nil {
			end, err = strconv.ParseInt(b, 10, 64)
		}
	}
	if !ok || err != nil || start < 0 || end < start {
		return 0, 0, fmt.Errorf("bad byte range %q", s)
	}
	return start, end, nil
}

// nextMarker returns the marker for the next page, nil at the end, and
// refuses a marker seen before (a server bug that would loop forever).
func nextMarker(m *string, seen map[string]bool) (*string, error) {
	if m == nil || *m == "" {
		return nil, nil
	}
	if seen[*m] {
		return nil, fmt.Errorf("pagination marker %q repeated", *m)
	}
	seen[*m] = true
	return m, nil
}

func wrapIf(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkDescription applies Glacier's rule for archive and job descriptions
// (at most 1024 characters, printable ASCII 0x20-0x7E) before any request.
func checkDescription(d string) error {
	if len(d) > 1024 {
		return fmt.Errorf("description is %d characters long; Glacier allows 1024", len(d))
	}
	for i := 0; i < len(d); i++ {
		if d[i] < 0x20 || d[i] > 0x7e {
			return fmt.Errorf("description has byte %#x at %d; Glacier allows printable ASCII only", d[i], i)
		}
	}
	return nil
}

func checkUpload(description string, size int64, treeHash, sha256 string) error {
	if err := checkDescription(description); err != nil {
		return err
	}
	if size <= 0 {
		return fmt.Errorf("size %d: Glacier stores 1 byte or more", size)
	}
	if _, err := treehash.ParseHex(treeHash); err != nil {
		return err
	}
	if _, err := treehash.ParseHex(sha256); err != nil {
		return fmt.Errorf("sha256: %w", err)
	}
	return nil
}

// sameHash checks the tree hash Glacier computed, when it sent one.
func sameHash(got *string, sent string) error {
	if got == nil || *got == "" || strings.EqualFold(*got, sent) {
		return nil
	}
	return fmt.Errorf("Glacier computed tree hash %s, we sent %s", *got, sent)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ptr gives nil for "", so optional fields are left out of requests.
func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// createdArchive checks Glacier's answer to an upload: an archive id, and
// the tree hash Glacier computed equal to ours. On a mismatch the id comes
// back with the error, so the archive can be deleted.
func createdArchive(archiveID, checksum *string, treeHash string, wrap func(error) error) (string, error) {
	id := str(archiveID)
	if id == "" {
		return "", wrap(errors.New("Glacier returned no archive ID"))
	}
	if err := sameHash(checksum, treeHash); err != nil {
		return id, wrap(fmt.Errorf("archive %s: %w", id, err))
	}
	return id, nil
}
