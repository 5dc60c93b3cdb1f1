package aws

import (
	"io"
	"time"
)

// Vault is a Glacier vault as DescribeVault/ListVaults report it. Archives
// and Size are as of the last inventory (zero before the first one).
type Vault struct {
	Name, ARN     string
	Created       time.Time
	LastInventory time.Time // zero if no inventory yet
	Archives      int64
	Size          int64
}

// Job status codes.
const (
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
)

// Job actions.
const (
	ActionArchiveRetrieval   = "ArchiveRetrieval"
	ActionInventoryRetrieval = "InventoryRetrieval"
)

// Retrieval tiers.
const (
	TierExpedited = "Expedited"
	TierStandard  = "Standard"
	TierBulk      = "Bulk"
)

// Notification events a vault can publish.
const (
	EventArchiveRetrievalCompleted   = "ArchiveRetrievalCompleted"
	EventInventoryRetrievalCompleted = "InventoryRetrievalCompleted"
)

// Job is a Glacier job as DescribeJob, ListJobs and the SNS notification
// describe it. Absent values are zero.
type Job struct {
	ID, Action, VaultARN, ArchiveID string
	Description                     string
	Tier                            string
	Status                          string // StatusInProgress, StatusSucceeded or StatusFailed
	StatusMessage                   string
	SNSTopic                        string
	RetrievalRange                  string // "start-end", archive retrievals
	ArchiveTreeHash                 string // of the whole archive
	TreeHash                        string // of the retrieved range; empty when not tree-hash aligned
	Completed                       bool
	Created, CompletedAt            time.Time
	ArchiveSize, InventorySize      int64
	Format                          string // inventory format, "JSON" or "CSV"
}

// Part is an uploaded part of a multipart upload.
type Part struct {
	Start, End int64 // inclusive
	TreeHash   string
}

// Upload is a multipart upload in progress.
type Upload struct {
	ID          string
	VaultARN    string
	Description string
	PartSize    int64
	Created     time.Time
}

// RetrievalRequest asks for an archive (or a byte range of it) to be made
// downloadable.
type RetrievalRequest struct {
	ArchiveID   string
	Tier        string // TierStandard when empty
	ByteRange   string // optional "start-end", megabyte aligned
	SNSTopic    string // optional topic ARN notified on completion
	Description string
}

// InventoryRequest asks for the vault's last inventory.
type InventoryRequest struct {
	Format      string // "JSON" (default) or "CSV"
	SNSTopic    string
	Description string
}

// JobFilter narrows ListJobs; zero values mean "any".
type JobFilter struct {
	Status    string // StatusInProgress, StatusSucceeded or StatusFailed
	Completed *bool
}

// JobOutput is the answer of GetJobOutput. The caller must close Body.
type JobOutput struct {
	Body         io.ReadCloser
	Status       int    // 200, or 206 for a range
	ContentRange string // "bytes start-end/total" for a range
	TreeHash     string // of the bytes returned; empty when Glacier sends none
	Length       int64  // bytes in Body, -1 if unknown
	ContentType  string
	Description  string // the archive's description
}

// Message is an SQS message.
type Message struct {
	ID, ReceiptHandle, Body string
}
