package store

import "time"

// State is an archive's state as the manual names it.
type State string

// The six archive states (DESIGN.md, "Archive states").
const (
	StateLocal   State = "local"   // only a local file (not yet uploaded, or uploading)
	StateLiquid  State = "liquid"  // in Glacier and local
	StateFrozen  State = "frozen"  // only in Glacier, no current retrieval job
	StateMelting State = "melting" // only in Glacier, retrieval in progress
	StateMelted  State = "melted"  // only in Glacier, retrieval output downloadable
	StateInvalid State = "invalid" // neither in Glacier nor local
)

// JobPhase is what an archive's newest retrieval job means for its state.
type JobPhase int

// Job phases, from "no job worth mentioning" to "output ready".
const (
	JobNone       JobPhase = iota // no job, or one that failed or expired
	JobInProgress                 // requested, Glacier is preparing it
	JobReady                      // succeeded and its output is still downloadable
)

// ArchiveState is the one place the state table lives: every front end
// (CLI, mount, control files, GUI) shows what this returns.
func ArchiveState(remote, local bool, job JobPhase) State {
	switch {
	case remote && local:
		return StateLiquid
	case local:
		return StateLocal
	case !remote:
		return StateInvalid
	case job == JobInProgress:
		return StateMelting
	case job == JobReady:
		return StateMelted
	default:
		return StateFrozen
	}
}

// Job status codes, as Glacier spells them.
const (
	JobStatusInProgress = "InProgress"
	JobStatusSucceeded  = "Succeeded"
	JobStatusFailed     = "Failed"
)

// Phase says what a job means at time now: in progress, ready (succeeded
// and not expired), or nothing (failed, expired).
func (j Job) Phase(now time.Time) JobPhase {
	switch j.Status {
	case JobStatusInProgress:
		return JobInProgress
	case JobStatusSucceeded:
		if j.Expires.IsZero() || now.Before(j.Expires) {
			return JobReady
		}
	}
	return JobNone
}

// CurrentPhase is the phase that counts for an archive given its retrieval
// jobs: ready beats in progress beats none.
func CurrentPhase(jobs []Job, now time.Time) JobPhase {
	best := JobNone
	for _, j := range jobs {
		if p := j.Phase(now); p > best {
			best = p
		}
	}
	return best
}
