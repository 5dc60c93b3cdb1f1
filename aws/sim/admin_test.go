package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"
)

func TestAdminClockAndTick(t *testing.T) {
	h := newHarness(t, Options{})
	h.createVault("v")
	id := h.upload("v", []byte("x"), "")
	job := h.initiateRetrieval("v", id, "")

	resp, body := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/clock", []byte(`{"advance":"5s"}`)))
	var now struct{ Now string }
	if err := json.Unmarshal(body, &now); resp.StatusCode != 200 || err != nil || now.Now != testEpoch.Add(5*time.Second).Format(time.RFC3339Nano) {
		t.Fatalf("POST /_sim/clock: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/tick", nil)); resp.StatusCode != 204 {
		t.Fatalf("POST /_sim/tick: %d %s", resp.StatusCode, body)
	}
	if d := h.describeJob("v", job); !d.Completed {
		t.Error("job not complete after the admin clock moved past its delay")
	}
	if resp, _ := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/clock", []byte(`{"advance":"-1s"}`))); resp.StatusCode != 400 {
		t.Errorf("negative advance: %d", resp.StatusCode)
	}
	if resp, _ := h.rawDo(mustRequest(t, http.MethodGet, h.srv.URL+"/_sim/nothing", nil)); resp.StatusCode != 404 {
		t.Errorf("unknown admin path: %d", resp.StatusCode)
	}
	if resp, _ := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/inventory?vault=nope", nil)); resp.StatusCode != 404 {
		t.Errorf("inventory of a missing vault: %d", resp.StatusCode)
	}
}

func TestAdminClockNeedsManualClock(t *testing.T) {
	h := newHarness(t, Options{Clock: realClock{}})
	resp, _ := h.rawDo(mustRequest(t, http.MethodPost, h.srv.URL+"/_sim/clock", []byte(`{"advance":"1s"}`)))
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("moving the real clock: %d", resp.StatusCode)
	}
}

// recordingNotifier records publishes, for checking the outbox without SNS.
type recordingNotifier struct {
	fakeNotifier
	mu   sync.Mutex
	msgs []string
	fail bool
}

func (n *recordingNotifier) Publish(_ context.Context, topic, subject, msg string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return "", context.DeadlineExceeded
	}
	n.msgs = append(n.msgs, topic+"|"+subject+"|"+msg)
	return "id", nil
}

func (n *recordingNotifier) published() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// Notifications survive a restart when SNS could not take them, and the
// background loop delivers them with no request in between.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := NewManualClock(testEpoch)
	n := &recordingNotifier{fail: true}
	s, err := newSim(Options{Dir: dir, Clock: clock}, n)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	v := &vault{Name: "v", Created: clock.Now(), dir: dir + "/glacier/vaults/" + vaultDirName("v"),
		archives: map[string]*archive{}, uploads: map[string]*upload{}, jobs: map[string]*job{}}
	s.vaults["v"] = v
	j := &job{ID: randomID(jobIDLen), Action: actionInventory, Created: clock.Now(), Due: clock.Now(), SNSTopic: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Status: statusInProgress, Format: "JSON"}
	v.jobs[j.ID] = j
	if err := os.MkdirAll(j.dir(v), dirPerm); err != nil {
		s.mu.Unlock()
		t.Fatal(err)
	}
	if err := writeJSON(v.metaPath(), v); err != nil {
		s.mu.Unlock()
		t.Fatal(err)
	}
	s.mu.Unlock()
	if err := s.Tick(context.Background()); err == nil {
		t.Error("Tick hid a failed publish")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	n2 := &recordingNotifier{}
	s2, err := newSim(Options{Dir: dir, Clock: clock}, n2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(n2.published()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := n2.published()
	if len(got) != 1 {
		t.Fatalf("published %d notifications after restart, want 1", len(got))
	}
	parts := strings.SplitN(got[0], "|", 3)
	var d map[string]any
	if err := json.Unmarshal([]byte(parts[2]), &d); err != nil || parts[0] != "arn:aws:sns:us-east-1:123456789012:t" || parts[1] != "" ||
		d["JobId"] != j.ID || d["Action"] != string(types.ActionCodeInventoryRetrieval) || d["Completed"] != true {
		t.Errorf("notification %q", got[0])
	}
	if bytes.Contains([]byte(parts[2]), []byte("\n")) {
		t.Error("notification JSON should be compact")
	}
}
