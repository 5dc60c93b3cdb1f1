package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/renameio/v2"
)

// stateFormat is bumped when the snapshot layout changes incompatibly.
const stateFormat = 1

type snapshot struct {
	Format        int             `json:"format"`
	Topics        []*topic        `json:"topics"`
	Subscriptions []*subscription `json:"subscriptions"`
	Queues        []*queue        `json:"queues"`
}

type topic struct {
	ARN        string            `json:"arn"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes,omitempty"` // settable ones only
	Created    time.Time         `json:"created"`
}

type subscription struct {
	ARN        string            `json:"arn"`
	TopicARN   string            `json:"topic_arn"`
	Protocol   string            `json:"protocol"`
	Endpoint   string            `json:"endpoint"`
	Attributes map[string]string `json:"attributes,omitempty"` // settable ones only
}

type queue struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"` // settable ones, with defaults filled in
	Created    time.Time         `json:"created"`
	Modified   time.Time         `json:"modified"`
	Tags       map[string]string `json:"tags,omitempty"`
	Messages   []*message        `json:"messages,omitempty"` // in send order

	// wake is closed (and replaced) when a message may have become
	// receivable, releasing long polls.
	wake chan struct{}
}

type message struct {
	ID           string             `json:"id"`
	Body         string             `json:"body"`
	Attributes   map[string]msgAttr `json:"attributes,omitempty"` // message attributes
	SenderID     string             `json:"sender_id"`
	Sent         time.Time          `json:"sent"`
	FirstReceive time.Time          `json:"first_receive,omitzero"`
	ReceiveCount int                `json:"receive_count,omitempty"`
	VisibleAt    time.Time          `json:"visible_at"`
	Receipt      string             `json:"receipt,omitempty"` // current receipt handle
}

type msgAttr struct {
	DataType    string  `json:"type"`
	StringValue *string `json:"string,omitempty"`
	BinaryValue []byte  `json:"binary,omitempty"`
}

func (q *queue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (s *Service) load() error {
	path := filepath.Join(s.dir, stateFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: read state: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("notify: state file %s is damaged (%v); move it away to start empty", path, err)
	}
	if snap.Format != stateFormat {
		return fmt.Errorf("notify: state file %s has format %d, this build reads format %d", path, snap.Format, stateFormat)
	}
	for _, t := range snap.Topics {
		if t == nil || t.ARN == "" {
			return fmt.Errorf("notify: state file %s lists a topic without an ARN", path)
		}
		s.topics[t.ARN] = t
	}
	for _, sub := range snap.Subscriptions {
		if sub == nil || sub.ARN == "" {
			return fmt.Errorf("notify: state file %s lists a subscription without an ARN", path)
		}
		s.subs[sub.ARN] = sub
	}
	for _, q := range snap.Queues {
		if q == nil || q.Name == "" {
			return fmt.Errorf("notify: state file %s lists a queue without a name", path)
		}
		if q.Attributes == nil {
			q.Attributes = defaultQueueAttributes()
		}
		q.wake = make(chan struct{})
		s.queues[q.Name] = q
	}
	return nil
}

// marshalLocked encodes the whole state, sorted so that equal states give
// equal files. The caller holds s.mu.
func (s *Service) marshalLocked() ([]byte, error) {
	snap := snapshot{
		Format:        stateFormat,
		Topics:        make([]*topic, 0, len(s.topics)),
		Subscriptions: make([]*subscription, 0, len(s.subs)),
		Queues:        make([]*queue, 0, len(s.queues)),
	}
	for _, t := range s.topics {
		snap.Topics = append(snap.Topics, t)
	}
	for _, sub := range s.subs {
		snap.Subscriptions = append(snap.Subscriptions, sub)
	}
	for _, q := range s.queues {
		snap.Queues = append(snap.Queues, q)
	}
	sort.Slice(snap.Topics, func(i, j int) bool { return snap.Topics[i].ARN < snap.Topics[j].ARN })
	sort.Slice(snap.Subscriptions, func(i, j int) bool { return snap.Subscriptions[i].ARN < snap.Subscriptions[j].ARN })
	sort.Slice(snap.Queues, func(i, j int) bool { return snap.Queues[i].Name < snap.Queues[j].Name })
	return json.Marshal(&snap)
}

// writeFileDurably replaces path atomically and syncs the directory so that
// the rename itself survives a crash.
func writeFileDurably(path string, data []byte, perm os.FileMode) error {
	if err := renameio.WriteFile(path, data, perm); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
