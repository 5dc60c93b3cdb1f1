package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"freezer/aws/sim/notify"
)

// Job notifications go through a persistent outbox: completing a job writes
// one entry per topic while holding s.mu, and Tick publishes the entries
// afterwards without it. An entry is removed only after SNS took it, so a
// restart neither loses nor (barring a crash mid-publish) repeats one, and a
// job whose output expired before anyone looked is still announced.

type outboxEntry struct {
	name    string
	Vault   string `json:"vault"`
	JobID   string `json:"jobId"`
	Topic   string `json:"topic"`
	Message string `json:"message"`
}

func (s *Sim) outboxDir() string { return filepath.Join(s.root, "outbox") }

func (s *Sim) loadOutbox() error {
	dir := s.outboxDir()
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		o := &outboxEntry{name: name}
		if err := readJSON(filepath.Join(dir, name), o); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(name, ".json"), 10, 64); err == nil && n >= s.outboxSeq {
			s.outboxSeq = n + 1
		}
		s.outbox = append(s.outbox, o)
	}
	sort.Slice(s.outbox, func(i, j int) bool { return s.outbox[i].name < s.outbox[j].name })
	return nil
}

// queueNotifications queues the completed job's DescribeJob JSON for its own
// SNSTopic and for the vault's notification topic if the event is
// configured; with both set AWS "sends both notifications". Callers hold
// s.mu.
func (s *Sim) queueNotifications(v *vault, j *job) error {
	var topics []string
	if j.SNSTopic != nil {
		topics = append(topics, *j.SNSTopic)
	}
	if v.Notify != nil {
		event := "ArchiveRetrievalCompleted"
		if j.Action == actionInventory {
			event = "InventoryRetrievalCompleted"
		}
		if slices.Contains(v.Notify.Events, event) {
			topics = append(topics, v.Notify.SNSTopic)
		}
	}
	if len(topics) == 0 {
		return nil
	}
	msg, err := json.Marshal(s.renderJob(v, j))
	if err != nil {
		return err
	}
	for _, t := range topics {
		o := &outboxEntry{
			name:    fmt.Sprintf("%020d.json", s.outboxSeq),
			Vault:   v.Name,
			JobID:   j.ID,
			Topic:   t,
			Message: string(msg),
		}
		s.outboxSeq++
		if err := writeJSON(filepath.Join(s.outboxDir(), o.name), o); err != nil {
			return fmt.Errorf("vault %s: job %s: queue notification: %w", v.Name, j.ID, err)
		}
		s.outbox = append(s.outbox, o)
	}
	return nil
}

// pendingNotifications returns the queued entries. Callers hold s.mu.
func (s *Sim) pendingNotifications() []*outboxEntry {
	return append([]*outboxEntry(nil), s.outbox...)
}

// publish sends entries to SNS in order. Callers hold s.publishMu, not s.mu.
// [UNCERTAIN] whether Glacier sets an SNS Subject; none is set, so the
// envelope has no Subject key and a client cannot come to depend on one.
func (s *Sim) publish(ctx context.Context, entries []*outboxEntry) []error {
	var errs []error
	for _, o := range entries {
		_, err := s.notifier.Publish(ctx, o.Topic, "", o.Message)
		if ctx.Err() != nil {
			return errs
		}
		if err != nil && !errors.Is(err, notify.ErrTopicNotFound) {
			errs = append(errs, fmt.Errorf("vault %s: job %s: publish to %s: %w", o.Vault, o.JobID, o.Topic, err))
			continue
		}
		if err != nil {
			// As on AWS, a notification to a topic that no longer
			// exists is lost.
			s.log.Warn().Str("vault", o.Vault).Str("job", o.JobID).Str("topic", o.Topic).Msg("sim: notification topic does not exist; notification dropped")
		}
		s.mu.Lock()
		for i, x := range s.outbox {
			if x == o {
				s.outbox = append(s.outbox[:i], s.outbox[i+1:]...)
				break
			}
		}
		rmErr := os.Remove(filepath.Join(s.outboxDir(), o.name))
		s.mu.Unlock()
		if rmErr != nil {
			errs = append(errs, rmErr)
		}
	}
	return errs
}
