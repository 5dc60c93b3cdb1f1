package control_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"freezer/aws"
	"freezer/pipeline/tarball/tarballtest"
)

// readmeRecipe returns the README's recovery recipe: the shell block that
// starts with "# recovery recipe".
func readmeRecipe(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "```sh\n# recovery recipe\n")
	if i < 0 {
		t.Fatal("README has no recovery recipe block")
	}
	block := text[i+len("```sh\n"):]
	return block[:strings.Index(block, "```")]
}

// TestRecoveryRecipeWithOpenSSL downloads archives freezer made the way any
// Glacier client would (the raw job output), then recovers the files with
// nothing but the README's recipe and the real openssl binary.
func TestRecoveryRecipeWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed (Debian: apt-get install openssl); the recovery recipe cannot be checked")
	}
	recipe := readmeRecipe(t)
	ctx := context.Background()
	ev := newEnv(t, nil)
	src := filepath.Join(t.TempDir(), "family")
	makeTree(t, src, 150, 512<<10)

	for _, c := range []struct {
		alg, compression, tarFlag string
		ivLen                     string
	}{
		{"aes-256-cbc", "gzip", "-z", "16"},
		{"aes-128-cbc", "none", "", "16"},
		{"aes-192-cbc", "zstd", "--zstd", "16"},
		{"aes-256-cbc", "bzip2", "-j", "16"},
	} {
		t.Run(c.alg+"-"+c.compression, func(t *testing.T) {
			k, err := ev.e.CreateKey(ctx, c.alg, "recovery "+c.alg)
			if err != nil {
				t.Fatal(err)
			}
			if err := ev.e.SetDefaultKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			info := ev.create("recover-"+c.alg+"-"+c.compression, c.compression, src)
			if !strings.Contains(info.Description, c.alg) || !strings.Contains(info.Description, "key="+k.ID) {
				t.Fatalf("description %q does not name the cipher and key", info.Description)
			}

			work := t.TempDir()
			keyJSON, err := ev.e.ExportKey(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, "key.json"), keyJSON, 0o600); err != nil {
				t.Fatal(err)
			}
			downloadRaw(t, ev, info.RemoteID, filepath.Join(work, "archive.bin"))

			script := strings.NewReplacer(
				"CIPHER=aes-256-cbc", "CIPHER="+c.alg,
				"IVLEN=16", "IVLEN="+c.ivLen,
				"tar -x -z -f", "tar -x "+c.tarFlag+" -f",
			).Replace(recipe)
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Dir = work
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("recipe failed: %v\n%s\nscript:\n%s", err, out, script)
			}
			tarballtest.CompareTrees(t, src, filepath.Join(work, "restored", "family"))
		})
	}
}

// downloadRaw fetches an archive's bytes as stored in Glacier through a
// retrieval job, the way any client would, into path.
func downloadRaw(t *testing.T, ev *env, archiveID, path string) {
	t.Helper()
	ctx := context.Background()
	jobID, err := ev.glacier.InitiateArchiveRetrieval(ctx, "photos", aws.RetrievalRequest{ArchiveID: archiveID, Tier: aws.TierExpedited})
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.sim.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := ev.glacier.GetJobOutput(ctx, "photos", jobID, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, out.Body); err != nil {
		t.Fatal(err)
	}
}
