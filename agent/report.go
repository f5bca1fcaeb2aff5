package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/discovery"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Outcome is how a run ended.
type Outcome string

// The outcomes; the command maps them to exit codes.
const (
	OutcomeApplied    Outcome = "applied"     // the set changed
	OutcomeUnchanged  Outcome = "unchanged"   // nothing to do
	OutcomeDryRun     Outcome = "dry-run"     // decided, changed nothing
	OutcomeRolledBack Outcome = "rolled-back" // changed, failed verification, undone
	OutcomeNoUsable   Outcome = "no-usable"   // no candidate passed the filters
	OutcomeOutage     Outcome = "outage"      // nothing answered: this machine's network, not the servers
	// OutcomeNotPersisted: the set is live, but the file the daemon reads
	// at start could not be written (daemon.ErrNotPersisted): a failed
	// run, since a restart of the daemon loses the set.
	OutcomeNotPersisted Outcome = "not-persisted"
	OutcomeFailed       Outcome = "failed" // an error stopped the run (a rollback that failed too included)
)

// Errors Run returns for outcomes the caller must tell apart (besides
// daemon.ErrRolledBack and ErrLocked).
var (
	ErrNoUsable = errors.New("no usable NTP servers")
	// ErrStateNotSaved: the run did its job but could not record it.
	ErrStateNotSaved = errors.New("state could not be saved")
	// ErrInput: the operator's input is bad (a server list entry); nothing
	// was touched.
	ErrInput = errors.New("bad input")
	// ErrOutage: nothing answered in this run (no probe reply, no fresh
	// sample at the daemon, every name unresolved or no route): the run
	// changed nothing and counted nothing against any server.
	ErrOutage = errors.New("network outage")
	// ErrNoLock: the run lock could be taken nowhere (neither in the lock
	// directory nor in the state directory), so another run might be
	// changing the daemon too: the run changed nothing and recorded
	// nothing.
	ErrNoLock = errors.New("no run lock could be taken")
)

// Report is the decision document of one run: what `apply --json` prints,
// what history keeps, and what the log and the table are made from.
type Report struct {
	RunID      string            `json:"run_id"`
	Time       time.Time         `json:"time"`
	Duration   float64           `json:"duration_s"`
	Backend    string            `json:"backend"`
	Policy     string            `json:"policy"`
	DryRun     bool              `json:"dry_run"`
	Outcome    Outcome           `json:"outcome"`
	Reason     string            `json:"reason,omitempty"` // why it failed or rolled back
	Changed    bool              `json:"changed"`
	RolledBack bool              `json:"rolled_back"`
	Selected   []string          `json:"selected"` // addresses, best first
	Added      []scoring.Change  `json:"added"`
	Removed    []scoring.Change  `json:"removed"`
	Candidates []CandidateReport `json:"candidates"`
	Region     *discovery.Region `json:"region,omitempty"`
	Relaxed    []string          `json:"relaxed,omitempty"`
	Notes      []string          `json:"notes,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
	Diff       string            `json:"diff,omitempty"` // file backends, --dry-run
}

func (r *Report) warn(msg string) { r.Warnings = append(r.Warnings, msg) }

// Succeeded reports whether the run did its job: applied, or nothing to do.
func (r *Report) Succeeded() bool {
	return r.Outcome == OutcomeApplied || r.Outcome == OutcomeUnchanged
}

// Summary is the run's outcome in one line, for the end of the table and
// the notifications.
func (r *Report) Summary() string {
	set := fmt.Sprintf("%s uses %d sources: %s", r.Backend, len(r.Selected), strings.Join(r.Selected, ", "))
	var s string
	switch r.Outcome {
	case OutcomeApplied:
		s = fmt.Sprintf("applied: %d added, %d removed; %s", len(r.Added), len(r.Removed), set)
	case OutcomeUnchanged:
		s = "no change: " + set
	case OutcomeDryRun:
		s = fmt.Sprintf("dry run: would add %d and remove %d; nothing was changed", len(r.Added), len(r.Removed))
	case OutcomeRolledBack:
		s = "rolled back: " + r.Reason
	case OutcomeNoUsable:
		s = "no usable servers: nothing was changed"
	case OutcomeOutage:
		s = "outage: " + r.Reason + "; nothing was changed or counted"
	case OutcomeNotPersisted:
		if r.Changed {
			s = fmt.Sprintf("applied live but not persisted: %d added, %d removed; %s; %s", len(r.Added), len(r.Removed), set, r.Reason)
		} else {
			s = fmt.Sprintf("not persisted: %s; %s", set, r.Reason)
		}
	default:
		s = "failed: " + r.Reason
	}
	return fmt.Sprintf("%s (run %s, %.1f s)", s, r.RunID, r.Duration)
}

func (r *Report) summary() *RunSummary {
	return &RunSummary{RunID: r.RunID, Time: r.Time, Outcome: r.Outcome, Reason: r.Reason,
		Duration: r.Duration, Selected: r.Selected, Changed: r.Changed}
}
