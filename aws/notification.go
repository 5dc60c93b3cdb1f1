package aws

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
)

// jobJSON is Glacier's job description as DescribeJob returns it and as its
// SNS notifications carry it. Every field may be null.
type jobJSON struct {
	Action                       *string
	ArchiveId                    *string
	ArchiveSHA256TreeHash        *string
	ArchiveSizeInBytes           *int64
	Completed                    *bool
	CompletionDate               *string
	CreationDate                 *string
	InventoryRetrievalParameters *struct{ Format *string }
	InventorySizeInBytes         *int64
	JobDescription               *string
	JobId                        *string
	RetrievalByteRange           *string
	SHA256TreeHash               *string
	SNSTopic                     *string
	StatusCode                   *string
	StatusMessage                *string
	Tier                         *string
	VaultARN                     *string
}

// snsEnvelope is what SNS delivers to an SQS queue without raw delivery.
type snsEnvelope struct {
	Type    *string
	Message *string
}

// ParseJobNotification reads the body of an SQS message announcing a Glacier
// job: either the SNS envelope ({"Type":"Notification","Message":"<job JSON>",
// ...}) or, with raw message delivery, the job JSON itself. Anything else
// (another SNS message type, a message not from Glacier) is an error.
func ParseJobNotification(body string) (Job, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return Job{}, fmt.Errorf("job notification: not a JSON object: %w", err)
	}
	if _, ok := lookupKey(probe, "Type"); ok {
		var env snsEnvelope
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			return Job{}, fmt.Errorf("job notification: SNS envelope: %w", err)
		}
		if env.Type == nil || *env.Type != "Notification" {
			return Job{}, fmt.Errorf("job notification: SNS message of type %q, not a Notification", str(env.Type))
		}
		if env.Message == nil {
			return Job{}, errors.New("job notification: SNS envelope without a Message")
		}
		return parseJobJSON(*env.Message)
	}
	return parseJobJSON(body)
}

// lookupKey finds a key the way encoding/json matches fields (ignoring case).
func lookupKey(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func parseJobJSON(s string) (Job, error) {
	var j jobJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return Job{}, fmt.Errorf("job notification: not a Glacier job description: %w", err)
	}
	if str(j.JobId) == "" || j.Action == nil || j.StatusCode == nil {
		return Job{}, errors.New("job notification: not a Glacier job description (JobId, Action or StatusCode missing)")
	}
	switch *j.Action {
	case ActionArchiveRetrieval, ActionInventoryRetrieval, "Select":
	default:
		return Job{}, fmt.Errorf("job notification: job %s: unknown action %q", *j.JobId, *j.Action)
	}
	switch *j.StatusCode {
	case StatusInProgress, StatusSucceeded, StatusFailed:
	default:
		return Job{}, fmt.Errorf("job notification: job %s: unknown status %q", *j.JobId, *j.StatusCode)
	}
	d := types.GlacierJobDescription{
		Action: types.ActionCode(*j.Action), ArchiveId: j.ArchiveId, ArchiveSHA256TreeHash: j.ArchiveSHA256TreeHash,
		ArchiveSizeInBytes: j.ArchiveSizeInBytes, CompletionDate: j.CompletionDate, CreationDate: j.CreationDate,
		InventorySizeInBytes: j.InventorySizeInBytes, JobDescription: j.JobDescription, JobId: j.JobId,
		RetrievalByteRange: j.RetrievalByteRange, SHA256TreeHash: j.SHA256TreeHash, SNSTopic: j.SNSTopic,
		StatusCode: types.StatusCode(*j.StatusCode), StatusMessage: j.StatusMessage, Tier: j.Tier, VaultARN: j.VaultARN,
	}
	if j.Completed != nil {
		d.Completed = *j.Completed
	}
	if j.InventoryRetrievalParameters != nil {
		d.InventoryRetrievalParameters = &types.InventoryRetrievalJobDescription{Format: j.InventoryRetrievalParameters.Format}
	}
	return jobFrom(d), nil
}
