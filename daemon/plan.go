package daemon

import (
	"errors"
	"fmt"
)

// Policy says which of the daemon's sources a run may remove.
type Policy string

// The policies, as in the agent's configuration (key policy).
const (
	// PolicyConverge makes the daemon's NTP sources the selected set;
	// pinned servers and reference clocks are never removed (file
	// backends comment other server lines out, never delete them).
	PolicyConverge Policy = "converge"
	// PolicyAddOnly never removes sources the agent did not add.
	PolicyAddOnly Policy = "add-only"
)

// Validate returns an error for an unknown policy.
func (p Policy) Validate() error {
	switch p {
	case PolicyConverge, PolicyAddOnly:
		return nil
	}
	return fmt.Errorf("policy %q: want %q or %q", string(p), PolicyConverge, PolicyAddOnly)
}

// ErrRolledBack is returned when a change was made, failed verification
// and was undone: the daemon has the set it had before the run.
var ErrRolledBack = errors.New("the change was rolled back")

// ErrRollbackFailed is returned (as a *RollbackError) when undoing a failed
// change failed too: the daemon may still have sources the change added,
// or lack ones it removed. Such an error is also ErrRolledBack (a
// rollback was attempted); callers that tell the two apart test
// ErrRollbackFailed first.
var ErrRollbackFailed = errors.New("the rollback failed")

// ErrNotPersisted is returned by Apply when the change is live but the
// file the daemon reads at start (chronyd's sources file) could not be
// written: the daemon loses the set when it restarts. Applied still says
// what was changed live; the change is not undone (it is the right one).
var ErrNotPersisted = errors.New("the sources are live but not persisted: they will not survive a restart of the daemon")

// RollbackError is a change that failed (Why) and whose rollback failed
// too (Left: what could not be undone, one error per step).
type RollbackError struct {
	Why  error
	Left error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("%v: %v; and the rollback failed: %v", ErrRolledBack, e.Why, e.Left)
}

// Unwrap makes the error ErrRolledBack, ErrRollbackFailed, Why and Left.
func (e *RollbackError) Unwrap() []error {
	return []error{ErrRolledBack, ErrRollbackFailed, e.Why, e.Left}
}

// Plan is the change a run asks the backend for.
type Plan struct {
	Selected []Server // the set, best first
	Add      []Server // selected, not a source yet
	Remove   []Source // sources leaving the set
	Policy   Policy
}

// Applied is what the backend did.
type Applied struct {
	Added      []Server `json:"added"`
	Removed    []Source `json:"removed"`
	RolledBack bool     `json:"rolled_back"`
	Reason     string   `json:"reason,omitempty"` // why it rolled back
	Warnings   []string `json:"warnings,omitempty"`
}
