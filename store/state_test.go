package store

import (
	"testing"
	"time"
)

func TestArchiveStateTable(t *testing.T) {
	// Every row of DESIGN.md's table, and every combination of inputs.
	tests := []struct {
		remote, local bool
		job           JobPhase
		want          State
	}{
		{false, true, JobNone, StateLocal},
		{false, true, JobInProgress, StateLocal},
		{false, true, JobReady, StateLocal},
		{true, true, JobNone, StateLiquid},
		{true, true, JobInProgress, StateLiquid},
		{true, true, JobReady, StateLiquid},
		{true, false, JobNone, StateFrozen},
		{true, false, JobInProgress, StateMelting},
		{true, false, JobReady, StateMelted},
		{false, false, JobNone, StateInvalid},
		{false, false, JobInProgress, StateInvalid},
		{false, false, JobReady, StateInvalid},
	}
	for _, tt := range tests {
		if got := ArchiveState(tt.remote, tt.local, tt.job); got != tt.want {
			t.Errorf("ArchiveState(remote=%v, local=%v, job=%v) = %s, want %s", tt.remote, tt.local, tt.job, got, tt.want)
		}
	}
}

func TestJobPhase(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		job  Job
		want JobPhase
	}{
		{"in progress", Job{Status: JobStatusInProgress}, JobInProgress},
		{"succeeded, output current", Job{Status: JobStatusSucceeded, Expires: now.Add(time.Hour)}, JobReady},
		{"succeeded, output expired", Job{Status: JobStatusSucceeded, Expires: now.Add(-time.Second)}, JobNone},
		{"succeeded, expiring now", Job{Status: JobStatusSucceeded, Expires: now}, JobNone},
		{"failed", Job{Status: JobStatusFailed}, JobNone},
	}
	for _, tt := range tests {
		if got := tt.job.Phase(now); got != tt.want {
			t.Errorf("%s: phase %v, want %v", tt.name, got, tt.want)
		}
	}
	jobs := []Job{{Status: JobStatusFailed}, {Status: JobStatusInProgress}, {Status: JobStatusSucceeded, Expires: now.Add(time.Hour)}}
	if got := CurrentPhase(jobs, now); got != JobReady {
		t.Errorf("CurrentPhase = %v, want ready", got)
	}
	if got := CurrentPhase(jobs[:2], now); got != JobInProgress {
		t.Errorf("CurrentPhase = %v, want in progress", got)
	}
	if got := CurrentPhase(nil, now); got != JobNone {
		t.Errorf("CurrentPhase(nil) = %v, want none", got)
	}
}
