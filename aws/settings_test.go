package aws

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// isolateEnv hides this machine's AWS environment and files from the SDK.
func isolateEnv(t *testing.T) (configFile, credFile string) {
	t.Helper()
	dir := t.TempDir()
	configFile, credFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ROLE_ARN",
	} {
		t.Setenv(k, "")
	}
	return configFile, credFile
}

func TestCredentialSelection(t *testing.T) {
	configFile, credFile := isolateEnv(t)
	if err := os.WriteFile(credFile, []byte("[backup]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = profilesecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configFile, []byte("[profile backup]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		s          Settings
		env        map[string]string
		wantKey    string
		wantRegion string
		wantErr    string
	}{
		{name: "static keys", s: Settings{Region: "us-east-1", AccessKey: "STATIC", SecretKey: "s"}, wantKey: "STATIC", wantRegion: "us-east-1"},
		{name: "static keys beat the environment", s: Settings{Region: "us-east-1", AccessKey: "STATIC", SecretKey: "s"},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "e"}, wantKey: "STATIC", wantRegion: "us-east-1"},
		{name: "environment", s: Settings{Region: "us-west-2"},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "e"}, wantKey: "ENVKEY", wantRegion: "us-west-2"},
		{name: "profile gives keys and region", s: Settings{Profile: "backup"}, wantKey: "PROFILEKEY", wantRegion: "eu-west-1"},
		{name: "region setting beats the profile's", s: Settings{Profile: "backup", Region: "ap-south-1"}, wantKey: "PROFILEKEY", wantRegion: "ap-south-1"},
		{name: "region from the environment", s: Settings{AccessKey: "K", SecretKey: "S"}, env: map[string]string{"AWS_REGION": "sa-east-1"}, wantKey: "K", wantRegion: "sa-east-1"},
		{name: "one key only", s: Settings{Region: "us-east-1", AccessKey: "K"}, wantErr: "both"},
		{name: "secret only", s: Settings{Region: "us-east-1", SecretKey: "S"}, wantErr: "both"},
		{name: "no region", s: Settings{AccessKey: "K", SecretKey: "S"}, wantErr: "region"},
		{name: "unknown profile", s: Settings{Profile: "nope", Region: "us-east-1"}, wantErr: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := LoadConfig(context.Background(), tc.s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tc.wantRegion {
				t.Errorf("region = %q, want %q", cfg.Region, tc.wantRegion)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != tc.wantKey {
				t.Errorf("access key = %q, want %q", creds.AccessKeyID, tc.wantKey)
			}
			if r := cfg.Retryer(); r.MaxAttempts() != DefaultMaxAttempts {
				t.Errorf("max attempts = %d", r.MaxAttempts())
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	s := Settings{}.withDefaults()
	if s.AccountID != "-" || s.CallTimeout != time.Minute || s.StallTimeout != 2*time.Minute || s.MaxAttempts != 5 {
		t.Fatalf("defaults = %+v", s)
	}
	s = Settings{AccountID: "123456789012", MaxAttempts: 2, CallTimeout: time.Second}.withDefaults()
	if s.AccountID != "123456789012" || s.MaxAttempts != 2 || s.CallTimeout != time.Second {
		t.Fatalf("explicit values lost: %+v", s)
	}
}
