package agent

import (
	"fmt"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/notify"
	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// stateVersion is written into state.json; a newer version is refused
// rather than misread.
const stateVersion = 1

// State is what the agent remembers between runs (state.json).
type State struct {
	Version int `json:"version"`
	// Scoring holds the hysteresis counters and the blacklist.
	Scoring scoring.State `json:"scoring"`
	// Managed are the sources the agent added and has not removed since,
	// by address: the policy add-only removes only these.
	Managed map[string]ManagedSource `json:"managed,omitempty"`
	// Pending are the additions of a run that has asked the daemon for
	// them and not yet recorded the outcome, by address: written before
	// the daemon is changed (write-ahead), cleared when the run records
	// what the backend did. A run that finds entries here (its
	// predecessor was killed, or its rollback failed) adopts as managed
	// those the daemon has, so they can be removed again.
	Pending map[string]ManagedSource `json:"pending,omitempty"`
	// Auditions are the candidates a run added to the daemon under
	// audition (chronyd's noselect), by address: written before the
	// daemon is asked for them, cleared once the run has deleted those it
	// did not promote. A run that finds entries here (its predecessor was
	// killed, or could not delete them) deletes the ones the daemon still
	// has under audition before anything else.
	Auditions map[string]ManagedSource `json:"auditions,omitempty"`
	// LastRun summarises the latest run, for `status`.
	LastRun *RunSummary `json:"last_run,omitempty"`
	// LastSuccess is when a run last ended applied or unchanged.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastOutage is when a run last ended in an outage: until the daemon's
	// reach registers have rolled past it, the hysteresis counts nothing.
	LastOutage time.Time `json:"last_outage,omitzero"`
	// Counters only ever grow (Prometheus counters).
	Counters Counters `json:"counters"`
	// Notify is the notifier's throttle state.
	Notify notify.State `json:"notify,omitzero"`
}

// ManagedSource is a source the agent added.
type ManagedSource struct {
	Name    string    `json:"server"`
	Port    int       `json:"port,omitempty"`
	AddedAt time.Time `json:"added_at"`
	RunID   string    `json:"run_id"`
}

// Counters are totals across runs.
type Counters struct {
	Runs      int `json:"runs"`
	Changes   int `json:"changes"`   // runs that changed the set
	Rollbacks int `json:"rollbacks"` // runs rolled back
	Failures  int `json:"failures"`  // runs that failed
	Outages   int `json:"outages"`   // runs in which nothing answered
}

// RunSummary is the short form of a run kept in state.json.
type RunSummary struct {
	RunID    string    `json:"run_id"`
	Time     time.Time `json:"time"`
	Outcome  Outcome   `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Duration float64   `json:"duration_s"`
	Selected []string  `json:"selected"`
	Changed  bool      `json:"changed"`
}

// LoadState reads state.json for a run that saves it again. A missing
// file gives an empty state; one that does not parse is moved aside to
// state.json.corrupt-<time> (moved says so, for the report) and an empty
// state returned.
func (s *Store) LoadState() (st State, moved []string, err error) {
	return s.readState(false)
}

// PeekState reads state.json without changing the state directory
// (status, --dry-run): a file that does not parse is reported in moved and
// left where it is.
func (s *Store) PeekState() (st State, moved []string, err error) {
	return s.readState(true)
}

func (s *Store) readState(readOnly bool) (State, []string, error) {
	st := State{Version: stateVersion}
	_, moved, err := s.loadJSON(stateFile, &st, readOnly)
	if err == nil && st.Version > stateVersion {
		err = fmt.Errorf("%s was written by a newer ntp-optimizer (state version %d, this one knows %d): "+
			"not reading or overwriting it", s.path(stateFile), st.Version, stateVersion)
	}
	if err != nil {
		st = State{Version: stateVersion}
	}
	if st.Managed == nil {
		st.Managed = map[string]ManagedSource{}
	}
	return st, moved, err
}

// SaveState writes state.json atomically.
func (s *Store) SaveState(st State) error {
	st.Version = stateVersion
	return s.saveJSON(stateFile, st)
}
