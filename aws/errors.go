package aws

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Code returns the service's error code carried by err (for example
// "ResourceNotFoundException", "InvalidParameterValueException",
// "AWS.SimpleQueueService.NonExistentQueue"), or "" if err holds none.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notFoundCodes are the codes by which Glacier, SQS and SNS say that the
// named thing does not exist.
var notFoundCodes = map[string]bool{
	"ResourceNotFoundException":               true, // Glacier: vault, upload, job, notification config
	"AWS.SimpleQueueService.NonExistentQueue": true, // SQS, legacy query code
	"QueueDoesNotExist":                       true, // SQS, JSON protocol
	"NotFound":                                true, // SNS
	"NotFoundException":                       true, // SNS
}

// IsNotFound reports whether err says that a vault, upload, job, queue or
// topic does not exist.
func IsNotFound(err error) bool {
	return notFoundCodes[Code(err)]
}
