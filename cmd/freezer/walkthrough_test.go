package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"freezer/pipeline/tarball/tarballtest"
)

// readmeWalkthrough is the README's first-backup block, exactly as a
// person copies it.
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "## A first backup, on the simulator")
	if i < 0 {
		t.Fatal("README has no walkthrough section")
	}
	text = text[i:]
	start := strings.Index(text, "```sh\n")
	if start < 0 {
		t.Fatal("the walkthrough has no ```sh block")
	}
	block := text[start+len("```sh\n"):]
	return block[:strings.Index(block, "```")]
}

// TestReadmeWalkthrough runs the README's walkthrough literally with the
// built binary on PATH and a fresh HOME holding ~/Pictures/2024: what it
// prints (the key id) is what its later lines use, and the restored
// pictures are the pictures.
func TestReadmeWalkthrough(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := freezerBinary(t)
	dir := t.TempDir()
	home, work := filepath.Join(dir, "home"), filepath.Join(dir, "work")
	pictures := filepath.Join(home, "Pictures", "2024")
	writeFile(t, filepath.Join(pictures, "beach.jpg"), "sand and sea")
	writeFile(t, filepath.Join(pictures, "crete", "sunset.jpg"), "orange sky")
	writeFile(t, filepath.Join(pictures, "notes.txt~"), "a backup file the plan leaves out")
	os.MkdirAll(work, 0o700)

	script := filepath.Join(dir, "walkthrough.sh")
	if err := os.WriteFile(script, []byte("set -e\n"+readmeWalkthrough(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, script)
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + home, "PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's walkthrough fails: %v\n%s", err, out)
	}

	var key struct{ ID, Key string }
	data, err := os.ReadFile(filepath.Join(work, "key.json"))
	if err != nil || json.Unmarshal(data, &key) != nil || len(key.ID) != 16 || len(key.Key) != 64 {
		t.Fatalf("key.json is not the exported key: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(work, "~")); err == nil {
		t.Error("the walkthrough made a folder named ~")
	}
	if _, err := os.Stat(filepath.Join(home, "freezer-sim", "freezer.db")); err != nil {
		t.Errorf("the simulator's catalog is not in ~/freezer-sim: %v", err)
	}
	// The backup file was left out, as the plan said: compare without it.
	st, err := os.Stat(pictures)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(pictures, "notes.txt~"))
	os.Chtimes(pictures, st.ModTime(), st.ModTime())
	tarballtest.CompareTrees(t, pictures, filepath.Join(home, "restore", "2024"))
}
