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
