// Package aws holds freezer's clients for Amazon Glacier, SQS and SNS, built
// on aws-sdk-go-v2. Callers get plain Go types (Vault, Job, Part, ...) and
// never touch SDK types; the engine declares the small interfaces it needs
// and these concrete types satisfy them.
//
// Every call is bounded in time (see Settings) and retried by the SDK's
// standard retryer for throttling, 5xx, 408 and connection errors. Errors name
// the vault, archive, upload or job they concern; IsNotFound and Code
// classify them.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
	"github.com/rs/zerolog"
)

// Defaults for the zero values of Settings.
const (
	DefaultCallTimeout  = 60 * time.Second
	DefaultStallTimeout = 2 * time.Minute
	DefaultMaxAttempts  = 5
	DefaultAccountID    = "-"
)

// Settings are what freezer knows about how to reach AWS.
type Settings struct {
	// Region is required unless the SDK finds one (AWS_REGION, shared config).
	Region string
	// AccountID goes into every Glacier path; "-" (the default) means the
	// account of the credentials.
	AccountID string
	// AccessKey and SecretKey, when both are given, are used as static
	// credentials; otherwise the SDK's default chain applies (environment,
	// shared files with Profile, SSO, instance roles).
	AccessKey, SecretKey string
	// Profile selects a shared-config profile for the default chain.
	Profile string
	// Endpoint, when set, replaces the AWS endpoint of Glacier, SQS and SNS
	// (the local simulator).
	Endpoint string
	// CallTimeout bounds one attempt of a call that carries no archive data,
	// and the wait for the answer once an upload's body has been sent.
	CallTimeout time.Duration
	// StallTimeout bounds how long an upload or a download of archive data
	// may go without moving a byte. Data calls have no fixed total timeout,
	// because a 4 GiB part on a slow line can rightly take hours.
	StallTimeout time.Duration
	// MaxAttempts bounds the attempts of one call, retries included.
	MaxAttempts int
	// HTTPClient replaces the SDK's HTTP client when set. It is given to the
	// service clients, not to LoadConfig: the SDK refuses a plain
	// *http.Client when AWS_CA_BUNDLE is set, and a caller's own client
	// brings its own TLS roots anyway.
	HTTPClient *http.Client
	// Logger receives retry notices; never secrets.
	Logger zerolog.Logger
}

// httpClient is the client the service clients use: the caller's, the
// SDK's from the configuration, or a new default one. LoadDefaultConfig
// leaves the configuration's client nil unless something (AWS_CA_BUNDLE)
// asks for a custom one, and a nil client given to a service client
// replaces its default: every call then panicked.
func (s Settings) httpClient(cfg awssdk.Config) awssdk.HTTPClient {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	return awshttp.NewBuildableClient()
}

func (s Settings) withDefaults() Settings {
	if s.AccountID == "" {
		s.AccountID = DefaultAccountID
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = DefaultCallTimeout
	}
	if s.StallTimeout <= 0 {
		s.StallTimeout = DefaultStallTimeout
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	return s
}

// LoadConfig builds the SDK configuration shared by the three clients:
// region, credentials, HTTP client and the retry policy.
func LoadConfig(ctx context.Context, s Settings) (awssdk.Config, error) {
	s = s.withDefaults()
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() awssdk.Retryer { return newRetryer(s.MaxAttempts) }),
		config.WithLogger(sdkLogger(s.Logger)),
		config.WithClientLogMode(awssdk.LogRetries),
	}
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	switch {
	case s.AccessKey != "" && s.SecretKey != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")))
	case s.AccessKey != "" || s.SecretKey != "":
		return awssdk.Config{}, errors.New("aws credentials: give both the access key and the secret key, or neither to use the default credential chain")
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awssdk.Config{}, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return awssdk.Config{}, errors.New("aws configuration: no region: give one in the settings or set AWS_REGION")
	}
	return cfg, nil
}

// newRetryer is the SDK standard retryer (exponential backoff with jitter)
// with three changes:
//   - attempts are bounded by maxAttempts only: the client-wide retry quota
//     (a token bucket) is disabled, so a burst of throttling during a big
//     parallel upload cannot make later, healthy calls fail without retrying;
//   - HTTP 408 is retried even when the body carries no error code (the
//     standard retryer retries 500/502/503/504, the codes
//     RequestTimeout(Exception) and the throttling codes, ThrottlingException
//     among them);
//   - Glacier's LimitExceededException (too many vaults, a hard limit) is not
//     retried although the standard list treats it as throttling.
func newRetryer(maxAttempts int) awssdk.Retryer {
	return newRetryerWith(maxAttempts, nil)
}

// newRetryerWith lets tests replace the backoff (nil keeps the SDK's).
func newRetryerWith(maxAttempts int, backoff retry.BackoffDelayer) awssdk.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		if backoff != nil {
			o.Backoff = backoff
		}
		o.RateLimiter = ratelimit.None
		o.Retryables = append([]retry.IsErrorRetryable{
			retry.IsErrorRetryableFunc(func(err error) awssdk.Ternary {
				if Code(err) == "LimitExceededException" {
					return awssdk.FalseTernary
				}
				return awssdk.UnknownTernary
			}),
		}, o.Retryables...)
		o.Retryables = append(o.Retryables, retry.RetryableHTTPStatusCode{
			Codes: map[int]struct{}{http.StatusRequestTimeout: {}},
		})
	})
}

// sdkLogger forwards the SDK's own log lines (retry notices only: signing
// and bodies are never enabled, they could hold secrets) at debug level.
func sdkLogger(l zerolog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		ev := l.Debug()
		if c == logging.Warn {
			ev = l.Warn()
		}
		ev.Str("component", "aws-sdk").Msgf(format, v...)
	})
}
