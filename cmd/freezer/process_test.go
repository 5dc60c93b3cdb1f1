package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"freezer/aws/sim"
	"freezer/pipeline/tarball/tarballtest"
)

// TestMain removes the binary the process tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

// buildOnce builds the freezer binary for tests that run it as a process.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func freezerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "freezer-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "freezer")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// simProcess runs 'freezer sim' as its own process and returns its
// endpoint, as another client would use it.
func simProcess(t *testing.T, bin string, extra ...string) string {
	t.Helper()
	args := append([]string{"sim", "--listen", "127.0.0.1:0", "--dir", filepath.Join(t.TempDir(), "sim")}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "endpoint" {
			go func() {
				for sc.Scan() {
				}
			}()
			return f[1]
		}
	}
	t.Fatalf("freezer sim printed no endpoint; stderr:\n%s", stderr.String())
	return ""
}

// clientArgs point a freezer process at the simulator process.
// The secret key goes in a private file, as the README advises (on the
// command line every user would see it, and freezer would say so).
func clientArgs(endpoint, dir string) []string {
	secret := filepath.Join(dir, "secret-key")
	if err := os.MkdirAll(dir, 0o700); err == nil {
		os.WriteFile(secret, []byte(sim.DefaultSecretKey+"\n"), 0o600)
	}
	return []string{"--endpoint", endpoint, "--region", sim.DefaultRegion,
		"--access-key", sim.DefaultAccessKey, "--secret-key-file", secret,
		"--database", filepath.Join(dir, "freezer.db"), "--data-dir", filepath.Join(dir, "data"),
		"--chunk-size", "1MiB", "--threads", "2"}
}

func runProcess(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func adminJSON(t *testing.T, method, url string, body any, into any) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKilledUploadsResume kills the uploading process with SIGKILL at random
// moments of a multipart upload, several times, then lets it finish. Every
// rerun continues the recorded upload; no part Glacier accepted is ever sent
// again; the archive comes back identical.
func TestKilledUploadsResume(t *testing.T) {
	bin := freezerBinary(t)
	endpoint := simProcess(t, bin, "--job-delay", "0")
	dir := t.TempDir()
	client := clientArgs(endpoint, dir)
	src := filepath.Join(t.TempDir(), "src")
	writeRandomTree(t, src, 40<<20)

	if out, err := runProcess(t, bin, append(client, "vault", "create", "photos")...); err != nil {
		t.Fatalf("vault create: %v\n%s", err, out)
	}
	// Each part takes a moment, so kills land inside the upload.
	adminJSON(t, "POST", endpoint+"/_sim/faults", sim.Fault{Op: "UploadMultipartPart", Kind: sim.FaultDelay, Rate: 1, Delay: sim.Duration(300 * time.Millisecond)}, nil)

	create := append(client, "archive", "create", "--vault", "photos", "--name", "killed", "--compression", "none", "--key", "none", src)
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	kills, finished := 0, false
	for attempt := 0; attempt < 10 && kills < 6 && !finished; attempt++ {
		cmd := exec.Command(bin, create...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(200+rng.IntN(2500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if err == nil {
			t.Logf("attempt %d finished before the kill", attempt)
			finished = true
			continue
		}
		kills++
		t.Logf("attempt %d killed: %s", attempt, lastLine(out.String()))
	}
	if kills < 2 {
		t.Fatalf("only %d runs were killed mid-way; the test proves nothing", kills)
	}
	adminJSON(t, "DELETE", endpoint+"/_sim/faults", nil, nil)
	if !finished {
		if out, err := runProcess(t, bin, create...); err != nil {
			t.Fatalf("final run: %v\n%s", err, out)
		}
	}

	var stats struct {
		Parts map[string]map[string]int `json:"parts"`
	}
	adminJSON(t, "GET", endpoint+"/_sim/stats", nil, &stats)
	if len(stats.Parts) == 0 {
		t.Fatal("the simulator saw no multipart upload")
	}
	for upload, ranges := range stats.Parts {
		for rng, n := range ranges {
			if n != 1 {
				t.Errorf("upload %s: part %s was accepted %d times: a finished part was sent again", upload, rng, n)
			}
		}
	}
	if len(stats.Parts) != 1 {
		t.Errorf("%d multipart uploads were started; resumed runs must continue the recorded one", len(stats.Parts))
	}

	// The archive is whole: disconnect, retrieve, extract, compare.
	for _, args := range [][]string{
		{"archive", "disconnect", "photos/killed"},
		{"archive", "retrieve", "--wait", "--tier", "Expedited", "photos/killed"},
		{"archive", "extract", "photos/killed", filepath.Join(dir, "restored")},
	} {
		if out, err := runProcess(t, bin, append(client, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	tarballtest.CompareTrees(t, src, filepath.Join(dir, "restored", "src"))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// writeRandomTree writes a few random files of total size bytes.
func writeRandomTree(t *testing.T, root string, size int) {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{5, 6})
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{size / 2, size / 4, size / 8, size / 8} {
		data := make([]byte, n)
		rng.Read(data)
		dir := root
		if i%2 == 1 {
			dir = filepath.Join(root, "sub")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%d.bin", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
