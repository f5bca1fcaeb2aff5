package agent

import (
	"context"
	"net/netip"

	"github.com/ntp-optimizer/ntp-optimizer/scoring"
)

// Backend is what a run needs from the machine's NTP daemon. The chrony
// backend works live over chronyd's socket; the ntpd and timesyncd backends
// edit configuration files (package fallback).
type Backend interface {
	// Name is "chrony", "ntpd" or "timesyncd".
	Name() string
	// Sources returns the daemon's NTP sources now, with the daemon's own
	// measurements where it has them.
	Sources(ctx context.Context) ([]DaemonSource, error)
	// Apply makes the daemon use plan.Selected. It verifies the result and
	// rolls back on failure itself; Applied says what happened.
	Apply(ctx context.Context, plan Plan) (Applied, error)
	// Preview describes what Apply would do without doing it (for
	// --dry-run): a unified diff for file backends, "" otherwise.
	Preview(plan Plan) (string, error)
}

// DaemonSource is one source the daemon has.
type DaemonSource struct {
	// Address is invalid for a reference clock or a name not resolved yet.
	Address netip.Addr `json:"address"`
	Port    int        `json:"port,omitempty"`
	Name    string     `json:"name"` // as configured; a refclock's refid
	// ID is the daemon's handle for it (chronyd: the IP or ID#n).
	ID       string `json:"id"`
	Refclock bool   `json:"refclock,omitempty"`
	// Measurement is the daemon's own view of the source when it has
	// enough samples to judge it (chronyd); nil means "probe it".
	Measurement *scoring.Measurement `json:"measurement,omitempty"`
}

// Server is one NTP server of a plan.
type Server struct {
	Address netip.Addr `json:"address"`
	Port    int        `json:"port"`
	Name    string     `json:"server"` // the name it was found under
}

// Plan is the change a run asks the backend for.
type Plan struct {
	Selected []Server       // the set, best first
	Add      []Server       // selected, not a source yet
	Remove   []DaemonSource // sources leaving the set
	Policy   string         // converge or add-only
}

// Applied is what the backend did.
type Applied struct {
	Added      []Server       `json:"added"`
	Removed    []DaemonSource `json:"removed"`
	RolledBack bool           `json:"rolled_back"`
	Reason     string         `json:"reason,omitempty"` // why it rolled back
	Warnings   []string       `json:"warnings,omitempty"`
}

// Unavailable is the backend of a run whose NTP daemon could not be
// reached: the run fails at its first step with Err, and is still recorded
// in history, counted and notified like any failed run.
type Unavailable struct {
	Kind string // the daemon that was looked for
	Err  error
}

// Name implements Backend.
func (u *Unavailable) Name() string { return u.Kind }

// Sources implements Backend: always Err.
func (u *Unavailable) Sources(context.Context) ([]DaemonSource, error) { return nil, u.Err }

// Apply implements Backend: always Err.
func (u *Unavailable) Apply(context.Context, Plan) (Applied, error) { return Applied{}, u.Err }

// Preview implements Backend: always Err.
func (u *Unavailable) Preview(Plan) (string, error) { return "", u.Err }
